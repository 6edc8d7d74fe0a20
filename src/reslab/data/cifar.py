"""CIFAR-10/100 from the official python-version archives, read with a restricted unpickler.

The batches are pickles. A pickle can call any importable function while it loads, so these
are read with an unpickler that resolves only the few numpy callables that rebuild an array
and refuses every other global.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reslab.data.arrays import ArrayDataset
from reslab.errors import DataError

# numpy's own array-rebuild functions, taken from where this numpy version keeps them.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_FROMBUFFER = np.empty(0).__reduce_ex__(5)[0]  # used by pickle protocol 5

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Loads plain builtins and numpy arrays; any other global raises DataError unexecuted."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.source}: refusing to unpickle {module}.{name}; this is not an "
                "official CIFAR batch, replace it with the official archive"
            ) from None


def restricted_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; ``source`` names it in errors."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), source).load()
    except DataError:
        raise
    except Exception as exc:  # a corrupt pickle can fail in many ways
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            f"{source}: not a readable CIFAR batch ({reason}); re-download it"
        ) from None


@dataclass(frozen=True)
class CifarLayout:
    """Where one CIFAR variant keeps its batches inside the archive."""

    archive: str
    folder: str
    train: tuple[str, ...]
    test: str
    meta: str
    label_key: bytes
    names_key: bytes


CIFAR = {
    "cifar10": CifarLayout(
        archive="cifar-10-python.tar.gz",
        folder="cifar-10-batches-py",
        train=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test="test_batch",
        meta="batches.meta",
        label_key=b"labels",
        names_key=b"label_names",
    ),
    "cifar100": CifarLayout(
        archive="cifar-100-python.tar.gz",
        folder="cifar-100-python",
        train=("train",),
        test="test",
        meta="meta",
        label_key=b"fine_labels",
        names_key=b"fine_label_names",
    ),
}


def find_cifar(name: str, directories: list[Path]) -> Path | None:
    """The extracted folder or the archive of ``name`` in the first directory that has one."""
    layout = CIFAR[name]
    for directory in directories:
        if (directory / layout.folder).is_dir():
            return directory / layout.folder
        if (directory / layout.archive).is_file():
            return directory / layout.archive
    return None


def read_cifar(name: str, source: Path) -> tuple[ArrayDataset, ArrayDataset]:
    """Train and test sets of ``name`` from its extracted folder or its .tar.gz archive."""
    layout = CIFAR[name]
    wanted = [*layout.train, layout.test, layout.meta]
    files = _read_tar(source, layout, wanted) if source.is_file() else _read_dir(source, wanted)
    meta = restricted_loads(files[layout.meta], f"{source}/{layout.meta}")
    try:
        classes = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[layout.names_key]]
    except (KeyError, TypeError, AttributeError):
        raise DataError(
            f"{source}/{layout.meta}: no class names under {layout.names_key!r}; "
            "replace it with the official archive"
        ) from None
    train = [_read_batch(files[b], f"{source}/{b}", layout) for b in layout.train]
    images = np.concatenate([images for images, _ in train])
    labels = np.concatenate([labels for _, labels in train])
    test_images, test_labels = _read_batch(files[layout.test], f"{source}/{layout.test}", layout)
    return (
        _to_dataset(images, labels, classes, f"{name}/train"),
        _to_dataset(test_images, test_labels, classes, f"{name}/test"),
    )


def _read_dir(folder: Path, wanted: list[str]) -> dict[str, bytes]:
    missing = [w for w in wanted if not (folder / w).is_file()]
    if missing:
        raise DataError(
            f"{folder} lacks {', '.join(missing)}; extract the official archive there again"
        )
    return {w: (folder / w).read_bytes() for w in wanted}


def _read_tar(archive: Path, layout: CifarLayout, wanted: list[str]) -> dict[str, bytes]:
    members = {f"{layout.folder}/{w}": w for w in wanted}
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:  # one pass in stream order: a .gz cannot seek back cheaply
                if member.name in members and member.isfile():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        files[members[member.name]] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise DataError(
            f"{archive} is not a readable tar archive ({reason}); re-download it"
        ) from None
    missing = [w for w in wanted if w not in files]
    if missing:
        raise DataError(
            f"{archive} lacks {', '.join(layout.folder + '/' + m for m in missing)}; "
            "re-download the official archive"
        )
    return files


def _read_batch(data: bytes, source: str, layout: CifarLayout) -> tuple[np.ndarray, np.ndarray]:
    batch = restricted_loads(data, source)
    if not isinstance(batch, dict) or b"data" not in batch or layout.label_key not in batch:
        raise DataError(
            f"{source}: expected a dict with b'data' and {layout.label_key!r}; "
            "replace it with the official archive"
        )
    images = np.asarray(batch[b"data"])
    labels = np.asarray(batch[layout.label_key], dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{source}: expected uint8 data of shape [N, 3072], got {images.dtype} "
            f"{images.shape}; replace it with the official archive"
        )
    if labels.shape != (len(images),):
        raise DataError(f"{source}: {len(images)} images but {labels.size} labels")
    return images.reshape(-1, 3, 32, 32), labels


def _to_dataset(
    images: np.ndarray, labels: np.ndarray, classes: list[str], name: str
) -> ArrayDataset:
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(f"{name}: labels outside 0..{len(classes) - 1}")
    return ArrayDataset(
        torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels), classes, name
    )
