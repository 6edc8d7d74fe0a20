"""Export a trained model as ONNX, TorchScript or plain safetensors, and check the result.

Each export is written to a temp file beside ``out``, reloaded from that file and run on a
seeded sample input; only if it agrees with eager PyTorch is it moved over ``out``. A failed
export therefore leaves no file, half-written or wrong. One process at a time exports to a
given path; a second is refused (ClaimError) rather than racing it.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from reslab.errors import ReslabError
from reslab.inference.loading import load_for_inference
from reslab.models import ResNet, save_weights
from reslab.utils.claim import claim_file
from reslab.utils.io import current_umask

ExportFormat = Literal["onnx", "torchscript", "safetensors"]
FORMATS: tuple[ExportFormat, ...] = ("onnx", "torchscript", "safetensors")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}
MAX_ABS_DIFF = 1e-3
"""Largest difference from eager PyTorch (on logits of a seeded sample) an export may show, for
logits of order 1; larger logits get the same relative bound (:func:`tolerance`)."""
SAMPLE_SEED = 0
INPUT_NAME, OUTPUT_NAME = "input", "logits"


@dataclass
class ExportResult:
    """Where the export went and how far its outputs are from eager PyTorch's."""

    path: Path
    format: str
    max_abs_diff: float | None
    """Largest |exported - eager| over the logits of a seeded batch of two."""


def export(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    format: ExportFormat,
    opset: int = 17,
) -> ExportResult:
    """Export the model of a run directory or weights file to ``out`` (a file or a directory).

    Raises ReslabError if the exported model's logits differ from PyTorch's by more than
    MAX_ABS_DIFF, and leaves ``out`` untouched in that case.
    """
    if format not in FORMATS:
        raise ReslabError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    if format == "onnx" and not MIN_OPSET <= opset <= max_opset():
        raise ReslabError(
            f"--opset {opset} cannot export these nets: use {MIN_OPSET} to {max_opset()} "
            f"(default 17)"
        )
    model, meta = load_for_inference(source)
    out = Path(out)
    if out.is_dir():
        out = out / f"{meta['model']}{SUFFIXES[format]}"
    height, width = meta["image_size"]
    generator = torch.Generator().manual_seed(SAMPLE_SEED)
    sample = torch.randn(2, meta["in_channels"], height, width, generator=generator)
    with torch.no_grad():
        expected = model(sample)

    write, run = _BACKENDS[format]
    with claim_file(out, "export"), _staged(out, SUFFIXES[format]) as tmp:
        write(model, meta, sample, tmp, opset)
        got = run(tmp, sample)
        diff = (got.float() - expected).abs().max().item()
        bound = tolerance(expected)
        if not diff <= bound:  # also catches NaN
            raise ReslabError(
                f"the {format} export of {meta['model']} differs from PyTorch by {diff:.3g} "
                f"(more than {bound:.3g}); nothing was written to {out}"
            )
    return ExportResult(path=out, format=format, max_abs_diff=diff)


MIN_OPSET = 10
"""The first ONNX opset whose Slice takes a step: option-A shortcuts subsample with x[..., ::2]."""


def max_opset() -> int:
    """The newest ONNX opset this PyTorch exports."""
    from torch.onnx import _constants

    return int(getattr(_constants, "ONNX_MAX_OPSET", 20))


def tolerance(expected: torch.Tensor) -> float:
    """How far an export's logits may be from eager PyTorch's: MAX_ABS_DIFF for logits of
    order 1, and the same fraction of the largest logit beyond that. fp32 rounding errors scale
    with the values they round, and another runtime sums in another order, so an absolute bound
    would refuse a faithful export of a net whose logits are large (a deep net early in
    training reaches 1e3 and more)."""
    scale = expected.abs().max().item()
    return MAX_ABS_DIFF * max(1.0, scale) if math.isfinite(scale) else float("nan")


# ---- ONNX -------------------------------------------------------------------------------


def _write_onnx(
    model: ResNet, meta: dict[str, Any], sample: torch.Tensor, path: Path, opset: int
) -> None:
    onnx, _ = _onnx_modules()
    # Export with a batch of one and check with a batch of two: that proves the batch is dynamic.
    proto = onnx.load_from_string(_onnx_bytes(model, sample[:1], opset))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "reslab", json.dumps(meta)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as e:
        raise ReslabError(f"the exported ONNX model is not valid ({_one_line(e)})") from None
    path.write_bytes(proto.SerializeToString())


def _onnx_bytes(model: ResNet, example: torch.Tensor, opset: int) -> bytes:
    """The legacy TorchScript exporter (fast and exact here), else the torch.export one."""
    names = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME], "opset_version": opset}
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation and constant-folding notes
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,
                **names,
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
        return buffer.getvalue()
    except Exception as legacy_error:  # any failure of this exporter: try the other
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(
                    model,
                    (example,),
                    dynamo=True,
                    verbose=False,
                    **names,
                    dynamic_shapes=({0: torch.export.Dim("batch")},),
                )
            return program.model_proto.SerializeToString()
        except Exception:
            raise ReslabError(
                f"ONNX export of {getattr(model, 'name', 'the model')} failed "
                f"({_one_line(legacy_error)}); try --format torchscript"
            ) from None


def _run_onnx(path: Path, sample: torch.Tensor) -> torch.Tensor:
    _, ort = _onnx_modules()
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: sample.numpy()})
    except Exception as e:  # onnxruntime raises its own untyped errors
        raise ReslabError(
            f"onnxruntime cannot run the exported model ({_one_line(e)}); try another --opset"
        ) from None
    return torch.from_numpy(logits)


def _onnx_modules() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ReslabError(
            "ONNX export needs the onnx and onnxruntime packages: pip install 'reslab[export]'"
        ) from None
    return onnx, onnxruntime


# ---- TorchScript ------------------------------------------------------------------------


def _write_torchscript(
    model: ResNet, meta: dict[str, Any], sample: torch.Tensor, path: Path, opset: int
) -> None:
    # Tracing, not scripting: torch.jit.script rejects ResNet (its Python-only helpers and
    # annotations); inference has no data-dependent control flow, so a trace is exact.
    with torch.no_grad(), warnings.catch_warnings():
        _quiet_jit()
        traced = torch.jit.trace(model, sample[:1], check_trace=False)  # checked on reload
        torch.jit.save(traced, str(path), _extra_files={"reslab.json": json.dumps(meta)})


def _quiet_jit() -> None:
    # PyTorch marks torch.jit as deprecated; the format still loads in C++ and older runtimes.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", FutureWarning)


def _run_torchscript(path: Path, sample: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():
        _quiet_jit()
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        return loaded(sample)


# ---- safetensors ------------------------------------------------------------------------


def _write_safetensors(
    model: ResNet, meta: dict[str, Any], sample: torch.Tensor, path: Path, opset: int
) -> None:
    save_weights(model, path, metadata=meta)


def _run_safetensors(path: Path, sample: torch.Tensor) -> torch.Tensor:
    model, _ = load_for_inference(path)
    with torch.no_grad():
        return model(sample)


_BACKENDS = {
    "onnx": (_write_onnx, _run_onnx),
    "torchscript": (_write_torchscript, _run_torchscript),
    "safetensors": (_write_safetensors, _run_safetensors),
}


@contextlib.contextmanager
def _staged(out: Path, suffix: str) -> Iterator[Path]:
    """A temp path beside ``out``, moved over it if the block succeeds and removed if not.

    The temp name ends in the format's suffix, so the reload check reads it as that format.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".tmp{suffix}", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's -rw------- is not the umask's
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _one_line(e: object) -> str:
    text = " ".join(str(e).split())
    return text[:300] or type(e).__name__


__all__ = ["FORMATS", "MAX_ABS_DIFF", "ExportFormat", "ExportResult", "export"]
