"""Facts about the software and hardware a result was measured on."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from typing import Any


def environment() -> dict[str, Any]:
    """Versions, device and date, stored with every result so it can be checked later."""
    import numpy
    import torch

    import reslab

    info: dict[str, Any] = {
        "reslab": reslab.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "cpu_kernels": cpu_kernels(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["reslab", *sys.argv[1:]]) if sys.argv else "",
    }
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover
        pass
    return info


CPU_CAPS = (
    ("oneDNN", "ONEDNN_MAX_CPU_ISA"),
    ("oneDNN", "DNNL_MAX_CPU_ISA"),
    ("MKL", "MKL_ENABLE_INSTRUCTIONS"),
)
"""The environment variables that cap the instructions of torch's CPU libraries."""


def cpu_kernels() -> str:
    """The vector instructions torch's CPU kernels run with ("AVX512", "AVX2", ...), one of the
    things that set the float rounding of a CPU result (oneDNN's own kernel and blocking choice
    is another, not recorded). A cap on oneDNN's (convolutions) or MKL's instructions set in
    the environment is named too."""
    import torch

    out = torch.backends.cpu.get_cpu_capability()
    caps = [f"{name} {os.environ[var]}" for name, var in CPU_CAPS if os.environ.get(var)]
    return out + (f" ({', '.join(caps)})" if caps else "")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
