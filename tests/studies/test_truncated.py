"""A CIFAR-10 degradation study shortened with --iterations: the first N iterations of the
paper's schedule as they are, curves from the running minibatch error, and Figure 6's claims
"throughout training" judged at every point of the curve's second half (TRUNCATED_RULE)."""

from __future__ import annotations

import json

import pytest
from data.builders import write_cifar

from reslab.studies.degradation import DegradationConfig, recipe_for, run_degradation, verdict
from reslab.studies.verdict import CANNOT_JUDGE, NOT_OBSERVED, OBSERVED, Rule, judge_curve


def stat(mean, std=0.5, n=3):
    return {"mean": mean, "std": std, "n": n}


def test_a_curve_claim_must_hold_at_every_point():
    shallow = {10: stat(50.0), 20: stat(40.0), 30: stat(30.0)}
    deep = {10: stat(60.0), 20: stat(50.0), 30: stat(40.0)}
    out = judge_curve("worse", shallow, deep, Rule())
    assert out["status"] == OBSERVED and out["steps"] == [10, 20, 30]
    # one point where the band straddles the margin is enough to withhold the verdict ...
    deep[20] = stat(41.5, std=1.0)
    out = judge_curve("worse", shallow, deep, Rule())
    assert out["status"] == CANNOT_JUDGE and out["reason"] == "spread"
    assert out["step"] == 20  # ... and its numbers are the ones shown
    assert out["gap"] == pytest.approx(1.5)
    # one point wholly on the other side is "not observed", whatever the others say
    deep[30] = stat(25.0)  # band -5 +- 1.13
    out = judge_curve("worse", shallow, deep, Rule())
    assert out["status"] == NOT_OBSERVED and out["step"] == 30


def test_the_band_at_each_point_is_welchs_t_not_a_fixed_z():
    # 3 seeds a net with std 2: se = sqrt(2 * 4 / 3) = 1.633, df = 4, t = 2.776 (not 1.96)
    shallow, deep = {5: stat(50.0, std=2.0)}, {5: stat(58.0, std=2.0)}
    out = judge_curve("worse", shallow, deep, Rule())
    assert out["df"] == pytest.approx(4.0) and out["t"] == pytest.approx(2.776, abs=1e-3)
    assert out["status"] == OBSERVED  # 8 - 2.776 * 1.633 = 3.47 > 1
    deep = {5: stat(54.0, std=2.0)}  # 4 - 4.53 < 1 < 4 + 4.53; z = 2 would say 0.73 < 1 too
    assert judge_curve("worse", shallow, deep, Rule())["status"] == CANNOT_JUDGE
    deep = {5: stat(55.0, std=2.0)}  # z = 2: 5 - 3.27 = 1.73 > 1 (observed); t: 0.47 < 1
    assert judge_curve("worse", shallow, deep, Rule())["status"] == CANNOT_JUDGE


def _runs(curves):
    """Runs in results.json's shape from {model: [[train errors per step] per seed]}."""
    kinds = {"plain20": ("plain", 20), "plain56": ("plain", 56)}
    kinds |= {"resnet20": ("residual", 20), "resnet56": ("residual", 56)}
    out = []
    for model, seeds in curves.items():
        for seed, errors in enumerate(seeds):
            history = [{"step": 10 * (i + 1), "train_error": e} for i, e in enumerate(errors)]
            kind, depth = kinds[model]
            out.append(
                {
                    "model": model,
                    "kind": kind,
                    "depth": depth,
                    "seed": seed,
                    "iterations": 10 * len(errors),
                    "history": history,
                    "params": 0,
                    "flops": 0,
                    "wall_time_s": 1.0,
                    "final": {"train_error": errors[-1], "test_error": errors[-1]},
                    "best": {"test_error": errors[-1]},
                }
            )
    return out


def test_a_truncated_study_judges_figure_6_on_the_second_half_of_its_curves():
    from reslab.studies.degradation import summarise

    # the first half (steps 10, 20) says the opposite: it is not looked at
    runs = _runs(
        {
            "plain20": [[90, 90, 70, 60], [90, 89, 71, 61], [90, 91, 69, 59]],
            "plain56": [[90, 20, 85, 80], [90, 21, 86, 81], [90, 22, 84, 79]],
            "resnet20": [[90, 90, 60, 50], [90, 89, 61, 51], [90, 91, 59, 49]],
            "resnet56": [[90, 90, 62, 55], [90, 89, 63, 54], [90, 91, 61, 56]],
        }
    )
    out = verdict(summarise(runs), short_run=True, curves=runs)
    claims = out["claims"]
    assert claims["degradation"]["status"] == OBSERVED
    assert claims["degradation"]["steps"] == [30, 40]
    vs_plain = claims["shortcuts_fix"]["deep_residual_vs_deep_plain"]
    assert vs_plain["status"] == OBSERVED and vs_plain["judged_on"] == "curve"
    # the end-of-training claims cannot be judged from the first iterations
    for key in ("residual_no_worse", "residual_lower"):
        assert claims[key]["status"] == CANNOT_JUDGE and claims[key]["reason"] == "truncated"
    assert claims["shortcuts_fix"]["status"] == CANNOT_JUDGE
    # without curves, the same short run judges nothing
    plain = verdict(summarise(runs), short_run=True)["claims"]
    assert plain["degradation"]["reason"] == "short_run"


def test_the_report_of_a_truncated_study_shows_each_judged_comparison_and_its_own_rule(tmp_path):
    """Both curve claims get a row of their own with their band; the end-of-training claims
    say they were not judged; the rule paragraph describes the curve rule from its start
    (not the end-of-training rule, then a correction)."""
    from reslab.report import build_report
    from reslab.studies.degradation import summarise

    runs = _runs(
        {
            "plain20": [[90, 90, 70, 60], [90, 89, 71, 61], [90, 91, 69, 59]],
            "plain56": [[90, 20, 85, 80], [90, 21, 86, 81], [90, 22, 84, 79]],
            "resnet20": [[90, 90, 60, 50], [90, 89, 61, 51], [90, 91, 59, 49]],
            "resnet56": [[90, 90, 62, 55], [90, 89, 63, 54], [90, 91, 61, 56]],
        }
    )
    summary = summarise(runs)
    results = {
        "study": "degradation",
        "seeds": [0, 1, 2],
        "runs": runs,
        "summary": summary,
        "train_curve": "running",
        "config": {
            "study": {"data": "cifar10", "depths": [20, 56]},
            "recipe": {
                "train": {"iterations": 40, "log_every": 10},
                "schedule": {"name": "constant"},
            },
        },
        "verdict": verdict(summary, short_run=True, curves=runs),
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    md = build_report(tmp_path).markdown.read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in md.splitlines() if " | " in line}
    below = rows[
        "The deeper ResNet trains below the deeper plain net throughout (resnet56 vs plain56)"
    ]
    assert "the weakest of 2 points on the curve" in below and below.endswith("| observed |")
    assert "lower by more than 1.0 at every point" in below
    no_worse = rows["The deeper ResNet trains no worse (resnet56 vs resnet20)"]
    assert "(the last log point; not judged)" in no_worse
    fix = rows["Shortcuts remove the degradation (resnet56 vs resnet20 and vs plain56)"]
    assert "a claim about the end of training" in fix
    rule = next(p for p in md.split("\n\n") if p.startswith("How the verdicts are reached."))
    assert "judged on the training curve" in rule and "final training errors" not in rule


def test_the_recipe_of_a_truncated_cifar_study_is_the_papers_first_iterations():
    recipe = recipe_for(DegradationConfig(data="cifar10", iterations=160))
    assert recipe["schedule"]["name"] == "constant" and recipe["optim"]["lr"] == 0.1
    assert recipe["schedule"]["warmup_iters"] == 0
    assert recipe["train"]["eval_train"] is False
    assert recipe["train"]["eval_every"] == 160 and recipe["train"]["log_every"] == 10
    long = recipe_for(DegradationConfig(data="cifar10", iterations=600))
    assert long["train"]["log_every"] == 10  # 1,280 images a point, however long the run
    assert recipe["data"]["batch_size"] == 128 and recipe["data"]["val_size"] == 5000
    # the whole schedule keeps the paper's drops and measures the whole training set
    full = recipe_for(DegradationConfig(data="cifar10"))
    assert full["schedule"]["name"] == "multistep" and full["train"]["eval_train"] is True


@pytest.mark.slow
def test_a_truncated_cifar_study_end_to_end(tmp_path, capsys):
    from reslab.report import build_report
    from reslab.studies.degradation import print_results

    root = tmp_path / "data"
    write_cifar(root, "cifar10", archive=False, per_class_train=2)
    cfg = DegradationConfig(
        data="cifar10",
        root=str(root),
        seeds=[0, 1],
        iterations=8,
        eval_points=4,
        out_dir=str(tmp_path / "runs"),
        overrides=["data.batch_size=8", "data.val_size=20", "train.tensorboard=false"],
        progress=False,
    )
    study = run_degradation(cfg)
    results = json.loads((study / "results.json").read_text())
    assert results["train_curve"] == "running" and "plateau" not in results
    run = results["runs"][0]
    # a point at every log step (every 2 iterations), the test error at the last one only
    assert [h["step"] for h in run["history"]] == [2, 4, 6, 8]
    assert [h["test_error"] is not None for h in run["history"]] == [False] * 3 + [True]
    metrics = (study / "runs" / f"{run['model']}_s0" / "metrics.jsonl").read_text()
    logged = [json.loads(line) for line in metrics.splitlines()]
    train_lines = [r for r in logged if r.get("kind") == "train"]
    assert [h["train_error"] for h in run["history"]] == [r["train_error"] for r in train_lines]
    assert all(r["lr"] == 0.1 for r in train_lines)
    claims = results["verdict"]["claims"]
    assert claims["degradation"]["judged_on"] == "curve"
    assert claims["degradation"]["steps"] == [6, 8]
    assert claims["residual_no_worse"]["reason"] == "truncated"
    assert results["verdict"]["metric"] == "running_train_error"
    # the terminal (`reslab study` prints this) says which error its table holds, and when
    capsys.readouterr()
    print_results(study)
    printed = capsys.readouterr().out
    assert "running training error (the last minibatches) / test error % at iteration 8" in printed
    assert "  The deeper plain net trains worse (plain56 vs plain20): " in printed
    # the curve comparison "shortcuts fix" rests on is a row of its own, as in the report
    below = (
        "  The deeper ResNet trains below the deeper plain net throughout (resnet56 vs plain56): "
    )
    assert below in printed
    # the gap it prints is the weakest point's, which need not be the table's last iteration
    step = claims["degradation"]["step"]
    assert f"at iteration {step}, the weakest of 2 points" in printed
    paths = build_report(study)
    html = paths.html.read_text()
    # one test evaluation, at the end, is no curve: no test-error-during-training figure
    assert not any("test-error" in p.name for p in paths.figures)
    assert any("train-error" in p.name for p in paths.figures)
    assert "running error of the augmented minibatches" in html
    assert "weakest of 2 points on the curve" in html
    assert "judged on the training curve" in html
    assert "it is about the end of training" in html
