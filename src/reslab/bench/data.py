"""`reslab bench --suite data`: the image-folder input pipeline, per worker core.

Decode + augment + collate img/s of one core (one thread, as in a DataLoader worker) for
reslab's training pipeline (``engine.folder_setup.train_folder``: uint8 tensors from
torchvision's JPEG decoder, RandomResizedCrop + flip in uint8 in channels-last memory, uint8
batches collated by ``collate_channels_last`` as its DataLoaders do) against the
torchvision reference (``torchvision.datasets.ImageFolder`` + PIL + RandomResizedCrop + flip +
ToTensor + Normalize, float batches), timed in alternating windows in the same process, on a
folder of JPEGs cut from real photos (scikit-learn's sample images, 500x375, quality 90).
reslab's batches still need normalising on the device; that cost is measured per image too
(on this machine's CPU), beside the per-image profile of each pipeline's stages.
Moving batches between processes is not included (it favours the reference, whose float
batches are four times larger).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SIZE = (500, 375)
"""Width and height of the benchmark's JPEGs (a typical ImageNet photo)."""
QUALITY = 90


@dataclass
class DataResult:
    images: int
    """JPEGs in the folder."""
    size: int
    """Training crop (size x size)."""
    batch: int
    img_s: float
    """reslab, median over rounds, one core."""
    ref_img_s: float
    ratio: float
    """Median over rounds of (reslab / reference) img/s."""
    normalise_ms: float
    """reslab's on-device normalisation per image, measured on the CPU."""
    decode_ceiling: float = 0.0
    """The ratio if every stage but decoding were free: the reference's ms per image over
    reslab's decode alone (from the profile). A target above it needs a faster decoder."""
    rounds: list[dict[str, float]] = field(default_factory=list)
    profile: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per pipeline, ms per image per stage."""
    target: float = 2.5
    env: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_jpegs(root: Path, n: int, *, seed: int = 0) -> Path:
    """root/train/<photo>/<i>.jpg: ``n`` random 500x375 crops of the two sample photos."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images()
    rng = np.random.default_rng(seed)
    width, height = SIZE
    for i in range(n):
        k = i % len(photos.images)
        photo = photos.images[k]
        top = int(rng.integers(0, photo.shape[0] - height + 1))
        left = int(rng.integers(0, photo.shape[1] - width + 1))
        folder = root / "train" / Path(photos.filenames[k]).stem
        folder.mkdir(parents=True, exist_ok=True)
        crop = Image.fromarray(photo[top : top + height, left : left + width])
        crop.save(folder / f"{i:05d}.jpg", quality=QUALITY)
    return root / "train"


def reference_dataset(root: Path, size: int):
    """The torchvision reference: its ImageFolder (PIL) and per-sample float transforms."""
    from torchvision import datasets
    from torchvision import transforms as T

    from reslab.data.transforms import IMAGENET_MEAN, IMAGENET_STD

    return datasets.ImageFolder(
        str(root),
        T.Compose(
            [
                T.RandomResizedCrop(size),
                T.RandomHorizontalFlip(),
                T.ToTensor(),
                T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            ]
        ),
    )


def _window(dataset, order: Sequence[int], start: int, batch: int, collate: Callable) -> float:
    """Seconds to load and collate one batch of ``dataset``."""
    t0 = time.perf_counter()
    collate([dataset[order[(start + j) % len(order)]] for j in range(batch)])
    return time.perf_counter() - t0


def run_data_bench(
    images: int = 256,
    *,
    size: int = 224,
    batch: int = 32,
    windows: int = 15,
    log: Callable[[str], None] = print,
) -> DataResult:
    """Measure reslab's folder pipeline against the torchvision reference (see module docs)."""
    import torch
    from torch.utils.data import default_collate

    from reslab.bench.runner import CpuMeter
    from reslab.data.transforms import collate_channels_last
    from reslab.engine.folder_setup import train_folder
    from reslab.utils.env import environment

    torch.set_num_threads(1)  # one core, as in a DataLoader worker
    with tempfile.TemporaryDirectory(prefix="reslab-bench-data-") as tmp:
        root = write_jpegs(Path(tmp), images)
        ours, ref = train_folder(root, size), reference_dataset(root, size)
        order = torch.randperm(images, generator=torch.Generator().manual_seed(0)).tolist()
        batch = min(batch, images)
        # each side with the collate function its DataLoader uses
        sides = [("fast", ours, collate_channels_last), ("ref", ref, default_collate)]
        for _, ds, collate in sides:  # warm-up: first touches of the files and the code paths
            _window(ds, order, 0, batch, collate)
        meter = CpuMeter()
        rounds = []
        for i in range(windows):
            meter.start()
            start = i * batch
            timed = {}
            for key, ds, collate in sides if i % 2 == 0 else reversed(sides):
                timed[key] = batch / _window(ds, order, start, batch, collate)
            timed["load"] = meter.foreign_load()
            rounds.append(timed)
            log(f"  round {i + 1}: reslab {timed['fast']:.0f} img/s, reference "
                f"{timed['ref']:.0f} img/s")  # fmt: skip
        some = order[: 4 * batch]  # the profile's images, each pipeline on the same ones
        profile = {
            "torchvision reference": profile_reference(root, size, some),
            "reslab before (PIL, float in the worker)": profile_before(root, size, some),
            "reslab (uint8 until the device)": profile_reslab(root, size, some),
        }
        ours_ms = profile["reslab (uint8 until the device)"]
        normalise_ms = ours_ms["normalise on the device (CPU)"]
        reference_ms = profile["torchvision reference"]["total"]
        decode_ceiling = reference_ms / max(ours_ms["decode (torchvision)"], 1e-9)
    return DataResult(
        images=images,
        size=size,
        batch=batch,
        img_s=statistics.median(r["fast"] for r in rounds),
        ref_img_s=statistics.median(r["ref"] for r in rounds),
        ratio=statistics.median(r["fast"] / r["ref"] for r in rounds),
        normalise_ms=normalise_ms,
        decode_ceiling=round(decode_ceiling, 3),
        rounds=[{k: round(v, 3) for k, v in r.items()} for r in rounds],
        profile=profile,
        env=environment(),
    )


# ----------------------------------------------------------------------------- profiles
class _Stages:
    """Accumulates seconds per named stage over images; reports ms per image."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.count = 0

    def time(self, name: str, fn: Callable[[Any], Any], value: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(value)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
        return out

    def per_image(self) -> dict[str, float]:
        ms = {k: round(1e3 * v / max(1, self.count), 3) for k, v in self.seconds.items()}
        ms["total"] = round(sum(ms.values()), 3)
        return ms


def _collate(stages: _Stages, items: list, collate: Callable | None = None) -> Any:
    from torch.utils.data import default_collate

    return stages.time("collate", collate or default_collate, items)


def profile_reference(root: Path, size: int, indices: Sequence[int]) -> dict[str, float]:
    """ms per image in each stage of the torchvision reference."""
    ds = reference_dataset(root, size)
    crop, flip, to_tensor, norm = ds.transform.transforms
    stages = _Stages()
    out = []
    for i in indices:
        path, label = ds.samples[i]
        image = stages.time("decode (PIL)", ds.loader, path)
        image = stages.time("crop + resize", crop, image)
        image = stages.time("flip", flip, image)
        x = stages.time("to float + normalise", lambda im: norm(to_tensor(im)), image)
        out.append((x, label))
    stages.count = len(indices)
    _collate(stages, out)
    return stages.per_image()


def profile_before(root: Path, size: int, indices: Sequence[int]) -> dict[str, float]:
    """reslab's folder pipeline before uint8: PIL decode, v2 transforms to a float tensor in
    the worker (``ImageFolder`` default decode + ``imagenet_train_transform``)."""
    from reslab.data.folder import ImageFolder, load_image
    from reslab.data.transforms import imagenet_train_transform

    ds = ImageFolder(root)
    to_image, crop, flip, *to_float = imagenet_train_transform(size).transforms
    stages = _Stages()
    out = []
    for i in indices:
        path, label = ds.samples[i]
        image = stages.time("decode (PIL)", load_image, path)
        image = stages.time("crop + resize", lambda im: crop(to_image(im)), image)
        image = stages.time("flip", flip, image)
        for t in to_float:
            image = stages.time("to float + normalise", t, image)
        out.append((image, label))
    stages.count = len(indices)
    _collate(stages, out)
    return stages.per_image()


def profile_reslab(root: Path, size: int, indices: Sequence[int]) -> dict[str, float]:
    """reslab's folder pipeline now: uint8 decode, augment and collate in the worker, then
    normalisation of the batch on the device (here the CPU)."""
    from reslab.data.folder import decode_image_file
    from reslab.data.transforms import (
        IMAGENET_MEAN,
        IMAGENET_STD,
        DeviceNormalize,
        collate_channels_last,
    )
    from reslab.engine.folder_setup import train_folder

    ds = train_folder(root, size)
    to_image, crop, flip, to_plain = ds.transform.transforms
    stages = _Stages()
    out = []
    for i in indices:
        path, label = ds.samples[i]
        image = stages.time("decode (torchvision)", decode_image_file, path)
        image = stages.time("crop + resize", lambda im: crop(to_image(im)), image)
        image = stages.time("flip", lambda im: to_plain(flip(im)), image)
        out.append((image, label))
    stages.count = len(indices)
    x, _ = _collate(stages, out, collate_channels_last)
    stages.time("normalise on the device (CPU)", DeviceNormalize(IMAGENET_MEAN, IMAGENET_STD), x)
    return stages.per_image()


def render_data(result: DataResult, console: Any) -> None:
    from rich.table import Table

    table = Table(
        title=f"reslab bench --suite data: {result.images} JPEGs {SIZE[0]}x{SIZE[1]} "
        f"(quality {QUALITY}), {result.size}x{result.size} training crops, batches of "
        f"{result.batch}, one core",
        caption=f"{result.env.get('cpu', '?')}, torch {result.env.get('torch')}, "
        f"torchvision {result.env.get('torchvision', '?')} | median of {len(result.rounds)} "
        "rounds of paired windows",
    )
    for col in ("pipeline", "img/s per core", "ratio", "target"):
        table.add_column(col, justify="left" if col == "pipeline" else "right")
    met = "[green]ok[/green]" if result.ratio >= result.target else "[red]MISSED[/red]"
    table.add_row("reslab (uint8 until the device)", f"{result.img_s:,.0f}",
                  f"{result.ratio:.2f}x", f">= {result.target:g}x {met}")  # fmt: skip
    table.add_row("torchvision ImageFolder + PIL + ToTensor + Normalize",
                  f"{result.ref_img_s:,.0f}", "1.00x", "")  # fmt: skip
    console.print(table)
    prof = Table(title="ms per image, by stage (one core)")
    stages: list[str] = []
    for ms in result.profile.values():
        stages += [s for s in ms if s not in stages and s != "total"]
    prof.add_column("stage")
    for name in result.profile:
        prof.add_column(name, justify="right")
    for stage in [*stages, "total"]:
        prof.add_row(stage, *(_ms(ms.get(stage)) for ms in result.profile.values()))
    console.print(prof)
    print(f"ratio {result.ratio:.2f}x per core (reslab {result.img_s:.0f} img/s, reference "
          f"{result.ref_img_s:.0f} img/s)")  # fmt: skip
    print(f"decoding alone bounds the ratio at {result.decode_ceiling:.2f}x here (the "
          "reference's ms per image over reslab's decode; every other stage free)")  # fmt: skip


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
