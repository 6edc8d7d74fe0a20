"""Crashes lose nothing that was saved: SIGKILL anywhere (even mid-write), a full disk, a
corrupt newest checkpoint, SIGTERM. After each, the newest valid checkpoint loads and a
resumed run completes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time

import pytest

from reslab.engine import CheckpointManager, load_checkpoint
from reslab.engine.logger import read_metrics

from .conftest import FOLDER_ARGS
from .harness import assert_clean_failure, assert_no_traceback, reslab, start, tiny, wait_for

pytestmark = pytest.mark.reliability


def _temp_files(directory):
    return sorted(p.name for p in directory.glob(".step_*.tmp"))


def _newest_step(directory) -> int:
    paths = CheckpointManager(directory).paths()
    return int(paths[-1].stem.split("_")[1]) if paths else 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_at_random_moments_then_resume_completes(tmp_path):
    args = tiny(tmp_path, "k", "train.checkpoint_every=1", "train.log_every=5", iterations=60)
    ckpts = tmp_path / "k" / "checkpoints"
    slow = {"PROBE_STEP_DELAY": "0.02"}
    rng = random.Random(20151210)  # the ResNet paper's arXiv date
    newest, mid_write = 0, 0
    for kill in range(3):
        proc = start(
            *args, "--resume", "auto", log=tmp_path / f"kill{kill}.log", env=slow, probe=True
        )
        try:
            wait_for(ckpts / f"step_{newest + 1:08d}.pt", proc)  # it made progress ...
            time.sleep(rng.uniform(0.0, 0.3))  # ... then dies at a random moment
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        mid_write += bool(_temp_files(ckpts))
        state, path = CheckpointManager(ckpts).load_latest()  # never corrupt: writes are atomic
        assert state["step"] > newest
        newest = state["step"]

    # and once exactly inside a checkpoint write: half the bytes are on disk when it dies
    marker = tmp_path / "half-written"
    env = {**slow, "PROBE_STALL_SAVE_AT": str(newest + 2), "PROBE_MARKER": str(marker)}
    proc = start(*args, "--resume", "auto", log=tmp_path / "midwrite.log", env=env, probe=True)
    try:
        wait_for(marker, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _temp_files(ckpts)  # the torn temp file ...
    state, path = CheckpointManager(ckpts).load_latest()
    assert state["step"] == newest + 1  # ... is not taken for a checkpoint

    result = reslab(*args, "--resume", "auto")
    assert result.returncode == 0, result.stderr
    assert f"from step_{newest + 1:08d}.pt at step {newest + 1}" in result.stdout
    assert _temp_files(ckpts) == []  # the resumed run swept the torn file away
    summary = json.loads((tmp_path / "k" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["step"] == 60
    steps = [r["step"] for r in read_metrics(tmp_path / "k") if r["kind"] == "train"]
    assert steps == list(range(5, 61, 5))  # one record per logged step, none lost or doubled
    print(f"kills: 4 (landed mid-write: {mid_write + 1}), resumed from step {newest + 1}")


@pytest.mark.slow
def test_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path):
    args = tiny(tmp_path, "full", iterations=30)
    result = reslab(*args, probe=True, env={"PROBE_ENOSPC_AT": "20"})
    assert_clean_failure(result, "the disk is full", "step_00000010.pt is intact", "--resume auto")
    ckpts = tmp_path / "full" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_00000010.pt"]  # no temp file
    assert load_checkpoint(ckpts / "step_00000010.pt")["step"] == 10

    resumed = reslab(*args, "--resume", "auto")  # space is back
    assert resumed.returncode == 0, resumed.stderr
    assert "from step_00000010.pt at step 10" in resumed.stdout


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],
        lambda b: b"\0" * len(b),
        lambda b: bytes(x ^ 0x5A for x in b[:4096]) + b[4096:],
        lambda b: b"",
    ],
    ids=["truncated", "zeros", "garbage-head", "empty"],
)
def test_corrupt_newest_checkpoint_falls_back_with_a_warning(digits_run, tmp_path, damage):
    ckpts = shutil.copytree(digits_run / "checkpoints", tmp_path / "checkpoints")
    newest = ckpts / "step_00000020.pt"
    newest.write_bytes(damage(newest.read_bytes()))
    with pytest.warns(UserWarning, match="step_00000020.pt is corrupt.*falling back"):
        state, path = CheckpointManager(ckpts).load_latest()
    assert path.name == "step_00000010.pt" and state["step"] == 10


def test_resume_past_a_corrupt_checkpoint_completes(digits_run, tmp_path):
    run = shutil.copytree(digits_run, tmp_path / "digits")
    newest = run / "checkpoints" / "step_00000020.pt"
    newest.write_bytes(newest.read_bytes()[:1000])
    (run / "final.safetensors").unlink()
    result = reslab(*tiny(tmp_path, "digits", iterations=20), "--resume", "auto")
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert "step_00000020.pt is corrupt" in result.stderr and "falling back" in result.stderr
    assert "from step_00000010.pt at step 10" in result.stdout
    assert load_checkpoint(newest)["step"] == 20  # rewritten by the resumed run
    assert (run / "final.safetensors").is_file()


@pytest.mark.timeout(120)
def test_sigterm_saves_at_the_next_step_and_exits_0(tmp_path):
    args = tiny(tmp_path, "t", "train.checkpoint_every=1000", iterations=2000)
    proc = start(*args, log=tmp_path / "log.txt")
    try:
        wait_for(tmp_path / "t" / "metrics.jsonl", proc)  # training is under way
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "log.txt").read_text()
    assert "Traceback" not in log
    step = int(log.split("stopped by SIGTERM at step ")[1].split(";")[0])
    assert log.count("stopped by") == 1  # one message, in one wording
    state, path = CheckpointManager(tmp_path / "t" / "checkpoints").load_latest()
    assert path.name == f"step_{step:08d}.pt" and state["step"] == step >= 10


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_sigterm_to_the_process_group_saves_with_dataloader_workers(tmp_path, rgb_folder):
    """``timeout`` and cluster schedulers signal the whole process group: the DataLoader
    workers get SIGTERM too, and must leave the stop to the trainer (a worker killed first
    made the run fail with torch's "worker killed" traceback and no checkpoint)."""
    args = tiny(
        tmp_path, "g", *FOLDER_ARGS, f"data.root={rgb_folder}", "data.num_workers=2",
        "train.checkpoint_every=1000", iterations=2000,
    )  # fmt: skip
    proc = start(*args, log=tmp_path / "log.txt", start_new_session=True)
    try:
        metrics = tmp_path / "g" / "metrics.jsonl"
        wait_for(metrics, proc)
        while metrics.stat().st_size == 0 and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    log = (tmp_path / "log.txt").read_text()
    assert "Traceback" not in log and "stopped by SIGTERM at step " in log, log[-2000:]
    state, _ = CheckpointManager(tmp_path / "g" / "checkpoints").load_latest()
    assert state["step"] >= 1
