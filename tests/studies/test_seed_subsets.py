"""What a study with fewer seeds would have said, seed set by seed set
(reslab.studies.degradation.seed_subsets, behind benchmarks/demo_seeds.py)."""

from __future__ import annotations

import pytest

from reslab.errors import ConfigError
from reslab.studies.degradation import seed_subsets

# final training error per net and seed: seed 3's ResNet-56 starts slowly and ends at 4%
FINALS = {
    "plain20": [0.1, 0.2, 0.1, 0.2],
    "plain56": [40.0, 44.0, 42.0, 41.0],
    "resnet20": [0.0, 0.1, 0.0, 0.1],
    "resnet56": [0.1, 0.0, 0.1, 4.0],
}
KIND = {"plain20": ("plain", 20), "plain56": ("plain", 56)}
KIND |= {"resnet20": ("residual", 20), "resnet56": ("residual", 56)}


def _runs(finals, moving=()):
    """Runs in results.json's shape, flat over the final quarter except the nets in
    ``moving`` (which fall 3 points over it)."""
    runs = []
    for model, errors in finals.items():
        kind, depth = KIND[model]
        for seed, final in enumerate(errors):
            drop = 3.0 if model in moving else 0.0
            history = [
                {"step": 250, "train_error": final + 20},
                {"step": 400, "train_error": final + drop},
                {"step": 450, "train_error": final + drop / 2},
                {"step": 500, "train_error": final},
            ]
            runs.append(
                {
                    "model": model,
                    "kind": kind,
                    "depth": depth,
                    "seed": seed,
                    "iterations": 500,
                    "history": history,
                    "params": 0,
                    "flops": 0,
                    "wall_time_s": 1.0,
                    "final": {"train_error": final, "test_error": final},
                    "best": {"test_error": final},
                }
            )
    return runs


def test_every_subset_is_judged_and_one_slow_seed_shows_in_the_sets_that_hold_it():
    out = seed_subsets(_runs(FINALS), size=3)
    assert out["seeds"] == [0, 1, 2, 3] and out["sets"] == 4
    clean = ("observed", "observed", "cannot be judged", "observed")
    slow = ("observed", "cannot be judged", "cannot be judged", "cannot be judged")
    # C(3, 3) = 1 set without seed 3; the C(3, 2) = 3 sets with it cannot judge "no worse"
    assert out["verdicts"] == {slow: 3, clean: 1}
    assert out["not_observed"] == 0 and out["plateau_held"] == 4


def test_a_net_still_moving_fails_the_plateau_rule_in_every_subset():
    out = seed_subsets(_runs(FINALS, moving=("plain56",)), size=2)
    assert out["sets"] == 6 and out["plateau_held"] == 0


def test_a_shortcut_that_does_not_help_is_not_observed_in_every_subset():
    broken = {**FINALS, "resnet56": [40.0, 43.0, 41.0, 42.0]}  # ResNet-56 as bad as plain-56
    out = seed_subsets(_runs(broken), size=3)
    assert out["not_observed"] == out["sets"] == 4


def test_a_plain_net_that_does_not_degrade_is_not_observed_in_every_subset():
    fine = {**FINALS, "plain56": [0.2, 0.1, 0.2, 0.1]}  # plain-56 as good as plain-20
    out = seed_subsets(_runs(fine), size=3)
    assert out["sets"] == 4
    assert all(statuses[0] == "not observed" for statuses in out["verdicts"])


def test_more_seeds_than_there_are_is_one_clear_error():
    with pytest.raises(ConfigError, match="4 seeds have no subset of 5"):
        seed_subsets(_runs(FINALS), size=5)
