"""CIFAR from tiny archives in the official format, and the restricted unpickler."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from reslab.data import load_splits
from reslab.data.cifar import restricted_loads
from reslab.errors import DataError

from .builders import CIFAR10_NAMES, cifar_files, official_pickle, write_cifar


@pytest.mark.parametrize("archive", [True, False], ids=["tar.gz", "folder"])
def test_cifar10_loads_train_and_test(tmp_path, archive):
    write_cifar(tmp_path / "cifar10", "cifar10", archive=archive)
    splits = load_splits("cifar10", root=tmp_path)
    assert (len(splits.train), len(splits.test)) == (100, 10)  # 5 batches x 20, 1 per class
    assert splits.train.image_shape == (3, 32, 32)
    assert splits.train.classes == list(CIFAR10_NAMES)
    # the first training image is the first row of data_batch_1, reshaped to [3, 32, 32]
    files = cifar_files("cifar10", 2, 1)
    first = restricted_loads(files["data_batch_1"], "batch")
    assert torch.equal(
        splits.train.images[0], torch.from_numpy(first[b"data"][0].reshape(3, 32, 32))
    )
    assert splits.train.labels[:20].tolist() == first[b"labels"]
    rows = [restricted_loads(files[f"data_batch_{i}"], "b")[b"data"] for i in range(1, 6)]
    pixels = np.concatenate(rows).reshape(-1, 3, 1024) / 255.0
    assert np.allclose(splits.mean, pixels.mean(axis=(0, 2)), atol=1e-12)
    assert np.allclose(splits.std, pixels.std(axis=(0, 2)), atol=1e-12)


def test_cifar_archive_directly_in_root(tmp_path):
    write_cifar(tmp_path, "cifar10", archive=True)
    assert len(load_splits("cifar10", root=tmp_path).train) == 100


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_root_may_be_the_extracted_folder_itself(tmp_path, name):
    """--root .../cifar-10-batches-py (the folder, not its parent) loads the same images; it
    used to say the archive was missing and to download it."""
    folder = write_cifar(tmp_path, name, archive=False)
    parent, itself = load_splits(name, root=tmp_path), load_splits(name, root=folder)
    assert torch.equal(parent.train.images, itself.train.images)
    assert torch.equal(parent.test.labels, itself.test.labels)


def test_cifar10_val_split_is_stratified_and_disjoint(tmp_path):
    write_cifar(tmp_path / "cifar10", "cifar10", archive=True, per_class_train=4)  # 200 train
    splits = load_splits("cifar10", root=tmp_path, val_size=50, seed=2)
    assert (len(splits.train), len(splits.val)) == (150, 50)
    assert np.bincount(splits.val.labels.numpy(), minlength=10).tolist() == [5] * 10
    train_rows = {bytes(x.numpy()) for x in splits.train.images}
    assert not any(bytes(x.numpy()) in train_rows for x in splits.val.images)
    assert splits.val.name == "cifar10/val"


def test_cifar100_uses_fine_labels(tmp_path):
    write_cifar(tmp_path / "cifar100", "cifar100", archive=True, per_class_train=1)
    splits = load_splits("cifar100", root=tmp_path)
    assert (len(splits.train), len(splits.test)) == (100, 100)
    assert sorted(splits.train.labels.tolist()) == list(range(100))
    assert splits.train.classes[7] == "f7"


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    folder = write_cifar(tmp_path / "cifar10", "cifar10", archive=False)
    payload = official_pickle({b"data": _Evil(str(marker)), b"labels": []})
    (folder / "data_batch_3").write_bytes(payload)
    with pytest.raises(DataError, match=r"data_batch_3: refusing to unpickle .*system"):
        load_splits("cifar10", root=tmp_path)
    assert not marker.exists()


def test_other_globals_are_refused():
    for payload in (pickle.dumps(print), pickle.dumps(np.float64(1.0), protocol=2)):
        with pytest.raises(DataError, match="refusing to unpickle"):
            restricted_loads(payload, "x")


def test_wrong_batch_shape_and_missing_member(tmp_path):
    folder = write_cifar(tmp_path / "cifar10", "cifar10", archive=False)
    (folder / "test_batch").write_bytes(
        official_pickle({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    )
    with pytest.raises(DataError, match=r"test_batch: expected uint8 data of shape \[N, 3072\]"):
        load_splits("cifar10", root=tmp_path)
    (folder / "test_batch").unlink()
    with pytest.raises(DataError, match="lacks test_batch"):
        load_splits("cifar10", root=tmp_path)


def test_truncated_archive_is_a_data_error(tmp_path):
    archive = write_cifar(tmp_path / "cifar10", "cifar10", archive=True)
    archive.write_bytes(archive.read_bytes()[:1000])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz"):
        load_splits("cifar10", root=tmp_path)
