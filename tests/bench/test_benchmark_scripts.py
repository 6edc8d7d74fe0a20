"""The scripts under benchmarks/ that the README's figures name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from reslab.data.cifar import read_cifar

ROOT = Path(__file__).resolve().parents[2]


def test_the_archive_rebuilt_from_a_folder_holds_the_folders_pixels(tmp_path):
    """CIFAR-10 as image files (PNG here, lossless) -> cifar-10-batches-py -> reslab's reader:
    every image comes back with its pixels and its class, none twice."""
    rng = np.random.default_rng(0)
    classes = ["airplane", "cat", "truck"]
    written = {}
    for split, n in (("train", 5), ("test", 2)):
        for name in classes:
            (tmp_path / "png" / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / "png" / split / name / f"{i}.png")
                written.setdefault(split, []).append((pixels.tobytes(), name))
    script = ROOT / "benchmarks" / "cifar_archive_from_folder.py"
    subprocess.run(
        [sys.executable, script, tmp_path / "png", tmp_path / "archive"],
        check=True,
        capture_output=True,
    )
    train, test = read_cifar("cifar10", tmp_path / "archive" / "cifar-10-batches-py")
    for split, data in (("train", train), ("test", test)):
        assert data.classes == classes
        back = [
            (image.permute(1, 2, 0).contiguous().numpy().tobytes(), data.classes[int(label)])
            for image, label in zip(data.images, data.labels)
        ]
        assert sorted(back) == sorted(written[split])
    # the training images are shuffled across the batches, not left class by class
    assert train.labels.tolist() != sorted(train.labels.tolist())
    assert torch.equal(train.labels.bincount(), torch.tensor([5, 5, 5]))
