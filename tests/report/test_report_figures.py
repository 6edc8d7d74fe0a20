"""Each figure function writes a real PNG of a readable size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_error_vs_depth_is_two_panels(tmp_path, synthetic):
    out = figures.plot_error_vs_depth(synthetic.degradation()["summary"], tmp_path / "d.png")
    assert [p.name for p in out] == ["d-train.png", "d-test.png"]
    for p in out:
        _check_png(p)


def test_gradient_norms_accepts_study_or_models(tmp_path, synthetic):
    study = synthetic.gradients()
    (one,) = figures.plot_gradient_norms(study, tmp_path / "g1.png")
    _check_png(one)
    study["models"][0]["trained"] = [x * 2 for x in study["models"][0]["init"]]
    out = figures.plot_gradient_norms(study["models"], tmp_path / "g2.png")
    assert [p.name for p in out] == ["g2.png", "g2-trained.png"]  # a panel for trained norms
    for p in out:
        _check_png(p)


def test_layer_responses(tmp_path, synthetic):
    for p in figures.plot_layer_responses(synthetic.responses(), tmp_path / "r.png"):
        _check_png(p)


def test_one_colour_per_depth_in_every_figure():
    assert figures.depth_colour(56) == figures.DEPTH_COLOUR[56]
    assert len(set(figures.DEPTH_COLOUR.values())) == len(figures.DEPTH_COLOUR)


def test_lr_drops_are_drawn_at_the_milestones(tmp_path, synthetic):
    import matplotlib.pyplot as plt

    runs = synthetic.degradation()["runs"]
    seen = []
    real = plt.Axes.axvline

    def spy(self, x=0, *args, **kwargs):
        seen.append(x)
        return real(self, x, *args, **kwargs)

    plt.Axes.axvline = spy
    try:
        figures.plot_training_curves(runs, tmp_path / "a.png", lr_drops=[500.0, 750.0])
        figures.plot_training_curves(runs, tmp_path / "b.png")  # read from the logged rates
    finally:
        plt.Axes.axvline = real
    # the history logs every 100 steps and the rate falls after step 600: midway, 650
    assert seen == [500.0, 750.0, 650.0]


def test_symlog_axis_labels_every_decade_and_keeps_zero_clear(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    values = np.array([0.0, 0.07, 0.5, 3.0, 38.0])
    ax.plot(range(len(values)), values)
    figures._error_axis(ax, values)
    ticks = list(ax.get_yticks())
    assert 0.0 in ticks and 20.0 in ticks  # labels above 10 too
    assert 0.01 not in ticks  # nothing squeezed next to 0
    y0, y1 = ax.transData.transform([(0, 0.0), (0, 0.1)])[:, 1]
    assert y1 - y0 > 10  # pixels between "0" and the next label
    plt.close(fig)


def test_chinese_figures_use_chinese_words(tmp_path, synthetic):
    from reslab.report.wording import FIGURE_WORDS

    if figures._cjk_font() is None:
        pytest.skip("no CJK font (Debian: fonts-noto-cjk)")
    words = figures._words("zh")
    assert words is FIGURE_WORDS["zh"]
    _check_png(
        figures.plot_training_curves(synthetic.degradation()["runs"], tmp_path / "z.png", lang="zh")
    )


def test_confusion_matrix(tmp_path):
    matrix = [[5, 1, 0], [0, 7, 2], [1, 0, 9]]
    _check_png(figures.plot_confusion_matrix(matrix, ["a", "b", "c"], tmp_path / "m.png"), 400)
    with pytest.raises(ValueError, match="does not fit"):
        figures.plot_confusion_matrix(matrix, ["a", "b"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
