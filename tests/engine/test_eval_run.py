"""`reslab eval` on what `reslab train` leaves: a run with a validation split, a run whose data
lives in its own data.root, one of its checkpoints, and under torchrun's RANK."""

from __future__ import annotations

import json
import shutil

import pytest
from data.builders import write_cifar

from reslab.cli import main
from reslab.engine import evaluate, train

FAST = ["train.progress=false", "train.tensorboard=false", "data.eval_batch_size=1000"]


@pytest.fixture(scope="module")
def cifar_run(tmp_path_factory):
    """The shipped CIFAR recipe (with a validation split, as a count) on a tiny CIFAR-10 in the
    official archive layout, trained for two steps."""
    root = tmp_path_factory.mktemp("data")
    write_cifar(root, "cifar10", archive=True, per_class_train=3)  # 150 train, 10 test
    out = tmp_path_factory.mktemp("runs")
    train(
        "cifar10_resnet20",
        [
            f"data.root={root}",
            "data.val_size=20",
            "train.iterations=2",
            "data.batch_size=16",
            f"out_dir={out}",
            "name=c20",
            *FAST,
        ],
    )
    return out / "c20"


def test_eval_works_on_a_run_trained_with_a_validation_split(cifar_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(cifar_run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["count"] == 10  # the test set, found in the run's own data.root
    assert main(["eval", str(cifar_run), "--split", "val", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 20  # the run's own held-out split


def test_eval_works_on_one_of_the_runs_checkpoints(cifar_run, capsys):
    ckpt = sorted((cifar_run / "checkpoints").glob("step_*.pt"))[-1]
    capsys.readouterr()
    assert main(["eval", str(ckpt), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 10


def test_eval_of_an_interrupted_run_reads_model_json_written_at_the_start(cifar_run, tmp_path):
    """An interrupted run has no final weights, but its checkpoints can be evaluated."""
    copy = tmp_path / "c20"
    shutil.copytree(cifar_run, copy)
    (copy / "final.safetensors").unlink()
    ckpt = sorted((copy / "checkpoints").glob("step_*.pt"))[-1]
    assert evaluate(ckpt).count == 10


def test_under_torchrun_only_rank_0_prints(cifar_run, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    capsys.readouterr()
    assert main(["eval", str(cifar_run), "--json"]) == 0
    assert capsys.readouterr().out == ""


def test_debug_is_accepted_after_the_subcommand(cifar_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(cifar_run), "--json", "--debug"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 10


def test_eval_finds_the_data_in_the_runs_own_root(tmp_path, capsys):
    """Trained with data.root=<dir>, evaluated without repeating --root."""
    root = tmp_path / "data"
    write_cifar(root, "cifar10", archive=True, per_class_train=3)  # the official .tar.gz
    train(
        "cifar10_resnet20",
        [
            f"data.root={root}",
            "data.val_size=10",
            "train.iterations=4",
            "data.batch_size=8",
            f"out_dir={tmp_path / 'runs'}",
            "name=r",
            *FAST,
        ],
    )
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "runs" / "r"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 10  # 1 test image per class


def test_flip_tta_from_the_command_line(cifar_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(cifar_run), "--json", "--tta", "flip"]) == 0
    flipped = json.loads(capsys.readouterr().out)
    assert main(["eval", str(cifar_run), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert flipped["count"] == plain["count"] == 10
    assert flipped["loss"] != plain["loss"]  # the mirrored images were scored too
