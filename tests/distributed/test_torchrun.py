"""Real torchrun jobs (two processes, gloo on the CPU): same accuracy as one process, exact
evaluation, rank-0-only writes, and recovery from a killed worker or a SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from reliability.harness import kill_tree, start, tiny, torchrun, wait_for, workers

from reslab.engine import CheckpointManager
from reslab.engine.logger import read_metrics

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

TOLERANCE = 2.0
"""Percentage points of test error between one and two processes (360 test images: one
image is 0.28 points; per-process BatchNorm statistics make the runs differ slightly)."""


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def _train_steps(run: Path) -> list[int]:
    return [r["step"] for r in read_metrics(run) if r["kind"] == "train"]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PROBE_")}


def _run(cmd: list[str], log: Path, timeout: float = 400, **kwargs) -> int:
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, **kwargs)
        try:
            return proc.wait(timeout=timeout)
        finally:
            kill_tree(proc)


@pytest.mark.timeout(500)
def test_two_processes_match_one_and_only_rank_0_writes(tmp_path):
    common = (
        "train.eval_every=75",
        "train.checkpoint_every=50",
        "train.log_every=25",
        "train.tensorboard=true",
        "data.val_size=101",  # an odd validation set: 51 + 50 samples on two ranks
    )
    one = start(*tiny(tmp_path, "one", *common, iterations=150), log=tmp_path / "one.log")
    writes = tmp_path / "writes.txt"
    env = {"PROBE_WRITES": str(writes), "PROBE_WATCH": str(tmp_path / "two")}
    two_rc = _run(
        torchrun(2, *tiny(tmp_path, "two", *common, iterations=150), probe=True),
        tmp_path / "two.log",
        env={**_clean_env(), **env},
    )
    two_log = (tmp_path / "two.log").read_text()
    assert two_rc == 0, two_log
    assert one.wait(timeout=300) == 0, (tmp_path / "one.log").read_text()

    assert "global batch 128 over 2 processes (64 each), lr 0.1 (for the global batch)" in two_log
    one_run, two_run = tmp_path / "one", tmp_path / "two"
    err_one, err_two = _summary(one_run)["final"], _summary(two_run)["final"]
    assert abs(err_one["test_error"] - err_two["test_error"]) <= TOLERANCE
    assert err_two["test_error"] < 10  # and both actually learned
    # exact evaluation: every test and validation image counted once
    assert err_one["test_count"] == err_two["test_count"] == 360
    for run in (one_run, two_run):
        evals = [r for r in read_metrics(run) if r["kind"] == "eval"]
        assert [(r["val_count"], r["test_count"]) for r in evals] == [(101, 360)] * 2

    # only rank 0 wrote, and each checkpoint was written once
    written = [line.split(" ", 1) for line in writes.read_text().splitlines()]
    assert {rank for rank, _ in written} == {"0"}
    published = [Path(path).name for _, path in written if path.endswith(".pt")]
    assert published == ["step_00000050.pt", "step_00000100.pt", "step_00000150.pt"]
    assert [Path(p).name for _, p in written].count("config.yaml") == 1
    assert _train_steps(two_run) == [25, 50, 75, 100, 125, 150]
    assert len(list((two_run / "tensorboard").glob("events.out.tfevents.*"))) == 1


@pytest.mark.timeout(400)
def test_two_processes_evaluate_and_save_one_net(tmp_path):
    """DDP averages gradients, not BatchNorm statistics: they are averaged over the processes
    before each evaluation and the final save, so the losses the job reports are those of
    the weights it saved, as one process measures them."""
    from reslab.engine.evaluate import evaluate

    args = tiny(tmp_path, "bn", "train.eval_every=5", "data.val_size=101", iterations=10)
    rc = _run(torchrun(2, *args), tmp_path / "bn.log")
    assert rc == 0, (tmp_path / "bn.log").read_text()
    run = tmp_path / "bn"
    final = _summary(run)["final"]
    one = evaluate(run, device="cpu")
    assert one.count == final["test_count"] == 360
    assert final["test_loss"] == pytest.approx(one.loss, rel=1e-5)
    evals = {r["step"]: r for r in read_metrics(run) if r["kind"] == "eval"}
    best = json.loads((run / "summary.json").read_text())["best_val_step"]
    val = evaluate(run / "best.safetensors", split="val", device="cpu")
    assert val.count == 101 and evals[best]["val_loss"] == pytest.approx(val.loss, rel=1e-5)


@pytest.mark.timeout(400)
def test_sigkill_of_a_worker_then_resume_completes(tmp_path):
    args = tiny(tmp_path, "k", "train.eval_every=80", iterations=80)
    ckpts = tmp_path / "k" / "checkpoints"
    proc = subprocess.Popen(
        torchrun(2, *args), stdout=(tmp_path / "crash.log").open("w"), stderr=subprocess.STDOUT
    )
    try:
        wait_for(ckpts / "step_00000020.pt", proc, timeout=200)
        workers(proc)[1].send_signal(signal.SIGKILL)
        assert proc.wait(timeout=120) != 0  # torchrun reports the failed worker
    finally:
        kill_tree(proc)
    state, _ = CheckpointManager(ckpts).load_latest()
    assert 20 <= state["step"] < 80

    rc = _run(torchrun(2, *args, "--resume", "auto"), tmp_path / "resume.log")
    log = (tmp_path / "resume.log").read_text()
    assert rc == 0, log
    at = int(re.search(r"from step_\d+\.pt at step (\d+)", log).group(1))
    assert at == state["step"]
    assert _summary(tmp_path / "k")["final"]["test_count"] == 360
    assert _train_steps(tmp_path / "k") == list(range(10, 81, 10))


@pytest.mark.timeout(400)
def test_max_restarts_relaunches_and_resumes_from_the_newest_checkpoint(tmp_path):
    args = tiny(tmp_path, "r", "train.eval_every=80", iterations=80)
    ckpts = tmp_path / "r" / "checkpoints"
    cmd = [
        sys.executable,
        "-m",
        "reslab",
        *args[:1],
        "--nproc",
        "2",
        "--max-restarts",
        "1",
        *args[1:],
    ]
    proc = subprocess.Popen(cmd, stdout=(tmp_path / "log.txt").open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for(ckpts / "step_00000020.pt", proc, timeout=200)
        assert (tmp_path / "r" / "config.yaml").is_file()  # a fresh run under --resume auto
        workers(proc)[1].send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=300)
    finally:
        kill_tree(proc)
    log = (tmp_path / "log.txt").read_text()
    assert rc == 0, log
    at = int(re.search(r"resumed \S+ from step_\d+\.pt at step (\d+)", log).group(1))
    assert at >= 20
    assert _summary(tmp_path / "r")["status"] == "completed"
    assert _train_steps(tmp_path / "r") == list(range(10, 81, 10))  # nothing twice


@pytest.mark.timeout(300)
def test_sigterm_to_the_launcher_checkpoints_and_exits_0(tmp_path):
    args = tiny(tmp_path, "t", "train.checkpoint_every=1000", iterations=3000)
    launcher = [
        sys.executable,
        "-c",
        "import sys; from reslab.engine.distributed import launch; "
        "raise SystemExit(launch(sys.argv[1:], 2))",
        *args,
    ]
    proc = subprocess.Popen(
        launcher, stdout=(tmp_path / "log.txt").open("w"), stderr=subprocess.STDOUT
    )
    try:
        wait_for(tmp_path / "t" / "metrics.jsonl", proc, timeout=200)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        kill_tree(proc)
    log = (tmp_path / "log.txt").read_text()
    assert rc == 0, log
    step = int(re.search(r"stopped by SIGTERM at step (\d+)", log).group(1))
    assert log.count("stopped by") == 1  # process 0 speaks for both
    state, path = CheckpointManager(tmp_path / "t" / "checkpoints").load_latest()
    assert path.name == f"step_{step:08d}.pt" and state["step"] == step


@pytest.mark.timeout(300)
def test_a_bad_batch_on_one_rank_is_skipped_by_both(tmp_path):
    """Without agreement, rank 1 would skip while rank 0 waits in DDP's backward: a hang."""
    args = tiny(
        tmp_path, "nan", "train.max_bad_steps=1", "train.checkpoint_every=20", iterations=20
    )
    env = {**_clean_env(), "PROBE_NAN_INPUT": "3", "PROBE_RANK": "1"}
    rc = _run(torchrun(2, *args, probe=True), tmp_path / "log.txt", timeout=240, env=env)
    log = (tmp_path / "log.txt").read_text()
    assert rc == 0, log
    assert "skipping step 3: non-finite loss from the input batch" in log  # rank 1
    assert "skipping step 3: non-finite loss from another process's batch" in log  # rank 0
    state, _ = CheckpointManager(tmp_path / "nan" / "checkpoints").load_latest()
    assert state["step"] == 20 and state["bad_steps"] == 1
