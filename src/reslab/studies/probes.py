"""Looking inside nets: per-layer relative gradients and 3x3-layer responses (paper Fig. 7)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from reslab import data as rdata
from reslab import models


def main_path_convs(model: models.ResNet) -> list[tuple[str, nn.Conv2d]]:
    """Conv layers on the main path, input side first (projection shortcuts and the fully
    connected classifier excluded: a gradient ratio compares like with like)."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d) and ".downsample" not in name
    ]


def probe_batches(
    splits: rdata.DataSplits, batch_size: int, count: int, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A few normalised, unaugmented training batches, the same for every net. More batches than
    one pass holds come from further passes, each shuffled anew (as a training run's epochs)."""
    aug = rdata.BatchAugment(rdata.AugmentConfig(), splits.mean, splits.std)
    out: list[tuple[torch.Tensor, torch.Tensor]] = []
    epoch = 0
    while len(out) < count:
        loader = rdata.DeviceLoader(
            splits.train,
            batch_size,
            augment=aug,
            train=False,
            shuffle=True,
            drop_last=True,
            seed=seed + 1_000_003 * epoch,
        )
        before = len(out)
        for batch in loader:
            if len(out) >= count:
                break
            out.append(batch)
        if len(out) == before:  # not one full batch: nothing more to draw
            break
        epoch += 1
    return out


def relative_gradients(
    model: models.ResNet, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[list[str], list[float]]:
    """|grad W| / |W| of each main-path conv layer, averaged over ``batches`` (BN in training
    mode, as during training).

    A conv followed by batch norm computes the same function at any scale of its weights, so its
    gradient is orthogonal to W and an SGD step only turns W, by lr * |grad W| / |W| radians:
    the ratio is how fast the layer's function changes. It compares the stem's 144 weights with
    the last conv's 36,864 (digits); the raw norm |grad W| grows with the layer's size and falls
    with its weights' scale, so it does not.
    """
    layers = main_path_convs(model)
    totals = [0.0] * len(layers)
    model.train()
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            for i, (_, m) in enumerate(layers):
                totals[i] += float(m.weight.grad.norm() / m.weight.norm()) / len(batches)
    model.zero_grad(set_to_none=True)
    return [n for n, _ in layers], totals


def relative_gradients_during_training(
    model: models.ResNet,
    probe: list[tuple[torch.Tensor, torch.Tensor]],
    train: list[tuple[torch.Tensor, torch.Tensor]],
    at_steps: list[int],
    *,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
) -> dict[int, list[float]]:
    """:func:`relative_gradients` on ``probe`` at initialisation (step 0) and after each
    count in ``at_steps`` of plain SGD steps (the paper's optimizer at ``lr``, no warm-up),
    step i training on ``train[i - 1]``. Trains ``model`` in place."""
    last = max(at_steps, default=0)
    if last > len(train):
        raise ValueError(f"{last} steps need {last} training batches, got {len(train)}")
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    out = {0: relative_gradients(model, probe)[1]}
    for step, (x, y) in enumerate(train[:last], start=1):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if step in at_steps:
            out[step] = relative_gradients(model, probe)[1]
    return out


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
