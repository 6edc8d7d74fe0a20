"""A small trained run and image folders that the reliability tests share (read-only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reslab.engine import train

from .harness import tiny


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-iteration digits run: checkpoints at steps 10 and 20, final weights, model.json."""
    out = tmp_path_factory.mktemp("runs")
    _, recipe, *overrides = tiny(out, "digits", iterations=20)
    run = train(recipe, overrides)
    assert run.status == "completed"
    return run.dir


def write_folder(root: Path, classes: list[str], train: int, val: int, seed: int = 0) -> Path:
    """root/{train,val}/<class>/<i>.png: small RGB noise images of mixed sizes."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("val", val)):
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = rng.integers(6, 40, size=2)
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def rgb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean three-class image folder (cat, dog, fox): 8 train and 3 val images each."""
    return write_folder(tmp_path_factory.mktemp("folder"), ["cat", "dog", "fox"], 8, 3)


FOLDER_ARGS = (
    "data.name=folder",
    "data.folder_pipeline=imagenet",
    "data.image_size=16",
    "data.num_workers=0",
    "data.batch_size=8",
    "data.eval_batch_size=8",
    "model.name=resnet20",
)
"""Overrides that train ResNet-20 (the CIFAR net, fast on a CPU) on an image folder."""
