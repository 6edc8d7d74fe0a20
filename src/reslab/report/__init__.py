"""Reports: stored study results (results.json) -> a self-contained HTML page and Markdown.

    from reslab.report import build_report
    paths = build_report("runs/demo", lang="zh")   # report.zh.html, report.zh.md, figures/

Layout: load (find results) -> results/sections (blocks per study, wording per language)
-> render (HTML, Markdown); figures draws the PNGs.
"""

from __future__ import annotations

from reslab.report.build import ReportPaths, build_report

__all__ = ["ReportPaths", "build_report"]
