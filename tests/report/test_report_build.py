"""build_report end to end on synthetic results: files, content, honesty, failure modes."""

from __future__ import annotations

import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reslab.errors import ReslabError
from reslab.report import ReportPaths, build_report


def _mean(values: tuple[float, ...]) -> str:
    return f"{statistics.fmean(values):.2f}"


def test_writes_html_markdown_and_figures(built_demo):
    root: Path = built_demo["root"]
    en: ReportPaths = built_demo["en"]
    zh: ReportPaths = built_demo["zh"]
    assert en.html == root / "report.html" and en.markdown == root / "report.md"
    assert zh.html == root / "report.zh.html" and zh.markdown == root / "report.zh.md"
    # 2 curves, error vs depth (2 panels), responses (2 panels), gradients, confusion
    assert len(en.figures) == 8
    assert all(p.parent == root / "figures" and p.is_file() for p in en.figures)


def test_studies_appear_in_paper_order(built_demo):
    text = built_demo["en"].markdown.read_text(encoding="utf-8")
    results = text[text.index("## Results") :]
    positions = [
        results.index(title)
        for title in (
            "### Degradation",
            "### Layer responses",
            "### Gradient norms",
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
    assert "How the verdicts are reached" in verdicts and "± 2 standard errors" in verdicts


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


def test_the_warm_up_given_to_every_net_is_said(built_demo):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    assert "The paper used this warm-up for ResNet-110 only" in md


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
    assert "classifier (fc)" in md and "each conv layer's weights" not in md


def test_responses_of_short_runs_are_not_judged(built_demo):
    md = built_demo["en"].markdown.read_text(encoding="utf-8")
    assert "Not judged here" in md and "1000 iterations" in md
    assert "respond more weakly" not in md


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
    assert "### Gradient norms per layer" in md and "vanishing gradients" in md
    assert "ratio is 0.00292 " in md  # plain56: first conv 0.000123 / fc 0.0421, as in the table
    assert "| 0.00292 |" in md
    assert [p.name for p in paths.figures] == ["gradients-gradient-norms.png"]


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
