"""What a model takes as input, recorded once beside its weights and read by every consumer.

An :class:`InputSpec` says how an image file becomes a model input: its size, the resize
rule, the normalisation, the channels, and the class names the outputs stand for. A training
run writes it into ``model.json`` and the final weights' metadata; published weights carry
their own. Training evaluation, ``reslab eval``, ``reslab predict`` and export all read the
same spec, so the same file gives the same input whichever of them reads it.

The resize rule has two forms:

- ``resize=N`` (ImageNet style): the shorter side goes to N, then the centre
  ``image_size`` crop (torchvision's Resize(256) + CenterCrop(224));
- ``resize=None`` (native size): an image already at ``image_size`` is used as it is; any
  other is scaled just enough to cover ``image_size`` and centre-cropped. A CIFAR net is
  fed its 32x32 images untouched, never zoomed.

This module imports neither torchvision nor PIL, so models and the CLI can read a spec cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reslab.errors import ConfigError


@dataclass(frozen=True)
class InputSpec:
    """How an image becomes an input of one model (see the module docs for the resize rule)."""

    image_size: tuple[int, int]
    """(height, width) the model is fed."""
    mean: tuple[float, ...]
    """Per-channel mean subtracted from pixels scaled to [0, 1]."""
    std: tuple[float, ...]
    """Per-channel std the pixels are divided by after the mean."""
    resize: int | None = None
    """Shorter side before the centre crop; None: native size (an image at ``image_size`` as
    it is, another scaled just enough to cover it)."""
    in_channels: int = 3
    """1: images are converted to grayscale; 3: to RGB."""
    classes: tuple[str, ...] = field(default=())
    """What each output stands for, in output order."""

    def __post_init__(self) -> None:
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ConfigError(f"image_size must be (height, width), got {self.image_size}")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ConfigError(
                f"mean/std have {len(self.mean)}/{len(self.std)} values for "
                f"{self.in_channels} channel(s)"
            )
        if self.resize is not None and self.resize < min(self.image_size):
            raise ConfigError(
                f"resize {self.resize} is smaller than the {self.image_size} crop it precedes"
            )

    @property
    def native(self) -> bool:
        """True when images are fed at their own size (no ImageNet-style resize)."""
        return self.resize is None

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> InputSpec:
        """The spec recorded in a weights file's metadata (``model.json``'s keys)."""
        num_classes = int(meta.get("num_classes") or len(meta.get("classes") or ()))
        classes = meta.get("classes") or [str(i) for i in range(num_classes)]
        resize = meta.get("resize")
        return cls(
            image_size=(int(meta["image_size"][0]), int(meta["image_size"][1])),
            mean=tuple(float(v) for v in meta["mean"]),
            std=tuple(float(v) for v in meta["std"]),
            resize=None if resize is None else int(resize),
            in_channels=int(meta.get("in_channels", 3)),
            classes=tuple(str(c) for c in classes),
        )

    def as_meta(self) -> dict[str, Any]:
        """The spec as ``model.json`` and weights metadata store it."""
        return {
            "image_size": list(self.image_size),
            "resize": self.resize,
            "mean": list(self.mean),
            "std": list(self.std),
            "in_channels": self.in_channels,
            "classes": list(self.classes),
        }

    def describe(self) -> str:
        """One line for logs and ``reslab eval``: what an image goes through."""
        h, w = self.image_size
        geometry = (
            f"native {h}x{w} (other sizes scaled to cover it, centre-cropped)"
            if self.native
            else f"shorter side to {self.resize}, centre {h}x{w} crop"
        )
        channels = "grayscale" if self.in_channels == 1 else "RGB"
        mean = ", ".join(f"{v:.4f}" for v in self.mean)
        std = ", ".join(f"{v:.4f}" for v in self.std)
        return f"{channels}, {geometry}, mean ({mean}), std ({std})"

    def label_map(self, data_classes: Sequence[str], where: str) -> list[int]:
        """For each class of a dataset (in its label order), the model output that stands for
        it, matched by name: folders sorted differently from the model's classes, or holding
        only some of them, are scored right. A class the model does not know is refused with
        both lists. A model whose classes were never named ('0', '1', ...) is matched by
        position when the counts agree."""
        model = list(self.classes)
        index = {name: i for i, name in enumerate(model)}
        missing = [c for c in data_classes if c not in index]
        if not missing:
            return [index[c] for c in data_classes]
        unnamed = model == [str(i) for i in range(len(model))]
        if unnamed and len(data_classes) == len(model):
            return list(range(len(model)))
        raise ConfigError(
            f"{where} has classes the model does not predict ({', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}): its classes are [{', '.join(data_classes)}]"
            f", the model's are [{', '.join(model)}]; rename the folders to the model's names"
        )


__all__ = ["InputSpec"]
