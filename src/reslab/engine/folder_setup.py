"""Image-folder data (ImageNet-style train/ and val/ trees) for a run."""

from __future__ import annotations

from pathlib import Path

import torch

from reslab import data as rdata
from reslab.engine.config import Config
from reslab.engine.distributed import DistInfo
from reslab.engine.setup import RunData, ShardSampler
from reslab.errors import ConfigError, DataError


def build_folder(cfg: Config, per_rank: int, info: DistInfo) -> RunData:
    d = cfg.data
    if not d.root:
        raise ConfigError(
            "data.name=folder needs data.root: a directory with train/ and val/ "
            "holding one sub-folder per class"
        )
    root = Path(d.root)
    train_dir = root / "train"
    eval_dir = next((root / n for n in ("val", "test") if (root / n).is_dir()), None)
    if not train_dir.is_dir() or eval_dir is None:
        raise DataError(
            f"{root} must hold train/ and val/ (or test/) folders with one sub-folder per class"
        )
    mean, std = rdata.IMAGENET_MEAN, rdata.IMAGENET_STD
    resize = round(d.image_size * 256 / 224)
    train_ds = rdata.ImageFolder(
        train_dir,
        rdata.imagenet_train_transform(d.image_size, scale_aug=d.scale_aug, mean=mean, std=std),
        max_bad_files=d.max_bad_files,
    )
    eval_ds = rdata.ImageFolder(
        eval_dir,
        rdata.eval_transform(d.image_size, resize, mean, std),
        max_bad_files=d.max_bad_files,
    )
    if train_ds.classes != eval_ds.classes:
        raise DataError(f"{train_dir} and {eval_dir} have different class folders")
    if per_rank > len(train_ds):
        raise ConfigError(
            f"data.batch_size={d.batch_size} is larger than the training set "
            f"({len(train_ds)} images); lower it"
        )
    pin = torch.cuda.is_available()
    workers = d.num_workers
    sampler = torch.utils.data.DistributedSampler(
        train_ds,
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=True,
        seed=cfg.train.seed,
        drop_last=True,
    )
    train = torch.utils.data.DataLoader(
        train_ds,
        batch_size=per_rank,
        sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    evaluate = torch.utils.data.DataLoader(
        eval_ds,
        batch_size=d.eval_batch_size,
        sampler=ShardSampler(len(eval_ds), info),
        num_workers=workers,
        pin_memory=pin,
    )
    return RunData(
        train=train,
        evals={"test": evaluate},
        num_classes=len(train_ds.classes),
        in_channels=3,
        classes=list(train_ds.classes),
        image_size=(d.image_size, d.image_size),
        mean=tuple(mean),
        std=tuple(std),
        resize=resize,
        train_size=len(train_ds),
        sizes={"train": len(train_ds), "test": len(eval_ds)},
    )
