import json

import pytest
import torch

from reslab.errors import WeightsError
from reslab.inference import load_for_inference
from reslab.models import create, save_weights

from .builders import DIGITS, make_run


def test_run_dir_and_its_weights_file_give_the_same_model(run_dir):
    from_dir, meta = load_for_inference(run_dir)
    from_file, meta_file = load_for_inference(run_dir / "final.safetensors")
    assert not from_dir.training
    assert meta == meta_file
    assert meta["classes"] == DIGITS and meta["image_size"] == [8, 8]
    assert from_dir.in_channels == 1 and from_dir.spec.shortcut == "A"
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(from_dir(x), from_file(x))


def test_model_kwargs_rebuild_the_trained_variant(tmp_path):
    make_run(tmp_path, model_kwargs={"shortcut": "B"})
    model, meta = load_for_inference(tmp_path)
    assert model.spec.shortcut == "B"
    assert meta["model_kwargs"] == {"shortcut": "B"}


def test_a_folder_that_is_not_a_run_says_so(tmp_path):
    with pytest.raises(WeightsError, match="is not a run directory") as info:
        load_for_inference(tmp_path)
    assert "\n" not in str(info.value)


def test_a_run_without_final_weights_says_to_let_it_finish(tmp_path):
    (tmp_path / "config.yaml").write_text("name: r\n")
    with pytest.raises(WeightsError, match="holds no final.safetensors yet: let the run finish"):
        load_for_inference(tmp_path)


def test_missing_source_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="no such file or directory"):
        load_for_inference(tmp_path / "nope.safetensors")


def test_safetensors_without_reslab_metadata_says_so(tmp_path):
    save_weights(create("resnet20", num_classes=10), tmp_path / "bare.safetensors")
    with pytest.raises(WeightsError, match="has no reslab metadata"):
        load_for_inference(tmp_path / "bare.safetensors")


def test_a_truncated_checkpoint_alone_is_called_unreadable_not_unlabelled(tmp_path, run_dir):
    """A cut-off copy of a training checkpoint, away from its run: the file is the problem,
    whatever metadata it would have lacked."""
    model, _ = load_for_inference(run_dir)
    torch.save({"model": model.state_dict(), "step": 20}, tmp_path / "whole.pt")
    data = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="is not a readable PyTorch file"):
        load_for_inference(tmp_path / "cut.pt")
    with pytest.raises(WeightsError, match="has no reslab metadata"):  # intact but unlabelled
        load_for_inference(tmp_path / "whole.pt")


def test_training_checkpoint_uses_model_json_beside_it(tmp_path, run_dir):
    """A torch checkpoint carries no metadata of its own; model.json supplies it."""
    model, meta = load_for_inference(run_dir)
    (tmp_path / "model.json").write_text((run_dir / "model.json").read_text())
    torch.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "last.pt")
    loaded, loaded_meta = load_for_inference(tmp_path / "last.pt")
    assert loaded_meta == meta
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_class_count_mismatch_is_reported(tmp_path, run_dir):
    model, meta = load_for_inference(run_dir)
    save_weights(model, tmp_path / "w.safetensors", {**meta, "classes": ["a", "b"]})
    with pytest.raises(WeightsError, match="names 2 classes for a 10-class model"):
        load_for_inference(tmp_path / "w.safetensors")


def test_unknown_model_in_metadata_is_a_weights_error(tmp_path, run_dir):
    meta = json.loads((run_dir / "model.json").read_text())
    model, _ = load_for_inference(run_dir)
    save_weights(model, tmp_path / "w.safetensors", {**meta, "model": "resnet21"})
    with pytest.raises(WeightsError, match="unknown model 'resnet21'"):
        load_for_inference(tmp_path / "w.safetensors")


def test_weights_copied_over_a_runs_own_are_refused_everywhere(tmp_path, capsys, images):
    """A file copied over a run's final.safetensors would be scored on the dataset its own
    metadata names and reported as that run's number: eval, predict and export refuse it in one
    line naming both, while each file still loads where it belongs."""
    from reslab.cli import main

    make_run(tmp_path / "digits", in_channels=1, image_size=(8, 8))
    make_run(tmp_path / "photos", in_channels=3, image_size=(32, 32), seed=1)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "model.json").write_bytes((tmp_path / "photos" / "model.json").read_bytes())
    (mixed / "final.safetensors").write_bytes(
        (tmp_path / "digits" / "final.safetensors").read_bytes()
    )
    with pytest.raises(WeightsError, match="does not belong to the run it sits in") as e:
        load_for_inference(mixed)
    assert "resnet20 (1x8x8 inputs)" in str(e.value) and "resnet20 (3x32x32 inputs)" in str(e.value)
    assert "in_channels" in str(e.value)
    for argv in (
        ["eval", mixed, "--data", "folder", "--root", images[0].parent],
        ["predict", mixed, images[0]],
        ["export", mixed, "--format", "safetensors", "--out", tmp_path / "out.safetensors"],
    ):
        capsys.readouterr()
        assert main([str(a) for a in argv]) != 0, argv
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "does not belong to the run" in lines[0], err
        assert "Traceback" not in err
    assert not (tmp_path / "out.safetensors").exists()
    # the same file alone, or where it came from, is fine
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "w.safetensors").write_bytes((mixed / "final.safetensors").read_bytes())
    assert load_for_inference(tmp_path / "alone" / "w.safetensors")[1]["in_channels"] == 1
    assert load_for_inference(tmp_path / "digits")[1]["in_channels"] == 1
