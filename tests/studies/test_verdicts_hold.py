"""The demo's verdicts are a property of its recipe and its rule, not of the machine: the
demo's nets trained with 1 and with 2 torch threads per net (whose numbers differ: float sums
run in another order) and with another set of seeds. Which verdicts they are is not asserted:
that is what the demo measures. Slow: three trainings of the demo's four nets x three seeds
(about 15 minutes on an idle 2-core CPU, far more on a busy one).

What must hold on any machine:
- the recipe's premise (reslab.studies.degradation.PLATEAU_RULE) in each training;
- no contradiction: a claim "observed" in one training is never "not observed" in another.
  The three-valued rule promises this much: noise between seeds widens the band into "cannot
  be judged", it does not flip the verdict;
- the same verdict on "degradation", the demo's headline, in all three.

That every verdict is identical in every seed set is not guaranteed, and the test says so
(an expected failure) when it is not: at 500 iterations, seeds 0-9 with one thread, ResNet-56
ends at or below 0.14% training error in 9 seeds and at 3.69% in seed 6 (a slow start), so the
seed set 6 7 8 gives "cannot be judged" for "ResNet-56 no worse" and "shortcuts fix" where the
sets 0 1 2 and 3 4 5 give "observed" (measured 2026-12-07, 2-core AMD EPYC)."""

import json

import pytest

from reslab.studies import DegradationConfig, run_degradation
from reslab.studies.demo import DEMO_SEEDS, DemoConfig, demo_degradation

pytestmark = pytest.mark.slow

OTHER_SEEDS = (3, 4, 5)


def _run(tmp_path, name, seeds, threads):
    cfg = demo_degradation(DemoConfig(seeds=seeds, threads=threads), tmp_path)
    cfg = DegradationConfig(
        **{**cfg.__dict__, "name": name, "workers": 0 if threads == 1 else 1, "progress": False}
    )
    results = json.loads((run_degradation(cfg) / "results.json").read_text())
    finals = {
        (r["model"], r["seed"]): (r["final"]["train_error"], r["final"]["test_error"])
        for r in results["runs"]
    }
    statuses = {k: c["status"] for k, c in results["verdict"]["claims"].items()}
    return statuses, finals, results["plateau"]


@pytest.mark.timeout(5400)
def test_the_demos_verdicts_do_not_depend_on_threads_or_seeds(tmp_path):
    one_thread, finals_1, plateau_1 = _run(tmp_path, "t1", DEMO_SEEDS, threads=1)
    two_threads, finals_2, plateau_2 = _run(tmp_path, "t2", DEMO_SEEDS, threads=2)
    other_seeds, _, plateau_s = _run(tmp_path, "s345", OTHER_SEEDS, threads=1)
    # the numbers differ between thread counts, so agreeing verdicts are not a copy
    assert finals_1 != finals_2
    # the recipe's premise holds in each: every net ends on its plateau, the nets the paper
    # trains without trouble converge in every seed
    for plateau in (plateau_1, plateau_2, plateau_s):
        assert plateau["held"], plateau["nets"]
    trainings = {"1 thread": one_thread, "2 threads": two_threads, "seeds 3-5": other_seeds}
    assert all(set(s) == set(one_thread) for s in trainings.values())
    for claim in one_thread:
        seen = {name: s[claim] for name, s in trainings.items()}
        assert not {"observed", "not observed"} <= set(seen.values()), (claim, seen)
    assert len({s["degradation"] for s in trainings.values()}) == 1, trainings
    if not one_thread == two_threads == other_seeds:
        pytest.xfail(f"the verdicts differ between trainings (see the module's note): {trainings}")
