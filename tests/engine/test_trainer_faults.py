"""The trainer's fault handling, piece by piece: signals, torchrun restarts, config numbers."""

from __future__ import annotations

import os
import signal

import pytest
import torch
import yaml

from reslab.engine import CheckpointManager, distributed, load_config, rundir, trainer
from reslab.errors import ConfigError


def test_a_repeated_sigterm_is_one_request(monkeypatch):
    with trainer._StopSignal() as stop:
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler signals the process group ...
        os.kill(os.getpid(), signal.SIGTERM)  # ... and torchrun forwards its own copy
        assert stop.requested  # no KeyboardInterrupt: the loop will checkpoint and exit 0


def test_a_later_second_ctrl_c_stops_at_once(monkeypatch):
    monkeypatch.setattr(trainer, "_FORCE_AFTER_S", 0.0)
    with pytest.raises(KeyboardInterrupt), trainer._StopSignal():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)


def test_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with trainer._StopSignal():
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before


def _cfg(tmp_path):
    return load_config("digits_resnet20", [f"out_dir={tmp_path}", "name=r"])


def _checkpointed_run(tmp_path):
    cfg = _cfg(tmp_path)
    CheckpointManager(cfg.run_dir / "checkpoints").save(
        {"model": {"w": torch.ones(2)}, "optimizer": {}, "config": cfg.to_dict()}, 7
    )
    return cfg


def test_a_new_run_refuses_a_directory_that_holds_one(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RESTART_COUNT", raising=False)
    with (
        pytest.raises(ConfigError, match="already holds a run"),
        rundir.open_run_dir(_checkpointed_run(tmp_path), None, torch.device("cpu")),
    ):
        pass


def test_a_torchrun_restart_resumes_without_being_told(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    cfg = _checkpointed_run(tmp_path)
    with rundir.open_run_dir(cfg, None, torch.device("cpu")) as run:
        state, path = run.checkpoint
    assert state["step"] == 7 and path.name == "step_00000007.pt"


@pytest.mark.parametrize("rank,written", [(0, True), (1, False)])
def test_resume_auto_on_a_fresh_directory_starts_fresh(tmp_path, monkeypatch, rank, written):
    monkeypatch.setattr(distributed, "broadcast_flag", lambda flag, info, device: flag)
    cfg = _cfg(tmp_path)
    info = distributed.DistInfo(rank=rank, world_size=2)
    with rundir.open_run_dir(cfg, "auto", torch.device("cpu"), info) as run:
        assert run.checkpoint is None and run.path == cfg.run_dir
        assert (run.path / "config.yaml").is_file() == written  # only rank 0 writes
    if written:
        assert yaml.safe_load((run.path / "config.yaml").read_text())["name"] == "r"


def test_a_lost_peer_is_recognised_and_summarised():
    e = RuntimeError(
        "[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error "
        "[127.0.0.1]:35717: Connection reset by peer. This is typically caused by a remote "
        "worker hanging or bugs in the application."
    )
    assert distributed.is_peer_failure(e)
    assert distributed.first_line(e) == "Read error [127.0.0.1]:35717: Connection reset by peer"
    assert not distributed.is_peer_failure(
        RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    )


@pytest.mark.parametrize("text,value", [("1e-3", 0.001), ("5E-4", 0.0005), ("2", 2.0)])
def test_exponent_notation_reads_as_a_number(text, value):
    assert load_config(None, [f"optim.lr={text}"]).optim.lr == value


def test_exponent_notation_in_a_recipe_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  lr: 1e-2\n  weight_decay: 5e-4\n")
    cfg = load_config(recipe)
    assert (cfg.optim.lr, cfg.optim.weight_decay) == (0.01, 0.0005)


@pytest.mark.parametrize("text", [".nan", "1e999", "ten", "1e-3x"])
def test_non_numbers_and_non_finite_numbers_are_refused(text):
    with pytest.raises(ConfigError, match="optim.lr must be a"):
        load_config(None, [f"optim.lr={text}"])
