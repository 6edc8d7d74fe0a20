"""The demo's verdicts are a property of its recipe and its rule, not of the machine: the
demo's nets trained with 1 and with 2 torch threads per net (whose numbers differ: float sums
run in another order) and with another set of seeds. Which verdicts they are is not asserted:
that is what the demo measures. Slow: three trainings of the demo's four nets x three seeds
(about 15 minutes on an idle 2-core CPU, far more on a busy one).

What is asserted was measured on every 3-seed subset of seeds 0-19 (1,140 sets, which share
seeds: evidence from 20 seeds, not 1,140 trials; demo recipe, one thread, 2026-12-07, 2-core
AMD EPYC; `python benchmarks/demo_seeds.py --seeds 0-19`). Another machine's float rounding
(no AVX-512, another thread count) trains the same seeds along other paths; one run with AVX2
kernels gave seeds 0-2's verdicts.
- no claim is "not observed" in any training: 0 of the 1,140 sets. A 95% band makes such a
  flip unlikely, not impossible; it is what breaks when the nets do (ResNet-56 as bad as
  plain-56 makes "ResNet-56 no worse" "not observed", plain-56 as good as plain-20 makes
  "degradation" "not observed": tests/studies/test_seed_subsets.py);
- "degradation" observed in at least two of the three trainings: it is in 1,121 of the 1,140
  sets, "cannot be judged" in the other 19 (all with seed 16, whose plain-56 ends at 76.83%).

What is not guaranteed, and the test says so (an expected failure, naming every reason) when
it happens:
- identical verdicts in every set: 951 of the 1,140 give seeds 0-2's four verdicts. ResNet-56
  ends at or below 0.14% in 19 of the 20 seeds and at 3.69% in seed 6 (a slow start), which
  makes "ResNet-56 no worse" and "shortcuts fix" "cannot be judged" in the 171 sets with it;
- the recipe's premise (reslab.studies.degradation.PLATEAU_RULE) in each training: it holds in
  731 sets; in the rest plain-56's seed mean moves 1.0 to 3.3 points over the last quarter. It
  missed with AVX2 kernels on seeds 0-2 (1.23 points). The study records it and the report
  says it.
"""

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
    trainings = {"1 thread": one_thread, "2 threads": two_threads, "seeds 3-5": other_seeds}
    assert all(set(s) == set(one_thread) for s in trainings.values())
    for name, statuses in trainings.items():
        assert "not observed" not in statuses.values(), (name, statuses)
    degradation = [s["degradation"] for s in trainings.values()]
    assert degradation.count("observed") >= 2, trainings
    premise = {"1 thread": plateau_1, "2 threads": plateau_2, "seeds 3-5": plateau_s}
    reasons = [
        f"the plateau rule does not hold in {name}: {p['nets']}"
        for name, p in premise.items()
        if not p["held"]
    ]
    if not one_thread == two_threads == other_seeds:
        reasons.append(f"the verdicts differ between trainings: {trainings}")
    if reasons:
        pytest.xfail("; ".join(reasons) + " (see the module's note)")
