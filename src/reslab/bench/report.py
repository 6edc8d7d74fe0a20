"""Bench rows as a rich table (with the run's ceiling, versions and command) or as JSON."""

from __future__ import annotations

import json
import statistics
from typing import Any

from reslab.bench.spec import Row


def to_json(rows: list[Row]) -> str:
    return json.dumps([r.as_dict() for r in rows], indent=2)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def _targets(row: Row) -> str:
    if not row.targets:
        return ""
    marks = []
    for t in row.targets:
        sign = {
            True: "[green]ok[/green]",
            False: "[red]MISSED[/red]",
            None: "[yellow]busy?[/yellow]",
        }[t["met"]]
        marks.append(f"{t['text']} {sign}")
    return "\n".join(marks)


def render(rows: list[Row], console: Any) -> None:
    from rich.table import Table

    if not rows:
        return
    env = rows[0].env
    ceilings = [r.ceiling_gflops for r in rows]
    table = Table(
        title="reslab bench: reslab vs the eager reference, timed in alternating windows",
        caption=_caption(env, statistics.median(ceilings)),
    )
    cols = [
        ("model", "left"),
        ("mode", "left"),
        ("batch", "right"),
        ("input", "right"),
        ("device/dtype", "left"),
        ("img/s", "right"),
        ("ref img/s", "right"),
        ("ratio", "right"),
        ("GFLOP/s", "right"),
        ("util", "right"),
        ("ref util", "right"),
        ("peak MB", "right"),
        ("ref peak MB", "right"),
        ("targets", "left"),
    ]
    for name, justify in cols:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        mode = r.mode
        if r.e2e_vs_bare is not None:
            mode += f"\n({100 * r.e2e_vs_bare:.0f}% of bare step {r.bare_img_s:.0f} img/s)"
        if r.wall_s is not None:
            mode += f"\n(run {r.wall_s:.0f}s, reference ~{r.ref_wall_s:.0f}s)"
        if r.mode == "ckpt":
            mode += f"\n(step memory {_mb(r.step_mem)} vs {_mb(r.ref_step_mem)} MB)"
        table.add_row(
            r.model,
            mode,
            str(r.batch),
            f"{r.size}x{r.size}",
            f"{r.device} {r.dtype}"
            + (" CL" if r.channels_last else "")
            + (" C" if r.compile else ""),
            f"{r.img_s:,.1f}",
            f"{r.ref_img_s:,.1f}",
            f"{r.ratio:.2f}x",
            f"{r.gflops:,.1f}",
            f"{100 * r.utilisation:.0f}%",
            f"{100 * r.ref_utilisation:.0f}%",
            _mb(r.peak_mem),
            _mb(r.ref_peak_mem),
            _targets(r),
        )
    console.print(table)
    for r in rows:
        for note in r.notes:
            console.print(f"note ({r.model} {r.mode}): {note}")
    for r in rows:
        if r.profile:
            console.print(_profile_table(r))


def _profile_table(row: Row) -> Any:
    from rich.table import Table

    prof = row.profile or {}
    wall = prof["wall_s"]
    table = Table(
        title=f"{row.model} {row.mode}: where reslab's step goes ({1e3 * wall:.0f} ms/step, "
        "torch.profiler self time)"
    )
    for col in ("op group / top op", "ms/step", "share", "calls/step"):
        table.add_column(col, justify="left" if col.startswith("op") else "right")
    for group, sec in sorted(prof["groups"].items(), key=lambda kv: -kv[1]):
        table.add_row(group, f"{1e3 * sec:.1f}", f"{100 * sec / wall:.0f}%", "")
    table.add_section()
    for name, sec, calls in prof["top"]:
        table.add_row(name, f"{1e3 * sec:.1f}", f"{100 * sec / wall:.0f}%", str(calls))
    return table


def _caption(env: dict[str, Any], ceiling: float) -> str:
    runtime = env.get("reslab_runtime", {})
    device = env.get("cuda") or env.get("cpu", "?")
    return (
        f"ceiling {ceiling:,.0f} GFLOP/s (median of the run's matmul measurements; fp32 on CPU, "
        f"bf16 on GPU) | {device}, {env.get('cpu_count')} CPUs, torch {env.get('torch')}, "
        f"reslab {env.get('reslab')} | reslab runtime: threads {runtime.get('threads')}, "
        f"keep freed memory {runtime.get('keep_freed_memory')} | {env.get('date', '')}\n"
        f"{env.get('command', '')}\n"
        "ratio and util: medians over rounds of paired windows. CL channels_last, C compile."
    )
