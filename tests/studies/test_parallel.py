"""Nets trained side by side in the study's pool follow the trajectory they follow alone, and
a study reuses a run only if it trained the same recipe."""

import json

import pytest
import torch
from safetensors.torch import load_file

from reslab.engine import train
from reslab.errors import ConfigError
from reslab.studies import DegradationConfig
from reslab.studies.common import plan_run
from reslab.studies.degradation import recipe_for
from reslab.studies.parallel import Job, train_all

NUMBERS = ("step", "train_loss", "train_error", "test_error", "lr")


def _config(model, seed, threads=1):
    recipe = recipe_for(
        DegradationConfig(
            depths=[20, 32], iterations=8, eval_points=2, threads=threads, progress=False
        )
    )
    return {
        **recipe,
        "model": {**recipe["model"], "name": model},
        "train": {**recipe["train"], "seed": seed, "tensorboard": False, "progress": False},
    }


def _trajectory(run_dir):
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: r.get(k) for k in NUMBERS} for r in lines]


@pytest.mark.timeout(600)
def test_a_net_in_the_pool_trains_as_it_does_alone(tmp_path):
    alone = tmp_path / "alone"
    threads = torch.get_num_threads()
    try:
        train({**_config("resnet20", 3), "name": "resnet20_s3", "out_dir": str(alone)})
    finally:
        torch.set_num_threads(threads)
    pooled = tmp_path / "pooled"
    jobs = [
        Job(_config(m, 3), pooled / f"{m}_s3", f"{m} s3", cost=d)
        for m, d in (("plain32", 32), ("resnet20", 20))
    ]
    assert train_all(jobs, workers=2, progress=False) == [True, True]
    a, b = alone / "resnet20_s3", pooled / "resnet20_s3"
    assert _trajectory(a) == _trajectory(b)
    wa, wb = load_file(a / "final.safetensors"), load_file(b / "final.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the neighbour in the pool trained too, and wrote its log, not the terminal's
    assert "done: test error" in (pooled / "plain32_s3" / "train.log").read_text()


@pytest.mark.timeout(600)
def test_a_finished_run_is_reused_and_a_different_recipe_refused(tmp_path, capsys):
    run_dir = tmp_path / "resnet20_s0"
    job = Job(_config("resnet20", 0), run_dir, "resnet20 s0", cost=20)
    assert plan_run(job.config, run_dir) == "new"
    assert train_all([job], workers=1, progress=False) == [True]
    capsys.readouterr()
    before = (run_dir / "final.safetensors").stat().st_mtime_ns

    # only where the run lives and how it is shown changed: the same run, reused
    shown = {**job.config, "train": {**job.config["train"], "progress": True}}
    assert train_all([Job(shown, run_dir, "resnet20 s0")], workers=1) == [True]
    assert "reusing resnet20 s0" in capsys.readouterr().out
    assert (run_dir / "final.safetensors").stat().st_mtime_ns == before

    other = {**job.config, "optim": {**job.config["optim"], "lr": 0.05}}
    with pytest.raises(ConfigError, match=r"optim\.lr.*--out") as e:
        train_all([Job(other, run_dir, "resnet20 s0")], workers=1)
    assert "\n" not in str(e.value)
    assert (run_dir / "final.safetensors").stat().st_mtime_ns == before

    threads = {**job.config, "train": {**job.config["train"], "threads": 2}}
    with pytest.raises(ConfigError, match=r"train\.threads"):
        plan_run(threads, run_dir)


def test_an_interrupted_run_of_the_same_recipe_is_resumed(tmp_path):
    run_dir = tmp_path / "plain20_s0"
    run_dir.mkdir()
    config = _config("plain20", 0)
    from reslab.engine.config import dump_config, load_config

    (run_dir / "config.yaml").write_text(
        dump_config(load_config({**config, "name": run_dir.name, "out_dir": str(tmp_path)}))
    )
    assert plan_run(config, run_dir) == "resume"


def test_the_progress_line_says_which_nets_are_past_training_and_evaluating(tmp_path, capsys):
    """After its last iteration a net scores its final test (and validation) set, minutes on
    CIFAR-10 for a 56-layer net on one core: the line names it "evaluating" until it is done,
    rather than dropping it as if nothing were running."""
    from reslab.studies.parallel import _Overall

    jobs = [Job(_config("resnet20", k), tmp_path / f"r{k}", f"resnet20 s{k}") for k in (0, 1)]
    line = _Overall(jobs, enabled=True, log_every_s=0.0)
    for job, step in zip(jobs, (3, 8)):  # written after the line started: this pool's nets
        job.run_dir.mkdir()
        (job.run_dir / "metrics.jsonl").write_text(json.dumps({"kind": "train", "step": step}))
    line.update({0, 1}, set(), index=[0, 1])
    text = capsys.readouterr().out
    assert "0 done; now: resnet20 s0 3/8, resnet20 s1 evaluating" in text, text  # not done yet
    line.update({0}, {1}, index=[0, 1])  # the second net finished: no longer named
    text = capsys.readouterr().out
    assert "1 done; now: resnet20 s0 3/8\n" in text, text
