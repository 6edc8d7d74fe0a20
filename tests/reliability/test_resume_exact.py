"""A run killed with SIGKILL and resumed ends bit-identical to one that was never interrupted.

The resumed process also starts from a poisoned optimizer (lr 999, momentum 0.123; the
detectron2 check), so a resume that restored only part of the state would show in the weights.
"""

from __future__ import annotations

import re
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

from reslab.engine import load_checkpoint

from .harness import reslab, start, tiny, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


@pytest.mark.timeout(300)
def test_killed_and_resumed_run_is_bit_identical(tmp_path):
    common = ("train.deterministic=true", "train.eval_every=30")
    args = tiny(tmp_path, "x", *common, iterations=60)
    whole = start(*tiny(tmp_path, "whole", *common, iterations=60), log=tmp_path / "whole.log")
    killed = start(*args, log=tmp_path / "killed.log", env={"PROBE_STEP_DELAY": "0.05"}, probe=True)
    try:
        wait_for(tmp_path / "x" / "checkpoints" / "step_00000020.pt", killed)
        time.sleep(0.2)  # mid-way between checkpoints
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    resumed = reslab(*args, "--resume", "auto", probe=True, env={"PROBE_POISON_OPTIMIZER": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert whole.wait(timeout=240) == 0, (tmp_path / "whole.log").read_text()
    at = int(re.search(r"from step_\d+\.pt at step (\d+)", resumed.stdout).group(1))
    assert 20 <= at < 60

    expected = load_file(tmp_path / "whole" / "final.safetensors")
    got = load_file(tmp_path / "x" / "final.safetensors")
    assert expected.keys() == got.keys()
    different = [k for k in expected if not torch.equal(expected[k], got[k])]
    assert different == []

    # the optimizer state itself, at every step both runs kept a checkpoint of
    for step in (40, 50, 60):
        a = load_checkpoint(tmp_path / "whole" / "checkpoints" / f"step_{step:08d}.pt")
        b = load_checkpoint(tmp_path / "x" / "checkpoints" / f"step_{step:08d}.pt")
        for group_a, group_b in zip(a["optimizer"]["param_groups"], b["optimizer"]["param_groups"]):
            assert group_b["momentum"] == group_a["momentum"] == 0.9
            assert group_b["lr"] == group_a["lr"] < 1
        assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
        for i, state in a["optimizer"]["state"].items():
            assert torch.equal(
                state["momentum_buffer"], b["optimizer"]["state"][i]["momentum_buffer"]
            )
        assert a["epoch"] == b["epoch"] and a["batch_in_epoch"] == b["batch_in_epoch"]
        assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
