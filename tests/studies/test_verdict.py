"""The degradation study's three-valued verdicts: observed, not observed, cannot be judged."""

import pytest

from reslab.studies.common import mean_std
from reslab.studies.degradation import plateau, verdict
from reslab.studies.verdict import (
    CANNOT_JUDGE,
    NOT_OBSERVED,
    OBSERVED,
    Rule,
    judge,
    t_quantile,
    welch_df,
)


def _row(model, kind, depth, train_errs):
    return {"model": model, "kind": kind, "depth": depth, "final_train_error": mean_std(train_errs)}


def _study(plain20, plain56, resnet20, resnet56):
    return [
        _row("plain20", "plain", 20, plain20),
        _row("plain56", "plain", 56, plain56),
        _row("resnet20", "residual", 20, resnet20),
        _row("resnet56", "residual", 56, resnet56),
    ]


def _status(v, claim):
    return v["claims"][claim]["status"]


def test_mean_std_sample_std_and_single_value():
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": 2**0.5, "n": 2}
    assert mean_std([5.0]) == {"mean": 5.0, "std": None, "n": 1}
    assert mean_std([None, float("nan")])["n"] == 0


def test_the_paper_picture_is_observed():
    v = verdict(_study([2.0, 2.5, 2.2], [30, 34, 32], [3.0, 3.2, 3.1], [0.5, 0.7, 0.6]))
    assert _status(v, "degradation") == OBSERVED
    assert _status(v, "residual_no_worse") == OBSERVED
    assert _status(v, "residual_lower") == OBSERVED  # 3.1 -> 0.6: lower by more than 1 point
    assert _status(v, "shortcuts_fix") == OBSERVED
    assert v["degradation_observed"] and v["residual_avoids_degradation"]
    assert v["plain_deep"] == "plain56" and v["plain_gap"] == pytest.approx(32.0 - 2.2333, 1e-3)


def test_lower_error_cannot_be_judged_when_the_shallow_net_is_at_zero():
    # digits: both residual nets fit the training set; "deeper is better" has no room to show
    v = verdict(_study([0.1, 0.2, 0.1], [38, 45, 31], [0.0, 0.0, 0.0], [0.0, 0.07, 0.0]))
    assert _status(v, "degradation") == OBSERVED
    assert _status(v, "residual_no_worse") == OBSERVED
    assert _status(v, "residual_lower") == CANNOT_JUDGE
    assert v["claims"]["residual_lower"]["reason"] == "floor"
    assert _status(v, "shortcuts_fix") == OBSERVED


def test_not_observed_when_the_deep_plain_net_is_no_worse():
    v = verdict(_study([2.0, 2.2, 2.1], [2.4, 2.3, 2.5], [1.0, 1.1, 1.0], [1.1, 1.0, 1.2]))
    assert _status(v, "degradation") == NOT_OBSERVED
    assert _status(v, "shortcuts_fix") == CANNOT_JUDGE
    assert v["claims"]["shortcuts_fix"]["reason"] == "nothing_to_fix"
    assert not v["residual_avoids_degradation"]


def test_a_large_spread_makes_degradation_unjudgeable_not_observed():
    # the gap (4 points) passes the 1-point margin, but the seeds scatter over 10 points
    v = verdict(_study([2.0, 12.0], [6, 16], [1.0, 1.0], [1.0, 1.0]))
    assert v["plain_gap"] == 4.0
    assert _status(v, "degradation") == CANNOT_JUDGE
    assert v["claims"]["degradation"]["reason"] == "spread"
    assert not v["degradation_observed"]


def test_deep_residual_slightly_worse_with_a_large_spread_cannot_be_judged():
    # one seed of the deep net ended at 3.9%: its mean is 1.3 points worse, std 2.2. The old
    # rule (gap <= max(1, 2 std)) called this "no worse"; the spread must not help a claim.
    v = verdict(_study([0.1, 0.2, 0.1], [38, 45, 31], [0.0, 0.0, 0.0], [0.0, 0.1, 3.9]))
    no_worse = v["claims"]["residual_no_worse"]
    assert no_worse["gap"] > 1.0
    assert no_worse["status"] == CANNOT_JUDGE and no_worse["reason"] == "spread"
    assert _status(v, "shortcuts_fix") == CANNOT_JUDGE
    assert not v["residual_avoids_degradation"]


def test_more_spread_never_turns_a_verdict_into_a_pass():
    shallow = {"mean": 0.5, "std": 0.0, "n": 3}
    verdicts = []
    for std in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0):
        deep = {"mean": 1.2, "std": std, "n": 3}
        verdicts.append(judge("no_worse", shallow, deep)["status"])
    assert verdicts[0] == OBSERVED
    # once the band is too wide, it stays "cannot be judged"; it never becomes a pass again
    first_unjudged = verdicts.index(CANNOT_JUDGE)
    assert all(s == CANNOT_JUDGE for s in verdicts[first_unjudged:])
    for std in (0.0, 1.0, 5.0, 20.0):
        deep = {"mean": 20.0, "std": std, "n": 3}
        status = judge("worse", shallow, deep)["status"]
        assert status in (OBSERVED, CANNOT_JUDGE)
    assert judge("worse", shallow, {"mean": 20.0, "std": 40.0, "n": 3})["status"] == CANNOT_JUDGE


def test_deep_residual_clearly_worse_is_not_observed():
    v = verdict(_study([0.1, 0.1], [60.0, 61.0], [0.1, 0.2], [52.0, 50.0]))
    assert _status(v, "degradation") == OBSERVED
    assert _status(v, "residual_no_worse") == NOT_OBSERVED
    assert _status(v, "shortcuts_fix") == NOT_OBSERVED


def test_a_run_too_short_to_converge_cannot_be_judged():
    # `reslab demo --quick`: the shallow nets are still far from fitting the training set
    v = verdict(_study([45.0, 50.0], [80.0, 85.0], [30.0, 35.0], [60.0, 40.0]))
    for claim in ("degradation", "residual_no_worse", "residual_lower"):
        assert _status(v, claim) == CANNOT_JUDGE
        assert v["claims"][claim]["reason"] == "not_converged"
    assert _status(v, "shortcuts_fix") == CANNOT_JUDGE


def test_one_seed_cannot_be_judged():
    v = verdict(_study([0.2], [40.0], [0.0], [0.1]))
    assert _status(v, "degradation") == CANNOT_JUDGE
    assert v["claims"]["degradation"]["reason"] == "one_seed"


def test_the_rule_applied_is_the_rule_stored():
    study = _study([0.1, 0.2], [3.0, 3.1], [0.0, 0.0], [0.0, 0.0])
    rule = Rule(margin=2.0, confidence=0.99)
    v = verdict(study, rule)
    assert v["rule"]["margin"] == 2.0 and v["rule"]["confidence"] == 0.99
    assert v["rule"]["interval"] == "welch_t"
    assert v["claims"]["degradation"]["rule"]["margin"] == 2.0
    # a 2.9-point gap, se 0.071, df 2: the 99% band (t 9.92) is 2.20 to 3.60, above 2
    assert _status(v, "degradation") == OBSERVED
    assert v["claims"]["degradation"]["t"] == pytest.approx(9.925, abs=1e-3)
    # at 99.9% (t 31.6) the band reaches below 2 points: the confidence is applied
    assert _status(verdict(study, Rule(margin=2.0, confidence=0.999)), "degradation") == (
        CANNOT_JUDGE
    )
    assert _status(verdict(study, Rule(margin=4.0)), "degradation") == NOT_OBSERVED


@pytest.mark.parametrize(
    "p,df,table",
    # Student's t, from a printed table (e.g. NIST/SEMATECH e-Handbook, Table 1.3.6.7.2)
    [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 3, 3.182), (0.975, 4, 2.776),
     (0.975, 5, 2.571), (0.975, 10, 2.228), (0.975, 30, 2.042), (0.95, 2, 2.920),
     (0.995, 4, 4.604)],
)  # fmt: skip
def test_t_quantile_matches_the_table(p, df, table):
    assert t_quantile(p, df) == pytest.approx(table, abs=5e-4)
    assert t_quantile(1 - p, df) == pytest.approx(-table, abs=5e-4)


def test_welch_degrees_of_freedom():
    # equal variances and sizes: the pooled test's n1 + n2 - 2
    assert welch_df(4.0, 3, 4.0, 3) == pytest.approx(4.0)
    # one net without spread: its twin's n - 1 (the band is that net's t-interval)
    assert welch_df(0.0, 3, 9.0, 3) == pytest.approx(2.0)
    # Welch's textbook case: s1^2/n1 = 1, s2^2/n2 = 4, n = 5 and 10 -> 25 / (1/4 + 16/9)
    assert welch_df(5.0, 5, 40.0, 10) == pytest.approx(25 / (0.25 + 16 / 9))
    # never below the smaller sample's n - 1, never above n1 + n2 - 2
    for a, b in ((1.0, 100.0), (3.0, 0.2), (7.0, 7.5)):
        assert 2.0 - 1e-9 <= welch_df(a, 3, b, 5) <= 6.0 + 1e-9


def test_a_gap_that_two_standard_errors_would_pass_cannot_be_judged_with_three_seeds():
    # plain-56 ends at 5 +- 3% over three seeds, plain-20 at 0.1 +- 0.1%: the gap is 4.9 points
    # with a standard error of 1.73. A fixed z = 2 band (1.43 to 8.37) lies above the 1-point
    # margin; Welch's 95% band (df 2.0, t 4.30: -2.56 to 12.36) does not.
    shallow = {"mean": 0.1, "std": 0.1, "n": 3}
    deep = {"mean": 5.0, "std": 3.0, "n": 3}
    out = judge("worse", shallow, deep)
    assert out["gap_se"] == pytest.approx(1.7330, abs=1e-4)
    assert out["gap"] - 2.0 * out["gap_se"] > 1.0  # what z = 2 would have called observed
    assert out["df"] == pytest.approx(2.0, abs=0.01) and out["t"] == pytest.approx(4.30, abs=0.01)
    assert out["status"] == CANNOT_JUDGE and out["reason"] == "spread"
    assert out["low"] == pytest.approx(4.9 - out["t"] * out["gap_se"])
    # the same spread over five seeds a net (df 4.0, t 2.78): the band clears the margin
    more = judge("worse", {**shallow, "n": 5}, {**deep, "n": 5})
    assert more["df"] == pytest.approx(4.0, abs=0.01) and more["status"] == OBSERVED


def test_a_shortened_run_cannot_be_judged_even_if_the_shallow_nets_fit():
    # `reslab demo --quick`: resnet20 fits in 60 iterations, resnet56 has barely started
    v = verdict(_study([28.0, 28.3], [85.0, 88.0], [3.5, 4.4], [76.0, 87.0]), short_run=True)
    assert {c["status"] for c in v["claims"].values()} == {CANNOT_JUDGE}
    assert v["claims"]["residual_no_worse"]["reason"] == "short_run"


def _run(model, kind, depth, seed, curve):
    """A run whose training error is ``curve`` at steps 100, 200, ... (the last is final)."""
    history = [{"step": 100 * (i + 1), "train_error": e} for i, e in enumerate(curve)]
    return {"model": model, "kind": kind, "depth": depth, "seed": seed,
            "iterations": 100 * len(curve), "history": history,
            "final": {"train_error": curve[-1]}}  # fmt: skip


def test_the_plateau_rule_reads_the_seed_mean_over_the_final_quarter():
    flat = [80, 20, 5, 2, 1.0, 0.9, 0.8, 0.8]  # steps 600-800 are the final quarter
    runs = [
        _run("plain20", "plain", 20, 0, flat),
        _run("plain20", "plain", 20, 1, [*flat[:-2], 1.2, 0.4]),  # mean 0.85, 1.0, 0.6
        _run("plain56", "plain", 56, 0, [90, 80, 70, 65, 60, 59, 60, 59]),
        _run("plain56", "plain", 56, 1, [90, 85, 75, 70, 66, 64, 61, 58]),  # mean 61.5 -> 58.5
        _run("resnet56", "residual", 56, 0, flat),
        _run("resnet56", "residual", 56, 1, flat),
    ]
    out = plateau(runs)
    assert out["nets"]["plain20"]["change"] == pytest.approx(0.4)
    assert out["nets"]["plain56"]["change"] == pytest.approx(3.0)  # not flat: > 1 point
    assert out["nets"]["plain56"]["evaluations"] == 3
    assert not out["flat"] and out["converged"] and not out["held"]
    # the deep plain net need not converge; a residual net must, in every seed
    assert not out["nets"]["plain56"]["must_converge"]
    assert out["nets"]["resnet56"]["must_converge"] and out["nets"]["plain20"]["must_converge"]
    runs[-1] = _run("resnet56", "residual", 56, 1, [*flat[:-3], 36.0, 36.0, 36.0])
    out = plateau(runs)
    assert not out["converged"] and out["nets"]["resnet56"]["worst_final"] == 36.0
    # flat at the end (it stopped at 36%), yet not trained: the second part of the rule
    assert out["nets"]["resnet56"]["change"] < 1.0
