"""Runs bench cases: two worker processes (reslab, reference) timed in alternating windows.

Per case: both sides are built, warmed up (untimed), then timed in rounds; a round times one
window of each side back to back (order alternating between rounds) and the device's matmul
ceiling. Ratios are medians of per-round ratios, so noise that hits both sides of a round alike
cancels. On a shared machine other processes can still take CPU during some rounds: the runner
measures that (CPU time of the whole machine minus that of the bench's own processes), adds
rounds until ``windows`` of them were quiet (at most twice as many in all), and takes the
figures from the quiet rounds. This module imports no torch: the workers do the work.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from reslab.bench.spec import REFERENCE_KIND, Case, Row
from reslab.errors import ReslabError
from reslab.utils.runtime import CPU_TRAINING_ENV

Log = Callable[[str], None]

RESLAB_ENV: dict[str, str] = dict(CPU_TRAINING_ENV)
"""Environment reslab's worker starts with, on top of the caller's (the reference worker gets
the caller's environment unchanged)."""


class BenchError(ReslabError):
    """A bench worker failed or the run cannot be measured."""


class WorkerProcess:
    """A worker process with reslab's runtime settings or torch's defaults ("plain"):
    JSON commands in, JSON replies out."""

    def __init__(self, runtime: str, env: dict[str, str] | None = None) -> None:
        self.runtime = runtime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reslab.bench.worker", runtime],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise BenchError(
                f"the {self.runtime} worker exited (code {code}); see its stderr above"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise BenchError(
                f"{self.runtime} worker: {reply['error']}\n{reply.get('traceback', '')}"
            )
        return reply

    def call(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.recv()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call(op="exit")
                self.proc.wait(timeout=30)
            except (BenchError, OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


QUIET_LOAD = 0.15
"""A round is quiet when other processes used at most this many cores on average during it."""


class CpuMeter:
    """CPU time the rest of the machine used while the bench ran (Linux, with psutil)."""

    def __init__(self) -> None:
        try:
            import psutil

            self.psutil = psutil
            self._start = self._read()
        except (ImportError, OSError):
            self.psutil = None

    def _read(self) -> tuple[float, float, float]:
        ps = self.psutil
        t = ps.cpu_times()
        busy = t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)
        busy += getattr(t, "steal", 0)
        # This process, its live descendants (the workers, their loaders, a trainer run) and
        # those already waited for (a finished trainer run), each counted once: a live
        # process's children_* times are those of its descendants it has reaped.
        ours = 0.0
        me = ps.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                c = proc.cpu_times()
                ours += c.user + c.system + c.children_user + c.children_system
            except ps.Error:
                pass
        return time.perf_counter(), busy, ours

    def start(self) -> None:
        if self.psutil is not None:
            self._start = self._read()

    def foreign_load(self) -> float:
        """Cores other processes used on average since :meth:`start` (0 if unknown)."""
        if self.psutil is None:
            return 0.0
        t1, busy1, ours1 = self._read()
        t0, busy0, ours0 = self._start
        return max(0.0, ((busy1 - busy0) - (ours1 - ours0)) / max(t1 - t0, 1e-9))


def both(
    a: WorkerProcess, b: WorkerProcess, a_cmd: dict | None = None, **cmd: Any
) -> tuple[dict, dict]:
    """Send a command to both workers at once (untimed work such as building a case);
    ``a_cmd`` adds to or overrides ``cmd`` for the first."""
    a.send(**{**cmd, **(a_cmd or {})})
    b.send(**cmd)
    return a.recv(), b.recv()


def run_cases(
    cases: list[Case],
    *,
    log: Log | None = None,
    reslab_env: dict[str, str] | None = None,
    on_row: Callable[[list[Row]], None] | None = None,
) -> list[Row]:
    """Measure every case; one row each, in order. ``on_row`` gets the rows so far after each
    case (to save them as they come: a long suite that is stopped keeps what it measured).

    Each case gets fresh worker processes, as a user's run is a fresh process: a process's
    earlier work changes its speed (with one worker per side for the whole suite, the plain
    reference's ResNet-56 step ran at 137 img/s after the ResNet-20 case and at 198 after the
    ResNet-50 cases, against 180 in a fresh process, on a 2-core Xeon), so shared workers made
    a row's figures depend on the rows before it."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    fast_env = {**RESLAB_ENV, **(reslab_env or {})}
    env: dict[str, Any] | None = None
    rows = []
    for case in cases:
        t0 = time.perf_counter()
        fast = WorkerProcess("reslab", fast_env)
        # A checkpointing row compares reslab with itself: its baseline needs reslab's runtime.
        baseline = (
            WorkerProcess("reslab", fast_env) if case.mode == "ckpt" else WorkerProcess("plain")
        )
        try:
            if env is None:
                info = fast.call(op="info")
                env = {
                    **info["env"],
                    "reslab_runtime": info["tuned"],
                    "command": " ".join(["reslab", *sys.argv[1:]]),
                }
            row = run_case(case, fast, baseline, log)
        finally:
            for worker in (fast, baseline):
                worker.close()
        row.env = env
        rows.append(row)
        if on_row is not None:
            on_row(rows)
        log(f"  {_summary(row)} ({time.perf_counter() - t0:.0f}s)")
    return rows


def run_case(case: Case, fast: WorkerProcess, ref: WorkerProcess, log: Log) -> Row:
    log(
        f"{case.model} {case.mode} batch {case.batch} {case.size}x{case.size} on {case.device} "
        f"({case.precision}{', channels_last' if case.channels_last else ''}"
        f"{', the trainer running ' + case.recipe if case.mode == 'trainer' else ''}"
        f"{', compile' if case.compile else ''}{', CUDA graphs' if case.cuda_graphs else ''})"
    )
    s_fast, s_ref = both(
        fast, ref, {"side": "reslab"}, op="setup", case=case.as_dict(), side="reference"
    )
    try:
        if case.mode == "schedule":
            return _run_schedule(case, fast, ref, s_fast, s_ref, log)
        if case.mode == "trainer":
            return _run_trainer(case, fast, ref, s_fast, s_ref, log)
        w_ref = ref.call(op="warmup", steps=case.warmup)["seconds"]
        w_fast = fast.call(op="warmup", steps=case.warmup)["seconds"]
        n_ref, n_fast = _steps(case, w_ref), _steps(case, w_fast)
        sides = [("ref", ref, "main", n_ref), ("fast", fast, "main", n_fast)]
        if s_fast["has_bare"]:
            fast.call(op="window", kind="bare", steps=1)  # warm the fixed-batch path
            sides.append(("bare", fast, "bare", n_fast))
        meter = CpuMeter()
        rounds: list[dict[str, float]] = []
        while len(rounds) < 2 * case.windows:
            meter.start()
            timed: dict[str, float] = {}
            for key, worker, kind, n in sides if len(rounds) % 2 == 0 else reversed(sides):
                dt = worker.call(op="window", kind=kind, steps=n)["seconds"]
                timed[key] = case.batch * n / dt
            timed["ceiling"] = fast.call(op="ceiling", size=case.ceiling_size)["flops_s"]
            timed["load"] = meter.foreign_load()
            rounds.append(timed)
            if len(_quiet(rounds)) >= case.windows or (
                len(rounds) >= case.windows and meter.psutil is None
            ):
                break
        m_fast, m_ref = both(fast, ref, op="memory")
        stepmem = both(fast, ref, op="step_memory") if case.mode == "ckpt" else None
        profiled = fast.call(op="profile", steps=n_fast) if case.profile else None
    finally:
        both(fast, ref, op="teardown")
    row = _row(case, rounds, s_fast, s_ref, m_fast, m_ref, n_fast, n_ref)
    row.profile = profiled
    if stepmem is not None:
        row.step_mem, row.ref_step_mem = stepmem[0]["bytes"], stepmem[1]["bytes"]
        row.step_mem_kind = stepmem[0]["kind"]
    return row


def _quiet(rounds: list[dict[str, float]]) -> list[dict[str, float]]:
    return [r for r in rounds if r.get("load", 0.0) <= QUIET_LOAD]


def _run_schedule(
    case: Case, fast: WorkerProcess, ref: WorkerProcess, s_fast: dict, s_ref: dict, log: Log
) -> Row:
    """The whole run on reslab's side, timed from its first step (compile and warm-up
    included); the reference's windows before and after it give its projected time."""
    ceilings = [fast.call(op="ceiling", size=case.ceiling_size)["flops_s"]]
    w_ref = ref.call(op="warmup", steps=case.warmup)["seconds"]
    n_ref = _steps(case, w_ref)
    ref_rates = []

    def ref_windows(k: int) -> None:
        for _ in range(k):
            dt = ref.call(op="window", steps=n_ref)["seconds"]
            ref_rates.append(case.batch * n_ref / dt)

    ref_windows(max(1, case.windows // 2))
    log(f"  timing {case.iterations} iterations of reslab's run")
    wall = fast.call(op="window", steps=case.iterations)["seconds"]
    ref_windows(max(1, case.windows - case.windows // 2))
    ceilings.append(fast.call(op="ceiling", size=case.ceiling_size)["flops_s"])
    m_fast, m_ref = both(fast, ref, op="memory")
    img_s = case.iterations * case.batch / wall
    rounds = [
        {"fast": img_s, "ref": rate, "ceiling": ceilings[i % 2], "load": 0.0}
        for i, rate in enumerate(ref_rates)
    ]
    row = _row(case, rounds, s_fast, s_ref, m_fast, m_ref, case.iterations, n_ref)
    row.wall_s = wall
    row.ref_wall_s = case.iterations * case.batch / row.ref_img_s
    row.notes.append("reslab timed over the whole run from its first step; reference projected")
    return row


def _run_trainer(
    case: Case, fast: WorkerProcess, ref: WorkerProcess, s_fast: dict, s_ref: dict, log: Log
) -> Row:
    """Rounds of: the reference step, reslab's bare step (windows of about ``window_s``), and
    one whole `reslab train` run (its log windows after the first), in alternating order."""
    from dataclasses import replace

    from reslab.bench.trainer import children_peak_rss, run_trainer

    timing = replace(case, steps=0)  # case.steps is the trainer's log window
    n_ref = _steps(timing, ref.call(op="warmup", steps=case.warmup)["seconds"])
    n_fast = _steps(timing, fast.call(op="warmup", steps=case.warmup)["seconds"])
    meter = CpuMeter()
    rounds: list[dict[str, float]] = []
    walls = []
    for i in range(case.windows):
        meter.start()
        timed: dict[str, float] = {}
        order = ["ref", "bare", "trainer"]
        for key in order if i % 2 == 0 else reversed(order):
            if key == "trainer":
                run = run_trainer(case)
                timed["fast"] = run.img_s
                walls.append(run.wall_s)
                log(f"  reslab train: {', '.join(f'{w:.0f}' for w in run.windows)} img/s")
            else:
                worker, n = (ref, n_ref) if key == "ref" else (fast, n_fast)
                timed[key] = case.batch * n / worker.call(op="window", steps=n)["seconds"]
        timed["ceiling"] = fast.call(op="ceiling", size=case.ceiling_size)["flops_s"]
        timed["load"] = meter.foreign_load()
        rounds.append(timed)
    _, m_ref = both(fast, ref, op="memory")
    m_fast = {"peak": children_peak_rss(), "baseline": 0, "kind": "trainer_peak_rss"}
    row = _row(case, rounds, s_fast, s_ref, m_fast, m_ref, case.iterations, n_ref)
    row.notes.append(
        f"reslab: `reslab train {case.recipe}` ({case.iterations} steps per run, log windows of "
        f"{case.steps or 5}, the first left out; start-up to last step "
        f"{min(walls):.0f}-{max(walls):.0f}s); bare: reslab's step on a fixed batch "
        f"({n_fast} steps per window)"
    )
    return row


def _steps(case: Case, warmup_seconds: list[float]) -> int:
    if case.steps:
        return case.steps
    if not warmup_seconds:
        return 1
    recent = warmup_seconds[len(warmup_seconds) // 2 :]
    return max(1, round(case.window_s / max(min(recent), 1e-6)))


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _row(
    case: Case,
    rounds: list[dict[str, float]],
    s_fast: dict,
    s_ref: dict,
    m_fast: dict,
    m_ref: dict,
    n_fast: int,
    n_ref: int,
) -> Row:
    flops = s_fast["flops_per_image"] * case.flops_factor
    notes = []
    all_rounds = rounds
    quiet = _quiet(rounds)
    verified = len(quiet) >= max(2, (case.windows + 1) // 2)
    if verified:
        rounds = quiet
    else:
        notes.append(
            f"machine busy: only {len(quiet)} of {len(rounds)} rounds were quiet (other "
            f"processes <= {QUIET_LOAD} cores); figures include busy rounds, targets unverified"
        )
    if s_ref["flops_per_image"] != s_fast["flops_per_image"]:
        notes.append(
            f"reference forward FLOPs {s_ref['flops_per_image']:,} differ from reslab's "
            f"{s_fast['flops_per_image']:,}"
        )
    row = Row(
        model=case.model,
        mode=case.mode,
        batch=case.batch,
        size=case.size,
        device=case.device,
        dtype=case.precision,
        channels_last=bool(s_fast.get("channels_last", case.channels_last)),
        compile=case.compile,
        img_s=_median([r["fast"] for r in rounds]),
        ref_img_s=_median([r["ref"] for r in rounds]),
        ratio=_median([r["fast"] / r["ref"] for r in rounds]),
        peak_mem=m_fast["peak"],
        ref_peak_mem=m_ref["peak"],
        step_mem=max(0, m_fast["peak"] - m_fast["baseline"]),
        ref_step_mem=max(0, m_ref["peak"] - m_ref["baseline"]),
        peak_mem_kind=m_fast["kind"],
        utilisation=_median([r["fast"] * flops / r["ceiling"] for r in rounds]),
        ref_utilisation=_median([r["ref"] * flops / r["ceiling"] for r in rounds]),
        gflops=_median([r["fast"] for r in rounds]) * flops / 1e9,
        ceiling_gflops=_median([r["ceiling"] for r in rounds]) / 1e9,
        flops_per_image=s_fast["flops_per_image"],
        reference=f"{REFERENCE_KIND[case.mode]} ({s_ref['describe']})",
        steps_per_window=n_fast,
        ref_steps_per_window=n_ref,
        img_s_windows=[round(r["fast"], 2) for r in all_rounds],
        ref_img_s_windows=[round(r["ref"], 2) for r in all_rounds],
        foreign_load=[round(r["load"], 3) for r in all_rounds],
        rounds_used=len(rounds),
        notes=notes,
    )
    if rounds and "bare" in rounds[0]:
        row.bare_img_s = _median([r["bare"] for r in rounds])
        row.e2e_vs_bare = _median([r["fast"] / r["bare"] for r in rounds])
    if case.cuda_graphs:
        row.notes.append("reslab step captured in a CUDA graph")
    row.check_targets(case.targets, verified=verified)
    return row


def _summary(row: Row) -> str:
    text = (
        f"{row.img_s:.1f} img/s vs {row.ref_img_s:.1f} reference: {row.ratio:.2f}x, "
        f"{100 * row.utilisation:.0f}% of {row.ceiling_gflops:.0f} GFLOP/s"
    )
    if row.e2e_vs_bare is not None:
        text += f", {100 * row.e2e_vs_bare:.0f}% of the bare step"
    missed = [t for t in row.targets if t["met"] is False]
    if missed:
        text += " | MISSED: " + ", ".join(t["text"] for t in missed)
    if any(t["met"] is None for t in row.targets):
        text += " | targets unverified (machine busy)"
    return text


def resolve_device(device: str) -> str:
    """'auto' is CUDA when the machine has it (asks torch, so only when needed)."""
    from reslab.utils.runtime import auto_device

    return auto_device(device)
