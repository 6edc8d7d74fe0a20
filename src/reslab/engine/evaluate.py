"""Exact evaluation: every sample counted once, whatever the number of processes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from reslab.data.spec import InputSpec
from reslab.engine.config import split_size
from reslab.engine.distributed import DistInfo, all_reduce_sum
from reslab.engine.rundata import Batches
from reslab.engine.step import autocast_dtype


@dataclass
class EvalResult:
    count: int
    """Samples evaluated (each exactly once)."""
    loss: float
    top1_error: float
    """Percent."""
    top5_error: float
    """Percent (equal to 0 when there are 5 classes or fewer)."""
    per_class_accuracy: list[float | None] = field(default_factory=list)
    """Percent, one per class; None for a class with no images in the data."""
    confusion: list[list[int]] = field(default_factory=list)
    """confusion[true][predicted] counts."""
    classes: list[str] = field(default_factory=list)

    @property
    def top1_accuracy(self) -> float:
        return 100.0 - self.top1_error

    @property
    def top5_accuracy(self) -> float:
        return 100.0 - self.top5_error

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["top1_accuracy"] = self.top1_accuracy
        d["top5_accuracy"] = self.top5_accuracy
        return d


@torch.no_grad()
def run_eval(
    model: nn.Module,
    batches: Batches,
    num_classes: int,
    *,
    device: torch.device,
    precision: str = "fp32",
    info: DistInfo | None = None,
    classes: list[str] | None = None,
    on_device: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tta: Literal["none", "flip"] = "none",
) -> EvalResult:
    """Evaluate ``model`` over ``batches`` of (x, y); x may hold crops as [B, K, C, H, W].
    ``on_device`` finishes each batch once it is on the device (uint8 -> normalised).
    ``tta="flip"``: test-time augmentation, the softmax averaged over each image and its mirror
    image (with crops: over every crop and its mirror)."""
    if tta not in ("none", "flip"):
        raise ValueError(f"tta must be 'none' or 'flip', got {tta!r}")
    info = info or DistInfo()
    was_training = model.training
    model.eval()
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, top5 correct, count
    dtype = autocast_dtype(precision)
    k = min(5, num_classes)
    for batch in batches:
        if batch is None:  # every image of it was a bad file, skipped
            continue
        x, y = batch
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if on_device is not None:
            x = on_device(x)
        crops = x.shape[1] if x.ndim == 5 else 0
        if crops:
            x = x.flatten(0, 1)
        views = [x, x.flip(-1)] if tta == "flip" else [x]
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            outs = [model(v).float() for v in views]
        logits = outs[0]
        if crops or len(outs) > 1:  # average the views' probabilities (10-crop, flip TTA)
            probs = torch.stack([o.softmax(1) for o in outs]).mean(0)
            probs = probs.view(-1, crops or 1, num_classes).mean(1)
            loss = F.nll_loss(probs.clamp_min(1e-12).log(), y, reduction="sum")
        else:
            probs = logits
            loss = F.cross_entropy(logits, y, reduction="sum")
        topk = probs.topk(k, dim=1).indices
        confusion.index_put_((y, topk[:, 0]), torch.ones_like(y), accumulate=True)
        sums[0] += loss.double()
        sums[1] += (topk == y[:, None]).any(1).sum()
        sums[2] += y.numel()
    all_reduce_sum(confusion, info)
    all_reduce_sum(sums, info)
    model.train(was_training)
    count = int(sums[2].item())
    if count == 0:
        return EvalResult(0, float("nan"), float("nan"), float("nan"), classes=classes or [])
    conf = confusion.cpu()
    correct = conf.diag()
    counts = conf.sum(1)
    # a class with no images here (a folder holding some of the model's classes) has no accuracy
    per_class = [
        100.0 * float(c) / float(n) if n else None
        for c, n in zip(correct.tolist(), counts.tolist())
    ]
    return EvalResult(
        count=count,
        loss=float(sums[0].item() / count),
        # wrong / count, not 1 - right / count: 19 of 100 is 19.0, not 18.999999999999993
        top1_error=100.0 * (count - int(correct.sum().item())) / count,
        top5_error=100.0 * (count - int(sums[1].item())) / count,
        per_class_accuracy=per_class,
        confusion=conf.tolist(),
        classes=list(classes or [str(i) for i in range(num_classes)]),
    )


def evaluate(
    source: str | Path,
    *,
    data: str | None = None,
    root: str | None = None,
    split: str = "test",
    batch_size: int = 500,
    device: str = "auto",
    ten_crop: bool = False,
    tta: Literal["none", "flip"] = "none",
    image_size: int | None = None,
    resize: int | None = None,
) -> EvalResult:
    """Evaluate weights on a dataset: a run directory, a reslab .safetensors file, a checkpoint
    of a run, or published weights by name ('resnet56.cifar10', 'resnet50.IMAGENET1K_V2').

    The dataset defaults to the one the run was trained on. Every image goes through the input
    spec recorded with the weights (:class:`~reslab.data.spec.InputSpec`), as in ``reslab
    predict``: CIFAR weights take 32x32 images untouched, ImageNet weights a resize and centre
    crop. Classes are matched by name, so a folder whose class folders sort differently from the
    model's classes, or hold only some of them, is scored right. ``tta="flip"`` averages each
    image's softmax with its mirror image's. Image folders: ``image_size`` (centre crop) and
    ``resize`` (shorter side first) replace the recorded sizes, e.g. a net trained on 176 crops
    tested at 224 after a 232 resize.
    """
    from reslab import data as rdata
    from reslab.data.transforms import DeviceNormalize
    from reslab.engine.rundata import resolve_device
    from reslab.errors import ConfigError, DataError
    from reslab.inference import load_for_inference

    for key, value in (("batch_size", batch_size), ("image_size", image_size), ("resize", resize)):
        if value is not None and value < 1:
            raise ConfigError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    model, meta = load_for_inference(source)
    spec = InputSpec.from_meta(meta)
    dev = resolve_device(device, given_as="--device")
    model.to(dev)
    name = data or meta.get("data")
    if not name:
        raise ConfigError(
            f"{source} does not record its dataset: pass --data NAME (cifar10, ..., or folder "
            "with --root DIR)"
        )
    if root is None and name == meta.get("data"):
        root = meta.get("root") or _run_data_root(Path(source))  # where the run found its data
        if root and not Path(root).exists() and not (meta.get("download") or False):
            raise DataError(
                f"{root}, where {source} found its {name} data, does not exist here (moved, or "
                "another machine): pass --root DIR, the data's folder now"
            )
    num_classes = int(meta["num_classes"])
    if data is not None:
        rdata.catalog.check_dataset_name(name, "an image folder, with --root DIR")
    if name == "folder" or (root and Path(root).is_dir() and name not in rdata.DATASETS):
        loader, labels = _folder_loader(
            spec, meta, name, root, split, batch_size, ten_crop, image_size, resize, model
        )
        on_device = DeviceNormalize(spec.mean, spec.std)
    else:
        if image_size is not None or resize is not None:
            raise ConfigError(
                f"image_size and resize are for image folders; {name} is evaluated at its own size"
            )
        if ten_crop:
            raise ConfigError(f"10-crop testing is for image folders; {name} is not one")
        loader, labels = _array_loader(spec, meta, name, root, split, batch_size, dev, model)
        on_device = None
    return run_eval(
        model,
        _relabelled(loader, labels),
        num_classes,
        device=dev,
        classes=list(spec.classes),
        on_device=on_device,
        tta=tta,
    )


def _folder_loader(
    spec: InputSpec,
    meta: dict[str, Any],
    name: str,
    root: str | None,
    split: str,
    batch_size: int,
    ten_crop: bool,
    image_size: int | None,
    resize: int | None,
    model: nn.Module,
) -> tuple[Any, torch.Tensor]:
    """A folder's ``split`` as uint8 batches through ``spec`` (with the caller's sizes), and the
    model output each of its classes stands for."""
    from torchvision.transforms import v2

    from reslab import data as rdata
    from reslab.data.transforms import gray_uint8, spec_transform
    from reslab.engine.rundata import ShardSampler
    from reslab.errors import ConfigError, DataError

    if not root:
        raise ConfigError(
            "--data folder needs --root DIR: a folder with test/ (or val/), or the split"
        )
    folder = Path(root)
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist or is not a folder: pass the image folder")
    # a run's data.root holds train/ and val/ (or test/); a folder given by hand is the split.
    # A run that held a validation split out of train/ (data.val_size) finds it there again.
    holdout = split_size(meta.get("val_size") or 0, "val_size") if name == meta.get("data") else 0
    folder = _split_folder(folder, split, bool(holdout))
    held_out = bool(holdout) and split in ("train", "val") and folder.name == "train"
    if image_size is not None or resize is not None:
        size = image_size or spec.image_size[0]
        if resize is None and not spec.native:
            resize = round(size * 256 / 224)  # the ImageNet ratio, at the new size
        spec = replace(spec, image_size=(size, size), resize=resize)
    if model.in_channels not in (1, 3):
        raise ConfigError(
            f"{folder} holds images but the model takes {model.in_channels} channels; "
            "a folder can feed 1 (grey) or 3 (RGB)"
        )
    tf: Any = spec_transform(spec, ten_crop=ten_crop)
    gray = model.in_channels == 1  # turned grey as reslab predict turns them
    if gray:
        tf = v2.Compose([gray_uint8, tf])
    # uint8 until the device; a bad file is left out, not replaced (counted once, or not)
    ds: Any = rdata.ImageFolder(folder, tf, decode="pil" if gray else "uint8", bad="skip")
    labels = torch.tensor(spec.label_map(ds.classes, str(folder)))
    if held_out:
        from reslab.data import folder_split

        rest, held = folder_split(ds, holdout, int(meta.get("split_seed", 0)))
        ds = torch.utils.data.Subset(ds, held if split == "val" else rest)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=batch_size,
        num_workers=rdata.default_workers(),
        sampler=ShardSampler(len(ds), DistInfo()),
        collate_fn=rdata.collate_channels_last,
    )
    return loader, labels


def _split_folder(root: Path, split: str, held_out: bool) -> Path:
    """The folder that holds ``split``: test/ (else val/, ImageNet's name for its test images,
    else ``root`` itself, given as the split); val/ (else train/ when the run held a validation
    split out of it); train/. A split that is not there is one line saying so."""
    from reslab.errors import DataError

    if split == "test":
        return next((root / n for n in ("test", "val") if (root / n).is_dir()), root)
    if split == "val" and (root / "val").is_dir() and (root / "test").is_dir():
        return root / "val"  # val/ beside test/ is a validation split of its own
    if (split == "train" or held_out) and (root / "train").is_dir():
        return root / "train"
    what = (
        "no train/ folder"
        if split == "train"
        else "no val/ folder beside test/, and these weights record no validation split "
        "held out of train/ (data.val_size)"
    )
    raise DataError(f"{root} has {what}: use --split test, or --root the folder of that split")


def _array_loader(
    spec: InputSpec,
    meta: dict[str, Any],
    name: str,
    root: str | None,
    split: str,
    batch_size: int,
    device: torch.device,
    model: nn.Module,
) -> tuple[Any, torch.Tensor]:
    """A built-in dataset's ``split`` as normalised batches (the spec's mean and std), and the
    model output each of its classes stands for."""
    from reslab import data as rdata
    from reslab.errors import ConfigError

    same_data = name == meta.get("data")
    splits = rdata.load_splits(
        name,
        root,
        # the run's own train/val split; runs from before split_seed split with train.seed
        val_size=split_size(meta.get("val_size") or 0, "val_size") if same_data else 0,
        seed=int(meta.get("split_seed", meta.get("seed", 0))),
    )
    ds = {"test": splits.test, "val": splits.val, "train": splits.train}.get(split)
    if ds is None:
        raise ConfigError(
            f"these weights record no validation split of {name} (a run's data.val_size): "
            "use --split test or --split train"
        )
    if ds.image_shape[0] != model.in_channels:
        raise ConfigError(
            f"{name} has {ds.image_shape[0]}-channel images but the model expects "
            f"{model.in_channels}"
        )
    if tuple(ds.image_shape[1:]) != spec.image_size:
        raise ConfigError(
            f"{name} has {ds.image_shape[1]}x{ds.image_shape[2]} images but the model takes "
            f"{spec.image_size[0]}x{spec.image_size[1]}"
        )
    labels = torch.tensor(spec.label_map(ds.classes, name))
    aug = rdata.BatchAugment(rdata.AugmentConfig(), spec.mean, spec.std)
    loader = rdata.DeviceLoader(
        ds, batch_size, augment=aug, train=False, shuffle=False, drop_last=False, device=device
    )
    return loader, labels


def _relabelled(batches: Any, labels: torch.Tensor) -> Batches:
    """``batches`` with each dataset label replaced by the model output it stands for."""
    identity = torch.equal(labels, torch.arange(len(labels)))
    for batch in batches:
        if batch is None or identity:
            yield batch
            continue
        x, y = batch
        yield x, labels.to(y.device)[y]


def _run_data_root(source: Path) -> str | None:
    """data.root from the config.yaml of the run that ``source`` (a run directory, its weights
    or one of its checkpoints) belongs to; None where there is no such file."""
    import yaml

    for d in (source, source.parent, source.parent.parent):
        config = d / "config.yaml"
        if d.is_dir() and config.is_file():
            try:
                saved = yaml.safe_load(config.read_text()) or {}
            except (OSError, yaml.YAMLError):
                return None
            root = (saved.get("data") or {}).get("root") if isinstance(saved, dict) else None
            return str(root) if root else None
    return None
