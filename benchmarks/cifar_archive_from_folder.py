"""Rebuild CIFAR-10's python archive layout (cifar-10-batches-py/) from a folder of its images
laid out as train/<class>/*.jpg and test/<class>/*.jpg (the public JPEG copy's layout).

    python benchmarks/cifar_archive_from_folder.py JPEG_DIR ARCHIVE_DIR

Writes ARCHIVE_DIR/cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta) from the
decoded pixels, so `--data cifar10 --root ARCHIVE_DIR` and `--data folder --root JPEG_DIR` see
the same images. Classes are the folder names in sorted order (CIFAR-10's own order); the
training images are shuffled with seed 0 before they are cut into the five batches, as the
official batches hold the classes mixed (the recipe's 45k/5k split takes its hold-out from
that order).
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def read_split(root: Path, classes: list[str]) -> tuple[np.ndarray, list[int]]:
    """Every image of one split as rows of 3072 uint8 (channel-major, as the archive has it)."""
    rows, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            if pixels.shape != (32, 32, 3):
                raise SystemExit(f"error: {path} is {pixels.shape[1]}x{pixels.shape[0]}, not 32x32")
            rows.append(pixels.transpose(2, 0, 1).reshape(-1))
            labels.append(label)
    return np.stack(rows), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="holds train/<class>/ and test/<class>/")
    parser.add_argument("out", type=Path, help="where cifar-10-batches-py/ is written")
    args = parser.parse_args()
    classes = sorted(p.name for p in (args.folder / "train").iterdir() if p.is_dir())
    out = args.out / "cifar-10-batches-py"
    out.mkdir(parents=True, exist_ok=True)

    x, y = read_split(args.folder / "train", classes)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], [y[i] for i in order]
    for i, part in enumerate(np.array_split(np.arange(len(y)), 5), start=1):
        batch = {b"data": x[part], b"labels": [y[j] for j in part]}
        (out / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    x, y = read_split(args.folder / "test", classes)
    (out / "test_batch").write_bytes(pickle.dumps({b"data": x, b"labels": y}))
    meta = {b"label_names": [c.encode() for c in classes]}
    (out / "batches.meta").write_bytes(pickle.dumps(meta))
    print(f"{out}: {len(order)} training and {len(y)} test images, classes {', '.join(classes)}")


if __name__ == "__main__":
    main()
