"""Batched augmentation, checked against slow per-sample references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reslab.data import AugmentConfig, BatchAugment
from reslab.errors import DataError

# mean 0 and std 1/255 make normalisation the identity, so outputs are the raw pixel values
IDENTITY = ((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))


def _batch(b: int = 32, c: int = 3, h: int = 12, w: int = 10, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, c, h, w), generator=generator, dtype=torch.uint8)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_eval_only_normalises_exactly():
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    augment = BatchAugment(AugmentConfig(crop_pad=4, flip=True, rotate_deg=10), mean, std)
    x = _batch()
    out = augment(x, _gen(0), train=False)
    assert out.dtype == torch.float32 and out.shape == x.shape and out.device == x.device
    expected = (x.double() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1
    )
    assert torch.allclose(out.double(), expected, atol=1e-6, rtol=0)


def test_flip_flips_exactly_the_masked_samples():
    augment = BatchAugment(AugmentConfig(flip=True), *IDENTITY)
    x = _batch(64)
    out = augment(x, _gen(5), train=True)
    flipped = []
    for i in range(len(x)):
        same = torch.allclose(out[i], x[i].float(), atol=1e-3)
        mirrored = torch.allclose(out[i], x[i].flip(-1).float(), atol=1e-3)
        assert same != mirrored, i  # each sample is exactly one of the two
        flipped.append(mirrored)
    mask = torch.rand(64, generator=_gen(5)) < 0.5  # the documented draw: one uniform per sample
    assert flipped == mask.tolist()
    assert 0 < sum(flipped) < 64


def test_crop_is_a_window_of_the_zero_padded_image():
    pad = 4
    augment = BatchAugment(AugmentConfig(crop_pad=pad), *IDENTITY)
    x = _batch(24)
    out = augment(x, _gen(1), train=True).round().to(torch.uint8)
    padded = F.pad(x, (pad, pad, pad, pad))
    _, _, h, w = x.shape
    offsets = set()
    for i in range(len(x)):  # slow reference: search every window for this sample's output
        matches = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(padded[i, :, dy : dy + h, dx : dx + w], out[i])
        ]
        assert len(matches) == 1, i
        offsets.add(matches[0])
    assert len(offsets) > 5  # offsets really vary between samples


def test_crop_and_flip_together_match_a_per_sample_loop():
    pad = 2
    augment = BatchAugment(AugmentConfig(crop_pad=pad, flip=True), (0.0,), (1 / 255,))
    x = _batch(16, c=1, h=5, w=5)
    out = augment(x, _gen(7), train=True).round().to(torch.uint8)
    padded = F.pad(x, (pad, pad, pad, pad))
    for i in range(len(x)):
        windows = [
            padded[i, :, dy : dy + 5, dx : dx + 5]
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
        ]
        assert any(torch.equal(out[i], v) or torch.equal(out[i], v.flip(-1)) for v in windows)


def test_same_generator_same_batch():
    augment = BatchAugment(
        AugmentConfig(crop_pad=4, flip=True, rotate_deg=15, color_jitter=0.3), *IDENTITY
    )
    x = _batch()
    a, b = augment(x, _gen(3), True), augment(x, _gen(3), True)
    assert torch.equal(a, b)
    assert not torch.equal(a, augment(x, _gen(4), True))


def test_rotation_keeps_a_constant_centre_and_zero_corners():
    augment = BatchAugment(AugmentConfig(rotate_deg=30), (0.0,), (1 / 255,))
    x = torch.full((8, 1, 21, 21), 100, dtype=torch.uint8)
    out = augment(x, _gen(0), train=True)
    assert torch.allclose(
        out[:, :, 6:15, 6:15], torch.full_like(out[:, :, 6:15, 6:15], 100), atol=1e-3
    )
    assert (out[:, :, 0, 0] < 100).all()  # a rotated corner samples the zero padding


def test_jitter_stays_in_pixel_range():
    augment = BatchAugment(AugmentConfig(color_jitter=0.9), *IDENTITY)
    out = augment(_batch(), _gen(0), train=True)
    assert out.min() >= 0 and out.max() <= 255
    assert not torch.allclose(out, _batch().float())


def test_bad_inputs_are_refused():
    augment = BatchAugment(AugmentConfig(), *IDENTITY)
    with pytest.raises(DataError, match="uint8"):
        augment(_batch().float(), None, train=False)
    with pytest.raises(DataError, match="channels"):
        augment(_batch(c=1), None, train=False)
    with pytest.raises(DataError, match="crop_pad"):
        AugmentConfig(crop_pad=-1)
    with pytest.raises(DataError, match="positive std"):
        BatchAugment(AugmentConfig(), (0.5,), (0.0,))
