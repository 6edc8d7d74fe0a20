"""MNIST and Fashion-MNIST idx files: raw, gzipped and corrupt."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from reslab.data import load_splits
from reslab.data.idx import read_idx
from reslab.errors import DataError

from .builders import idx_bytes, write_idx_set


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_mnist_loads_from_idx(tmp_path, gz):
    write_idx_set(tmp_path / "mnist", 30, 20, gz=gz)
    splits = load_splits("mnist", root=tmp_path, val_size=10)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (20, 10, 20)
    assert splits.test.image_shape == (1, 28, 28)
    assert splits.test.labels.tolist() == [i % 10 for i in range(20)]
    assert splits.train.classes == [str(i) for i in range(10)]


def test_fashion_mnist_has_its_class_names(tmp_path):
    write_idx_set(tmp_path / "fashion_mnist", 10, 10, gz=True)
    splits = load_splits("fashion_mnist", root=tmp_path)
    assert splits.train.classes[0] == "T-shirt/top" and splits.train.classes[9] == "Ankle boot"


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(read_idx(tmp_path / "a"), array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)


def test_bad_magic_names_the_file(tmp_path):
    write_idx_set(tmp_path, 10, 10, gz=False)
    bad = tmp_path / "train-labels-idx1-ubyte"
    bad.write_bytes(b"\x01\x02" + bad.read_bytes()[2:])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: not an idx file"):
        load_splits("mnist", root=tmp_path)


def test_size_mismatch_names_the_file(tmp_path):
    write_idx_set(tmp_path, 10, 10, gz=False)
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-5])
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte: header says shape \(10, 28, 28\)"
    ):
        load_splits("mnist", root=tmp_path)


def test_label_count_mismatch_and_corrupt_gzip(tmp_path):
    write_idx_set(tmp_path, 10, 10, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(9, np.uint8)))
    )
    with pytest.raises(DataError, match="9 labels for 10 images"):
        load_splits("mnist", root=tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: cannot read"):
        load_splits("mnist", root=tmp_path)


def test_idx_images_are_copied_not_views(tmp_path):
    write_idx_set(tmp_path, 10, 10, gz=False)
    splits = load_splits("mnist", root=tmp_path)
    splits.train.images[0] = 0  # must be writable (not a read-only view of the file bytes)
    assert splits.train.images.is_contiguous() and splits.train.images.dtype == torch.uint8
