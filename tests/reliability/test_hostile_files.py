"""Hostile files are refused before they can act: pickled code, escaping tar members, bad headers."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from reslab.data import safe_extract
from reslab.errors import DataError

from .harness import assert_clean_failure, reslab, tiny

pytestmark = pytest.mark.reliability


class Payload:
    """Unpickling this runs os.mkdir(marker): proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def hostile(tmp_path, digits_run):
    """A weights file and a run checkpoint that each carry the payload, and a test image."""
    marker = tmp_path / "PAYLOAD_RAN"
    weights = tmp_path / "weights" / "evil.pt"
    weights.parent.mkdir()
    state = {
        k: v
        for k, v in torch.load(digits_run / "checkpoints" / "step_00000020.pt", weights_only=True)[
            "model"
        ].items()
    }
    torch.save({"model": state, "extra": Payload(marker)}, weights)
    shutil.copy(digits_run / "model.json", weights.parent / "model.json")  # so loading gets far
    run = tmp_path / "runs" / "evil"
    (run / "checkpoints").mkdir(parents=True)
    checkpoint = run / "checkpoints" / "step_00000010.pt"
    torch.save(
        {"format_version": 1, "step": 10, "model": state, "optimizer": Payload(marker)}, checkpoint
    )
    image = tmp_path / "digit.png"
    Image.new("L", (8, 8), 128).save(image)
    return {
        "marker": marker,
        "weights": weights,
        "checkpoint": checkpoint,
        "image": image,
        "out": tmp_path / "runs",
    }


def _commands(h):
    out = h["out"]
    return {
        "eval": ["eval", str(h["weights"])],
        "predict": ["predict", str(h["weights"]), str(h["image"])],
        "pretrained": [*tiny(out, "new", f"model.pretrained={h['weights']}")],
        "resume-path": [*tiny(out, "evil"), "--resume", str(h["checkpoint"])],
    }


@pytest.mark.parametrize("command", ["predict", "pretrained", "resume-path"])
def test_pickled_code_is_refused_without_running(hostile, command):
    result = reslab(*_commands(hostile)[command])
    assert_clean_failure(result, "refusing to load")
    assert "posix.mkdir" in result.stderr or "pickled objects other than tensors" in result.stderr
    assert not hostile["marker"].exists()


def _tar(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize(
    "member",
    [
        lambda tmp: tarfile.TarInfo("../escaped.txt"),
        lambda tmp: tarfile.TarInfo("data/../../escaped.txt"),
        lambda tmp: tarfile.TarInfo(str(tmp / "escaped.txt")),
        lambda tmp: _symlink("data/link", "../../escaped.txt"),
    ],
    ids=["dot-dot", "nested-dot-dot", "absolute", "symlink-out"],
)
def test_tar_members_that_leave_the_destination_are_refused(tmp_path, member):
    archive = _tar(tmp_path / "evil.tar.gz", member(tmp_path))
    dest = tmp_path / "a" / "b"
    with pytest.raises(DataError, match="refusing to extract .* unsafe"):
        safe_extract(archive, dest)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "a" / "escaped.txt").exists()
    assert list(dest.iterdir()) == []


MALFORMED = {
    "huge-header": (2**62).to_bytes(8, "little") + b"{}",
    "short-data": (86).to_bytes(8, "little")
    + b'{"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}, "__metadata__": {}}'
    + b"\0" * 16,
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_safetensors_fails_cleanly(tmp_path, kind):
    weights = tmp_path / "bad.safetensors"
    weights.write_bytes(MALFORMED[kind])
    image = tmp_path / "x.png"
    Image.new("L", (8, 8)).save(image)
    command = (
        ["eval", str(weights)] if kind == "short-data" else ["predict", str(weights), str(image)]
    )
    assert_clean_failure(reslab(*command), str(weights), "not a valid safetensors file")
