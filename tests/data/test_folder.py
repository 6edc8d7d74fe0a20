"""ImageFolder and load_image on real files of many kinds, good and bad."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from reslab.data import BadImageWarning, ImageFolder, load_image
from reslab.errors import DataError


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (no real pixel data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    return path


def _good_images(folder: Path) -> dict[str, Path]:
    """One file per kind of good image; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}

    def save(name: str, image: Image.Image, fmt: str | None = None) -> None:
        paths[name] = folder / name
        image.save(paths[name], fmt)

    save("rgb.jpg", Image.new("RGB", (12, 9), (200, 10, 10)))
    save("gray.png", Image.new("L", (7, 5), 77))
    rgba = Image.new("RGBA", (4, 4), (0, 0, 255, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent: composited over white
    save("rgba.png", rgba)
    save("cmyk.jpg", Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG")
    save("deep16.png", Image.fromarray(np.full((6, 5), 40000, dtype=np.uint16)))
    save("palette.gif", Image.new("P", (5, 5), 3))
    save("tiny.png", Image.new("RGB", (1, 1), (1, 2, 3)))
    return paths


def _bad_images(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    full = folder / "full.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(full)
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    full.unlink()
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    text = folder / "notes.png"
    text.write_text("this is not an image\n")
    return {"truncated": truncated, "empty": empty, "text": text}


def test_every_kind_of_good_image_loads_as_rgb(tmp_path):
    paths = _good_images(tmp_path / "good")
    for name, path in paths.items():
        image = load_image(path)
        assert image.mode == "RGB", name
    assert load_image(paths["gray.png"]).getpixel((3, 3)) == (77, 77, 77)
    assert load_image(paths["rgba.png"]).getpixel((0, 0)) == (255, 255, 255)
    assert load_image(paths["rgba.png"]).getpixel((1, 1)) == (0, 0, 255)
    assert load_image(paths["deep16.png"]).getpixel((0, 0)) == (156, 156, 156)  # 40000 / 257
    red, green, blue = load_image(paths["cmyk.jpg"]).getpixel((4, 4))
    assert red > 200 and green < 60 and blue < 60  # cyan 0, magenta+yellow full: red
    assert load_image(paths["tiny.png"]).size == (1, 1)


@pytest.mark.parametrize("kind", ["truncated", "empty", "text"])
def test_load_image_names_the_bad_file(tmp_path, kind):
    path = _bad_images(tmp_path)[kind]
    with pytest.raises(DataError, match=str(path)):
        load_image(path)


def test_folder_classes_samples_and_tensors(tmp_path):
    _good_images(tmp_path / "root" / "cats")
    _good_images(tmp_path / "root" / "dogs" / "nested")
    (tmp_path / "root" / "dogs" / "readme.txt").write_text("ignored: not an image extension")
    folder = ImageFolder(tmp_path / "root")
    assert folder.classes == ["cats", "dogs"]
    assert len(folder) == 14
    assert {label for _, label in folder.samples} == {0, 1}
    for i in range(len(folder)):
        image, label = folder[i]
        assert image.dtype == torch.uint8 and image.dim() == 3 and image.shape[0] == 3
        assert label == folder.samples[i][1]


def test_bad_files_are_skipped_with_a_warning(tmp_path):
    root = tmp_path / "root"
    _good_images(root / "a")
    bad = _bad_images(root / "b")  # sorted: empty.jpg, notes.png, truncated.jpg
    Image.new("RGB", (3, 3), (9, 9, 9)).save(root / "b" / "zz_good.png")
    folder = ImageFolder(root, transform=lambda image: image.size)
    paths = [p for p, _ in folder.samples]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = folder[paths.index(bad["empty"])]
    assert first == ((3, 3), 1)  # the next readable sample: zz_good.png
    warned = [str(w.message) for w in caught if w.category is BadImageWarning]
    assert [m.split(": ")[0] for m in warned] == [
        f"skipping {bad[k]}" for k in ("empty", "text", "truncated")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known bad files are skipped silently from now on
        results = [folder[i] for i in range(len(folder))]
    for kind in ("empty", "text", "truncated"):
        assert results[paths.index(bad[kind])] == ((3, 3), 1)
    assert folder.bad_files == set(bad.values())


def test_too_many_bad_files_raise(tmp_path):
    root = tmp_path / "root"
    _good_images(root / "a")
    _bad_images(root / "b")
    folder = ImageFolder(root, max_bad_files=2)
    with pytest.raises(DataError, match="more than max_bad_files=2"), warnings.catch_warnings():
        warnings.simplefilter("ignore", BadImageWarning)
        for i in range(len(folder)):
            folder[i]


def test_decompression_bomb_header_is_not_decoded(tmp_path, monkeypatch):
    root = tmp_path / "root"
    _good_images(root / "a")
    huge = _png_header_only(root / "a" / "huge.png", 100_000, 100_000)
    with pytest.raises(DataError, match="huge.png"):
        load_image(huge)

    Image.new("RGB", (20, 20)).save(tmp_path / "big.png")

    def must_not_decode(self):
        raise AssertionError("decoded an image over the pixel limit")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    with pytest.raises(DataError, match="20x20 pixels is more than the limit of 100"):
        load_image(tmp_path / "big.png", max_pixels=100)


def test_folder_skips_images_over_max_pixels(tmp_path):
    root = tmp_path / "root"
    Image.new("RGB", (50, 50)).save((root / "a").mkdir(parents=True) or root / "a" / "big.png")
    Image.new("RGB", (5, 5)).save(root / "a" / "small.png")
    folder = ImageFolder(root, max_pixels=1000)
    with pytest.warns(BadImageWarning, match="big.png"):
        image, _ = folder[0]
    assert image.shape == (3, 5, 5)


def test_layout_errors_explain_the_expected_layout(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no class folders .* root/<class>/<image>"):
        ImageFolder(tmp_path / "empty")
    (tmp_path / "noimages" / "cats").mkdir(parents=True)
    (tmp_path / "noimages" / "cats" / "a.txt").write_text("x")
    with pytest.raises(DataError, match=r"cats .* hold no images"):
        ImageFolder(tmp_path / "noimages")
    with pytest.raises(DataError, match="does not exist"):
        ImageFolder(tmp_path / "missing")


def test_all_bad_folder_raises_instead_of_looping(tmp_path):
    _bad_images(tmp_path / "root" / "a")
    folder = ImageFolder(tmp_path / "root", max_bad_files=100)
    with pytest.raises(DataError, match="no readable image"), warnings.catch_warnings():
        warnings.simplefilter("ignore", BadImageWarning)
        folder[0]
