"""Batched augmentation on the device that holds the batch: whole-batch tensor ops, no loops.

The paper's CIFAR recipe (section 4.2) is ``AugmentConfig(crop_pad=4, flip=True)``: pad 4
zero pixels on each side, take a random 32x32 crop, flip half the images horizontally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

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

    def __post_init__(self) -> None:
        if self.crop_pad < 0:
            raise DataError(f"crop_pad must be >= 0, got {self.crop_pad}")
        if not 0.0 <= self.color_jitter < 1.0:
            raise DataError(f"color_jitter must be in [0, 1), got {self.color_jitter}")
        if self.rotate_deg < 0:
            raise DataError(f"rotate_deg must be >= 0, got {self.rotate_deg}")


class BatchAugment:
    """uint8 [B, C, H, W] -> augmented, normalised float32 [B, C, H, W] on the same device.

    All randomness comes from the ``generator`` passed per call, so a batch is reproduced
    exactly by reseeding it. Crop and flip are one gather on the uint8 data, rotation and
    jitter run on floats in [0, 255], and normalisation is one multiply-add at the end.
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

    def __call__(
        self, images_u8: torch.Tensor, generator: torch.Generator | None, train: bool
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
