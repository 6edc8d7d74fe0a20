"""build_report: stored study results in, one HTML page and one Markdown file out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reslab.report.load import load_studies
from reslab.report.render import to_html, to_markdown
from reslab.report.sections import compose
from reslab.report.wording import Wording
from reslab.utils.io import atomic_open


@dataclass
class ReportPaths:
    """What build_report wrote."""

    html: Path
    """Self-contained page: figures embedded, no external resources."""
    markdown: Path
    """The same report in Markdown, linking the PNGs in ``figures``."""
    figures: list[Path]


def build_report(
    run_dir: str | Path,
    *,
    lang: Literal["en", "zh"] = "en",
    out_dir: str | Path | None = None,
) -> ReportPaths:
    """Render every study under ``run_dir`` (its results.json and its subfolders') as a report.

    Writes report.html and report.md (report.zh.html / report.zh.md for Chinese) and
    figures/*.png (figures/zh/*.png for Chinese, so that one language's report never redraws
    the other's figures) into ``out_dir`` (default ``run_dir``). Raises ReslabError if
    ``run_dir`` holds no results.
    """
    t = Wording(lang)
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir
    studies = load_studies(run_dir)

    doc = compose(studies, t, fig_dir=figure_dir(out, lang), run_dir=run_dir)
    stem = "report" if lang == "en" else f"report.{lang}"
    paths = ReportPaths(html=out / f"{stem}.html", markdown=out / f"{stem}.md", figures=doc.figures)
    _write_text(paths.html, to_html(doc, t))
    _write_text(paths.markdown, to_markdown(doc, t, paths.markdown))
    return paths


def figure_dir(out_dir: str | Path, lang: str) -> Path:
    """Where a report in ``lang`` draws its figures: its labels are in that language."""
    return Path(out_dir) / "figures" if lang == "en" else Path(out_dir) / "figures" / lang


def _write_text(path: Path, text: str) -> None:
    # Bytes, so the page is UTF-8 whatever the machine's locale.
    with atomic_open(path, "wb") as f:
        f.write(text.encode("utf-8"))
