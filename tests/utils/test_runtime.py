"""The training runtime: what is set before torch loads, what is applied after, and the layout."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from reslab.utils.runtime import (
    CPU_TRAINING_ENV,
    apply_training_runtime,
    preferred_channels_last,
    set_training_env,
)


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in CPU_TRAINING_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_training_env_is_set_before_torch_loads_and_never_over_the_user():
    code = (
        "import os; from reslab.utils.runtime import set_training_env; "
        "print(set_training_env(), os.environ['OMP_WAIT_POLICY'])"
    )
    assert _run(code) == "{'OMP_WAIT_POLICY': 'PASSIVE'} PASSIVE"
    assert _run(code, OMP_WAIT_POLICY="ACTIVE") == "{} ACTIVE"
    late = "import torch; from reslab.utils.runtime import set_training_env as s; print(s())"
    assert _run(late) == "{}"  # too late to matter, so nothing is set


def test_apply_training_runtime_reports_what_is_in_effect():
    applied = apply_training_runtime("cpu")
    assert applied["device"] == "cpu" and applied["threads"] == torch.get_num_threads()
    assert isinstance(applied["keep_freed_memory"], bool)
    assert set(applied["env"]) == set(CPU_TRAINING_ENV)
    assert apply_training_runtime("cuda")["keep_freed_memory"] is False


def test_preferred_layout_per_device():
    assert preferred_channels_last(torch.device("cpu")) is True
    assert preferred_channels_last(torch.device("cuda")) is True
    assert preferred_channels_last(torch.device("meta")) is False
    assert set_training_env() == {}  # this process has torch
