"""`reslab demo`: the degradation study on digits (ships with scikit-learn), a gradient-flow
look, the layer responses, and the report; minutes on a 2-core CPU, no network."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from reslab.studies.degradation import DegradationConfig, run_degradation
from reslab.studies.gradients import GradientsConfig, run_gradients
from reslab.studies.responses import ResponsesConfig, run_responses


@dataclass
class DemoConfig:
    out_dir: str = "runs"
    quick: bool = False
    """A sub-minute version: fewer iterations and depths, for a first look and for tests."""
    lang: str = "en"
    seeds: tuple[int, ...] = (0,)


def run_demo(cfg: DemoConfig) -> Path:
    from reslab.report import build_report

    t0 = time.perf_counter()
    demo_dir = Path(cfg.out_dir) / ("demo-quick" if cfg.quick else "demo")
    steps = 4
    print(
        f"[1/{steps}] degradation study: plain and residual nets of depth 20 and 56 on digits",
        flush=True,
    )
    run_degradation(
        DegradationConfig(
            data="digits",
            depths=[20, 56],
            seeds=list(cfg.seeds),
            iterations=60 if cfg.quick else None,
            eval_points=4 if cfg.quick else 16,
            out_dir=str(demo_dir),
            name="degradation",
        )
    )
    print(f"[2/{steps}] gradient flow at initialisation and after training", flush=True)
    run_gradients(
        GradientsConfig(
            data="digits",
            depths=[20, 56] if cfg.quick else [20, 56, 110],
            probe_batches=1 if cfg.quick else 3,
            trained_from=str(demo_dir / "degradation"),
            out_dir=str(demo_dir),
            name="gradients",
            seed=cfg.seeds[0],
        )
    )
    print(f"[3/{steps}] layer responses of the trained nets", flush=True)
    run_responses(
        ResponsesConfig(
            source=str(demo_dir / "degradation"),
            seed=cfg.seeds[0],
            out_dir=str(demo_dir),
            name="responses",
        )
    )
    print(f"[4/{steps}] report", flush=True)
    paths = build_report(demo_dir, lang=cfg.lang)
    print(f"demo finished in {time.perf_counter() - t0:.0f}s", flush=True)
    print(f"report: {paths.html.resolve()}", flush=True)
    return paths.html
