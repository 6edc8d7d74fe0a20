"""Where images come from and how they are augmented.

- built-in datasets held whole as uint8 tensors (:func:`load_splits`, :class:`ArrayDataset`);
- official archives fetched and verified (:func:`download`);
- image folders for ImageNet-style data and prediction (:class:`ImageFolder`, transforms);
- batched device-side augmentation and the in-memory loader (:class:`BatchAugment`,
  :class:`DeviceLoader`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reslab.data.arrays import ArrayDataset, DataSplits, channel_stats, stratified_split
from reslab.data.augment import AugmentConfig, BatchAugment
from reslab.data.catalog import DATASETS, default_root, load_splits, make_synthetic

# note: this binds reslab.data.download to the function; the module is
# importlib.import_module("reslab.data.download")
from reslab.data.download import ARCHIVES, Archive, download, safe_extract, verify_file
from reslab.data.folder import BadImageWarning, ImageFolder, folder_split, load_image
from reslab.data.folder_arrays import default_workers, load_folder_splits, read_folder_arrays
from reslab.data.loader import DeviceLoader
from reslab.data.spec import InputSpec

if TYPE_CHECKING:  # pragma: no cover
    from reslab.data.transforms import (
        IMAGENET_MEAN,
        IMAGENET_STD,
        collate_channels_last,
        eval_transform,
        imagenet_train_transform,
        preprocess_for_model,
        ten_crop_transform,
    )

_TRANSFORMS = (
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "collate_channels_last",
    "eval_transform",
    "imagenet_train_transform",
    "preprocess_for_model",
    "ten_crop_transform",
)

__all__ = [
    "ARCHIVES",
    "DATASETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Archive",
    "ArrayDataset",
    "AugmentConfig",
    "BadImageWarning",
    "BatchAugment",
    "DataSplits",
    "DeviceLoader",
    "ImageFolder",
    "InputSpec",
    "channel_stats",
    "collate_channels_last",
    "default_root",
    "default_workers",
    "download",
    "eval_transform",
    "folder_split",
    "imagenet_train_transform",
    "load_folder_splits",
    "load_image",
    "load_splits",
    "make_synthetic",
    "preprocess_for_model",
    "read_folder_arrays",
    "safe_extract",
    "stratified_split",
    "ten_crop_transform",
    "verify_file",
]


def __getattr__(name: str) -> Any:
    # torchvision takes over a second to import; only transform users should pay for it.
    if name in _TRANSFORMS:
        from reslab.data import transforms

        return getattr(transforms, name)
    raise AttributeError(f"module 'reslab.data' has no attribute {name!r}")
