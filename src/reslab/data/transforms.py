"""Per-image transforms for ImageNet-style folders and for prediction (torchvision.transforms.v2).

Training on a folder keeps images uint8 until they are on the training device: the workers
decode, crop, resize and flip uint8 tensors (``normalise=False``), batches are collated and
pinned as uint8 (a quarter of float32's bytes), and :class:`DeviceNormalize` turns them into
normalised floats on the device, a whole batch at once.

The uint8 images stay in channels-last memory (height, width, channel), the layout the JPEG
decoder writes: torch's antialiased uint8 resize is vectorised for it (about 1.7x faster than
on planar images, the same pixels), and :func:`collate_channels_last` stacks such images with
one contiguous copy each (planar stacking would transpose every pixel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from reslab.data.augment import auto_augment_policy
from reslab.data.folder import to_rgb
from reslab.data.spec import InputSpec
from reslab.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class RandomResizedCrop(v2.RandomResizedCrop):
    """torchvision's ``v2.RandomResizedCrop`` (the same random draws, the same pixels), with
    the crop of a uint8 CPU image copied into channels-last memory before it is resized, so the
    resize takes torch's vectorised uint8 path (see the module docs)."""

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not _plain_uint8_cpu(inpt):
            return super().transform(inpt, params)
        top, left, height, width = (params[k] for k in ("top", "left", "height", "width"))
        crop = as_channels_last(inpt[:, top : top + height, left : left + width])
        out = TF.resize(crop, list(self.size), self.interpolation, antialias=self.antialias)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.Image) else out


def _plain_uint8_cpu(x: Any) -> bool:
    return (
        type(x) in (torch.Tensor, tv_tensors.Image)
        and x.dtype == torch.uint8
        and x.ndim == 3
        and x.device.type == "cpu"
    )


def as_channels_last(image: torch.Tensor) -> torch.Tensor:
    """A [C, H, W] image with its pixels stored (H, W, C): compact, no copy if already so."""
    return image.permute(1, 2, 0).contiguous().permute(2, 0, 1)


def collate_channels_last(batch: Sequence[Any]) -> Any:
    """``default_collate`` for (uint8 [C, H, W] image, label) samples whose images share a
    shape: the batch is [B, C, H, W] in channels-last memory, each image copied in with one
    contiguous copy (into shared memory in a DataLoader worker, as ``default_collate`` does).
    Any other batch goes to ``default_collate``. None samples (bad files an evaluation
    :class:`~reslab.data.folder.ImageFolder` skips) are left out; a batch of nothing else is
    None."""
    from torch.utils.data import default_collate, get_worker_info

    batch = [s for s in batch if s is not None]
    if not batch:
        return None
    first = batch[0][0] if isinstance(batch[0], (tuple, list)) else None
    if not (
        isinstance(first, torch.Tensor)
        and first.dtype == torch.uint8
        and first.ndim == 3
        and all(
            len(s) == 2
            and isinstance(s[0], torch.Tensor)
            and s[0].dtype == torch.uint8
            and s[0].shape == first.shape
            for s in batch
        )
    ):
        return default_collate(batch)
    c, h, w = first.shape
    out = None
    if get_worker_info() is not None:  # shared memory: the batch is not copied again to send it
        storage = first._typed_storage()._new_shared(len(batch) * c * h * w, device=first.device)
        out = first.new(storage).resize_(len(batch), h, w, c)
    images = torch.stack([s[0].permute(1, 2, 0) for s in batch], out=out)
    labels = default_collate([s[1] for s in batch])
    return images.permute(0, 3, 1, 2), labels


def _to_normalised(mean: Sequence[float], std: Sequence[float]) -> list[v2.Transform]:
    return [
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(mean), list(std)),
        v2.ToPureTensor(),
    ]


def imagenet_train_transform(
    size: int = 224,
    *,
    scale_aug: bool = False,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    normalise: bool = True,
    auto_augment: str = "none",
) -> v2.Compose:
    """Training crops: RandomResizedCrop + flip, or with ``scale_aug`` the paper's recipe;
    ``auto_augment`` ("trivialaugment", "randaugment") adds that torchvision policy after the
    flip, on the uint8 crop, as torchvision's reference recipes do.

    The paper's scale augmentation resizes the shorter side to a random length in [256, 480]
    (scaled by size/224), takes a random ``size`` crop and flips it. The paper's colour
    augmentation (PCA lighting) runs on the device: ``data.lighting``,
    :class:`~reslab.data.augment.TrainBatchAugment`. Takes a PIL image or a uint8 [3, H, W] tensor; returns a
    normalised float tensor, or with ``normalise=False`` a uint8 one (normalise it with
    :class:`DeviceNormalize`).
    """
    if scale_aug:
        shortest_lo, shortest_hi = round(size * 256 / 224), round(size * 480 / 224)
        geometry = [
            v2.RandomResize(shortest_lo, shortest_hi + 1, antialias=True),
            v2.RandomCrop(size),
        ]
    else:
        geometry = [RandomResizedCrop(size, antialias=True)]
    last = _to_normalised(mean, std) if normalise else [v2.ToPureTensor()]
    policy = auto_augment_policy(auto_augment)
    colour = [policy] if policy is not None else []
    return v2.Compose([v2.ToImage(), *geometry, v2.RandomHorizontalFlip(), *colour, *last])


def eval_transform(
    size: int = 224,
    resize: int = 256,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    normalise: bool = True,
) -> v2.Compose:
    """Single-view evaluation: shorter side to ``resize``, centre ``size`` crop (normalised
    float, or uint8 with ``normalise=False``)."""
    last = _to_normalised(mean, std) if normalise else [v2.ToPureTensor()]
    return v2.Compose([v2.ToImage(), v2.Resize(resize, antialias=True), v2.CenterCrop(size), *last])


class DeviceNormalize:
    """uint8 images [..., C, H, W] (a batch, or a batch of crops) to normalised float32, on
    whatever device they are: ``(x / 255 - mean) / std`` as one multiply-add per element.

    Set as ``RunData.on_device`` for folder training; ``channels_last`` returns a 4-D batch in
    NHWC memory (the model's format, when it trains channels_last).
    """

    def __init__(
        self, mean: Sequence[float], std: Sequence[float], *, channels_last: bool = False
    ) -> None:
        if len(mean) != len(std):
            raise DataError(f"mean and std differ in length ({len(mean)} vs {len(std)})")
        self.mean, self.std = tuple(mean), tuple(std)
        self.channels_last = channels_last
        self._constants: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def _scale_shift(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._constants:
            mean = torch.tensor(self.mean, dtype=torch.float64)
            std = torch.tensor(self.std, dtype=torch.float64)
            scale, shift = 1.0 / (255.0 * std), -mean / std
            self._constants[device] = (
                scale.float().view(-1, 1, 1).to(device),
                shift.float().view(-1, 1, 1).to(device),
            )
        return self._constants[device]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            raise TypeError(f"DeviceNormalize takes uint8 images, got {x.dtype}")
        if x.shape[-3] != len(self.mean):
            raise DataError(f"{x.shape[-3]}-channel images for a {len(self.mean)}-value mean")
        fmt = torch.channels_last if self.channels_last and x.ndim == 4 else torch.contiguous_format
        scale, shift = self._scale_shift(x.device)
        return x.to(torch.float32, memory_format=fmt).mul_(scale).add_(shift)


class StackCrops:
    """Stack a tuple of equally sized crops into one [N, C, H, W] tensor."""

    def __call__(self, crops: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.stack([torch.as_tensor(c) for c in crops])


def ten_crop_transform(
    size: int = 224,
    resize: int = 256,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    normalise: bool = True,
) -> v2.Compose:
    """The paper's 10-crop testing: four corners and centre, and their flips, as [10, C, H, W]
    (uint8 with ``normalise=False``, for :class:`DeviceNormalize` on the device)."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(resize, antialias=True),
            *(_to_normalised(mean, std) if normalise else [v2.ToPureTensor()]),
            v2.TenCrop(size),
            StackCrops(),
        ]
    )


class CoverCrop:
    """The native-size rule of :class:`~reslab.data.spec.InputSpec` (``resize=None``) on a
    uint8 [C, H, W] image: an image of ``size`` is returned as it is; any other is scaled just
    enough to cover ``size`` (an exact resize when the aspect ratios match) and
    centre-cropped."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = (int(size[0]), int(size[1]))

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        height, width = self.size
        h, w = image.shape[-2:]
        if (h, w) == (height, width):
            return image
        scale = max(height / h, width / w)
        covering = [max(height, round(h * scale)), max(width, round(w * scale))]
        image = TF.resize(image, covering, antialias=True)
        return TF.center_crop(image, [height, width])


def spec_transform(spec: InputSpec, *, ten_crop: bool = False) -> v2.Compose:
    """The evaluation geometry ``spec`` prescribes, on a uint8 [C, H, W] image (as decoded by
    :func:`~reslab.data.folder.decode_image_file`), returning uint8 [C, H, W] (or [10, C, H, W]
    with ``ten_crop``); :class:`DeviceNormalize` with the spec's mean and std finishes it.
    ``reslab eval`` on a folder, a run's evaluation of a folder and ``reslab predict`` all use
    this one function, so they feed a model the same pixels."""
    size = list(spec.image_size)
    if spec.resize is None:
        if ten_crop:
            raise DataError(
                "10-crop testing needs a resize larger than the crop (ImageNet-style weights); "
                f"these take images at their native {size[0]}x{size[1]}"
            )
        geometry: list[Any] = [CoverCrop(spec.image_size)]
    elif ten_crop:
        geometry = [v2.Resize(spec.resize, antialias=True), v2.TenCrop(size), StackCrops()]
    else:
        geometry = [v2.Resize(spec.resize, antialias=True), v2.CenterCrop(size)]
    return v2.Compose([v2.ToImage(), *geometry, v2.ToPureTensor()])


def gray_uint8(image: Image.Image) -> torch.Tensor:
    """An RGB image as the uint8 [1, H, W] a 1-channel model is fed: PIL's luma (ITU-R 601-2),
    in ``reslab predict`` and ``reslab eval`` alike."""
    return TF.pil_to_tensor(image.convert("L"))


def prepare_file(path: str | Any, spec: InputSpec) -> torch.Tensor:
    """One image file as the normalised float [C, H, W] input of a model with ``spec``:
    decoded by the training and evaluation decoder, the spec's geometry, then the same
    arithmetic as :class:`DeviceNormalize`. Raises DataError for a file that is not an image."""
    from reslab.data.folder import decode_image_file, load_image

    if spec.in_channels == 3:
        image = decode_image_file(path)
    elif spec.in_channels == 1:
        image = gray_uint8(load_image(path))
    else:
        raise DataError(f"cannot prepare images for {spec.in_channels} input channels; use 1 or 3")
    image = spec_transform(spec)(image)
    return DeviceNormalize(spec.mean, spec.std)(image)


def preprocess_for_model(
    image: Image.Image,
    *,
    image_size: tuple[int, int],
    in_channels: int,
    mean: Sequence[float],
    std: Sequence[float],
    resize: int | None = None,
) -> torch.Tensor:
    """One image as the float [C, H, W] input a model trained on ``image_size`` expects.

    Grayscale when ``in_channels`` is 1, else RGB. With ``resize`` the shorter side goes to
    ``resize`` before the centre crop; without it the image is scaled just enough to cover
    ``image_size`` (an exact resize when the aspect ratios match) and centre-cropped.
    """
    if in_channels not in (1, 3):
        raise DataError(f"cannot prepare images for {in_channels} input channels; use 1 or 3")
    if len(mean) != in_channels or len(std) != in_channels:
        raise DataError(
            f"mean/std have {len(mean)}/{len(std)} values for a {in_channels}-channel model"
        )
    image = to_rgb(image)
    if in_channels == 1:
        image = image.convert("L")
    tensor = TF.pil_to_tensor(image)
    height, width = image_size
    if resize is not None:
        tensor = TF.resize(tensor, [resize], antialias=True)
    else:
        scale = max(height / image.height, width / image.width)
        covering = [
            max(height, round(image.height * scale)),
            max(width, round(image.width * scale)),
        ]
        tensor = TF.resize(tensor, covering, antialias=True)
    tensor = TF.center_crop(tensor, [height, width])
    tensor = TF.to_dtype(tensor, torch.float32, scale=True)
    return TF.normalize(tensor, list(mean), list(std))
