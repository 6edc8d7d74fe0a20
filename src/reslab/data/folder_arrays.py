"""A folder of small images (CIFAR-sized) held whole in memory, trained as its archive would be.

A CIFAR-family net trained on ``train/<class>/*.jpg`` must see what it sees on the official
archive of the same images: the images at their native size, the recipe's pad-and-crop and
flip on the device, normalised with the training set's own channel statistics. So the folder
is decoded once (the evaluation decoder, in DataLoader workers) into the same uint8
:class:`~reslab.data.arrays.ArrayDataset` the archive gives, and from there the run takes the
archive's path: the same :class:`~reslab.data.loader.DeviceLoader`, augmentation, validation
hold-out and statistics. 50,000 32x32 images are 150 MB.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from reslab.data.arrays import ArrayDataset, DataSplits
from reslab.data.folder import ImageFolder
from reslab.errors import DataError


def default_workers() -> int:
    """DataLoader workers for decoding image files: one per core this process may use, at most
    4 (so a 2-core machine gets 2, not 4 workers fighting for 2 cores)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


class _Uniform:
    """An image as it is (``size=None``), or brought to ``size`` by the native-size rule of
    :class:`~reslab.data.spec.InputSpec` (cover, centre-crop); planar memory, for stacking."""

    def __init__(self, size: tuple[int, int] | None) -> None:
        from reslab.data.transforms import CoverCrop

        self.cover = CoverCrop(size) if size is not None else None

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return (self.cover(image) if self.cover is not None else image).contiguous()


def _collate(batch: list) -> tuple[torch.Tensor | None, torch.Tensor, list[tuple[int, ...]]]:
    """(images stacked, or None when their sizes differ; labels; each image's shape): one
    tensor per batch crosses from a worker, not one per image."""
    batch = [s for s in batch if s is not None]  # bad files, left out
    shapes = [tuple(image.shape) for image, _ in batch]
    labels = torch.tensor([label for _, label in batch], dtype=torch.int64)
    if not batch or len(set(shapes)) > 1:
        return None, labels, shapes
    return torch.stack([image for image, _ in batch]), labels, shapes


def read_folder_arrays(
    root: str | os.PathLike,
    *,
    image_size: int | None = None,
    max_bad_files: int = 10,
    workers: int | None = None,
    mixed_sizes: str = "set data.image_size=N to scale each to cover NxN and centre-crop it",
) -> ArrayDataset:
    """Every readable image of ``root/<class>/`` as one uint8 [N, 3, H, W] dataset, in the
    folder's order. ``image_size=None`` keeps the native size, which every image must share;
    ``image_size=S`` scales each image to cover S x S and centre-crops it. Bad files are left
    out with a warning (at most ``max_bad_files``). ``mixed_sizes``: what the error for images
    of different sizes advises."""
    root = Path(root)
    size = None if image_size is None else (int(image_size), int(image_size))
    folder = ImageFolder(
        root, _Uniform(size), max_bad_files=max_bad_files, decode="uint8", bad="skip"
    )
    workers = default_workers() if workers is None else workers
    loader = torch.utils.data.DataLoader(
        folder, batch_size=256, num_workers=workers, collate_fn=_collate
    )
    images: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    first: tuple[int, ...] | None = None
    for batch, batch_labels, shapes in loader:
        first = first or (shapes[0] if shapes else None)
        other = next((s for s in shapes if s != first), None)
        if other is not None:
            raise DataError(
                f"images in {root} have different sizes ({first[1]}x{first[2]} and "
                f"{other[1]}x{other[2]}): {mixed_sizes}"
            )
        if batch is not None:
            images.append(batch)
            labels.append(batch_labels)
    if not images:
        raise DataError(f"no readable image in {root}; check the files there")
    return ArrayDataset(
        torch.cat(images), torch.cat(labels), list(folder.classes), root.name or str(root)
    )


def read_train_and_test(root: Path, **kwargs: object) -> tuple[ArrayDataset, ArrayDataset]:
    """``root/train`` and ``root/test`` (or ``root/val``) decoded whole by
    :func:`read_folder_arrays` (``kwargs`` go to it); each dataset is named by its folder's
    name. Both must have the same class folders."""
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if not (root / "train").is_dir() or test_dir is None:
        raise DataError(
            f"{root} must hold train/ and test/ (or val/) folders with one sub-folder per class"
        )
    print(f"reading {root / 'train'} and {test_dir} into memory (decoded once)", flush=True)
    train = read_folder_arrays(root / "train", **kwargs)  # type: ignore[arg-type]
    test = read_folder_arrays(test_dir, **kwargs)  # type: ignore[arg-type]
    if train.classes != test.classes:
        index = torch.tensor(
            eval_class_index(train.classes, test.classes, root / "train", test_dir)
        )
        test = ArrayDataset(test.images, index[test.labels], list(train.classes), test.name)
    train.name, test.name = "train", test_dir.name
    return train, test


def eval_class_index(
    train_classes: list[str], eval_classes: list[str], train_dir: Path, eval_dir: Path
) -> list[int]:
    """For each class folder of an evaluation split, its class's index in train/'s classes:
    a test/ that holds only some of train/'s classes is scored by name (as `reslab eval` scores
    such a folder); a class train/ lacks is one line naming it."""
    unknown = [c for c in eval_classes if c not in train_classes]
    if unknown:
        raise DataError(
            f"{eval_dir} has class folders that {train_dir} lacks ({', '.join(unknown)}): a net "
            "cannot be tested on classes it never trained on; rename or remove them"
        )
    return [train_classes.index(c) for c in eval_classes]


def load_folder_splits(
    root: str | os.PathLike,
    *,
    image_size: int | None = None,
    val_size: int | float = 0,
    seed: int = 0,
    max_bad_files: int = 10,
    workers: int | None = None,
) -> DataSplits:
    """``root/train`` and ``root/val`` (or ``root/test``) as the archive-shaped splits a
    built-in dataset gives: a validation split held out of train/ (``val_size``, seeded by
    ``seed``), and the channel statistics of what is left for training."""
    from reslab.data.catalog import finish_splits

    root = Path(root)
    kwargs = dict(image_size=image_size, max_bad_files=max_bad_files, workers=workers)
    train, test = read_train_and_test(root, **kwargs)
    test_dir = root / test.name
    if train.image_shape != test.image_shape:
        raise DataError(
            f"{root / 'train'} and {test_dir} hold images of different sizes "
            f"({train.image_shape[1]}x{train.image_shape[2]} and "
            f"{test.image_shape[1]}x{test.image_shape[2]}): set data.image_size=N"
        )
    train.name, test.name = "folder/train", f"folder/{test_dir.name}"
    return finish_splits(train, test, val_size, seed)


__all__ = ["default_workers", "load_folder_splits", "read_folder_arrays"]
