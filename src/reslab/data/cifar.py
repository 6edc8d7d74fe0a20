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
    """The extracted folder or the archive of ``name`` in the first directory that has one, or
    that is one (--root given as the extracted folder itself, not the folder that holds it)."""
    layout = CIFAR[name]
    for directory in directories:
        if (directory / layout.meta).is_file() and (directory / layout.test).is_file():
            return directory
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


def pack_cifar(
    name: str, folder: str | Path, root: str | Path, *, seed: int = 0, workers: int | None = None
) -> Path:
    """Write ``root/cifar-10-batches-py/`` from a folder of the dataset's images laid out as
    ``train/<class>/*`` and ``test/<class>/*`` (or ``val/``), as the public image copies of
    CIFAR-10 are; returns the written folder.

    The images are decoded by the decoder the folder pipeline trains with
    (:func:`~reslab.data.folder_arrays.read_folder_arrays`), so ``data.name=cifar10`` on the
    result and ``data.name=folder`` on ``folder`` see the same pixels. Every image must be
    32x32 and readable: an unreadable file is one DataError naming it, other sizes one naming
    the sizes, and nothing is written. Classes are the sorted folder names (CIFAR-10's own
    order for its class names). The training images are shuffled with ``seed`` before they are
    cut into the five batches, as the official batches hold the classes mixed (a validation
    hold-out is drawn from that order by a seeded stratified split, so nothing depends on it).
    The folder appears whole or not at all: it is written under a temporary name and renamed.

    The batches are pickles with bytes keys (``b"data"``, ``b"labels"``), as the official
    ones load with ``encoding="bytes"``; reslab reads them. Other readers that check the
    official files' digests (torchvision's ``CIFAR10``) do not."""
    import contextlib
    import os
    import shutil
    import tempfile

    from reslab.data.folder_arrays import read_train_and_test

    if name != "cifar10":
        raise DataError(f"packing a folder is for cifar10 only, not {name}")
    layout = CIFAR[name]
    folder, root = Path(folder), Path(root)
    target = root / layout.folder
    if target.exists():
        raise DataError(f"{target} already exists; remove it or choose another --root")
    if not folder.is_dir():
        raise DataError(f"--from {folder} does not exist or is not a folder")
    if (root / "train").is_dir():  # the archive would sit beside the images it came from
        raise DataError(f"--root {root} holds train/: choose a folder outside the image folder")
    # checked before minutes of decoding, and nothing is created until the images are read
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir():
        raise DataError(f"--root {root}: {existing} is a file, not a folder; choose a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"cannot write to --root {root} ({existing} is read-only); choose another")
    train, test = read_train_and_test(
        folder,
        max_bad_files=0,  # the first unreadable file is an error, not an image left out
        workers=workers,
        mixed_sizes="a CIFAR archive holds 32x32 images only",
    )
    for split in (train, test):
        if split.image_shape != (3, 32, 32):
            _, h, w = split.image_shape
            raise DataError(
                f"{folder / split.name} holds {w}x{h} images; a CIFAR archive holds 32x32 "
                "ones (train on the folder itself with data.name=folder)"
            )
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(train.labels)))
    images, labels = train.images[order].numpy(), train.labels[order].tolist()

    def rows(batch: np.ndarray) -> np.ndarray:  # [N, 3, 32, 32] -> [N, 3072], channel-major
        return np.ascontiguousarray(batch.reshape(len(batch), -1))

    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{layout.folder}.", suffix=".tmp", dir=root))
    except OSError as exc:
        raise DataError(f"cannot write to --root {root} ({exc.strerror}); choose another") from None
    try:
        parts = np.array_split(np.arange(len(labels)), len(layout.train))
        for file, part in zip(layout.train, parts):
            batch = {b"data": rows(images[part]), layout.label_key: [labels[i] for i in part]}
            (tmp / file).write_bytes(pickle.dumps(batch))
        batch = {b"data": rows(test.images.numpy()), layout.label_key: test.labels.tolist()}
        (tmp / layout.test).write_bytes(pickle.dumps(batch))
        meta = {layout.names_key: [c.encode() for c in train.classes]}
        (tmp / layout.meta).write_bytes(pickle.dumps(meta))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's folder is the owner's alone; the archive is not
        os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        for made in (root, *root.parents):  # the folders made above, if still empty
            if made == existing:
                break
            with contextlib.suppress(OSError):
                made.rmdir()
        if isinstance(exc, OSError):
            reason = exc.strerror or exc
            raise DataError(f"writing {target} failed ({reason}); nothing was written") from None
        raise
    return target
