"""The loop's state is one object: saved and restored whole, and yesterday's checkpoints (which
lack fields added since) still resume."""

from __future__ import annotations

import dataclasses

import pytest

from reslab.engine.trainer import TrainState
from reslab.errors import CheckpointError


def test_every_field_round_trips():
    state = TrainState(
        step=7, epoch=2, batch_in_epoch=3, bad_steps=1, history=[{"step": 5}], elapsed_s=1.5,
        window=[1.0, 2.0, 3.0],
    )  # fmt: skip
    restored = TrainState()
    restored.load_state_dict(state.state_dict())
    assert restored == state
    # a new field is saved by construction: state_dict names every dataclass field
    assert set(state.state_dict()) == {f.name for f in dataclasses.fields(TrainState)}


def test_a_checkpoint_from_before_the_window_was_saved_still_loads():
    old = {"step": 4, "epoch": 0, "batch_in_epoch": 4, "bad_steps": 0, "history": [],
           "elapsed_s": 2.0, "warmup_done": True}  # fmt: skip
    state = TrainState()
    state.load_state_dict(old)
    assert state.step == 4 and state.window == [0.0, 0.0, 0.0]
    assert state.best_val_error is None and state.best_val_step is None  # added later too


def test_a_checkpoint_missing_a_field_is_refused_by_name():
    with pytest.raises(CheckpointError, match="'bad_steps'"):
        TrainState().load_state_dict({"step": 1, "epoch": 0, "batch_in_epoch": 1})


def test_after_a_resume_the_speed_counts_only_images_timed_here():
    """The restored window holds images trained before the interruption; img/s must not."""
    import time

    import torch

    from reslab.engine.distributed import DistInfo
    from reslab.engine.trainer import _Window

    window = _Window(torch.device("cpu"))
    window.load_state_dict([10.0, 5.0, 4000.0])  # 4,000 images before the resume
    time.sleep(0.05)
    y = torch.zeros(100, dtype=torch.long)
    window.add(torch.tensor(1.0), torch.zeros(100, 10), y)
    rec = window.flush(DistInfo())
    assert rec["img_s"] <= 100 / 0.05  # 100 images in at least 0.05 s
    assert rec["train_loss"] == (10.0 + 100.0) / 4100  # the loss still averages the window
