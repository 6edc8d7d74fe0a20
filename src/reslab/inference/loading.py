"""Rebuild a trained model from a run directory or a weights file, ready for inference.

A run directory (``runs/NAME/``) holds ``final.safetensors`` whose metadata says how to build
the model and prepare its inputs; ``model.json`` beside it holds the same dict. A weights file
without metadata (a training checkpoint, say) works when a ``model.json`` sits beside it.
Published weights work by name ('resnet56.cifar10', 'resnet50.IMAGENET1K_V2') or as their
downloaded file: their entry in reslab.models.hub records the inputs they expect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reslab.errors import ConfigError, WeightsError
from reslab.models import ResNet, create, hub, load_weights, read_metadata, read_state_dict

FINAL_WEIGHTS = "final.safetensors"
MODEL_JSON = "model.json"

_REQUIRED = ("model", "num_classes", "in_channels", "image_size", "mean", "std")


def load_for_inference(source: str | os.PathLike) -> tuple[ResNet, dict[str, Any]]:
    """The model in eval mode on the CPU, and its metadata (model, classes, preprocessing).

    ``source`` is a run directory, a weights file saved by reslab with metadata, a published
    weights file, or published weights by name ('resnet56.cifar10').
    """
    published = None if Path(source).exists() else hub.parse_weights_name(str(source))
    if published is not None:
        model = create(published.model, weights=published.tag)
        return model.eval(), _checked(published.inference_metadata(), Path(published.file_name))
    weights = resolve_weights(source)
    meta = read_inference_metadata(weights)
    try:
        model = create(
            meta["model"],
            num_classes=meta["num_classes"],
            in_channels=meta["in_channels"],
            **meta["model_kwargs"],
        )
    except ConfigError as e:
        raise WeightsError(
            f"{weights}: its metadata does not describe a model here ({e})"
        ) from None
    load_weights(model, weights)
    return model.eval(), meta


def resolve_weights(source: str | os.PathLike) -> Path:
    """The weights file that ``source`` names: the file itself, or a run's final weights."""
    path = Path(source)
    if path.is_dir():
        weights = path / FINAL_WEIGHTS
        if not weights.is_file():
            if not any((path / f).is_file() for f in ("config.yaml", MODEL_JSON)):
                raise WeightsError(
                    f"{path} is not a run directory (no {FINAL_WEIGHTS}, config.yaml or "
                    f"{MODEL_JSON}): pass a run directory, a weights file or weights by name "
                    "('reslab models' lists them)"
                )
            raise WeightsError(
                f"{path} holds no {FINAL_WEIGHTS} yet: let the run finish (or resume it), or "
                "pass one of its checkpoints"
            )
        return weights
    if not path.exists() and (os.sep in str(source) or "/" in str(source)):
        raise WeightsError(
            f"{path}: no such file or directory; pass a run directory or a weights file"
        )
    if not path.exists():
        close = hub.close_names(str(source))
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise WeightsError(
            f"{path} is neither a file nor published weights: {hint}pass a run directory, a "
            "weights file or weights by name ('reslab models' lists them)"
        )
    return path


def read_inference_metadata(weights: Path) -> dict[str, Any]:
    """The metadata stored in ``weights`` (or in model.json beside it), checked and completed."""
    meta: dict[str, Any] = read_metadata(weights) if weights.suffix == ".safetensors" else {}
    published = hub.for_file(weights)
    if "model" not in meta and published and not (weights.parent / MODEL_JSON).is_file():
        meta = published.inference_metadata()  # a published file: its recorded inputs
    # beside the file, or in the run directory above a run's checkpoints/
    sidecar = next(
        (d / MODEL_JSON for d in (weights.parent, weights.parent.parent)
         if (d / MODEL_JSON).is_file()),
        weights.parent / MODEL_JSON,
    )  # fmt: skip
    if "model" in meta and sidecar.is_file():
        _same_run(meta, sidecar, weights)
    if "model" not in meta:
        if not sidecar.is_file():
            read_state_dict(weights)  # a corrupt or truncated file is that, first
            raise WeightsError(
                f"{weights} has no reslab metadata (model, classes, preprocessing) and no "
                f"{MODEL_JSON} beside it: use the weights a reslab training run saved"
            )
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise WeightsError(
                f"{sidecar} is not readable JSON ({e}); restore it from the run"
            ) from None
    return _checked(meta, weights)


def _same_run(meta: dict[str, Any], sidecar: Path, weights: Path) -> None:
    """Refuse weights whose own metadata contradicts the run they sit in: a file copied over a
    run's final.safetensors would otherwise be scored on the dataset its metadata names and
    reported as the run's number."""
    try:
        run = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return  # the weights describe themselves; a broken model.json is not needed here
    if not isinstance(run, dict):
        return
    differ = sorted(k for k in meta.keys() & run.keys() if meta[k] != run[k])
    if differ:

        def said(m: dict[str, Any]) -> str:
            shape = "x".join(str(v) for v in [m.get("in_channels"), *(m.get("image_size") or [])])
            data = f"{m['data']}, " if m.get("data") else ""
            return f"{m.get('model')} ({data}{shape} inputs)"

        raise WeightsError(
            f"{weights} does not belong to the run it sits in: the file holds {said(meta)}, "
            f"while {sidecar} describes {said(run)}; they differ in {', '.join(differ)}. "
            "Restore the run's own weights, or copy this file out of the run to use it alone"
        )


def _checked(meta: Any, where: Path) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise WeightsError(f"{where}: reslab metadata must be a JSON object")
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise WeightsError(
            f"{where}: reslab metadata lacks {', '.join(missing)}; re-save the weights from "
            "the training run"
        )
    out = dict(meta)
    out.setdefault("model_kwargs", {})
    out.setdefault("resize", None)
    try:
        num_classes = int(out["num_classes"])
        out["num_classes"] = num_classes
        out["in_channels"] = int(out["in_channels"])
        out["image_size"] = [int(s) for s in out["image_size"]]
        out["mean"] = [float(v) for v in out["mean"]]
        out["std"] = [float(v) for v in out["std"]]
        out["resize"] = None if out["resize"] is None else int(out["resize"])
        out["classes"] = [str(c) for c in out.get("classes") or range(num_classes)]
    except (TypeError, ValueError) as e:
        raise WeightsError(f"{where}: reslab metadata holds a bad value ({e})") from None
    if not isinstance(out["model_kwargs"], dict):
        raise WeightsError(f"{where}: metadata model_kwargs must be a JSON object")
    if len(out["image_size"]) != 2:
        raise WeightsError(f"{where}: metadata image_size must be [height, width]")
    if len(out["classes"]) != num_classes:
        raise WeightsError(
            f"{where}: metadata names {len(out['classes'])} classes for a {num_classes}-class "
            "model; fix classes in its metadata"
        )
    return out


__all__ = [
    "FINAL_WEIGHTS",
    "MODEL_JSON",
    "load_for_inference",
    "read_inference_metadata",
    "resolve_weights",
]
