"""Image-folder data (ImageNet-style train/ and val/ trees) for a run.

Training images stay uint8 until the device: DataLoader workers decode them to uint8 tensors
(``ImageFolder(decode="uint8")``), crop, resize and flip them in uint8, and the batches are
collated (in channels-last memory, :func:`~reslab.data.transforms.collate_channels_last`) and
pinned as uint8; ``RunData.on_device`` (a :class:`~reslab.data.transforms.
DeviceNormalize`) makes them normalised floats once the trainer has moved them to the device.
Evaluation batches go the same way (the same decoder, resize and centre crop, normalised on the
device by the same ``on_device``; formerly normalised in
the workers), since the evaluation loop feeds its loaders to the model as they come.

Augmentations beyond crop and flip: auto-augment runs per image in the workers on the uint8
crop (as in torchvision's reference recipes); PCA lighting, random erasing and MixUp/CutMix run
on the device on the normalised batch (``RunData.train_augment``). Lighting is added there
rather than in the workers because it is one batched multiply-add on the device, needs float
pixels (the workers stay uint8, a quarter of the bytes to pin and copy), and adding it after
normalisation is exact: normalisation is affine, so ``rgb`` in [0, 1] units is ``rgb / std``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from reslab import data as rdata
from reslab.data.folder import ImageFolder, folder_split
from reslab.data.folder_arrays import eval_class_index
from reslab.data.spec import InputSpec
from reslab.data.transforms import DeviceNormalize, collate_channels_last, spec_transform
from reslab.engine.config import Config
from reslab.engine.distributed import DistInfo
from reslab.engine.rundata import (
    RunData,
    ShardSampler,
    resolve_channels_last,
    resolve_device,
    train_batch_augment,
)
from reslab.errors import ConfigError, DataError


def train_folder(
    root: str | Path,
    image_size: int,
    *,
    scale_aug: bool = False,
    max_bad_files: int = 10,
    auto_augment: str = "none",
) -> ImageFolder:
    """A folder's training images as the trainer reads them: uint8 [3, size, size] crops."""
    return ImageFolder(
        root,
        rdata.imagenet_train_transform(
            image_size, scale_aug=scale_aug, normalise=False, auto_augment=auto_augment
        ),
        max_bad_files=max_bad_files,
        decode="uint8",
    )


def check_folder_root(root: str | None) -> Path:
    """``data.root`` of a folder run, or one line saying what is wrong with it."""
    if not root:
        raise ConfigError(
            "data.name=folder needs data.root: a directory with train/ and val/ (or test/) "
            "holding one sub-folder per class"
        )
    path = Path(root)
    if not path.is_dir():
        raise DataError(
            f"data.root {path} does not exist or is not a folder: point it at a folder with "
            "train/ and val/ (or test/), one sub-folder per class in each"
        )
    return path


def build_folder(cfg: Config, per_rank: int, info: DistInfo) -> RunData:
    d = cfg.data
    root = check_folder_root(d.root)
    unused = [f"data.{k}" for k in ("crop_pad", "rotate_deg", "color_jitter") if getattr(d, k)]
    if unused and info.rank == 0:  # said, not silently ignored (a recipe may set them)
        print(
            f"warning: {', '.join(unused)} not used: the ImageNet folder pipeline "
            "(data.folder_pipeline=imagenet) takes random-resized crops (or data.scale_aug) "
            "and always flips",
            file=sys.stderr,
        )
    train_dir = root / "train"
    eval_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if not train_dir.is_dir() or eval_dir is None:
        raise DataError(
            f"{root} must hold train/ and test/ (or val/) folders with one sub-folder per class"
        )
    image_size = d.image_size or 224
    mean, std = rdata.IMAGENET_MEAN, rdata.IMAGENET_STD
    # evaluation (and predict) may use another size than training (FixRes: train 176, test 224)
    eval_size = d.eval_image_size or image_size
    resize = d.eval_resize or round(eval_size * 256 / 224)
    train_ds = train_folder(
        train_dir,
        image_size,
        scale_aug=d.scale_aug,
        max_bad_files=d.max_bad_files,
        auto_augment=d.auto_augment,
    )
    if info.rank == 0:
        _warn_if_scaled_up(train_ds, image_size, cfg.model.name)
    inputs = InputSpec((eval_size, eval_size), tuple(mean), tuple(std), resize=resize)
    eval_tf = spec_transform(inputs)
    # evaluation leaves a bad file out instead of counting a neighbour twice
    eval_ds = ImageFolder(
        eval_dir, eval_tf, max_bad_files=d.max_bad_files, decode="uint8", bad="skip"
    )
    eval_set: torch.utils.data.Dataset = eval_ds
    if train_ds.classes != eval_ds.classes:  # only some classes: scored by name
        index = eval_class_index(train_ds.classes, eval_ds.classes, train_dir, eval_dir)
        eval_set = _Relabelled(eval_ds, index)
    train_set: torch.utils.data.Dataset = train_ds
    val_set: torch.utils.data.Dataset | None = None
    if d.val_size:
        # the validation split is held out of train/ (val/ is the test set), seeded by
        # data.split_seed and evaluated like the test set (resize + centre crop)
        rest, held = folder_split(train_ds, d.val_size, d.split_seed)
        train_set = _SeededSubset(train_ds, rest)
        val_full = ImageFolder(
            train_dir, eval_tf, max_bad_files=d.max_bad_files, decode="uint8", bad="skip"
        )
        val_set = torch.utils.data.Subset(val_full, held)
    if per_rank > len(train_set):
        raise ConfigError(
            f"data.batch_size={d.batch_size} is larger than the training set "
            f"({len(train_set)} images); lower it"
        )
    # the batches the model gets are in its memory format (the trainer resolves it the same way)
    channels_last = resolve_channels_last(cfg, resolve_device(cfg.train.device, info))
    pin = torch.cuda.is_available()
    workers = rdata.default_workers() if d.num_workers is None else d.num_workers
    sampler = SeededSampler(
        train_set,
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=True,
        seed=cfg.train.seed,
        drop_last=True,
    )
    train = torch.utils.data.DataLoader(
        train_set,
        batch_size=per_rank,
        sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        drop_last=True,
        persistent_workers=workers > 0,
        collate_fn=collate_channels_last,
        worker_init_fn=ignore_stop_signals,
    )

    def eval_loader(ds: torch.utils.data.Dataset) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            ds,
            batch_size=d.eval_batch_size,
            sampler=ShardSampler(len(ds), info),
            num_workers=workers,
            pin_memory=pin,
            collate_fn=collate_channels_last,
            # kept between evaluations: no respawn each time, and a bad file is warned about
            # once per worker, not at every evaluation
            persistent_workers=workers > 0,
            worker_init_fn=ignore_stop_signals,
        )

    evals = {"test": eval_loader(eval_set)}
    sizes = {"train": len(train_set), "test": len(eval_set)}
    if val_set is not None:
        evals = {"val": eval_loader(val_set), **evals}
        sizes["val"] = len(val_set)
    return RunData(
        train=train,
        evals=evals,
        num_classes=len(train_ds.classes),
        in_channels=3,
        classes=list(train_ds.classes),
        image_size=(eval_size, eval_size),
        mean=tuple(mean),
        std=tuple(std),
        resize=resize,
        on_device=DeviceNormalize(mean, std, channels_last=channels_last),
        train_size=len(train_set),
        sizes=sizes,
        train_augment=train_batch_augment(cfg, len(train_ds.classes), tuple(std)),
    )


def _warn_if_scaled_up(train_ds: ImageFolder, image_size: int, model: str) -> None:
    """Say so when the ImageNet pipeline will scale small images up (a folder of CIFAR's 32x32
    files under an ImageNet net trains on 224x224 blow-ups, many times slower than natively)."""
    from PIL import Image

    try:
        with Image.open(train_ds.samples[0][0]) as first:
            width, height = first.size
    except Exception:  # an unreadable first file is reported where it is decoded
        return
    if max(width, height) * 2 <= image_size:
        from reslab import models

        cifar_net = models.get_spec(model).family == "cifar"
        advice = (
            "leave out data.folder_pipeline=imagenet: a CIFAR net reads them at their size"
            if cifar_net
            else "use a CIFAR net (e.g. model.name=resnet20), or set data.image_size"
        )
        print(
            f"warning: {model} takes {image_size}x{image_size} crops here (the ImageNet folder "
            f"pipeline), and this folder's images are {width}x{height}: they are scaled up, "
            f"which trains many times slower than at their size. For images this small, {advice}",
            file=sys.stderr,
        )


class _Relabelled(torch.utils.data.Dataset):
    """An evaluation folder's samples with their labels as indices into train/'s classes."""

    def __init__(self, dataset: ImageFolder, index: list[int]) -> None:
        self.dataset, self.index = dataset, index

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int] | None:
        item = self.dataset[i]
        return None if item is None else (item[0], self.index[item[1]])


def ignore_stop_signals(worker_id: int) -> None:
    """DataLoader worker start: leave SIGTERM to the training process. ``timeout`` and cluster
    schedulers signal the whole process group; a worker that died of it first would make the
    trainer fail with torch's "worker killed" error before it could save its checkpoint. The
    trainer saves and exits, and its workers stop with it (torch's loader shuts them down, and
    a worker whose parent is gone exits on its own)."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class SeededSampler(torch.utils.data.DistributedSampler):
    """DistributedSampler (this rank's shard of a new order each epoch) whose items are
    ``(index, seed)`` pairs: the seed of the sample's random augmentation, fixed by
    (train.seed, epoch, position in the epoch) and unique to that sample, for
    :class:`~reslab.data.folder.ImageFolder`. So a resumed run reads the same crops and flips
    as an uninterrupted one, whichever DataLoader worker decodes them, and ``start_at``
    resumes mid-epoch without decoding the batches before it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start = 0

    def start_at(self, position: int) -> None:
        """The next iteration begins at this position of the epoch (batches x batch size)."""
        self.start = position

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(super().__iter__())
        base = (self.seed * 1_000_003 + self.epoch) * 1_000_003 + self.rank
        start, self.start = self.start, 0
        for position in range(start, len(indices)):
            yield indices[position], (base * 1_000_003 + position) % (1 << 63)


class _SeededSubset(torch.utils.data.Subset):
    """Subset that passes a :class:`SeededSampler`'s ``(index, seed)`` items through."""

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, tuple):
            index, seed = idx
            return self.dataset[(self.indices[index], seed)]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[Any]) -> list[Any]:  # the DataLoader's batched fetch
        return [self[i] for i in indices]
