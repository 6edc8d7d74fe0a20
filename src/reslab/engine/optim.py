"""Optimizers, setting the rate, and the EMA of the weights (the schedule is in schedule.py)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from reslab.engine.config import OptimConfig
from reslab.engine.schedule import lr_at  # noqa: F401  (re-exported: the schedule lives there)


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (
            no_decay if cfg.no_decay_bn_bias and (p.ndim <= 1 or name.endswith(".bias")) else decay
        ).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    # One fused kernel updates every parameter (on CUDA a single launch instead of a handful of
    # foreach launches; on the CPU as fast as foreach, measured by `reslab bench`). Devices
    # without fused kernels get foreach: a few launches instead of one per tensor.
    impl = {"fused": True} if _fused_ok(model) else {"foreach": True}
    if cfg.name == "sgd":
        return torch.optim.SGD(
            groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, **impl
        )
    return torch.optim.AdamW(groups, lr=cfg.lr, **impl)


def _fused_ok(model: nn.Module) -> bool:
    params = [p for p in model.parameters() if p.requires_grad]
    return bool(params) and all(
        p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params
    )


def peak_lr(cfg: OptimConfig, global_batch: int) -> float:
    """The run's peak rate: ``lr``, scaled linearly with the global batch when
    ``scale_lr_with_batch`` names the batch it was given for (Goyal et al. 2017)."""
    if cfg.scale_lr_with_batch is None:
        return cfg.lr
    return cfg.lr * global_batch / cfg.scale_lr_with_batch


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class EMA:
    """An exponential moving average of a model's weights and buffers, held in ``module``: a
    copy of the model that can be evaluated and saved as it is (what an EMA run ships)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @property
    def state(self) -> dict[str, torch.Tensor]:
        """The averaged weights and buffers (tensors that alias ``module``'s)."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        mine = self.state
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                mine[k].lerp_(v, 1 - self.decay)
            else:
                mine[k].copy_(v)
