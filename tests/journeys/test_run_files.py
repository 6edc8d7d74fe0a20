"""What a user does with a finished run's files: evaluate it without repeating where the data
is, evaluate one of its checkpoints, ask for tracebacks after the subcommand, and find its
files readable by others (umask 022). Also a run that cannot start leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from reliability.harness import TRACEBACK
from reliability.harness import reslab as reslab_process

from reslab.engine import train
from reslab.engine.logger import read_metrics
from reslab.errors import ReslabError

from .conftest import OnDisk
from .datasets import write_image_folder
from .steps import reslab, tiny


def _train(recipe: str, out: Path, name: str, *overrides: str, iterations: int = 4) -> Path:
    run = train(recipe, [*overrides, *tiny(out, name, iterations)])
    assert run.status == "completed"
    return run.dir


@pytest.fixture(scope="session")
def cifar_run(tmp_path_factory: pytest.TempPathFactory, cifar10: OnDisk) -> Path:
    """cifar10_resnet20 for 4 steps on the CIFAR-10 archive, no validation split."""
    out = tmp_path_factory.mktemp("runs")
    return _train(
        "cifar10_resnet20",
        out,
        "c10",
        f"data.root={cifar10.root}",
        "data.val_size=0",
        "data.batch_size=8",
    )


@pytest.fixture(scope="session")
def folder_run(tmp_path_factory: pytest.TempPathFactory, folder: OnDisk) -> Path:
    """ResNet-20 for 4 steps on the image folder of JPEG and PNG photographs."""
    out = tmp_path_factory.mktemp("runs")
    return _train(
        "imagenet_resnet50",
        out,
        "photos",
        "model.name=resnet20",
        "model.shortcut=A",
        "data.folder_pipeline=imagenet",  # the recipe's pipeline for the CIFAR net it trains
        f"data.root={folder.root}",
        "data.image_size=16",
        "data.batch_size=4",
        "data.eval_batch_size=6",
        "data.num_workers=0",
    )


@pytest.fixture
def empty_default_root(tmp_path, monkeypatch) -> Path:
    """$RESLAB_DATA and the working directory point at empty folders, so only the run's own
    data.root can lead to the data."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("RESLAB_DATA", str(empty))
    monkeypatch.chdir(empty)
    return empty


def _count(result) -> int:
    assert result.rc == 0, result.text
    return json.loads(result.out)["count"]


def test_eval_without_root_finds_the_runs_cifar_archive(
    capsys, cifar_run, cifar10, empty_default_root
):
    assert _count(reslab(capsys, "eval", cifar_run, "--json")) == cifar10.test_count


def test_eval_without_root_finds_the_runs_image_folder(
    capsys, folder_run, folder, empty_default_root
):
    assert _count(reslab(capsys, "eval", folder_run, "--json")) == folder.test_count


def test_eval_of_a_run_with_a_validation_split_of_n_images(capsys, tmp_path, cifar10):
    """The recipes hold out a count of images (5000); a count must stay a count in eval."""
    run = _train(
        "cifar10_resnet20",
        tmp_path,
        "val20",
        f"data.root={cifar10.root}",
        "data.val_size=20",
        "data.batch_size=8",
        iterations=2,
    )
    root = ("--root", cifar10.root)
    assert _count(reslab(capsys, "eval", run, "--json", *root)) == cifar10.test_count
    assert _count(reslab(capsys, "eval", run, "--json", "--split", "val", *root)) == 20
    assert _count(reslab(capsys, "eval", run, "--json", "--split", "train", *root)) == 130


def test_eval_of_a_checkpoint_file_written_by_reslab(capsys, cifar_run, cifar10):
    checkpoints = sorted((cifar_run / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in checkpoints][-1] == "step_00000004.pt"
    for checkpoint in checkpoints:
        result = reslab(capsys, "eval", checkpoint, "--json", "--root", cifar10.root)
        assert _count(result) == cifar10.test_count, checkpoint
    # the last checkpoint holds the final weights: the same scores as the run itself
    final = json.loads(reslab(capsys, "eval", cifar_run, "--json", "--root", cifar10.root).out)
    last = json.loads(reslab(capsys, "eval", checkpoints[-1], "--json", "--root", cifar10.root).out)
    assert last["confusion"] == final["confusion"]


def test_debug_is_accepted_after_the_subcommand(capsys, cifar_run, cifar10, tmp_path):
    result = reslab(capsys, "eval", cifar_run, "--debug", "--json", "--root", cifar10.root)
    assert _count(result) == cifar10.test_count
    # --debug shows the traceback: the error propagates instead of becoming one line
    with pytest.raises(ReslabError, match="resnet_nope"):
        from reslab.cli import main

        main(
            ["train", "--debug", "digits_resnet20", "model.name=resnet_nope", f"out_dir={tmp_path}"]
        )
    assert not (tmp_path / "digits_resnet20").exists()


def test_a_run_that_fails_at_start_exits_2_and_leaves_no_run_folder(tmp_path):
    result = reslab_process(
        "train", "digits_resnet20", "model.name=resnet_nope", f"out_dir={tmp_path}", "name=nope"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "resnet_nope" in errors[0], output
    assert not TRACEBACK.search(output), output
    assert not (tmp_path / "nope").exists(), sorted(p.name for p in tmp_path.rglob("*"))


def _mode(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


def test_outputs_keep_the_umask_permissions(capsys, tmp_path):
    old = os.umask(0o022)
    try:
        run = _train("digits_resnet20", tmp_path, "shared", iterations=2)
        export = reslab(capsys, "export", run, "--format", "onnx")
        assert export.rc == 0, export.text
        confusion = reslab(capsys, "eval", run, "--confusion-png", tmp_path / "confusion.png")
        assert confusion.rc == 0, confusion.text
    finally:
        os.umask(old)
    files = [
        run / "config.yaml",
        run / "final.safetensors",
        run / "model.json",
        run / "summary.json",
        run / "metrics.jsonl",
        run / "model.onnx",
        tmp_path / "confusion.png",
    ]
    modes = {p.name: _mode(p) for p in files if p.exists()}
    assert modes == {p.name: "-rw-r--r--" for p in files}
    assert _mode(run) == "drwxr-xr-x"


@pytest.mark.parametrize(
    "command",
    [("copy/config.yaml", "--resume", "auto"), ("--resume", "copy")],
    ids=["config", "run-dir"],
)
def test_a_copied_run_resumes_where_it_now_is(capsys, tmp_path, monkeypatch, command):
    """The command reslab suggests, `reslab train RUN/config.yaml --resume auto`, continues RUN
    even after the run folder was copied or moved (its stored out_dir is relative to where it
    was started): it does not train a new run under that old path, nor touch the original.
    `--resume RUN` alone continues RUN with its own config, not the default recipe's."""
    run = _train("digits_resnet20", tmp_path / "first", "r", iterations=4)
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(run, copy)
    # the copy as a crash left it: the newest checkpoint is step 2, nothing final yet
    for name in ("final.safetensors", "summary.json", "checkpoints/step_00000004.pt"):
        (copy / name).unlink()
    before = {p.name: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = reslab(capsys, "train", *command)
    assert result.rc == 0, result.text
    assert "resumed copy from step_00000002.pt at step 2" in result.text, result.text
    assert (copy / "final.safetensors").is_file()
    assert json.loads((copy / "summary.json").read_text())["status"] == "completed"
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == ["copy"]  # no new run
    assert {p.name: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


def test_a_moved_run_with_a_relative_data_root_says_how_to_point_it_and_resumes(
    capsys, tmp_path, monkeypatch
):
    """A folder run started with a relative data.root, copied elsewhere: `--resume COPY` says,
    in one line, that the path is read from here and how to give it; `reslab train --resume
    COPY data.root=...` (an override after --resume RUN, not a recipe) then continues COPY."""
    write_image_folder(tmp_path / "images", train=6, val=2, size=(32, 32))
    monkeypatch.chdir(tmp_path)
    args = ["data.name=folder", "data.root=images", "data.val_size=0", "data.batch_size=6"]
    run = _train("cifar10_resnet20", Path("first"), "r", *args, iterations=4)
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(run, copy)
    for name in ("final.safetensors", "summary.json", "checkpoints/step_00000004.pt"):
        (copy / name).unlink()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = reslab(capsys, "train", "--resume", "copy")
    (line,) = result.error_lines()
    assert result.rc == 2 and "data.root images does not exist from here" in line, result.text
    assert "add data.root=PATH" in line
    assert not (copy / "final.safetensors").exists()
    result = reslab(capsys, "train", "--resume", "copy", "data.root=../images")
    assert result.rc == 0, result.text
    assert "resumed copy from step_00000002.pt at step 2" in result.text, result.text
    assert json.loads((copy / "summary.json").read_text())["status"] == "completed"
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == ["copy"]
    # the data moves too: eval says where the run found it and how to point it there now
    (tmp_path / "images").rename(tmp_path / "moved")
    result = reslab(capsys, "eval", "copy")
    (line,) = result.error_lines()
    where = f"error: {tmp_path / 'images'}, where copy found its folder data, does not exist here"
    assert result.rc == 2 and line.startswith(where), line
    assert "pass --root DIR" in line, line
    assert reslab(capsys, "eval", "copy", "--root", "../moved").rc == 0


def test_a_resume_with_no_checkpoint_says_it_starts_over_and_its_curves_do_not_repeat(
    capsys, tmp_path
):
    """--resume auto on an attempt that died before its first checkpoint trains from step 0,
    says so, and TensorBoard shows each step once (the earlier attempt's events purged)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = [*tiny(tmp_path, "r", iterations=4), "train.tensorboard=true", "train.log_every=1"]
    assert reslab(capsys, "train", "digits_resnet20", *args).rc == 0
    run = tmp_path / "r"
    shutil.rmtree(run / "checkpoints")
    for name in ("final.safetensors", "summary.json"):
        (run / name).unlink()
    result = reslab(capsys, "train", "digits_resnet20", *args, "--resume", "auto")
    assert result.rc == 0, result.text
    assert "holds no checkpoint to resume from: training from step 0" in result.out
    assert len(list((run / "tensorboard").glob("events.out.tfevents*"))) == 2
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/train_loss")] == [1, 2, 3, 4]
    assert [r["step"] for r in read_metrics(run) if r.get("kind") == "train"] == [1, 2, 3, 4]


def test_a_run_directory_where_a_recipe_goes_and_a_run_with_nothing_to_resume(
    capsys, tmp_path, monkeypatch
):
    """`reslab train --resume auto RUN` reads RUN as the recipe: the line says it is a run and
    how to continue it. `--resume RUN` on a run with no checkpoint says how to start it again,
    and that command, typed as said, trains it."""
    run = _train("digits_resnet20", tmp_path, "r", iterations=2)
    monkeypatch.chdir(tmp_path)
    result = reslab(capsys, "train", "--resume", "auto", "r")
    (line,) = result.error_lines()
    assert result.rc == 2 and "r is a run directory, not a recipe" in line, result.text
    assert "`reslab train --resume r`" in line
    shutil.rmtree(run / "checkpoints")
    for name in ("final.safetensors", "summary.json"):
        (run / name).unlink()
    result = reslab(capsys, "train", "--resume", "r")
    (line,) = result.error_lines()
    assert result.rc == 2 and "holds no checkpoint to resume from" in line, result.text
    advice = line.split("`")[1].split()
    assert advice == ["reslab", "train", "r/config.yaml"]
    assert reslab(capsys, *advice[1:]).rc == 0
    assert (run / "final.safetensors").is_file()
