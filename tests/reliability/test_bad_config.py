"""Bad configs and mismatched weights: one line that names the key and the fix, exit 2."""

from __future__ import annotations

import pytest
import torch

from reslab.models import create, read_state_dict, save_weights

from .conftest import FOLDER_ARGS
from .harness import TRACEBACK, assert_clean_failure, reslab, tiny

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize(
    "override,needles",
    [
        ("optim.momentun=0.9", ["unknown config key optim.momentun", "did you mean 'momentum'"]),
        ("train.iterations=ten", ["train.iterations must be an integer", "'ten'"]),
        ("data.val_size=abc", ["data.val_size must be a count (an integer) or a fraction"]),
        ("optim.lr=-0.1", ["optim.lr must be > 0"]),
        ("data.batch_size=5000", ["data.batch_size=5000", "larger than the training set (1437"]),
        ("model.name=resnet21", ["unknown model 'resnet21'", "did you mean resnet"]),
    ],
    ids=["unknown-key", "wrong-type", "size-type", "negative-lr", "batch>dataset", "unknown-model"],
)
def test_bad_config_is_one_line(tmp_path, override, needles):
    result = reslab(*tiny(tmp_path, "x", override))
    assert_clean_failure(result, *needles)
    assert not (tmp_path / "x" / "checkpoints").exists()


def test_debug_shows_the_traceback(tmp_path):
    result = reslab("--debug", *tiny(tmp_path, "x", "optim.lr=-0.1"))
    assert result.returncode != 0
    assert TRACEBACK.search(result.stderr) and "ConfigError: optim.lr must be > 0" in result.stderr


@pytest.fixture
def ten_class_rgb_weights(tmp_path):
    """A 10-class, 3-channel ResNet-20 in reslab's format (with inference metadata)."""
    torch.manual_seed(3)
    model = create("resnet20", num_classes=10, in_channels=3)
    meta = {
        "model": "resnet20",
        "model_kwargs": {},
        "num_classes": 10,
        "in_channels": 3,
        "classes": [f"c{i}" for i in range(10)],
        "image_size": [16, 16],
        "mean": [0.5] * 3,
        "std": [0.25] * 3,
        "resize": 18,
    }
    return save_weights(model, tmp_path / "ten.safetensors", meta)


def test_pretrained_with_other_classes_fine_tunes(tmp_path, rgb_folder, ten_class_rgb_weights):
    result = reslab(
        *tiny(tmp_path, "ft", *FOLDER_ARGS, f"data.root={rgb_folder}", iterations=2),
        f"model.pretrained={ten_class_rgb_weights}",
        "optim.lr=1e-12",
        "optim.weight_decay=0",
    )
    assert result.returncode == 0, result.stderr
    source = read_state_dict(ten_class_rgb_weights)
    tuned = read_state_dict(tmp_path / "ft" / "final.safetensors")
    assert tuned["fc.weight"].shape == (3, 64)  # a new head for three classes ...
    for key in ("conv1.weight", "layer3.2.conv2.weight"):  # ... over the pretrained body
        assert torch.allclose(tuned[key], source[key], atol=1e-6), key


def test_eval_on_data_with_other_classes_is_one_line(rgb_folder, ten_class_rgb_weights):
    result = reslab(
        "eval", str(ten_class_rgb_weights), "--data", "folder", "--root", str(rgb_folder / "val")
    )
    assert_clean_failure(result, "its classes are [cat, dog, fox]", "the model's are [c0, c1")
