"""Process-wide settings that make training faster, and what they were.

On the CPU every activation of a training step is a fresh allocation of megabytes. glibc serves
large blocks with mmap and unmaps them on free, so each step pays tens of thousands of page
faults while the kernel zeroes the same memory again. Keeping freed memory in the heap removes
that. OpenMP's waiting policy is read once, when torch loads its OpenMP runtime, so it can only
be set for a process that has not imported torch yet (:func:`set_training_env`, called by the
CLI before anything imports torch); the allocator setting applies at any time.

The trainer calls :func:`apply_training_runtime` at start; `reslab bench` applies the same to
reslab's side, so a bench figure is a `reslab train` figure.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

CPU_TRAINING_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}
"""Environment for a CPU training process, read when torch loads (so set before importing it).

PASSIVE makes idle OpenMP threads sleep instead of spinning. On an idle machine it costs
nothing measurable (-2% .. +0%, within noise, on the 2-core development machine); when other
processes keep a core busy it avoids the collapse of spinning threads waiting for a descheduled
peer (there the default policy ran ResNet-20 training 5x slower, 40 vs 210 img/s)."""

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_INT_MAX = 2**31 - 1


def set_training_env() -> dict[str, str]:
    """Set :data:`CPU_TRAINING_ENV` in ``os.environ`` where the user has not set it, if torch is
    not imported yet (afterwards it would have no effect). Returns what was set.

    Call it first thing in an entry point that trains (``reslab train``).
    """
    if "torch" in sys.modules:
        return {}
    applied = {}
    for key, value in CPU_TRAINING_ENV.items():
        if key not in os.environ:
            os.environ[key] = value
            applied[key] = value
    return applied


def keep_freed_memory() -> bool:
    """Make glibc keep freed blocks for reuse instead of returning them to the kernel.

    Raises the mmap threshold (large blocks come from the heap) and the trim threshold (the
    heap is not shrunk), so peak RSS stays at its high-water mark. Returns False where the C
    library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # glibc caps the mmap threshold (32 MiB on older releases): try high, then the cap.
    if not any(mallopt(_M_MMAP_THRESHOLD, v) == 1 for v in (_INT_MAX // 2, 32 * 2**20)):
        return False
    return mallopt(_M_TRIM_THRESHOLD, _INT_MAX) == 1


def release_freed_memory() -> None:
    """Return the heap's free memory to the kernel (after :func:`keep_freed_memory`)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def apply_training_runtime(device_type: str, threads: int = 0) -> dict[str, Any]:
    """Apply the settings that pay for training on ``device_type`` in this process; returns
    what is in effect, for the run's log.

    CPU: keep freed memory (see the module docs); the OpenMP policy is reported as the process started with it (see
    :func:`set_training_env`). ``threads``: intra-op threads (0 keeps torch's default, one per
    core, which is the fastest measured). CUDA: nothing here (cuDNN autotuning belongs to the
    trainer's determinism setting).
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    applied: dict[str, Any] = {
        "device": device_type,
        "keep_freed_memory": keep_freed_memory() if device_type == "cpu" else False,
        "threads": torch.get_num_threads(),
    }
    applied["env"] = {k: os.environ.get(k, "") for k in CPU_TRAINING_ENV}
    return applied


def auto_device(name: str) -> str:
    """``name``, with "auto" resolved to "cuda" when torch sees a CUDA device, else "cpu"
    (torch is asked only for "auto")."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def preferred_channels_last(device: torch.device) -> bool:
    """The faster memory format for training on ``device``: True for channels_last (NHWC).

    Measured, `reslab train cifar10_resnet56 data.name=synthetic train.iterations=40
    train.channels_last=true|false`, fp32:
    - CPU, AVX-512 EPYC: 195-206 img/s channels_last vs 157-164 NCHW;
    - CPU, AVX-512 Xeon, 2 cores, measured while other jobs loaded the machine (load 10-13),
      runs alternating: 46 and 60 img/s channels_last vs 17 and 21 NCHW;
    - CUDA: channels_last (timm, RTX 3090, AMP: 1,218 vs 826 img/s for ResNet-50).
    Other devices (MPS, XPU) keep NCHW, which they were not measured on.
    """
    return device.type in ("cpu", "cuda")
