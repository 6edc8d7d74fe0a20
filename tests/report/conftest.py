"""Synthetic study results for rendering tests (invented numbers, chosen to be easy to find)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reslab import reference
from reslab.studies.degradation import plateau
from reslab.studies.degradation import verdict as judge_claims
from reslab.studies.verdict import Rule

ENV = {
    "reslab": "0.1.0",
    "python": "3.11.2",
    "torch": "2.4.1",
    "torchvision": "0.19.1",
    "numpy": "2.1.0",
    "platform": "Linux-6.1-x86_64-with-glibc2.36",
    "cpu": "AMD EPYC 7B13",
    "cpu_count": 2,
    "cpu_kernels": "AVX512",
    "torch_threads": 2,
    "cuda": None,
    "date": "2025-01-02T03:04:05+00:00",
}
DATASET = {
    "name": "digits",
    "train": 1150,
    "val": 287,
    "test": 360,
    "image_shape": [1, 8, 8],
    "num_classes": 10,
}
COMMAND = "reslab study degradation --depths 20 56 --seeds 0 1 --out runs/deg"

# Final errors per (model, seed): distinctive values that the tests look for in the page.
FINAL_TRAIN = {
    "plain20": (4.10, 4.24),
    "plain56": (9.77, 9.89),
    "resnet20": (3.02, 3.08),
    "resnet56": (2.36, 2.46),
}
NOT_DEGRADED = (4.41, 4.63)
"""plain56's final training errors in the variant without degradation."""
FINAL_TEST = {
    "plain20": (7.51, 7.65),
    "plain56": (12.2, 12.4),
    "resnet20": (6.11, 6.31),
    "resnet56": (5.54, 5.58),
}


def _stat(values: tuple[float, ...]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values), "n": len(values)}


def _history(final_train: float, final_test: float) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, 11):
        frac = i / 10
        rows.append(
            {
                "step": i * 100,
                "epoch": i * 100 * 128 / 1150,
                "lr": 0.1 if i <= 6 else 0.01,
                "train_loss": 2.3 * (1 - frac) + 0.05,
                "train_error": 90 * (1 - frac) ** 2 + final_train,
                "val_error": None,
                "test_error": 88 * (1 - frac) ** 2 + final_test,
            }
        )
    return rows


def degradation_results(*, observed: bool = True) -> dict[str, Any]:
    """A two-seed degradation study; ``observed=False`` makes plain56 as good as plain20."""
    runs, summary = [], []
    final_train = dict(FINAL_TRAIN)
    if not observed:
        final_train["plain56"] = NOT_DEGRADED
    for model, train in final_train.items():
        kind = "plain" if model.startswith("plain") else "residual"
        depth = int(model.removeprefix("plain").removeprefix("resnet"))
        params = 270_000 if depth == 20 else 850_000
        flops = 8.1e7 if depth == 20 else 2.5e8
        for seed, (tr, te) in enumerate(zip(train, FINAL_TEST[model])):
            runs.append(
                {
                    "model": model,
                    "kind": kind,
                    "depth": depth,
                    "seed": seed,
                    "params": params,
                    "flops": flops,
                    "wall_time_s": 12.3,
                    "iterations": 1000,
                    "history": _history(tr, te),
                    "final": {"train_error": tr, "test_error": te, "train_loss": 0.1},
                    "best": {"train_error": tr, "test_error": te - 0.2},
                }
            )
        summary.append(
            {
                "model": model,
                "kind": kind,
                "depth": depth,
                "params": params,
                "flops": flops,
                "final_train_error": _stat(train),
                "final_test_error": _stat(FINAL_TEST[model]),
                "best_test_error": _stat(tuple(x - 0.2 for x in FINAL_TEST[model])),
                "wall_time_s": {"mean": 12.3, "std": 0.0, "n": 2},
            }
        )
    verdict = judge_claims(summary, Rule(margin=1.5))
    schedule = plateau(runs, Rule(margin=1.5))  # the curves still fall 3.6 points at the end
    return {
        "study": "degradation",
        "title": "Degradation on digits",
        "command": COMMAND,
        "env": ENV,
        "config": {
            "study": {"depths": [20, 56], "seeds": [0, 1]},
            "recipe": {
                "optim": {"lr": 0.1, "momentum": 0.9},
                "schedule": {
                    "name": "multistep",
                    "milestones": [0.5, 0.75],
                    "warmup_lr": 0.01,
                    "warmup_until_train_error": 80.0,
                },
                "train": {"iterations": 1000},
                "data": {"batch_size": 128},
            },
        },
        "dataset": DATASET,
        "seeds": [0, 1],
        "wall_time_s": 98.7,
        "runs": runs,
        "summary": summary,
        "verdict": verdict,
        "plateau": schedule,
        "paper": {
            "note": reference.DEGRADATION_CLAIM,  # in English, as the study stores it
            "cifar10_test_error": {"resnet20": 8.75, "resnet56": 6.97},
        },
    }


def gradients_results() -> dict[str, Any]:
    """Relative gradients of each conv layer: at init, after 1 and 10 steps (plain56's stem
    made to vanish, so one net shows the other trend)."""
    models = []
    for kind, depth in (("plain", 20), ("plain", 56), ("residual", 20), ("residual", 56)):
        n = depth - 1  # conv layers on the main path
        decay = 0.93 if kind == "plain" else 0.995
        scale = 0.0421 if kind == "plain" else 0.0377
        init = [scale * decay ** (n - 1 - i) for i in range(n)]
        init[0] = 0.000123 if (kind, depth) == ("plain", 56) else init[0]
        after = {"1": [v * (0.01 if i < 3 else 1.0) for i, v in enumerate(init)], "10": init}
        models.append(
            {
                "model": f"{'plain' if kind == 'plain' else 'resnet'}{depth}",
                "kind": kind,
                "depth": depth,
                "layers": ["conv1"] + [f"layer{i}.conv" for i in range(1, n)],
                "init": init,
                "steps": after,
                "trained": None,
                "first_over_last": init[0] / init[-1],
                "first_over_last_steps": {k: v[0] / v[-1] for k, v in after.items()},
                "first_over_last_trained": None,
            }
        )
    return {
        "study": "gradients",
        "metric": "relative_gradient",
        "command": "reslab study gradients",
        "env": ENV,
        "dataset": DATASET,
        "config": {"probe_batches": 3, "steps": [1, 10], "lr": 0.1},
        "seeds": [0],
        "steps": [1, 10],
        "lr": 0.1,
        "models": models,
    }


def responses_results() -> dict[str, Any]:
    models = []
    for kind, depth, scale in (("plain", 20, 1.0), ("residual", 20, 0.6), ("residual", 56, 0.4)):
        n = depth - 2
        std = [scale * (0.8 + 0.4 * ((i * 7) % 5) / 4) for i in range(n)]
        models.append(
            {
                "model": f"{'plain' if kind == 'plain' else 'resnet'}{depth}",
                "kind": kind,
                "depth": depth,
                "layer_std": std,
                "mean_std": statistics.fmean(std),
                "iterations": 1000,
                "bn_gamma": 0.987,
            }
        )
    return {
        "study": "responses",
        "command": "reslab study responses",
        "env": ENV,
        "dataset": DATASET,
        "seeds": [0],
        "models": models,
    }


def table6_results() -> dict[str, Any]:
    return {
        "study": "table6",
        "command": "reslab study table6",
        "env": ENV,
        "dataset": DATASET,
        "seeds": [0],
        "rows": [
            {
                "model": "resnet20",
                "params": 272_474,
                "paper_error": 8.75,
                "measured_error": {"mean": 8.91, "std": 0.0, "n": 1},
                "status": "measured",
            },
            {
                "model": "resnet110",
                "params": 1_730_714,
                "paper_error": 6.43,
                "measured_error": None,
                "status": "not run",
            },
        ],
        "note": "Measured on digits, not CIFAR-10.",
        "confusion": {
            "model": "resnet20",
            "classes": [str(i) for i in range(10)],
            "matrix": [[30 if i == j else 1 for j in range(10)] for i in range(10)],
        },
    }


def write_results(directory: Path, results: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "results.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    return path


def make_demo(root: Path, *, observed: bool = True) -> Path:
    """A demo run: one folder per study, as `reslab demo` lays them out."""
    write_results(root / "degradation", degradation_results(observed=observed))
    write_results(root / "gradients", gradients_results())
    write_results(root / "responses", responses_results())
    write_results(root / "table6", table6_results())
    return root


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    return make_demo(tmp_path / "demo")


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo rendered once in each language (building draws every figure: ~2 s)."""
    from reslab.report import build_report

    root = make_demo(tmp_path_factory.mktemp("built") / "demo")
    return {"root": root, "en": build_report(root), "zh": build_report(root, lang="zh")}


@pytest.fixture
def synthetic() -> SimpleNamespace:
    """The builders above, for tests that need a variant of the demo."""
    return SimpleNamespace(
        degradation=degradation_results,
        gradients=gradients_results,
        responses=responses_results,
        table6=table6_results,
        write=write_results,
        make_demo=make_demo,
        final_train=FINAL_TRAIN,
        final_test=FINAL_TEST,
        command=COMMAND,
        env=ENV,
    )
