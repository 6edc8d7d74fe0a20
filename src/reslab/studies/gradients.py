"""Gradient flow: each conv layer's relative gradient |grad W| / |W| in plain and residual nets of
growing depth, at initialisation, after the first SGD steps and (from a degradation run) after
training. It takes seconds to a minute.

What it tests: the paper (section 4.1) says its plain nets, trained with BN, have "healthy"
backward gradients. Yang et al. ("A Mean Field Theory of Batch Normalization", ICLR 2019)
predict that at initialisation a deep feed-forward BN net's gradients grow geometrically
towards the input, and that the first optimisation steps collapse that spread. The number
compared is the first conv's (the stem's) relative gradient over the last conv's: like with
like (the classifier is no conv and is left out), and independent of the weights' scale, which
BN makes meaningless. tests/studies/test_gradients.py checks the claim at depth 20 to 56.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from reslab import data as rdata
from reslab import models
from reslab.errors import ConfigError
from reslab.studies.common import command_line
from reslab.studies.probes import (
    load_trained,
    main_path_convs,
    probe_batches,
    relative_gradients,
    relative_gradients_during_training,
)
from reslab.utils.claim import claim_output
from reslab.utils.env import environment
from reslab.utils.io import write_json
from reslab.utils.progress import track

METRIC = "relative_gradient"
"""|grad W| / |W| of each main-path conv layer (reslab.studies.probes.relative_gradients)."""


@dataclass
class GradientsConfig:
    data: str = "digits"
    root: str | None = None
    depths: list[int] = field(default_factory=lambda: [20, 56, 110])
    batch_size: int = 128
    probe_batches: int = 3
    """Training images (unaugmented) the gradients are averaged over, in batches."""
    seed: int = 0
    """The seed of the initialisation shown layer by layer (and of the probe batches)."""
    init_seeds: list[int] = field(default_factory=list)
    """More initialisations to measure the first/last ratio at initialisation over."""
    steps: list[int] = field(default_factory=lambda: [1, 10])
    """Measure again after this many SGD steps from the initialisation of ``seed``."""
    lr: float = 0.1
    """Learning rate of those steps (SGD, momentum 0.9, weight decay 1e-4: the paper's
    optimizer, with no warm-up)."""
    trained_from: str | None = None
    """A degradation study directory: also measure its trained nets."""
    out_dir: str = "runs"
    name: str = "gradients"
    progress: bool = True

    def __post_init__(self) -> None:
        bad = [d for d in self.depths if (d - 2) % 6 or d < 8]
        if bad:
            raise ConfigError(f"depths must be 6n+2 (20, 32, 44, 56, 110, ...), got {bad}")
        if any(s < 1 for s in self.steps):
            raise ConfigError(f"steps must be >= 1, got {self.steps}")


def run_gradients(cfg: GradientsConfig) -> Path:
    """Measure every net's relative gradients and write results.json."""
    with claim_output(Path(cfg.out_dir) / cfg.name, "study"):
        return _run_gradients(cfg)


def first_over_last(values: list[float] | None) -> float | None:
    """The first conv's relative gradient over the last conv's."""
    if not values or not values[-1]:
        return None
    return values[0] / values[-1]


def _run_gradients(cfg: GradientsConfig) -> Path:
    t0 = time.perf_counter()
    splits = rdata.load_splits(cfg.data, cfg.root, seed=cfg.seed)
    batch = min(cfg.batch_size, len(splits.train))
    probe = probe_batches(splits, batch, cfg.probe_batches, cfg.seed)
    steps = sorted(set(cfg.steps))
    train = probe_batches(splits, batch, max(steps, default=0), cfg.seed + 1) if steps else []
    c = splits.train.image_shape[0]
    num_classes = len(splits.train.classes)
    names = [
        (f"{p}{d}", k, d)
        for d in sorted(cfg.depths)
        for p, k in (("plain", "plain"), ("resnet", "residual"))
    ]
    other_seeds = [s for s in cfg.init_seeds if s != cfg.seed]
    out = []
    for name, kind, depth in track(names, len(names), "gradients", enabled=cfg.progress):
        torch.manual_seed(cfg.seed)
        model = models.create(name, in_channels=c, num_classes=num_classes)
        layers = [n for n, _ in main_path_convs(model)]
        along = relative_gradients_during_training(model, probe, train, steps, lr=cfg.lr)
        init = along.pop(0)
        ratios = [first_over_last(init)]
        for seed in other_seeds:
            torch.manual_seed(seed)
            other = models.create(name, in_channels=c, num_classes=num_classes)
            ratios.append(first_over_last(relative_gradients(other, probe)[1]))
        trained = None
        run_dir = (
            Path(cfg.trained_from) / "runs" / f"{name}_s{cfg.seed}" if cfg.trained_from else None
        )
        if run_dir is not None and (run_dir / "final.safetensors").is_file():
            trained_model, _ = load_trained(run_dir)
            trained = relative_gradients(trained_model, probe)[1]
        out.append(
            {
                "model": name,
                "kind": kind,
                "depth": depth,
                "layers": layers,
                "init": init,
                "steps": {str(k): v for k, v in along.items()},
                "trained": trained,
                "first_over_last": ratios[0],
                "first_over_last_seeds": ratios,
                "first_over_last_steps": {str(k): first_over_last(v) for k, v in along.items()},
                "first_over_last_trained": first_over_last(trained),
            }
        )
    study_dir = Path(cfg.out_dir) / cfg.name
    write_json(
        study_dir / "results.json",
        {
            "study": "gradients",
            "title": f"Gradient flow ({cfg.data})",
            "metric": METRIC,
            "command": command_line(),
            "env": environment(),
            "config": asdict(cfg),
            "dataset": {
                "name": cfg.data,
                "train": len(splits.train),
                "image_shape": list(splits.train.image_shape),
                "num_classes": num_classes,
            },
            "seeds": [cfg.seed, *other_seeds],
            "steps": steps,
            "lr": cfg.lr,
            "models": out,
            "wall_time_s": time.perf_counter() - t0,
        },
    )
    return study_dir
