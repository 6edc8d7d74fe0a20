"""Ctrl-C during `reslab train`, as a person presses it in a terminal: exit 130 with one
"stopped" message, `--resume auto` continues to the same total and ends where an
uninterrupted run ends, and a resume that asks for another length is refused untouched."""

from __future__ import annotations

import re
import signal

import pytest
import torch
from reliability.harness import TRACEBACK, kill_tree, reslab, start, wait_for
from safetensors.torch import load_file

from .steps import checkpoint_files

pytestmark = pytest.mark.slow

ITERATIONS = 150  # about 20 s on one thread, so the Ctrl-C lands mid-run


def _args(out_dir, iterations: int = ITERATIONS, *extra: str) -> list[str]:
    return [
        "train",
        "digits_resnet20",
        *extra,
        "name=r",
        f"out_dir={out_dir}",
        f"train.iterations={iterations}",
        "train.checkpoint_every=10",
        "train.log_every=10",
        "train.progress=false",
        "train.tensorboard=false",
        "train.deterministic=true",
    ]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("data", ["digits", "folder"])
def test_ctrl_c_then_resume_auto_completes_like_an_uninterrupted_run(tmp_path, data, request):
    """On digits, and on an image folder read by 2 DataLoader workers with random-resized crops
    (each sample's crop is drawn from its own seed, so the resumed epoch reads the same pixels)."""
    extra: tuple[str, ...] = ()
    if data == "folder":
        root = request.getfixturevalue("folder").root
        extra = ("data.name=folder", f"data.root={root}", "data.folder_pipeline=imagenet",
                 "data.image_size=16", "data.num_workers=2", "data.batch_size=4",
                 "data.eval_batch_size=6", "train.eval_every=50")  # fmt: skip
    runs, whole_runs = tmp_path / "runs", tmp_path / "whole"
    run = runs / "r"
    whole = start(*_args(whole_runs, ITERATIONS, *extra), log=tmp_path / "whole.log")
    try:
        _stop_resume_and_compare(tmp_path, runs, run, whole, whole_runs, extra)
    finally:
        kill_tree(whole)


def _stop_resume_and_compare(tmp_path, runs, run, whole, whole_runs, extra=()) -> None:
    stopped = start(*_args(runs, ITERATIONS, *extra), log=tmp_path / "stopped.log")
    try:
        wait_for(run / "checkpoints" / "step_00000010.pt", stopped, timeout=180)
        stopped.send_signal(signal.SIGINT)
        rc = stopped.wait(timeout=120)
    finally:
        kill_tree(stopped)
    output = (tmp_path / "stopped.log").read_text()
    assert rc == 130, output
    assert output.count("stopped") == 1, output
    assert not TRACEBACK.search(output), output
    assert not (run / "final.safetensors").exists(), "the run did not stop early"
    config = (run / "config.yaml").read_bytes()
    at = int(re.search(r"at step (\d+)", output).group(1))
    assert 10 <= at < ITERATIONS

    resumed = reslab(*_args(runs, ITERATIONS, *extra), "--resume", "auto", timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (run / "final.safetensors").is_file()
    assert (run / "config.yaml").read_bytes() == config
    assert sorted(checkpoint_files(run))[-1] == f"step_{ITERATIONS:08d}.pt"

    assert whole.wait(timeout=300) == 0, (tmp_path / "whole.log").read_text()
    expected = load_file(whole_runs / "r" / "final.safetensors")
    got = load_file(run / "final.safetensors")
    assert expected.keys() == got.keys()
    assert [k for k in expected if not torch.equal(expected[k], got[k])] == []

    # a resume that asks for another length is refused, naming the key, and touches nothing
    before = checkpoint_files(run)
    final_before = (run / "final.safetensors").stat().st_mtime_ns
    refused = reslab(*_args(runs, ITERATIONS + 50, *extra), "--resume", "auto", timeout=120)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "train.iterations" in errors[0], refused.stderr
    assert checkpoint_files(run) == before
    assert (run / "final.safetensors").stat().st_mtime_ns == final_before
    assert (run / "config.yaml").read_bytes() == config


@pytest.mark.timeout(300)
def test_resume_of_a_stopped_run_with_another_length_is_refused(tmp_path):
    """Refused while the run is unfinished too: the checkpoints stay as they were."""
    runs = tmp_path / "runs"
    run = runs / "r"
    proc = start(*_args(runs), log=tmp_path / "log")
    try:
        wait_for(run / "checkpoints" / "step_00000010.pt", proc, timeout=180)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        kill_tree(proc)
    before = checkpoint_files(run)
    config = (run / "config.yaml").read_bytes()
    refused = reslab(*_args(runs, ITERATIONS // 2), "--resume", "auto", timeout=120)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "train.iterations" in refused.stderr, refused.stderr
    assert checkpoint_files(run) == before
    assert (run / "config.yaml").read_bytes() == config
    assert not (run / "final.safetensors").exists()
