"""DeviceLoader: coverage, sharding, exact resume and memory format."""

from __future__ import annotations

import pytest
import torch

from reslab.data import ArrayDataset, AugmentConfig, BatchAugment, DeviceLoader
from reslab.errors import DataError


def _dataset(n: int, c: int = 3, size: int = 8) -> ArrayDataset:
    """Labels are sample ids, so a batch's labels say exactly which samples it holds."""
    images = torch.randint(0, 256, (n, c, size, size), generator=torch.Generator().manual_seed(0))
    return ArrayDataset(images.to(torch.uint8), torch.arange(n), [str(i) for i in range(n)], "ids")


def _loader(ds: ArrayDataset, batch_size: int = 16, **kwargs) -> DeviceLoader:
    c = ds.image_shape[0]
    augment = BatchAugment(AugmentConfig(crop_pad=2, flip=True), (0.5,) * c, (0.25,) * c)
    options = dict(augment=augment, train=True, shuffle=True, drop_last=False)
    options.update(kwargs)
    return DeviceLoader(ds, batch_size, **options)


def _ids(loader) -> list[int]:
    return torch.cat([y for _, y in loader]).tolist()


def test_len_and_num_samples():
    ds = _dataset(100)
    assert len(_loader(ds, 16)) == 7 and _loader(ds, 16).num_samples == 100
    assert len(_loader(ds, 16, drop_last=True)) == 6
    assert len(_loader(ds, 16, world_size=3, rank=2)) == 3  # 33 samples per rank
    assert _loader(ds, 16, world_size=3, rank=2).num_samples == 33


def test_an_epoch_visits_every_sample_once_and_epochs_differ():
    loader = _loader(_dataset(100), 16)
    first = _ids(loader)
    assert sorted(first) == list(range(100))
    assert first != list(range(100))
    assert _ids(loader) == first  # same epoch, same order
    loader.set_epoch(1)
    second = _ids(loader)
    assert sorted(second) == list(range(100)) and second != first


def test_batches_hold_the_right_images_and_shapes():
    ds = _dataset(40)
    loader = _loader(ds, 16, train=False, shuffle=False)
    x, y = next(iter(loader))
    assert x.shape == (16, 3, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    expected = (ds.images[:16].float() / 255 - 0.5) / 0.25
    assert torch.allclose(x, expected, atol=1e-5) and y.tolist() == list(range(16))
    assert [len(y) for _, y in loader] == [16, 16, 8]


def test_resume_mid_epoch_reproduces_the_same_batches():
    ds = _dataset(90)
    full = _loader(ds, 8, seed=11)
    full.set_epoch(3)
    batches = list(full)
    resumed = _loader(ds, 8, seed=11)  # a fresh loader, as after a restart
    resumed.set_epoch(3)
    tail = list(resumed.iter_from(5))
    assert len(tail) == len(batches) - 5
    for (x, y), (x_ref, y_ref) in zip(tail, batches[5:]):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)
    other_seed = _loader(ds, 8, seed=12)
    other_seed.set_epoch(3)
    assert not torch.equal(next(iter(other_seed))[1], batches[0][1])


def test_train_shards_are_equal_disjoint_and_share_one_order():
    ds, world = _dataset(103), 4
    shards = []
    for rank in range(world):
        loader = _loader(ds, 10, rank=rank, world_size=world, seed=5)
        loader.set_epoch(2)
        shards.append(_ids(loader))
    assert [len(s) for s in shards] == [25] * 4  # 103 // 4, remainder dropped
    assert len(set().union(*map(set, shards))) == 100


def test_eval_shards_see_every_sample_exactly_once():
    ds, world = _dataset(103), 4
    seen: list[int] = []
    for rank in range(world):
        loader = _loader(ds, 10, rank=rank, world_size=world, train=False, shuffle=False)
        seen.extend(_ids(loader))
        assert loader.num_samples in (25, 26)
    assert sorted(seen) == list(range(103))


def test_augmentation_differs_between_ranks_and_batches():
    ds = _dataset(64)
    # every sample is the same image, so any difference between batches is augmentation
    same_images = ArrayDataset(ds.images[:1].repeat(64, 1, 1, 1), ds.labels, ds.classes, "same")
    a, b = (
        _loader(same_images, 32, rank=0, world_size=2),
        _loader(same_images, 32, rank=1, world_size=2),
    )
    assert not torch.equal(next(iter(a))[0], next(iter(b))[0])
    batches = list(_loader(same_images, 32))
    assert not torch.equal(batches[0][0], batches[1][0])


def test_channels_last():
    ds = _dataset(20)
    x, _ = next(iter(_loader(ds, 8, channels_last=True)))
    assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    x, _ = next(iter(_loader(ds, 8)))
    assert x.is_contiguous()


def test_bad_arguments():
    ds = _dataset(10)
    with pytest.raises(DataError, match="batch_size"):
        _loader(ds, 0)
    with pytest.raises(DataError, match="rank 2"):
        _loader(ds, 4, rank=2, world_size=2)
    with pytest.raises(DataError, match="too few"):
        _loader(ds, 4, world_size=11)
