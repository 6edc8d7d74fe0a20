"""What every study shares: training one net of a study (or reusing it), statistics, output."""

from __future__ import annotations

import json
import math
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from reslab import models
from reslab.engine import Run, train
from reslab.engine.checkpoint import CheckpointManager
from reslab.engine.config import config_diff, config_identity, load_config
from reslab.engine.logger import read_metrics
from reslab.errors import ConfigError


def mean_std(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean and sample standard deviation (None for a single value)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return {"mean": None, "std": None, "n": 0}
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return {"mean": mean, "std": std, "n": len(xs)}


def plan_run(config: dict[str, Any], run_dir: Path) -> Literal["new", "resume", "done"]:
    """What a study does with ``run_dir`` for ``config``: train it anew, resume it, or reuse it.

    A run is reused or resumed only if its saved config.yaml has the identity of ``config``
    (:func:`reslab.engine.config.config_identity`); a run of another recipe in the same place is
    refused with one line naming the keys that differ.
    """
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        if (run_dir / "final.safetensors").exists() or CheckpointManager(
            run_dir / "checkpoints"
        ).paths():
            raise ConfigError(
                f"{run_dir} holds a run without its config.yaml, so whether it trained this "
                "recipe is unknown: choose another output directory (--out)"
            )
        return "new"
    wanted = load_config(config).to_dict()
    try:
        found = load_config(yaml.safe_load(saved.read_text()) or {}).to_dict()
    except (ConfigError, yaml.YAMLError) as e:
        raise ConfigError(
            f"{run_dir} holds a run whose config.yaml this version cannot read "
            f"({str(e).splitlines()[0]}): choose another output directory (--out)"
        ) from None
    if config_identity(found) != config_identity(wanted):
        keys = config_diff(found, wanted)
        shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
        raise ConfigError(
            f"{run_dir} holds a run of a different recipe ({shown} differ): choose another "
            "output directory (--out)"
        )
    if (run_dir / "final.safetensors").is_file() and (run_dir / "summary.json").is_file():
        return "done"
    return "resume"


def train_or_reuse(config: dict[str, Any], run_dir: Path) -> tuple[Path, bool]:
    """Train the run described by ``config`` in ``run_dir`` in this process, resuming an
    interrupted one and reusing a finished one of the same identity (:func:`plan_run`), so a
    study can be re-run after a crash and pick up where it was.

    Returns the run directory and whether it finished.
    """
    plan = plan_run(config, run_dir)
    if plan == "done":
        print(f"reusing {run_dir.name} ({run_dir})", flush=True)
        return run_dir, True
    config = {**config, "name": run_dir.name, "out_dir": str(run_dir.parent)}
    run: Run = train(config, resume="auto" if plan == "resume" else None)
    return run_dir, run.status == "completed"


def eval_history(run_dir: Path) -> list[dict[str, Any]]:
    """The evaluation records of a finished run (errors in percent)."""
    return [
        {
            k: r.get(k)
            for k in (
                "step",
                "epoch",
                "lr",
                "train_loss",
                "train_error",
                "val_error",
                "test_error",
                "running_train_error",
            )
        }
        for r in read_metrics(run_dir)
        if r.get("kind") == "eval"
    ]


def running_history(run_dir: Path) -> list[dict[str, Any]]:
    """A run's curve from its log lines: at each log step the running training error and loss
    of the minibatches since the previous line (augmented images, the weights as they were
    being trained: how the paper's curves are drawn), with the val/test errors of an
    evaluation at the same step. Used where the whole training set is not evaluated."""
    evals = {r["step"]: r for r in eval_history(run_dir)}
    out = []
    for r in read_metrics(run_dir):
        if r.get("kind") != "train" or r.get("train_error") is None:
            continue
        e = evals.get(r.get("step"), {})
        out.append(
            {
                "step": r.get("step"),
                "epoch": r.get("epoch"),
                "lr": r.get("lr"),
                "train_loss": r.get("train_loss"),
                "train_error": r.get("train_error"),
                "val_error": e.get("val_error"),
                "test_error": e.get("test_error"),
                "running_train_error": r.get("train_error"),
            }
        )
    return out


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


def model_cost(
    name: str, in_channels: int, image_size: Sequence[int], num_classes: int
) -> tuple[int, int]:
    """Parameters and forward FLOPs (2 per multiply-add) at the dataset's input size."""
    with torch.device("meta"):
        model = models.create(name, in_channels=in_channels, num_classes=num_classes)
    flops = models.count_flops(model, (in_channels, *image_size))
    return models.count_params(model), flops


def command_line() -> str:
    """The command that is running, as a person would re-type it."""
    args = sys.argv[1:]
    return "reslab " + " ".join(shlex.quote(a) for a in args) if args else "python -c ..."
