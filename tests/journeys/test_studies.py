"""Each study as a user runs it on the CIFAR-10 archive (--root): once, once more (it reuses
what it trained), and with a changed setting (refused with the key named, or retrained)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from .conftest import OnDisk
from .steps import reslab

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

# tiny training runs: a 20-image validation split (a count, as the recipes' 5000), batch 16
TINY = ("data.val_size=20", "data.batch_size=16", "data.eval_batch_size=100")


def _finished(study: Path) -> dict[str, int]:
    """Each trained run of a study and the mtime of its final weights."""
    return {
        p.parent.name: p.stat().st_mtime_ns for p in sorted(study.glob("runs/*/final.safetensors"))
    }


def _iterations(study: Path) -> set[int]:
    return {
        yaml.safe_load(p.read_text())["train"]["iterations"]
        for p in study.glob("runs/*/config.yaml")
    }


def _changed_setting_is_refused_or_retrained(result, study: Path, before: dict, key: str, new: int):
    if result.rc != 0:
        errors = result.error_lines()
        assert len(errors) == 1 and key in errors[0], result.text
        assert _finished(study) == before  # nothing retrained, nothing deleted
    else:
        after = _finished(study)
        assert after.keys() == before.keys()
        kept = [k for k in before if after[k] == before[k]]
        assert kept == [], f"{key} changed to {new}, yet these runs were silently reused: {kept}"
        assert _iterations(study) == {new}


def test_degradation_gradients_and_responses_on_the_cifar_archive(
    capsys, tmp_path, cifar10: OnDisk
):
    out = tmp_path / "runs"
    command = [
        "study", "degradation", *TINY, "--data", "cifar10", "--root", cifar10.root,
        "--depths", "20", "32", "--seeds", "0", "--out", out,
    ]  # fmt: skip
    old = os.umask(0o022)
    try:
        first = reslab(capsys, *command, "--iterations", "4")
    finally:
        os.umask(old)
    assert first.rc == 0, first.text
    study = out / "degradation"
    results = json.loads((study / "results.json").read_text())
    assert {r["model"] for r in results["runs"]} == {"plain20", "resnet20", "plain32", "resnet32"}
    trained = _finished(study)
    assert len(trained) == 4
    reports = [p for p in study.iterdir() if p.suffix in (".html", ".md", ".json")]
    assert {p.suffix for p in reports} >= {".html", ".md"}
    modes = {p.name: stat.filemode(p.stat().st_mode) for p in reports}

    again = reslab(capsys, *command, "--iterations", "4", "--no-report")
    assert again.rc == 0, again.text
    assert _finished(study) == trained

    changed = reslab(capsys, *command, "--iterations", "6", "--no-report")
    _changed_setting_is_refused_or_retrained(changed, study, trained, "iterations", 6)

    gradients = reslab(
        capsys, "study", "gradients", "--data", "cifar10", "--root", cifar10.root,
        "--depths", "20", "32", "--source", study, "--out", out, "--no-report",
    )  # fmt: skip
    assert gradients.rc == 0, gradients.text
    rows = json.loads((out / "gradients" / "results.json").read_text())
    assert rows  # one record per net, trained ones measured too

    responses = reslab(capsys, "study", "responses", "--source", study, "--out", out, "--no-report")
    assert responses.rc == 0, responses.text
    assert (out / "responses" / "results.json").is_file()

    # what a person reads and shares (checked last: the steps above do not depend on them)
    assert "reusing" in again.text.lower(), again.text
    assert modes == {p.name: "-rw-r--r--" for p in reports}  # umask 022


def test_table6_on_the_cifar_archive(capsys, tmp_path, cifar10: OnDisk):
    out = tmp_path / "runs"
    command = [
        "study", "table6", *TINY, "train.eval_every=2", "train.log_every=2",
        "train.checkpoint_every=2", "train.tensorboard=false", "train.progress=false",
        "--root", cifar10.root, "--models", "resnet20", "--seeds", "0", "--allow-cpu",
        "--out", out, "--no-report",
    ]  # fmt: skip
    first = reslab(capsys, *command, "train.iterations=4")
    assert first.rc == 0, first.text
    study = out / "table6"
    rows = json.loads((study / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["measured"], rows
    trained = _finished(study)
    assert list(trained) == ["resnet20_s0"]

    again = reslab(capsys, *command, "train.iterations=4")
    assert again.rc == 0, again.text
    assert _finished(study) == trained

    changed = reslab(capsys, *command, "train.iterations=6")
    _changed_setting_is_refused_or_retrained(changed, study, trained, "train.iterations", 6)
    assert "reusing" in again.text.lower(), again.text
