"""Bad data: every unreadable image, folder or archive is named in one line, never a traceback."""

from __future__ import annotations

import importlib
import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reslab.errors import DataError

from .conftest import FOLDER_ARGS, write_folder
from .harness import assert_clean_failure, assert_no_traceback, reslab, tiny

pytestmark = pytest.mark.reliability

download_module = importlib.import_module("reslab.data.download")


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels but which holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


BAD_FILES = {
    # name: (bytes, what the error line must say)
    "truncated.jpg": (jpeg_bytes()[:300], "truncated"),
    "zero_bytes.png": (b"", "not a readable image"),
    "text.png": (b"this is a text file, not a picture\n", "not a readable image"),
    "bomb.png": (png_header(100_000, 100_000), "decompression bomb"),
    "huge_header.png": (png_header(10_000, 10_000), "more than the limit"),
}


def write_good_odd_images(folder: Path) -> list[Path]:
    """Unusual but valid images: one pixel, and 16-bit grayscale."""
    folder.mkdir(parents=True, exist_ok=True)
    one = folder / "one_pixel.png"
    Image.new("RGB", (1, 1), (200, 10, 10)).save(one)
    sixteen = folder / "sixteen_bit.png"
    Image.fromarray(np.arange(400, dtype=np.uint16).reshape(20, 20) * 150).save(sixteen)
    assert Image.open(sixteen).mode.startswith("I")
    return [one, sixteen]


def write_bad_images(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (content, _) in BAD_FILES.items():
        (folder / name).write_bytes(content)
        paths.append(folder / name)
    return paths


def test_predict_names_each_bad_image_and_classifies_the_rest(digits_run, tmp_path):
    good = write_good_odd_images(tmp_path / "good")
    bad = write_bad_images(tmp_path / "bad")
    missing = tmp_path / "missing.png"
    result = reslab("predict", str(digits_run), *map(str, [*good, *bad, missing]), "--topk", "2")
    assert result.returncode == 1  # some inputs failed
    assert_no_traceback(result)
    out = result.stdout.splitlines()
    assert [line.split(": ")[0] for line in out] == [str(p) for p in good]
    assert all(line.count("%") == 2 for line in out)  # two classes, each with its probability
    errors = result.stderr.splitlines()
    assert len(errors) == len(bad) + 1
    for path, line in zip([*bad, missing], errors):
        assert line.startswith(f"{path}: error: ")
    for (_, reason), line in zip(BAD_FILES.values(), errors):
        assert reason in line


def test_training_on_a_folder_skips_a_few_bad_images(rgb_folder, tmp_path):
    root = shutil.copytree(rgb_folder, tmp_path / "data")
    write_good_odd_images(root / "train" / "dog")
    (root / "train" / "cat" / "truncated.jpg").write_bytes(BAD_FILES["truncated.jpg"][0])
    (root / "train" / "fox" / "zero_bytes.png").write_bytes(b"")
    (root / "train" / "fox" / "text.png").write_text("hello")
    # one batch holds the whole training set, so every file is read in the first step
    result = reslab(
        *tiny(tmp_path, "f", *FOLDER_ARGS, f"data.root={root}", "data.batch_size=29", iterations=2)
    )
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    skipped = [line for line in result.stderr.splitlines() if "skipping" in line]
    assert len(skipped) == 3
    for name in ("truncated.jpg", "zero_bytes.png", "text.png"):
        assert any(f"/{name}: not a readable image" in line for line in skipped), skipped
    assert (tmp_path / "f" / "final.safetensors").is_file()


def test_evaluation_leaves_bad_images_out_instead_of_counting_a_neighbour_twice(
    rgb_folder, tmp_path
):
    """rgb_folder's val/ holds 3 readable images per class; a bad file in it is not an image
    to count, and the next file must not be scored twice in its place (training's rule)."""
    import json

    root = shutil.copytree(rgb_folder, tmp_path / "data")
    for name in ("cat", "dog"):
        (root / "val" / name / "zz_bad.png").write_text("not an image")
    (root / "train" / "fox" / "zz_bad.png").write_text("not an image")
    result = reslab(
        *tiny(tmp_path, "f", *FOLDER_ARGS, f"data.root={root}", "data.val_size=3", iterations=2)
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "f" / "summary.json").read_text())
    assert summary["final"]["test_count"] == 9, summary["final"]
    counts = {}
    for split in ("test", "val", "train"):
        result = reslab("eval", str(tmp_path / "f"), "--json", "--split", split)
        assert result.returncode == 0, result.stderr
        scored = json.loads(result.stdout)
        counts[split] = scored["count"]
        assert sum(map(sum, scored["confusion"])) == scored["count"]
        if split == "test":
            assert [sum(row) for row in scored["confusion"]] == [3, 3, 3]
    # train/ holds 24 readable images and one bad file, split 3 held out / the rest
    assert counts["test"] == 9 and counts["val"] + counts["train"] == 24, counts
    assert counts["val"] in (2, 3), counts


def test_a_bad_evaluation_image_is_warned_about_once_per_worker_not_per_evaluation(
    rgb_folder, tmp_path
):
    root = shutil.copytree(rgb_folder, tmp_path / "data")
    (root / "val" / "dog" / "zz_bad.png").write_text("not an image")
    args = [*FOLDER_ARGS, f"data.root={root}", "data.num_workers=2", "train.eval_every=1"]
    result = reslab(*tiny(tmp_path, "f", *args, iterations=4))  # 4 evaluations + the final
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "zz_bad.png" in line]
    assert 1 <= len(warned) <= 2, result.stderr


@pytest.mark.parametrize("workers", [0, 2])
def test_training_stops_when_a_folder_has_too_many_bad_images(rgb_folder, tmp_path, workers):
    """Also when a DataLoader worker process finds them: torch raises the worker's error again
    with the worker's traceback as its message, and the user still gets the one line."""
    root = shutil.copytree(rgb_folder, tmp_path / "data")
    write_bad_images(root / "train" / "cat")
    result = reslab(
        *tiny(tmp_path, "f", *FOLDER_ARGS, f"data.root={root}", "data.batch_size=29"),
        "data.max_bad_files=2",
        f"data.num_workers={workers}",
        timeout=60,  # it used to hang at exit, waiting for workers that ignore SIGTERM
    )
    assert_clean_failure(result, "unreadable images", "max_bad_files=2")


def _flat(root: Path) -> None:  # images directly in train/ and val/, no class folders
    for split in ("train", "val"):
        (root / split).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(root / split / "a.png")


def _empty(root: Path) -> None:  # class folders without images
    for split in ("train", "val"):
        for name in ("cat", "dog"):
            (root / split / name).mkdir(parents=True)
            (root / split / name / "notes.txt").write_text("no images here")


def _missing(root: Path) -> None:  # data.root names nothing
    pass


def _mismatch(root: Path) -> None:  # val has other classes than train
    write_folder(root, ["cat", "dog"], 2, 1)
    shutil.move(root / "val" / "dog", root / "val" / "fox")


@pytest.mark.parametrize(
    "layout,needle",
    [
        (_flat, "no class folders"),
        (_empty, "hold no images"),
        (_mismatch, "lacks (fox): a net cannot be tested on classes it never trained on"),
        (_missing, "does not exist or is not a folder"),
    ],
    ids=["flat", "empty", "class-mismatch", "missing-root"],
)
def test_wrong_folder_layout_is_one_line(tmp_path, layout, needle):
    root = tmp_path / "data"
    layout(root)
    result = reslab(*tiny(tmp_path, "f", *FOLDER_ARGS, f"data.root={root}"))
    assert_clean_failure(result, needle)
    assert not (tmp_path / "f" / "checkpoints").exists()


def idx_bytes(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 0x08, array.ndim])
        + b"".join(struct.pack(">I", n) for n in array.shape)
        + array.astype(np.uint8).tobytes()
    )


def write_mnist(folder: Path, labels: list[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    for split in ("train", "t10k"):
        (folder / f"{split}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(idx_bytes(np.array(labels)))


def test_mnist_labels_out_of_range_are_one_line(tmp_path):
    write_mnist(tmp_path / "mnist", [i % 10 for i in range(19)] + [12])
    result = reslab(*tiny(tmp_path, "m", "data.name=mnist", f"data.root={tmp_path}"))
    assert_clean_failure(result, "labels outside 0..9")


def test_garbage_idx_file_is_one_line(tmp_path):
    write_mnist(tmp_path / "mnist", [i % 10 for i in range(20)])
    (tmp_path / "mnist" / "train-images-idx3-ubyte").write_bytes(b"\x89garbage" * 100)
    result = reslab(*tiny(tmp_path, "m", "data.name=mnist", f"data.root={tmp_path}"))
    assert_clean_failure(result, "train-images-idx3-ubyte", "not an idx file")


def test_garbage_cifar_archive_is_one_line(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(np.random.bytes(5000))
    result = reslab(*tiny(tmp_path, "c", "data.name=cifar10", f"data.root={tmp_path}"))
    assert_clean_failure(result, "cifar-10-python.tar.gz", "re-download")


def test_download_with_a_checksum_mismatch_keeps_nothing(tmp_path, monkeypatch):
    class Response(io.BytesIO):
        url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
        headers = {"Content-Length": "4096"}

    monkeypatch.setattr(download_module, "_open_url", lambda url, timeout: Response(b"x" * 4096))
    with pytest.raises(DataError, match="expected c58f30108f718f92721af3b95e74349a"):
        download_module.download("cifar10", tmp_path, progress=False)
    assert list((tmp_path / "cifar10").iterdir()) == []  # neither the file nor a temp file
