"""NaN and Inf: the run stops at the step that produced one (or skips it when allowed), and
the last good checkpoint stays as it was."""

from __future__ import annotations

import hashlib
import re

import pytest
import torch
from safetensors.torch import load_file

from reslab.engine import CheckpointManager

from .harness import assert_clean_failure, assert_no_traceback, reslab, tiny

pytestmark = pytest.mark.reliability


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_exploding_loss_stops_at_the_step_and_keeps_the_last_checkpoint(tmp_path):
    # 20 sane steps (the constant warm-up at 0.1), then a rate of 1e6 blows the loss up
    explode = ("optim.lr=1e6", "schedule.warmup_lr=0.1", "schedule.warmup_max_iters=20")
    result = reslab(*tiny(tmp_path, "digits", *explode, "train.checkpoint_every=1", iterations=40))
    line = assert_clean_failure(result, "non-finite", "lower optim.lr")
    failed_at = int(re.search(r"step (\d+)", line).group(1))
    last_good = re.search(r"last good checkpoint \((step_\d+\.pt)\) is intact", line).group(1)
    assert 20 < failed_at < 40
    # the checkpoint the error names is the newest one, it loads, and its weights are finite
    state, path = CheckpointManager(tmp_path / "digits" / "checkpoints").load_latest()
    assert path.name == last_good and 20 <= state["step"] < failed_at
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_nan_input_batch_is_named_and_stops_the_run(tmp_path):
    result = reslab(
        *tiny(tmp_path, "nan", "train.checkpoint_every=2"),
        probe=True,
        env={"PROBE_NAN_INPUT": "3"},
    )
    assert_clean_failure(
        result, "non-finite loss at step 3, from the input batch", "step_00000002.pt) is intact"
    )
    state, path = CheckpointManager(tmp_path / "nan" / "checkpoints").load_latest()
    assert state["step"] == 2


def test_max_bad_steps_skips_inf_batches_and_finishes(tmp_path):
    result = reslab(
        *tiny(tmp_path, "inf", "train.max_bad_steps=2", iterations=20),
        probe=True,
        env={"PROBE_NAN_INPUT": "3,5", "PROBE_BAD_VALUE": "inf"},
    )
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert "skipping step 3: non-finite loss from the input batch" in result.stderr
    assert "skipping step 4: non-finite loss from the input batch" in result.stderr
    weights = load_file(tmp_path / "inf" / "final.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())  # BN statistics included
    assert CheckpointManager(tmp_path / "inf" / "checkpoints").load_latest()[0]["bad_steps"] == 2


def test_an_inf_gradient_from_a_finite_loss_stops_at_its_step(tmp_path):
    result = reslab(
        *tiny(tmp_path, "grad", "train.checkpoint_every=2"),
        probe=True,
        env={"PROBE_INF_GRAD": "3"},
    )
    assert_clean_failure(
        result,
        "non-finite gradients at step 3, from a finite loss",
        "step_00000002.pt) is intact",
    )


def test_max_bad_steps_skips_inf_gradients_and_finishes(tmp_path):
    result = reslab(
        *tiny(tmp_path, "grads", "train.max_bad_steps=2", iterations=20),
        probe=True,
        env={"PROBE_INF_GRAD": "3,5"},
    )
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    # backward passes 3 and 5 are the first tries of steps 3 and 4 (step 3 ran twice)
    assert "skipping step 3: non-finite gradients from a finite loss" in result.stderr
    assert "skipping step 4: non-finite gradients from a finite loss" in result.stderr
    weights = load_file(tmp_path / "grads" / "final.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())
    assert CheckpointManager(tmp_path / "grads" / "checkpoints").load_latest()[0]["bad_steps"] == 2
