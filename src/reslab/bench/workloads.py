"""What a bench worker times: reslab's path or the eager reference, for one case.

reslab's path is reslab as it trains: the model from ``engine.setup.build_model``, the memory
format the trainer picks (``utils.runtime.preferred_channels_last`` unless the case says),
``engine.optim.build_optimizer`` with the default recipe, autocast for bf16/fp16, the step of
``engine.step`` (``forward_loss`` + ``optimizer_step``), and for e2e the in-memory
``DeviceLoader`` + ``BatchAugment`` feeding that step as the trainer's loop does (set the lr,
step, finite check, running metrics). The worker applies the trainer's runtime settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import torch
from torch import nn

from reslab.bench import reference
from reslab.bench.spec import Case
from reslab.engine.graphs import GraphedTrainStep
from reslab.engine.step import autocast_dtype, forward_loss, optimizer_step
from reslab.errors import ConfigError, TrainingError

Side = Literal["reslab", "reference"]
Batch = tuple[torch.Tensor, torch.Tensor]


class Workload:
    """One side of a case, built and ready: ``step()`` runs one timed step."""

    flops_per_image: int = 0
    """Forward FLOPs of one image at the case's input size."""
    describe: str = ""
    has_bare: bool = False

    def step(self) -> None:
        raise NotImplementedError

    def bare(self) -> None:
        """e2e/schedule: the same training step on a fixed batch (no data loading)."""
        raise NotImplementedError(f"{type(self).__name__} has no bare step")

    def close(self) -> None:
        """Release what the workload holds (worker processes of a DataLoader)."""


def build(case: Case, side: Side) -> Workload:
    device = torch.device(case.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {case.device} asked for, but CUDA is not available")
    if case.mode == "ckpt":
        # The reference of a checkpointing row is reslab itself without checkpointing.
        return ReslabTrain(case, device, checkpointing=side == "reslab")
    if side == "reference":
        if case.mode in ("train", "trainer"):
            return ReferenceFixed(case, device, train=True)
        if case.mode == "eval":
            return ReferenceFixed(case, device, train=False)
        return ReferencePipeline(case, device)
    if case.mode in ("train", "trainer"):  # trainer: the bare step beside `reslab train`
        return ReslabTrain(case, device)
    if case.mode == "eval":
        return ReslabEval(case, device)
    return ReslabEpoch(case, device)


# ----------------------------------------------------------------------------- shared
def forward_flops(make: Callable[[], nn.Module], size: int) -> int:
    """Forward FLOPs of one image, counted on the 'meta' device (no memory, no compute)."""
    from reslab.models import count_flops

    with torch.device("meta"):
        model = make()
    return count_flops(model, (3, size, size))


def fixed_batch(case: Case, device: torch.device, num_classes: int, channels_last: bool) -> Batch:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(case.batch, 3, case.size, case.size, generator=g)
    y = torch.randint(0, num_classes, (case.batch,), generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.to(device), y.to(device)


def synthetic_splits(case: Case):
    from reslab.data import make_synthetic
    from reslab.models import default_num_classes

    default = 50_000 if case.mode == "schedule" else 40 * case.batch
    n = max(case.dataset_size or default, case.batch)
    return make_synthetic(
        n, 1, (3, case.size, case.size), num_classes=default_num_classes(case.model), seed=0
    )


# ----------------------------------------------------------------------------- reference
def _reference_flops(case: Case) -> int:
    return forward_flops(lambda: reference.reference_model(case.model)[0], case.size)


class ReferenceFixed(Workload):
    """The eager reference on a fixed batch: training step or no_grad forward."""

    def __init__(self, case: Case, device: torch.device, *, train: bool) -> None:
        from reslab.models import default_num_classes

        model, what = reference.reference_model(case.model)
        self.flops_per_image = _reference_flops(case)
        self.describe = what
        model = model.to(device)
        self.run = reference.TrainStep(model) if train else reference.EvalStep(model)
        self.x, self.y = fixed_batch(case, device, default_num_classes(case.model), False)

    def step(self) -> None:
        self.run(self.x, self.y)


class ReferencePipeline(Workload):
    """The eager reference step fed by the torchvision-style DataLoader pipeline."""

    def __init__(self, case: Case, device: torch.device) -> None:
        model, what = reference.reference_model(case.model)
        self.flops_per_image = _reference_flops(case)
        self.describe = f"{what} + torchvision DataLoader ({case.workers} workers)"
        self.device = device
        self.run = reference.TrainStep(model.to(device))
        splits = synthetic_splits(case)
        self.loader = reference.torchvision_loader(
            splits.train.images,
            splits.train.labels,
            mean=splits.mean,
            std=splits.std,
            batch_size=case.batch,
            workers=case.workers,
            pin_memory=device.type == "cuda",
        )
        self.batches = reference.endless(self.loader)

    def step(self) -> None:
        x, y = next(self.batches)
        self.run(x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True))

    def close(self) -> None:
        from reslab.data.loader import shutdown_workers

        shutdown_workers(self.loader)
        self.batches.close()


# ----------------------------------------------------------------------------- reslab
def channels_last(case: Case, device: torch.device) -> bool:
    """reslab's memory format for a case: as asked, or (None) the trainer's automatic choice."""
    from reslab.utils.runtime import preferred_channels_last

    return preferred_channels_last(device) if case.channels_last is None else case.channels_last


def reslab_model(case: Case, device: torch.device, *, checkpointing: bool = False) -> nn.Module:
    """The model as `reslab train` builds it (engine.setup.build_model from a config naming the
    case's model), on the device in the case's memory format."""
    from reslab.engine.config import load_config
    from reslab.engine.setup import RunData, build_model
    from reslab.models import default_num_classes

    cfg = load_config(
        None, [f"model.name={case.model}", f"model.activation_checkpointing={checkpointing}"]
    )
    model = build_model(cfg, RunData(train=None, num_classes=default_num_classes(case.model)))
    model = model.to(device)
    if channels_last(case, device):
        model = model.to(memory_format=torch.channels_last)
    return model


class ReslabStep:
    """The trainer's optimisation step: its optimizer, autocast, GradScaler and lr setting, and
    engine.step's ``forward_loss`` and ``optimizer_step`` (the functions the trainer runs)."""

    def __init__(self, model: nn.Module, case: Case, device: torch.device) -> None:
        from reslab.engine.config import OptimConfig
        from reslab.engine.optim import build_optimizer

        self.model = model.train()
        self.device = device
        self.optim_cfg = OptimConfig()
        self.optimizer = build_optimizer(model, self.optim_cfg)
        self.scaler = torch.amp.GradScaler(device.type, enabled=case.precision == "fp16")
        self.dtype = autocast_dtype(case.precision)
        self.train_model = torch.compile(model) if case.compile else model
        self.lr = self.optim_cfg.lr

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from reslab.engine.optim import set_lr

        set_lr(self.optimizer, self.lr)
        return forward_loss(self.train_model, x, y, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        optimizer_step(loss, self.optimizer, self.scaler)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        loss, _ = self.forward(x, y)
        self.backward(loss)

    def graphed(self) -> GraphedTrainStep:
        """The trainer's graphed step (train.cuda_graphs) on this step's model and optimizer."""
        return GraphedTrainStep(
            self.train_model, self.model, self.optimizer, dtype=self.dtype, scaler=self.scaler
        )


class ReslabTrain(Workload):
    """reslab's bare training step on a fixed batch (optionally CUDA-graphed)."""

    def __init__(self, case: Case, device: torch.device, *, checkpointing: bool = False) -> None:
        from reslab.models import create, default_num_classes

        self.flops_per_image = forward_flops(lambda: create(case.model), case.size)
        model = reslab_model(case, device, checkpointing=checkpointing)
        self.describe = "reslab" + (" + activation checkpointing" if checkpointing else "")
        self.x, self.y = fixed_batch(
            case, device, default_num_classes(case.model), channels_last(case, device)
        )
        step = ReslabStep(model, case, device)
        self.run: Callable[[], object]
        if case.cuda_graphs:
            graphed = step.graphed()
            self.run = lambda: graphed(self.x, self.y, step.lr)
            self.describe += " in a CUDA graph"
        else:
            self.run = lambda: step(self.x, self.y)

    def step(self) -> None:
        self.run()


class ReslabEval(Workload):
    def __init__(self, case: Case, device: torch.device) -> None:
        from reslab.models import create, default_num_classes

        self.flops_per_image = forward_flops(lambda: create(case.model), case.size)
        model = reslab_model(case, device).eval()
        self.model = torch.compile(model) if case.compile else model
        self.dtype = autocast_dtype(case.precision)
        self.device = device
        self.x, _ = fixed_batch(
            case, device, default_num_classes(case.model), channels_last(case, device)
        )
        self.describe = "reslab inference_mode"

    def step(self) -> None:
        with (
            torch.inference_mode(),
            torch.autocast(
                self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None
            ),
        ):
            self.model(self.x)


class ReslabEpoch(Workload):
    """The in-memory path: DeviceLoader + BatchAugment feeding the trainer's step.

    ``step`` follows reslab.engine.trainer's loop body; ``bare`` is the same optimisation step
    on a fixed batch, so the two can be compared in the same process.
    """

    has_bare = True

    def __init__(self, case: Case, device: torch.device) -> None:
        from reslab.data import AugmentConfig, BatchAugment, DeviceLoader
        from reslab.engine.config import ScheduleConfig
        from reslab.models import create, default_num_classes

        self.flops_per_image = forward_flops(lambda: create(case.model), case.size)
        model = reslab_model(case, device)
        self.train_step = ReslabStep(model, case, device)
        splits = synthetic_splits(case)
        augment = BatchAugment(
            AugmentConfig(crop_pad=case.size // 8, flip=True), splits.mean, splits.std
        )
        self.loader = DeviceLoader(
            splits.train,
            case.batch,
            augment=augment,
            train=True,
            shuffle=True,
            drop_last=True,
            device=device,
            seed=0,
            channels_last=channels_last(case, device),
        )
        self.batches = self._endless()
        self.device = device
        self.total = case.iterations or 64_000
        self.schedule = ScheduleConfig()
        self.steps_done = 0
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)
        self.fixed = fixed_batch(
            case, device, default_num_classes(case.model), channels_last(case, device)
        )
        self.describe = "reslab DeviceLoader + trainer step"
        # one graph serves both: its inputs are copied into the capture's buffers each step
        self.graphed = self.train_step.graphed() if case.cuda_graphs else None
        if case.cuda_graphs:
            self.describe += " in a CUDA graph"

    def _endless(self) -> Iterator[Batch]:
        epoch = 0
        while True:
            self.loader.set_epoch(epoch)
            yield from self.loader
            epoch += 1

    def step(self) -> None:
        from reslab.engine.optim import lr_at

        x, y = next(self.batches)
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        base_lr = self.train_step.optim_cfg.lr
        self.train_step.lr = lr_at(self.steps_done, self.total, base_lr, self.schedule)
        if self.graphed is not None:
            # the trainer checks a graphed run's loss at each log line (every 100 steps)
            loss, logits = self.graphed(x, y, self.train_step.lr)
            if (self.steps_done + 1) % 100 == 0 and not bool(torch.isfinite(self.sums[0])):
                raise TrainingError(f"non-finite loss before bench step {self.steps_done + 1}")
        else:
            loss, logits = self.train_step.forward(x, y)
            if not bool(torch.isfinite(loss)):
                raise TrainingError(f"non-finite loss at bench step {self.steps_done + 1}")
            self.train_step.backward(loss)
        self.steps_done += 1
        # the trainer's running metrics, kept on the device
        n = y.numel()
        self.sums[0] += loss.detach().double() * n
        self.sums[1] += (logits.detach().argmax(1) != y).sum()
        self.sums[2] += n

    def bare(self) -> None:
        if self.graphed is not None:
            self.graphed(*self.fixed, self.train_step.lr)
        else:
            self.train_step(*self.fixed)
