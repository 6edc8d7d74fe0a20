"""Three-valued verdicts on the paper's claims, from the mean and spread over seeds.

A claim compares a shallower and a deeper net on one metric (final training error, percent).
The gap is deep minus shallow, mean over seeds; its standard error is
sqrt(s_shallow^2 / n_shallow + s_deep^2 / n_deep); the band is Welch's two-sided 95% interval,
the gap +- t * standard error, with t the 97.5% quantile of Student's t at the
Welch-Satterthwaite degrees of freedom (2 to 4 for 3 seeds a net, so t is 2.8 to 4.3, not the
1.96 of a known variance). A claim is "observed" only if the whole band passes the threshold,
"not observed" only if the whole band fails it, and otherwise "cannot be judged". So more
spread between seeds never makes a claim easier to pass or to fail: it widens the band until no
verdict can be given. Before the band is looked at, a claim cannot be judged when

- the runs were shortened below the study's recipe (``--iterations``, ``reslab demo --quick``):
  a deep net needs the whole schedule, so a short run says nothing about it,
- the shallower net did not converge (its final training error is above ``converged_below``),
- a net has fewer than MIN_SEEDS seeds (no spread, so no band),
- or, for "the deeper net reaches a lower error", the shallower net is already within MARGIN of
  0% (no room below it to show).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["observed", "not observed", "cannot be judged"]
Direction = Literal["worse", "no_worse", "lower"]
"""What the claim says about the deeper net: higher error than the shallower one by more than
the margin; not higher by more than the margin; lower by more than the margin."""

OBSERVED: Status = "observed"
NOT_OBSERVED: Status = "not observed"
CANNOT_JUDGE: Status = "cannot be judged"


@dataclass(frozen=True)
class Rule:
    """The thresholds a verdict applies; stored with the verdict and shown in the report."""

    margin: float = 1.0
    """Percentage points: differences up to this are no difference."""
    interval: Literal["welch_t"] = "welch_t"
    """The band around the gap: Welch's t-interval (unequal variances, Welch-Satterthwaite
    degrees of freedom)."""
    confidence: float = 0.95
    """Two-sided coverage of the band."""
    converged_below: float = 10.0
    """The shallower net's final training error (%) must be below this for a run to count as
    trained long enough."""
    min_seeds: int = 2
    """Seeds each net needs for a spread."""

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.min_seeds < 2:
            raise ValueError(f"a t-interval needs at least 2 seeds a net, got {self.min_seeds}")


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` (possibly fractional) degrees of freedom.

    scipy ships with scikit-learn, which reslab depends on."""
    from scipy import stats

    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    return float(stats.t.ppf(p, df))


def welch_df(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom of the difference of two means with sample
    variances ``var_a`` and ``var_b`` over ``n_a`` and ``n_b`` values. Where both variances
    are 0 the formula is 0/0; the band then has no width, and n_a + n_b - 2 is returned."""
    a, b = var_a / n_a, var_b / n_b
    denominator = a * a / (n_a - 1) + b * b / (n_b - 1)
    if denominator == 0.0:
        return float(n_a + n_b - 2)
    return (a + b) ** 2 / denominator


def welch_band(
    shallow: Mapping[str, Any], deep: Mapping[str, Any], confidence: float = 0.95
) -> dict[str, float]:
    """Welch's two-sided interval for mean(deep) - mean(shallow): the gap, its standard error,
    the degrees of freedom, the t multiplier and the band's ends."""
    n_s, n_d = int(shallow["n"]), int(deep["n"])
    var_s, var_d = (shallow.get("std") or 0.0) ** 2, (deep.get("std") or 0.0) ** 2
    gap = deep["mean"] - shallow["mean"]
    se = math.sqrt(var_s / n_s + var_d / n_d)
    df = welch_df(var_s, n_s, var_d, n_d)
    t = t_quantile(0.5 + confidence / 2, df)
    return {"gap": gap, "gap_se": se, "df": df, "t": t, "low": gap - t * se, "high": gap + t * se}


def judge(
    direction: Direction,
    shallow: Mapping[str, Any],
    deep: Mapping[str, Any],
    rule: Rule = Rule(),
    *,
    check_convergence: bool = True,
    short_run: bool = False,
) -> dict[str, Any]:
    """The verdict on one claim about ``deep`` against ``shallow``: each a {"mean", "std", "n"}
    of the metric over seeds (reslab.studies.common.mean_std). Returns the status, the reason
    when it cannot be judged, and the numbers it was judged on (the band's df and t too)."""
    out: dict[str, Any] = {
        "direction": direction,
        "status": CANNOT_JUDGE,
        "reason": None,
        "shallow_mean": shallow.get("mean"),
        "deep_mean": deep.get("mean"),
        "gap": None,
        "gap_se": None,
        "df": None,
        "t": None,
        "low": None,
        "high": None,
        "rule": asdict(rule),
    }
    if shallow.get("mean") is None or deep.get("mean") is None:
        out["reason"] = "missing"
        return out
    out["gap"] = deep["mean"] - shallow["mean"]
    if short_run:
        out["reason"] = "short_run"
        return out
    if check_convergence and shallow["mean"] > rule.converged_below:
        out["reason"] = "not_converged"
        return out
    if min(int(shallow.get("n") or 0), int(deep.get("n") or 0)) < rule.min_seeds:
        out["reason"] = "one_seed"
        return out
    band = welch_band(shallow, deep, rule.confidence)
    out.update(band)
    low, high = band["low"], band["high"]
    if direction == "lower" and shallow["mean"] <= rule.margin:
        out["reason"] = "floor"
        return out
    if direction == "worse":
        passes, fails = low > rule.margin, high <= rule.margin
    elif direction == "no_worse":
        passes, fails = high <= rule.margin, low > rule.margin
    else:  # lower: the improvement -gap lies in [-high, -low]
        passes, fails = -high > rule.margin, -low <= rule.margin
    if passes:
        out["status"] = OBSERVED
    elif fails:
        out["status"] = NOT_OBSERVED
    else:
        out["reason"] = "spread"
    return out


def both(first: Mapping[str, Any], second: Mapping[str, Any]) -> Status:
    """A claim that needs two others: observed if both are, not observed if either is not."""
    statuses = {first["status"], second["status"]}
    if statuses == {OBSERVED}:
        return OBSERVED
    if NOT_OBSERVED in statuses:
        return NOT_OBSERVED
    return CANNOT_JUDGE


def judge_curve(
    direction: Direction,
    shallow: Mapping[int, Any],
    deep: Mapping[int, Any],
    rule: Rule = Rule(),
) -> dict[str, Any]:
    """A claim "throughout training" judged on curves: ``shallow`` and ``deep`` map each step
    to a {"mean", "std", "n"} over seeds (the steps to judge, chosen by the caller). Each step
    is judged as ``judge`` judges a final number (without the convergence and floor checks,
    which are about the end of training); the claim is observed only if it is observed at every
    step, not observed if it is not observed at some step, and otherwise cannot be judged. Each
    step's band has 95% coverage, and requiring all of them (an intersection-union test) keeps
    the claim's error rate at most 5% without a correction for the number of steps. The numbers
    returned are those of the weakest step (the band closest to failing), with ``steps`` the
    steps judged."""
    steps = sorted(set(shallow) & set(deep))
    if not steps:
        return {**judge(direction, {}, {}, rule), "steps": [], "judged_on": "curve"}
    per_step = {
        s: judge(direction, shallow[s], deep[s], rule, check_convergence=False) for s in steps
    }
    statuses = [j["status"] for j in per_step.values()]

    def slack(j: Mapping[str, Any]) -> float:
        # how far the band is inside the claimed side of the threshold (negative: outside)
        if j.get("low") is None:
            return -math.inf
        if direction == "worse":
            return j["low"] - rule.margin
        if direction == "no_worse":
            return rule.margin - j["high"]
        return -j["high"] - rule.margin

    weakest = min(steps, key=lambda s: slack(per_step[s]))
    out = {**per_step[weakest], "step": weakest, "steps": steps, "judged_on": "curve"}
    if all(s == OBSERVED for s in statuses):
        out.update(status=OBSERVED, reason=None)
    elif NOT_OBSERVED in statuses:
        first = next(s for s in steps if per_step[s]["status"] == NOT_OBSERVED)
        out = {**per_step[first], "step": first, "steps": steps, "judged_on": "curve"}
        out.update(status=NOT_OBSERVED, reason=None)
    else:
        out.update(status=CANNOT_JUDGE, reason=out.get("reason") or "spread")
    return out
