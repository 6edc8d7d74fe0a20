"""Images in class folders (root/<class>/<image>), robust to bad files.

Two decoders, one behaviour: :func:`load_image` (PIL, any format, as an RGB PIL image) and
:func:`decode_image_file` (uint8 [3, H, W] tensors for training: plain RGB and grayscale JPEGs
through libjpeg-turbo in torchvision, with no PIL image in between (decode times in
`reslab bench --suite data`); every other file, and any JPEG that is CMYK, truncated or fails, goes through
:func:`load_image`, so PNG, CMYK, EXIF rotation and bad files behave exactly as there).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageOps

from reslab.errors import DataError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
DEFAULT_MAX_PIXELS = 89_478_485
"""Largest image (width x height) decoded; matches PIL's own decompression-bomb warning level."""

_LAYOUT = "expected root/<class>/<image> with one folder per class holding image files"


class BadImageWarning(UserWarning):
    """An image file could not be decoded and was skipped."""


def load_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode ``path`` as an RGB image; raise DataError naming the path if it cannot be.

    Files whose header claims more than ``max_pixels`` pixels are refused before decoding.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise DataError(
                        f"{path}: {width}x{height} pixels is more than the limit of "
                        f"{max_pixels}; resize the image"
                    )
                image.load()
                return to_rgb(ImageOps.exif_transpose(image))
    except DataError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: not a readable image ({reason})") from None


def decode_image_file(
    path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> torch.Tensor:
    """Decode ``path`` as a uint8 RGB [3, H, W] tensor (EXIF orientation applied); raise
    DataError naming the path if it cannot be (see the module docs for which decoder runs)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: not a readable image ({exc.strerror or exc})") from None
    image = _decode_plain_jpeg(data, max_pixels)
    if image is not None:
        return image
    return torch.from_numpy(np.array(load_image(path, max_pixels=max_pixels))).permute(2, 0, 1)


_JPEG_SOI, _JPEG_EOI = b"\xff\xd8", b"\xff\xd9"


def _decode_plain_jpeg(data: bytes, max_pixels: int) -> torch.Tensor | None:
    """A complete RGB or grayscale JPEG within ``max_pixels`` decoded by torchvision, else None
    (the caller then decodes with PIL, which also reports what is wrong with the file)."""
    if not _is_plain_jpeg(data, max_pixels):
        return None
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        with warnings.catch_warnings():
            # torchvision 0.29 points to TorchCodec for image decoding; its decoder still works
            warnings.simplefilter("ignore", DeprecationWarning)
            return decode_jpeg(
                torch.frombuffer(bytearray(data), dtype=torch.uint8),
                mode=ImageReadMode.RGB,
                apply_exif_orientation=True,
            )
    except RuntimeError:
        return None


def decode_jpegs_on(
    blobs: list[bytes], device: torch.device | str = "cuda"
) -> list[torch.Tensor | None]:
    """Decode many files' bytes at once on ``device`` (torchvision's batched nvJPEG decoder on
    CUDA), as uint8 RGB [3, H, W] tensors there; None for any that is not a plain RGB or
    grayscale JPEG (decode those with :func:`decode_image_file`). Elsewhere than CUDA, or if
    the batched decode fails, each is decoded on the CPU and moved to ``device``.
    """
    device = torch.device(device)
    plain = [_is_plain_jpeg(b, DEFAULT_MAX_PIXELS) for b in blobs]
    wanted = [b for b, ok in zip(blobs, plain) if ok]
    decoded: list[torch.Tensor | None] | None = None
    if device.type == "cuda" and torch.cuda.is_available() and wanted:
        from torchvision.io import ImageReadMode, decode_jpeg

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                decoded = list(
                    decode_jpeg(
                        [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in wanted],
                        mode=ImageReadMode.RGB,
                        apply_exif_orientation=True,
                        device=device,
                    )
                )
        except RuntimeError:
            decoded = None
    if decoded is None:
        cpu = [_decode_plain_jpeg(b, DEFAULT_MAX_PIXELS) for b in wanted]
        decoded = [None if t is None else t.to(device) for t in cpu]
    it = iter(decoded)
    return [next(it) if ok else None for ok in plain]


def _is_plain_jpeg(data: bytes, max_pixels: int) -> bool:
    """A complete 8-bit RGB or grayscale JPEG within ``max_pixels``, from its markers alone (no
    decoder is opened: this runs for every training image)."""
    if not (data.startswith(_JPEG_SOI) and data.rstrip(b"\0").endswith(_JPEG_EOI)):
        return False
    frame = _jpeg_frame(data)
    if frame is None:
        return False
    precision, height, width, components = frame
    return precision == 8 and components in (1, 3) and 0 < width * height <= max_pixels


# Start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic);
# 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range but are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0-7: no length


def _jpeg_frame(data: bytes) -> tuple[int, int, int, int] | None:
    """(precision, height, width, components) of a JPEG's frame header, or None if the
    markers before it are malformed or the scan starts first."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        while pos < end and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= end:
            return None
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0xD8, 0xD9, 0xDA):  # SOI/EOI/SOS before any frame
            return None
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > end:
            return None
        if marker in _SOF_MARKERS:
            if length < 8:
                return None
            precision = data[pos + 2]
            height = int.from_bytes(data[pos + 3 : pos + 5], "big")
            width = int.from_bytes(data[pos + 5 : pos + 7], "big")
            return precision, height, width, data[pos + 7]
        pos += length
    return None


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode (grayscale, 16-bit, palette, alpha, CMYK) to 8-bit RGB.

    Transparent pixels are composited over white; 16-bit values keep their top 8 bits.
    """
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I") or image.mode == "F":
        array = np.asarray(image).astype(np.float64)
        if image.mode.startswith("I;16") or (image.mode == "I" and array.max(initial=0) > 255):
            array = array / 257.0
        elif image.mode == "F" and array.max(initial=0) <= 1.0:
            array = array * 255.0
        return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


class ImageFolder(torch.utils.data.Dataset):
    """Labelled images laid out as ``root/<class>/<image>`` (sub-folders of a class count too).

    Classes are the sorted folder names. An unreadable file (corrupt, truncated, empty, not an
    image, or larger than ``max_pixels``) is skipped with a :class:`BadImageWarning` and the
    next readable sample (index + 1, wrapping) is returned instead. Once more than
    ``max_bad_files`` distinct bad files (default 10) have been seen, DataError is raised, since
    by then the folder is more likely broken than noisy. Bad files are counted per process, so
    each DataLoader worker keeps its own count.

    ``decode``: "pil" hands ``transform`` an RGB PIL image (:func:`load_image`); "uint8" a
    uint8 [3, H, W] tensor (:func:`decode_image_file`), for transforms that stay in uint8.

    ``bad``: "next" (training) returns the next readable sample in place of a bad file, so
    every batch is full; "skip" (evaluation) returns None for it, so every image is counted
    once and a bad one not at all (collate with
    :func:`~reslab.data.transforms.collate_channels_last`, which leaves the Nones out).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable[[Any], Any] | None = None,
        *,
        max_bad_files: int = 10,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        decode: Literal["pil", "uint8"] = "pil",
        bad: Literal["next", "skip"] = "next",
    ) -> None:
        if decode not in ("pil", "uint8"):
            raise ValueError(f"decode must be 'pil' or 'uint8', got {decode!r}")
        if bad not in ("next", "skip"):
            raise ValueError(f"bad must be 'next' or 'skip', got {bad!r}")
        self.bad = bad
        self.root = Path(root)
        self.transform = transform
        self.decode = decode
        self.max_bad_files = max_bad_files
        self.max_pixels = max_pixels
        self.classes, self.samples = _scan(self.root)
        self.bad_files: set[Path] = set()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int | tuple[int, int]) -> tuple[Any, int] | None:
        """(image, label); the image is ``transform(rgb_pil)``, or a uint8 [3, H, W] tensor.
        None for a bad file when ``bad="skip"``. An ``(index, seed)`` pair draws the random
        transform's numbers from ``seed`` alone: the same sample gets the same crop whichever
        worker loads it, and after a resume (the caller's RNG state is left as it was)."""
        if isinstance(index, tuple):
            index, seed = index
            if torch.utils.data.get_worker_info() is not None:  # a worker's RNG is its own
                torch.manual_seed(seed)
                return self[index]
            with torch.random.fork_rng(devices=[]):  # the training process's RNG is kept
                torch.manual_seed(seed)
                return self[index]
        # "next" walks on past bad files; "skip" looks at this file only
        for step in range(len(self.samples) if self.bad == "next" else 1):
            path, label = self.samples[(index + step) % len(self.samples)]
            if path in self.bad_files:
                continue
            try:
                if self.decode == "uint8":
                    image = decode_image_file(path, max_pixels=self.max_pixels)
                else:
                    image = load_image(path, max_pixels=self.max_pixels)
            except DataError as exc:
                self._record_bad(path, exc)
                continue
            if self.transform is not None:
                return self.transform(image), label
            if isinstance(image, torch.Tensor):
                return image.contiguous(), label
            return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous(), label
        if self.bad == "skip":
            return None
        raise DataError(f"no readable image in {self.root}; check the files there")

    def _record_bad(self, path: Path, exc: DataError) -> None:
        self.bad_files.add(path)
        if self.max_bad_files == 0:  # no file may be left out
            raise DataError(f"{exc}; fix or remove it")
        if len(self.bad_files) > self.max_bad_files:
            raise DataError(
                f"{len(self.bad_files)} unreadable images in {self.root}, more than "
                f"max_bad_files={self.max_bad_files} (last: {path}); fix or remove them"
            )
        warnings.warn(f"skipping {exc}", BadImageWarning, stacklevel=3)


def _scan(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder; {_LAYOUT}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"no class folders in {root}; {_LAYOUT}")
    samples: list[tuple[Path, int]] = []
    empty = []
    for label, name in enumerate(classes):
        files = sorted(
            p
            for p in (root / name).rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")
        )
        if not files:
            empty.append(name)
        samples.extend((p, label) for p in files)
    if empty:
        raise DataError(
            f"class folder(s) {', '.join(empty)} in {root} hold no images "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}); {_LAYOUT}"
        )
    return classes, samples


def folder_split(ds: ImageFolder, size: int | float, seed: int) -> tuple[list[int], list[int]]:
    """(kept, held-out) sample indices of a training folder: a stratified hold-out of ``size``
    (a count or a fraction), the same for every run with the same ``seed`` (data.split_seed)."""
    from reslab.data.arrays import check_holdout, stratified_split

    labels = torch.tensor([label for _, label in ds.samples])
    check_holdout(size, len(labels))
    rest, held = stratified_split(labels, size, seed)
    return rest.tolist(), held.tolist()
