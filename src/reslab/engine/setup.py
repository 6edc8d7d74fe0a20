"""Building what a run needs from its config: device, data loaders, model."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reslab import data as rdata
from reslab import models
from reslab.engine.config import Config
from reslab.engine.distributed import DistInfo
from reslab.errors import ConfigError
from reslab.utils.runtime import auto_device

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def resolve_device(name: str, info: DistInfo | None = None) -> torch.device:
    name = auto_device(name)
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device={name} but no CUDA device is available; use cpu")
        if info is not None and info.enabled and name == "cuda":
            return torch.device("cuda", info.local_rank)
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"train.device {name!r} is not a device: use auto, cpu or cuda[:N]"
        ) from None


def configure_runtime(cfg: Config, device_type: str) -> dict[str, Any]:
    """Threads, the allocator, determinism and cuDNN autotuning, before anything is built; the
    same settings `reslab bench` times. Returns what is in effect, for the run's log."""
    from reslab.utils.runtime import apply_training_runtime

    applied = apply_training_runtime(device_type, cfg.train.threads)
    if cfg.train.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    else:
        torch.backends.cudnn.benchmark = True
    return applied


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

    def set_epoch(self, epoch: int) -> None:
        self.train.set_epoch(epoch) if hasattr(
            self.train, "set_epoch"
        ) else self.train.sampler.set_epoch(epoch)

    def iter_train(self, start_batch: int) -> Batches:
        if hasattr(self.train, "iter_from"):
            return self.train.iter_from(start_batch)
        it = iter(self.train)
        for _ in range(start_batch):  # an image folder resumes by skipping batches
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


def build_data(cfg: Config, device: torch.device, info: DistInfo) -> RunData:
    d = cfg.data
    split = info.world_size * cfg.train.accumulate
    if d.batch_size % split:
        how = (
            f"{info.world_size} processes x {cfg.train.accumulate} micro-batches (train.accumulate)"
        )
        raise ConfigError(f"data.batch_size={d.batch_size} must divide evenly into {how}")
    per_rank = d.batch_size // split  # one micro-batch of one process
    if d.name == "folder":
        from reslab.engine.folder_setup import build_folder

        return build_folder(cfg, per_rank, info)
    for key in ("lighting", "eval_image_size", "eval_resize"):
        if getattr(d, key):
            raise ConfigError(
                f"data.{key} is for image folders (data.name=folder), not {d.name}: leave it off"
            )
    splits = rdata.load_splits(
        d.name, d.root, val_size=d.val_size, seed=d.split_seed, download=d.download
    )
    if d.batch_size > len(splits.train):
        raise ConfigError(
            f"data.batch_size={d.batch_size} is larger than the training set "
            f"({len(splits.train)} images); lower it"
        )
    aug = rdata.BatchAugment(
        rdata.AugmentConfig(
            crop_pad=d.crop_pad,
            flip=d.flip,
            rotate_deg=d.rotate_deg,
            color_jitter=d.color_jitter,
            auto_augment=d.auto_augment,
        ),
        splits.mean,
        splits.std,
    )
    common = dict(
        augment=aug,
        device=device,
        seed=cfg.train.seed,
        rank=info.rank,
        world_size=info.world_size,
        channels_last=resolve_channels_last(cfg, device),
    )
    train = rdata.DeviceLoader(
        splits.train, per_rank, train=True, shuffle=True, drop_last=True, **common
    )
    if len(train) == 0:
        raise ConfigError(f"data.batch_size={d.batch_size} leaves no full batch per process")
    evals: dict[str, Any] = {}
    if cfg.train.eval_train:
        evals["train"] = rdata.DeviceLoader(
            splits.train, d.eval_batch_size, train=False, shuffle=False, drop_last=False, **common
        )
    if splits.val is not None:
        evals["val"] = rdata.DeviceLoader(
            splits.val, d.eval_batch_size, train=False, shuffle=False, drop_last=False, **common
        )
    evals["test"] = rdata.DeviceLoader(
        splits.test, d.eval_batch_size, train=False, shuffle=False, drop_last=False, **common
    )
    c, h, w = splits.train.image_shape
    if d.auto_augment != "none" and c != 3:
        raise ConfigError(f"data.auto_augment needs RGB images; {d.name} has {c} channel(s)")
    sizes = {"train": len(splits.train), "test": len(splits.test)}
    if splits.val is not None:
        sizes["val"] = len(splits.val)
    return RunData(
        train=train,
        evals=evals,
        num_classes=len(splits.train.classes),
        in_channels=c,
        classes=list(splits.train.classes),
        image_size=(h, w),
        mean=splits.mean,
        std=splits.std,
        train_size=len(splits.train),
        sizes=sizes,
        train_augment=train_batch_augment(cfg, len(splits.train.classes), tuple(splits.std)),
    )


class ShardSampler(torch.utils.data.Sampler[int]):
    """Rank r takes r, r + world, ...: every sample exactly once over all ranks, no padding
    (DistributedSampler pads with duplicates, which skews distributed accuracy)."""

    def __init__(self, n: int, info: DistInfo) -> None:
        self.indices = list(range(info.rank, n, info.world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def model_kwargs(cfg: Config) -> dict[str, Any]:
    """The spec overrides a run was trained with (saved so predict can rebuild the model): every
    ResNetSpec choice that a config can make, where it makes one."""
    m = cfg.model
    chosen = {
        "shortcut": m.shortcut,
        "stride_on": m.stride_on,
        "preact": m.preact,
        "stem_width": m.stem_width,
    }
    return {k: v for k, v in chosen.items() if v is not None}


def build_model(cfg: Config, data: RunData) -> nn.Module:
    m = cfg.model
    model = models.create(
        m.name,
        num_classes=data.num_classes,
        in_channels=data.in_channels,
        zero_init_residual=m.zero_init_residual,
        dropout=m.dropout,
        activation_checkpointing=m.activation_checkpointing,
        **model_kwargs(cfg),
    )
    if m.pretrained:
        # a file, a run directory, or published weights by name ('resnet56.cifar10')
        source = models.hub.resolve_pretrained(m.pretrained)
        models.load_weights(model, source, skip_head=True, adapt_input=True)
        _load_head_if_it_fits(model, source)
    if m.freeze_stages:
        models.freeze_stages(model, m.freeze_stages)  # weights and BN statistics
    if m.stochastic_depth:
        model.set_stochastic_depth(m.stochastic_depth)
    return model


def _load_head_if_it_fits(model: nn.Module, source: Path) -> None:
    state = models.weights.normalise_keys(models.read_state_dict(source))
    head = {k: v for k, v in state.items() if k.startswith("fc.")}
    target = model.state_dict()
    if head and all(k in target and target[k].shape == v.shape for k, v in head.items()):
        model.load_state_dict(head, strict=False)
