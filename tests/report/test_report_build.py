"""build_report end to end on synthetic results: files, content, honesty, failure modes."""

from __future__ import annotations

import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reslab.errors import ReslabError
from reslab.report import ReportPaths, build_report
from reslab.report.fmt import sig


def _mean(values: tuple[float, ...]) -> str:
    return f"{statistics.fmean(values):.2f}"


def test_writes_html_markdown_and_figures(built_demo):
    root: Path = built_demo["root"]
    en: ReportPaths = built_demo["en"]
    zh: ReportPaths = built_demo["zh"]
    assert en.html == root / "report.html" and en.markdown == root / "report.md"
    assert zh.html == root / "report.zh.html" and zh.markdown == root / "report.zh.md"
    # 2 curves, error vs depth (2 panels), responses (2 panels), gradients (at initialisation,
    # after 1 and after 10 steps), confusion
    assert len(en.figures) == len(zh.figures) == 10
    assert all(p.parent == root / "figures" and p.is_file() for p in en.figures)
    assert all(p.parent == root / "figures" / "zh" and p.is_file() for p in zh.figures)


def test_a_report_in_another_language_leaves_the_english_figures_alone(tmp_path, synthetic):
    """`reslab report DIR --lang zh` after `reslab report DIR`: the English page's figures
    keep their English labels (their files are not redrawn), and each page embeds its own."""
    root = synthetic.make_demo(tmp_path / "demo")
    en = build_report(root)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in en.figures}
    zh = build_report(root, lang="zh")
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in en.figures} == before
    assert not set(zh.figures) & set(en.figures)
    assert "](figures/zh/degradation-train-error.png)" in zh.markdown.read_text(encoding="utf-8")
    assert "](figures/degradation-train-error.png)" in en.markdown.read_text(encoding="utf-8")


def test_studies_appear_in_paper_order(built_demo):
    text = built_demo["en"].markdown.read_text(encoding="utf-8")
    results = text[text.index("## Results") :]
    positions = [
        results.index(title)
        for title in (
            "### Degradation",
            "### Layer responses",
            "### Gradient flow",
            "### CIFAR-10 Table 6",
        )
    ]
    assert positions == sorted(positions)


def test_markdown_has_tables_figure_links_and_setup(built_demo, synthetic):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    assert "| Model | Kind | Depth |" in md
    assert re.search(r"\| plain56 \| plain \| 56 \|", md)
    for fig in built_demo["en"].figures:
        assert f"](figures/{fig.name})" in md
    assert synthetic.command in md
    assert "AMD EPYC 7B13" in md and "none (CPU only)" in md
    assert "1×8×8" in md  # image shape from the dataset record
    assert "```yaml" in md and "momentum: 0.9" in md


def test_measured_numbers_come_from_results(built_demo, synthetic):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    for model, values in synthetic.final_train.items():
        assert _mean(values) in md, model
    assert "+5.66 ± 0.09" in md  # the stored plain gap with its standard error
    assert "8.75" in md and "6.97" in md  # the paper's CIFAR-10 numbers beside them
    assert "8.91" in md and "not run" in md  # table6: one measured row, one not


def test_changing_the_results_changes_the_report(tmp_path, synthetic):
    results = synthetic.degradation()
    results["summary"][1]["final_train_error"] = {"mean": 43.21, "std": 1.23, "n": 2}
    results["verdict"]["claims"]["degradation"]["gap"] = 39.04
    synthetic.write(tmp_path, results)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert "43.21 ± 1.23" in md and "+39.04" in md
    assert "9.83" not in md  # the fixture's own plain56 mean is gone


def _verdicts(md: str) -> str:
    """The report's opening part, where the verdicts are."""
    start = md.index("\n## ")
    return md[start : md.index("\n## ", start + 1)]


@pytest.mark.parametrize(
    ("lang", "phrase", "fix"),
    [("en", "not observed", "nothing to fix"), ("zh", "未观察到", "没有需要消除的退化")],
)
def test_verdict_says_not_observed_when_no_degradation(tmp_path, synthetic, lang, phrase, fix):
    synthetic.write(tmp_path, synthetic.degradation(observed=False))
    paths = build_report(tmp_path, lang=lang)
    html = paths.html.read_text(encoding="utf-8")
    assert phrase in html and '+0.35<span class="pm"> ± 0.13' in html
    verdicts = _verdicts(paths.markdown.read_text(encoding="utf-8"))
    assert phrase in verdicts and fix in verdicts


def test_verdict_says_observed_when_degradation(built_demo):
    verdicts = _verdicts(built_demo["en"].markdown.read_text(encoding="utf-8"))
    row = next(x for x in verdicts.splitlines() if "The deeper plain net trains worse" in x)
    assert "(plain56 vs plain20)" in row and row.endswith("| observed |")
    assert "| higher by more than 1.5 |" in verdicts  # the threshold applied is the one shown
    assert "How the verdicts are reached" in verdicts
    # the rule applied is said: Welch's t-interval, its confidence and its degrees of freedom
    assert "Welch's two-sided 95% t-interval" in verdicts and "2 standard errors" not in verdicts
    assert re.search(r"\(95% band \+5\.\d\d to \+6\.\d\d; Welch t, df 1\.95\)", row)


def test_a_verdict_table_is_not_followed_by_nothing_to_conclude(tmp_path, synthetic):
    synthetic.write(tmp_path, synthetic.degradation())
    verdicts = _verdicts(build_report(tmp_path).markdown.read_text(encoding="utf-8"))
    assert "| observed |" in verdicts and "nothing to conclude" not in verdicts


def test_results_of_the_old_fixed_z_rule_still_render_with_their_rule(tmp_path, synthetic, capsys):
    from reslab.studies.degradation import print_results

    results = synthetic.degradation()
    rule = {"margin": 1.5, "z": 2.0, "converged_below": 10.0, "min_seeds": 2}
    results["verdict"]["rule"] = rule
    for claim in results["verdict"]["claims"].values():
        for judged in (claim, claim.get("deep_residual_vs_deep_plain") or {}):
            judged.update(rule=rule)
            judged.pop("df", None), judged.pop("t", None)
    synthetic.write(tmp_path, results)
    verdicts = _verdicts(build_report(tmp_path).markdown.read_text(encoding="utf-8"))
    assert "± 2 standard errors" in verdicts and "Welch" not in verdicts
    # and on the terminal (`reslab study` on an old study): the gaps, without a t they lack
    capsys.readouterr()
    print_results(tmp_path)
    printed = capsys.readouterr().out
    gap = results["verdict"]["claims"]["degradation"]["gap"]
    assert f"observed (threshold: higher by more than 1.5; gap {gap:+.2f})" in printed, printed


def test_results_come_first_and_the_setup_last(built_demo):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    order = [
        md.index(x)
        for x in (
            "## Verdicts",
            "| Claim |",
            "## Results",
            "| Model | Final train error %",
            "degradation-train-error.png",
            "## Background",
            "## Appendix",
            "```yaml",
        )
    ]
    assert order == sorted(order)
    assert md.count("Deeper plain nets have higher training and test error") == 1
    html = built_demo["en"].html.read_text(encoding="utf-8")
    appendix = html[html.index("<details>") :]
    assert "AMD EPYC 7B13" in appendix and "language-yaml" in appendix
    assert "CPU kernels (one of the things that set the float rounding)" in appendix
    assert "AVX512" in appendix


def test_the_schedule_rule_is_checked_where_the_verdicts_are(tmp_path, synthetic):
    from reslab.studies.degradation import plateau
    from reslab.studies.verdict import Rule

    # the fixture's curves still fall 3.6 points over the final quarter (90 * 0.2**2)
    synthetic.make_demo(tmp_path / "a")
    verdicts = _verdicts(build_report(tmp_path / "a").markdown.read_text(encoding="utf-8"))
    assert re.search(r"Here it does not hold: \w+ moves by 3\.60 points", verdicts)
    # every net that moves more than the limit is named, not only the one that moves most
    moved = re.search(r"Here it does not hold: (.*?) over the final quarter", verdicts).group(1)
    assert all(net in moved for net in ("plain20", "plain56", "resnet20", "resnet56")), moved
    results = synthetic.degradation()
    for run in results["runs"]:  # flat at the end: the rule holds
        for h in run["history"]:
            h["train_error"] = max(h["train_error"] - (90 * 0.04 if h["step"] == 800 else 0), 0)
    results["plateau"] = plateau(results["runs"], Rule(margin=1.5))
    synthetic.write(tmp_path / "b", results)
    verdicts = _verdicts(build_report(tmp_path / "b").markdown.read_text(encoding="utf-8"))
    assert "Here it holds: the largest move is 0.90 points" in verdicts
    assert "the worst final error of those nets is 4.24% (plain20)" in verdicts


def test_the_warm_up_given_to_every_net_is_said(built_demo):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    assert "The paper used this warm-up for ResNet-110 only" in md


@pytest.mark.parametrize(("lang", "says"), [("en", "depend on it"), ("zh", "依赖于这一预热")])
def test_a_warm_up_beyond_the_paper_is_said_with_what_it_changes(tmp_path, synthetic, lang, says):
    """The demo's recipe ramps every net's rate up: the results section says it is not the
    paper's and that the ResNet verdicts depend on it (measured), not only that it is fair."""
    results = synthetic.degradation()
    results["config"]["recipe"]["schedule"] = {
        "name": "multistep", "milestones": [0.5, 0.75], "warmup_iters": 100,
    }  # fmt: skip
    synthetic.write(tmp_path, results)
    md = build_report(tmp_path, lang=lang).markdown.read_text(encoding="utf-8")
    results_part = md[md.index("\n## ", md.index("\n## ") + 1) :]
    assert says in results_part and "ResNet-56" in results_part


def test_gradients_put_the_paper_sentence_next_to_the_measured_explosion(tmp_path, synthetic):
    grads = synthetic.gradients()
    for m in grads["models"]:  # plain56 explodes towards the input: first/fc = 1190
        if m["model"] == "plain56":
            m["init"][0] = 1190 * m["init"][-1]
            m["first_over_last"] = 1190.0
    synthetic.write(tmp_path, grads)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert "healthy norms with BN" in md and "1.19e+03 (plain56)" in md
    assert "Yang et al. (2019" in md and "ICLR" in md
    # the metric compares conv layers only, relative to their weights, and says so
    assert "|∇W| / |W|" in md and "the classifier, no conv, is left out" in md


@pytest.mark.parametrize(("n", "says"), [(1, "on 1 batch of"), (4, "on 4 batches of")])
def test_the_probe_batches_are_counted_in_words(tmp_path, synthetic, n, says):
    grads = synthetic.gradients()
    grads["config"]["probe_batches"] = n
    synthetic.write(tmp_path, grads)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert f"Measured {says} training images" in md and "1 batches" not in md


def test_gradients_show_the_first_steps_and_the_growth_with_depth(built_demo):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    assert "| After SGD step 1 | After SGD step 10 |" in md
    # the fixture's plain20: first/last = 0.93**18, plain56: 0.000123 / 0.0421
    assert f"plain20 {sig(0.93**18)} → plain56 {sig(0.000123 / 0.0421)}" in md
    assert "per added layer" in md  # growth with depth, computed from the stored ratios
    assert "After SGD step 1 from that initialisation" in md


def test_old_gradient_results_are_not_shown_as_if_they_were_the_new_metric(tmp_path, synthetic):
    old = synthetic.gradients()
    old.pop("metric")
    synthetic.write(tmp_path, old)
    paths = build_report(tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "earlier reslab" in md and "reslab study gradients" in md
    assert paths.figures == []


def test_responses_of_short_runs_are_not_judged(built_demo):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    assert "Not judged here" in md and "1000 iterations" in md
    assert "respond more weakly" not in md


def test_the_report_judges_figure_7_only_on_nets_trained_as_long_as_the_papers(tmp_path, synthetic):
    """Figure 7 is about nets trained for 64k iterations: on the demo's 400-iteration nets
    (digits) ResNet-56 responded more strongly than ResNet-20 (mean std 1.03 against 1.00,
    BN scales still ~1), so a verdict there would test the initialisation, not the paper. The
    report says so instead of judging; with 64k-iteration nets it judges both halves of the
    claim, each way."""
    short = synthetic.responses()
    synthetic.write(tmp_path / "short", short)
    md = build_report(tmp_path / "short").markdown.read_text(encoding="utf-8")
    assert "Not judged here" in md and "respond more weakly" not in md

    long = synthetic.responses()  # plain20 1.0, resnet20 0.6, resnet56 0.4 (x the same pattern)
    for m in long["models"]:
        m["iterations"] = 64000
    synthetic.write(tmp_path / "long", long)
    md = build_report(tmp_path / "long").markdown.read_text(encoding="utf-8")
    assert "the residual layers respond more weakly than the plain ones" in md
    assert "Deeper residual nets respond more weakly" in md

    deeper_stronger = synthetic.responses()
    for m in deeper_stronger["models"]:
        m["iterations"] = 64000
        if m["model"] == "resnet56":
            m["layer_std"] = [2 * x for x in m["layer_std"]]
            m["mean_std"] *= 5
    synthetic.write(tmp_path / "other", deeper_stronger)
    md = build_report(tmp_path / "other").markdown.read_text(encoding="utf-8")
    assert "do not respond consistently more weakly" in md


def test_single_seed_is_flagged(tmp_path, synthetic):
    from reslab.studies.degradation import verdict

    results = synthetic.degradation()
    for row in results["summary"]:
        for key in ("final_train_error", "final_test_error", "best_test_error"):
            row[key] = {"mean": row[key]["mean"], "std": None, "n": 1}
    results["verdict"] = verdict(results["summary"])
    synthetic.write(tmp_path, results)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert "one seed only" in md
    assert "| +5.66 |" in md and "+5.66 ±" not in md  # no ± where no spread was measured
    assert "shading" not in md and "error bars" not in md  # captions name no spread


def test_chinese_report_is_chinese(built_demo):
    html = built_demo["zh"].html.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    for heading in ("结论判定", "结果", "背景", "附录：实验设置与训练方案"):
        assert f">{heading}</h2>" in html
    assert "Introduction" not in html


ENGLISH_RUN = re.compile(r"(?:\b[A-Za-z][a-z]+\b[ ,;:()'-]+){6,}")
"""Six English words in a row: a sentence, not a model name or a unit."""


def test_no_english_sentence_in_the_chinese_prose(built_demo):
    """Outside code, figure links and the titles of cited papers, the Chinese report says
    nothing in English (the stored English note under the results table used to stay)."""
    md = built_demo["zh"].markdown.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", md, flags=re.S)  # the recipe and the command
    prose = re.sub(r"!\[[^]]*\]\([^)]*\)", "", prose)  # figure links
    prose = re.sub(r"《[^》]*》", "", prose)  # titles of cited papers
    prose = re.sub(r"“[^”]*”", "", prose)  # quotations
    assert ENGLISH_RUN.findall(prose) == []
    assert "Deeper plain nets" not in md


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data") and value is not None:
                self.refs.append((tag, name, value))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_is_self_contained(built_demo, lang):
    html = built_demo[lang].html.read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(html)
    assert not re.search(r"https?://", html)
    assert "script" not in parser.tags and "link" not in parser.tags
    imgs = [r for r in parser.refs if r[0] == "img"]
    assert len(imgs) == len(built_demo[lang].figures)
    assert all(value.startswith("data:image/png;base64,") for _, _, value in parser.refs)
    assert "url(" not in html.split("</style>")[0]
    assert 'name="viewport"' in html and "max-width: 100%" in html


def test_single_study_in_run_dir_itself(tmp_path, synthetic):
    synthetic.write(tmp_path, synthetic.gradients())
    paths = build_report(tmp_path, out_dir=tmp_path / "out")
    assert paths.html.parent == tmp_path / "out"
    md = paths.markdown.read_text(encoding="utf-8")
    assert "### Gradient flow per layer" in md and "vanishing gradients" in md
    # plain56: first conv 0.000123 / last conv 0.0421, the same in the sentence and the table
    assert "learns 0.00292 times as fast" in md and "| 0.00292 |" in md
    assert [p.name for p in paths.figures] == [
        "gradients-relative-gradients.png",
        "gradients-relative-gradients-step1.png",
        "gradients-relative-gradients-step10.png",
    ]


def test_tolerates_sparse_and_unknown_results(tmp_path, synthetic):
    results = synthetic.degradation()
    for key in ("summary", "verdict", "paper", "config", "env", "command", "wall_time_s"):
        results.pop(key)
    synthetic.write(tmp_path / "a", results)
    synthetic.write(tmp_path / "b", {"study": "future_study", "anything": [1, 2]})
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert "4.17 ± 0.10" in md  # summary rebuilt from the runs
    assert "no verdict" in md
    assert "cannot render study 'future\\_study'" in md
    assert "do not record the command" in md


def test_no_results_is_a_clear_error(tmp_path):
    with pytest.raises(
        ReslabError, match=r"no study results.*reslab study degradation.*reslab demo"
    ):
        build_report(tmp_path)
    with pytest.raises(ReslabError, match="no study results"):
        build_report(tmp_path / "missing")


def test_unreadable_results_is_a_clear_error(tmp_path):
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReslabError, match="cannot read"):
        build_report(tmp_path)
    (tmp_path / "results.json").write_text('{"runs": []}', encoding="utf-8")
    with pytest.raises(ReslabError, match="no 'study' field"):
        build_report(tmp_path)


def test_unknown_language_is_refused(demo_dir):
    with pytest.raises(ReslabError, match="language"):
        build_report(demo_dir, lang="fr")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "train_col", "test_col", "final_col", "best_col"),
    [
        (
            "en",
            "Train error % at iteration 600 (running)",
            "Test error % at iteration 600",
            "Final train error %",
            "at best validation",
        ),
        (
            "zh",
            "第 600 次迭代时的训练误差 %（滑动）",
            "第 600 次迭代时的测试误差 %",
            "最终训练误差 %",
            "最佳验证点的测试误差",
        ),
    ],
)
def test_a_truncated_study_says_which_iteration_its_numbers_are_from(
    tmp_path, synthetic, monkeypatch, lang, train_col, test_col, final_col, best_col
):
    """The first 600 of the paper's 64k iterations have no "final" error, and validation ran
    once, at the end, so a test error "at best validation" would only repeat the last one.
    The curve shades the second half, where its claims are judged."""
    import matplotlib.pyplot as plt

    results = synthetic.degradation()
    results["train_curve"] = "running"
    results["config"]["recipe"]["train"].update(iterations=600, log_every=10)
    for run in results["runs"]:
        run["iterations"] = 600
    synthetic.write(tmp_path, results)
    spans = []
    real = plt.Axes.axvspan

    def spy(self, start, end, *args, **kwargs):
        spans.append((start, end))
        return real(self, start, end, *args, **kwargs)

    monkeypatch.setattr(plt.Axes, "axvspan", spy)
    titles = []
    real_title = plt.Axes.set_title

    def title_spy(self, label, *args, **kwargs):
        titles.append(label)
        return real_title(self, label, *args, **kwargs)

    monkeypatch.setattr(plt.Axes, "set_title", title_spy)
    md = build_report(tmp_path, lang=lang).markdown.read_text(encoding="utf-8")
    header = next(x for x in md.splitlines() if train_col in x)
    assert test_col in header and final_col not in md and best_col not in md
    assert header.count("|") == 5  # model, train, test, paper: no best-validation column
    assert spans == [(300.0, 600)]
    if lang == "en":  # a constant rate has no drops to mark
        assert "Running minibatch error during training" in " ".join(titles)
        assert "Running training error of the augmented minibatches" in md
        assert "learning-rate drops" not in md


@pytest.mark.parametrize(
    ("lang", "observed"), [("en", True), ("en", False), ("zh", True), ("zh", False)]
)
def test_the_terminal_names_each_claim_as_the_report_does(
    tmp_path, synthetic, capsys, lang, observed
):
    """`reslab demo` prints the verdicts before the report is opened: each with the words of
    the report's verdict table in the report's language, the same status ("cannot be judged
    here" included) and the same reason; "shortcuts fix" with the comparison it adds."""
    import json

    from reslab.report.results import claim_title
    from reslab.report.wording import Wording
    from reslab.studies.degradation import print_results

    t = Wording(lang)
    synthetic.write(tmp_path, synthetic.degradation(observed=observed))
    markdown = build_report(tmp_path, lang=lang).markdown.read_text(encoding="utf-8")
    capsys.readouterr()
    print_results(tmp_path, lang=lang)
    printed = capsys.readouterr().out
    claims = json.loads((tmp_path / "results.json").read_text())["verdict"]["claims"]
    rows = {
        cells[0]: (cells[2], cells[-1])
        for line in _verdicts(markdown).splitlines()
        if line.startswith("| ") and not line.startswith(("| ---", f"| {t('col_claim')} "))
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert list(rows) == [claim_title(key, claims, lang) for key in claims]
    colon = "：" if lang == "zh" else ": "
    statuses = set()
    for title, (threshold, verdict) in rows.items():  # every row of the report's table
        status, _, reason = verdict.partition(colon)  # the report's "status: reason"
        statuses.add(status)
        line = next(x for x in printed.splitlines() if x.startswith(f"  {title}"))
        assert line.startswith(f"  {title}{colon}{status}"), (line, status)
        assert reason in line, (line, reason)
        assert threshold in line, (line, threshold)  # what "passes" means for this claim
    assert len(claims) == 4
    assert (t("status_cannot be judged") in statuses) == (not observed)
    # "t" on the terminal is the band's multiplier, printed with the standard error it scales
    c = claims["degradation"]
    assert abs(c["gap"] - c["t"] * c["gap_se"] - c["low"]) < 1e-6
    said = t("term_gap", gap=f"{c['gap']:+.2f}", se=f"{c['gap_se']:.2f}", low=f"{c['low']:+.2f}",
             high=f"{c['high']:+.2f}", t=f"{c['t']:.2f}", df=f"{round(c['df'], 2):g}")  # fmt: skip
    assert said in printed, printed
    assert t("term_header_final") in printed
    fix = claims["shortcuts_fix"]["deep_residual_vs_deep_plain"]
    line = next(x for x in printed.splitlines() if claim_title("shortcuts_fix", claims, lang) in x)
    vs = t("term_vs", deep=fix["deep"], shallow=fix["shallow"], detail="")
    assert vs + t("term_gap_only", gap=f"{fix['gap']:+.2f}") in line, line
    # the report's row names that pair too: its title's first pair is another one
    row = next(
        x
        for x in markdown.splitlines()
        if x.startswith(f"| {claim_title('shortcuts_fix', claims, lang)} |")
    )
    assert t("gap_of", deep=fix["deep"], shallow=fix["shallow"], gap="") in row, row


@pytest.mark.parametrize(
    ("dates", "said"),
    [
        (["2025-01-02T03:04:05+00:00"], "results from 2025-01-02 03:04 UTC"),
        (
            ["2025-01-02T03:04:05+00:00", "2025-01-02T04:25:00+01:00"],
            "results from 2025-01-02 03:04 to 03:25 UTC",
        ),
        (
            ["2025-01-02T23:59:00+00:00", "2025-01-03T00:10:00+00:00"],
            "results from 2025-01-02 23:59 to 2025-01-03 00:10 UTC",
        ),
    ],
)
def test_the_subtitle_says_when_the_results_were_written_as_one_span(
    tmp_path, synthetic, dates, said
):
    """A demo's studies finish minutes apart: the subtitle gives one UTC time or the span from
    the first to the last, not a list of raw timestamps a reader must tell apart."""
    studies = [synthetic.degradation(), synthetic.gradients()][: len(dates)]
    for name, results, date in zip(("degradation", "gradients"), studies, dates, strict=False):
        synthetic.write(tmp_path / name, {**results, "env": {**synthetic.env, "date": date}})
    markdown = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert markdown.splitlines()[2] == f"_A reslab 0.1.0 report · {said}_"


@pytest.mark.parametrize("validated", [True, False])
def test_the_best_validation_column_is_shown_only_where_a_split_was_validated(
    tmp_path, synthetic, validated
):
    """digits and mnist5k train without a validation split, so no net has a test error "at
    best validation": the results table leaves the column out instead of filling it with —."""
    results = synthetic.degradation()
    if not validated:
        for row in results["summary"]:
            row["best_test_error"] = {"mean": None, "std": None, "n": 0}
    synthetic.write(tmp_path, results)
    markdown = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    header = next(line for line in markdown.splitlines() if line.startswith("| Model | Final"))
    assert ("Test error % at best validation" in header) == validated
    row = next(line for line in markdown.splitlines() if line.startswith("| resnet56 |"))
    assert row.count("|") == header.count("|")


@pytest.mark.parametrize(
    ("plain", "residual", "plain_says", "residual_says"),
    [
        # the demo's measurement: plain x1.159 from 20 to 56 and from 56 to 110 layers
        ((77.3, 1.43e4, 4.46e7), (20.4, 86.4, 123.0), "grows geometrically", "1.041, then 1.007"),
        (
            (77.3, 1.43e4),
            (20.4, 86.4),
            "changes by a factor of 1.156",
            "changes by a factor of 1.041",
        ),
    ],
)
def test_growth_with_depth_is_called_geometric_only_where_each_step_agrees(
    tmp_path, synthetic, plain, residual, plain_says, residual_says
):
    """Two depths give one factor, which says nothing about the shape of the growth; three
    give two, and only a constant rate is "geometric" (the ResNets' is not)."""
    grads = synthetic.gradients()
    template = {m["kind"]: m for m in grads["models"]}
    depths = (20, 56, 110)
    grads["models"] = [
        {**template[kind], "model": f"{name}{d}", "depth": d, "first_over_last": ratio}
        for kind, name, ratios in (("plain", "plain", plain), ("residual", "resnet", residual))
        for d, ratio in zip(depths, ratios)
    ]
    synthetic.write(tmp_path, grads)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if "With depth, at initialisation" in x)
    plain_part, residual_part = line.split("; the residual nets'")
    assert plain_says in plain_part and residual_says in residual_part, line
    assert "geometrically" not in residual_part
    if len(plain) == 2:
        assert "geometrically" not in line


@pytest.mark.parametrize(
    ("dataset", "iterations", "says"),
    [
        ("digits", 500, "these runs used the digits dataset and a shorter recipe"),
        (
            "cifar10",
            600,
            "after its 64,000 iterations, quoted for scale only: these runs stopped after 600",
        ),
        ("cifar10", 64000, "from the schedule these runs followed (64,000 iterations)"),
    ],
)
def test_the_paper_column_says_why_its_numbers_should_or_should_not_match(
    tmp_path, synthetic, dataset, iterations, says
):
    """On CIFAR-10 the dataset is the paper's: what differs, if anything, is the length."""
    results = synthetic.degradation()
    results["dataset"] = {**results["dataset"], "name": dataset}
    for run in results["runs"]:
        run["iterations"] = iterations
    synthetic.write(tmp_path, results)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    assert says in md
    assert "used the cifar10 dataset" not in md


@pytest.mark.parametrize(
    ("plain", "residual", "says"),
    [
        # the demo's depth 20: every plain initialisation above every residual one, by 1.97x
        (
            (77.3, 100.0, 120.0),
            (20.4, 30.0, 39.3),
            "in every initialisation measured, but by less than the factor of 2",
        ),
        ((77.3, 100.0, 120.0), (20.4, 30.0, 90.0), "not clearly more uneven"),
        ((400.0, 500.0, 600.0), (20.4, 30.0, 39.3), "times as fast as its last"),
    ],
)
def test_the_depth_finding_says_how_the_initialisations_compare(
    tmp_path, synthetic, plain, residual, says
):
    """Three initialisations per net: "clearly more uneven" needs every plain one a factor of 2
    further from even than every residual one; all above but by less is said as such, and
    the headline value is named as the study's seed's."""
    grads = synthetic.gradients()
    for m in grads["models"]:
        if m["depth"] == 20:
            ratios = plain if m["kind"] == "plain" else residual
            m["first_over_last"], m["first_over_last_seeds"] = ratios[0], list(ratios)
    synthetic.write(tmp_path, grads)
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if "at depth 20" in x)
    assert says in line, line
    assert "at the study's seed (77.3 to 120 over 3 initialisations)" in line or plain[0] != 77.3
    if "factor of 2" in says:
        assert "1.97" in line


def test_the_degrees_of_freedom_are_shown_to_two_decimals(tmp_path, synthetic, capsys):
    """Welch's df of 1.04 (two seeds with very unequal spreads) is "df 1.04" in the report and on
    the terminal, beside its t of 11.59; one decimal showed "df 1.0"; a df of 2 is "df 2"."""
    import json

    from reslab.studies.degradation import print_results

    synthetic.write(tmp_path, synthetic.degradation(observed=True))
    path = tmp_path / "results.json"
    results = json.loads(path.read_text())
    claims = results["verdict"]["claims"]
    claims["degradation"]["df"] = 1.0412
    claims["residual_no_worse"]["df"] = 2.0
    path.write_text(json.dumps(results))
    verdicts = _verdicts(build_report(tmp_path).markdown.read_text(encoding="utf-8"))
    capsys.readouterr()
    print_results(tmp_path)
    printed = capsys.readouterr().out
    for text in (verdicts, printed):
        assert "df 1.04" in text and "df 1.0)" not in text and "df 1.0," not in text
        assert re.search(r"df 2\b(?!\.)", text), text


def test_a_table6_that_was_not_run_is_titled_by_its_dataset_and_claims_nothing(tmp_path, synthetic):
    """`reslab study table6` without a GPU writes the paper's numbers and CPU estimates, with no
    dataset record: the report's title names CIFAR-10 (it said "Deep residual learning on —")
    and it has no "these verdicts hold for the — dataset" note, there being no verdict."""
    results = synthetic.table6()
    del results["dataset"], results["confusion"]
    for row in results["rows"]:
        row.update(measured_error=None, status="not run")
    synthetic.write(tmp_path / "table6", results)
    md = build_report(tmp_path / "table6").markdown.read_text(encoding="utf-8")
    assert md.splitlines()[0].startswith("# Deep residual learning on cifar10:")
    assert "—" not in md.split("## Results")[0] and "These verdicts hold" not in md
