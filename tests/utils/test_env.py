"""What a result records about the machine it was measured on."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from reslab.utils.env import environment


def test_a_result_records_the_cpu_kernels_that_set_its_rounding():
    assert environment()["cpu_kernels"].startswith(torch.backends.cpu.get_cpu_capability())


def test_kernels_capped_below_the_machines_are_recorded_as_such():
    # what a CPU without AVX-512 runs, emulated: ATen's kernels and oneDNN's both capped
    code = "from reslab.utils.env import cpu_kernels; print(cpu_kernels())"
    env = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "DEFAULT (oneDNN SSE41)"
