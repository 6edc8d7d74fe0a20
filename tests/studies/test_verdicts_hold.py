"""The demo's conclusions hold on every machine: the same verdicts with 1 and 2 torch threads
(whose numbers differ) and with another set of seeds. Slow: three trainings of the demo's four
nets x three seeds (14 minutes on an idle 2-core CPU)."""

import json

import pytest

from reslab.studies import DegradationConfig, run_degradation
from reslab.studies.demo import DEMO_SEEDS, DemoConfig, demo_degradation

pytestmark = pytest.mark.slow


def _run(tmp_path, name, seeds, threads):
    cfg = demo_degradation(DemoConfig(seeds=seeds, threads=threads), tmp_path)
    cfg = DegradationConfig(
        **{**cfg.__dict__, "name": name, "workers": 0 if threads == 1 else 1, "progress": False}
    )
    results = json.loads((run_degradation(cfg) / "results.json").read_text())
    claims = results["verdict"]["claims"]
    finals = {
        (r["model"], r["seed"]): (r["final"]["train_error"], r["final"]["test_error"])
        for r in results["runs"]
    }
    return {k: c["status"] for k, c in claims.items()}, finals


@pytest.mark.timeout(3600)
@pytest.mark.xfail(
    strict=False,
    reason="does not hold on every machine (measured 2026-12-07, 2-core AMD EPYC with AVX-512): "
    "with 2 threads or seeds 3 4 5, one ResNet-56 seed ends above 1% training error and "
    "'ResNet-56 no worse' and 'shortcuts fix' become 'cannot be judged'; the demo's recipe "
    "must be fixed from a rule stated in advance before this is a guarantee again",
)
def test_verdicts_are_the_same_across_threads_and_seeds(tmp_path):
    one_thread, finals_1 = _run(tmp_path, "t1", DEMO_SEEDS, threads=1)
    two_threads, finals_2 = _run(tmp_path, "t2", DEMO_SEEDS, threads=2)
    other_seeds, _ = _run(tmp_path, "s345", (3, 4, 5), threads=1)
    # the numbers differ between thread counts (float sums in another order) ...
    assert finals_1 != finals_2
    # ... the verdicts do not, and neither do they with other seeds
    assert one_thread == two_threads == other_seeds
    # and they are the ones the demo reports on digits
    assert one_thread["degradation"] == "observed"
    assert one_thread["residual_no_worse"] == "observed"
    assert one_thread["residual_lower"] == "cannot be judged"  # both nets near 0%: no room
    assert one_thread["shortcuts_fix"] == "observed"
