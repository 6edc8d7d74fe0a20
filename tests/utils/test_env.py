"""What a result records about the machine it was measured on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from reslab.utils.env import CPU_CAPS


def _recorded(**env: str) -> str:
    """cpu_kernels() in a fresh process with exactly these caps (the caller's own removed)."""
    base = {k: v for k, v in os.environ.items() if k not in {var for _, var in CPU_CAPS}}
    base.pop("ATEN_CPU_CAPABILITY", None)
    code = "from reslab.utils.env import environment; print(environment()['cpu_kernels'])"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize(
    ("env", "recorded"),
    [
        # what a CPU without any vector extension runs, emulated: ATen and oneDNN both capped
        (
            {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
            "DEFAULT (oneDNN SSE41)",
        ),
        (
            {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
            "DEFAULT (MKL SSE4_2)",
        ),
        ({"ATEN_CPU_CAPABILITY": "default"}, "DEFAULT"),
    ],
)
def test_a_result_records_the_cpu_kernels_it_ran_with(env, recorded):
    assert _recorded(**env) == recorded
