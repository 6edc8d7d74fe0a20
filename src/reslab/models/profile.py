"""Model cost, measured rather than quoted: parameters, FLOPs, activation memory, depth.

Units: ``flops`` counts 2 per multiply-add (torch.utils.flop_counter's convention); the
"FLOPs" of the ResNet paper's Table 1 (3.8e9 for ResNet-50) and torchvision's "GFLOPS" are
multiply-adds: ``macs`` here, half of ``flops``. Compare published numbers with ``macs``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from reslab.models.resnet import ResNet


@dataclass
class Profile:
    params: int
    """Trainable and frozen parameters."""
    flops: int
    """Forward FLOPs for ONE image, counted by torch.utils.flop_counter: 2 FLOPs per
    multiply-add, so this is twice the multiply-add figure the paper quotes."""
    macs: int
    """Forward multiply-adds for one image (flops / 2), the paper's unit."""
    activation_bytes: int
    """Bytes autograd saves for backward in one training step at ``batch_size``."""
    depth: int
    """Weighted layers on the main path, as the paper counts them."""
    input_size: tuple[int, int, int]
    batch_size: int

    def as_dict(self) -> dict:
        return asdict(self)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Forward FLOPs of one image (2 per multiply-add). Runs on whatever device the model is on;
    a model built on the 'meta' device costs no compute at all."""
    param = next(model.parameters())
    x = torch.zeros((1, *input_size), device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    model.train(was_training)
    return int(counter.get_total_flops())


def activation_bytes(model: nn.Module, input_size: tuple[int, int, int], batch_size: int) -> int:
    """Bytes of the tensors autograd keeps for backward in one training forward pass."""
    param = next(model.parameters())
    x = torch.zeros((batch_size, *input_size), device=param.device, dtype=param.dtype)
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.device.type != "meta":
            key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            seen[key] = t.untyped_storage().nbytes()
        else:
            seen[(id(t), 0)] = t.numel() * t.element_size()
        return t

    was_training = model.training
    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    model.train(was_training)
    del out
    return int(sum(seen.values()))


def profile(
    model: nn.Module, input_size: tuple[int, int, int] | None = None, batch_size: int = 1
) -> Profile:
    """Measure ``model``'s parameters, forward FLOPs, activation memory and depth.

    ``input_size`` is (C, H, W); by default the model's native size and input channels.
    """
    if input_size is None:
        if not isinstance(model, ResNet):
            raise ValueError("input_size is required for models other than reslab's ResNet")
        input_size = (model.in_channels, *model.spec.input_size)
    flops = count_flops(model, input_size)
    depth = model.spec.depth if isinstance(model, ResNet) else -1
    return Profile(
        params=count_params(model),
        flops=flops,
        macs=flops // 2,
        activation_bytes=activation_bytes(model, input_size, batch_size),
        depth=depth,
        input_size=tuple(input_size),
        batch_size=batch_size,
    )
