"""Layer responses (paper Fig. 7): the standard deviation of each 3x3 layer's output, after BN
and before the ReLU/addition, on the test set, for trained plain and residual nets."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reslab import data as rdata
from reslab import reference
from reslab.errors import ReslabError
from reslab.studies.common import command_line
from reslab.studies.probes import layer_responses, load_trained
from reslab.utils.claim import claim_output
from reslab.utils.env import environment
from reslab.utils.io import write_json
from reslab.utils.progress import track


@dataclass
class ResponsesConfig:
    source: str = "runs/degradation"
    """A degradation study directory whose trained nets are measured."""
    seed: int = 0
    root: str | None = None
    """Dataset directory for file-based datasets (default: the one the nets were trained on)."""
    out_dir: str = "runs"
    name: str = "responses"
    models: list[str] = field(default_factory=list)
    """Restrict to these nets (default: every net of the study with this seed)."""
    progress: bool = True


def run_responses(cfg: ResponsesConfig) -> Path:
    """Measure the trained nets' layer responses and write results.json."""
    found = _trained_nets(cfg)  # before claiming: a wrong --source leaves no output folder
    with claim_output(Path(cfg.out_dir) / cfg.name, "study"):
        return _run_responses(cfg, found)


def _trained_nets(cfg: ResponsesConfig) -> list[Path]:
    """The final weights of the source study's nets with ``cfg.seed`` (and ``cfg.models``)."""
    source = Path(cfg.source)
    runs_dir = source / "runs"
    found = sorted(runs_dir.glob(f"*_s{cfg.seed}/final.safetensors")) if runs_dir.is_dir() else []
    if cfg.models:
        found = [p for p in found if p.parent.name.rsplit("_s", 1)[0] in cfg.models]
    if not found:
        what = "does not exist" if not source.exists() else "holds no trained nets"
        if cfg.models:
            what += f" named {', '.join(cfg.models)}"
        train = (
            f"train them with `reslab study degradation --out {source.parent}`, or "
            if source.name == "degradation"
            else ""
        )
        raise ReslabError(
            f"{source} {what} with seed {cfg.seed} (looked for "
            f"{runs_dir}/<net>_s{cfg.seed}/final.safetensors): {train}pass --source a "
            "degradation study's directory (OUT/degradation)"
        )
    return found


def _run_responses(cfg: ResponsesConfig, found: list[Path]) -> Path:
    t0 = time.perf_counter()
    out = []
    dataset = None
    for weights in track(found, len(found), "responses", enabled=cfg.progress):
        model, meta = load_trained(weights.parent)
        if dataset is None:
            root = cfg.root or _trained_root(weights.parent)
            splits = rdata.load_splits(meta["data"], root, seed=int(meta.get("seed", 0)))
            aug = rdata.BatchAugment(rdata.AugmentConfig(), meta["mean"], meta["std"])
            loader = rdata.DeviceLoader(
                splits.test, 500, augment=aug, train=False, shuffle=False, drop_last=False
            )
            dataset = {
                "name": meta["data"],
                "test": len(splits.test),
                "image_shape": list(splits.test.image_shape),
                "num_classes": len(splits.test.classes),
            }
        std = layer_responses(model, loader)
        name = meta["model"]
        out.append(
            {
                "model": name,
                "kind": model.spec.kind,
                "depth": model.spec.depth,
                "layer_std": std,
                "mean_std": sum(std) / len(std),
                "iterations": _trained_iterations(weights.parent),
                "bn_gamma": _mean_bn_scale(model),
            }
        )
    study_dir = Path(cfg.out_dir) / cfg.name
    write_json(
        study_dir / "results.json",
        {
            "study": "responses",
            "title": "Layer responses (paper Fig. 7)",
            "command": command_line(),
            "env": environment(),
            "config": asdict(cfg),
            "dataset": dataset,
            "seeds": [cfg.seed],
            "models": out,
            "paper": {"note": reference.FIGURE7_CLAIM},
            "wall_time_s": time.perf_counter() - t0,
        },
    )
    return study_dir


def _trained_root(run_dir: Path) -> str | None:
    """The data.root a trained run used, from its config.yaml."""
    import yaml

    try:
        saved = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    return (saved.get("data") or {}).get("root")


def _trained_iterations(run_dir: Path) -> int | None:
    import json

    try:
        return int(json.loads((run_dir / "summary.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _mean_bn_scale(model) -> float | None:
    """Mean |gamma| over the batch-norm layers: 1 at initialisation, so a net whose scales are
    still near 1 has not trained long enough for its responses to say much."""
    import torch

    scales = [
        m.weight.detach().abs().mean()
        for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.weight is not None
    ]
    return float(torch.stack(scales).mean()) if scales else None
