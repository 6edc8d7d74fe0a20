"""`reslab data pack cifar10`: the python archive written from a folder of CIFAR-10's images, as
the public image copies lay them out, read back by reslab's own reader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from reslab.data import read_folder_arrays
from reslab.data.cifar import pack_cifar, read_cifar
from reslab.errors import DataError

CLASSES = ["airplane", "cat", "truck"]


def _folder(root, *, size=32, fmt="png", per_class=(("train", 5), ("test", 2))):
    """CIFAR-shaped image files; returns {split: [(pixel bytes, class), ...]}."""
    rng = np.random.default_rng(0)
    written: dict[str, list[tuple[bytes, str]]] = {}
    for split, n in per_class:
        for name in CLASSES:
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.{fmt}")
                written.setdefault(split, []).append((pixels.tobytes(), name))
    return written


def _pairs(data):
    return sorted(
        (image.permute(1, 2, 0).contiguous().numpy().tobytes(), data.classes[int(label)])
        for image, label in zip(data.images, data.labels)
    )


def test_every_image_comes_back_with_its_pixels_and_class_none_twice(tmp_path):
    """Lossless files (PNG), so the written pixels are known exactly."""
    written = _folder(tmp_path / "png")
    target = pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", workers=0)
    assert target == tmp_path / "archive" / "cifar-10-batches-py"
    train, test = read_cifar("cifar10", target)
    for split, data in (("train", train), ("test", test)):
        assert data.classes == CLASSES
        assert _pairs(data) == sorted(written[split])
    # the training images are shuffled across the five batches, not left class by class
    assert train.labels.tolist() != sorted(train.labels.tolist())
    assert torch.equal(train.labels.bincount(), torch.tensor([5, 5, 5]))
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_the_archive_holds_the_pixels_the_folder_pipeline_trains_on(tmp_path):
    """JPEG: the archive's pixels are the folder pipeline's decoded pixels, in one order or the
    other, so data.name=cifar10 on the archive and data.name=folder on the files agree."""
    _folder(tmp_path / "jpg", fmt="jpg")
    train, _ = read_cifar("cifar10", pack_cifar("cifar10", tmp_path / "jpg", tmp_path / "a"))
    assert _pairs(train) == _pairs(read_folder_arrays(tmp_path / "jpg" / "train", workers=0))


def test_a_corrupt_file_is_one_error_naming_it_and_nothing_is_written(tmp_path):
    _folder(tmp_path / "png")
    bad = tmp_path / "png" / "train" / "cat" / "2.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match="2.png"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", workers=0)
    assert not (tmp_path / "archive" / "cifar-10-batches-py").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: _folder(root, size=64), "64x64 images; a CIFAR archive holds 32x32"),
        (lambda root: _folder(root, per_class=(("train", 2),)), "must hold train/ and test/"),
    ],
)
def test_a_folder_that_is_not_cifar_shaped_is_refused(tmp_path, make, message):
    make(tmp_path / "in")
    with pytest.raises(DataError, match=message):
        pack_cifar("cifar10", tmp_path / "in", tmp_path / "archive", workers=0)
    assert not (tmp_path / "archive" / "cifar-10-batches-py").exists()


def test_an_existing_archive_is_never_overwritten(tmp_path):
    _folder(tmp_path / "png")
    target = pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", workers=0)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(DataError, match="already exists"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", seed=1, workers=0)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
