"""Whole datasets held as one uint8 tensor, their splits and their channel statistics."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from reslab.errors import DataError


@dataclass
class ArrayDataset:
    """A whole dataset held as one uint8 tensor."""

    images: torch.Tensor
    """uint8 [N, C, H, W], contiguous."""
    labels: torch.Tensor
    """int64 [N], class indices into ``classes``."""
    classes: list[str]
    """Class names; ``classes[label]`` names a sample's class."""
    name: str
    """Dataset and split, for messages and logs (for example ``cifar10/train``)."""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise DataError(
                f"{self.name}: images must be a uint8 [N, C, H, W] tensor, "
                f"got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels.dim() != 1 or len(self.labels) != len(self.images):
            raise DataError(
                f"{self.name}: expected one label per image, got {len(self.images)} images "
                f"and labels of shape {tuple(self.labels.shape)}"
            )
        self.images = self.images.contiguous()
        self.labels = self.labels.to(torch.int64)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        _, c, h, w = self.images.shape
        return (c, h, w)

    def subset(self, indices: torch.Tensor | Sequence[int]) -> ArrayDataset:
        """The samples at ``indices``, in that order, as a new dataset (data copied)."""
        index = torch.as_tensor(indices, dtype=torch.int64, device=self.images.device)
        return ArrayDataset(self.images[index], self.labels[index], list(self.classes), self.name)

    def to(self, device: str | torch.device) -> ArrayDataset:
        """The same dataset with its tensors on ``device``."""
        return ArrayDataset(
            self.images.to(device), self.labels.to(device), list(self.classes), self.name
        )


@dataclass
class DataSplits:
    """Train, optional validation and test sets, with the train split's channel statistics."""

    train: ArrayDataset
    val: ArrayDataset | None
    test: ArrayDataset
    mean: tuple[float, ...]
    """Per-channel mean of the train split, in [0, 1] units."""
    std: tuple[float, ...]
    """Per-channel standard deviation (population) of the train split, in [0, 1] units."""


def channel_stats(ds: ArrayDataset) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of ``ds`` in [0, 1] units, exact (from per-value counts)."""
    if len(ds) == 0:
        raise DataError(f"{ds.name}: cannot compute channel statistics of an empty dataset")
    values = torch.arange(256, dtype=torch.float64)
    means, stds = [], []
    for c in range(ds.image_shape[0]):
        counts = torch.bincount(ds.images[:, c].reshape(-1), minlength=256).to("cpu").double()
        n = counts.sum()
        mean = (counts * values).sum() / n
        var = (counts * (values - mean) ** 2).sum() / n
        means.append(float(mean) / 255.0)
        stds.append(float(var.sqrt()) / 255.0)
    return tuple(means), tuple(stds)


def stratified_split(
    labels: torch.Tensor, size: int | float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split sample indices into (rest, held_out), stratified by label and seeded.

    ``size`` is a count (int) or a fraction in (0, 1) of the samples to hold out. Both index
    tensors come back sorted, so subsets keep the original sample order.
    """
    from sklearn.model_selection import train_test_split

    n = len(labels)
    _check_size(size, n)
    y = labels.cpu().numpy()
    try:
        rest, held = train_test_split(np.arange(n), test_size=size, random_state=seed, stratify=y)
    except ValueError as exc:
        raise DataError(
            f"cannot split {n} samples into a stratified hold-out of {size}: {exc}"
        ) from None
    return torch.from_numpy(np.sort(rest)), torch.from_numpy(np.sort(held))


def check_holdout(size: int | float, n: int) -> None:
    """A validation split of ``size`` (a run's data.val_size) out of ``n`` training samples is
    possible, else one line naming the setting and a value that works."""
    try:
        _check_size(size, n)
    except DataError:
        suggest = max(1, n // 10)
        raise DataError(
            f"data.val_size={size} cannot be held out of the {n} training images: give a count "
            f"from 1 to {n - 1} or a fraction below 1 (e.g. data.val_size={suggest}), or "
            "data.val_size=0 for no validation split"
        ) from None


def _check_size(size: int | float, n: int) -> None:
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise DataError(f"a split size must be an int count or a float fraction, got {size!r}")
    if isinstance(size, numbers.Integral):
        if not 0 < size < n:
            raise DataError(
                f"a split count must be between 1 and {n - 1} for {n} samples, got {size}"
            )
    elif not 0.0 < size < 1.0:
        raise DataError(f"a split fraction must be in (0, 1), got {size}")
