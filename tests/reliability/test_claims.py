"""Two reslab commands started at the same moment on one directory: exactly one proceeds, the
other is refused with one line naming the first, and the directory holds one run's files.

Each command runs in a spawned process that imports everything first and then waits on a
barrier with the other, so the two reach their claims together.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import shutil
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from reslab.utils.claim import LOCK_NAME, claim

from .harness import kill_tree, reslab, start, tiny, wait_for

pytestmark = pytest.mark.reliability

IN_USE = "is in use by another reslab process"


@dataclass
class Outcome:
    pid: int
    rc: int
    out: str
    err: str

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def _cli_child(argv: list[str], barrier, results) -> None:
    """``reslab ARGV`` in this process, started when every other child is ready too."""
    os.environ["OMP_NUM_THREADS"] = "1"
    out, err = io.StringIO(), io.StringIO()
    rc = -1
    try:
        import torch

        torch.set_num_threads(1)
        import reslab.engine.trainer  # noqa: F401  (imported before the start, not after)
        import reslab.inference.export  # noqa: F401
        import reslab.studies  # noqa: F401
        from reslab import cli

        barrier.wait(timeout=300)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(argv)
    except BaseException:  # report it to the test instead of dying silently
        err.write(traceback.format_exc())
    results.put((os.getpid(), rc, out.getvalue(), err.getvalue()))


def _at_once(*argvs: list[str], timeout: float = 600) -> list[Outcome]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(argvs)), ctx.Queue()
    procs = [ctx.Process(target=_cli_child, args=(list(a), barrier, results)) for a in argvs]
    for p in procs:
        p.start()
    try:
        outcomes = [Outcome(*results.get(timeout=timeout)) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    return outcomes


def _one_proceeds(outcomes: list[Outcome], shown: Path) -> tuple[Outcome, Outcome]:
    """The winner and the loser; the loser exited 2 with one line naming the winner's pid."""
    everything = "\n\n".join(f"rc {o.rc}\n{o.out}\n{o.err}" for o in outcomes)
    assert sorted(o.rc for o in outcomes) == [0, 2], everything
    winner, loser = sorted(outcomes, key=lambda o: o.rc)
    assert "Traceback" not in loser.err, loser.err
    (line,) = loser.error_lines()
    assert line.startswith(f"error: {shown} {IN_USE} (pid {winner.pid}, started "), line
    assert "wait for it to finish, or choose another" in line
    return winner, loser


def _steps(run_dir: Path) -> tuple[list[int], int]:
    """The steps of metrics.jsonl's training lines, and how many evaluation lines it holds."""
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["kind"] == "train"]
    return train_steps, sum(r["kind"] == "eval" for r in records)


# ----------------------------------------------------------------------------- train
@pytest.mark.timeout(900)
def test_two_runs_started_at_once_under_one_name(tmp_path):
    args = tiny(tmp_path, "r", iterations=20)
    winner, loser = _one_proceeds(_at_once(args, args), tmp_path / "r")
    assert "run " not in loser.out  # it never started training
    run_dir = tmp_path / "r"
    assert _steps(run_dir) == ([10, 20], 1)  # one run's metrics, not two interleaved
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "step_00000010.pt",
        "step_00000020.pt",
    ]
    assert (run_dir / "final.safetensors").is_file()
    assert not (run_dir / LOCK_NAME).exists()


@pytest.mark.slow  # two more processes that train; the default suite keeps the train race
@pytest.mark.timeout(900)
def test_two_resumes_of_one_interrupted_run(digits_run, tmp_path):
    run_dir = tmp_path / "digits"
    shutil.copytree(digits_run, run_dir)  # then cut it back to how it stood at step 10
    for name in ("checkpoints/step_00000020.pt", "final.safetensors", "summary.json"):
        (run_dir / name).unlink()
    args = [*tiny(tmp_path, "digits", iterations=20), "--resume", "auto"]
    winner, _ = _one_proceeds(_at_once(args, args), run_dir)
    assert "from step_00000010.pt at step 10" in winner.out
    assert _steps(run_dir) == ([10, 20], 1)
    assert (run_dir / "final.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.distributed
@pytest.mark.timeout(900)
def test_two_torchrun_jobs_started_at_once_under_one_name(tmp_path):
    """`reslab train --nproc 2` twice at once: the launcher holds the run for its workers, so
    the second job is refused in one line with exit 2 before torchrun starts (not exit 1 and
    torchrun's traceback), and the run directory holds one job's files."""
    args = [*tiny(tmp_path, "t", iterations=20), "--nproc", "2"]
    winner, loser = _one_proceeds(_at_once(args, args), tmp_path / "t")
    assert "torch.distributed" not in loser.err
    assert _steps(tmp_path / "t") == ([10, 20], 1)
    assert (tmp_path / "t" / "final.safetensors").is_file()
    assert not (tmp_path / "t" / LOCK_NAME).exists()


# ----------------------------------------------------------------------------- export
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_exports_to_one_path(digits_run, tmp_path):
    out = tmp_path / "m.pt"
    args = ["export", str(digits_run), "--format", "torchscript", "--out", str(out)]
    winner, _ = _one_proceeds(_at_once(args, args), out)
    assert f"exported torchscript: {out}" in winner.out
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp or lock file left


# ----------------------------------------------------------------------------- SIGKILL
@pytest.mark.timeout(600)
def test_a_killed_run_leaves_no_claim_and_resume_auto_proceeds(tmp_path):
    args = tiny(tmp_path, "k", iterations=20)
    proc = start(*args, log=tmp_path / "log.txt", env={"PROBE_STEP_DELAY": "0.3"}, probe=True)
    try:
        wait_for(tmp_path / "k" / "checkpoints" / "step_00000010.pt", proc)
        assert (tmp_path / "k" / LOCK_NAME).exists()  # claimed
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        kill_tree(proc)
    assert (tmp_path / "k" / LOCK_NAME).exists()  # left by the killed process: harmless
    result = reslab(*args, "--resume", "auto")
    assert result.returncode == 0, result.stderr
    assert "from step_00000010.pt at step 10" in result.stdout
    assert _steps(tmp_path / "k") == ([10, 20], 1)
    with claim(tmp_path / "k"):  # and nothing holds it now
        pass


# ----------------------------------------------------------------------------- studies
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_studies_started_at_once_into_one_directory(tmp_path):
    args = [
        "study",
        "degradation",
        "--depths",
        "20",
        "32",
        "--seeds",
        "0",
        "--iterations",
        "12",
        "--workers",
        "1",
        "--no-report",
        "--out",
        str(tmp_path),
        "--name",
        "deg",
        "train.tensorboard=false",
        "train.progress=false",
    ]
    outcomes = _at_once(args, args, timeout=1500)
    _one_proceeds(outcomes, _named(outcomes, tmp_path, "deg"))
    results = json.loads((tmp_path / "deg" / "results.json").read_text())
    assert [r["model"] for r in results["runs"]] == ["plain20", "resnet20", "plain32", "resnet32"]
    _one_run_each(tmp_path / "deg", nets=4)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_demos_started_at_once_into_one_directory(tmp_path):
    args = ["demo", "--quick", "--out", str(tmp_path)]
    outcomes = _at_once(args, args, timeout=1500)
    _one_proceeds(outcomes, _named(outcomes, tmp_path, "demo-quick"))
    assert (tmp_path / "demo-quick" / "report.html").is_file()
    results = json.loads((tmp_path / "demo-quick" / "degradation" / "results.json").read_text())
    _one_run_each(tmp_path / "demo-quick" / "degradation", nets=len(results["runs"]))


def _one_run_each(folder: Path, nets: int) -> None:
    """Every net in a study's folder was trained by one process: its metrics count each step
    once (two processes writing one run would repeat them), and no lock file is left."""
    logs = sorted(folder.rglob("metrics.jsonl"))
    assert len(logs) == nets, logs
    for log in logs:
        steps, _ = _steps(log.parent)
        assert steps and steps == sorted(set(steps)), (log, steps)
    assert not list(folder.rglob(LOCK_NAME))


def _named(outcomes: list[Outcome], out: Path, name: str) -> Path:
    """The directory a refused study names: its own (OUT/NAME) or the --out it was given."""
    lines = [line for o in outcomes for line in o.error_lines()]
    if lines and lines[0].startswith(f"error: {out / name} "):
        return out / name
    return out
