"""Classify image files with a trained model, streaming: at most one batch is decoded at a time.

A file that cannot be read gives an error entry in its place; the other files are still
classified, and results come back in the order of the inputs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from reslab.data.spec import InputSpec
from reslab.data.transforms import prepare_file
from reslab.errors import DataError, ReslabError
from reslab.inference.loading import load_for_inference
from reslab.models import ResNet
from reslab.utils.runtime import auto_device


@dataclass
class Prediction:
    """The result for one input: the top classes with probabilities, or why there are none."""

    path: str
    top: list[tuple[str, float]] | None
    """(class name, probability), most probable first; None when the file could not be read."""
    error: str | None = None
    """One line saying why the file could not be classified."""


def predict(
    source: str | os.PathLike,
    images: Iterable[str | os.PathLike],
    *,
    topk: int = 5,
    batch_size: int = 32,
    device: str = "cpu",
) -> Iterator[Prediction]:
    """One :class:`Prediction` per image, in input order, with the top ``topk`` classes; a
    folder among ``images`` stands for the image files under it, in sorted order.

    The model loads now (so a bad ``source`` raises here); images are decoded lazily,
    ``batch_size`` at a time, with the preprocessing stored beside the weights.
    """
    if topk < 1 or batch_size < 1:
        raise ReslabError(f"topk and batch_size must be at least 1, got {topk} and {batch_size}")
    model, meta = load_for_inference(source)
    device = auto_device(device)
    try:
        model.to(device)
    except (RuntimeError, AssertionError) as e:
        raise ReslabError(
            f"cannot use device {device!r} ({_one_line(e)}); try --device cpu"
        ) from None
    if isinstance(images, (str, os.PathLike)):
        images = [images]  # one path, not an iterable of its characters
    # the input spec recorded with the weights, as reslab eval and training evaluation read it
    prepare = _preprocessor(InputSpec.from_meta(meta))
    return _stream(
        model,
        meta["classes"],
        prepare,
        _expand(images),
        min(topk, model.num_classes),
        batch_size,
        torch.device(device),
    )


def format_prediction(p: Prediction) -> str:
    """One line for a person, each class with its softmax probability as a percentage:
    ``cat.png: 7 93.1%, 1 3.0%``, or ``x.png: error: ...``."""
    if p.error is not None:
        return f"{p.path}: error: {p.error}"
    assert p.top is not None
    return f"{p.path}: " + ", ".join(f"{name} {100 * prob:.1f}%" for name, prob in p.top)


def _preprocessor(spec: InputSpec) -> Callable[[str], torch.Tensor]:
    if spec.in_channels not in (1, 3):  # fails once, here, not at every image
        raise DataError(f"cannot prepare images for {spec.in_channels} input channels; use 1 or 3")

    def prepare(path: str) -> torch.Tensor:
        _check_file(path)
        return prepare_file(path, spec)

    return prepare


def _stream(
    model: ResNet,
    classes: list[str],
    prepare: Callable[[str], torch.Tensor],
    images: Iterator[str | os.PathLike],
    topk: int,
    batch_size: int,
    device: torch.device,
) -> Iterator[Prediction]:
    while chunk := list(itertools.islice(images, batch_size)):
        paths = [str(p) for p in chunk]
        inputs: list[torch.Tensor] = []
        errors: list[str | None] = []
        for path in paths:
            try:
                inputs.append(prepare(path))
                errors.append(None)
            except DataError as e:
                errors.append(_without_path(str(e), path))
        tops: Iterator[list[tuple[str, float]]] = iter(())
        if inputs:
            with torch.inference_mode():
                logits = model(torch.stack(inputs).to(device))
                probs, indices = logits.float().softmax(dim=1).topk(topk, dim=1)
            tops = iter(
                [(classes[i], p) for i, p in zip(row_i, row_p)]
                for row_i, row_p in zip(indices.tolist(), probs.tolist())
            )
        for path, error in zip(paths, errors):
            if error is None:
                yield Prediction(path, next(tops))
            else:
                yield Prediction(path, None, error)


def _expand(images: Iterable[str | os.PathLike]) -> Iterator[str | os.PathLike]:
    """Each path as given, a folder as the image files under it (sorted, at any depth; hidden
    files and other extensions left out). A folder without images stays one path, which
    :func:`_check_file` then names."""
    from reslab.data.folder import IMAGE_EXTENSIONS

    for path in images:
        if not os.path.isdir(path):
            yield path
            continue
        files = sorted(
            p
            for p in Path(path).rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        yield from files or [path]


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: a folder with no image files in it")


def _without_path(message: str, path: str) -> str:
    """The error without the leading path, which the Prediction already carries."""
    for prefix in (f"{path}: ", f"{Path(path)}: "):
        if message.startswith(prefix):
            return _one_line(message[len(prefix) :])
    return _one_line(message)


def _one_line(e: object) -> str:
    return " ".join(str(e).split())


__all__ = ["Prediction", "format_prediction", "predict"]
