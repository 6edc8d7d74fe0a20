"""The training step, shared by the trainer, its CUDA-graphed step and the benchmarks.

``forward_loss`` (autocast at the run's precision, logits, cross-entropy in fp32) then
``optimizer_step``, which is ``backward`` then ``apply_gradients``. With gradient accumulation
the trainer runs ``forward_loss`` and ``backward`` once per micro-batch and ``apply_gradients``
once: the same functions, so the two paths cannot drift apart. Between the two, the trainer
checks the loss and ``gradients_finite`` (a finite loss can still give an inf gradient)."""

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
    """``(loss, logits)`` of one batch. ``y`` holds class indices [B], or class probabilities
    [B, classes] (MixUp/CutMix targets). ``cache_enabled=False`` for a CUDA-graph capture
    (cached weight casts would outlive it)."""
    with torch.autocast(
        x.device.type,
        dtype=dtype or torch.float32,
        enabled=dtype is not None,
        cache_enabled=cache_enabled,
    ):
        logits = forward(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    return loss, logits


def backward(loss: torch.Tensor, scaler: torch.amp.GradScaler, *, micro_batches: int = 1) -> None:
    """Add the gradients of ``loss`` to the parameters' ``.grad``. Each of ``micro_batches``
    equal micro-batches contributes ``loss / micro_batches``, so together they give the gradient
    of the whole batch's mean loss."""
    if micro_batches > 1:
        loss = loss / micro_batches
    scaler.scale(loss).backward()


def gradients_finite(optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """Whether every gradient the optimizer would apply is finite: a 0-d bool tensor from one
    fused max-norm over all of them, left on the device (no host sync per parameter). The max
    norm cannot overflow on finite values, and it propagates a NaN or an inf."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
    grads = [g for g in grads if g is not None]
    if not grads:
        return torch.tensor(True)
    norms = torch._foreach_norm(grads, float("inf"))
    return torch.stack(norms).isfinite().all()


def apply_gradients(
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    *,
    clip_grad_norm: float = 0.0,
) -> None:
    """One optimizer step on the accumulated gradients (through ``scaler``, a no-op unless fp16
    enabled it). ``clip_grad_norm`` > 0 first scales the gradients down to that global L2 norm;
    under fp16 they are unscaled first, so the bound is on the true gradients."""
    if clip_grad_norm > 0:
        scaler.unscale_(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
    scaler.step(optimizer)
    scaler.update()


def optimizer_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    *,
    clip_grad_norm: float = 0.0,
) -> None:
    """The backward half of a one-batch step: gradients of ``loss``, then one optimizer step."""
    optimizer.zero_grad(set_to_none=True)
    backward(loss, scaler)
    apply_gradients(optimizer, scaler, clip_grad_norm=clip_grad_norm)
