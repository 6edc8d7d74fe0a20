"""`reslab demo`: the degradation study on digits (ships with scikit-learn) over three seeds, a
gradient-flow look, the layer responses, and the report; minutes on a 2-core CPU, no network.

Each net trains in its own process with one thread (reslab.studies.parallel), so the numbers
depend on the seeds and the recipe, not on how many cores the machine has."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from reslab.errors import ConfigError
from reslab.report.wording import Wording
from reslab.studies.degradation import DegradationConfig, print_results, run_degradation
from reslab.studies.gradients import GradientsConfig, run_gradients
from reslab.studies.responses import ResponsesConfig, run_responses

DEMO_SEEDS = (0, 1, 2)
"""Three seeds per net: a mean and a spread within the demo's time. With Welch's t at df 2
(t = 4.30) one slow seed decides a verdict: at 500 iterations, seeds 0-19 with one thread,
ResNet-56 ends at or below 0.14% training error in 19 seeds and at 3.69% in seed 6, so the
sets 0-2 and 3-5 give "ResNet-56 no worse: observed" and 6-8 "cannot be judged" (band -4.08
to +6.49). Over all 1,140 three-seed subsets of seeds 0-19, 951 (83%) give seeds 0-2's four
verdicts, the others "cannot be judged" where 0-2 say "observed", and none "not observed"
(the subsets share seeds: this is evidence from 20 seeds; benchmarks/demo_seeds.py). A
machine with other float rounding trains the same seeds along other paths; one run with AVX2
kernels gave seeds 0-2's verdicts. Five seeds would cost two thirds more time and still leave
one slow seed deciding (band about -1.3 to +2.8 around a 1-point margin)
(tests/studies/test_verdicts_hold.py)."""


@dataclass
class DemoConfig:
    out_dir: str = "runs"
    quick: bool = False
    """A look of about a minute: fewer iterations, two seeds, for a first look and for tests. Its
    runs are too short to converge, so its verdicts are "cannot be judged"."""
    lang: str = "en"
    seeds: tuple[int, ...] = DEMO_SEEDS
    threads: int = 1
    """Torch threads per net (part of each run's recipe)."""
    workers: int = 0
    """Nets trained at once (0: one per core)."""
    report: bool = True
    depths: list[int] = field(default_factory=lambda: [20, 56])

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("the demo needs at least one seed")


def demo_degradation(cfg: DemoConfig, demo_dir: Path) -> DegradationConfig:
    """The degradation study the demo runs (the recipe: reslab.studies.degradation)."""
    return DegradationConfig(
        data="digits",
        depths=list(cfg.depths),
        seeds=list(cfg.seeds[:2] if cfg.quick else cfg.seeds),
        iterations=60 if cfg.quick else None,
        # every 50 iterations (it reads the nets, it does not change their training)
        eval_points=4 if cfg.quick else 10,
        out_dir=str(demo_dir),
        name="degradation",
        threads=cfg.threads,
        workers=cfg.workers,
    )


def run_demo(cfg: DemoConfig) -> Path:
    """Run the demo into OUT/demo (OUT/demo-quick); returns the report's path (or the
    directory when ``cfg.report`` is off)."""
    from reslab.utils.claim import claim_output

    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    demo_dir = Path(cfg.out_dir) / ("demo-quick" if cfg.quick else "demo")
    steps = 4 if cfg.report else 3
    deg = demo_degradation(cfg, demo_dir)
    t = Wording(cfg.lang)
    with claim_output(demo_dir, "study"):
        depths = t("demo_and").join(map(str, deg.depths))
        seeds = ", ".join(map(str, deg.seeds))
        print(t("demo_step_degradation", steps=steps, depths=depths, seeds=seeds), flush=True)
        study_dir = run_degradation(deg)
        phases["training"] = time.perf_counter() - t0
        print_results(study_dir, lang=cfg.lang)
        print(t("demo_step_gradients", steps=steps), flush=True)
        # the probes run here, with the nets' thread count: their numbers do not depend on the
        # machine's cores, and a busy machine does not stall two threads waiting on each other
        previous = torch.get_num_threads()
        torch.set_num_threads(cfg.threads)
        try:
            _probe(cfg, deg, demo_dir, phases, t("demo_step_responses", steps=steps))
        finally:
            torch.set_num_threads(previous)
        if not cfg.report:
            _print_time(t0, phases, t)
            return demo_dir
        from reslab.report import build_report

        print(t("demo_step_report", steps=steps), flush=True)
        t_report = time.perf_counter()
        paths = build_report(demo_dir, lang=cfg.lang)
        phases["report"] = time.perf_counter() - t_report
    _print_time(t0, phases, t)
    print(f"report: {paths.html.resolve()}", flush=True)
    return paths.html


def _print_time(t0: float, phases: dict[str, float], t: Wording) -> None:
    """The whole demo's wall time, and each phase's (a reused net costs no training)."""
    each = (
        t("demo_phase", name=t(f"demo_phase_{k}"), seconds=f"{v:.0f}") for k, v in phases.items()
    )
    total = f"{time.perf_counter() - t0:.0f}"
    print(t("demo_finished", total=total, phases=t("list_sep").join(each)), flush=True)


def _probe(
    cfg: DemoConfig, deg: DegradationConfig, demo_dir: Path, phases: dict[str, float], step3: str
) -> None:
    """Steps 2 and 3: relative gradients per conv layer and layer responses."""
    t0 = time.perf_counter()
    run_gradients(
        GradientsConfig(
            data="digits",
            depths=sorted({*cfg.depths, 110}) if not cfg.quick else list(cfg.depths),
            probe_batches=1 if cfg.quick else 3,
            steps=[1] if cfg.quick else [1, 10],
            trained_from=str(demo_dir / "degradation"),
            out_dir=str(demo_dir),
            name="gradients",
            seed=deg.seeds[0],
            init_seeds=list(deg.seeds),
            progress=False,
        )
    )
    phases["gradients"] = time.perf_counter() - t0
    print(step3, flush=True)
    t0 = time.perf_counter()
    run_responses(
        ResponsesConfig(
            source=str(demo_dir / "degradation"),
            seed=deg.seeds[0],
            out_dir=str(demo_dir),
            name="responses",
            progress=False,
        )
    )
    phases["responses"] = time.perf_counter() - t0
