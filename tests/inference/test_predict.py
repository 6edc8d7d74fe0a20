import pytest
import torch

from reslab.data import load_image, preprocess_for_model
from reslab.errors import DataError, ReslabError, WeightsError
from reslab.inference import Prediction, format_prediction, load_for_inference, predict

from .builders import DIGITS, make_run


def _direct_tops(run_dir, paths, k):
    """The top-k of the model's own forward pass on the stored preprocessing of each file."""
    model, meta = load_for_inference(run_dir)
    x = torch.stack(
        [
            preprocess_for_model(
                load_image(path),
                image_size=tuple(meta["image_size"]),
                in_channels=meta["in_channels"],
                mean=meta["mean"],
                std=meta["std"],
                resize=meta["resize"],
            )
            for path in paths
        ]
    )
    with torch.no_grad():
        values, indices = model(x).softmax(dim=1).topk(k, dim=1)
    return [
        [(DIGITS[i], p) for i, p in zip(row_i, row_p)]
        for row_i, row_p in zip(indices.tolist(), values.tolist())
    ]


def test_one_sorted_result_per_image_in_order(run_dir, images):
    results = list(predict(run_dir, images, topk=5, batch_size=4))
    assert [r.path for r in results] == [str(p) for p in images]
    for r in results:
        assert r.error is None and len(r.top) == 5
        probs = [p for _, p in r.top]
        assert probs == sorted(probs, reverse=True)
        assert 0 < sum(probs) <= 1 + 1e-6
        assert {name for name, _ in r.top} <= set(DIGITS)


def test_predictions_equal_the_models_own_output(run_dir, images):
    # A batch size that splits the files 4 + 2 also checks results are not mixed across batches.
    results = predict(run_dir, images, topk=3, batch_size=4)
    for r, expected, path in zip(results, _direct_tops(run_dir, images, 3), images):
        assert [n for n, _ in r.top] == [n for n, _ in expected], path.name
        assert [p for _, p in r.top] == pytest.approx([p for _, p in expected], abs=1e-5)


def test_images_do_not_all_get_the_same_answer(run_dir, images):
    """Guards the comparison above against a model that ignores its input."""
    tops = {tuple(round(p, 4) for _, p in r.top) for r in predict(run_dir, images, topk=3)}
    assert len(tops) > 1


def test_bad_files_become_errors_and_the_rest_are_predicted(run_dir, images, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(images[1].read_bytes()[:300])
    missing = tmp_path / "missing.png"
    inputs = [images[0], missing, images[1], text, truncated, images[2]]

    results = list(predict(run_dir, inputs, batch_size=2))

    assert [r.path for r in results] == [str(p) for p in inputs]
    failed = [r for r in results if r.error is not None]
    assert [r.path for r in failed] == [str(missing), str(text), str(truncated)]
    assert failed[0].error == "no such file"
    for r in failed:
        assert r.top is None and "\n" not in r.error and not r.error.startswith(r.path)
    clean = {r.path: r.top for r in predict(run_dir, [images[0], images[1], images[2]])}
    for r in results:
        if r.error is None:
            assert [n for n, _ in r.top] == [n for n, _ in clean[r.path]]
            assert [p for _, p in r.top] == pytest.approx([p for _, p in clean[r.path]])


def test_topk_is_clipped_to_the_number_of_classes(run_dir, images):
    (r,) = predict(run_dir, images[:1], topk=50)
    assert len(r.top) == len(DIGITS)
    assert sum(p for _, p in r.top) == pytest.approx(1.0, abs=1e-5)


def test_images_are_decoded_lazily_one_batch_at_a_time(run_dir, images):
    consumed = []

    def paths():
        for p in images * 3:
            consumed.append(p)
            yield p

    stream = predict(run_dir, paths(), batch_size=4)
    assert consumed == []
    next(stream)
    assert len(consumed) == 4
    assert sum(1 for _ in stream) == len(images) * 3 - 1


def test_a_bad_source_fails_before_any_image_is_read(tmp_path):
    with pytest.raises(WeightsError, match="is not a run directory"):
        predict(tmp_path, ["never-read.png"])


def test_format_prediction():
    ok = Prediction("cat.png", [("seven", 0.931), ("one", 0.03)])
    bad = Prediction("bad.png", None, "not a readable image (truncated)")
    assert format_prediction(ok) == "cat.png: seven 93.1%, one 3.0%"
    assert format_prediction(bad) == "bad.png: error: not a readable image (truncated)"


def test_a_single_path_is_one_image(run_dir, images):
    (r,) = predict(run_dir, str(images[0]), topk=2)
    assert r.path == str(images[0]) and len(r.top) == 2


def test_a_model_images_cannot_feed_fails_once_up_front(tmp_path, images):
    make_run(tmp_path, in_channels=2)
    with pytest.raises(DataError, match="2 input channels"):
        predict(tmp_path, images)


def test_device_auto_is_the_gpu_if_there_is_one_and_a_bad_device_is_one_line(run_dir, images):
    auto = list(predict(run_dir, images[:1], device="auto"))
    assert auto[0].top == list(predict(run_dir, images[:1], device="cpu"))[0].top
    with pytest.raises(ReslabError, match="cannot use device 'nonsense'.*--device cpu"):
        predict(run_dir, images[:1], device="nonsense")


def test_a_grey_model_scores_a_folder_as_predict_labels_its_files(run_dir, images, tmp_path):
    """A 1-channel model (digits) and a folder of RGB, RGBA and grey files: `reslab eval` turns
    them grey as `reslab predict` does, so it counts each file as the class predict gives it
    and its loss is the one predict's probabilities give (it used to refuse the folder while
    predict took the same files)."""
    import math

    from reslab.engine import evaluate

    folder = tmp_path / "digits"
    for i, path in enumerate(images):
        (folder / DIGITS[i % 3]).mkdir(parents=True, exist_ok=True)
        (folder / DIGITS[i % 3] / path.name).write_bytes(path.read_bytes())
    files = sorted(folder.rglob("*.*"))
    confusion = [[0] * len(DIGITS) for _ in DIGITS]
    losses = []
    for path, p in zip(files, predict(run_dir, files, topk=len(DIGITS))):
        true = path.parent.name
        confusion[DIGITS.index(true)][DIGITS.index(p.top[0][0])] += 1
        losses.append(-math.log(dict(p.top)[true]))
    result = evaluate(run_dir, data="folder", root=str(folder))
    assert result.count == len(images)
    assert result.confusion == confusion
    assert result.loss == pytest.approx(sum(losses) / len(losses), rel=1e-4)


@pytest.mark.parametrize(
    ("option", "line"),
    [
        (["--batch-size", "0"], "error: --batch-size must be at least 1, got 0"),
        (["--image-size", "0"], "error: --image-size must be at least 1, got 0"),
        (["--device", "foo"], "error: --device 'foo' is not a device: use auto, cpu or cuda[:N]"),
    ],
)
def test_eval_options_out_of_range_are_one_line_naming_the_option(
    run_dir, images, tmp_path, capsys, option, line
):
    """On an image folder `--batch-size 0` was a DataLoader traceback, `--image-size 0` was
    taken as "not given", and a bad --device was called train.device."""
    from reslab.cli import main

    (tmp_path / "zero").mkdir()
    (tmp_path / "zero" / images[0].name).write_bytes(images[0].read_bytes())
    capsys.readouterr()
    args = ["eval", str(run_dir), "--data", "folder", "--root", str(tmp_path), *option]
    assert main(args) == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_folder_is_predicted_as_its_image_files_and_a_closed_pipe_is_quiet(
    run_dir, images, tmp_path
):
    """`reslab predict RUN DIR` gives a line per image file under DIR, in sorted order (it was
    "is a directory, not an image file"); a folder with none is one error line. Piped into a
    reader that stops early (`| head -1`), it stops without a traceback, as a program killed
    by SIGPIPE does (exit 141)."""
    import signal
    import subprocess
    import sys

    folder = tmp_path / "photos"
    for i, path in enumerate(images):
        (folder / ("a" if i % 2 else "b")).mkdir(parents=True, exist_ok=True)
        (folder / ("a" if i % 2 else "b") / path.name).write_bytes(path.read_bytes())
    (folder / "notes.txt").write_text("not an image")
    (tmp_path / "none").mkdir()
    command = [sys.executable, "-m", "reslab", "predict", str(run_dir), "--topk", "1"]
    done = subprocess.run([*command, str(folder), str(tmp_path / "none")], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    files = sorted(p for p in folder.rglob("*") if p.suffix != ".txt" and p.is_file())
    assert [line.split(": ")[0] for line in done.stdout.splitlines()] == list(map(str, files))
    assert done.stderr.splitlines() == [
        f"{tmp_path / 'none'}: error: a folder with no image files in it"
    ]
    assert done.returncode == 1  # an input failed

    reader = subprocess.Popen([*command, str(folder)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    reader.stdout.close()  # the reader is gone before the first line
    _, err = reader.communicate(timeout=300)
    assert reader.returncode == 128 + signal.SIGPIPE and "Traceback" not in err, err


def test_eval_into_a_closed_pipe_still_writes_its_confusion_png(run_dir, images, tmp_path):
    """`reslab eval ... --confusion-png F | head -1`: the picture is written before the table,
    and the closed pipe ends as SIGPIPE would (141), where rich exited 1 and F was lost."""
    import signal
    import subprocess
    import sys

    (tmp_path / "f" / "zero").mkdir(parents=True)
    for path in images[:2]:
        (tmp_path / "f" / "zero" / path.name).write_bytes(path.read_bytes())
    png = tmp_path / "confusion.png"
    command = [sys.executable, "-m", "reslab", "eval", str(run_dir), "--data", "folder",
               "--root", str(tmp_path / "f"), "--confusion-png", str(png)]  # fmt: skip
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader.stdout.close()
    _, err = reader.communicate(timeout=300)
    assert reader.returncode == 128 + signal.SIGPIPE and "Traceback" not in err, err
    assert png.is_file() and png.stat().st_size > 0
