"""`reslab bench`: its output schema, its reference, its suites. No timing is asserted."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reslab.bench import reference
from reslab.bench.spec import Case, Row, Target, gpu_suite, suite
from reslab.errors import ConfigError
from reslab.models import count_flops, count_params, create

ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {
    "model": str,
    "mode": str,
    "batch": int,
    "device": str,
    "dtype": str,
    "img_s": float,
    "ref_img_s": float,
    "ratio": float,
    "peak_mem": int,
    "ref_peak_mem": int,
    "utilisation": float,
    "ref_utilisation": float,
    "ceiling_gflops": float,
    "flops_per_image": int,
}


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _check_rows(rows: list[dict]) -> None:
    assert rows
    for row in rows:
        for key, kind in ROW_KEYS.items():
            assert isinstance(row[key], kind), (key, row[key])
        for key in ("img_s", "ref_img_s", "ratio", "utilisation", "ceiling_gflops", "peak_mem"):
            assert _positive_finite(row[key]), (row["mode"], key, row[key])
        assert row["env"]["torch"] == torch.__version__


def test_smoke_suite_json_schema():
    out = subprocess.run(
        [sys.executable, "-m", "reslab", "bench", "--suite", "smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads(out.stdout)
    _check_rows(rows)
    assert [r["mode"] for r in rows] == ["train", "eval", "e2e", "ckpt"]
    e2e = rows[2]
    assert _positive_finite(e2e["bare_img_s"]) and _positive_finite(e2e["e2e_vs_bare"])
    assert "DataLoader" in e2e["reference"]
    assert "without activation checkpointing" in rows[3]["reference"]
    assert rows[0]["reference"].endswith("(bench.reference.CifarResNet)")


@pytest.mark.slow
def test_gpu_script_dry_run(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "RESLAB_BENCH_OUT": str(tmp_path)}
    out = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (saved,) = tmp_path.glob("gpu-*.json")
    rows = json.loads(saved.read_text())
    _check_rows(rows)
    assert [r["mode"] for r in rows] == ["schedule", "e2e", "train", "train"]
    assert _positive_finite(rows[0]["wall_s"]) and _positive_finite(rows[0]["ref_wall_s"])


@pytest.mark.parametrize("name", ["resnet20", "resnet110", "resnet18", "resnet50"])
def test_reference_is_the_same_network(name):
    """Same parameters and forward FLOPs as reslab's model, or the ratio compares apples with
    pears (the reference must be written independently, not be reslab's own class)."""
    with torch.device("meta"):
        ref, what = reference.reference_model(name)
        ours = create(name)
    assert what.startswith("bench.reference.")
    assert count_params(ref) == count_params(ours)
    size = (3, *ours.spec.input_size)
    assert count_flops(ref, size) == count_flops(ours, size)


def test_reference_trains_and_its_pipeline_yields_normalised_batches():
    model, _ = reference.reference_model("resnet20")
    step = reference.TrainStep(model)
    before = model.conv1.weight.detach().clone()
    step(torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))
    assert not torch.equal(before, model.conv1.weight)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    loader = reference.torchvision_loader(
        images, torch.arange(8), mean=(0.5,) * 3, std=(0.25,) * 3, batch_size=4, workers=0,
        pin_memory=False,
    )  # fmt: skip
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (4,)
    assert x.min() >= -2.0 - 1e-6 and x.max() <= 2.0 + 1e-6  # (x/255 - 0.5) / 0.25


def test_other_models_fall_back_to_reslab_default():
    with torch.device("meta"):
        _, what = reference.reference_model("preact_resnet110")
    assert what == "reslab model, default configuration"


ONLY_IN = {"e2e_vs_bare": ("e2e", "trainer"), "wall_s": ("schedule",)}
"""Numbers only some modes' rows fill: e2e_vs_bare where reslab's bare step is timed too,
wall_s where a whole schedule is projected."""


@pytest.mark.parametrize("name", ["cpu", "gpu", "smoke"])
def test_every_target_is_checked_against_a_number_its_row_reports(name):
    """A target on a number its row never fills is silently "missed" on every run (met_by(None)
    is False): each target names a field of Row, and e2e_vs_bare only where a bare step is
    timed, wall_s only for a schedule. And a row is checked against each of its targets."""
    fields = {f.name for f in dataclasses.fields(Row)}
    for case in suite(name):
        for target in case.targets:
            assert target.metric in fields, (case.model, case.mode, target.metric)
            assert case.mode in ONLY_IN.get(target.metric, (case.mode,)), (case, target)
        row = Row(**{f: 0 for f in ("batch", "size", "peak_mem", "ref_peak_mem", "step_mem",
                                    "ref_step_mem", "flops_per_image", "steps_per_window",
                                    "ref_steps_per_window")},  # fmt: skip
                  model=case.model, mode=case.mode, device="cpu", dtype="fp32",
                  channels_last=True, compile=False, img_s=1.0, ref_img_s=1.0, ratio=1.0,
                  peak_mem_kind="rss", utilisation=0.5, ref_utilisation=0.5, gflops=1.0,
                  ceiling_gflops=2.0, reference="r")  # fmt: skip
        for metric, modes in ONLY_IN.items():
            setattr(row, metric, 1.0 if case.mode in modes else None)
        row.check_targets(case.targets)
        assert [t["metric"] for t in row.targets] == [t.metric for t in case.targets]
        assert all(t["value"] is not None for t in row.targets)


def test_gpu_suite_dry_run_is_the_same_cases_on_cpu():
    real, dry = gpu_suite(), gpu_suite(dry_run=True)
    assert [(c.model, c.mode) for c in real] == [(c.model, c.mode) for c in dry]
    assert real[0].iterations == 64_000 and real[0].batch == 128
    assert all(c.device == "cuda" for c in real) and all(c.device == "cpu" for c in dry)


def test_case_validation():
    with pytest.raises(ConfigError, match="mode"):
        Case("resnet20", "fly")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cuda_graphs"):
        Case("resnet20", "train", cuda_graphs=True)
    with pytest.raises(ConfigError, match="iterations"):
        Case("resnet20", "schedule")
    case = Case("resnet20", targets=(Target("ratio", 1.25),))
    assert Case.from_dict(case.as_dict()) == case


def test_targets_are_checked_against_the_row():
    row = Row(**{f: 0 for f in ("batch", "size", "peak_mem", "ref_peak_mem", "step_mem",
                                "ref_step_mem", "flops_per_image", "steps_per_window",
                                "ref_steps_per_window")},  # fmt: skip
              model="m", mode="train", device="cpu", dtype="fp32", channels_last=True,
              compile=False, img_s=1.3, ref_img_s=1.0, ratio=1.3, peak_mem_kind="rss",
              utilisation=0.6, ref_utilisation=0.5, gflops=1.0, ceiling_gflops=2.0,
              reference="r")  # fmt: skip
    row.check_targets((Target("ratio", 1.25), Target("utilisation", 0.7)))
    assert [t["met"] for t in row.targets] == [True, False]
    row.check_targets((Target("ratio", 1.25),), verified=False)  # figures from busy rounds
    assert row.targets[0]["met"] is None and row.targets[0]["value"] == 1.3


def test_bench_cli_parses_without_torch():
    code = (
        "import sys, reslab.cli as c; p = c.build_parser(); "
        "a = p.parse_args(['bench', '--suite', 'smoke', '--json']); "
        "print(a.suite, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["smoke", "False"], out.stderr


def test_bench_cli_builds_cases_from_options():
    from reslab.bench.cli import build_cases
    from reslab.cli import build_parser

    args = build_parser().parse_args(
        ["bench", "--model", "resnet20", "--device", "cpu", "--mode", "train", "e2e",
         "--windows", "3", "--no-channels-last"]
    )  # fmt: skip
    cases = build_cases(args)
    assert [(c.mode, c.size, c.windows, c.channels_last) for c in cases] == [
        ("train", 32, 3, False),
        ("e2e", 32, 3, False),
    ]
    args = build_parser().parse_args(
        ["bench", "--model", "resnet1202", "--device", "cpu", "--batch", "8",
         "--activation-checkpointing"]
    )  # fmt: skip
    (case,) = build_cases(args)
    assert (case.mode, case.batch, case.precision) == ("ckpt", 8, "fp32")


def _bench_json(*args: str, timeout: int = 300) -> list | dict:
    out = subprocess.run(
        [sys.executable, "-m", "reslab", "bench", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


@pytest.mark.slow  # a real `reslab train` subprocess beside the bench: ~40 s
def test_trainer_row_runs_reslab_train_beside_the_reference_and_bare_step():
    (row,) = _bench_json(
        "--trainer", "cifar10_resnet20", "--batch", "8", "--iterations", "2", "--steps", "1",
        "--windows", "1", "--warmup", "1",
    )  # fmt: skip
    assert row["mode"] == "trainer" and row["model"] == "resnet20" and row["batch"] == 8
    for key in ("img_s", "ref_img_s", "ratio", "bare_img_s", "e2e_vs_bare", "peak_mem"):
        assert _positive_finite(row[key]), (key, row[key])
    assert row["peak_mem_kind"] == "trainer_peak_rss"
    assert row["reference"].endswith("(bench.reference.CifarResNet)")
    assert any("`reslab train cifar10_resnet20`" in note for note in row["notes"])


def test_trainer_command_is_the_recipe_at_its_defaults(tmp_path):
    from reslab.bench.trainer import trainer_command

    case = suite("cpu")[-1]
    assert (case.mode, case.recipe, case.model, case.batch) == (
        "trainer", "cifar10_resnet56", "resnet56", 128,
    )  # fmt: skip
    cmd = trainer_command(case, tmp_path)
    assert cmd[3:5] == ["train", "cifar10_resnet56"]
    overrides = dict(arg.split("=", 1) for arg in cmd[5:])
    # only the data, the run length and what keeps evaluation out of the timed windows
    assert set(overrides) == {
        "data.name", "data.batch_size", "train.device", "train.iterations", "train.log_every",
        "train.eval_every", "train.checkpoint_every", "train.progress", "train.tensorboard",
        "name", "out_dir",
    }  # fmt: skip
    assert overrides["data.name"] == "synthetic" and overrides["train.eval_every"] == "30"


def test_trainer_case_validation():
    from reslab.bench.spec import trainer_case

    with pytest.raises(ConfigError, match="recipe"):
        Case("resnet20", "trainer", iterations=10, steps=2)
    with pytest.raises(ConfigError, match="as it is"):
        trainer_case("cifar10_resnet20", "resnet20", 128, channels_last=False)
    with pytest.raises(ConfigError, match="2 log windows"):
        trainer_case("cifar10_resnet20", "resnet20", 128, iterations=5, steps=5)


def test_data_suite_compares_the_folder_pipeline_per_core():
    result = _bench_json(
        "--suite", "data", "--images", "8", "--windows", "1", "--size", "32", "--batch", "4"
    )
    assert _positive_finite(result["img_s"]) and _positive_finite(result["ref_img_s"])
    assert _positive_finite(result["ratio"]) and result["target"] == 2.5
    profile = result["profile"]
    assert set(profile) == {
        "torchvision reference",
        "reslab before (PIL, float in the worker)",
        "reslab (uint8 until the device)",
    }
    ours = profile["reslab (uint8 until the device)"]
    assert {"decode (torchvision)", "crop + resize", "flip", "collate"} <= set(ours)
    assert ours["total"] > 0 and "to float + normalise" not in ours
    reference_ms = profile["torchvision reference"]["total"]
    assert result["decode_ceiling"] == pytest.approx(
        reference_ms / ours["decode (torchvision)"], rel=1e-2
    )


def test_bench_reslab_side_is_built_as_the_trainer_builds_it():
    from reslab.bench.workloads import ReslabStep, channels_last, reslab_model
    from reslab.utils.runtime import preferred_channels_last

    case = Case("resnet20", "train", 4, 16)
    cpu = torch.device("cpu")
    assert channels_last(case, cpu) == preferred_channels_last(cpu)
    model = reslab_model(case, cpu)
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last) == (
        preferred_channels_last(cpu)
    )
    step = ReslabStep(model, case, cpu)
    assert not step.scaler.is_enabled()
    assert step.optimizer.defaults.get("fused") or step.optimizer.defaults.get("foreach")


def test_the_load_meter_counts_a_child_that_finished_inside_the_window_as_ours():
    """A trainer run is a child process that ends within the timed window: its CPU time is the
    bench's own, not another process's load on the machine."""
    pytest.importorskip("psutil")
    from reslab.bench.runner import CpuMeter

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"
    meter = CpuMeter()
    meter.start()
    _, _, ours0 = meter._start
    subprocess.run([sys.executable, "-c", burn], check=True)  # a second of one core, at least
    _, _, ours1 = meter._read()
    # the child's second is ours (whatever else the machine runs meanwhile): without it, the
    # window would show the bench's own trainer run as another process's load
    assert ours1 - ours0 >= 0.9, f"only {ours1 - ours0:.2f} s of the child's CPU time counted"
