"""The report's figures, drawn with matplotlib (Agg) and written as PNGs.

Conventions across figures: plain nets dashed, residual nets solid, one colour per depth
(DEPTH_COLOUR, the same in every figure). Titles, axes and legends are in the report's
language; Chinese needs a CJK font and falls back to English without one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402

from reslab.report.fmt import stat  # noqa: E402
from reslab.report.wording import FIGURE_WORDS  # noqa: E402
from reslab.utils.io import atomic_open  # noqa: E402

DPI = 110
PANEL_SIZE = (5.6, 4.2)
"""Inches of a figure shown as one of two panels side by side (about 460 px wide on a 1000 px
screen, so a 616 px image is shown at 0.75 of its size)."""
STYLE = {
    "font.size": 12,
    "axes.titlesize": 12.5,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
}
"""Text sizes (points) for every figure: at 110 dpi and the width the page shows a panel at,
no text is smaller than about 11 px on a 1000 px screen (tests/report/test_report_figures.py)."""
LINESTYLE = {"plain": "--", "residual": "-"}
METRICS = ("train_error", "test_error")
DEPTH_COLOUR: dict[int, str] = {
    20: "tab:blue",
    32: "tab:orange",
    44: "tab:green",
    56: "tab:red",
    110: "tab:purple",
    1202: "tab:brown",
}
"""One colour per depth in every figure of a report (plain and residual twins share it)."""
_SPARE = ("tab:pink", "tab:olive", "tab:cyan", "tab:gray")
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR")


def plot_training_curves(
    runs: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    metric: Literal["train_error", "test_error"] = "train_error",
    lang: str = "en",
    lr_drops: Sequence[float] = (),
    judged_after: float | None = None,
    running: bool = False,
) -> Path:
    """Error (%) against iterations for each model: the mean over seeds, shaded ± std when there
    are several seeds. ``lr_drops``: the iterations where the learning rate falls (else read
    from the logged rates). ``judged_after``: the iteration after which a truncated study
    judges its claims; that part of the run is shaded grey. ``running``: the training errors
    are the running error of the minibatches, and the title says so."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    w = _words(lang)
    by_model = _group_by_model(runs)
    fig, ax = plt.subplots(figsize=(7.6, 4.4))
    shown: list[np.ndarray] = []
    for name, model in by_model.items():
        series = [_history_series(run, metric) for run in model["runs"]]
        series = [s for s in series if len(s[0])]
        if not series:
            continue
        style = {
            "color": depth_colour(model["depth"]),
            "linestyle": LINESTYLE.get(model["kind"], "-"),
        }
        label = name if len(series) == 1 else f"{name} ({w['seeds_n'].format(n=len(series))})"
        steps = series[0][0]
        if all(np.array_equal(s[0], steps) for s in series):
            values = np.stack([s[1] for s in series])
            mean = values.mean(axis=0)
            ax.plot(steps, mean, label=label, linewidth=1.6, **style)
            if len(series) > 1:
                std = values.std(axis=0)
                lower = np.maximum(mean - std, 0.0)
                ax.fill_between(steps, lower, mean + std, color=style["color"], alpha=0.15)
            shown.append(mean)
        else:  # seeds logged at different steps: draw each, label once
            for i, (x, y) in enumerate(series):
                ax.plot(x, y, label=label if i == 0 else None, linewidth=1.2, **style)
                shown.append(y)
    _mark_lr_drops(ax, runs, lr_drops)
    if judged_after is not None:
        end = max((int(r.get("iterations") or 0) for r in runs), default=0)
        if end > judged_after:
            ax.axvspan(judged_after, end, color="0.92", zorder=0, label=w["judged_span"])
    if shown:
        _error_axis(ax, np.concatenate(shown))
    ax.set_xlabel(w["iterations"])
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # no iteration 2.5
    ax.set_ylabel(w[metric])
    title = "curves_running_title" if running else "curves_train_title"
    ax.set_title(w[title if metric == "train_error" else "curves_test_title"])
    ax.grid(True, which="major", alpha=0.3)
    if shown:
        ax.legend(ncol=2)
    return _save(fig, path)


def plot_error_vs_depth(
    summary: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    lang: str = "en",
    at: int | None = None,
) -> list[Path]:
    """Final training and test error against depth, one image each (``NAME-train.png``,
    ``NAME-test.png``): plain dashed with hollow markers, residual solid with filled ones,
    each point in its depth's colour; error bars are the std over seeds. ``at``: the runs
    stopped at this iteration of a longer schedule, and the labels say so instead of "final"."""
    w = _words(lang)
    depths = sorted({int(row["depth"]) for row in summary if row.get("depth") is not None})
    out = []
    if at is None:
        panels = (
            ("final_train_error", w["final_train"], w["final_train_title"], "train"),
            ("final_test_error", w["final_test"], w["final_test_title"], "test"),
        )
    else:
        panels = (
            ("final_train_error", w["at_train"], w["at_train_title"].format(n=at), "train"),
            ("final_test_error", w["at_test"], w["at_test_title"].format(n=at), "test"),
        )
    # plain just left of its depth, residual just right: equal errors (both near 0%) would
    # otherwise draw one marker over the other
    span = (depths[-1] - depths[0]) if len(depths) > 1 else 10
    dodge = {"plain": -0.015 * span, "residual": 0.015 * span}
    for field, label, title, suffix in panels:
        fig, ax = plt.subplots(figsize=PANEL_SIZE)
        for kind in ("plain", "residual"):
            rows = sorted(
                (r for r in summary if r.get("kind") == kind and r.get("depth") is not None),
                key=lambda r: r["depth"],
            )
            points = [(r["depth"] + dodge[kind], *stat(r.get(field))[:2]) for r in rows]
            points = [(d, m, s or 0.0) for d, m, s in points if m is not None]
            if not points:
                continue
            x, y, err = zip(*points)
            ax.plot(x, y, color="0.45", linestyle=LINESTYLE[kind], linewidth=1.2, label=w[kind])
            for d, m, s in points:
                colour = depth_colour(round(d - dodge[kind]))
                ax.errorbar(
                    [d],
                    [m],
                    yerr=[s] if s else None,
                    color=colour,
                    marker="o",
                    markersize=7,
                    markerfacecolor="white" if kind == "plain" else colour,
                    markeredgewidth=1.6,
                    capsize=4,
                    linestyle="none",
                )
        ax.set_xlabel(w["depth"])
        ax.set_ylabel(label)
        ax.set_title(title)
        if depths:
            ax.set_xticks(depths)
        # a point at 0% sits just above the axis, not on it
        ax.set_ylim(bottom=-0.03 * ax.get_ylim()[1])
        ax.grid(True, alpha=0.3)
        if ax.has_data():
            ax.legend()
        fig.tight_layout()
        out.append(_save(fig, _panel(path, suffix)))
    return out


def plot_relative_gradients(grad_results: Any, path: str | Path, *, lang: str = "en") -> list[Path]:
    """Each main-path conv layer's |grad W| / |W| against its position (log y), one image per
    stage: at initialisation (``path``), after each count of first SGD steps
    (``NAME-step{n}.png``) and after training (``NAME-trained.png``) where measured."""
    w = _words(lang)
    models = _models(grad_results)
    steps = sorted({int(k) for m in models for k in (m.get("steps") or {})})
    stages: list[tuple[str, str, str | None]] = [("init", w["grad_init_title"], None)]
    stages += [("steps", w["grad_steps_title"].format(n=n), str(n)) for n in steps]
    if any(m.get("trained") for m in models):
        stages.append(("trained", w["grad_trained_title"], None))
    out = []
    for stage, title, key in stages:
        fig, ax = plt.subplots(figsize=PANEL_SIZE)
        for m in models:
            values = m.get(stage) if key is None else (m.get("steps") or {}).get(key)
            ratios = np.asarray([v if v is not None else np.nan for v in values or []], float)
            if not ratios.size:
                continue
            ax.plot(
                np.arange(1, ratios.size + 1),
                np.where(ratios > 0, ratios, np.nan),
                label=m.get("model", "?"),
                color=depth_colour(m.get("depth")),
                linestyle=LINESTYLE.get(m.get("kind"), "-"),
                linewidth=1.6,
            )
        ax.set_yscale("log")
        ax.set_xlabel(w["conv_index"])
        ax.set_ylabel(w["relative_gradient"])
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        if ax.has_data():
            ax.legend(ncol=2)
        fig.tight_layout()
        suffix = {"init": None, "trained": "trained"}.get(stage, f"step{key}")
        out.append(_save(fig, path if suffix is None else _panel(path, suffix)))
    return out


def plot_layer_responses(resp_results: Any, path: str | Path, *, lang: str = "en") -> list[Path]:
    """Std of each 3x3 layer's response by layer index (``NAME-index.png``) and sorted by
    magnitude (``NAME-sorted.png``), as in the paper's Fig. 7."""
    w = _words(lang)
    models = _models(resp_results)
    out = []
    for order in ("index", "sorted"):
        fig, ax = plt.subplots(figsize=PANEL_SIZE)
        for m in models:
            std = np.asarray(m.get("layer_std") or [], float)
            if not std.size:
                continue
            ax.plot(
                np.arange(1, std.size + 1),
                std if order == "index" else np.sort(std)[::-1],
                label=m.get("model", "?"),
                color=depth_colour(m.get("depth")),
                linestyle=LINESTYLE.get(m.get("kind"), "-"),
                linewidth=1.4,
            )
        ax.set_xlabel(w[f"resp_{order}"])
        ax.set_ylabel(w["resp_std"])
        ax.set_title(w[f"resp_{order}_title"])
        ax.grid(True, alpha=0.3)
        if ax.has_data():
            ax.legend()
        fig.tight_layout()
        out.append(_save(fig, _panel(path, order)))
    return out


def plot_confusion_matrix(
    matrix: Sequence[Sequence[float]],
    classes: Sequence[str],
    path: str | Path,
    *,
    title: str | None = None,
    lang: str = "en",
    model: str = "",
) -> Path:
    """Counts of true class (rows) against predicted class (columns)."""
    w = _words(lang)
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(classes):
        raise ValueError(f"matrix of shape {counts.shape} does not fit {len(classes)} classes")
    size = max(4.5, 0.45 * len(classes) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, label=w["images"])
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, [str(c) for c in classes], rotation=45 if len(classes) > 10 else 0)
    ax.set_yticks(ticks, [str(c) for c in classes])
    ax.set_xlabel(w["predicted"])
    ax.set_ylabel(w["true"])
    ax.set_title(
        title if title is not None else w["confusion_title"].format(model=model).strip(", ")
    )
    if len(classes) <= 20:
        threshold = counts.max() / 2 if counts.size else 0
        for (i, j), v in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                f"{v:.0f}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if v > threshold else "black",
            )
    fig.tight_layout()
    return _save(fig, path)


def _models(results: Any) -> list[Mapping[str, Any]]:
    """Accept a study's whole results dict or its "models" list."""
    if isinstance(results, Mapping):
        return list(results.get("models") or [])
    return list(results)


def _group_by_model(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Runs of the same model (different seeds) together, ordered plain first, then by depth."""
    groups: dict[str, dict[str, Any]] = {}
    for run in runs:
        name = str(run.get("model", "?"))
        group = groups.setdefault(
            name, {"kind": run.get("kind"), "depth": run.get("depth"), "runs": []}
        )
        group["runs"].append(run)
    order = sorted(groups, key=lambda n: (groups[n]["kind"] != "plain", groups[n]["depth"] or 0, n))
    return {n: groups[n] for n in order}


def _history_series(run: Mapping[str, Any], metric: str) -> tuple[np.ndarray, np.ndarray]:
    points = [
        (h["step"], h[metric])
        for h in run.get("history") or []
        if h.get("step") is not None and h.get(metric) is not None
    ]
    if not points:
        return np.empty(0), np.empty(0)
    steps, values = zip(*points)
    return np.asarray(steps, float), np.asarray(values, float)


def _mark_lr_drops(ax: Any, runs: Sequence[Mapping[str, Any]], drops: Sequence[float] = ()) -> None:
    """Faint vertical lines where the learning rate falls (as in the paper): at the recipe's
    milestones when given; else midway between the logged points that straddle a fall."""
    if not drops:
        history = next((r.get("history") for r in runs if r.get("history")), None) or []
        found, previous = [], None
        for h in history:
            lr, step = h.get("lr"), h.get("step")
            if previous is not None and lr is not None and step is not None and lr < previous[0]:
                found.append((previous[1] + step) / 2)
            if lr is not None and step is not None:
                previous = (lr, step)
        drops = found
    for step in drops:
        ax.axvline(step, color="0.6", linewidth=0.8, linestyle=":")


ERROR_TICKS = (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _error_axis(ax: Any, values: np.ndarray) -> None:
    """Log-like y for errors spanning more than a decade: symlog, linear below 0.1% (one image
    in a thousand), labelled at 0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50 so that every decade,
    above 10 too, carries labels and 0 stays clear of the next label."""
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if not positive.size or (values < 0).any() or positive.max() / max(positive.min(), 0.1) < 10:
        ax.set_ylim(bottom=0)
        return
    top = float(values.max())
    ax.set_yscale("symlog", linthresh=0.1, linscale=0.6)
    ax.set_ylim(0, min(100.0, top * 1.3))
    ax.yaxis.set_major_locator(ticker.FixedLocator([v for v in ERROR_TICKS if v <= top * 1.3]))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(ticker.NullLocator())


def depth_colour(depth: Any) -> str:
    """The colour of a depth, the same in every figure."""
    if depth in DEPTH_COLOUR:
        return DEPTH_COLOUR[depth]
    return _SPARE[hash(depth) % len(_SPARE)] if depth is not None else "0.3"


def _panel(path: str | Path, suffix: str) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}-{suffix}{path.suffix}")


def _words(lang: str) -> dict[str, str]:
    """The figure words of ``lang``, with a font that can draw them; English if ``lang`` needs
    a font this machine lacks (Chinese: Noto Sans CJK, Debian's fonts-noto-cjk)."""
    plt.rcParams.update(STYLE)
    if lang == "zh":
        font = _cjk_font()
        if font is None:
            return FIGURE_WORDS["en"]
        plt.rcParams["font.sans-serif"] = [font, *plt.rcParams["font.sans-serif"]]
        plt.rcParams["font.family"] = "sans-serif"
        return FIGURE_WORDS["zh"]
    plt.rcParams["font.family"] = "sans-serif"
    return FIGURE_WORDS.get(lang, FIGURE_WORDS["en"])


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    manager = font_manager.fontManager
    found = next((f for f in CJK_FONTS if f in {f.name for f in manager.ttflist}), None)
    if found is None:  # installed after matplotlib cached its font list: add them now
        for path in font_manager.findSystemFonts():
            if "CJK" in Path(path).name:
                with contextlib.suppress(Exception):  # a font file matplotlib cannot read
                    manager.addfont(path)
        found = next((f for f in CJK_FONTS if f in {f.name for f in manager.ttflist}), None)
    return found


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
