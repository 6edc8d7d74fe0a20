"""Every shipped recipe, walked as a user types it, on data in its real on-disk format:
train -> eval --json -> predict -> export onnx -> Ctrl-C -> --resume auto -> eval."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reslab.engine.config import CONFIG_DIR, read_recipe

from .datasets import photo_file
from .steps import (
    Journey,
    data_args,
    eval_count,
    eval_root,
    onnx_matches_torch,
    reslab,
    sigint_when,
    tiny,
)

RECIPES = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if not p.stem.startswith("base_"))

PREDICT_IMAGE = {
    "cifar10": ("img.png", (32, 32), "RGB"),
    "cifar100": ("img.png", (32, 32), "RGB"),
    "mnist": ("img.png", (28, 28), "L"),
    "digits": ("img.png", (8, 8), "L"),
    "folder": ("img.jpg", (64, 48), "RGB"),
}


def _kind(recipe: str) -> str:
    return read_recipe(recipe)["data"]["name"]


def _gentle(recipe: str) -> list[str]:
    """A small learning rate. After 4 steps of batch 4-8 at the recipes' 0.1 (or warm-up 0.01)
    the BatchNorm running statistics lag far behind the weights, so deep nets' eval-mode logits
    reach 1e2..1e30 or NaN and `reslab export` rightly refuses them; these journeys are about
    the path, not about 4-step accuracy."""
    warmup = read_recipe(recipe).get("schedule", {}).get("warmup_lr") is not None
    return ["optim.lr=0.001", *(["schedule.warmup_lr=0.001"] if warmup else [])]


JOURNEYS = [pytest.param(r, _kind(r), id=r) for r in RECIPES] + [
    pytest.param("cifar10_resnet20", "cifar100", id="cifar10_resnet20-on-cifar100"),
    pytest.param("digits_resnet20", "mnist", id="digits_resnet20-on-mnist"),
]


def test_every_shipped_recipe_is_walked():
    assert len(RECIPES) >= 14 and "digits_resnet20" in RECIPES
    assert {_kind(r) for r in RECIPES} == {"cifar10", "digits", "folder"}


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize(("recipe", "kind"), JOURNEYS)
def test_recipe_journey(recipe, kind, tmp_path, capsys, cifar10, cifar100, mnist, folder):
    datasets = {"cifar10": cifar10, "cifar100": cifar100, "mnist": mnist, "folder": folder}
    args, d = data_args(kind, datasets)
    args += _gentle(recipe)
    test_count = d.test_count if d else 360  # digits: 20% of 1,797, fixed
    runs = tmp_path / "runs"
    journey = Journey()

    # train
    res = reslab(capsys, "train", recipe, *args, *tiny(runs, "j"))
    run = runs / "j"
    if not journey.expect_rc("train", res):
        journey.assert_all_passed()
    journey.check("train", (run / "final.safetensors").is_file(), "no final.safetensors")
    journey.check("train", (run / "config.yaml").is_file(), "no config.yaml")

    # eval --json: every test image counted once
    res = reslab(capsys, "eval", run, "--json", *eval_root(kind, d))
    eval_count(journey, "eval", res, test_count)

    # predict on an image file of the dataset's kind
    filename, size, mode = PREDICT_IMAGE[kind]
    image = photo_file(tmp_path / filename, size, mode)
    res = reslab(capsys, "predict", run, image, "--topk", "3")
    if journey.expect_rc("predict", res):
        classes = json.loads((run / "model.json").read_text())["classes"]
        line = res.out.strip().splitlines()[-1] if res.out.strip() else ""
        named = [c for c in classes if re.search(rf"(: |, ){re.escape(c)} \d+\.\d%", line)]
        journey.check("predict", str(image) in line and len(named) >= 1, res.text)
    res = reslab(capsys, "predict", run, image, "--topk", "3", "--json")
    if journey.expect_rc("predict --json", res):
        top = json.loads(res.out.strip().splitlines()[-1])["top"]
        journey.check("predict --json", len(top) == 3, res.out)

    # export to ONNX, checked here too with onnxruntime
    res = reslab(capsys, "export", run, "--format", "onnx")
    onnx_file = run / "model.onnx"
    if journey.expect_rc("export", res) and journey.check(
        "export", onnx_file.is_file(), f"no {onnx_file}\n{res.text}"
    ):
        diff = onnx_matches_torch(onnx_file, run)
        journey.check("export", diff < 1e-3, f"onnxruntime differs by {diff:.2e} (relative)")

    # Ctrl-C during a run, then --resume auto to the end, then eval again
    name, total = "ctrl_c", 8
    ctrl_c = runs / name
    with sigint_when(ctrl_c / "checkpoints" / "step_00000002.pt") as sent:
        res = reslab(capsys, "train", recipe, *args, *tiny(runs, name, total))
    if journey.check("Ctrl-C", sent.is_set(), "no checkpoint at step 2 appeared"):
        journey.expect_rc("Ctrl-C", res, 130)
        journey.check("Ctrl-C", res.text.count("stopped") == 1, res.text)
        journey.check(
            "Ctrl-C", not (ctrl_c / "final.safetensors").exists(), "the run went on to the end"
        )
    res = reslab(capsys, "train", recipe, *args, *tiny(runs, name, total), "--resume", "auto")
    if journey.expect_rc("resume", res):
        summary = json.loads((ctrl_c / "summary.json").read_text())
        journey.check("resume", (ctrl_c / "final.safetensors").is_file(), "no final weights")
        journey.check("resume", _final_step(ctrl_c) == total, f"summary: {summary}")
    res = reslab(capsys, "eval", ctrl_c, "--json", *eval_root(kind, d))
    eval_count(journey, "eval after resume", res, test_count)
    journey.assert_all_passed()


def _final_step(run_dir: Path) -> int | None:
    steps = [
        json.loads(line).get("step")
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if line.strip()
    ]
    return max((s for s in steps if s is not None), default=None)
