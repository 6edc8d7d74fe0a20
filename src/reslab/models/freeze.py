"""Freezing the stem and the first stages for fine-tuning, BatchNorm statistics included.

Setting ``requires_grad=False`` alone leaves BatchNorm layers in training mode: they normalise
with each batch's statistics and their running statistics drift towards the new data, so the
"frozen" part still changes. As torchvision's detection models do, frozen BN layers become
FrozenBatchNorm2d: a fixed affine map from the stored statistics, in train and eval mode alike.
"""

from __future__ import annotations

import torch
import torchvision.ops.misc
from torch import nn

from reslab.errors import ConfigError
from reslab.models.weights import unwrap


class FrozenBatchNorm2d(torchvision.ops.misc.FrozenBatchNorm2d):
    """torchvision's FrozenBatchNorm2d that keeps ``num_batches_tracked``, so a frozen model's
    state dict has the same keys as the unfrozen one and loads into it (and back) unchanged."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__(num_features, eps)
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def _load_from_state_dict(self, state_dict, prefix, *args) -> None:  # noqa: ANN001
        # torchvision's version drops num_batches_tracked; this class keeps it.
        nn.Module._load_from_state_dict(self, state_dict, prefix, *args)

    @classmethod
    def from_batchnorm(cls, bn: nn.BatchNorm2d) -> FrozenBatchNorm2d:
        """The frozen twin of ``bn``, with its affine parameters and running statistics."""
        if bn.running_mean is None or bn.running_var is None:
            raise ConfigError("cannot freeze a BatchNorm layer that tracks no running statistics")
        frozen = cls(bn.num_features, bn.eps).to(bn.running_mean.device)
        with torch.no_grad():
            frozen.running_mean.copy_(bn.running_mean)
            frozen.running_var.copy_(bn.running_var)
            if bn.affine:
                frozen.weight.copy_(bn.weight)
                frozen.bias.copy_(bn.bias)
            if bn.num_batches_tracked is not None:
                frozen.num_batches_tracked.copy_(bn.num_batches_tracked)
        return frozen.to(dtype=bn.running_mean.dtype)


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm2d in it (itself included) replaced by its frozen twin."""
    if isinstance(module, nn.BatchNorm2d):
        return FrozenBatchNorm2d.from_batchnorm(module)
    for name, child in module.named_children():
        frozen = freeze_batchnorm(child)
        if frozen is not child:
            setattr(module, name, frozen)
    return module


def freeze_stages(model: nn.Module, num_stages: int) -> nn.Module:
    """Freeze the stem and the first ``num_stages`` stages of a ResNet, in place; the count
    means what ``model.freeze_stages`` means: 0 freezes nothing, N >= 1 the stem and stages 1..N.

    The frozen parameters stop receiving gradients and their BatchNorm layers become
    :class:`FrozenBatchNorm2d`, so neither weights nor running statistics change in training.
    Returns ``model``.
    """
    net = unwrap(model)
    stages = net.stages()
    if not 0 <= num_stages <= len(stages):
        raise ConfigError(
            f"freeze_stages must be between 0 and {len(stages)} for "
            f"{getattr(net, 'name', 'this model')}, got {num_stages}"
        )
    if num_stages == 0:
        return model
    net.bn1 = freeze_batchnorm(net.bn1)
    for part in (net.conv1, net.bn1, *stages[:num_stages]):
        freeze_batchnorm(part)
        part.requires_grad_(False)
    return model


__all__ = ["FrozenBatchNorm2d", "freeze_batchnorm", "freeze_stages"]
