"""Gradient flow: per-layer gradient norms of plain vs residual nets of growing depth, at
initialisation and (from a degradation run) after training. Deep plain nets show vanishing
or exploding gradients across layers; shortcuts keep them even. It takes seconds."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from reslab import data as rdata
from reslab import models
from reslab.errors import ConfigError
from reslab.studies.common import command_line
from reslab.studies.probes import gradient_norms, load_trained, probe_batches
from reslab.utils.claim import claim_output
from reslab.utils.env import environment
from reslab.utils.io import write_json
from reslab.utils.progress import track


@dataclass
class GradientsConfig:
    data: str = "digits"
    root: str | None = None
    depths: list[int] = field(default_factory=lambda: [20, 56, 110])
    batch_size: int = 128
    probe_batches: int = 3
    seed: int = 0
    """The seed of the initialisation shown layer by layer (and of the probe batches)."""
    init_seeds: list[int] = field(default_factory=list)
    """More initialisations to measure the first/last ratio over (its spread)."""
    trained_from: str | None = None
    """A degradation study directory: also measure its trained nets."""
    out_dir: str = "runs"
    name: str = "gradients"
    progress: bool = True

    def __post_init__(self) -> None:
        bad = [d for d in self.depths if (d - 2) % 6 or d < 8]
        if bad:
            raise ConfigError(f"depths must be 6n+2 (20, 32, 44, 56, 110, ...), got {bad}")


def run_gradients(cfg: GradientsConfig) -> Path:
    """Measure every net's gradient norms and write results.json."""
    with claim_output(Path(cfg.out_dir) / cfg.name, "study"):
        return _run_gradients(cfg)


def _run_gradients(cfg: GradientsConfig) -> Path:
    t0 = time.perf_counter()
    splits = rdata.load_splits(cfg.data, cfg.root, seed=cfg.seed)
    batches = probe_batches(
        splits, min(cfg.batch_size, len(splits.train)), cfg.probe_batches, cfg.seed
    )
    c = splits.train.image_shape[0]
    num_classes = len(splits.train.classes)
    names = [
        (f"{p}{d}", k, d)
        for d in sorted(cfg.depths)
        for p, k in (("plain", "plain"), ("resnet", "residual"))
    ]
    out = []
    for name, kind, depth in track(names, len(names), "gradients", enabled=cfg.progress):
        torch.manual_seed(cfg.seed)
        model = models.create(name, in_channels=c, num_classes=num_classes)
        layers, init = gradient_norms(model, batches)
        trained = None
        run_dir = (
            Path(cfg.trained_from) / "runs" / f"{name}_s{cfg.seed}" if cfg.trained_from else None
        )
        if run_dir is not None and (run_dir / "final.safetensors").is_file():
            trained_model, _ = load_trained(run_dir)
            _, trained = gradient_norms(trained_model, batches)
        ratios = [init[0] / init[-1] if init[-1] else None]
        for seed in (s for s in cfg.init_seeds if s != cfg.seed):
            torch.manual_seed(seed)
            other = models.create(name, in_channels=c, num_classes=num_classes)
            _, norms = gradient_norms(other, batches)
            ratios.append(norms[0] / norms[-1] if norms[-1] else None)
        out.append(
            {
                "model": name,
                "kind": kind,
                "depth": depth,
                "layers": layers,
                "init": init,
                "trained": trained,
                "first_over_last": init[0] / init[-1] if init[-1] else None,
                "first_over_last_seeds": ratios,
            }
        )
    study_dir = Path(cfg.out_dir) / cfg.name
    write_json(
        study_dir / "results.json",
        {
            "study": "gradients",
            "title": f"Gradient flow ({cfg.data})",
            "command": command_line(),
            "env": environment(),
            "config": asdict(cfg),
            "dataset": {
                "name": cfg.data,
                "train": len(splits.train),
                "image_shape": list(splits.train.image_shape),
                "num_classes": num_classes,
            },
            "seeds": [cfg.seed, *(s for s in cfg.init_seeds if s != cfg.seed)],
            "models": out,
            "wall_time_s": time.perf_counter() - t0,
        },
    )
    return study_dir
