"""Training a study's nets side by side: a pool of worker processes, each net trained alone in
one of them with the thread count its config names.

A net's numbers depend on its config (seed, recipe, ``train.threads``), not on the pool: a net
trained here follows the same trajectory, step for step, as ``reslab.train`` of the same config
in a fresh process (tests/studies/test_parallel.py checks it). On a CPU, a worker per core with
one thread each keeps every core busy without the threads of one net waiting on each other.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reslab.engine.logger import read_metrics
from reslab.studies.common import plan_run
from reslab.utils.progress import is_interactive

POLL_S = 0.5


@dataclass
class Job:
    """One net of a study: its resolved config and where it lives."""

    config: dict[str, Any]
    run_dir: Path
    label: str
    """How the progress line names it, e.g. "plain56 s1"."""
    cost: float = 1.0
    """Relative work per iteration (forward FLOPs), so the progress line's ETA weighs a deep net
    more than a shallow one."""

    @property
    def iterations(self) -> int:
        return int(self.config["train"]["iterations"])


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers(jobs: int, threads: int) -> int:
    """One worker per ``threads`` cores, never more than there are nets."""
    return max(1, min(jobs, available_cores() // max(1, threads)))


def plan_all(jobs: Sequence[Job]) -> list[str]:
    """Per job: "new", "resume" or "done" (reused); a run directory that holds a different
    recipe is refused here, before anything trains (ConfigError)."""
    return [plan_run(job.config, job.run_dir) for job in jobs]


def train_all(
    jobs: Sequence[Job],
    workers: int,
    *,
    progress: bool = True,
    plans: Sequence[str] | None = None,
) -> list[bool]:
    """Train (or reuse) every job; returns, per job, whether its run is complete.

    Finished runs with the same identity are reused, interrupted ones resumed (``plans``: what
    :func:`plan_all` returned for ``jobs``, if the caller already asked).
    """
    plans = list(plans) if plans is not None else plan_all(jobs)
    done = [plan == "done" for plan in plans]
    for job, plan in zip(jobs, plans):
        if plan == "done":
            print(f"reusing {job.label} ({job.run_dir})", flush=True)
    # longest first: with fewer workers than nets, the last net to start is a short one
    todo = sorted(
        (i for i, plan in enumerate(plans) if plan != "done"), key=lambda i: -jobs[i].cost
    )
    if not todo:
        return done
    line = _Overall([jobs[i] for i in todo], enabled=progress)
    configs = [
        (_quiet(jobs[i].config, jobs[i].run_dir), "auto" if plans[i] == "resume" else None)
        for i in todo
    ]
    try:
        if workers <= 1:
            _train_here(jobs, todo, configs, done, line)
        else:
            _train_in_pool(jobs, todo, configs, done, line, min(workers, len(todo)))
    finally:
        line.close()
    return done


def _train_here(
    jobs: Sequence[Job],
    todo: list[int],
    configs: list[tuple[dict[str, Any], str | None]],
    done: list[bool],
    line: _Overall,
) -> None:
    """One worker: train in this process, one net after another (no pool to start)."""

    finished: set[int] = set()
    current: set[int] = set()
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_S):
            line.update(set(current), set(finished), index=todo)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        for i, (config, resume) in zip(todo, configs):
            current.add(i)
            done[i] = bool(_train_one(config, resume, parent=None))
            current.discard(i)
            finished.add(i)
            if not done[i]:
                line.say(f"stopped {jobs[i].label}")
                return
            line.say(_finished_line(jobs[i]))
    finally:
        stop.set()
        poller.join()


def _train_in_pool(
    jobs: Sequence[Job],
    todo: list[int],
    configs: list[tuple[dict[str, Any], str | None]],
    done: list[bool],
    line: _Overall,
    workers: int,
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reslab-pool-") as tmp:
        stop = Path(tmp) / "stop"  # once it exists, no worker starts another net
        with _pool(workers, stop) as pool:
            parent = os.getpid()
            futures = {
                pool.submit(_train_one, c, r, parent, str(stop)): i
                for i, (c, r) in zip(todo, configs)
            }
            pending = set(futures)
            while pending:
                finished, pending = cf.wait(pending, timeout=POLL_S)
                for f in finished:
                    result = f.result()  # re-raises a worker's error here
                    done[futures[f]] = bool(result)
                    if result is None:  # never started: the study is stopping
                        continue
                    if not result:  # stopped by a signal: start nothing more
                        stop.touch()
                        for other in pending:
                            other.cancel()
                        line.say(f"stopped {jobs[futures[f]].label}")
                        continue
                    line.say(_finished_line(jobs[futures[f]]))
                pending = {f for f in pending if not f.cancelled()}
                line.update(
                    {futures[f] for f in pending},
                    {futures[f] for f in futures if done[futures[f]]},
                    index=todo,
                )


def _quiet(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The job's config placed in ``run_dir``, its own progress bar off (the pool shows one)."""
    return {
        **config,
        "name": run_dir.name,
        "out_dir": str(run_dir.parent),
        "train": {**config["train"], "progress": False},
    }


def _train_one(
    config: dict[str, Any], resume: str | None, parent: int | None, stop: str | None = None
) -> bool | None:
    """In a worker: train one net, its own output going to RUN_DIR/train.log (the terminal shows
    the pool's one line); whether it completed. ``parent``: the study's process, when this is a
    pool worker; once it has gone, the worker exits, and nothing starts (None) once it asked
    to stop (the file ``stop`` exists)."""
    import contextlib

    if parent is not None and os.getppid() != parent:  # the study is gone: so is this worker
        os._exit(0)
    if stop is not None and os.path.exists(stop):
        return None

    from reslab.engine import train
    from reslab.engine.rundir import CREATED_ENV

    log = Path(config["out_dir"]) / config["name"] / "train.log"
    if not log.parent.exists():  # created here for the log: a run that fails at start removes it
        os.environ[CREATED_ENV] = os.path.realpath(log.parent)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        completed = train(config, resume=resume).status == "completed"
    if parent is not None and os.getppid() != parent:  # stopped as the study died (_init_worker)
        os._exit(0)
    return completed


def _init_worker() -> None:
    """A pool worker. On Linux it gets a SIGTERM when the study's process dies, even by SIGKILL,
    so that no net trains on for an hour without the study: a net in training takes SIGTERM as
    "save a checkpoint and stop" (the trainer's own handler), and the worker then exits
    (:func:`_train_one`). Between nets, SIGTERM ends the worker if the study is gone, and is
    ignored while it lives (the study passes its own SIGTERM on to every worker)."""
    from reslab.utils.runtime import keep_freed_memory

    keep_freed_memory()
    study = os.getppid()

    def between_nets(signum: int, frame: object) -> None:
        if os.getppid() != study:
            os._exit(0)

    signal.signal(signal.SIGTERM, between_nets)
    if sys.platform.startswith("linux"):
        import contextlib
        import ctypes

        # without prctl in the C library, the parent's pid is still checked before each net
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _pool:
    """A spawn-based process pool (fork after torch has run threads can hang). Workers start
    with idle OpenMP threads sleeping, as reslab's CPU training processes do.

    Stopping: on Ctrl-C or an error in the study, and on a SIGTERM to the study (``kill``, a
    scheduler) while the pool is open, each net in training is asked to save a checkpoint and
    stop (SIGTERM to the workers), and no queued net starts (the file ``stop``)."""

    def __init__(self, workers: int, stop: Path) -> None:
        self.workers = workers
        self.stop = stop
        self.previous: Any = None

    def __enter__(self) -> cf.ProcessPoolExecutor:
        from reslab.utils.runtime import CPU_TRAINING_ENV

        saved = {k: os.environ.get(k) for k in CPU_TRAINING_ENV}
        for k, v in CPU_TRAINING_ENV.items():
            os.environ.setdefault(k, v)
        try:
            self.pool = cf.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
            )
            # start every worker now, while the environment above is in place
            list(self.pool.map(_noop, range(self.workers)))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, lambda *_: self.stop_nets())
        return self.pool

    def stop_nets(self) -> None:
        """Ask each net to save and stop; start no other."""
        self.stop.touch()  # first, so that no worker starts a queued net
        for process in list(getattr(self.pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()  # SIGTERM: the trainer saves at its next step

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        if exc_type is not None:  # Ctrl-C or an error here
            self.stop_nets()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _noop(_: int) -> None:
    return None


class _Overall:
    """One progress line for all the nets being trained, with an ETA weighted by each net's
    cost; read from the runs' metrics.jsonl, so the workers need not report anything."""

    def __init__(self, jobs: list[Job], *, enabled: bool, log_every_s: float = 15.0) -> None:
        self.jobs = jobs
        self.enabled = enabled
        self.total = sum(j.iterations * j.cost for j in jobs)
        self.t0 = time.perf_counter()
        self.wall0 = time.time() - 1.0  # files written after this belong to this pool
        self.log_every_s = log_every_s
        self._last_log = self.t0
        self._steps = [0] * len(jobs)
        self._started: list[float | None] = [None] * len(jobs)
        self._finished = [False] * len(jobs)
        self._live = None
        self._out = sys.stdout  # the terminal, even while a net's output goes to its log
        if enabled and is_interactive():
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                "", console=Console(file=self._out), refresh_per_second=4, transient=False
            )
            self._live.start()

    def update(self, running: set[int], finished: set[int], index: list[int]) -> None:
        now = time.perf_counter()
        for k, i in enumerate(index):
            job = self.jobs[k]
            if i in finished:
                self._steps[k] = job.iterations
                self._finished[k] = True
            elif i in running:
                self._steps[k] = _last_step(job.run_dir)
                if self._started[k] is None and _touched_since(job.run_dir, self.wall0):
                    self._started[k] = now
        if not self.enabled:
            return
        text = self._text(now)
        if self._live is not None:
            self._live.update(text)
        elif now - self._last_log >= self.log_every_s:
            self._last_log = now
            print(text, file=self._out, flush=True)

    def _text(self, now: float) -> str:
        done = sum(s * j.cost for s, j in zip(self._steps, self.jobs))
        frac = done / self.total if self.total else 1.0
        elapsed = now - self.t0
        finished = sum(self._finished)  # past the last iteration but evaluating is not done
        if frac >= 0.02 and elapsed > 5:
            eta = f"ETA {_clock(elapsed * (1 - frac) / frac)}"
        else:
            eta = "ETA estimating"
        # a net past its last iteration is still scoring its final test (and validation) set,
        # which takes a 56-layer net on CIFAR-10 minutes on one core: say so, not nothing
        running = [
            f"{j.label} {s}/{j.iterations}"
            if 0 < s < j.iterations
            else f"{j.label} {'evaluating' if s else 'starting'}"
            for s, j, t, f in zip(self._steps, self.jobs, self._started, self._finished)
            if t is not None and not f
        ]
        bar = _bar(frac)
        now_text = f"; now: {', '.join(running)}" if running else ""
        return (
            f"training {len(self.jobs)} nets {bar} {frac:4.0%} {_clock(elapsed)} elapsed, "
            f"{eta}; {finished} done{now_text}"
        )

    def say(self, text: str) -> None:
        """A line above the progress line."""
        if self._live is not None:
            self._live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self._out, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.update(self._text(time.perf_counter()))
            self._live.stop()
            self._live = None
        elif self.enabled:
            print(self._text(time.perf_counter()), file=self._out, flush=True)


def _finished_line(job: Job) -> str:
    import json

    try:
        summary = json.loads((job.run_dir / "summary.json").read_text())
        evals = [r for r in read_metrics(job.run_dir) if r.get("kind") == "eval"]
        train_err = evals[-1].get("train_error") if evals else None
        shown = f"training error {train_err:.2f}%, " if train_err is not None else ""
        return (
            f"trained {job.label}: {shown}test error {summary['final']['test_error']:.2f}% "
            f"({summary['wall_time_s']:.0f}s)"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return f"trained {job.label}"


def _touched_since(run_dir: Path, wall: float) -> bool:
    for name in ("config.yaml", "metrics.jsonl"):
        try:
            if (run_dir / name).stat().st_mtime >= wall:
                return True
        except FileNotFoundError:
            continue
    return False


def _last_step(run_dir: Path) -> int:
    if not (run_dir / "metrics.jsonl").is_file():
        return 0
    steps = [r.get("step", 0) for r in read_metrics(run_dir) if r.get("kind") == "train"]
    return int(steps[-1]) if steps else 0


def _bar(frac: float, width: int = 20) -> str:
    full = int(round(frac * width))
    return "[" + "#" * full + "." * (width - full) + "]"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"
