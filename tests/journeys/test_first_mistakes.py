"""The first mistakes of a user who has CIFAR-10 as image files: each gets one `error:` line that
says what is wrong and what to do, and a non-zero exit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from reslab import models
from reslab.data import default_workers

from .steps import reslab


@pytest.fixture
def jpg_folder(tmp_path):
    """CIFAR-10 as the public JPEG copy lays it out (two classes, a few 32x32 files)."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (tmp_path / "jpg" / split / name).mkdir(parents=True)
            for i in range(3):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / "jpg" / split / name / f"{i}.jpg")
    return tmp_path / "jpg"


def _one_error(result) -> str:
    assert result.rc == 2, result.text
    (line,) = result.error_lines()
    assert "Traceback" not in result.text
    return line


def test_a_folder_given_to_a_recipe_without_data_name_folder(capsys, jpg_folder, tmp_path):
    line = _one_error(
        reslab(
            capsys, "train", "cifar10_resnet20", f"data.root={jpg_folder}", f"out_dir={tmp_path}"
        )
    )
    assert "is an image folder" in line and "data.name=folder" in line
    assert f"reslab data pack cifar10 --from {jpg_folder}" in line  # or its archive
    assert not (tmp_path / "cifar10_resnet20").exists()


def test_a_validation_split_larger_than_the_folder_names_data_val_size(
    capsys, jpg_folder, tmp_path
):
    """The CIFAR-10 recipes hold out 5,000 training images for validation: on a small folder
    the error names the setting and a value that works, and that value then trains."""
    common = (
        "train",
        "cifar10_resnet20",
        "data.name=folder",
        f"data.root={jpg_folder}",
        "train.iterations=2",
        "train.progress=false",
        "train.tensorboard=false",
        f"out_dir={tmp_path / 'runs'}",
    )
    line = _one_error(reslab(capsys, *common))
    assert "data.val_size=5000" in line and "6 training images" in line, line
    assert "data.val_size=1" in line and "data.val_size=0" in line, line
    assert reslab(capsys, *common, "data.val_size=2", "data.batch_size=2").rc == 0


def test_a_data_root_that_does_not_exist(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    line = _one_error(
        reslab(capsys, "train", "cifar10_resnet20", f"data.root={missing}", f"out_dir={tmp_path}")
    )
    assert f"data.root {missing} does not exist" in line and "not found" not in line


def test_a_study_on_a_data_root_that_does_not_exist_says_so_before_training(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    result = reslab(
        capsys,
        "study",
        "degradation",
        "--data",
        "cifar10",
        "--root",
        missing,
        "--iterations",
        "20",
        "--out",
        tmp_path / "runs",
    )
    line = _one_error(result)
    assert f"data.root {missing} does not exist" in line
    # one line from the study itself: no progress bar, no net started
    assert "training" not in result.text and not list((tmp_path / "runs").rglob("config.yaml"))


def test_a_study_given_the_image_folder_is_told_how_to_write_its_archive(
    capsys, jpg_folder, tmp_path
):
    """The study reads the archive only, so "data.name=folder" is no advice for it; the line
    names the pack command, and that command, typed as said, writes an archive of the folder."""
    study = ["study", "degradation", "--data", "cifar10", "--iterations", "20"]
    line = _one_error(reslab(capsys, *study, "--root", jpg_folder, "--out", tmp_path / "runs"))
    assert "is an image folder" in line and "data.name=folder" not in line
    advice = line.split("`")[1]
    assert advice.startswith(f"reslab data pack cifar10 --from {jpg_folder} --root ")
    archive = tmp_path / "archive"
    result = reslab(capsys, *advice.split()[1:-1], archive)
    assert result.rc == 0, result.text
    assert (archive / "cifar-10-batches-py" / "test_batch").is_file()
    # a corrupt file is one line naming it, and nothing is written
    (jpg_folder / "train" / "dog" / "1.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    line = _one_error(reslab(capsys, *advice.split()[1:-1], tmp_path / "other"))
    assert "dog/1.jpg" in line and "fix or remove it" in line
    assert not (tmp_path / "other" / "cifar-10-batches-py").exists()
    # --data folder, as training takes it, gets the same advice
    study = ["study", "degradation", "--data", "folder", "--root", jpg_folder]
    line = _one_error(reslab(capsys, *study, "--out", tmp_path / "runs"))
    assert "reslab data pack cifar10 --from FOLDER --root DIR" in line, line


def test_a_mistyped_weights_name_gets_a_did_you_mean(capsys, tmp_path):
    image = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(image)
    line = _one_error(reslab(capsys, "predict", "resnet57.cifar10", image))
    assert "did you mean resnet56.cifar10" in line and "reslab models" in line
    line = _one_error(reslab(capsys, "eval", "resnet57.cifar10", "--data", "cifar10"))
    assert "did you mean resnet56.cifar10" in line


def test_a_folder_that_is_not_a_run(capsys, tmp_path):
    line = _one_error(reslab(capsys, "eval", tmp_path))
    assert "is not a run directory" in line and "train it first" not in line
    (tmp_path / "config.yaml").write_text("name: r\n")  # a run that has not finished
    line = _one_error(reslab(capsys, "eval", tmp_path))
    assert "holds no final.safetensors yet" in line


def test_workers_follow_the_machine():
    import os

    assert default_workers() == max(1, min(4, len(os.sched_getaffinity(0))))


def test_the_community_files_note_is_not_repeated(tmp_path, capsys):
    """A file without num_batches_tracked: the note is said once per process (and not at all
    for the published files, whose age is known)."""
    state = {
        k: v for k, v in models.create("resnet20").state_dict().items()
        if not k.endswith("num_batches_tracked")
    }  # fmt: skip
    path = tmp_path / "old.pt"
    torch.save(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            models.load_weights(models.create("resnet20"), path)
    assert capsys.readouterr().err.count("note:") == 1


@pytest.fixture
def weights(tmp_path):
    """A reslab weights file for CIFAR-10's classes, with its input spec."""
    from reslab.models import hub

    meta = hub.get_weights("resnet20", "cifar10").inference_metadata()
    return models.save_weights(models.create("resnet20"), tmp_path / "w.safetensors", meta)


def _count(capsys, *args) -> int:
    import json

    result = reslab(capsys, "eval", *args, "--json", "--device", "cpu")
    assert result.rc == 0, result.text
    return json.loads(result.out)["count"]


def test_each_split_is_read_from_its_own_folder(capsys, jpg_folder, weights):
    """test/ for --split test even beside a val/ (which ImageNet uses for its test images), val/
    for --split val, train/ for --split train; a split that is not there is one line."""
    common = (weights, "--data", "folder", "--root", jpg_folder)
    assert _count(capsys, *common) == 6  # test/ (no val/): 2 classes x 3
    assert _count(capsys, *common, "--split", "train") == 6
    line = _one_error(reslab(capsys, "eval", *common, "--split", "val"))
    assert "no val/ folder" in line and "--split test" in line
    (jpg_folder / "val" / "cat").mkdir(parents=True)
    for f in list((jpg_folder / "test" / "cat").iterdir())[:2]:
        (jpg_folder / "val" / "cat" / f.name).write_bytes(f.read_bytes())
    assert _count(capsys, *common) == 6  # still test/
    assert _count(capsys, *common, "--split", "val") == 2


def test_a_mistyped_dataset_name_is_not_taken_for_a_folder(capsys, jpg_folder, weights):
    line = _one_error(reslab(capsys, "eval", weights, "--data", "foldr", "--root", jpg_folder))
    assert "unknown dataset 'foldr'" in line and "did you mean folder" in line


def test_a_mistyped_dataset_name_in_training_is_not_taken_for_an_archive(
    capsys, jpg_folder, tmp_path
):
    """data.name=foldr with an image folder as data.root: the typo is the mistake, not the
    folder (which data.name=folder, the name meant, would train on)."""
    typo = ("train", "cifar10_resnet20", "data.name=foldr", f"data.root={jpg_folder}")
    line = _one_error(reslab(capsys, *typo, f"out_dir={tmp_path}"))
    assert "unknown dataset 'foldr'" in line and "did you mean folder" in line, line
    assert "archive" not in line
    # with a run of that name already there, the typo is still what is named, resume or not
    first = reslab(
        capsys,
        *typo[:2],
        "data.name=folder",
        f"data.root={jpg_folder}",
        "data.val_size=2",
        "data.batch_size=2",
        "train.iterations=2",
        "train.progress=false",
        "train.tensorboard=false",
        f"out_dir={tmp_path}",
    )
    assert first.rc == 0, first.text
    for resume in ((), ("--resume", "auto")):
        line = _one_error(reslab(capsys, *typo, f"out_dir={tmp_path}", *resume))
        assert "unknown dataset 'foldr'" in line, line


@pytest.mark.parametrize("pipeline", ["cifar", "imagenet"])
def test_a_test_folder_with_only_some_classes_is_scored_by_name(
    capsys, tmp_path, monkeypatch, pipeline
):
    """test/ lacks one of train/'s classes: training scores it by name, as `reslab eval` does
    (the same error on the same images); a class train/ never had is one line naming it."""
    import json

    from .datasets import write_image_folder

    write_image_folder(tmp_path / "f", classes=("a", "b", "c"), train=6, val=2, size=(32, 32))
    for f in (tmp_path / "f" / "val" / "b").iterdir():
        f.unlink()
    (tmp_path / "f" / "val" / "b").rmdir()
    monkeypatch.chdir(tmp_path)
    args = ["data.name=folder", "data.root=f", "data.val_size=0", "data.batch_size=6",
            f"data.folder_pipeline={pipeline}", "data.image_size=32", "train.iterations=2",
            "train.progress=false", "train.tensorboard=false"]  # fmt: skip
    result = reslab(capsys, "train", "cifar10_resnet20", *args, "name=r")
    assert result.rc == 0, result.text
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    result = reslab(capsys, "eval", "runs/r", "--json")
    scored = json.loads(result.out)
    assert scored["count"] == 4 and scored["classes"] == ["a", "b", "c"]
    assert summary["final"]["test_error"] == pytest.approx(scored["top1_error"], abs=1e-9)
    assert summary["final"]["test_count"] == 4
    assert scored["per_class_accuracy"][1] is None  # b: no test image

    (tmp_path / "f" / "val" / "zebra").mkdir()
    next((tmp_path / "f" / "val" / "a").iterdir()).rename(
        tmp_path / "f" / "val" / "zebra" / "z.png"
    )
    line = _one_error(reslab(capsys, "train", "cifar10_resnet20", *args, "name=z"))
    assert "f/val has class folders that f/train lacks (zebra)" in line, line


def test_small_images_scaled_up_by_the_imagenet_pipeline_are_said(capsys, jpg_folder, tmp_path):
    """32x32 files under the ImageNet folder pipeline become 224x224 crops: a warning says so
    and what to do, and the run line gives the input size; at data.image_size=32, no warning."""
    args = ["data.name=folder", f"data.root={jpg_folder}", "data.val_size=0",
            "data.batch_size=6", "data.folder_pipeline=imagenet", "data.num_workers=0",
            "train.iterations=1", "train.progress=false", "train.tensorboard=false",
            f"out_dir={tmp_path / 'runs'}"]  # fmt: skip
    result = reslab(capsys, "train", "cifar10_resnet20", *args, "name=up")
    assert result.rc == 0, result.text
    (warning,) = [x for x in result.err.splitlines() if "scaled up" in x]
    assert "resnet20 takes 224x224 crops here" in warning and "images are 32x32" in warning
    assert "leave out data.folder_pipeline=imagenet" in warning
    assert "(6 train images, 224x224 input)" in result.out
    result = reslab(capsys, "train", "cifar10_resnet20", *args, "data.image_size=32", "name=n")
    assert result.rc == 0 and "scaled up" not in result.text, result.text
    assert "(6 train images, 32x32 input)" in result.out
