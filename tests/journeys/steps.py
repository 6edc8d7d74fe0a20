"""The steps of a user's journey: `reslab ...` as typed, in this process or in a child one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from reslab.cli import main

from .conftest import OnDisk


@dataclass
class Result:
    """What a person sees after one command: its exit status and its output."""

    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def reslab(capsys: pytest.CaptureFixture[str], *args: str | os.PathLike) -> Result:
    """``reslab ARGS`` in this process (the same ``main`` the console script calls)."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:  # argparse refusing the command line
        rc = e.code if isinstance(e.code, int) else 1
    captured = capsys.readouterr()
    return Result(rc, captured.out, captured.err)


def tiny(out_dir: Path, name: str, iterations: int = 4) -> list[str]:
    """Overrides that make any recipe a few steps long, evaluating and saving every 2 steps."""
    return [
        f"train.iterations={iterations}",
        "train.eval_every=2",
        "train.checkpoint_every=2",
        "train.log_every=2",
        "train.progress=false",
        "train.tensorboard=false",
        f"out_dir={out_dir}",
        f"name={name}",
    ]


def checkpoint_files(run_dir: Path) -> dict[str, int]:
    """The run's checkpoint files and their modification times (ns)."""
    folder = run_dir / "checkpoints"
    return (
        {p.name: p.stat().st_mtime_ns for p in sorted(folder.iterdir())} if folder.is_dir() else {}
    )


@contextlib.contextmanager
def sigint_when(path: Path, timeout: float = 120) -> Iterator[threading.Event]:
    """Send this process one SIGINT (a Ctrl-C) as soon as ``path`` exists.

    A SIGINT that would arrive after the trainer has put its own handler back is swallowed
    here, so a late signal cannot stop the test session itself. The event is set once sent.
    """
    sent = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        end = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < end:
            if path.exists():
                os.kill(os.getpid(), signal.SIGINT)
                sent.set()
                return
            time.sleep(0.002)

    previous = signal.signal(signal.SIGINT, lambda *_: None)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield sent
    finally:
        stop.set()
        thread.join()
        time.sleep(0.05)  # let a signal in flight land on the swallowing handler
        signal.signal(signal.SIGINT, previous)


@dataclass
class Journey:
    """Steps whose failures are collected, so one broken step does not hide the next ones."""

    failures: list[str] = field(default_factory=list)

    def check(self, step: str, ok: bool, detail: str) -> bool:
        if not ok:
            self.failures.append(f"{step}: {detail.strip()[-1500:]}")
        return ok

    def expect_rc(self, step: str, result: Result, rc: int = 0) -> bool:
        return self.check(step, result.rc == rc, f"exit {result.rc}, expected {rc}\n{result.text}")

    def assert_all_passed(self) -> None:
        assert not self.failures, "\n\n".join(self.failures)


def eval_count(journey: Journey, step: str, result: Result, expected: int) -> dict | None:
    """Parse `reslab eval --json` output and check it scored ``expected`` images."""
    if not journey.expect_rc(step, result):
        return None
    try:
        report = json.loads(result.out)
    except json.JSONDecodeError as e:
        journey.check(step, False, f"not JSON ({e}): {result.out[:500]}")
        return None
    journey.check(
        step, report.get("count") == expected, f"count {report.get('count')} != {expected}"
    )
    return report


def onnx_matches_torch(onnx_path: Path, run_dir: Path) -> float:
    """Largest |onnxruntime - PyTorch| over the logits of a batch of 3 random images,
    relative to the largest PyTorch logit."""
    import onnxruntime
    import torch

    from reslab.inference import load_for_inference

    model, meta = load_for_inference(run_dir)
    x = torch.randn(
        3, meta["in_channels"], *meta["image_size"], generator=torch.Generator().manual_seed(3)
    )
    with torch.no_grad():
        expected = model(x).numpy()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max() / max(1.0, float(np.abs(expected).max())))


def data_args(kind: str, datasets: dict[str, OnDisk]) -> tuple[list[str], OnDisk | None]:
    """Overrides that point a recipe at a dataset written by the tests (None: built in)."""
    if kind in ("cifar10", "cifar100"):
        d = datasets[kind]
        return [
            f"data.name={kind}",
            f"data.root={d.root}",
            # a count, as the recipes' 5000 is; at least one image of each class
            f"data.val_size={20 if kind == 'cifar10' else 100}",
            "data.batch_size=8",
            "data.eval_batch_size=50",
        ], d
    if kind == "mnist":
        d = datasets[kind]
        return [
            "data.name=mnist",
            f"data.root={d.root}",
            "data.crop_pad=2",
            "data.batch_size=8",
            "data.eval_batch_size=50",
        ], d
    if kind == "folder":
        d = datasets[kind]
        return [
            "data.name=folder",
            f"data.root={d.root}",
            "data.image_size=32",
            "data.batch_size=4",
            "data.eval_batch_size=6",
            "data.num_workers=0",
        ], d
    return ["data.batch_size=16"], None


def eval_root(kind: str, d: OnDisk | None) -> list[str]:
    """The --root a user passes to `reslab eval` for this kind of data."""
    if d is None:
        return []
    return ["--root", str(d.root / "val" if kind == "folder" else d.root)]
