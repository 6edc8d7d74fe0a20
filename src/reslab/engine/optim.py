"""Optimizers and learning-rate schedules (pure functions of the step, so resumes are exact)."""

from __future__ import annotations

import math

import torch
from torch import nn

from reslab.engine.config import OptimConfig, ScheduleConfig


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


def lr_at(step: int, total: int, base_lr: float, cfg: ScheduleConfig) -> float:
    """The learning rate for optimizer step ``step`` (0-based) of a ``total``-step run.

    The constant warm-up (``warmup_lr``) is handled by the trainer, since it ends on a training
    error threshold rather than at a fixed step.
    """
    if cfg.warmup_iters and step < cfg.warmup_iters:
        return base_lr * (step + 1) / cfg.warmup_iters
    if cfg.name == "constant":
        return base_lr
    if cfg.name == "multistep":
        marks = [m * total if m < 1 else m for m in cfg.milestones]
        return base_lr * cfg.gamma ** sum(step >= m for m in marks)
    start = cfg.warmup_iters
    progress = min(1.0, (step - start) / max(1, total - start))
    if cfg.name == "cosine":
        return base_lr * 0.5 * (1 + math.cos(math.pi * progress))
    # one-cycle: up for the first 30%, then cosine down to ~0.
    peak = 0.3
    if progress < peak:
        return base_lr * (0.04 + 0.96 * progress / peak)
    return base_lr * 0.5 * (1 + math.cos(math.pi * (progress - peak) / (1 - peak)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class EMA:
    """An exponential moving average of a model's weights and buffers."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.state[k].lerp_(v, 1 - self.decay)
            else:
                self.state[k].copy_(v)
