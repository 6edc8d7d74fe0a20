"""Building what a run needs from its config: device, data loaders, model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reslab import data as rdata
from reslab import models
from reslab.engine.config import Config
from reslab.engine.distributed import DistInfo
from reslab.engine.folder_setup import build_folder, check_folder_root
from reslab.engine.rundata import (
    Batches,
    RunData,
    ShardSampler,
    resolve_channels_last,
    resolve_device,
    train_batch_augment,
)
from reslab.errors import ConfigError, DataError


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


def build_data(cfg: Config, device: torch.device, info: DistInfo) -> RunData:
    d = cfg.data
    split = info.world_size * cfg.train.accumulate
    if d.batch_size % split:
        how = (
            f"{info.world_size} processes x {cfg.train.accumulate} micro-batches (train.accumulate)"
        )
        raise ConfigError(f"data.batch_size={d.batch_size} must divide evenly into {how}")
    per_rank = d.batch_size // split  # one micro-batch of one process
    pipeline = folder_pipeline(cfg) if d.name == "folder" else None
    if pipeline == "imagenet":
        return build_folder(cfg, per_rank, info)
    imagenet_only = ("lighting", "eval_image_size", "eval_resize", "scale_aug")
    if pipeline == "cifar":
        refused, use = imagenet_only, "data.folder_pipeline=imagenet (an ImageNet-style folder)"
    else:
        refused, use = ("image_size", *imagenet_only), "image folders (data.name=folder)"
    for key in refused:
        if getattr(d, key):
            raise ConfigError(f"data.{key} is for {use}, not this run's data: leave it off")
    if pipeline == "cifar":
        # a folder of small images, held in memory: from here on trained as its archive would be
        check_folder_root(d.root)
        splits = rdata.load_folder_splits(
            d.root,
            image_size=d.image_size,
            val_size=d.val_size,
            seed=d.split_seed,
            max_bad_files=d.max_bad_files,
            workers=d.num_workers,
        )
    else:
        splits = load_builtin(cfg)
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


def folder_pipeline(cfg: Config) -> str:
    """data.folder_pipeline with "auto" resolved by the model's stem: "cifar" for a CIFAR net
    (native size, in memory, the archive's augmentation), "imagenet" for an ImageNet net."""
    if cfg.data.folder_pipeline != "auto":
        return cfg.data.folder_pipeline
    return "cifar" if models.get_spec(cfg.model.name).family == "cifar" else "imagenet"


def load_builtin(cfg: Config) -> rdata.DataSplits:
    """A built-in dataset's splits; a data.root that holds an image folder instead, or does not
    exist, is one line saying so."""
    check_data_root(cfg)
    d = cfg.data
    return rdata.load_splits(
        d.name, d.root, val_size=d.val_size, seed=d.split_seed, download=d.download
    )


def check_data_root(cfg: Config, *, folder_ok: bool = True) -> None:
    """Refuse, in one line, a built-in dataset's data.root that does not exist or holds an image
    folder; cheap (nothing is read), so a caller can check before starting work. ``folder_ok``:
    the caller could train on the folder itself (data.name=folder), so the line says how."""
    d = cfg.data
    if d.root and not d.download:
        root = Path(d.root)
        if not root.exists():
            raise DataError(
                f"data.root {root} does not exist: point it at the folder that holds the "
                f"{d.name} files, or add data.download=true"
            )
        instead = rdata.catalog.images_instead_of_archive(d.name, root, folder_ok=folder_ok)
        if instead:
            raise DataError(f"data.root {instead}")


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
        state = models.weights.normalise_keys(models.read_state_dict(source))
        said = [_stem_words(state, data.in_channels), _load_head(model, state, source, data)]
        if int(os.environ.get("RANK", "0")) == 0:  # one line for the whole job
            print(f"model.pretrained={m.pretrained}: {'; '.join(w for w in said if w)}", flush=True)
    if m.freeze_stages:
        models.freeze_stages(model, m.freeze_stages)  # weights and BN statistics
    if m.stochastic_depth:
        model.set_stochastic_depth(m.stochastic_depth)
    return model


def _stem_words(state: dict[str, torch.Tensor], in_channels: int) -> str:
    """How the pretrained stem meets the data's channels, in a few words ("" when it simply fits)."""
    stem = state.get("conv1.weight")
    if stem is None or stem.shape[1] == in_channels:
        return ""
    how = "summed over colours" if in_channels == 1 else "repeated and rescaled"
    return f"first conv adapted from {stem.shape[1]} to {in_channels} input channels ({how})"


def _load_head(
    model: nn.Module, state: dict[str, torch.Tensor], source: Path, data: RunData
) -> str:
    """Load the pretrained classifier where it stands for this data's classes: the same shape
    and, where the weights record their class names, the same names in the same order.
    Otherwise the head stays new. Returns the few words that say which."""
    head = {k: v for k, v in state.items() if k.startswith("fc.")}
    target = model.state_dict()
    if not head:
        return f"new classifier for {data.num_classes} classes (the weights have none)"
    if not all(k in target and target[k].shape == v.shape for k, v in head.items()):
        outputs = head["fc.weight"].shape[0] if "fc.weight" in head else "other"
        return f"new classifier for {data.num_classes} classes (the weights' has {outputs})"
    theirs = _recorded_classes(source)
    if theirs is not None and data.classes and list(theirs) != list(data.classes):
        return (
            f"new classifier: the weights' {len(theirs)} classes ({_few(theirs)}) are not this "
            f"data's ({_few(data.classes)})"
        )
    model.load_state_dict(head, strict=False)
    return f"classifier kept ({data.num_classes} classes, the same as the weights')"


def _recorded_classes(source: Path) -> list[str] | None:
    """The class names a reslab weights file records, or None (other files record none)."""
    if Path(source).suffix != ".safetensors":
        return None
    classes = models.read_metadata(source).get("classes")
    return [str(c) for c in classes] if isinstance(classes, list) else None


def _few(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


__all__ = [
    "Batches",
    "RunData",
    "ShardSampler",
    "build_data",
    "build_model",
    "configure_runtime",
    "folder_pipeline",
    "load_builtin",
    "model_kwargs",
    "resolve_channels_last",
    "resolve_device",
]
