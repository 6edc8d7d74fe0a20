"""Datasets in the formats users download, written by the tests: the CIFAR python archives,
gzipped MNIST idx files and an ImageNet-style folder of real JPEG and PNG photographs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from data.builders import cifar_files, idx_bytes, write_tar_gz
from PIL import Image

CIFAR_ARCHIVES = {
    "cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py"),
    "cifar100": ("cifar-100-python.tar.gz", "cifar-100-python"),
}


def write_cifar_archive(
    root: Path, name: str, *, per_class_train: int, per_class_test: int, seed: int = 0
) -> int:
    """``root/cifar-10-python.tar.gz`` (or the CIFAR-100 one) as the official archive lays it
    out; returns the number of test images."""
    archive, folder = CIFAR_ARCHIVES[name]
    files = cifar_files(name, per_class_train, per_class_test, seed)
    write_tar_gz(root / archive, {f"{folder}/{k}": v for k, v in files.items()})
    return per_class_test * (10 if name == "cifar10" else 100)


def write_mnist_gz(root: Path, n_train: int, n_test: int, seed: int = 0) -> int:
    """The four ``*-ubyte.gz`` files of MNIST in ``root``, with digit-like blobs per class so a
    few steps learn something; returns the number of test images."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            row = 2 + 2 * int(label)
            images[i, row : row + 4, 4:24] = 255
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            (root / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(idx_bytes(array)))
    return n_test


def sample_photos() -> list[Image.Image]:
    """scikit-learn's two bundled photographs (china.jpg, flower.jpg) as RGB images (the files
    that ``sklearn.datasets.load_sample_images`` reads, opened directly: faster)."""
    import sklearn.datasets

    images = Path(sklearn.datasets.__file__).parent / "images"
    return [Image.open(images / name).convert("RGB") for name in ("china.jpg", "flower.jpg")]


def write_image_folder(
    root: Path,
    classes: tuple[str, ...] = ("china", "flower", "mixed"),
    train: int = 4,
    val: int = 2,
    size: tuple[int, int] = (64, 48),
) -> int:
    """root/{train,val}/<class>/ holding JPEG and PNG crops of real photographs; returns the
    number of val images."""
    photos = sample_photos()
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("val", val)):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                photo = photos[c % len(photos)] if c < len(photos) else photos[i % len(photos)]
                w, h = photo.size
                x = int(rng.integers(0, w - 4 * size[0]))
                y = int(rng.integers(0, h - 4 * size[1]))
                crop = photo.crop((x, y, x + 4 * size[0], y + 4 * size[1])).resize(size)
                if i % 2:
                    crop.save(folder / f"{i}.png")
                else:
                    crop.save(folder / f"{i}.jpg", quality=90)
    return val * len(classes)


def photo_file(path: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    """One image file cut from a real photograph, in ``mode`` and the format of its suffix."""
    crop = sample_photos()[1].crop((100, 100, 100 + 8 * size[0], 100 + 8 * size[1]))
    crop.resize(size).convert(mode).save(path)
    return path
