"""A tiny "trained" run directory in the layout training writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from reslab.models import create, save_weights
from reslab.utils.io import write_json

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def make_run(
    run_dir: Path,
    *,
    model: str = "resnet20",
    in_channels: int = 1,
    image_size: tuple[int, int] = (8, 8),
    model_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Write final.safetensors and model.json as training does; return the metadata.

    BatchNorm statistics and affine parameters are randomised, so the net behaves like a
    trained one (non-trivial BN) rather than a freshly initialised one.
    """
    model_kwargs = {"shortcut": "A"} if model_kwargs is None else model_kwargs
    torch.manual_seed(seed)
    net = create(model, num_classes=len(DIGITS), in_channels=in_channels, **model_kwargs)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    meta = {
        "model": model,
        "model_kwargs": model_kwargs,
        "num_classes": len(DIGITS),
        "in_channels": in_channels,
        "classes": DIGITS,
        "image_size": list(image_size),
        "mean": [0.3] * in_channels,
        "std": [0.4] * in_channels,
        "resize": None,
    }
    save_weights(net, run_dir / "final.safetensors", metadata=meta)
    write_json(run_dir / "model.json", meta)
    return meta
