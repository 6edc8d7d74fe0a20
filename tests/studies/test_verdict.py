from reslab.studies.common import mean_std
from reslab.studies.degradation import verdict


def _row(model, kind, depth, train_errs):
    return {"model": model, "kind": kind, "depth": depth, "final_train_error": mean_std(train_errs)}


def test_mean_std_sample_std_and_single_value():
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": 2**0.5, "n": 2}
    assert mean_std([5.0]) == {"mean": 5.0, "std": None, "n": 1}
    assert mean_std([None, float("nan")])["n"] == 0


def test_degradation_observed_and_avoided():
    v = verdict(
        [
            _row("plain20", "plain", 20, [2.0, 2.5]),
            _row("plain56", "plain", 56, [30, 34]),
            _row("resnet20", "residual", 20, [1.0, 1.2]),
            _row("resnet56", "residual", 56, [0.5, 0.7]),
        ]
    )
    assert v["degradation_observed"] and v["residual_avoids_degradation"]
    assert v["plain_deep"] == "plain56" and v["plain_gap"] == 32.0 - 2.25
    assert v["residual_gap"] < 0


def test_not_observed_when_the_deep_plain_net_is_no_worse():
    v = verdict(
        [
            _row("plain20", "plain", 20, [2.0]),
            _row("plain56", "plain", 56, [2.4]),
            _row("resnet20", "residual", 20, [1.0]),
            _row("resnet56", "residual", 56, [1.1]),
        ]
    )
    assert not v["degradation_observed"]
    assert not v["residual_avoids_degradation"]


def test_not_observed_when_gap_is_within_the_seed_spread():
    v = verdict(
        [
            _row("plain20", "plain", 20, [2.0, 12.0]),
            _row("plain56", "plain", 56, [6, 16]),
            _row("resnet20", "residual", 20, [1.0, 1.0]),
            _row("resnet56", "residual", 56, [1.0, 1.0]),
        ]
    )
    assert v["plain_gap"] == 4.0
    assert not v["degradation_observed"]  # 4 points < 2 x std (7.07)


def test_residual_does_not_avoid_when_the_deep_residual_net_also_degrades():
    v = verdict(
        [
            _row("plain20", "plain", 20, [0.1]),
            _row("plain56", "plain", 56, [60.0]),
            _row("resnet20", "residual", 20, [0.1]),
            _row("resnet56", "residual", 56, [52.0]),
        ]
    )
    assert v["degradation_observed"]
    assert not v["residual_avoids_degradation"]
