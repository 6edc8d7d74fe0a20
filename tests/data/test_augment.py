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


# ----------------------------------------------------------------------------- beyond the paper
def _normalised(b: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(b, 3, 16, 16, generator=_gen(seed))
    y = torch.arange(b) % 10
    return x, y


@pytest.mark.parametrize(
    "kind", [{"mixup_alpha": 0.2}, {"cutmix_alpha": 1.0}, {"mixup_alpha": 0.2, "cutmix_alpha": 1.0}]
)
def test_mixed_targets_are_probabilities_of_the_mixed_pair(kind):
    from reslab.data.augment import TrainBatchAugment

    augment = TrainBatchAugment(num_classes=10, channel_std=(1, 1, 1), **kind)
    x, y = _normalised()
    for seed in range(5):
        out, target = augment(x.clone(), y, seed)
        assert out.shape == x.shape and target.shape == (8, 10)
        assert torch.allclose(target.sum(1), torch.ones(8))
        # the mix is of each image with its neighbour in the batch (torchvision rolls by one)
        lam = target[torch.arange(8), y]
        partner = y.roll(1)
        assert torch.allclose(target[torch.arange(8), partner], 1 - lam)
        assert (target > 0).sum(1).le(2).all()
        # the images are mixed with the same weights as the labels
        if "cutmix_alpha" not in kind:
            assert torch.allclose(out, lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x.roll(1, 0), atol=1e-5)  # fmt: skip
        else:  # a CutMix pixel is either the image's or its partner's; the label says how many
            own = torch.isclose(out, x).all(1)
            theirs = torch.isclose(out, x.roll(1, 0)).all(1)
            if not torch.isclose(out, lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x.roll(1, 0), atol=1e-5).all():  # fmt: skip
                assert (own | theirs).all()
                assert torch.allclose(own.float().mean((1, 2)), lam, atol=1e-6)


def test_device_augmentation_is_a_function_of_its_seed():
    from reslab.data.augment import TrainBatchAugment

    augment = TrainBatchAugment(
        num_classes=10, channel_std=(0.2, 0.2, 0.2), lighting=0.1, random_erase=0.5,
        mixup_alpha=0.2,
    )  # fmt: skip
    x, y = _normalised()
    torch.manual_seed(123)
    before = torch.rand(3)
    a = augment(x.clone(), y, 7)
    b = augment(x.clone(), y, 7)
    c = augment(x.clone(), y, 8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), before)  # the global stream is left as it was


def test_random_erasing_erases_whole_images_independently_to_the_mean():
    from reslab.data.augment import TrainBatchAugment

    augment = TrainBatchAugment(num_classes=10, channel_std=(1, 1, 1), random_erase=0.5)
    x, y = _normalised(64)
    out, target = augment(x.clone(), y, 3)
    assert torch.equal(target, y)  # labels untouched
    erased = (out == 0).flatten(1).any(1)
    assert 10 < int(erased.sum()) < 54  # about half, each image drawn on its own
    assert torch.equal(out[~erased], x[~erased])
    changed = out != x
    assert (out[changed] == 0).all()  # 0 is the mean colour of a normalised image


def test_pca_lighting_adds_one_colour_per_image_along_imagenets_eigenvectors():
    from reslab.data.augment import IMAGENET_EIGVEC, pca_lighting

    std = (0.229, 0.224, 0.225)
    x, _ = _normalised(16)
    out = pca_lighting(x, 0.1, std, _gen(0))
    shift = (out - x) * torch.tensor(std).view(1, 3, 1, 1)  # back to [0, 1] pixel units
    per_image = shift[:, :, 0, 0]
    assert torch.allclose(shift, per_image.view(16, 3, 1, 1).expand_as(shift), atol=1e-5)
    # each shift is a combination of the eigenvectors with coefficients alpha * eigval
    coeffs = per_image @ torch.tensor(IMAGENET_EIGVEC)  # eigvec is orthonormal
    alpha = coeffs / torch.tensor((0.2175, 0.0188, 0.0045))
    expected = torch.randn(16, 3, generator=_gen(0)) * 0.1
    assert torch.allclose(alpha, expected, atol=1e-3)


@pytest.mark.parametrize("policy", ["trivialaugment", "randaugment"])
def test_auto_augment_is_per_image_on_uint8_and_seeded(policy):
    augment = BatchAugment(AugmentConfig(auto_augment=policy), *IDENTITY)
    x = _batch(32, h=16, w=16)
    a = augment(x, _gen(0), train=True, seed=1)
    b = augment(x, _gen(0), train=True, seed=1)
    c = augment(x, _gen(0), train=True, seed=2)
    assert a.dtype == torch.float32 and a.shape == x.shape
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a.round(), a)  # applied to the uint8 images, before normalisation
    assert (a != x.float()).flatten(1).any(1).sum() > 0
    assert torch.equal(augment(x, _gen(0), train=False, seed=1), x.float())
    # per image (a call on the batch would give all 32 images the same op), each [3, H, W]
    shapes, policy_fn = [], augment.policy
    augment.policy = lambda image: shapes.append(tuple(image.shape)) or policy_fn(image)
    augment(x, _gen(0), train=True, seed=1)
    assert shapes == [(3, 16, 16)] * 32


def test_auto_augment_is_refused_by_name():
    with pytest.raises(DataError, match="auto_augment must be one of"):
        AugmentConfig(auto_augment="autoaugment")
