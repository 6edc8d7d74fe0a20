"""A tiny "trained" run directory and real image files, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from .builders import make_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-channel 8x8 ResNet-20 (option A) with ten named classes."""
    path = tmp_path_factory.mktemp("runs") / "digits"
    make_run(path)
    return path


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real image files of mixed formats, modes and sizes."""
    root = tmp_path_factory.mktemp("images")
    generator = torch.Generator().manual_seed(1)

    def noise(mode: str, size: tuple[int, int]) -> Image.Image:
        channels = len(Image.new(mode, (1, 1)).getbands())
        width, height = size
        pixels = torch.randint(0, 256, (height, width, channels), generator=generator)
        image = Image.fromarray(pixels.to(torch.uint8).squeeze(-1).numpy())
        assert image.mode == mode
        return image

    files = {
        "rgb.png": noise("RGB", (20, 20)),
        "photo.jpg": noise("RGB", (40, 30)),
        "gray.png": noise("L", (16, 12)),
        "alpha.png": noise("RGBA", (24, 24)),
        "big.jpg": noise("RGB", (300, 200)),
        "tiny.png": noise("RGB", (1, 1)),
    }
    for name, image in files.items():
        image.save(root / name)
    return [root / name for name in files]
