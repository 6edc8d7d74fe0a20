"""Batched augmentation on the device that holds the batch.

The paper's CIFAR recipe (section 4.2) is ``AugmentConfig(crop_pad=4, flip=True)``: pad 4
zero pixels on each side, take a random 32x32 crop, flip half the images horizontally.

Beyond the paper (all off unless asked for), torchvision's transforms do the work:
TrivialAugmentWide / RandAugment on the uint8 images (:class:`BatchAugment`), and, once the
batch is normalised, :class:`TrainBatchAugment`: AlexNet's PCA lighting, random erasing, and
MixUp / CutMix, which turn the labels into class probabilities. torchvision's image transforms
draw one set of parameters per call, so the per-image ones (auto-augment, erasing) are called
image by image; MixUp and CutMix are per batch by definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from reslab.errors import DataError


@dataclass
class AugmentConfig:
    """Which random augmentations a training batch gets."""

    crop_pad: int = 0
    """Zero-pad this many pixels on each side, then take a random crop of the original size."""
    flip: bool = False
    """Flip each image horizontally with probability 1/2."""
    rotate_deg: float = 0.0
    """Rotate each image by a uniform random angle in [-rotate_deg, rotate_deg] (not in the paper)."""
    color_jitter: float = 0.0
    """Scale brightness and contrast by uniform factors in [1 - s, 1 + s] (not in the paper)."""
    auto_augment: Literal["none", "trivialaugment", "randaugment"] = "none"
    """Per-image TrivialAugmentWide or RandAugment on the uint8 crops (not in the paper)."""

    def __post_init__(self) -> None:
        if self.crop_pad < 0:
            raise DataError(f"crop_pad must be >= 0, got {self.crop_pad}")
        if not 0.0 <= self.color_jitter < 1.0:
            raise DataError(f"color_jitter must be in [0, 1), got {self.color_jitter}")
        if self.rotate_deg < 0:
            raise DataError(f"rotate_deg must be >= 0, got {self.rotate_deg}")
        if self.auto_augment not in AUTO_AUGMENT:
            raise DataError(
                f"auto_augment must be one of {', '.join(AUTO_AUGMENT)}, got {self.auto_augment!r}"
            )


AUTO_AUGMENT = ("none", "trivialaugment", "randaugment")


def auto_augment_policy(name: str) -> v2.Transform | None:
    """torchvision's policy for ``name`` (default magnitudes; bilinear interpolation, as
    torchvision's reference recipes pass), or None for "none"."""
    bilinear = v2.InterpolationMode.BILINEAR
    if name == "trivialaugment":
        return v2.TrivialAugmentWide(interpolation=bilinear)
    if name == "randaugment":
        return v2.RandAugment(interpolation=bilinear)
    return None


class BatchAugment:
    """uint8 [B, C, H, W] -> augmented, normalised float32 [B, C, H, W] on the same device.

    All randomness comes from the ``generator`` passed per call (and, for auto-augment, whose
    torchvision policies draw from torch's global CPU generator, from ``seed``, under a forked
    generator), so a batch is reproduced exactly by reseeding. Crop and flip are one gather on
    the uint8 data, auto-augment runs per image on the uint8 crops, rotation and jitter run on
    floats in [0, 255], and normalisation is one multiply-add at the end.
    """

    def __init__(self, cfg: AugmentConfig, mean: Sequence[float], std: Sequence[float]) -> None:
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise DataError(f"need one positive std per mean, got mean={mean} std={std}")
        self.cfg = cfg
        std_t = torch.tensor(std, dtype=torch.float64)
        mean_t = torch.tensor(mean, dtype=torch.float64)
        # (x / 255 - mean) / std == x * scale + shift
        self.channels = len(mean)
        self._scale = (1.0 / (255.0 * std_t)).float().view(1, -1, 1, 1)
        self._shift = (-mean_t / std_t).float().view(1, -1, 1, 1)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        self.policy = auto_augment_policy(cfg.auto_augment)

    def __call__(
        self,
        images_u8: torch.Tensor,
        generator: torch.Generator | None,
        train: bool,
        *,
        seed: int = 0,
    ) -> torch.Tensor:
        if images_u8.dtype != torch.uint8 or images_u8.dim() != 4:
            raise DataError(
                f"BatchAugment takes uint8 [B, C, H, W], got {images_u8.dtype} "
                f"{tuple(images_u8.shape)}"
            )
        if images_u8.shape[1] != self.channels:
            raise DataError(
                f"images have {images_u8.shape[1]} channels but mean/std have {self.channels}"
            )
        x = images_u8
        cfg = self.cfg
        if train and (cfg.crop_pad > 0 or cfg.flip):
            x = crop_and_flip(x, cfg.crop_pad, cfg.flip, generator)
        if train and self.policy is not None:
            x = per_image(self.policy, x, seed)
        if train and (cfg.rotate_deg > 0 or cfg.color_jitter > 0):
            x = x.float()
            if cfg.rotate_deg > 0:
                x = random_rotate(x, cfg.rotate_deg, generator)
            if cfg.color_jitter > 0:
                x = random_jitter(x, cfg.color_jitter, generator)
        scale, shift = self._constants(x.device)
        return torch.addcmul(shift, x, scale)  # promotes uint8 to float32 in the same pass

    def _constants(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        # copied to each device once, not on every batch
        if device not in self._on_device:
            self._on_device[device] = (self._scale.to(device), self._shift.to(device))
        return self._on_device[device]


def crop_and_flip(
    x: torch.Tensor, pad: int, flip: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """Random zero-padded crop (offsets in [0, 2 * pad]) and random horizontal flip, as one gather.

    Output pixel (i, j) of sample b reads pixel (dy_b + i, dx_b + j') of the padded image,
    where j' = W - 1 - j for flipped samples. Offsets are drawn first, then one uniform per
    sample (flipped when below 1/2), each only when its augmentation is on.
    """
    b, c, h, w = x.shape
    device = x.device
    padded = F.pad(x, (pad, pad, pad, pad)) if pad > 0 else x
    wp = w + 2 * pad
    rows = torch.arange(h, device=device).expand(b, h)
    cols = torch.arange(w, device=device).expand(b, w)
    if pad > 0:
        offsets = torch.randint(0, 2 * pad + 1, (2, b, 1), generator=generator, device=device)
        rows, cols = rows + offsets[0], cols + offsets[1]
    if flip:
        mirrored = torch.rand(b, generator=generator, device=device) < 0.5
        cols = torch.where(mirrored[:, None], cols.flip(1), cols)
    index = (rows[:, :, None] * wp + cols[:, None, :]).view(b, 1, h * w).expand(b, c, h * w)
    return padded.reshape(b, c, -1).gather(2, index).view(b, c, h, w)


def random_rotate(
    x: torch.Tensor, max_deg: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Rotate each float sample about its centre by a uniform angle; corners fill with zeros."""
    b, _, h, w = x.shape
    u = torch.rand(b, generator=generator, device=x.device)
    angle = (2 * u - 1) * math.radians(max_deg)
    cos, sin = angle.cos(), angle.sin()
    # rotation in pixel units, written in affine_grid's [-1, 1] coordinates (aspect-corrected)
    theta = torch.stack(
        [
            torch.stack([cos, -sin * h / w, torch.zeros_like(cos)], dim=1),
            torch.stack([sin * w / h, cos, torch.zeros_like(cos)], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_jitter(
    x: torch.Tensor, strength: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Scale contrast (about each image's mean) and brightness by factors in [1-s, 1+s]."""
    factors = 1 + strength * (
        2 * torch.rand(2, x.shape[0], 1, 1, 1, generator=generator, device=x.device) - 1
    )
    contrast, brightness = factors[0], factors[1]
    centre = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - centre) * contrast + centre).mul_(brightness).clamp_(0, 255)


def per_image(transform: v2.Transform, x: torch.Tensor, seed: int) -> torch.Tensor:
    """``transform`` applied to each image of the batch ``x`` with its own random draws.

    torchvision's transforms draw from torch's global CPU generator; it is forked and seeded
    with ``seed`` here, so the result is a function of ``seed`` and the run's own stream is left
    alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.stack([transform(image) for image in x.unbind(0)])


# AlexNet's PCA colour augmentation ("lighting") with ImageNet's RGB eigenvalues and
# eigenvectors (columns), as in fb.resnet.torch datasets/imagenet.lua, the code of He et al.'s
# 2015 ImageNet recipe; the std is 0.1 there and in Krizhevsky et al. 2012.
IMAGENET_EIGVAL = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)


def pca_lighting(
    x: torch.Tensor, std: float, channel_std: Sequence[float], generator: torch.Generator | None
) -> torch.Tensor:
    """AlexNet's lighting noise on a normalised RGB batch: each image gets
    ``eigvec @ (alpha * eigval)``, alpha ~ N(0, std^2) per image and component, added to its
    [0, 1] pixels. Normalisation is affine, so that is ``rgb / channel_std`` added here."""
    b = x.shape[0]
    eigval = torch.tensor(IMAGENET_EIGVAL, device=x.device)
    eigvec = torch.tensor(IMAGENET_EIGVEC, device=x.device)
    alpha = torch.randn(b, 3, generator=generator, device=x.device) * std
    rgb = (alpha * eigval) @ eigvec.T  # [B, 3]: sum_j eigvec[c, j] * alpha_j * eigval_j
    shift = rgb / torch.tensor(tuple(channel_std), device=x.device)
    return x + shift.to(x.dtype).view(b, 3, 1, 1)


class TrainBatchAugment:
    """The augmentations of a normalised training batch on its device, in this order: PCA
    lighting, random erasing (per image, erased to 0 = the mean colour), then MixUp or CutMix,
    which return class probabilities [B, classes] as targets. ``__call__(x, y, seed)``: every
    random draw is a function of ``seed``."""

    def __init__(
        self,
        *,
        num_classes: int,
        channel_std: Sequence[float],
        lighting: float = 0.0,
        random_erase: float = 0.0,
        mixup_alpha: float = 0.0,
        cutmix_alpha: float = 0.0,
    ) -> None:
        self.lighting = lighting
        self.channel_std = tuple(channel_std)
        if lighting > 0 and len(self.channel_std) != 3:
            raise DataError("PCA lighting needs RGB images")
        self.erase = v2.RandomErasing(p=random_erase, value=0) if random_erase > 0 else None
        mixers: list[v2.Transform] = []
        if mixup_alpha > 0:
            mixers.append(v2.MixUp(alpha=mixup_alpha, num_classes=num_classes))
        if cutmix_alpha > 0:
            mixers.append(v2.CutMix(alpha=cutmix_alpha, num_classes=num_classes))
        self.mix = v2.RandomChoice(mixers) if len(mixers) > 1 else (mixers or [None])[0]

    @property
    def enabled(self) -> bool:
        return self.lighting > 0 or self.erase is not None or self.mix is not None

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.lighting > 0:
            generator = torch.Generator(device=x.device).manual_seed(seed)
            x = pca_lighting(x, self.lighting, self.channel_std, generator)
        if self.erase is None and self.mix is None:
            return x, y
        fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else None
        with torch.random.fork_rng(devices=[]):  # torchvision draws on the CPU generator
            torch.manual_seed(seed)
            if self.erase is not None:
                x = torch.stack([self.erase(image) for image in x.unbind(0)])
            if self.mix is not None:
                x, y = self.mix(x, y)
        if fmt is not None:
            x = x.contiguous(memory_format=fmt)
        return x, y
