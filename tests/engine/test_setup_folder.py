"""Image-folder data under DDP: a new order each epoch, exact resume, disjoint shards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from reslab.engine import load_config
from reslab.engine.distributed import DistInfo
from reslab.engine.setup import build_data


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(0)
    for split, n in (("train", 7), ("val", 3)):
        for name in ("a", "b", "c"):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


def _data(folder, info: DistInfo, *extra: str):
    cfg = load_config(
        None,
        [
            "data.name=folder",
            "data.folder_pipeline=imagenet",  # DataLoader workers, random-resized crops
            f"data.root={folder}",
            "data.image_size=8",
            "data.num_workers=0",
            "data.batch_size=4",
            *extra,
        ],
    )
    return build_data(cfg, torch.device("cpu"), info)


def _order(data) -> list[int]:
    return [index for index, _ in data.train.sampler]


def test_each_epoch_has_its_own_order(folder):
    data = _data(folder, DistInfo())
    data.set_epoch(0)
    first = _order(data)
    data.set_epoch(1)
    second = _order(data)
    data.set_epoch(0)
    assert _order(data) == first != second
    assert sorted(first) == sorted(second)


@pytest.mark.parametrize("workers", [0, 2])
def test_resuming_mid_epoch_yields_the_same_pixels_without_decoding_the_skipped(
    folder, workers, monkeypatch
):
    """Random crops and flips are drawn from each sample's own seed: a resumed epoch gets the
    same pixels as an uninterrupted one, whichever worker decodes them, and the batches before
    the resume point are not decoded again (they were, with other random numbers)."""
    from reslab.data.folder import ImageFolder

    data = _data(folder, DistInfo(), f"data.num_workers={workers}")
    data.set_epoch(3)
    whole = list(data.iter_train(0))
    decoded = []
    real = ImageFolder.__getitem__

    def counting(self, index):
        if isinstance(index, tuple):  # a sample as the sampler names it (not the inner call)
            decoded.append(index)
        return real(self, index)

    monkeypatch.setattr(ImageFolder, "__getitem__", counting)
    data = _data(folder, DistInfo(), "data.num_workers=0")  # counted in this process
    data.set_epoch(3)
    resumed = list(data.iter_train(2))
    assert len(resumed) == len(whole) - 2
    for (x, y), (xr, yr) in zip(whole[2:], resumed):
        assert torch.equal(x, xr) and torch.equal(y, yr)
    assert len(decoded) == 4 * len(resumed)  # only the batches after the resume point


def test_resuming_mid_epoch_yields_the_remaining_batches(folder):
    data = _data(folder, DistInfo())
    data.set_epoch(3)
    whole = [y.tolist() for _, y in data.iter_train(0)]
    data.set_epoch(3)
    assert [y.tolist() for _, y in data.iter_train(2)] == whole[2:]


def test_two_ranks_train_on_disjoint_shards_and_evaluate_every_image_once(folder):
    ranks = [_data(folder, DistInfo(rank, 2, rank)) for rank in (0, 1)]
    for data in ranks:
        data.set_epoch(5)
    train = [_order(data) for data in ranks]
    assert not set(train[0]) & set(train[1]) and len(train[0]) == len(train[1]) == 10
    evals = [list(data.evals["test"].sampler) for data in ranks]
    assert sorted(evals[0] + evals[1]) == list(range(9))  # 5 + 4, no padding
