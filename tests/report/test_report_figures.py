"""Each figure function writes a real PNG of a readable size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from reslab.report import figures


def _check_png(path: Path, min_width: int = 500) -> None:
    assert path.is_file() and path.stat().st_size > 10_000
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        assert width >= min_width and height >= 300
        # Not a blank canvas: a plot has many distinct colours.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 20


@pytest.mark.parametrize("metric", ["train_error", "test_error"])
def test_training_curves(tmp_path, synthetic, metric):
    runs = synthetic.degradation()["runs"]
    _check_png(figures.plot_training_curves(runs, tmp_path / "c.png", metric=metric))


def test_training_curves_with_zero_error_and_uneven_seeds(tmp_path, synthetic):
    runs = synthetic.degradation()["runs"]
    for h in runs[0]["history"]:
        h["train_error"] = 0.0 if h["step"] > 500 else h["train_error"]
    runs[1]["history"] = runs[1]["history"][::2]  # logged at other steps than seed 0
    _check_png(figures.plot_training_curves(runs, tmp_path / "c.png"))


def test_training_curves_refuse_unknown_metric(tmp_path):
    with pytest.raises(ValueError, match="metric"):
        figures.plot_training_curves([], tmp_path / "c.png", metric="accuracy")  # type: ignore[arg-type]


def test_error_vs_depth(tmp_path, synthetic):
    _check_png(figures.plot_error_vs_depth(synthetic.degradation()["summary"], tmp_path / "d.png"))


def test_gradient_norms_accepts_study_or_models(tmp_path, synthetic):
    study = synthetic.gradients()
    _check_png(figures.plot_gradient_norms(study, tmp_path / "g1.png"))
    study["models"][0]["trained"] = [x * 2 for x in study["models"][0]["init"]]
    out = figures.plot_gradient_norms(study["models"], tmp_path / "g2.png")
    _check_png(out)
    with Image.open(out) as image:  # a second panel for the trained norms
        assert image.size[0] > 1000


def test_layer_responses(tmp_path, synthetic):
    _check_png(figures.plot_layer_responses(synthetic.responses(), tmp_path / "r.png"))


def test_confusion_matrix(tmp_path):
    matrix = [[5, 1, 0], [0, 7, 2], [1, 0, 9]]
    _check_png(figures.plot_confusion_matrix(matrix, ["a", "b", "c"], tmp_path / "m.png"), 400)
    with pytest.raises(ValueError, match="does not fit"):
        figures.plot_confusion_matrix(matrix, ["a", "b"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
