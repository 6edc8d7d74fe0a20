"""Per-image transforms: shapes, normalisation and the ten crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from reslab.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    eval_transform,
    imagenet_train_transform,
    preprocess_for_model,
    ten_crop_transform,
)
from reslab.errors import DataError


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("scale_aug", [False, True])
def test_train_transform_shape_and_randomness(scale_aug):
    transform = imagenet_train_transform(32, scale_aug=scale_aug)
    image = _noise(70, 50)
    torch.manual_seed(0)
    a, b = transform(image), transform(image)
    assert a.shape == (3, 32, 32) and a.dtype == torch.float32
    assert type(a) is torch.Tensor  # a plain tensor, not a tv_tensors subclass
    assert not torch.equal(a, b)


def test_eval_transform_normalises_a_constant_image():
    out = eval_transform(size=16, resize=20)(Image.new("RGB", (40, 30), (128, 64, 0)))
    assert out.shape == (3, 16, 16)
    expected = (torch.tensor([128, 64, 0]) / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(
        IMAGENET_STD
    )
    assert torch.allclose(out, expected.view(3, 1, 1).expand(3, 16, 16), atol=1e-5)


def test_ten_crop_is_five_crops_and_their_mirrors():
    crops = ten_crop_transform(size=32, resize=36)(_noise(60, 60))
    assert crops.shape == (10, 3, 32, 32)
    assert torch.equal(crops[9], crops[4].flip(-1))  # centre crop of the mirrored image
    assert torch.equal(crops[5], crops[1].flip(-1))  # top-left of mirror = mirrored top-right
    assert not torch.equal(crops[0], crops[4])


def test_preprocess_for_model_grayscale_and_crop():
    image = Image.new("RGB", (40, 20), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 10, 20))  # a black strip on the left quarter
    x = preprocess_for_model(image, image_size=(20, 20), in_channels=1, mean=(0.0,), std=(1.0,))
    assert x.shape == (1, 20, 20) and x.dtype == torch.float32
    # covering resize keeps the height, the centre crop keeps x in [10, 30): all white
    assert torch.allclose(x, torch.ones_like(x))
    rgb = preprocess_for_model(
        image, image_size=(8, 8), in_channels=3, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize=16
    )
    assert rgb.shape == (3, 8, 8)


def test_preprocess_for_model_same_aspect_is_a_plain_resize():
    image = _noise(30, 15)
    x = preprocess_for_model(
        image, image_size=(10, 20), in_channels=3, mean=(0, 0, 0), std=(1, 1, 1)
    )
    full = preprocess_for_model(
        image, image_size=(15, 30), in_channels=3, mean=(0, 0, 0), std=(1, 1, 1)
    )
    assert x.shape == (3, 10, 20)
    assert torch.allclose(full * 255, torch.from_numpy(np.array(image)).permute(2, 0, 1).float())


def test_preprocess_for_model_checks_channels():
    with pytest.raises(DataError, match="mean/std"):
        preprocess_for_model(
            _noise(8, 8), image_size=(4, 4), in_channels=1, mean=IMAGENET_MEAN, std=IMAGENET_STD
        )
    with pytest.raises(DataError, match="use 1 or 3"):
        preprocess_for_model(
            _noise(8, 8), image_size=(4, 4), in_channels=4, mean=(0,) * 4, std=(1,) * 4
        )
