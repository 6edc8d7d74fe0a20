"""The bench row that runs the real trainer: `reslab train RECIPE` on synthetic data in a
subprocess, timed from the img/s of its own metrics log.

Nothing is set up for the trainer: it runs with the caller's environment and the recipe's
settings (memory format, precision, runtime), so the figure is what a user of `reslab train`
gets. Only the run length, the log window and the evaluation/checkpoint cadence are set (so
no timed window holds an evaluation); the first log window is warm-up and is left out. Once
the last training record is written the run is stopped (its final evaluation is not timed).
No torch here: this runs in the bench's parent process.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from reslab.bench.spec import Case
from reslab.errors import ReslabError

POLL_S = 0.2
TIMEOUT_S = 1800.0


class TrainerRunError(ReslabError):
    """`reslab train` failed or stopped before its last training record."""


@dataclass
class TrainerRun:
    img_s: float
    """Images over seconds of the log windows after the first."""
    windows: list[float]
    """img/s of every log window, the warm-up window first."""
    wall_s: float
    """From the start of the process to its last training record (start-up included)."""


def trainer_command(case: Case, out_dir: str | os.PathLike) -> list[str]:
    """The `reslab train` command line of a trainer case."""
    n = case.iterations
    return [
        sys.executable,
        "-m",
        "reslab",
        "train",
        case.recipe,
        "data.name=synthetic",
        f"data.batch_size={case.batch}",
        f"train.device={case.device}",
        f"train.iterations={n}",
        f"train.log_every={log_every(case)}",
        f"train.eval_every={n}",
        f"train.checkpoint_every={n}",
        "train.progress=false",
        "train.tensorboard=false",
        "name=bench",
        f"out_dir={out_dir}",
    ]


def log_every(case: Case) -> int:
    return case.steps or 5


def run_trainer(case: Case) -> TrainerRun:
    """Run the case's recipe once, in a fresh temporary run directory."""
    with tempfile.TemporaryDirectory(prefix="reslab-bench-train-") as tmp:
        metrics = Path(tmp) / "bench" / "metrics.jsonl"
        output = Path(tmp) / "output.txt"
        with open(output, "w") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                trainer_command(case, tmp), stdout=out, stderr=subprocess.STDOUT, text=True
            )
            try:
                records = _wait_for_last_record(proc, metrics, case.iterations, output)
                wall = time.perf_counter() - t0
            finally:
                if proc.poll() is None:
                    proc.kill()  # its final evaluation and save are not measured
                proc.wait()
    windows = [r["img_s"] for r in records]
    timed = records[1:]
    images = sum(r["img_s"] * r["time_s"] for r in timed)
    seconds = sum(r["time_s"] for r in timed)
    return TrainerRun(img_s=images / seconds, windows=windows, wall_s=wall)


def _wait_for_last_record(
    proc: subprocess.Popen, metrics: Path, last_step: int, output: Path
) -> list[dict]:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        records = _train_records(metrics)
        if records and records[-1]["step"] >= last_step:
            return records
        if proc.poll() is not None:
            tail = output.read_text(errors="replace")[-2000:]
            raise TrainerRunError(
                f"`reslab train {''.join(proc.args[4:5])}` exited with code {proc.returncode} "
                f"before step {last_step}:\n{tail}"
            )
        if time.monotonic() > deadline:
            raise TrainerRunError(f"`reslab train` did not reach step {last_step} in time")
        time.sleep(POLL_S)


def _train_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line being written
            break
        if record.get("kind") == "train":
            records.append(record)
    return records


def children_peak_rss() -> int:
    """Peak RSS in bytes of the largest child process waited for so far (the trainer runs)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
