"""What a run's data is once built, whatever it came from: the loaders and the input spec.

:func:`reslab.engine.setup.build_data` chooses where the images come from (a built-in dataset
or a folder held in memory, through :class:`~reslab.data.loader.DeviceLoader`; a large folder
through DataLoader workers, :mod:`reslab.engine.folder_setup`); both hand the trainer a
:class:`RunData`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from reslab import data as rdata
from reslab.data.loader import shutdown_workers
from reslab.data.spec import InputSpec
from reslab.engine.config import Config
from reslab.engine.distributed import DistInfo
from reslab.errors import ConfigError
from reslab.utils.runtime import auto_device

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def resolve_device(
    name: str, info: DistInfo | None = None, *, given_as: str = "train.device"
) -> torch.device:
    """The torch device ``name`` (auto, cpu, cuda, cuda:N) stands for; ``given_as`` is how the
    user gave it (a config key or a command-line option), for the one line when it is wrong."""
    name = auto_device(name)
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{given_as} {name}: no CUDA device is available here; use cpu")
        if info is not None and info.enabled and name == "cuda":
            return torch.device("cuda", info.local_rank)
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"{given_as} {name!r} is not a device: use auto, cpu or cuda[:N]"
        ) from None


def resolve_channels_last(cfg: Config, device: torch.device) -> bool:
    """``train.channels_last``, with auto resolved to the layout measured fastest on the device
    (:func:`reslab.utils.runtime.preferred_channels_last`)."""
    if cfg.train.channels_last == "auto":
        from reslab.utils.runtime import preferred_channels_last

        return preferred_channels_last(device)
    return bool(cfg.train.channels_last)


@dataclass
class RunData:
    """The loaders of one run and what predict needs to know about the data."""

    train: Any
    evals: dict[str, Any] = field(default_factory=dict)
    num_classes: int = 10
    in_channels: int = 3
    classes: list[str] = field(default_factory=list)
    image_size: tuple[int, int] = (32, 32)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    resize: int | None = None
    train_size: int = 0
    sizes: dict[str, int] = field(default_factory=dict)

    on_device: Callable[[torch.Tensor], torch.Tensor] | None = None
    """Applied to each training and evaluation batch once it is on the device (e.g. uint8 ->
    normalised)."""
    train_augment: rdata.augment.TrainBatchAugment | None = None
    """Training batches only, after ``on_device``: PCA lighting, random erasing, MixUp/CutMix
    (the last two turn the labels into class probabilities)."""

    @property
    def inputs(self) -> InputSpec:
        """The input spec of the run's evaluation (and of predict on its weights)."""
        return InputSpec(
            image_size=tuple(self.image_size),
            mean=tuple(self.mean),
            std=tuple(self.std),
            resize=self.resize,
            in_channels=self.in_channels,
            classes=tuple(self.classes),
        )

    def to_device(
        self, x: torch.Tensor, y: torch.Tensor, device: torch.device, *, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch on ``device``, ready for the model; ``seed`` fixes the random draws
        of ``train_augment``."""
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if self.on_device is not None:
            x = self.on_device(x)
        if self.train_augment is not None:
            x, y = self.train_augment(x, y, seed)
        return x, y

    def close(self) -> None:
        """Stop the worker processes the loaders keep: needed when training ends by an
        exception, whose traceback keeps a loader's iterator (and so its workers) alive."""
        for loader in (self.train, *self.evals.values()):
            shutdown_workers(loader)

    def set_epoch(self, epoch: int) -> None:
        self.train.set_epoch(epoch) if hasattr(
            self.train, "set_epoch"
        ) else self.train.sampler.set_epoch(epoch)

    def iter_train(self, start_batch: int) -> Batches:
        if hasattr(self.train, "iter_from"):
            return self.train.iter_from(start_batch)
        sampler = getattr(self.train, "sampler", None)
        if hasattr(sampler, "start_at"):  # an image folder: from that batch, nothing decoded before
            sampler.start_at(start_batch * self.train.batch_size)
            return iter(self.train)
        it = iter(self.train)
        for _ in range(start_batch):
            next(it)
        return it


def train_batch_augment(
    cfg: Config, num_classes: int, std: tuple[float, ...]
) -> rdata.augment.TrainBatchAugment | None:
    """The device-side augmentations of normalised training batches that ``cfg`` asks for."""
    d = cfg.data
    augment = rdata.augment.TrainBatchAugment(
        num_classes=num_classes,
        channel_std=std,
        lighting=d.lighting,
        random_erase=d.random_erase,
        mixup_alpha=d.mixup_alpha,
        cutmix_alpha=d.cutmix_alpha,
    )
    return augment if augment.enabled else None


class ShardSampler(torch.utils.data.Sampler[int]):
    """Rank r takes r, r + world, ...: every sample exactly once over all ranks, no padding
    (DistributedSampler pads with duplicates, which skews distributed accuracy)."""

    def __init__(self, n: int, info: DistInfo) -> None:
        self.indices = list(range(info.rank, n, info.world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
