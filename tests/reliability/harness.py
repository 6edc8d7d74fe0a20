"""Running `reslab` in child processes and checking what a person would see.

Shared by the reliability and distributed suites. Every run is tiny: digits, one thread,
no TensorBoard, no progress bar.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

PROBE = Path(__file__).with_name("probe.py")
"""``python PROBE ARGS`` is ``reslab ARGS`` with faults chosen by PROBE_* variables."""

TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


def tiny(out_dir: Path, name: str, *extra: str, iterations: int = 30) -> list[str]:
    """`reslab train` arguments for a small digits run in ``out_dir/name``."""
    return [
        "train",
        "digits_resnet20",
        f"train.iterations={iterations}",
        "train.eval_every=1000",
        "train.log_every=10",
        "train.checkpoint_every=10",
        "train.tensorboard=false",
        "train.progress=false",
        "train.threads=1",
        f"out_dir={out_dir}",
        f"name={name}",
        *extra,
    ]


def reslab(
    *args: str, env: dict[str, str] | None = None, probe: bool = False, timeout: float = 240
) -> subprocess.CompletedProcess:
    """Run ``python -m reslab ARGS`` (or the fault probe) and wait for it."""
    return subprocess.run(
        _command(args, probe),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(env),
    )


def start(
    *args: str, log: Path, env: dict[str, str] | None = None, probe: bool = False, **kwargs
) -> subprocess.Popen:
    """Start ``python -m reslab ARGS`` (or the probe) with stdout and stderr going to ``log``."""
    return subprocess.Popen(
        _command(args, probe),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=_env(env),
        **kwargs,
    )


def torchrun(nproc: int, *args: str, extra: Sequence[str] = (), probe: bool = False) -> list[str]:
    """The command line of ``torchrun --standalone --nproc-per-node N -m reslab ARGS``."""
    target = [str(PROBE)] if probe else ["-m", "reslab"]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        *extra,
        *target,
        *args,
    ]


def _command(args: Sequence[str], probe: bool) -> list[str]:
    return [sys.executable, *([str(PROBE)] if probe else ["-m", "reslab"]), *args]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROBE_")}
    # one thread per process: spinning OpenMP threads crawl on a shared 2-core machine
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra or {})
    return env


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Block until ``path`` exists; fail if ``proc`` ends first or time runs out."""
    end = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"process ended (rc {proc.returncode}) before {path} appeared")
        if time.monotonic() > end:
            raise AssertionError(f"{path} did not appear within {timeout}s")
        time.sleep(0.01)


def workers(proc: subprocess.Popen) -> dict[int, psutil.Process]:
    """The torchrun workers under ``proc``, by their RANK."""
    found = {}
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            rank = child.environ().get("RANK")
        except psutil.Error:
            continue
        if rank is not None and "torch.distributed.run" not in " ".join(child.cmdline()):
            found[int(rank)] = child
    return found


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` and everything it started (cleanup after a failed assertion)."""
    try:
        family = [*psutil.Process(proc.pid).children(recursive=True), psutil.Process(proc.pid)]
    except psutil.Error:
        return
    for p in family:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGKILL)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_clean_failure(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Non-zero exit, exactly one ``error: ...`` line holding ``fragments``, no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert not TRACEBACK.search(output), output
    lines = error_lines(result)
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert not TRACEBACK.search(output), output
