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
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive" / "new", workers=0)
    assert not (tmp_path / "archive").exists()  # not even the folder it would have written in


def _mixed_sizes(root):
    _folder(root)
    Image.new("RGB", (40, 32)).save(root / "train" / "cat" / "wide.png")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: _folder(root, size=64), "64x64 images; a CIFAR archive holds 32x32"),
        (lambda root: _folder(root, per_class=(("train", 2),)), "must hold train/ and test/"),
        (_mixed_sizes, "different sizes .*a CIFAR archive holds 32x32 images only"),
    ],
)
def test_a_folder_that_is_not_cifar_shaped_is_refused(tmp_path, make, message):
    make(tmp_path / "in")
    with pytest.raises(DataError, match=message):
        pack_cifar("cifar10", tmp_path / "in", tmp_path / "archive", workers=0)
    assert not (tmp_path / "archive").exists()


def test_an_existing_archive_is_never_overwritten(tmp_path):
    _folder(tmp_path / "png")
    target = pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", workers=0)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(DataError, match="already exists"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", seed=1, workers=0)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


def test_a_root_it_cannot_use_is_refused_before_any_image_is_decoded(tmp_path, monkeypatch):
    import reslab.data.folder_arrays as folder_arrays

    _folder(tmp_path / "png")
    monkeypatch.setattr(folder_arrays, "read_folder_arrays", None)  # decoding would fail
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DataError, match="is a file, not a folder"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "a-file", workers=0)
    with pytest.raises(DataError, match="is a file, not a folder"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "a-file" / "sub", workers=0)
    with pytest.raises(DataError, match="--from .*nope does not exist"):
        pack_cifar("cifar10", tmp_path / "nope", tmp_path / "out" / "sub", workers=0)
    assert not (tmp_path / "out").exists()
    # the image folder itself: the archive would sit beside train/, and a study given that
    # folder would read it as an image folder
    with pytest.raises(DataError, match="holds train/"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "png", workers=0)


def test_a_failed_write_leaves_nothing_behind_and_says_so(tmp_path, monkeypatch):
    import os

    _folder(tmp_path / "png")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(DataError, match="No space left on device.*nothing was written"):
        pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive" / "new", workers=0)
    assert not (tmp_path / "archive").exists()


def test_the_archive_is_readable_by_whoever_may_read_new_files(tmp_path):
    """Not only by its owner (a temporary folder is made private)."""
    import os

    _folder(tmp_path / "png")
    old = os.umask(0o022)
    try:
        target = pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", workers=0)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o755


def test_the_dataset_loader_given_the_image_folder_names_the_pack_command(tmp_path):
    """Every command that reads the archive (eval --data cifar10, study table6, gradients...)
    says how to get one from the folder; with the archive beside the images, it is read."""
    import shutil

    from reslab.data import load_splits

    _folder(tmp_path / "png")
    with pytest.raises(DataError, match=r"image folder .*`reslab data pack cifar10 --from .*png"):
        load_splits("cifar10", tmp_path / "png")
    target = pack_cifar("cifar10", tmp_path / "png", tmp_path / "archive", workers=0)
    shutil.copytree(target, tmp_path / "png" / target.name)
    assert load_splits("cifar10", tmp_path / "png").test.classes == CLASSES
