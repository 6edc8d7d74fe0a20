"""The README's CLI block, run top to bottom as a new user types it, in a fresh folder with a
home of its own (``~/data`` filled by ``reslab data download``, served without a network).

Each line runs as written. What the test adds is scale only, listed in SCALE and SHORTER:
training and studies take a few steps instead of thousands, so a checkpoint the README names
at step 1000 is the one at step 2 here. The bench lines that time for minutes
(``--suite cpu``, ``--trainer``) are not run here: tests/bench runs their code paths.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from reslab import models
from reslab.models import hub

from .datasets import write_cifar_archive
from .steps import reslab

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"

SCALE = {
    "train": [
        "train.iterations=4",
        "train.eval_every=2",
        "train.checkpoint_every=2",
        "train.log_every=2",
        "train.progress=false",
        "train.tensorboard=false",
        "data.val_size=20",  # the CIFAR archive here holds 150 images, not 50,000
    ],
    "degradation": ["--iterations", "12", "--depths", "20", "32"],
    "gradients": ["--depths", "20", "32"],
}
"""Appended to a README line of that kind: the same command, a few steps long."""

SHORTER = {"step_00001000.pt": "step_00000002.pt"}
"""A checkpoint the README names, and the one the shortened run saved in its place."""

NOT_RUN = {"bench --suite cpu", "bench --trainer"}
"""Minutes of timing each; their code paths are tested in tests/bench."""


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## CLI\s+```bash\n(.*?)```", text, re.S).group(1)
    lines = [line.split(" #")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("reslab ")]


def as_typed(line: str) -> list[str]:
    """The words the shell hands reslab: a word that starts with ~ is the home folder (a ~
    after '=', as in data.root=~/data, is left to reslab, as the shell leaves it)."""
    words = [os.path.expanduser(w) if w.startswith("~") else w for w in shlex.split(line)[1:]]
    words = [str(Path(w).parent / SHORTER[Path(w).name]) if Path(w).name in SHORTER else w
             for w in words]  # fmt: skip
    kind = words[1] if words[0] == "study" else words[0]
    if kind == "degradation" and "cifar10" in words:  # its recipe holds out 5,000 images
        # overrides right after the study's name (--depths takes every number after it)
        words = [*words[:2], "data.val_size=20", "data.batch_size=16", *words[2:]]
    return [*words, *SCALE.get(kind, [])]


@pytest.fixture
def user(tmp_path, monkeypatch):
    """A fresh folder as the working directory, a home of its own, and no network: the CIFAR-10
    archive and the published CIFAR weights are served from files written here."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RESLAB_DATA", str(home / "data"))
    monkeypatch.chdir(tmp_path)

    # reslab data download cifar10: the official URL, answered with an archive in its format
    download = importlib.import_module("reslab.data.download")
    write_cifar_archive(tmp_path, "cifar10", per_class_train=15, per_class_test=2)
    content = (tmp_path / "cifar-10-python.tar.gz").read_bytes()
    official = download.ARCHIVES["cifar10"][0]
    md5 = hashlib.md5(content).hexdigest()
    monkeypatch.setitem(
        download.ARCHIVES,
        "cifar10",
        [download.Archive(official.url, official.filename, f"md5:{md5}")],
    )
    served = []

    class Response(io.BytesIO):
        url = official.url
        headers = {"Content-Length": str(len(content))}

    def open_url(url: str, timeout: float):
        assert url == official.url, url
        served.append(url)
        return Response(content)

    monkeypatch.setattr(download, "_open_url", open_url)

    # resnet56.cifar10: a file in the community's layout, named by its own sha256 as theirs are
    monkeypatch.setattr(torch.hub, "_hub_dir", str(home / ".cache" / "torch" / "hub"))
    state = {
        "module." + ("linear." + k[3:] if k.startswith("fc.") else k): v
        for k, v in models.create("resnet56").state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    buffer = io.BytesIO()
    torch.save({"best_prec1": 93.39, "state_dict": state}, buffer)
    weights = buffer.getvalue()
    name = f"resnet56-{hashlib.sha256(weights).hexdigest()[:8]}.th"
    monkeypatch.setitem(hub.CIFAR10_FILES, "resnet56", name)

    def download_weights(url, dst, hash_prefix=None, progress=True):
        assert url.endswith(name) and hashlib.sha256(weights).hexdigest().startswith(hash_prefix)
        Path(dst).write_bytes(weights)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download_weights)

    # the images the predict lines name
    rng = np.random.default_rng(0)
    for image in ("img1.png", "img2.jpg", "frog.png"):
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / image)
    return served


@pytest.mark.timeout(1500)
def test_the_readme_cli_block_runs_top_to_bottom(user, capsys):
    commands = readme_commands()
    assert len(commands) >= 15
    ran = []
    for line in commands:
        if any(skip in line for skip in NOT_RUN):
            continue
        result = reslab(capsys, *as_typed(line))
        ran.append(line)
        assert result.rc == 0, f"{line}\n{result.text}"
        if "study table6" in line and not torch.cuda.is_available():
            assert result.out.startswith("Not run: no GPU here."), result.out  # says so
        if line.endswith("--json"):
            assert json.loads(result.out)["count"] > 0
    assert len(ran) == len(commands) - len(NOT_RUN)
    assert user == [download_url()]  # downloaded once, and only the official URL
    home = Path(os.environ["HOME"])
    assert (home / "data" / "cifar10" / "cifar-10-python.tar.gz").is_file()
    for run in ("digits_resnet20", "c56", "cifar10_resnet56"):
        assert (Path("runs") / run / "final.safetensors").is_file(), run
    assert list(Path("runs/digits_resnet20").glob("*.onnx"))  # the export, beside the weights
    for study in ("degradation", "gradients", "responses", "table6"):
        assert (Path("runs") / study / "results.json").is_file(), study
    report = (Path("runs/degradation") / "report.zh.html").read_text(encoding="utf-8")
    assert 'lang="zh' in report  # beside the English one the study wrote


def download_url() -> str:
    return importlib.import_module("reslab.data.download").ARCHIVES["cifar10"][0].url
