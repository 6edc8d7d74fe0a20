"""Process-wide CPU settings that make training faster, and what they were.

On the CPU every activation of a training step is a fresh allocation of megabytes. glibc serves
large blocks with mmap and unmaps them on free, so each step pays tens of thousands of page
faults while the kernel zeroes the same memory again. Keeping freed memory in the heap removes
that. Applied by `reslab bench` to reslab's side, and meant for the trainer's runtime setup.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from typing import Any

CPU_TRAINING_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}
"""Environment for a CPU training process, read when torch loads (so set before importing it).

PASSIVE makes idle OpenMP threads sleep instead of spinning. On an idle machine it costs
nothing measurable (-2% .. +0%, within noise, on the 2-core development machine); when other
processes keep a core busy it avoids the collapse of spinning threads waiting for a descheduled
peer (there the default policy ran ResNet-20 training 5x slower, 40 vs 210 img/s)."""

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_INT_MAX = 2**31 - 1


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


def configure_cpu_training(threads: int = 0) -> dict[str, Any]:
    """Apply the fast CPU settings in this process; returns what was set, for the record.

    ``threads``: intra-op threads (0 keeps torch's default, one per core).
    """
    import torch

    applied: dict[str, Any] = {"keep_freed_memory": keep_freed_memory()}
    if threads:
        torch.set_num_threads(threads)
    applied["threads"] = torch.get_num_threads()
    applied["env"] = {k: os.environ.get(k, "") for k in CPU_TRAINING_ENV}
    return applied
