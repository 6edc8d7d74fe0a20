"""Tiny datasets in the official on-disk formats, written by the tests themselves."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 strings (BINSTRING), as the official CIFAR batches hold them."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_string(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_string


def official_pickle(obj: object) -> bytes:
    """Protocol 2 with Python 2 strings and numpy's pre-2.0 module name, like the real files."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


CIFAR10_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
"""The official archive's class names, in label order."""


def cifar_files(
    name: str, per_class_train: int, per_class_test: int, seed: int = 0
) -> dict[str, bytes]:
    """Batch files (name -> pickled bytes) of a tiny CIFAR-10/100 in the official layout."""
    rng = np.random.default_rng(seed)
    num_classes = 10 if name == "cifar10" else 100

    def batch(per_class: int, label_key: bytes) -> dict[bytes, object]:
        labels = np.repeat(np.arange(num_classes), per_class)
        rng.shuffle(labels)
        data = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
        return {b"data": data, label_key: [int(v) for v in labels], b"batch_label": b"x"}

    if name == "cifar10":
        files = {
            f"data_batch_{i}": official_pickle(batch(per_class_train, b"labels"))
            for i in range(1, 6)
        }
        files["test_batch"] = official_pickle(batch(per_class_test, b"labels"))
        names = [c.encode() for c in CIFAR10_NAMES]  # batches.meta's label_names
        files["batches.meta"] = official_pickle({b"label_names": names})
    else:
        files = {
            "train": official_pickle(batch(per_class_train, b"fine_labels")),
            "test": official_pickle(batch(per_class_test, b"fine_labels")),
        }
        names = [f"f{i}".encode() for i in range(num_classes)]
        files["meta"] = official_pickle({b"fine_label_names": names})
    return files


def write_tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    """A .tar.gz holding ``files`` (member name -> content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for member, content in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def write_cifar(root: Path, name: str, *, archive: bool, per_class_train: int = 2) -> Path:
    """A tiny CIFAR in ``root`` as the official .tar.gz or as its extracted folder."""
    folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    files = cifar_files(name, per_class_train=per_class_train, per_class_test=1)
    if archive:
        filename = "cifar-10-python.tar.gz" if name == "cifar10" else "cifar-100-python.tar.gz"
        return write_tar_gz(root / filename, {f"{folder}/{k}": v for k, v in files.items()})
    (root / folder).mkdir(parents=True, exist_ok=True)
    for key, content in files.items():
        (root / folder / key).write_bytes(content)
    return root / folder


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file holding a uint8 array."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_idx_set(folder: Path, n_train: int, n_test: int, *, gz: bool, seed: int = 0) -> None:
    """The four MNIST-style idx files with ``n_train``/``n_test`` 28x28 images."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            content = idx_bytes(array)
            path = folder / f"{split}-{kind}-ubyte"
            if gz:
                path.with_name(path.name + ".gz").write_bytes(gzip.compress(content))
            else:
                path.write_bytes(content)
