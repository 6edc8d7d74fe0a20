"""Checkpoint writes that fail, torn temp files, and files that must not be trusted."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from reslab.engine import CheckpointManager, load_checkpoint
from reslab.engine import checkpoint as checkpoint_module
from reslab.errors import CheckpointError


def _state(value: float = 1.0) -> dict:
    return {"model": {"w": torch.full((4,), value)}, "optimizer": {"state": {}}}


def test_a_full_disk_keeps_the_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    ckpts = CheckpointManager(tmp_path)
    ckpts.save(_state(1.0), 10)
    real_save = torch.save

    def half_then_full(obj, f, *args, **kwargs):
        f.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint_module.torch, "save", half_then_full)
    with pytest.raises(
        CheckpointError,
        match=r"the disk is full; the previous checkpoint "
        r"step_00000010\.pt is intact",
    ):
        ckpts.save(_state(2.0), 20)
    monkeypatch.setattr(checkpoint_module.torch, "save", real_save)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000010.pt"]
    state, path = ckpts.load_latest()
    assert state["step"] == 10 and torch.equal(state["model"]["w"], torch.ones(4))


def test_other_write_errors_name_the_cause(tmp_path, monkeypatch):
    def denied(obj, f, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(checkpoint_module.torch, "save", denied)
    with pytest.raises(CheckpointError, match="Permission denied.*no earlier checkpoint"):
        CheckpointManager(tmp_path).save(_state(), 5)


def test_stale_temp_files_are_swept_and_nothing_else(tmp_path):
    ckpts = CheckpointManager(tmp_path)
    ckpts.save(_state(), 1)
    torn = tmp_path / ".step_00000002.pt.abc123.tmp"
    torn.write_bytes(b"half")
    other = tmp_path / ".notes.tmp"
    other.write_text("not ours")
    assert ckpts.remove_stale_temp_files() == [torn]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.tmp", "step_00000001.pt"]


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path):
    path = tmp_path / "step_00000001.pt"
    torch.save({**_state(), "format_version": 1, "step": 1, "x": _Payload(tmp_path / "ran")}, path)
    with pytest.raises(CheckpointError, match="refusing to load .* asks to run posix.mkdir"):
        load_checkpoint(path)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    "state",
    [{"format_version": 1, "step": 1, "model": torch.zeros(3), "optimizer": {}}, [1, 2, 3]],
    ids=["model-not-a-mapping", "not-a-dict"],
)
def test_a_checkpoint_of_the_wrong_shape_is_refused(tmp_path, state):
    path = tmp_path / "step_00000001.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="incomplete"):
        load_checkpoint(path)
