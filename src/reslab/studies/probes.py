"""Looking inside nets: per-layer gradient norms and 3x3-layer responses (paper Fig. 7)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from reslab import data as rdata
from reslab import models


def main_path_layers(model: models.ResNet) -> list[tuple[str, nn.Module]]:
    """Weighted layers on the main path, input side first (projection shortcuts excluded)."""
    layers: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and ".downsample" not in name:
            layers.append((name, module))
    return layers


def probe_batches(
    splits: rdata.DataSplits, batch_size: int, count: int, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A few normalised, unaugmented training batches, the same for every net."""
    aug = rdata.BatchAugment(rdata.AugmentConfig(), splits.mean, splits.std)
    loader = rdata.DeviceLoader(
        splits.train, batch_size, augment=aug, train=False, shuffle=True, drop_last=True, seed=seed
    )
    out = []
    for i, batch in enumerate(loader):
        if i >= count:
            break
        out.append(batch)
    return out


def gradient_norms(
    model: models.ResNet, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[list[str], list[float]]:
    """L2 norm of each main-path layer's weight gradient, averaged over ``batches``
    (BN in training mode, as during training)."""
    layers = main_path_layers(model)
    totals = [0.0] * len(layers)
    model.train()
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        for i, (_, m) in enumerate(layers):
            totals[i] += float(m.weight.grad.norm()) / len(batches)
    model.zero_grad(set_to_none=True)
    return [n for n, _ in layers], totals


@torch.no_grad()
def layer_responses(model: models.ResNet, loader: rdata.DeviceLoader) -> list[float]:
    """Standard deviation of each 3x3 layer's response (after BN, before ReLU/addition) over
    the whole ``loader`` (paper Fig. 7)."""
    points = model.response_modules()
    sums = torch.zeros(len(points), 3, dtype=torch.float64)  # n, sum, sum of squares

    def hook(i: int):
        def record(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
            o = out.detach().double()
            sums[i] += torch.stack(
                [torch.tensor(float(o.numel()), dtype=torch.float64), o.sum(), (o * o).sum()]
            )

        return record

    handles = [m.register_forward_hook(hook(i)) for i, (_, m) in enumerate(points)]
    model.eval()
    try:
        for x, _ in loader:
            model(x)
    finally:
        for h in handles:
            h.remove()
    n, s, ss = sums[:, 0], sums[:, 1], sums[:, 2]
    var = (ss / n - (s / n) ** 2).clamp_min(0)
    return var.sqrt().tolist()


def load_trained(run_dir: Path) -> tuple[models.ResNet, dict]:
    from reslab.inference import load_for_inference

    return load_for_inference(run_dir)
