"""Every word of the report exists in every language, with the same placeholders."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

import reslab.report
from reslab import reference
from reslab.report import results, sections
from reslab.report.wording import LANGUAGES, WORDING, Wording

REPORT_SRC = Path(reslab.report.__file__).parent


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_languages_are_en_and_zh():
    assert set(LANGUAGES) == {"en", "zh"}


@pytest.mark.parametrize("lang", [lang for lang in WORDING if lang != "en"])
def test_every_key_in_every_language(lang):
    assert set(WORDING[lang]) == set(WORDING["en"])


@pytest.mark.parametrize("key", sorted(WORDING["en"]))
def test_placeholders_match_across_languages(key):
    expected = _fields(WORDING["en"][key])
    for lang, words in WORDING.items():
        assert _fields(words[key]) == expected, (lang, key)
        assert words[key].strip(), (lang, key)


def test_claims_come_from_reference():
    assert WORDING["en"]["figure7_claim"] == reference.FIGURE7_CLAIM
    assert WORDING["en"]["degradation_claim"] == reference.DEGRADATION_CLAIM
    assert WORDING["zh"]["figure7_claim"] != reference.FIGURE7_CLAIM


def _keys_used_in_code() -> set[str]:
    """Literal keys passed to a wording object (t(...) or ctx.t(...)) anywhere in the package."""
    keys: set[str] = set()
    for path in REPORT_SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name != "t":
                continue
            arg = node.args[0]
            options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            keys |= {o.value for o in options if isinstance(o, ast.Constant)}
    return keys


def test_every_key_used_in_code_exists():
    used = _keys_used_in_code()
    assert len(used) > 60  # the scan really found the calls
    assert used - set(WORDING["en"]) == set()


def test_keys_built_at_run_time_exist():
    dynamic = {f"study_{s}" for s in results.RENDERERS}
    dynamic |= {"kind_plain", "kind_residual", "fig_train_error_curves", "fig_test_error_curves"}
    dynamic |= {label for _, label in (*sections.ENV_ROWS, *sections.DATASET_ROWS)}
    assert dynamic - set(WORDING["en"]) == set()


def test_wording_formats_fields():
    assert Wording("en")("figure_label", n=3) == "Figure 3."
    assert Wording("zh")("figure_label", n=3) == "图 3."
