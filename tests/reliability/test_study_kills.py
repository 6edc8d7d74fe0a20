"""A study trains its nets in a pool of worker processes. Stopping the study, by SIGTERM (kill,
a scheduler), Ctrl-C or even SIGKILL, must stop every net it started: each saves a checkpoint and
its process ends, and no net trains on alone for an hour."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest

from .harness import kill_tree, start

STUDY = [
    "study",
    "degradation",
    "--depths",
    "20",
    "32",
    "--seeds",
    "0",
    "--iterations",
    "3000",  # minutes: long enough that nothing finishes on its own during the test
    "--workers",
    "2",
]


def _training(out: Path, proc, timeout: float = 180) -> list[psutil.Process]:
    """The pool's worker processes, once both nets of the pool have saved a checkpoint (both
    are training: a net still setting up when the signal comes has nothing to save yet)."""
    end = time.monotonic() + timeout
    while len({p.parent.parent for p in out.glob("s/runs/*/checkpoints/step_*.pt")}) < 2:
        assert proc.poll() is None, (out / "log.txt").read_text()
        assert time.monotonic() < end, "no net saved a checkpoint in time"
        time.sleep(0.2)
    return psutil.Process(proc.pid).children(recursive=True)


def _all_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_the_study_stops_every_net_it_started(tmp_path, signum):
    args = [*STUDY, "--out", str(tmp_path), "--name", "s", "train.checkpoint_every=20"]
    proc = start(*args, log=tmp_path / "log.txt")
    try:
        children = _training(tmp_path, proc)
        assert len(children) >= 2, children
        proc.send_signal(signum)
        proc.wait(timeout=60)
        # SIGTERM: the nets save and the study ends cleanly; SIGKILL: the study is gone at
        # once, and its workers learn it from the kernel (they would go on for minutes else)
        alive = _all_gone(children, timeout=60)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        kill_tree(proc)
    text = (tmp_path / "log.txt").read_text()
    assert "Traceback" not in text, text
    if signum == signal.SIGTERM:  # a scheduler's clean stop, as `reslab train` takes it
        assert proc.returncode == 0, text
        assert "stopped before every net finished; re-run the same command" in text
    if signum == signal.SIGINT:  # Ctrl-C
        assert proc.returncode == 130, text
        assert "interrupted: re-run the same command to continue" in text
    assert "results:" not in text  # none were written
    # each net that trained has a checkpoint to resume from, newer than the first one
    trained = [d for d in (tmp_path / "s" / "runs").iterdir() if (d / "checkpoints").is_dir()]
    assert len(trained) >= 2
    for run in trained:
        assert list((run / "checkpoints").glob("step_*.pt")), run
