"""A training step replayed from a CUDA graph: one launch instead of hundreds.

Small CIFAR nets at batch 128 are bound by kernel launches on a modern GPU: ResNet-56's eager
step issues about a thousand of them, and the GPU waits on the host. Capturing forward,
backward and the optimizer step once and replaying the capture removes that wait (ResNet-56,
batch 128, bf16 on one H100: 23 ms eager, 5 ms graphed, 4 ms graphed and compiled; see
benchmarks/gpu_variants.py).

The step stays the trainer's step, so a graphed run follows the eager run's trajectory:

- the first ``eager_steps`` steps run eagerly (they create the optimizer's momentum buffers and
  let cuDNN pick its algorithms); nothing is run twice and no warm-up step is thrown in;
- the learning rate is a constant of a capture. A new capture is made when the rate changes
  and then holds for a second step (a multistep schedule: a handful of captures per run);
  a step whose rate differs from the step before (cosine, one-cycle, linear warm-up) runs
  eagerly, so every schedule stays exact and piecewise-constant ones are fast;
- a batch of another shape (a last partial batch) runs eagerly.

The loss and the gradients are not checked on the host each step (that would make the host
wait for the GPU again); the trainer checks the running loss at each log line (a non-finite
gradient shows there, in the loss of the steps after it) and the weights before each
checkpoint.

The optimizer must be SGD: torch captures Adam's and AdamW's step only when they were built
with ``capturable=True``, and the trainer refuses ``train.cuda_graphs`` with AdamW.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from reslab.engine.optim import set_lr
from reslab.engine.step import forward_loss, optimizer_step


class GraphedTrainStep:
    """``step(x, y, lr) -> (loss, logits)``: the trainer's step (``forward_loss`` then
    ``optimizer_step``), replayed from a CUDA graph whenever it can be (see the module docs).

    ``scaler`` is the run's GradScaler; it must be disabled (fp16's scaler reads the gradients
    on the host, which a capture cannot), and then passes the step straight through.
    """

    def __init__(
        self,
        forward: Callable[[torch.Tensor], torch.Tensor],
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        dtype: torch.dtype | None = None,
        label_smoothing: float = 0.0,
        eager_steps: int = 3,
        scaler: torch.amp.GradScaler | None = None,
    ) -> None:
        if scaler is not None and scaler.is_enabled():
            raise ValueError("a CUDA-graphed step cannot hold an enabled GradScaler (fp16)")
        self.forward = forward
        self.scaler = scaler or torch.amp.GradScaler("cuda", enabled=False)
        self.model = model
        self.optimizer = optimizer
        self.dtype = dtype
        self.label_smoothing = label_smoothing
        self.eager_steps = eager_steps
        self.steps = 0
        self.captures = 0
        self.replays = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.graph_lr: float | None = None
        self.last_lr: float | None = None
        self.static: tuple[torch.Tensor, ...] = ()

    def _body(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, logits = forward_loss(
            self.forward,
            x,
            y,
            dtype=self.dtype,
            label_smoothing=self.label_smoothing,
            cache_enabled=False,
        )
        # zero_grad(set_to_none) inside: during a capture, backward then allocates the
        # gradients from the graph's pool and each replay writes (not accumulates) them
        optimizer_step(loss, self.optimizer, self.scaler)
        return loss.detach(), logits.detach()

    def _eager(self, x: torch.Tensor, y: torch.Tensor, lr: float):
        set_lr(self.optimizer, lr)
        return self._body(x, y)

    def _capture(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        self.graph = None  # free the previous capture's memory pool first
        self.static = ()
        torch.cuda.synchronize(x.device)
        set_lr(self.optimizer, lr)
        static_x, static_y = x.clone(), y.clone()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss, logits = self._body(static_x, static_y)
        self.graph, self.graph_lr = graph, lr
        self.static = (static_x, static_y, loss, logits)
        self.captures += 1

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, lr: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        previous, self.last_lr = self.last_lr, lr
        self.steps += 1
        if self.steps <= self.eager_steps:
            return self._eager(x, y, lr)
        fits = bool(self.static) and x.shape == self.static[0].shape
        fits = fits and x.stride() == self.static[0].stride() and y.shape == self.static[1].shape
        if not (fits and lr == self.graph_lr):
            if lr != previous:  # the rate is moving: not worth a capture
                return self._eager(x, y, lr)
            if self.static and x.shape != self.static[0].shape:  # an odd batch: keep the graph
                return self._eager(x, y, lr)
            self._capture(x, y, lr)
        static_x, static_y, loss, logits = self.static
        static_x.copy_(x, non_blocking=True)
        static_y.copy_(y, non_blocking=True)
        assert self.graph is not None
        self.graph.replay()
        self.replays += 1
        return loss, logits
