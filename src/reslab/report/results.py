"""The Results part of a report: one renderer per study, each returning blocks and findings.

A renderer reads only what its study stored; every number it shows comes from results.json
(the paper's numbers come from reslab.reference). Findings are the sentences that the
Conclusions section repeats, each drawn from measured numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reslab import reference
from reslab.report import figures, fmt
from reslab.report.document import Block, Figure, Heading, Paragraph, Table
from reslab.report.load import StudyResult
from reslab.report.wording import Wording


@dataclass
class Context:
    """What every renderer needs: the wording and where figures go."""

    t: Wording
    fig_dir: Path

    def figure(self, name: str, caption: str, draw: Callable[[Path], Path]) -> Figure:
        return Figure(path=draw(self.fig_dir / f"{name}.png"), caption=caption)

    def figures(self, name: str, caption: str, draw: Callable[[Path], Sequence[Path]]) -> Figure:
        """A figure of several panels, each its own image (side by side, stacked on a phone)."""
        first, *rest = draw(self.fig_dir / f"{name}.png")
        return Figure(path=first, caption=caption, extra=tuple(rest))


@dataclass
class StudySection:
    blocks: list[Block] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    verdicts: list[Block] = field(default_factory=list)
    """Blocks for the report's opening Verdicts part (the claims table and its rule)."""
    appendix: list[Block] = field(default_factory=list)
    """Blocks for the appendix (details a reader needs only to check or re-run)."""


def study_title(study: str, t: Wording) -> str:
    """The localized name of a study ("degradation" -> "Degradation: ...")."""
    return t(f"study_{study}") if study in RENDERERS else t("study_unknown", study=study)


def render_study(study: StudyResult, ctx: Context) -> StudySection:
    render = RENDERERS.get(study.study, _unknown)
    section = render(study, ctx)
    section.blocks.insert(0, Heading(study_title(study.study, ctx.t), 3))
    section.blocks += _confusion_figures(study, ctx)
    return section


# --- degradation -----------------------------------------------------------------------------


def _degradation(study: StudyResult, ctx: Context) -> StudySection:
    t, data, out = ctx.t, study.data, StudySection()
    runs = list(data.get("runs") or [])
    summary = list(data.get("summary") or []) or _summary_from_runs(runs)
    seeds = data.get("seeds") or sorted({r.get("seed") for r in runs if r.get("seed") is not None})
    paper = _paper_cifar_errors(data)

    n_seeds = len(seeds) or 1
    truncated = _truncated(data)
    # without a validation split (digits, mnist5k) no net has a "best" checkpoint: no column
    best = any(fmt.stat(r.get("best_test_error"))[0] is not None for r in summary)
    if truncated:
        # the runs stopped early in the paper's schedule: no "final" error, and validation ran
        # once (at the end), so a test error "at best validation" would repeat the last column
        key = "deg_intro_truncated" if n_seeds > 1 else "deg_intro_truncated_one"
        out.blocks.append(Paragraph(t(key, seeds=n_seeds, **truncated)))
        header: tuple[str, ...] = (
            t("col_model"),
            t("col_train_at", n=truncated["n"]),
            t("col_test_at", n=truncated["n"]),
            t("col_paper_cifar"),
        )
    else:
        out.blocks.append(Paragraph(t("deg_intro" if n_seeds > 1 else "deg_intro_one", n=n_seeds)))
        header = (
            t("col_model"),
            t("col_final_train"),
            t("col_final_test"),
            *((t("col_best_test"),) if best else ()),
            t("col_paper_cifar"),
        )
    rows, costs = [], []
    for r in sorted(summary, key=_kind_depth):
        n = fmt.stat(r.get("final_train_error"))[2]
        rows.append(
            (
                str(r.get("model", fmt.MISSING)),
                fmt.mean_std(r.get("final_train_error")),
                fmt.mean_std(r.get("final_test_error")),
                *((fmt.mean_std(r.get("best_test_error")),) if best and not truncated else ()),
                fmt.pct(paper.get(str(r.get("model")))),
            )
        )
        costs.append(
            (
                str(r.get("model", fmt.MISSING)),
                _kind(r.get("kind"), t),
                str(r.get("depth", fmt.MISSING)),
                fmt.count(r.get("params")),
                fmt.flops(r.get("flops")),
                str(n) if n is not None else fmt.MISSING,
            )
        )
    out.blocks.append(Table(header, tuple(rows), numeric=frozenset(range(1, len(header)))))
    cost_header = (
        t("col_model"),
        t("col_kind"),
        t("col_depth"),
        t("col_params"),
        t("col_flops"),
        t("col_seeds"),
    )
    out.appendix.append(Heading(t("h_models"), 3))
    out.appendix.append(Table(cost_header, tuple(costs), numeric=frozenset(range(2, 6))))
    out.blocks.append(Paragraph(t("mean_std_explain"), style="note"))
    if paper:
        # the paper's claim itself opens the report, in the report's language (the English
        # sentence the study stores under paper.note is not repeated here)
        dataset = _dataset_name(data)
        iterations = max((int(r.get("iterations") or 0) for r in runs), default=0)
        if dataset != "cifar10":
            note = t("paper_context_note", dataset=dataset)
        elif iterations < reference_iterations():
            note = t("paper_context_note_short", n=f"{iterations:,}")
        else:
            note = t("paper_context_note_full")
        out.blocks.append(Paragraph(note, style="note"))
    if truncated:
        out.blocks.append(
            Paragraph(t("truncated_note", **truncated), lead=t("note_lead"), style="note")
        )
    warmup = _warmup(data)
    if warmup:
        key, fields = warmup
        out.blocks.append(Paragraph(t(key, **fields), lead=t("note_lead"), style="note"))

    n_seeds = max((fmt.stat(r.get("final_train_error"))[2] or 1 for r in summary), default=1)
    seeds_key = "seeds" if n_seeds > 1 else "one"
    drops = _lr_drop_steps(data)
    if any(r.get("history") for r in runs):
        # a curve needs two points: a truncated study measures the test error once, at the end
        curves = [
            m
            for m in ("train_error", "test_error")
            if any(sum(h.get(m) is not None for h in r.get("history") or []) > 1 for r in runs)
        ]
        for metric in curves:
            caption = (
                t(f"fig_train_error_curves_{seeds_key}", n=n_seeds)
                if metric == "train_error"
                else t("fig_test_error_curves")
            )
            judged_after = None
            if truncated and metric == "train_error":
                # its rate is constant: no drops to mark
                judged_after = truncated["judged_after"]
                caption = t(
                    f"fig_running_curves_{seeds_key}", n=n_seeds, window=truncated["window"]
                ) + t("fig_judged_span")
            out.blocks.append(
                ctx.figure(
                    f"{study.key}-{metric.replace('_', '-')}",
                    caption,
                    lambda p, m=metric, j=judged_after: figures.plot_training_curves(
                        runs,
                        p,
                        metric=m,
                        lang=t.lang,
                        lr_drops=drops,
                        judged_after=j,
                        running=j is not None,
                    ),
                )
            )
    if summary:
        at = int(truncated["n"]) if truncated else None
        caption = (
            t(f"fig_error_vs_depth_at_{seeds_key}", n=n_seeds, it=at, window=truncated["window"])
            if truncated
            else t(f"fig_error_vs_depth_{seeds_key}", n=n_seeds)
        )
        out.blocks.append(
            ctx.figures(
                f"{study.key}-error-vs-depth",
                caption,
                lambda p: figures.plot_error_vs_depth(summary, p, lang=t.lang, at=at),
            )
        )

    claims = (data.get("verdict") or {}).get("claims")
    if claims:
        table, lines, rule = _claims_table(data["verdict"], t)
        table = Table(table.header, table.rows, prose=True)
        out.verdicts += [table, Paragraph(rule, style="note")]
        plateau = _plateau(data, t)
        if plateau is not None:
            out.verdicts.append(plateau)
        del lines  # the table says it; the findings list holds the other studies' sentences
        return out
    verdict = _verdict_sentences(data.get("verdict"), summary, t)
    out.blocks.append(Heading(t("h_verdict"), 3))
    out.blocks += [Paragraph(s, style="verdict") for s in verdict]
    out.findings += verdict
    return out


CLAIM_ORDER = ("degradation", "residual_no_worse", "residual_lower", "shortcuts_fix")
THRESHOLD_KEY = {
    "worse": "threshold_worse",
    "no_worse": "threshold_no_worse",
    "lower": "threshold_lower",
}


def _claim_nets(key: str, claims: Mapping[str, Any]) -> dict[str, str]:
    """The nets a claim's sentence names: the deeper and the shallower (and for "shortcuts
    fix", the deeper plain net as well)."""
    c = claims.get(key) or {}
    if key != "shortcuts_fix":
        return {"deep": c.get("deep", fmt.MISSING), "shallow": c.get("shallow", fmt.MISSING)}
    vs_deep_plain = c.get("deep_residual_vs_deep_plain") or {}
    return {
        "deep": vs_deep_plain.get("deep", fmt.MISSING),
        "shallow": (claims.get("residual_no_worse") or {}).get("shallow", fmt.MISSING),
        "deep_plain": vs_deep_plain.get("shallow", fmt.MISSING),
    }


def claim_title(key: str, claims: Mapping[str, Any], lang: str = "en") -> str:
    """A claim as the report's verdict table names it, e.g. "The deeper plain net trains worse
    (plain56 vs plain20)"; the terminal prints the same words."""
    t = Wording(lang)
    if not t.knows(f"claim_{key}"):  # a claim of another reslab version
        return key.replace("_", " ")
    return t(f"claim_{key}", **_claim_nets(key, claims))


@dataclass(frozen=True)
class VerdictRow:
    """One row of the verdicts, as the report's table and the terminal both show it."""

    title: str
    """The claim in words, with the nets it compares."""
    status: str
    """observed / not observed / cannot be judged here, in the report's language."""
    reason: str
    """Why it cannot be judged ("" when judged)."""
    measured: Mapping[str, Any] | None
    """The comparison whose gap is shown (the claim, or the one it rests on); None: no gap."""
    gap_judged: bool
    """False where the gap is shown for reference only (a claim about the end of training on a
    truncated run)."""
    threshold: str
    part: bool = False
    """The gap shown is of one comparison the claim rests on (its "deep" vs "shallow" nets),
    not of the claim's first pair."""
    reason_key: str = ""
    """The stored reason (e.g. "spread"), for a caller that words it shorter."""


def verdict_rows(verdict: Mapping[str, Any], t: Wording) -> list[VerdictRow]:
    """The verdict on each claim in the report's order and words. A truncated CIFAR run's
    "shortcuts fix" rests on a curve comparison, which gets its own row before it."""
    claims = verdict["claims"]
    rule = verdict.get("rule") or {}
    margin = f"{fmt.stat(rule.get('margin'))[0] or 0:.1f}"  # "1.0 points"
    rows: list[VerdictRow] = []
    vs_deep_plain = (claims.get("shortcuts_fix") or {}).get("deep_residual_vs_deep_plain") or {}
    curve_run = vs_deep_plain.get("judged_on") == "curve"

    def add(title: str, c: Mapping[str, Any], shown: Mapping[str, Any] | None, threshold: str,
            judged: bool = True, part: bool = False) -> None:  # fmt: skip
        status = t(f"status_{c.get('status', 'cannot be judged')}")
        reason = claim_reason(c, rule, t)
        key = str(c.get("reason") or "") if reason else ""
        rows.append(VerdictRow(title, status, reason, shown, judged, threshold, part, key))

    for key in CLAIM_ORDER:
        c = claims.get(key)
        if not c:
            continue
        names = _claim_nets(key, claims)
        if key == "shortcuts_fix":
            shown: Mapping[str, Any] | None = vs_deep_plain
            if curve_run:
                # the curve comparison it rests on gets its own row, judged as the others are
                add(
                    t(
                        "claim_residual_below_plain",
                        deep=names["deep"],
                        shallow=names["deep_plain"],
                    ),
                    vs_deep_plain,
                    vs_deep_plain,
                    t("threshold_lower_curve", margin=margin),
                )
                no_worse = claims.get("residual_no_worse") or {}
                if c.get("status") == "cannot be judged" and no_worse.get("reason") == "truncated":
                    c = {**c, "reason": "fix_truncated"}
                shown = None
            threshold = t("threshold_fix", margin=margin, **names)
            add(t(f"claim_{key}", **names), c, shown, threshold, part=True)
        else:
            direction = c.get("direction", "worse")
            curve = c.get("judged_on") == "curve"
            threshold = t(THRESHOLD_KEY[direction] + ("_curve" if curve else ""), margin=margin)
            add(t(f"claim_{key}", **names), c, c, threshold, c.get("reason") != "truncated")
    return rows


def _claims_table(verdict: Mapping[str, Any], t: Wording) -> tuple[Table, list[str], str]:
    """The verdict on each claim as a table row and a sentence, and the rule applied."""
    rule = verdict.get("rule") or {}
    margin = f"{fmt.stat(rule.get('margin'))[0] or 0:.1f}"  # "1.0 points"
    fix = (verdict["claims"].get("shortcuts_fix") or {}).get("deep_residual_vs_deep_plain") or {}
    curve_run = fix.get("judged_on") == "curve"
    rows, lines = [], []

    def weakest(c: Mapping[str, Any]) -> str:
        if c.get("judged_on") == "curve" and c.get("step") is not None:
            return t("curve_weakest", k=len(c.get("steps") or []), step=c["step"])
        return ""

    for row in verdict_rows(verdict, t):
        c = row.measured
        gap = fmt.stat((c or {}).get("gap"))[0]
        if c is None or gap is None:
            measured = fmt.MISSING
        elif not row.gap_judged:
            measured = t("gap_not_judged", gap=fmt.gap(gap))
        else:
            measured = _gap_text(c, t) + weakest(c)
        if row.part and c is not None and gap is not None:  # not the title's first pair
            measured = t("gap_of", deep=c.get("deep"), shallow=c.get("shallow"), gap=measured)
        status = row.status
        rows.append(
            (
                row.title,
                measured,
                row.threshold,
                t("status_reason", status=status, reason=row.reason) if row.reason else status,
            )
        )
        lines.append(
            t("verdict_line_reason", claim=row.title, status=status, reason=row.reason)
            if row.reason
            else t("verdict_line", claim=row.title, status=status)
        )
    header = (t("col_claim"), t("col_measured_gap"), t("col_threshold"), t("col_verdict"))
    common = {
        "margin": margin,
        "min_seeds": rule.get("min_seeds", 2),
        "converged": f"{fmt.stat(rule.get('converged_below'))[0] or 10:g}",
    }
    if rule.get("interval") == "welch_t":
        confidence = f"{100 * (fmt.stat(rule.get('confidence'))[0] or 0.95):g}"
        text = t(
            "verdict_rule_curve" if curve_run else "verdict_rule", confidence=confidence, **common
        )
    else:  # results stored by reslab <= 0.1: a fixed number of standard errors
        text = t("verdict_rule_z", z=f"{fmt.stat(rule.get('z'))[0] or 2:g}", **common)
    return Table(header, tuple(rows)), lines, text


def _gap_text(c: Mapping[str, Any], t: Wording) -> str:
    gap, se = fmt.stat(c.get("gap"))[0], fmt.stat(c.get("gap_se"))[0]
    if gap is None:
        return fmt.MISSING
    if se is None:
        return t("gap_only", gap=fmt.gap(gap))
    band = {
        "gap": fmt.gap(gap),
        "se": f"{se:.2f}",
        "low": fmt.gap(c.get("low")),
        "high": fmt.gap(c.get("high")),
    }
    df = fmt.stat(c.get("df"))[0]
    if df is None:  # results stored by reslab <= 0.1 (gap +- z standard errors)
        return t("gap_band_z", **band)
    confidence = fmt.stat((c.get("rule") or {}).get("confidence"))[0] or 0.95
    return t("gap_band", df=fmt.df(df), confidence=f"{100 * confidence:g}", **band)


def claim_reason(c: Mapping[str, Any], rule: Mapping[str, Any], t: Wording) -> str:
    """Why a claim cannot be judged, in the report's words ("" when it was judged)."""
    reason = c.get("reason")
    if not reason or c.get("status") != "cannot be judged":
        return ""
    fields = {
        "shallow": c.get("shallow", fmt.MISSING),
        "value": fmt.pct(c.get("shallow_mean")),
        "limit": f"{fmt.stat(rule.get('converged_below'))[0] or 10:g}",
        "margin": f"{fmt.stat(rule.get('margin'))[0] or 0:.1f}",
        "low": fmt.gap(c.get("low")),
        "high": fmt.gap(c.get("high")),
    }
    key = f"reason_{reason}"
    return t(key, **fields) if t.knows(key) else str(reason)


def _warmup(data: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    """The warm-up the study's nets had, if any, as a wording key and its fields."""
    config = data.get("config") or {}
    recipe, study = config.get("recipe") or {}, config.get("study") or {}
    schedule, iterations = (
        recipe.get("schedule") or {},
        (recipe.get("train") or {}).get("iterations"),
    )
    lr, until = schedule.get("warmup_lr"), schedule.get("warmup_until_train_error")
    if lr is not None and until is not None:
        return "warmup_note", {"lr": f"{lr:g}", "until": f"{until:g}"}
    if schedule.get("warmup_iters") and iterations:
        n = int(schedule["warmup_iters"])
        return "warmup_linear_note", {
            "n": str(n),
            "share": f"{100 * n / iterations:.0f}",
            "lr": f"{(recipe.get('optim') or {}).get('lr', 0.1):g}",
        }
    if study.get("data") == "cifar10" and any(int(d) >= 110 for d in study.get("depths") or []):
        from reslab.studies.degradation import PAPER_WARMUP

        return "warmup_paper_note", {
            "lr": f"{PAPER_WARMUP['warmup_lr']:g}",
            "until": f"{PAPER_WARMUP['warmup_until_train_error']:g}",
        }
    return None


def _batches(n: Any, t: Wording) -> str:
    """'1 batch', '4 batches' in the report's language."""
    if not isinstance(n, int):
        return t("n_batches", n=fmt.MISSING)
    return t("n_batches_one") if n == 1 else t("n_batches", n=n)


def _truncated(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of the note on a truncated CIFAR-10 study (its curves are running errors)."""
    if data.get("train_curve") != "running":
        return None
    train = ((data.get("config") or {}).get("recipe") or {}).get("train") or {}

    from reslab.studies.degradation import CURVE_FROM, PAPER_CIFAR_ITERATIONS

    n = int(train.get("iterations") or 0)
    return {
        "n": n,
        "window": train.get("log_every"),
        "paper": PAPER_CIFAR_ITERATIONS,
        "judged_after": CURVE_FROM * n,
    }


def _plateau(data: Mapping[str, Any], t: Wording) -> Paragraph | None:
    """Whether the study's schedule met its rule (reslab.studies.degradation.PLATEAU_RULE)."""
    stored = data.get("plateau") or {}
    nets = stored.get("nets") or {}
    moves = {k: v["change"] for k, v in nets.items() if v.get("change") is not None}
    finals = {
        k: v["worst_final"]
        for k, v in nets.items()
        if v.get("must_converge") and v.get("worst_final") is not None
    }
    if not moves or not finals or stored.get("limit") is None:
        return None
    model = max(moves, key=lambda k: moves[k])
    worst_model = max(finals, key=lambda k: finals[k])
    fields = {
        "limit": f"{stored['limit']:.1f}",
        "converged": f"{fmt.stat(stored.get('converged_below'))[0] or 10:g}",
        "change": f"{moves[model]:.2f}",
        "model": model,
        "worst": fmt.pct(finals[worst_model]),
        "worst_model": worst_model,
    }
    limit = float(fmt.stat(stored["limit"])[0] or 0)
    moved = sorted((k for k in moves if moves[k] >= limit), key=lambda k: -moves[k])
    fields["moves"] = t("list_sep").join(
        t("move_first" if i == 0 else "move_more", model=k, change=f"{moves[k]:.2f}")
        for i, k in enumerate(moved or [model])
    )
    if not stored.get("converged"):
        key = "plateau_not_converged"
    elif not stored.get("flat"):
        key = "plateau_not_flat"
    else:
        key = "plateau_held"
    return Paragraph(t(key, **fields), style="note")


def _lr_drop_steps(data: Mapping[str, Any]) -> list[float]:
    """Where the recipe divides the learning rate, in iterations (fractions resolved)."""
    recipe = (data.get("config") or {}).get("recipe") or {}
    schedule, train = recipe.get("schedule") or {}, recipe.get("train") or {}
    if schedule.get("name", "multistep") != "multistep" or not train.get("iterations"):
        return []
    total = float(train["iterations"])
    return [m * total if m < 1 else float(m) for m in schedule.get("milestones") or []]


def _verdict_sentences(
    verdict: Mapping[str, Any] | None, summary: Sequence[Mapping[str, Any]], t: Wording
) -> list[str]:
    if not verdict:
        return [t("no_verdict")]
    v = verdict
    margin = fmt.pct(v.get("margin"))
    sentences = []
    observed = bool(v.get("degradation_observed"))
    sentences.append(
        t(
            "verdict_deg_yes" if observed else "verdict_deg_no",
            deep=v.get("plain_deep", fmt.MISSING),
            shallow=v.get("plain_shallow", fmt.MISSING),
            gap=fmt.gap(v.get("plain_gap"), v.get("plain_gap_std")),
            margin=margin,
        )
    )
    if v.get("residual_gap") is not None:
        sentences.append(
            t(
                "verdict_res_yes" if v.get("residual_avoids_degradation") else "verdict_res_no",
                deep=v.get("residual_deep", fmt.MISSING),
                shallow=v.get("residual_shallow", fmt.MISSING),
                gap=fmt.gap(v.get("residual_gap"), v.get("residual_gap_std")),
                margin=margin,
            )
        )
    if not observed:
        sentences.append(t("verdict_nothing_to_fix"))

    by_model = {str(r.get("model")): r for r in summary}
    pair_names = [
        v.get(k) for k in ("plain_shallow", "plain_deep", "residual_shallow", "residual_deep")
    ]
    if all(name in by_model for name in pair_names):
        tests = {n: fmt.mean_std(by_model[n].get("final_test_error")) for n in pair_names}
        sentences.append(
            t(
                "deg_test_compare",
                plain_deep=pair_names[1],
                plain_shallow=pair_names[0],
                residual_deep=pair_names[3],
                residual_shallow=pair_names[2],
                pd=tests[pair_names[1]],
                ps=tests[pair_names[0]],
                rd=tests[pair_names[3]],
                rs=tests[pair_names[2]],
            )
        )

    for prefix in ("plain", "residual"):
        value, std = fmt.stat(v.get(f"{prefix}_gap"))[0], fmt.stat(v.get(f"{prefix}_gap_std"))[0]
        if value is not None and std is not None and std > 0 and abs(value) <= std:
            sentences.append(
                t(
                    "within_noise",
                    deep=v.get(f"{prefix}_deep", fmt.MISSING),
                    shallow=v.get(f"{prefix}_shallow", fmt.MISSING),
                )
            )
    counts = [fmt.stat(r.get("final_train_error"))[2] for r in summary]
    if counts and all(n == 1 for n in counts):
        sentences.append(t("single_seed_caveat"))
    return sentences


def _summary_from_runs(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std over seeds per model, for results that stored runs but no summary."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault(str(run.get("model")), []).append(run)
    summary = []
    for name, group in groups.items():
        row: dict[str, Any] = {k: group[0].get(k) for k in ("kind", "depth", "params", "flops")}
        row["model"] = name
        for out_key, section, key in (
            ("final_train_error", "final", "train_error"),
            ("final_test_error", "final", "test_error"),
            ("best_test_error", "best", "test_error"),
        ):
            values = [
                (r.get(section) or {}).get(key)
                for r in group
                if (r.get(section) or {}).get(key) is not None
            ]
            if values:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                row[out_key] = {"mean": statistics.fmean(values), "std": std, "n": len(values)}
        summary.append(row)
    return summary


def _paper_cifar_errors(data: Mapping[str, Any]) -> dict[str, float]:
    """The paper's CIFAR-10 test errors by model: as the study stored them, else reference."""
    stored = (data.get("paper") or {}).get("cifar10_test_error")
    if stored:
        return {str(k): v for k, v in stored.items() if v is not None}
    return {name: row.paper_error for name, row in reference.CIFAR10_TABLE6.items()}


# --- responses -------------------------------------------------------------------------------


def _responses(study: StudyResult, ctx: Context) -> StudySection:
    t, out = ctx.t, StudySection()
    models = sorted(study.data.get("models") or [], key=_kind_depth)
    out.blocks.append(Paragraph(t("resp_intro")))
    rows = []
    for m in models:
        std = [x for x in m.get("layer_std") or [] if x is not None]
        rows.append(
            (
                str(m.get("model", fmt.MISSING)),
                str(len(std)),
                fmt.sig(_mean_response(m)),
                fmt.sig(max(std) if std else None),
                fmt.sig(min(std) if std else None),
            )
        )
    header = (
        t("col_model"),
        t("col_layers_3x3"),
        t("col_mean_std"),
        t("col_max_std"),
        t("col_min_std"),
    )
    out.blocks.append(Table(header, tuple(rows), numeric=frozenset(range(1, len(header)))))
    out.blocks.append(Paragraph(t("figure7_claim"), lead=t("paper_claim_lead"), style="claim"))
    if any(m.get("layer_std") for m in models):
        out.blocks.append(
            ctx.figures(
                f"{study.key}-layer-responses",
                t("fig_responses"),
                lambda p: figures.plot_layer_responses(models, p, lang=t.lang),
            )
        )

    iterations = [m.get("iterations") for m in models if m.get("iterations")]
    if iterations and min(iterations) < reference_iterations():
        gammas = [m["bn_gamma"] for m in models if m.get("bn_gamma") is not None]
        key = "responses_not_meaningful" if gammas else "responses_short_note"
        note = t(key, iterations=min(iterations), gamma=fmt.sig(statistics.fmean(gammas or [0])))
        out.blocks.append(Paragraph(note, lead=t("note_lead"), style="note"))
        out.findings.append(note)
        return out
    for depth, plain, residual in _pairs_by_depth(models):
        p, r = _mean_response(plain), _mean_response(residual)
        if p is None or r is None:
            continue
        key = "resp_res_smaller" if r < p else "resp_res_not_smaller"
        out.findings.append(t(key, depth=depth, res=fmt.sig(r), plain=fmt.sig(p)))
    residual = [m for m in models if m.get("kind") == "residual" and _mean_response(m) is not None]
    if len(residual) >= 2:
        residual.sort(key=lambda m: m.get("depth") or 0)
        values = [_mean_response(m) for m in residual]
        chain = " → ".join(f"{m.get('model')} {fmt.sig(v)}" for m, v in zip(residual, values))
        falling = all(b < a for a, b in zip(values, values[1:]))
        out.findings.append(
            t("resp_deeper_smaller" if falling else "resp_deeper_not_smaller", chain=chain)
        )
    out.blocks += [Paragraph(f, style="verdict") for f in out.findings]
    return out


def reference_iterations() -> int:
    """The paper's CIFAR-10 schedule (64k iterations): Figure 7 shows nets trained that long."""
    return 64000


def _mean_response(model: Mapping[str, Any]) -> float | None:
    stored = fmt.stat(model.get("mean_std"))[0]
    if stored is not None:
        return stored
    std = [x for x in model.get("layer_std") or [] if x is not None]
    return statistics.fmean(std) if std else None


# --- gradients -------------------------------------------------------------------------------


def _gradients(study: StudyResult, ctx: Context) -> StudySection:
    t, data, out = ctx.t, study.data, StudySection()
    if data.get("metric") != "relative_gradient":
        # results of reslab <= 0.1 compared the stem's raw gradient norm with the classifier's
        out.blocks.append(Paragraph(t("grad_old_metric"), lead=t("note_lead"), style="note"))
        return out
    models = sorted(data.get("models") or [], key=_kind_depth)
    steps = sorted({int(k) for m in models for k in (m.get("steps") or {})})
    trained = any(m.get("trained") for m in models)
    config = data.get("config") or {}
    out.blocks.append(
        Paragraph(
            t(
                "grad_intro3",
                lr=f"{fmt.stat(data.get('lr'))[0] or 0.1:g}",
                steps=", ".join(map(str, steps)) or fmt.MISSING,
                batches=_batches(config.get("probe_batches"), t),
            )
        )
    )
    header = [t("col_model"), t("col_conv_layers"), t("col_ratio_init")]
    header += [t("col_ratio_steps", n=n) for n in steps]
    if trained:
        header.append(t("col_ratio_trained"))
    rows = []
    for m in models:
        ratio, seeds = _first_over_last(m), _ratios(m, _first_over_last(m))
        row = [
            str(m.get("model", fmt.MISSING)),
            str(len(m.get("init") or [])),
            _ratio_text(ratio, seeds, t) if ratio else fmt.MISSING,
        ]
        after = m.get("first_over_last_steps") or {}
        row += [fmt.sig(after.get(str(n))) for n in steps]
        if trained:
            row.append(fmt.sig(m.get("first_over_last_trained")))
        rows.append(tuple(row))
    out.blocks.append(Table(tuple(header), tuple(rows), numeric=frozenset(range(1, len(header)))))
    if any(m.get("init") for m in models):
        out.blocks.append(
            ctx.figures(
                f"{study.key}-relative-gradients",
                t("fig_relative_gradients"),
                lambda p: figures.plot_relative_gradients(models, p, lang=t.lang),
            )
        )

    exploding, even = [], []
    for depth, plain, residual in _pairs_by_depth(models):
        p_ratio, r_ratio = _first_over_last(plain), _first_over_last(residual)
        if not p_ratio or not r_ratio:
            continue
        p_all, r_all = _ratios(plain, p_ratio), _ratios(residual, r_ratio)
        # the plain net's closest-to-even initialisation is further from even (ratio 1) than
        # the residual net's furthest one, by more than a factor of 2
        plain_even = min(abs(math.log(x)) for x in p_all)
        residual_uneven = max(abs(math.log(x)) for x in r_all)
        uneven = plain_even > residual_uneven + math.log(2)
        # more uneven in every initialisation, but not by the factor the finding asks for
        below2 = not uneven and plain_even > residual_uneven
        out.findings.append(
            t(
                "grad_uneven3"
                if uneven
                else "grad_uneven_below2"
                if below2
                else "grad_not_uneven3",
                depth=depth,
                plain_ratio=_ratio_text(p_ratio, p_all, t),
                res_ratio=_ratio_text(r_ratio, r_all, t),
                trend=t("grad_trend_explode" if p_ratio > 1 else "grad_trend_vanish"),
                factor=f"{math.exp(plain_even - residual_uneven):.2f}",
            )
        )
        if uneven and p_ratio > 1:
            exploding.append(f"{fmt.sig(p_ratio)} ({plain.get('model')})")
            even.append(f"{fmt.sig(r_ratio)} ({residual.get('model')})")
    growth = _growth_per_layer(models, t)
    if growth:
        out.findings.append(t("grad_growth", **growth))
    if steps:
        first = steps[0]
        after = [
            (
                m.get("model"),
                _first_over_last(m),
                (m.get("first_over_last_steps") or {}).get(str(first)),
            )
            for m in models
            if m.get("kind") == "plain" and _first_over_last(m)
        ]
        after = [(n, a, b) for n, a, b in after if b]
        if after:
            chain = ", ".join(f"{n} {fmt.sig(a)} → {fmt.sig(b)}" for n, a, b in after)
            out.findings.append(t("grad_after_steps", n=first, chain=chain))
    out.blocks += [Paragraph(f, style="verdict") for f in out.findings]
    if exploding:
        out.blocks.append(
            Paragraph(t("gradients_paper_quote"), lead=t("gradients_paper_lead"), style="claim")
        )
        out.blocks.append(
            Paragraph(
                t("gradients_measured2", ratios=", ".join(exploding), res_ratios=", ".join(even)),
                style="note",
            )
        )
    return out


GEOMETRIC_SPREAD = 1.25
"""Growth with depth is called geometric when the per-layer growth rates (log factors) of
consecutive depth steps agree within this factor of each other."""


def _growth_per_layer(models: Sequence[Mapping[str, Any]], t: Wording) -> dict[str, str] | None:
    """How the first/last ratio at initialisation grows per added layer, per kind, between each
    pair of consecutive depths. "Geometric" only where the steps measure the same rate (within
    GEOMETRIC_SPREAD); one step says its factor without naming a shape."""
    said = {}
    for kind, key in (("plain", "plain_how"), ("residual", "res_how")):
        nets = sorted(
            (m for m in models if m.get("kind") == kind and _first_over_last(m)),
            key=lambda m: m.get("depth") or 0,
        )
        if len(nets) < 2 or nets[0].get("depth") == nets[-1].get("depth"):
            return None
        factors = [
            (_first_over_last(b) / _first_over_last(a)) ** (1 / (int(b["depth"]) - int(a["depth"])))
            for a, b in zip(nets, nets[1:])
            if int(b["depth"]) > int(a["depth"])
        ]
        chain = " → ".join(f"{m.get('model')} {fmt.sig(_first_over_last(m))}" for m in nets)
        rates = [math.log(f) for f in factors]
        same = all(r > 0 for r in rates) or all(r < 0 for r in rates)
        if len(factors) == 1:
            said[key] = t("growth_one", factor=f"{factors[0]:.3f}", chain=chain)
        elif same and max(map(abs, rates)) <= GEOMETRIC_SPREAD * min(map(abs, rates)):
            layers = int(nets[-1]["depth"]) - int(nets[0]["depth"])
            overall = (_first_over_last(nets[-1]) / _first_over_last(nets[0])) ** (1 / layers)
            said[key] = t("growth_geometric", factor=f"{overall:.3f}", chain=chain)
        else:
            steps = t("growth_then").join(f"{f:.4g}" for f in factors)
            said[key] = t("growth_uneven", factors=steps, chain=chain)
    return said


def _ratios(model: Mapping[str, Any], first: float | None) -> list[float]:
    stored = [fmt.stat(x)[0] for x in model.get("first_over_last_seeds") or []]
    return [x for x in stored if x] or ([first] if first else [])


def _ratio_text(value: float, values: list[float], t: Wording) -> str:
    if len(values) < 2:
        return fmt.sig(value)
    return t(
        "ratio_range",
        value=fmt.sig(value),
        n=len(values),
        low=fmt.sig(min(values)),
        high=fmt.sig(max(values)),
    )


def _first_over_last(model: Mapping[str, Any]) -> float | None:
    """The first conv's relative gradient over the last conv's, at initialisation."""
    stored = fmt.stat(model.get("first_over_last"))[0]
    if stored is not None:
        return stored
    init = model.get("init") or []
    return init[0] / init[-1] if len(init) >= 2 and init[-1] else None


# --- table6 ----------------------------------------------------------------------------------


def _table6(study: StudyResult, ctx: Context) -> StudySection:
    t, data, out = ctx.t, study.data, StudySection()
    out.blocks.append(Paragraph(t("t6_intro")))
    header = (
        t("col_model"),
        t("col_params"),
        t("col_paper_error"),
        t("col_repro_error"),
        t("col_measured"),
    )
    rows = []
    for row in data.get("rows") or []:
        name = str(row.get("model", fmt.MISSING))
        ref = reference.CIFAR10_TABLE6.get(name)
        paper = row.get("paper_error", ref.paper_error if ref else None)
        measured = row.get("measured_error")
        status = row.get("status") or ("measured" if measured else "not run")
        params = (
            fmt.count(row["params"])
            if row.get("params")
            else (ref.params_label if ref else fmt.MISSING)
        )
        rows.append(
            (
                name,
                params,
                fmt.mean_std(paper),  # ResNet-110 over seeds: the paper's mean of 5 runs
                fmt.pct(ref.reproduction_error if ref else None),
                fmt.mean_std(measured) if measured else _status(status, t),
            )
        )
        mean = fmt.stat(measured)[0]
        if mean is not None and fmt.stat(paper)[0] is not None:
            out.findings.append(
                t(
                    "t6_measured_line",
                    model=name,
                    measured=fmt.mean_std(measured),
                    paper=fmt.mean_std(paper),
                    diff=fmt.gap(mean - fmt.stat(paper)[0]),
                )
            )
    out.blocks.append(Table(header, tuple(rows), numeric=frozenset({1, 2, 3, 4})))
    if data.get("note"):
        out.blocks.append(Paragraph(str(data["note"]), lead=t("note_lead"), style="note"))
    if not out.findings:
        out.findings.append(t("t6_none_measured"))
    out.blocks += [Paragraph(f, style="verdict") for f in out.findings]
    return out


def _status(status: str, t: Wording) -> str:
    return {"measured": t("status_measured"), "not run": t("status_not_run")}.get(status, status)


# --- anything else ---------------------------------------------------------------------------


def _unknown(study: StudyResult, ctx: Context) -> StudySection:
    return StudySection(blocks=[Paragraph(ctx.t("unknown_study", study=study.study), style="note")])


def _confusion_figures(study: StudyResult, ctx: Context) -> list[Block]:
    """Optional: {"confusion": {"model", "classes", "matrix"}} (or a list of them) in any study."""
    stored = study.data.get("confusion")
    entries = stored if isinstance(stored, list) else [stored] if stored else []
    blocks: list[Block] = []
    for i, entry in enumerate(entries):
        if not entry.get("matrix") or not entry.get("classes"):
            continue
        model = str(entry.get("model", fmt.MISSING))
        blocks.append(
            ctx.figure(
                f"{study.key}-confusion-{i + 1}",
                ctx.t("fig_confusion", model=model),
                lambda p, e=entry, m=model: figures.plot_confusion_matrix(
                    e["matrix"], e["classes"], p, lang=ctx.t.lang, model=m
                ),
            )
        )
    return blocks


# --- shared helpers --------------------------------------------------------------------------


def _pairs_by_depth(
    models: Sequence[Mapping[str, Any]],
) -> list[tuple[Any, Mapping[str, Any], Mapping[str, Any]]]:
    """(depth, plain, residual) for each depth at which both kinds were measured."""
    plain = {m.get("depth"): m for m in models if m.get("kind") == "plain"}
    residual = {m.get("depth"): m for m in models if m.get("kind") == "residual"}
    depths = sorted(d for d in plain.keys() & residual.keys() if d is not None)
    return [(d, plain[d], residual[d]) for d in depths]


def _kind_depth(row: Mapping[str, Any]) -> tuple[bool, int, str]:
    return (row.get("kind") != "plain", row.get("depth") or 0, str(row.get("model")))


def _kind(kind: Any, t: Wording) -> str:
    return t(f"kind_{kind}") if kind in ("plain", "residual") else str(kind or fmt.MISSING)


def _dataset_name(data: Mapping[str, Any]) -> str:
    return str((data.get("dataset") or {}).get("name") or fmt.MISSING)


RENDERERS: dict[str, Callable[[StudyResult, Context], StudySection]] = {
    "degradation": _degradation,
    "responses": _responses,
    "gradients": _gradients,
    "table6": _table6,
}
