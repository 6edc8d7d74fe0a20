"""A folder run's batches: uint8 from the loader, normalised floats once on the device."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from reslab.data.transforms import DeviceNormalize
from reslab.engine import load_config
from reslab.engine.distributed import DistInfo
from reslab.engine.setup import build_data


def test_folder_training_batches_are_uint8_until_the_device(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(3):
                pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / name / f"{i}.jpg")
    cfg = load_config(
        None,
        [
            "data.name=folder",
            "data.folder_pipeline=imagenet",  # DataLoader workers, random-resized crops
            f"data.root={tmp_path}",
            "data.image_size=8",
            "data.num_workers=0",
            "data.batch_size=4",
            "train.channels_last=true",
        ],
    )
    data = build_data(cfg, torch.device("cpu"), DistInfo())
    assert isinstance(data.on_device, DeviceNormalize)
    x, y = next(iter(data.iter_train(0)))
    assert x.dtype == torch.uint8 and x.shape == (4, 3, 8, 8)
    x, y = data.to_device(x, y, torch.device("cpu"))
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    assert x.min() > -2.2 and x.max() < 2.7  # ImageNet-normalised
    ex, _ = next(iter(data.evals["test"]))  # evaluation batches too: uint8 until the device
    assert ex.dtype == torch.uint8 and ex.shape[1:] == (3, 8, 8)
    ex = data.on_device(ex)
    assert ex.dtype == torch.float32 and ex.min() > -2.2 and ex.max() < 2.7
