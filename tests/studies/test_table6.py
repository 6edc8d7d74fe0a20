"""Table 6's comparison: which training split the nets were trained on, and a mean over seeds
set beside the paper's mean (ResNet-110, 5 runs), not beside its best run."""

from __future__ import annotations

import json

import pytest
from data.builders import write_cifar

from reslab import reference
from reslab.studies.table6 import Table6Config, paper_error, run_table6


def test_resnet110_over_seeds_is_compared_with_the_papers_mean_of_five_runs():
    best = reference.CIFAR10_TABLE6["resnet110"].paper_error
    assert paper_error("resnet110", 1) == best  # one run: the paper's single figure
    mean, std = reference.RESNET110_MEAN_STD_5RUNS
    assert paper_error("resnet110", 3) == {"mean": mean, "std": std, "n": 5}
    assert mean != best
    assert paper_error("resnet56", 3) == reference.CIFAR10_TABLE6["resnet56"].paper_error


def test_train_on_is_checked():
    with pytest.raises(Exception, match="45k or 50k"):
        Table6Config(train_on="40k")


@pytest.mark.slow
def test_train_on_50k_trains_on_every_training_image_and_says_so(tmp_path):
    root = tmp_path / "data"
    write_cifar(root, "cifar10", archive=False, per_class_train=3)
    out = run_table6(
        Table6Config(
            models=["resnet20"],
            root=str(root),
            allow_cpu=True,
            out_dir=str(tmp_path / "runs"),
            train_on="50k",
            overrides=[
                "train.iterations=2",
                "train.eval_every=2",
                "train.checkpoint_every=2",
                "data.batch_size=10",
                "train.progress=false",
                "train.tensorboard=false",
            ],
        )  # fmt: skip
    )
    results = json.loads((out / "results.json").read_text())
    assert "all 50k training images" in results["note"]
    summary = json.loads((out / "runs" / "resnet20_s0" / "summary.json").read_text())
    assert "val" not in summary["data_sizes"] and summary["data_sizes"]["train"] == 3 * 5 * 10
