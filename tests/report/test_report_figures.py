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


def test_a_short_run_is_drawn_at_whole_iterations(tmp_path, synthetic, monkeypatch):
    """A 20-iteration study logs every iteration: its x axis has no iteration 2.5."""
    runs = synthetic.degradation()["runs"]
    for run in runs:
        run["iterations"] = 20
        run["history"] = [{**run["history"][0], "step": step} for step in range(1, 21)]
    drawn = {}
    save = figures._save
    monkeypatch.setattr(
        figures, "_save", lambda fig, path: drawn.setdefault("fig", fig) and save(fig, path)
    )
    _check_png(figures.plot_training_curves(runs, tmp_path / "c.png"))
    ticks = [x for x in drawn["fig"].axes[0].get_xticks() if 0 <= x <= 20]
    assert len(ticks) >= 3 and all(float(x).is_integer() for x in ticks), ticks


def test_plain_and_residual_markers_of_one_depth_do_not_hide_each_other(
    tmp_path, synthetic, monkeypatch
):
    """Plain-20 and ResNet-20 both near 0% (as in the demo): the two markers are drawn apart
    (more than a marker's width) and above the x axis, each in its depth's colour."""
    summary = synthetic.degradation()["summary"]
    for row in summary:
        row["final_train_error"] = {"mean": 0.05, "std": 0.0, "n": 3}
    drawn = []
    save = figures._save
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(fig) or save(fig, path))
    figures.plot_error_vs_depth(summary, tmp_path / "d.png")
    ax = drawn[0].axes[0]
    markers = [
        (line, ax.transData.transform(xy))
        for line in ax.get_lines()
        if line.get_marker() == "o"
        for xy in line.get_xydata()
    ]
    by_depth: dict[str, list] = {}
    for line, (x, y) in markers:
        by_depth.setdefault(line.get_color(), []).append((x, y))
    width = 7 * drawn[0].dpi / 72  # markersize 7 points, in pixels
    pairs = [sorted(v) for v in by_depth.values() if len(v) == 2]
    assert pairs, by_depth
    for (x1, _), (x2, _) in pairs:
        assert x2 - x1 > width, (x1, x2, width)
    assert ax.get_ylim()[0] < 0 < ax.get_ylim()[1]


def test_training_curves_refuse_unknown_metric(tmp_path):
    with pytest.raises(ValueError, match="metric"):
        figures.plot_training_curves([], tmp_path / "c.png", metric="accuracy")  # type: ignore[arg-type]


def test_error_vs_depth_is_two_panels(tmp_path, synthetic):
    out = figures.plot_error_vs_depth(synthetic.degradation()["summary"], tmp_path / "d.png")
    assert [p.name for p in out] == ["d-train.png", "d-test.png"]
    for p in out:
        _check_png(p)


def test_relative_gradients_accepts_study_or_models(tmp_path, synthetic):
    study = synthetic.gradients()
    out = figures.plot_relative_gradients(study, tmp_path / "g1.png")
    # a panel per stage: at initialisation, after 1 and after 10 steps
    assert [p.name for p in out] == ["g1.png", "g1-step1.png", "g1-step10.png"]
    study["models"][0]["trained"] = [x * 2 for x in study["models"][0]["init"]]
    out = figures.plot_relative_gradients(study["models"], tmp_path / "g2.png")
    assert [p.name for p in out][-1] == "g2-trained.png"  # and one for the trained nets
    for p in out:
        _check_png(p)


PAGE_WIDTH = 1000
CONTENT_PX = 928
"""The report's column at a 1000 px window: 60rem less 2 x 1rem of padding (report.render)."""
PANEL_PX = (CONTENT_PX - 8) / 2
"""One of two panels side by side (.panels: flex 1 1 22rem, gap .5rem)."""


def _smallest_text_px(draw, tmp_path, shown_px) -> float:
    """The smallest text drawn by ``draw`` in CSS pixels, once the PNG is shown
    ``shown_px(natural width)`` wide."""
    import matplotlib.text

    sizes: list[list[float]] = []
    real = figures._save

    def spy(fig, path):
        sizes.append(
            [
                t.get_fontsize()
                for t in fig.findobj(matplotlib.text.Text)
                if t.get_visible() and t.get_text().strip()
            ]
        )
        return real(fig, path)

    figures._save = spy
    try:
        paths = draw(tmp_path)
    finally:
        figures._save = real
    smallest = []
    for path, points in zip(paths, sizes):
        with Image.open(path) as image:
            natural = image.size[0]
        scale = min(1.0, shown_px(natural) / natural)
        smallest.append(min(points) * figures.DPI / 72 * scale)
    return min(smallest)


def test_figure_text_is_readable_at_1000px(tmp_path, synthetic):
    """At a 1000 px window no figure's text is below 10 px (the gradient panels' legends were
    about 7 px: 8 pt at 110 dpi on an 836 px image shown 460 px wide)."""
    degradation, responses = synthetic.degradation(), synthetic.responses()
    panels = {
        "gradients": lambda d: figures.plot_relative_gradients(synthetic.gradients(), d / "g.png"),
        "error vs depth": lambda d: figures.plot_error_vs_depth(
            degradation["summary"], d / "e.png"
        ),
        "responses": lambda d: figures.plot_layer_responses(responses, d / "r.png"),
    }
    for name, draw in panels.items():
        px = _smallest_text_px(draw, tmp_path, lambda natural: PANEL_PX)
        assert px >= 10, (name, px)
    curves = _smallest_text_px(
        lambda d: [figures.plot_training_curves(degradation["runs"], d / "c.png")],
        tmp_path,
        lambda natural: min(natural, CONTENT_PX),
    )
    assert curves >= 10


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
