"""Tiny but real study runs: the code path of every study, end to end."""

import json

import pytest
import torch

from reslab.errors import ConfigError, ReslabError
from reslab.studies import (
    DegradationConfig,
    GradientsConfig,
    ResponsesConfig,
    Table6Config,
    run_degradation,
    run_gradients,
    run_responses,
    run_table6,
)
from reslab.studies.parallel import default_workers


@pytest.fixture(scope="module")
def degradation_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    cfg = DegradationConfig(
        data="digits",
        depths=[20, 32],
        seeds=[0],
        iterations=12,
        eval_points=3,
        out_dir=str(out),
        name="deg",
        overrides=["train.tensorboard=false", "train.progress=false"],
    )
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # the study's process; each net trains with the study's threads=1
    try:
        return run_degradation(cfg)
    finally:
        torch.set_num_threads(previous)


def test_degradation_writes_complete_results(degradation_dir):
    res = json.loads((degradation_dir / "results.json").read_text())
    assert res["study"] == "degradation"
    assert [r["model"] for r in res["runs"]] == ["plain20", "resnet20", "plain32", "resnet32"]
    for run in res["runs"]:
        assert run["iterations"] == 12
        assert [h["step"] for h in run["history"]] == [4, 8, 12]
        # the final numbers are those of the last evaluation, not of another model
        assert run["final"]["test_error"] == run["history"][-1]["test_error"]
        assert run["final"]["train_error"] == run["history"][-1]["train_error"]
    assert res["dataset"]["test"] == 360 and res["dataset"]["image_shape"] == [1, 8, 8]
    # the setup names the threads each net trained with, not those of the process that started
    # them, and how many nets shared the machine
    assert res["env"]["torch_threads"] == 1
    assert res["env"]["nets_at_once"] == default_workers(4, 1)
    assert {"degradation_observed", "residual_avoids_degradation"} <= set(res["verdict"])
    by = {r["model"]: r for r in res["summary"]}
    # the CIFAR 6n+2 nets on 1x8x8 digits, counted by hand (option A shortcuts have no
    # parameters and no multiply-adds, so plain and residual twins agree)
    for name in ("plain20", "resnet20"):
        assert (by[name]["params"], by[name]["flops"]) == _cifar_cost(n=3, size=8)
    assert (by["resnet32"]["params"], by["resnet32"]["flops"]) == _cifar_cost(n=5, size=8)


def _cifar_cost(n: int, size: int, channels: int = 1, classes: int = 10) -> tuple[int, int]:
    """Parameters and forward FLOPs (2 per multiply-add) of the paper's CIFAR net of depth
    6n+2 on a channels x size x size input: a 3x3 stem to 16 maps, three stages of n basic
    blocks at 16, 32, 64 maps (halving the size at stages 2 and 3), a BN after every conv,
    global pooling and a fully connected layer."""
    params = 9 * channels * 16 + 2 * 16  # stem conv and its BN
    flops = 2 * 9 * channels * 16 * size * size
    width, area = 16, size * size
    for stage_width in (16, 32, 64):
        if stage_width != width:
            area //= 4
        for conv in range(2 * n):
            c_in = width if conv == 0 else stage_width
            params += 9 * c_in * stage_width + 2 * stage_width
            flops += 2 * 9 * c_in * stage_width * area
        width = stage_width
    return params + 64 * classes + classes, flops + 2 * 64 * classes


def test_degradation_rerun_reuses_finished_nets(degradation_dir):
    before = (degradation_dir / "runs" / "plain20_s0" / "final.safetensors").stat().st_mtime_ns
    cfg = DegradationConfig(
        data="digits",
        depths=[20, 32],
        seeds=[0],
        iterations=12,
        eval_points=3,
        out_dir=str(degradation_dir.parent),
        name="deg",
        workers=1,
    )
    earlier = json.loads((degradation_dir / "results.json").read_text())
    run_degradation(cfg)
    after = (degradation_dir / "runs" / "plain20_s0" / "final.safetensors").stat().st_mtime_ns
    assert before == after
    # the report's "wall time of the whole study" and "nets at once" stay those of the run
    # that trained, not of this one, which trained nothing
    res = json.loads((degradation_dir / "results.json").read_text())
    assert res["wall_time_s"] == earlier["wall_time_s"]
    assert res["env"]["nets_at_once"] == earlier["env"]["nets_at_once"] == default_workers(4, 1)
    # and so do the machine and the date the report gives for these results
    assert res["env"] == earlier["env"]


def test_responses_from_degradation_run(degradation_dir, tmp_path):
    out = run_responses(ResponsesConfig(source=str(degradation_dir), out_dir=str(tmp_path)))
    res = json.loads((out / "results.json").read_text())
    by = {m["model"]: m for m in res["models"]}
    assert set(by) == {"plain20", "resnet20", "plain32", "resnet32"}
    assert len(by["resnet20"]["layer_std"]) == 1 + 2 * 9  # stem + two 3x3 layers per block
    assert len(by["plain32"]["layer_std"]) == 1 + 2 * 15
    # the mean |gamma| stored is that of the net's own BN layers, read back from its weights
    from safetensors.torch import load_file

    weights = load_file(degradation_dir / "runs" / "resnet20_s0" / "final.safetensors")
    gammas = [v.abs().mean() for k, v in weights.items() if "bn" in k and k.endswith(".weight")]
    assert by["resnet20"]["bn_gamma"] == pytest.approx(float(sum(gammas) / len(gammas)))


def test_gradients_at_init_after_steps_and_trained(degradation_dir, tmp_path):
    out = run_gradients(
        GradientsConfig(
            data="digits",
            depths=[20, 56],
            probe_batches=1,
            steps=[1, 2],
            trained_from=str(degradation_dir),
            out_dir=str(tmp_path),
        )
    )
    res = json.loads((out / "results.json").read_text())
    assert res["metric"] == "relative_gradient" and res["steps"] == [1, 2]
    by = {m["model"]: m for m in res["models"]}
    # at initialisation the deep plain BN net's stem learns far faster than its last conv
    # (the claim itself, over depths and seeds: tests/studies/test_gradients.py)
    assert by["plain56"]["first_over_last"] > 50 * by["resnet56"]["first_over_last"]
    # one SGD step at lr 0.1 collapses that spread
    assert by["plain56"]["first_over_last_steps"]["1"] < by["plain56"]["first_over_last"] / 100
    assert set(by["plain56"]["steps"]) == {"1", "2"}
    assert by["plain20"]["trained"] is not None  # it was in the degradation run
    assert by["plain56"]["trained"] is None  # it was not
    assert len(by["resnet20"]["layers"]) == len(by["resnet20"]["init"]) == 19  # the convs only


def test_table6_without_cifar_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("RESLAB_DATA", str(tmp_path / "nodata"))
    out = run_table6(Table6Config(models=["resnet20", "resnet56"], out_dir=str(tmp_path)))
    res = json.loads((out / "results.json").read_text())
    assert all(r["status"] == "not run" and r["measured_error"] is None for r in res["rows"])
    assert res["rows"][0]["paper_error"] == 8.75
    hours = [r["estimated_cpu_hours"] for r in res["rows"]]
    assert 0 < hours[0] < hours[1]
    assert "CIFAR-10" in res["note"]


def test_bad_study_configs():
    with pytest.raises(ConfigError, match="6n\\+2"):
        DegradationConfig(depths=[20, 51])
    with pytest.raises(ConfigError):
        DegradationConfig(data="imagenet")
    # 8 and 14 are 6n+2, but no such nets exist: said before anything starts
    with pytest.raises(ConfigError, match="no plain/residual pair of depth 8, 14 .* 20, 32, 44"):
        DegradationConfig(depths=[8, 14, 20])


def test_a_study_whose_nets_fail_at_start_leaves_no_folder(tmp_path):
    """Each net's worker makes its folder for train.log; a net that fails at start (here: no
    CIFAR-10 under root) removes it, and the study removes the folders it made."""
    cfg = DegradationConfig(
        data="cifar10", root=str(tmp_path / "none"), depths=[20, 32], seeds=[0], iterations=2,
        workers=1, out_dir=str(tmp_path / "out"), name="deg",
    )  # fmt: skip
    with pytest.raises(ReslabError, match="does not exist"):
        run_degradation(cfg)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_responses_without_trained_nets_is_clear_and_creates_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ReslabError, match="none does not exist with seed 0 .*pass --source"):
        run_responses(ResponsesConfig(source=str(tmp_path / "none"), out_dir=str(out)))
    empty = tmp_path / "degradation"
    (empty / "runs").mkdir(parents=True)
    with pytest.raises(ReslabError, match="holds no trained nets with seed 0 .*--out "):
        run_responses(ResponsesConfig(source=str(empty), out_dir=str(out)))
    assert not out.exists()  # no empty output folder left behind


def test_responses_reads_the_test_set_from_root(degradation_dir, tmp_path, monkeypatch):
    from reslab.studies import responses

    seen = []
    real = responses.rdata.load_splits

    def spy(name, root=None, **kwargs):
        seen.append(root)
        return real(name, None, **kwargs)  # digits ships with scikit-learn: no files needed

    monkeypatch.setattr(responses.rdata, "load_splits", spy)
    run_responses(
        ResponsesConfig(source=str(degradation_dir), root="/data/here", out_dir=str(tmp_path))
    )
    assert seen == ["/data/here"]
    res = json.loads((tmp_path / "responses" / "results.json").read_text())
    assert all(m["iterations"] == 12 for m in res["models"])


def test_table6_refuses_a_net_without_a_recipe():
    with pytest.raises(ConfigError, match=r"no CIFAR-10 recipe for resnet8 .*resnet20"):
        Table6Config(models=["resnet20", "resnet8"])
