"""The degradation study (paper section 4.2, Figure 6): plain and residual twins of growing
depth trained with one recipe; do deeper plain nets train worse, and do shortcuts fix it?"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reslab import reference
from reslab.engine.config import load_config, read_recipe
from reslab.engine.setup import check_data_root
from reslab.errors import ConfigError
from reslab.studies.common import (
    command_line,
    eval_history,
    mean_std,
    model_cost,
    read_summary,
    running_history,
)
from reslab.studies.parallel import Job, default_workers, plan_all, train_all
from reslab.studies.verdict import (
    CANNOT_JUDGE,
    NOT_OBSERVED,
    OBSERVED,
    Rule,
    both,
    judge,
    judge_curve,
)
from reslab.utils.claim import claim_output
from reslab.utils.env import environment
from reslab.utils.io import write_json

# The paper's CIFAR recipe scaled to each small dataset: same optimizer, batch, lr, decay and
# schedule shape (/10 at 50% and 75% of the run), fewer iterations for fewer images. The
# iteration count of a small dataset is set by PLATEAU_RULE below, not by the verdicts.
PAPER_CIFAR_ITERATIONS = 64000
"""The paper's CIFAR-10 schedule: 64k iterations of 128 images."""
_RECIPES: dict[str, dict[str, Any]] = {
    "digits": {
        "data": {"name": "digits", "val_size": 0, "crop_pad": 1, "flip": False},
        "train": {"iterations": 500},
    },
    "mnist5k": {
        "data": {"name": "mnist5k", "val_size": 0, "crop_pad": 2, "flip": False},
        "train": {"iterations": 1500},
    },
    "cifar10": {
        "data": {"name": "cifar10", "val_size": 5000},
        "train": {"iterations": PAPER_CIFAR_ITERATIONS},
        "schedule": {"milestones": [0.5, 0.75]},
    },
}

PLATEAU_WINDOW = 0.25
"""The final quarter of the schedule: from the last learning-rate drop to the end."""
PLATEAU_RULE = """\
What a small dataset's schedule must give the study's nets before their final numbers are
judged, with the verdicts' own thresholds (reslab.studies.verdict.Rule):

1. every net reaches its plateau: over the final quarter of the schedule (the evaluations at or
   after 75% of the run, after the last learning-rate drop) its training error on the whole
   training set, averaged over the seeds, moves by less than the margin (1 point, max - min).
   The verdicts read that mean at the end of the run; a curve still moving by more than the
   margin could cross a threshold in a longer run;
2. every net the paper trains without trouble (the shallowest plain net and every residual
   net) converges in every seed: final training error below `converged_below` (10%). A run
   too short for them says nothing about depth. The deeper plain nets are exempt: whether they
   train is what the study measures.

Measured with the demo's study (reslab.studies.demo.demo_degradation: digits, seeds 0, 1, 2,
one thread per net, the linear warm-up below) at each rung, on a shared 2-core AMD EPYC:

  200: part 1 holds (largest move 0.58, resnet56) but part 2 does not: one ResNet-56 seed
       ends at 35.9% training error (resnet56 13.83 +- 19.13%)
  300: part 2 holds (ResNet-56 at most 1.32%), part 1 does not: plain56 moves 1.30 points
  400: both hold for seeds 0-2, but not on every seed set: seeds 0-4 with two threads
       (plain56 moves 1.17 points), seeds 5-9 with one (plain56 moves 1.63; ResNet-56 seed 9
       ends at 13.22%)

The rule was written down after those runs, so 400 was not chosen independently of them. The
demo now trains for 500 iterations (45 epochs of 1,437 images), chosen on 2026-12-07 before it
was run, by the budget: the longest run whose demo stays under 5 minutes on an idle 2-core CPU
with headroom (400 iterations measured 203 s in all, 177 s of training). Then measured at 500,
seeds 0-9, one thread: the rule holds on all ten seeds together (largest move 0.24, plain56;
worst ResNet-56 3.69%, seed 6) and on each of the sets 0-2, 3-5 and 6-8. Seeds 10-19, measured
the same way afterwards (no change to the recipe), showed that this does not hold for every
seed set: over all 1,140 three-seed subsets of seeds 0-19, part 2 always holds, but part 1
holds in 731 (64%); in the rest plain-56's mean moves 1.0 to 3.3 points over the last quarter
(median move over all sets 0.77): single seeds still move by several points between
evaluations at the last rate (seed 18: 44.7, 39.9, 41.1 at 400/450/500). The rule was not
changed after this measurement (benchmarks/demo_seeds.py reproduces it). The demo's seeds
0 1 2 meet it. Every study records the measure for its own nets (results.json: "plateau")
and the report shows it. mnist5k's 1500 iterations have not been measured against the rule.
"""

RULE = Rule()
"""The thresholds of the study's verdicts (reslab.studies.verdict)."""


@dataclass
class DegradationConfig:
    data: str = "digits"
    """digits, mnist5k or cifar10."""
    root: str | None = None
    """Dataset directory for file-based datasets."""
    depths: list[int] = field(default_factory=lambda: [20, 56])
    """CIFAR-style depths (6n+2) of the plain/residual pairs."""
    seeds: list[int] = field(default_factory=lambda: [0])
    """One run per seed and net; 3 seeds give a mean +- std."""
    iterations: int | None = None
    """Override the recipe's iteration count."""
    eval_points: int = 16
    """How many evaluations along each run (points on the curves)."""
    out_dir: str = "runs"
    name: str = "degradation"
    overrides: list[str] = field(default_factory=list)
    """Extra section.key=value overrides for every training run."""
    threads: int = 1
    """Torch threads per net. Part of each run's recipe: the same count gives the same numbers
    on any machine, whatever its core count."""
    workers: int = 0
    """Nets trained at once, one process each (0: one per ``threads`` cores)."""
    progress: bool = True
    """Show one progress line for all the nets."""

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (0: one per core), got {self.workers}")
        if not self.seeds:
            raise ConfigError("the study needs at least one seed")
        if self.data not in _RECIPES:
            how = (
                ": the study reads CIFAR-10 as its archive; write it from a folder of its images "
                "with `reslab data pack cifar10 --from FOLDER --root DIR`, then pass "
                "--data cifar10 --root DIR"
                if self.data == "folder"
                else ""
            )
            raise ConfigError(
                f"degradation study data must be one of {', '.join(_RECIPES)}, got "
                f"{self.data!r}{how}"
            )
        bad = [d for d in self.depths if (d - 2) % 6 or d < 8]
        if bad:
            raise ConfigError(f"depths must be 6n+2 (20, 32, 44, 56, 110, ...), got {bad}")
        from reslab.models import get_spec, list_models

        cifar = {n for n in list_models() if get_spec(n).family == "cifar"}
        missing = [d for d in self.depths if {f"plain{d}", f"resnet{d}"} - cifar]
        if missing:
            pairs = sorted(
                int(n[6:]) for n in cifar if n.startswith("resnet") and f"plain{n[6:]}" in cifar
            )
            raise ConfigError(
                f"no plain/residual pair of depth {', '.join(map(str, missing))} is registered: "
                f"the study's depths are {', '.join(map(str, pairs))}"
            )
        if len(self.depths) < 2:
            raise ConfigError("the study needs at least two depths to compare")


def recipe_for(cfg: DegradationConfig) -> dict[str, Any]:
    """The resolved training recipe shared by every net of the study (its length on a small
    dataset: PLATEAU_RULE; per-net schedules: _schedule_for)."""
    base = read_recipe("base_cifar.yaml")
    recipe = load_config(base, None).to_dict()
    for section, values in _RECIPES[cfg.data].items():
        recipe[section].update(values)
    if cfg.root:
        recipe["data"]["root"] = cfg.root
    if cfg.iterations:
        recipe["train"]["iterations"] = cfg.iterations
    iters = recipe["train"]["iterations"]
    if cfg.data != "cifar10":
        recipe["schedule"]["milestones"] = [0.5, 0.75]
    if cfg.data != "cifar10":
        # A linear warm-up over the first tenth of the run, for every net alike: NOT the
        # paper's recipe, which warms up only ResNet-110 (lr 0.01 until training error < 80%,
        # PAPER_WARMUP), and the verdicts about ResNets depend on it. Measured on digits
        # (seeds 0, 1, 2; final training error %): without any warm-up, as the paper trains
        # its 20- and 56-layer nets, ResNet-56 does not converge at lr 0.1 in any seed
        # (64.1, 21.5, 51.8 at 400 iterations; 73.7, 32.0, 63.8 at 300; 50.9, 15.0 at 500,
        # where the third seed was not run), plain-56 still degrades (59.6, 55.6, 73.1 at 400),
        # so "degradation" is observed either way but the claims about ResNets are not; with
        # the ramp, at 500 iterations, ResNet-56 ends at or below 0.14 in 19 of seeds 0-19
        # and at 3.69 in seed 6 (a slow start: 93.5% at iteration 100). The paper's own criterion
        # (0.01 until < 80%) ends within ~60 iterations here and left ResNet-56 at 20-30% in
        # 2 of 6 seeds (an earlier measurement, reslab 0.1). The report states this where the
        # results are shown (wording "warmup_linear_note").
        recipe["schedule"].update(
            warmup_iters=max(1, iters // 10), warmup_lr=None, warmup_until_train_error=None
        )
    every = max(1, iters // cfg.eval_points)
    if is_truncated(cfg):
        # The first N iterations of the paper's run as they are: its rate drops (32k, 48k) lie
        # beyond N, so the rate stays at 0.1. The training curve is the running error of the
        # augmented minibatches over each log window (at most 10 iterations, 1,280 images), as
        # the paper's curves are; the whole
        # training set is not evaluated (45k images at every point would cost more than the
        # training on a CPU), and val/test are evaluated once, at the end.
        recipe["schedule"].update(name="constant")
        recipe["train"].update(eval_every=iters, log_every=min(every, 10), eval_train=False)
    else:
        recipe["train"].update(eval_every=every, log_every=min(every, 50), eval_train=True)
    recipe["train"].update(
        checkpoint_every=max(every, iters // 4),
        tensorboard=True,
        channels_last=True,  # ~1.3x faster on CPU, same numerics
        threads=cfg.threads,
    )
    recipe = load_config(recipe, cfg.overrides).to_dict()  # validates the overrides too
    return recipe


def run_degradation(cfg: DegradationConfig) -> Path:
    """Train every net of the study (reusing finished ones) and write results.json."""
    with claim_output(Path(cfg.out_dir) / cfg.name, "study"):
        return _run_degradation(cfg)


def _run_degradation(cfg: DegradationConfig) -> Path:
    t0 = time.perf_counter()
    study_dir = Path(cfg.out_dir) / cfg.name
    recipe = recipe_for(cfg)
    names = [
        (f"{prefix}{d}", kind, d)
        for d in sorted(cfg.depths)
        for prefix, kind in (("plain", "plain"), ("resnet", "residual"))
    ]
    jobs = [
        Job(
            config={
                **recipe,
                "model": {**recipe["model"], "name": model},
                "train": {**recipe["train"], "seed": seed},
                "schedule": _schedule_for(recipe, cfg.data, depth),
            },
            run_dir=study_dir / "runs" / f"{model}_s{seed}",
            label=f"{model} s{seed}",
            cost=depth,  # a net's step costs about its depth (same widths at every depth)
        )
        for seed in cfg.seeds
        for model, _, depth in names
    ]
    workers = cfg.workers or default_workers(len(jobs), cfg.threads)
    plans = plan_all(jobs)
    todo = sum(p != "done" for p in plans)
    # A rerun that only reuses finished nets keeps what the run that trained them recorded.
    earlier = _earlier_run(study_dir) if not todo else {}
    nets_at_once = min(workers, todo) if todo else earlier.get("nets_at_once")
    if todo:
        # a wrong --root: one line now, not from each net's process after the progress bar
        # has started. The study reads the dataset itself, never an image folder.
        check_data_root(load_config(jobs[0].config, None), folder_ok=False)
    finished = train_all(jobs, workers, progress=cfg.progress, plans=plans)
    if not all(finished):
        print("stopped before every net finished; re-run the same command to continue", flush=True)
        return study_dir
    truncated = is_truncated(cfg)
    runs = [
        _run_record(job.run_dir, model, kind, depth, seed, running=truncated)
        for job, (seed, (model, kind, depth)) in zip(
            jobs, ((s, n) for s in cfg.seeds for n in names)
        )
    ]
    results = {
        "study": "degradation",
        "title": f"Degradation of plain nets with depth ({cfg.data})",
        "command": command_line(),
        # the nets trained in their own processes: their thread count (part of their recipe),
        # not this process's. Every net reused: the machine and the date are those of the run
        # that trained them
        "env": {
            **(earlier.get("env") or environment()),
            "torch_threads": cfg.threads,
            "nets_at_once": nets_at_once,
        },
        "config": {"study": asdict(cfg), "recipe": recipe},
        "dataset": _dataset_facts(runs, cfg.data),
        "seeds": list(cfg.seeds),
        "runs": runs,
        "summary": summarise(runs),
        "wall_time_s": earlier.get("wall_time_s") or time.perf_counter() - t0,
        "paper": {
            "note": reference.DEGRADATION_CLAIM,
            "cifar10_test_error": {k: v.paper_error for k, v in reference.CIFAR10_TABLE6.items()},
        },
    }
    results["train_curve"] = "running" if truncated else "whole_set"
    results["verdict"] = verdict(
        results["summary"], short_run=is_short(cfg), curves=runs if truncated else None
    )
    if not truncated:  # a truncated run is not meant to reach a plateau
        results["plateau"] = plateau(runs)
    write_json(study_dir / "results.json", results)
    return study_dir


def _earlier_run(study_dir: Path) -> dict[str, Any]:
    """What an earlier complete run of the study recorded about how it ran: its wall time, how
    many nets it trained at once and its environment (machine, versions, date; None: not
    recorded)."""
    try:
        results = json.loads((study_dir / "results.json").read_text())
        wall, env = results.get("wall_time_s"), results.get("env") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {
        "wall_time_s": float(wall) if isinstance(wall, (int, float)) else None,
        "nets_at_once": env.get("nets_at_once") if isinstance(env, dict) else None,
        "env": env if isinstance(env, dict) and env.get("date") else None,
    }


def is_truncated(cfg: DegradationConfig) -> bool:
    """Whether the study runs the first iterations of the paper's CIFAR-10 schedule only
    (``--iterations`` below 64k): its curves are the running minibatch error, and the claims
    "throughout training" are judged on them (TRUNCATED_RULE)."""
    return cfg.data == "cifar10" and is_short(cfg)


def is_short(cfg: DegradationConfig) -> bool:
    """Whether the runs are shorter than the study's recipe for the dataset (a smoke test)."""
    return cfg.iterations is not None and cfg.iterations < _RECIPES[cfg.data]["train"]["iterations"]


PAPER_WARMUP = {"warmup_lr": 0.01, "warmup_until_train_error": 80.0}
"""The paper's warm-up for ResNet-110 on CIFAR-10 (lr 0.01 until training error < 80%)."""


def _schedule_for(recipe: dict[str, Any], data: str, depth: int) -> dict[str, Any]:
    """CIFAR-10 follows the paper: its 0.01 warm-up for the 110-layer (and deeper) nets only."""
    schedule = dict(recipe["schedule"])
    if data == "cifar10" and depth >= 110:
        schedule.update(PAPER_WARMUP)
    return schedule


def _run_record(
    run_dir: Path, model: str, kind: str, depth: int, seed: int, *, running: bool = False
) -> dict[str, Any]:
    summary = read_summary(run_dir)
    history = running_history(run_dir) if running else eval_history(run_dir)
    meta = _model_meta(run_dir)
    params, flops = model_cost(model, meta["in_channels"], meta["image_size"], meta["num_classes"])
    last = history[-1] if history else {}
    return {
        "model": model,
        "kind": kind,
        "depth": depth,
        "seed": seed,
        "params": params,
        "flops": flops,
        "wall_time_s": summary["wall_time_s"],
        "iterations": summary["step"],
        "history": history,
        "final": {
            "train_error": last.get("train_error"),
            "test_error": summary["final"]["test_error"],
            "train_loss": last.get("train_loss"),
        },
        "best": {
            "train_error": min(
                (h["train_error"] for h in history if h.get("train_error") is not None),
                default=None,
            ),
            # the test error where the validation error was lowest (never chosen on test)
            "test_error": summary.get("test_error_at_best_val"),
        },
        "data_sizes": summary.get("data_sizes", {}),
        "run_dir": str(run_dir),
    }


def _model_meta(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "model.json").read_text())


def _dataset_facts(runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    if not runs:
        return {"name": name}
    meta = _model_meta(Path(runs[0]["run_dir"]))
    sizes = runs[0].get("data_sizes", {})
    return {
        "name": name,
        "train": sizes.get("train"),
        "val": sizes.get("val"),
        "test": sizes.get("test"),
        "image_shape": [meta["in_channels"], *meta["image_size"]],
        "num_classes": meta["num_classes"],
    }


def plateau(runs: list[dict[str, Any]], rule: Rule = RULE) -> dict[str, Any]:
    """PLATEAU_RULE measured on a study's runs: per net, how much its training error averaged
    over seeds moves (max - min) over the final quarter of the schedule, and its worst final
    training error over seeds; whether every net is flat to within ``rule.margin`` and every
    net that must converge ends below ``rule.converged_below``."""
    shallowest_plain = min((r["depth"] for r in runs if r["kind"] == "plain"), default=None)
    nets: dict[str, Any] = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        group = [r for r in runs if r["model"] == model]
        iterations = max(int(r["iterations"]) for r in group)
        start = (1 - PLATEAU_WINDOW) * iterations
        by_step = _train_error_by_step(group, lambda step, start=start: step >= start)
        means = [sum(v) / len(v) for v in by_step.values()]
        finals = [r["final"]["train_error"] for r in group if r["final"]["train_error"] is not None]
        nets[model] = {
            "change": max(means) - min(means) if len(means) >= 2 else None,
            "evaluations": len(means),
            "worst_final": max(finals, default=None),
            "must_converge": group[0]["kind"] == "residual"
            or group[0]["depth"] == shallowest_plain,
        }
    flat = all(n["change"] is not None and n["change"] < rule.margin for n in nets.values())
    converged = all(
        n["worst_final"] is not None and n["worst_final"] < rule.converged_below
        for n in nets.values()
        if n["must_converge"]
    )
    return {
        "window": PLATEAU_WINDOW,
        "limit": rule.margin,
        "converged_below": rule.converged_below,
        "nets": nets,
        "flat": flat,
        "converged": converged,
        "held": flat and converged,
    }


TRUNCATED_RULE = """\
A CIFAR-10 study shortened with --iterations runs the first N iterations of the paper's
schedule as they are (lr 0.1: the drops at 32k and 48k lie beyond N; no warm-up below 110
layers). Its training curve is the running error of the augmented minibatches over each log
window, as the paper's curves are drawn. Figure 6 claims two things throughout training: the
deeper plain net has the higher training error, and the deeper residual net is below the deeper
plain net. Each is judged at every log point in the second half of the run (after N/2, where
the nets have left the first steps' chance level): Welch's 95% band of the seed-mean gap must
clear the margin at every point for "observed"; the band wholly on the other side at any point
gives "not observed"; otherwise "cannot be judged". The claims about the end of training (the
deeper residual net no worse or lower than the shallower, and so "shortcuts fix") cannot be
judged from the first iterations."""
CURVE_FROM = 0.5
"""The part of a truncated run its curve claims are judged on: log points after this
fraction of the run."""


def _curve_stats(runs: list[dict[str, Any]], model: str) -> dict[int, dict[str, Any]]:
    """One net's training error over seeds ({"mean", "std", "n"}) at each log step after
    CURVE_FROM of the run where every seed has a point."""
    group = [r for r in runs if r["model"] == model]
    iterations = max(int(r["iterations"]) for r in group)
    by_step = _train_error_by_step(group, lambda step: step > CURVE_FROM * iterations)
    return {s: mean_std(v) for s, v in by_step.items()}


def _train_error_by_step(
    group: list[dict[str, Any]], keep: Callable[[int], bool]
) -> dict[int, list[float]]:
    """One net's training errors over its seeds at each step ``keep`` accepts, in step order;
    only the steps every seed has a point at, so each statistic is over the same seeds."""
    values: dict[int, list[float]] = {}
    for r in group:
        for h in r["history"]:
            if h.get("train_error") is not None and keep(int(h["step"])):
                values.setdefault(int(h["step"]), []).append(float(h["train_error"]))
    return {s: v for s, v in sorted(values.items()) if len(v) == len(group)}


def seed_subsets(runs: list[dict[str, Any]], size: int = 3, rule: Rule = RULE) -> dict[str, Any]:
    """How the verdicts and the plateau rule come out on every ``size``-seed subset of the
    runs' seeds: what a study with ``size`` seeds would have said, seed set by seed set. The
    subsets share seeds, so they are not independent trials: the counts describe these seeds.

    Returns {"claims": the claims' names, "sets": n, "verdicts": {(status per claim, ...):
    count}, "not_observed": sets with any claim "not observed", "plateau_held": count}."""
    from itertools import combinations

    seeds = sorted({int(r["seed"]) for r in runs})
    if len(seeds) < size:
        raise ConfigError(f"{len(seeds)} seeds have no subset of {size}")
    verdicts: dict[tuple[str, ...], int] = {}
    names: list[str] = []
    not_observed = held = 0
    for subset in combinations(seeds, size):
        chosen = [r for r in runs if int(r["seed"]) in subset]
        claims = verdict(summarise(chosen), rule)["claims"]
        names = list(claims)
        key = tuple(c["status"] for c in claims.values())
        verdicts[key] = verdicts.get(key, 0) + 1
        not_observed += NOT_OBSERVED in key
        held += bool(plateau(chosen, rule)["held"])
    return {
        "seeds": seeds,
        "size": size,
        "claims": names,
        "sets": sum(verdicts.values()),
        "verdicts": dict(sorted(verdicts.items(), key=lambda kv: -kv[1])),
        "not_observed": not_observed,
        "plateau_held": held,
    }


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per net: final/best errors as mean +- std over seeds."""
    out = []
    for model in dict.fromkeys(r["model"] for r in runs):
        group = [r for r in runs if r["model"] == model]
        first = group[0]
        out.append(
            {
                "model": model,
                "kind": first["kind"],
                "depth": first["depth"],
                "params": first["params"],
                "flops": first["flops"],
                "final_train_error": mean_std([r["final"]["train_error"] for r in group]),
                "final_test_error": mean_std([r["final"]["test_error"] for r in group]),
                "best_test_error": mean_std([r["best"]["test_error"] for r in group]),
                "wall_time_s": mean_std([r["wall_time_s"] for r in group]),
            }
        )
    return out


def verdict(
    summary: list[dict[str, Any]],
    rule: Rule = RULE,
    *,
    short_run: bool = False,
    curves: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The paper's claims about depth, each judged on final training error (the paper's
    criterion: a deeper plain net that fits its training data worse cannot be overfitting)
    as observed, not observed or cannot be judged (reslab.studies.verdict states the rule).

    Claims: ``degradation`` (the deepest plain net trains worse than the shallowest),
    ``residual_no_worse`` (the deepest residual net trains no worse than the shallowest),
    ``residual_lower`` (it trains to a lower error, the paper's claim as stated) and
    ``shortcuts_fix`` (degradation observed, and the deepest residual net no worse than the
    shallowest and better than the deepest plain net).

    With ``curves`` (the runs of a truncated CIFAR-10 study: TRUNCATED_RULE), the two claims
    Figure 6 makes "throughout training" (the deepest plain net above the shallowest; the
    deepest residual net below the deepest plain net) are judged on the training curves
    instead, and the claims about the end of training cannot be judged.
    """

    def rows(kind: str) -> list[dict[str, Any]]:
        return sorted((r for r in summary if r["kind"] == kind), key=lambda r: r["depth"])

    plain, residual = rows("plain"), rows("residual")
    if len(plain) < 2 or len(residual) < 2:
        return {
            "degradation_observed": False,
            "residual_avoids_degradation": False,
            "margin": rule.margin,
            "rule": asdict(rule),
            "claims": {},
            "note": "fewer than two depths were trained",
        }
    metric, short = "final_train_error", {"short_run": short_run}
    degradation = judge("worse", plain[0][metric], plain[-1][metric], rule, **short)
    no_worse = judge("no_worse", residual[0][metric], residual[-1][metric], rule, **short)
    lower = judge("lower", residual[0][metric], residual[-1][metric], rule, **short)
    # the deepest residual net against the deepest plain net (which need not converge)
    beats_plain = judge(
        "lower", plain[-1][metric], residual[-1][metric], rule, check_convergence=False, **short
    )
    if curves is not None:
        by_step = {r["model"]: _curve_stats(curves, r["model"]) for r in plain + residual}
        degradation = judge_curve(
            "worse", by_step[plain[0]["model"]], by_step[plain[-1]["model"]], rule
        )
        beats_plain = judge_curve(
            "lower", by_step[plain[-1]["model"]], by_step[residual[-1]["model"]], rule
        )
        for end_of_training in (no_worse, lower):
            end_of_training["reason"] = "truncated"
        metric = "running_train_error"
    fix = {"status": CANNOT_JUDGE, "reason": None}
    if degradation["status"] == OBSERVED:
        fix["status"] = both(no_worse, beats_plain)
        if fix["status"] == CANNOT_JUDGE:
            fix["reason"] = "residual_cannot_be_judged"
    else:
        fix["reason"] = (
            "nothing_to_fix" if degradation["status"] == NOT_OBSERVED else "degradation_unjudged"
        )
    claims = {
        "degradation": {**degradation, "shallow": plain[0]["model"], "deep": plain[-1]["model"]},
        "residual_no_worse": {
            **no_worse,
            "shallow": residual[0]["model"],
            "deep": residual[-1]["model"],
        },
        "residual_lower": {**lower, "shallow": residual[0]["model"], "deep": residual[-1]["model"]},
        "shortcuts_fix": {
            **fix,
            "deep_residual_vs_deep_plain": {
                **beats_plain,
                "shallow": plain[-1]["model"],
                "deep": residual[-1]["model"],
            },
        },
    }
    return {
        "claims": claims,
        "rule": asdict(rule),
        "metric": metric,
        # the verdict in the shape earlier results had (True only where observed)
        "degradation_observed": degradation["status"] == OBSERVED,
        "residual_avoids_degradation": fix["status"] == OBSERVED,
        "plain_shallow": plain[0]["model"],
        "plain_deep": plain[-1]["model"],
        "residual_shallow": residual[0]["model"],
        "residual_deep": residual[-1]["model"],
        "plain_gap": degradation["gap"],
        "plain_gap_std": degradation["gap_se"],
        "residual_gap": no_worse["gap"],
        "residual_gap_std": no_worse["gap_se"],
        "margin": rule.margin,
    }


def print_results(study_dir: Path, lang: str = "en") -> None:
    """A degradation study's numbers and verdicts on the terminal, in the words (and language)
    of the report's tables: each claim's title, status and reason as the report says them."""
    import json

    from reslab.report.results import verdict_rows
    from reslab.report.wording import Wording

    t = Wording(lang)
    results = json.loads((Path(study_dir) / "results.json").read_text())
    if results.get("train_curve") == "running":  # the first iterations of a longer schedule
        runs = results.get("runs") or [{}]
        steps = [h.get("step") for h in runs[0].get("history") or []]
        print(t("term_header_running", step=steps[-1] if steps else "?"), flush=True)
    else:
        print(t("term_header_final"), flush=True)
    for row in results.get("summary") or []:

        def cell(key: str, row: dict = row) -> str:
            stat = row.get(key) or {}
            if stat.get("mean") is None:
                return "-"
            std = stat.get("std")
            return f"{stat['mean']:.2f}" + (f" ± {std:.2f}" if std is not None else "")

        print(
            f"  {row['model']:<10} {cell('final_train_error'):>15} {cell('final_test_error'):>15}"
        )
    verdict = results.get("verdict") or {}
    claims = verdict.get("claims") or {}
    rule = verdict.get("rule") or {}
    if claims and rule.get("interval") == "welch_t":
        print(
            t("term_verdicts", confidence=f"{100 * rule['confidence']:g}"),
            flush=True,
        )
    for row in verdict_rows(verdict, t) if claims else []:
        # a compound claim's threshold says what it needs ("needs: ...") by itself
        said = [row.threshold if row.part else t("term_threshold", threshold=row.threshold)]
        gap = ""
        if row.measured is not None and row.gap_judged:
            gap = _gap_words(row.measured, t)
            if row.part and gap:
                deep, shallow = row.measured.get("deep"), row.measured.get("shallow")
                gap = t("term_vs", deep=deep, shallow=shallow, detail=gap)
        said.append(gap)
        # the band is on the line already: "spread" needs no second copy of it
        said.append(t("term_spread") if gap and row.reason_key == "spread" else row.reason)
        said_text = t("term_and").join(x for x in said if x)
        line = (
            t("term_claim_said", claim=row.title, status=row.status, said=said_text)
            if said_text
            else t("term_claim", claim=row.title, status=row.status)
        )
        print(f"  {line}", flush=True)
    plateau = results.get("plateau") or {}
    nets = plateau.get("nets") or {}
    moves = {k: v["change"] for k, v in nets.items() if v.get("change") is not None}
    if moves:
        worst = max(moves, key=lambda k: moves[k])
        finals = {
            k: v["worst_final"]
            for k, v in nets.items()
            if v.get("must_converge") and v.get("worst_final") is not None
        }
        line = t(
            "term_plateau",
            status=t("term_holds" if plateau.get("held") else "term_fails"),
            move=f"{moves[worst]:.2f}",
            net=worst,
            limit=f"{plateau['limit']:.1f}",
        )
        if finals:
            trained = max(finals, key=lambda k: finals[k])
            line += t(
                "term_plateau_converged",
                worst=f"{finals[trained]:.2f}",
                net=trained,
                limit=f"{plateau['converged_below']:g}",
            )
        print(f"  {line}", flush=True)


def _gap_words(claim_: dict[str, Any], t: Any) -> str:
    """A judged gap as the terminal shows it: the gap, its band, t and df, and on a curve the
    iteration these numbers come from (the weakest point, not the table's last one)."""
    from reslab.report import fmt

    if claim_.get("gap") is None:
        return ""
    if claim_.get("low") is None or claim_.get("t") is None or claim_.get("gap_se") is None:
        return t("term_gap_only", gap=f"{claim_['gap']:+.2f}")  # (results of an older rule)
    words = t(
        "term_gap",
        gap=f"{claim_['gap']:+.2f}",
        se=f"{claim_['gap_se']:.2f}",
        low=f"{claim_['low']:+.2f}",
        high=f"{claim_['high']:+.2f}",
        t=f"{claim_['t']:.2f}",
        df=fmt.df(claim_["df"]),
    )
    if claim_.get("judged_on") == "curve" and claim_.get("step") is not None:
        words += t("term_comma") + t(
            "term_weakest", step=claim_["step"], k=len(claim_.get("steps") or [])
        )
    return words
