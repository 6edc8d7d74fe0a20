"""The forward half of a training step, shared by the trainer, its CUDA-graphed step and the
benchmarks: autocast at the run's precision, logits, cross-entropy in fp32."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of ``train.precision`` (None: plain fp32)."""
    return _DTYPES.get(precision)


def forward_loss(
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    dtype: torch.dtype | None = None,
    label_smoothing: float = 0.0,
    cache_enabled: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, logits)`` of one batch. ``cache_enabled=False`` for a CUDA-graph capture (cached
    weight casts would outlive it)."""
    with torch.autocast(
        x.device.type,
        dtype=dtype or torch.float32,
        enabled=dtype is not None,
        cache_enabled=cache_enabled,
    ):
        logits = forward(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    return loss, logits


def optimizer_step(
    loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
) -> None:
    """The backward half: gradients of ``loss``, then one optimizer step (through ``scaler``,
    which is a no-op unless fp16 enabled it)."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
