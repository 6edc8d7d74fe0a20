"""The `reslab` command: thin over the library, one clear line on bad input."""

import io
import json
import re
import subprocess
import sys

import pytest

from reslab import reference
from reslab.cli import main


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reslab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_models_json_lists_params_and_flops(capsys):
    assert main(["models", "--filter", "resnet5", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["resnet50"]["params"] == reference.TORCHVISION_RESNETS["resnet50"].params
    assert rows["resnet50"]["gflops"] == pytest.approx(8.18, rel=0.01)  # 2 FLOPs per MAC
    assert rows["resnet56"]["depth"] == 56 and rows["resnet56"]["family"] == "cifar"


@pytest.mark.parametrize("width", [80, 160])
def test_models_table_shows_every_name_and_weight_whole_at_any_width(monkeypatch, width):
    import io

    from rich.console import Console

    import reslab.cli as cli
    from reslab.models import model_table

    console = Console(width=width, file=io.StringIO())
    monkeypatch.setattr(cli, "_console", lambda: console)
    assert main(["models"]) == 0
    out = console.file.getvalue()
    assert "…" not in out and max(map(len, out.splitlines())) <= width
    cells = " ".join(" ".join(line.replace("│", " ").split()) for line in out.splitlines())
    for row in model_table(None):
        assert f" {row.name} " in f" {cells} " and f"{row.params:,}" in cells
        for weights in row.weights:
            assert weights in cells


def test_models_show_stage_layout(capsys):
    assert main(["models", "show", "resnet56", "--json"]) == 0
    stages = json.loads(capsys.readouterr().out)
    assert [s["stage"] for s in stages] == ["stem", "layer1", "layer2", "layer3", "head"]
    assert [s["blocks"] for s in stages[1:4]] == [9, 9, 9]
    assert [s["output"] for s in stages[1:4]] == ["32x32", "16x16", "8x8"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["models", "show", "resnet65"], "unknown model 'resnet65': did you mean"),
        (["train", "digits_resnet20", "train.iteratons=3"], "did you mean 'iterations'"),
        (["train", "nope.yaml"], "config file not found"),
        (["train"], "name a recipe: reslab train RECIPE"),
        (["predict", "no_such_dir", "x.png"], "no_such_dir"),
        (["report", "no_such_dir"], "holds no study results"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, needle, tmp_path):
    proc = _run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_train_eval_predict_export_end_to_end(tmp_path):
    args = [
        "train",
        "digits_resnet20",
        "train.iterations=30",
        "train.eval_every=15",
        "train.tensorboard=false",
        f"out_dir={tmp_path / 'runs'}",
    ]
    assert _run(*args).returncode == 0
    run = tmp_path / "runs" / "digits_resnet20"
    assert (run / "final.safetensors").is_file() and (run / "config.yaml").is_file()
    # a second run with the same name refuses to overwrite it
    again = _run(*args)
    assert again.returncode == 2 and "already holds a run" in again.stderr
    ev = _run("eval", str(run), "--json")
    res = json.loads(ev.stdout)
    assert res["count"] == 360 and 0 <= res["top1_error"] <= 100
    assert len(res["confusion"]) == 10 and sum(map(sum, res["confusion"])) == 360
    shown = _run("eval", str(run), "--tta", "flip").stdout.splitlines()[0]
    assert "(test, 360 images, flip TTA): top-1 error" in shown and "top-5 error" in shown
    from PIL import Image
    from sklearn.datasets import load_digits

    img = tmp_path / "digit.png"
    Image.fromarray((load_digits().images[0] * 15).astype("uint8")).save(img)
    pred = _run("predict", str(run), str(img), str(tmp_path / "missing.png"), "--json")
    lines = [json.loads(line) for line in pred.stdout.splitlines()]
    assert pred.returncode == 1  # one image failed
    assert lines[0]["error"] is None and len(lines[0]["top"]) == 5
    assert lines[1]["error"]
    exp = _run("export", str(run), "--format", "onnx")
    assert exp.returncode == 0 and "max abs diff" in exp.stdout
    assert (run / "model.onnx").is_file()


def _rendered(table) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return re.sub("[\u2500-\u257f]", " ", console.export_text())  # box lines out


def test_eval_table_heads_columns_by_names_or_numbers_where_cut_names_read_alike():
    from reslab.cli import _eval_table

    cifar = ["airplane", "automobile", "bird", "cat"]
    text = _rendered(_eval_table(cifar, [50.0, 100.0, None, 0.0], [[1, 1, 0, 0], [0, 2, 0, 0],
                                 [0, 0, 0, 0], [0, 0, 3, 0]]))  # fmt: skip
    assert "airpla" in text and "automo" in text and "1 automobile" not in text
    # ImageFolder classes such as "class_one", "class_two": cut to 6, both read "class_"
    names = ["class_one", "class_two", "class_three"]
    text = _rendered(_eval_table(names, [100.0, 0.0, 50.0], [[1, 0, 0], [1, 0, 0], [0, 1, 1]]))
    header = next(line for line in text.splitlines() if "acc %" in line)
    assert header.split()[-3:] == ["0", "1", "2"], header
    assert "1 class_two" in text and "2 class_three" in text


def test_eval_of_many_classes_shows_the_worst_and_says_where_the_matrix_is():
    from reslab.cli import _eval_table

    classes = [f"c{i:03d}" for i in range(100)]
    accuracy = [100.0 - (i * 37 % 100) for i in range(100)]
    confusion = [[2 if j == i else 0 for j in range(100)] for i in range(100)]
    text = _rendered(_eval_table(classes, accuracy, confusion))
    worst = sorted(range(100), key=lambda i: accuracy[i])[:10]
    rows = [
        line.split()[0]
        for line in text.splitlines()
        if line.split() and re.fullmatch(r"c\d{3}", line.split()[0])
    ]
    assert rows == [classes[i] for i in worst]
    assert (
        len(text.splitlines()) < 30
        and "the 10 least accurate of 100 classes" in text.splitlines()[0]
    )
