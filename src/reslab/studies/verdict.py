"""Three-valued verdicts on the paper's claims, from the mean and spread over seeds.

A claim compares a shallower and a deeper net on one metric (final training error, percent).
The gap is deep minus shallow, mean over seeds; its standard error is
sqrt(sd_shallow^2 / n_shallow + sd_deep^2 / n_deep); the band is the gap +- Z standard errors.
A claim is "observed" only if the whole band passes the threshold, "not observed" only if the
whole band fails it, and otherwise "cannot be judged". So more spread between seeds never makes
a claim easier to pass or to fail: it widens the band until no verdict can be given. Before the
band is looked at, a claim cannot be judged when

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
    z: float = 2.0
    """Half-width of the band around the gap, in standard errors of the gap."""
    converged_below: float = 10.0
    """The shallower net's final training error (%) must be below this for a run to count as
    trained long enough."""
    min_seeds: int = 2
    """Seeds each net needs for a spread."""


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
    when it cannot be judged, and the numbers it was judged on."""
    out: dict[str, Any] = {
        "direction": direction,
        "status": CANNOT_JUDGE,
        "reason": None,
        "shallow_mean": shallow.get("mean"),
        "deep_mean": deep.get("mean"),
        "gap": None,
        "gap_se": None,
        "low": None,
        "high": None,
        "rule": asdict(rule),
    }
    if shallow.get("mean") is None or deep.get("mean") is None:
        out["reason"] = "missing"
        return out
    gap = deep["mean"] - shallow["mean"]
    out["gap"] = gap
    if short_run:
        out["reason"] = "short_run"
        return out
    if check_convergence and shallow["mean"] > rule.converged_below:
        out["reason"] = "not_converged"
        return out
    n_s, n_d = int(shallow.get("n") or 0), int(deep.get("n") or 0)
    if min(n_s, n_d) < rule.min_seeds:
        out["reason"] = "one_seed"
        return out
    se = math.sqrt((shallow.get("std") or 0.0) ** 2 / n_s + (deep.get("std") or 0.0) ** 2 / n_d)
    low, high = gap - rule.z * se, gap + rule.z * se
    out.update(gap_se=se, low=low, high=high)
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
