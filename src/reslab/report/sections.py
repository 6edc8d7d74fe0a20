"""The parts of a report around the results: title, Introduction, Setup and Conclusions."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reslab.report import fmt
from reslab.report.document import (
    Block,
    BulletList,
    Code,
    Details,
    Document,
    Heading,
    Paragraph,
    Table,
)
from reslab.report.load import StudyResult
from reslab.report.results import Context, render_study, study_title
from reslab.report.wording import Wording

ENV_ROWS: tuple[tuple[str, str], ...] = (
    ("cpu", "env_cpu"),
    ("cpu_count", "env_cpu_count"),
    ("cpu_kernels", "env_cpu_kernels"),
    ("torch_threads", "env_torch_threads"),
    ("nets_at_once", "env_nets_at_once"),
    ("cuda", "env_cuda"),
    ("platform", "env_platform"),
    ("python", "env_python"),
    ("torch", "env_torch"),
    ("torchvision", "env_torchvision"),
    ("numpy", "env_numpy"),
    ("reslab", "env_reslab"),
)
DATASET_ROWS: tuple[tuple[str, str], ...] = (
    ("name", "ds_name"),
    ("train", "ds_train"),
    ("val", "ds_val"),
    ("test", "ds_test"),
    ("image_shape", "ds_shape"),
    ("num_classes", "ds_classes"),
)


def _when(dates: list[str], t: Wording) -> str:
    """When the studies' results were written, to the minute in UTC: one time, or the first to
    the last ("2026-12-07 07:23 to 07:24 UTC")."""
    import datetime as dt

    times = []
    for date in dates:
        try:
            when = dt.datetime.fromisoformat(date)
        except ValueError:
            continue
        if when.tzinfo is not None:
            when = when.astimezone(dt.timezone.utc)
        times.append(when)
    if not times:
        return fmt.MISSING
    first, last = min(times), max(times)
    start = first.strftime("%Y-%m-%d %H:%M")
    if last.strftime("%Y-%m-%d %H:%M") == start:
        return f"{start} UTC"
    end = last.strftime("%H:%M" if last.date() == first.date() else "%Y-%m-%d %H:%M")
    return t("date_range", first=start, last=end) + " UTC"


TABLE6_DATA = {"table6": "cifar10"}


def _measured(study: StudyResult) -> bool:
    """Whether a study's results hold anything reslab measured (a Table 6 that was not run
    holds the paper's numbers and estimates only)."""
    if study.study != "table6":
        return True
    return any(r.get("status") == "measured" for r in study.data.get("rows") or [])


def compose(studies: list[StudyResult], t: Wording, fig_dir: Path, run_dir: Path) -> Document:
    """The whole report for ``studies`` (already in report order)."""
    ctx = Context(t=t, fig_dir=fig_dir)
    sections = [render_study(s, ctx) for s in studies]
    dataset = next(
        (
            name
            for s in studies
            # Table 6 is CIFAR-10's table, and its results may hold no trained net
            if (name := (s.data.get("dataset") or {}).get("name") or TABLE6_DATA.get(s.study))
        ),
        fmt.MISSING,
    )
    dates = [str(_env(s)["date"]) for s in studies if _env(s).get("date")]
    version = _env(studies[0]).get("reslab") or fmt.MISSING
    doc = Document(
        title=t("doc_title", dataset=dataset),
        subtitle=t("subtitle", version=version, date=_when(dates, t)),
        lang=t.lang,
    )
    # Results first: the verdicts, then each study's numbers and figures; the background and
    # the setup (hardware, recipes, commands) follow, the setup collapsed in HTML.
    doc.blocks.append(Heading(t("h_verdicts"), 2))
    if any(s.study == "degradation" for s in studies):
        doc.blocks.append(
            Paragraph(t("degradation_claim"), lead=t("paper_claim_lead"), style="claim")
        )
    for section in sections:
        doc.blocks += section.verdicts
    findings = [f for s in sections for f in s.findings]
    if findings:
        doc.blocks.append(BulletList(tuple(findings)))
    elif not any(s.verdicts for s in sections):  # a verdict table already concludes
        doc.blocks.append(Paragraph(t("no_findings")))
    if any(_measured(s) for s in studies):  # nothing to scope where nothing was trained
        doc.blocks.append(Paragraph(t("scope_note", dataset=dataset), style="note"))
    doc.blocks.append(Heading(t("h_results"), 2))
    for section in sections:
        doc.blocks += section.blocks
    doc.blocks += introduction(studies, t, run_dir)
    doc.blocks.append(Heading(t("h_appendix"), 2))
    appendix = [*setup(studies, t), *(b for s in sections for b in s.appendix)]
    doc.blocks.append(Details(t("appendix_summary"), tuple(appendix)))
    return doc


def introduction(studies: list[StudyResult], t: Wording, run_dir: Path) -> list[Block]:
    items = tuple(
        t("intro_study_item", title=study_title(s.study, t), source=_relative(s.source, run_dir))
        for s in studies
    )
    return [
        Heading(t("h_background"), 2),
        Paragraph(t("intro_problem")),
        Paragraph(t("intro_question")),
        Paragraph(t("intro_studies_lead")),
        BulletList(items),
    ]


def setup(studies: list[StudyResult], t: Wording) -> list[Block]:
    blocks: list[Block] = [Heading(t("h_env"), 3)]
    blocks += _grouped_tables(studies, t, _env, ENV_ROWS, _env_value)
    blocks.append(Heading(t("h_dataset"), 3))
    blocks += _grouped_tables(studies, t, lambda s: s.data.get("dataset") or {}, DATASET_ROWS)
    for s in studies:
        data = s.data
        blocks.append(Heading(t("h_recipe", title=study_title(s.study, t)), 3))
        seeds = data.get("seeds") or []
        line = t("seeds_line", seeds=", ".join(str(x) for x in seeds) or fmt.MISSING, n=len(seeds))
        if fmt.stat(data.get("wall_time_s"))[0] is not None:
            line += " " + t("wall_line", wall=_duration(data.get("wall_time_s"), t))
        blocks.append(Paragraph(line))
        if data.get("config"):
            blocks.append(Paragraph(t("recipe_lead")))
            blocks.append(Code(_as_yaml(data["config"]), "yaml"))
        command = data.get("command") or _env(s).get("command")
        if command:
            blocks.append(Paragraph(t("command_lead")))
            blocks.append(Code(str(command), "sh"))
        else:
            blocks.append(Paragraph(t("no_command"), style="note"))
    return blocks


def _grouped_tables(
    studies: list[StudyResult],
    t: Wording,
    get: Callable[[StudyResult], Mapping[str, Any]],
    rows: tuple[tuple[str, str], ...],
    value: Callable[[str, Any, Wording], str] | None = None,
) -> list[Block]:
    """One key/value table per distinct record; studies that share one share its table."""
    groups: list[tuple[dict[str, Any], list[StudyResult]]] = []
    for s in studies:
        record = {k: get(s).get(k) for k, _ in rows}
        if not any(v is not None for v in record.values()):
            continue
        for known, members in groups:
            if known == record:
                members.append(s)
                break
        else:
            groups.append((record, [s]))
    if not groups:
        return [Paragraph(t("not_recorded"), style="note")]
    blocks: list[Block] = []
    for record, members in groups:
        if len(groups) > 1:
            titles = ", ".join(study_title(m.study, t) for m in members)
            blocks.append(Paragraph(titles, lead=t("applies_to_lead")))
        body = tuple(
            (t(label), value(key, record[key], t) if value else _plain_value(record[key]))
            for key, label in rows
            if key in record and (record[key] is not None or key == "cuda")
        )
        blocks.append(Table((t("col_item"), t("col_value")), body))
    return blocks


def _env_value(key: str, value: Any, t: Wording) -> str:
    if key == "cuda" and not value:
        return t("env_cuda_none")
    return _plain_value(value)


def _plain_value(value: Any) -> str:
    if value is None:
        return fmt.MISSING
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value)
    return str(value)


def _env(study: StudyResult) -> Mapping[str, Any]:
    return study.data.get("env") or {}


def _duration(seconds: Any, t: Wording) -> str:
    s = fmt.stat(seconds)[0]
    if s is None:
        return fmt.MISSING
    if s < 120:
        return t("unit_s", v=s)
    if s < 7200:
        return t("unit_min", v=s / 60)
    return t("unit_h", v=s / 3600)


def _as_yaml(config: Any) -> str:
    try:
        import yaml

        return yaml.safe_dump(config, sort_keys=False, allow_unicode=True).rstrip()
    except Exception:  # not installed, or a value yaml cannot represent
        return json.dumps(config, indent=2, ensure_ascii=False, default=str)


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
