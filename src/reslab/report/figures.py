"""The report's figures, drawn with matplotlib (Agg) and written as PNGs.

Conventions across figures: plain nets dashed, residual nets solid, one colour per depth.
Labels are in English in every language so that no CJK font is needed to draw them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402

from reslab.report.fmt import stat  # noqa: E402
from reslab.utils.io import atomic_open  # noqa: E402

DPI = 110
LINESTYLE = {"plain": "--", "residual": "-"}
KIND_COLOUR = {"plain": "tab:red", "residual": "tab:blue"}
METRIC_LABEL = {"train_error": "training error (%)", "test_error": "test error (%)"}


def plot_training_curves(
    runs: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    metric: Literal["train_error", "test_error"] = "train_error",
) -> Path:
    """Error (%) against iterations for each model: the mean over seeds, shaded ± std."""
    if metric not in METRIC_LABEL:
        raise ValueError(f"metric must be one of {sorted(METRIC_LABEL)}, got {metric!r}")
    by_model = _group_by_model(runs)
    colours = _depth_colours(m["depth"] for m in by_model.values())
    fig, ax = plt.subplots(figsize=(7.6, 4.4))
    shown: list[np.ndarray] = []
    for name, model in by_model.items():
        series = [_history_series(run, metric) for run in model["runs"]]
        series = [s for s in series if len(s[0])]
        if not series:
            continue
        style = {"color": colours[model["depth"]], "linestyle": LINESTYLE.get(model["kind"], "-")}
        label = name if len(series) == 1 else f"{name} (n={len(series)})"
        steps = series[0][0]
        if all(np.array_equal(s[0], steps) for s in series):
            values = np.stack([s[1] for s in series])
            mean = values.mean(axis=0)
            ax.plot(steps, mean, label=label, linewidth=1.6, **style)
            if len(series) > 1:
                std = values.std(axis=0)
                ax.fill_between(steps, mean - std, mean + std, color=style["color"], alpha=0.15)
            shown.append(mean)
        else:  # seeds logged at different steps: draw each, label once
            for i, (x, y) in enumerate(series):
                ax.plot(x, y, label=label if i == 0 else None, linewidth=1.2, **style)
                shown.append(y)
    _mark_lr_drops(ax, runs)
    if shown:
        _log_y_if_it_helps(ax, np.concatenate(shown))
    ax.set_xlabel("iterations")
    ax.set_ylabel(METRIC_LABEL[metric])
    title = "Training error" if metric == "train_error" else "Test error"
    ax.set_title(f"{title} during training (plain dashed, residual solid)")
    ax.grid(True, which="both", alpha=0.3)
    if shown:
        ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def plot_error_vs_depth(summary: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Final training and test error against depth, plain vs residual, error bars = std."""
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.2), sharex=True)
    depths = sorted({int(row["depth"]) for row in summary if row.get("depth") is not None})
    for ax, field, name in (
        (axes[0], "final_train_error", "final training error (%)"),
        (axes[1], "final_test_error", "final test error (%)"),
    ):
        for kind in ("plain", "residual"):
            rows = sorted(
                (r for r in summary if r.get("kind") == kind and r.get("depth") is not None),
                key=lambda r: r["depth"],
            )
            points = [(r["depth"], *stat(r.get(field))[:2]) for r in rows]
            points = [(d, m, s or 0.0) for d, m, s in points if m is not None]
            if not points:
                continue
            x, y, err = zip(*points)
            ax.errorbar(
                x,
                y,
                yerr=err,
                label=kind,
                color=KIND_COLOUR[kind],
                linestyle=LINESTYLE[kind],
                marker="o",
                capsize=4,
            )
        ax.set_xlabel("depth (weighted layers)")
        ax.set_ylabel(name)
        ax.set_title(name[0].upper() + name[1:].replace(" (%)", "") + " vs depth")
        if depths:
            ax.set_xticks(depths)
        ax.grid(True, alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_gradient_norms(grad_results: Any, path: str | Path) -> Path:
    """Per-layer gradient norm against layer index (log y); a second panel if trained ones exist."""
    models = _models(grad_results)
    stages = ["init"] + (["trained"] if any(m.get("trained") for m in models) else [])
    fig, axes = plt.subplots(
        1, len(stages), figsize=(7.6 if len(stages) == 1 else 11.0, 4.4), squeeze=False
    )
    colours = _depth_colours(m.get("depth") for m in models)
    for ax, stage in zip(axes[0], stages):
        for m in models:
            norms = np.asarray([v if v is not None else np.nan for v in m.get(stage) or []], float)
            if not norms.size:
                continue
            ax.plot(
                np.arange(1, norms.size + 1),
                np.where(norms > 0, norms, np.nan),
                label=m.get("model", "?"),
                color=colours[m.get("depth")],
                linestyle=LINESTYLE.get(m.get("kind"), "-"),
                linewidth=1.4,
            )
        ax.set_yscale("log")
        ax.set_xlabel("layer index (input side = 1)")
        ax.set_ylabel("gradient L2 norm of conv weights")
        when = "at initialisation" if stage == "init" else "after training"
        ax.set_title(f"Gradient norm per layer, {when}")
        ax.grid(True, which="both", alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_layer_responses(resp_results: Any, path: str | Path) -> Path:
    """Std of each 3x3 layer's response: by layer index, and sorted by magnitude (paper Fig. 7)."""
    models = _models(resp_results)
    colours = _depth_colours(m.get("depth") for m in models)
    fig, (ax_index, ax_sorted) = plt.subplots(1, 2, figsize=(11.0, 4.4))
    for m in models:
        std = np.asarray(m.get("layer_std") or [], float)
        if not std.size:
            continue
        style = {
            "label": m.get("model", "?"),
            "color": colours[m.get("depth")],
            "linestyle": LINESTYLE.get(m.get("kind"), "-"),
            "linewidth": 1.4,
        }
        x = np.arange(1, std.size + 1)
        ax_index.plot(x, std, **style)
        ax_sorted.plot(x, np.sort(std)[::-1], **style)
    ax_index.set_xlabel("layer index (original order)")
    ax_sorted.set_xlabel("layer index (sorted by magnitude)")
    for ax, title in ((ax_index, "by layer index"), (ax_sorted, "sorted by magnitude")):
        ax.set_ylabel("std of layer response")
        ax.set_title(f"Response std of 3x3 layers, {title}")
        ax.grid(True, alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion_matrix(
    matrix: Sequence[Sequence[float]],
    classes: Sequence[str],
    path: str | Path,
    *,
    title: str = "Confusion matrix",
) -> Path:
    """Counts of true class (rows) against predicted class (columns)."""
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(classes):
        raise ValueError(f"matrix of shape {counts.shape} does not fit {len(classes)} classes")
    size = max(4.5, 0.45 * len(classes) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, label="images")
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, [str(c) for c in classes], rotation=45 if len(classes) > 10 else 0)
    ax.set_yticks(ticks, [str(c) for c in classes])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if len(classes) <= 20:
        threshold = counts.max() / 2 if counts.size else 0
        for (i, j), v in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                f"{v:.0f}",
                ha="center",
                va="center",
                fontsize=8,
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


def _mark_lr_drops(ax: Any, runs: Sequence[Mapping[str, Any]]) -> None:
    """Faint vertical lines where the first run's learning rate falls (as in the paper)."""
    history = next((r.get("history") for r in runs if r.get("history")), None) or []
    previous = None
    for h in history:
        lr, step = h.get("lr"), h.get("step")
        if previous is not None and lr is not None and step is not None and lr < previous:
            ax.axvline(step, color="0.6", linewidth=0.8, linestyle=":")
        previous = lr if lr is not None else previous


def _log_y_if_it_helps(ax: Any, values: np.ndarray) -> None:
    """Log y when errors span more than a decade; symlog if some reach exactly zero."""
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if not positive.size or (values < 0).any() or positive.max() / positive.min() < 10:
        return
    if positive.size == values.size:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    else:
        ax.set_yscale("symlog", linthresh=max(min(1.0, positive.min()), 1e-3))
        ax.set_ylim(bottom=0)  # an error is never negative: no mirrored half of the axis
    # Plain numbers ("20", "0.5") read better than "2 x 10^1" on an error axis.
    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _depth_colours(depths: Iterable[Any]) -> dict[Any, Any]:
    cmap = plt.get_cmap("tab10")
    unique = sorted({d for d in depths}, key=lambda d: (d is None, d or 0))
    return {d: cmap(i % 10) for i, d in enumerate(unique)}


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
