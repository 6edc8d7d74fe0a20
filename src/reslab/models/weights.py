"""Loading and saving weights, with safe loaders only (safetensors, torch.load weights_only).

Accepted inputs: reslab's own safetensors, a plain state dict, torchvision files, reslab
training checkpoints, and the widely used PyTorch CIFAR reproduction's checkpoints
({'best_prec1', 'state_dict'} with 'module.' prefixes and a 'linear' head).
chenyaofo/pytorch-cifar-models' CIFAR ResNets are plain state dicts with torchvision's names
(projection shortcuts as downsample.0/.1, as in reslab's blocks): nothing to rename.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from reslab.errors import WeightsError
from reslab.utils.io import atomic_open

_PREFIXES = ("module.", "_orig_mod.")
# Buffers that newer PyTorch versions added to a layer, with the value a file written before
# them stands for. BatchNorm gained num_batches_tracked in PyTorch 0.4.1 (BN version 2), after
# the community CIFAR checkpoints were saved; it only matters with momentum=None.
_VERSION_ADDED = {"num_batches_tracked": torch.tensor(0, dtype=torch.long)}


@dataclass
class LoadReport:
    """What load_weights did: which keys it loaded and which it left alone on purpose."""

    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was accepted though the file lacks it (buffers newer PyTorch versions added)."""


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read tensors from a weights file or checkpoint without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise WeightsError(
                f"{path} is not a valid safetensors file ({_first_line(e)})"
            ) from None
    other = not_weights(path)
    if other:
        raise WeightsError(
            f"{path} is {other}, not weights: pass a run directory, its final.safetensors or "
            "one of its checkpoints"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(
            f"refusing to load {path}: it holds pickled objects other than tensors, which could "
            f"run code ({_first_line(e)}); convert it to safetensors from a trusted source"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise WeightsError(f"{path} is not a readable PyTorch file ({_first_line(e)})") from None
    return extract_state_dict(obj, source=str(path))


def not_weights(path: str | os.PathLike) -> str | None:
    """What a file is when it is recognisably not weights (nothing is unpickled): "an exported
    ONNX model", "an exported TorchScript model", "a JPEG image", ...; None otherwise. A
    PyTorch file is a zip holding ``*/data.pkl``; TorchScript's zip also holds ``*/code/``."""
    import zipfile

    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return "an exported ONNX model"
    if path.suffix.lower() in (".yaml", ".yml", ".json", ".txt", ".md"):
        return f"a text file ({path.suffix.lower()[1:]})"
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError):
            return None
        if any("/code/" in n for n in names):
            return "an exported TorchScript model"
        return None
    try:
        from PIL import Image

        with Image.open(path) as image:
            return f"a {image.format} image" if image.format else "an image"
    except Exception:  # not an image either: torch.load says what it is not
        return None


def extract_state_dict(obj: object, source: str = "object") -> dict[str, torch.Tensor]:
    """Find the model's state dict inside a loaded checkpoint object."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state"):
            if key in obj and isinstance(obj[key], Mapping):
                return extract_state_dict(obj[key], source)
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
    raise WeightsError(f"{source} holds no model state dict (expected a mapping of tensors)")


def normalise_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip DDP/compile prefixes and map other projects' names onto reslab's."""
    out = {}
    for key, value in state.items():
        for prefix in _PREFIXES:
            while key.startswith(prefix):
                key = key[len(prefix) :]
        # The CIFAR reproduction calls the head 'linear' and option-B projections 'shortcut'.
        if key.startswith("linear."):
            key = "fc." + key[len("linear.") :]
        out[key.replace(".shortcut.", ".downsample.")] = value
    return out


def load_weights(
    model: nn.Module,
    source: str | os.PathLike | Mapping[str, torch.Tensor],
    *,
    skip_head: bool = False,
    adapt_input: bool = False,
) -> LoadReport:
    """Load weights into ``model``, mapping key names; fail clearly on any mismatch.

    ``skip_head=True`` leaves the classifier (fc.*) as it is, for fine-tuning with a new number
    of classes. ``adapt_input=True`` lets RGB stem weights serve a 1-channel model (summed over
    colours) or the reverse (repeated and rescaled). Every other key must match by name and
    shape.
    """
    if isinstance(source, Mapping):
        state = normalise_keys(extract_state_dict(source))
        where = "state dict"
    else:
        state = normalise_keys(read_state_dict(source))
        where = str(source)
    target = model.state_dict()
    report = LoadReport()
    if adapt_input and "conv1.weight" in state and "conv1.weight" in target:
        state["conv1.weight"] = adapt_input_conv(
            state["conv1.weight"], target["conv1.weight"].shape[1]
        )
    if skip_head:
        report.skipped = sorted(k for k in set(state) | set(target) if k.startswith("fc."))
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        target = {k: v for k, v in target.items() if not k.startswith("fc.")}
    report.notes += _fill_version_added(state, target, where)
    missing = sorted(set(target) - set(state))
    unexpected = sorted(set(state) - set(target))
    conflicts = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(target[k].shape)}"
        for k in target
        if k in state and state[k].shape != target[k].shape
    ]
    if missing or unexpected or conflicts:
        parts = []
        if missing:
            parts.append(f"missing keys: {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_few(unexpected)}")
        if conflicts:
            parts.append(f"shape conflicts: {_few(conflicts)}")
        hint = (
            "; for a different number of classes use skip_head (--finetune)"
            if all(
                k.startswith("fc.")
                for k in missing + unexpected + [c.split()[0] for c in conflicts]
            )
            else "; check that the weights are for this model"
        )
        raise WeightsError(
            f"{where} does not fit {getattr(model, 'name', 'the model')}: "
            + "; ".join(parts)
            + hint
        )
    model.load_state_dict(state, strict=not skip_head)
    report.loaded = sorted(state)
    # harmless and known for published files (kept in report.notes); others said once. The
    # published-file lookup runs only when there is a note to say.
    fresh = [n for n in report.notes if n not in _SAID]
    if fresh and not isinstance(source, Mapping) and _is_published(source):
        fresh = []
    for note in fresh:
        if note not in _SAID:
            _SAID.add(note)
            print(f"note: {note}", file=sys.stderr)
    return report


_SAID: set[str] = set()
"""Notes already printed by this process."""


def _is_published(path: str | os.PathLike) -> bool:
    from reslab.models.hub import for_file

    return for_file(path) is not None


def _fill_version_added(
    state: dict[str, torch.Tensor], target: Mapping[str, torch.Tensor], where: str
) -> list[str]:
    """Fill in buffers that ``state`` predates (see _VERSION_ADDED); return a note if any.

    Only such buffers are filled, and only where the layer's other buffers are in ``state``
    (an old BN layer); any other missing key stays missing.
    """
    filled = []
    for key in target:
        prefix, _, buffer = key.rpartition(".")
        if key in state or buffer not in _VERSION_ADDED:
            continue
        stats = f"{prefix}.running_mean" if prefix else "running_mean"
        if stats in state:
            state[key] = _VERSION_ADDED[buffer].clone()
            filled.append(buffer)
    if not filled:
        return []
    names = ", ".join(sorted(set(filled)))
    return [
        f"{where} predates the {names} buffer ({len(filled)} layers); "
        "loaded with the value such files stand for (0)"
    ]


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Stem weights for another number of input channels, keeping the response to a grey
    image: summed down to one channel, or spread evenly over more."""
    have = weight.shape[1]
    if have == in_channels:
        return weight
    if in_channels == 1:
        return weight.sum(1, keepdim=True)
    if have == 1:
        return weight.repeat(1, in_channels, 1, 1) / in_channels
    raise WeightsError(f"cannot adapt stem weights from {have} to {in_channels} input channels")


def save_weights(
    model: nn.Module, path: str | os.PathLike, metadata: Mapping[str, object] | None = None
) -> Path:
    """Save the (unwrapped) model's weights as safetensors, atomically. Metadata is JSON."""
    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in unwrap(model).state_dict().items()}
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    with atomic_open(path, "wb") as f:
        f.write(save(state, metadata=meta))
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, object]:
    """The JSON metadata stored in a reslab safetensors file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise WeightsError(f"{path} is not a valid safetensors file ({_first_line(e)})") from None
    return {k: json.loads(v) for k, v in meta.items()}


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model under DDP and torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def _few(items: list[str], n: int = 6) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


__all__ = [
    "LoadReport",
    "adapt_input_conv",
    "extract_state_dict",
    "load_weights",
    "normalise_keys",
    "read_metadata",
    "read_state_dict",
    "save_weights",
    "unwrap",
]
