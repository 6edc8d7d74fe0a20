"""MNIST and Fashion-MNIST from the official idx files (raw or .gz)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from reslab.data.arrays import ArrayDataset
from reslab.errors import DataError

# idx type byte -> numpy dtype (big-endian, as the format stores it)
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_idx(path: Path) -> np.ndarray:
    """The array stored in one idx file (``.gz`` is decompressed), header checked."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: cannot read ({reason}); re-download it") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an idx file (bad magic number); re-download it")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated idx header; re-download it")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{path}: header says shape {shape} ({expected} bytes) but the file has "
            f"{len(raw)} bytes; re-download it"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def find_idx(directories: list[Path]) -> dict[str, Path] | None:
    """Paths of the four idx files in the first directory that has all of them."""
    for directory in directories:
        found = {}
        for key, stem in IDX_FILES.items():
            for candidate in (directory / stem, directory / f"{stem}.gz"):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(IDX_FILES):
            return found
    return None


def missing_idx(directory: Path) -> list[str]:
    """Names of the idx files (raw or .gz) that ``directory`` lacks."""
    return [
        f"{stem}.gz"
        for stem in IDX_FILES.values()
        if not (directory / stem).is_file() and not (directory / f"{stem}.gz").is_file()
    ]


def read_idx_splits(
    name: str, files: dict[str, Path], classes: list[str]
) -> tuple[ArrayDataset, ArrayDataset]:
    """Train and test sets from the four idx files."""
    return (
        _pair(files["train_images"], files["train_labels"], classes, f"{name}/train"),
        _pair(files["test_images"], files["test_labels"], classes, f"{name}/test"),
    )


def _pair(images_path: Path, labels_path: Path, classes: list[str], name: str) -> ArrayDataset:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(
            f"{images_path}: expected uint8 images [N, H, W], got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(
            f"{labels_path}: {labels.size} labels for {len(images)} images in {images_path.name}"
        )
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(f"{labels_path}: labels outside 0..{len(classes) - 1}")
    return ArrayDataset(
        torch.from_numpy(np.ascontiguousarray(images[:, None])),
        torch.from_numpy(labels),
        classes,
        name,
    )
