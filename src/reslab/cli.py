"""The `reslab` command: argument parsing only. Every command calls a library function."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence

from reslab.errors import ReslabError

Handler = Callable[[argparse.Namespace], int]


def _console():
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 here; main() ends as SIGPIPE would
            raise BrokenPipeError

    # Off a terminal (pipes, CI logs) rich assumes 80 columns and truncates; tables need more
    # (160, or COLUMNS where it is set).
    if sys.stdout.isatty():
        return _Console()
    columns = os.environ.get("COLUMNS", "")
    return _Console(width=int(columns) if columns.isdigit() and int(columns) >= 40 else 160)


# ----------------------------------------------------------------------------- models
def cmd_models(args: argparse.Namespace) -> int:
    from rich.table import Table

    from reslab.models import list_models, model_table, stage_layout

    if args.action == "show":
        if not args.name:
            raise ReslabError("`reslab models show` needs a model name, e.g. resnet56")
        rows = stage_layout(args.name)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        table = Table(title=args.name)
        for col in ("stage", "blocks", "out_channels", "stride", "output", "params"):
            table.add_column(col, justify="left" if col == "stage" else "right")
        for r in rows:
            table.add_row(
                r["stage"],
                str(r["blocks"] or ""),
                str(r["out_channels"]),
                str(r["stride"]),
                r["output"],
                f"{r['params']:,}",
            )
        _console().print(table)
        return 0
    if not list_models(args.filter):
        raise ReslabError(f"no model matches {args.filter!r}; run `reslab models` to list them")
    rows = model_table(args.filter)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    console = _console()
    # a narrow terminal gets the columns a name does not already say (family, kind, block,
    # shortcut and depth are in the name and in `reslab models show NAME`), so nothing is cut
    wide = console.width >= 130
    caption = (
        "weights by name: NAME.WEIGHTS, e.g. resnet56.cifar10 in 'reslab predict' and "
        "model.pretrained, or models.create('resnet56', weights='cifar10')"
    )
    if not wide:
        caption += (
            f". Family, kind, block, shortcut and depth are shown from 130 columns (this terminal: "
            f"{console.width}), and in 'reslab models --json'"
        )
    table = Table(
        title=(
            "reslab models (GFLOPs: forward, 2 FLOPs per multiply-add; the paper's 'FLOPs' "
            "are multiply-adds)"
        ),
        caption=caption,
    )
    columns = ["name", "family", "kind", "block", "shortcut", "depth", "params", "GFLOPs"]
    columns = columns if wide else [c for c in columns if c not in MODEL_DETAIL_COLUMNS]
    for col in [*columns, "input", "weights"]:
        left = col in ("name", "family", "kind", "weights")
        table.add_column(
            col,
            justify="left" if left else "right",
            overflow="fold",
            no_wrap=col not in ("weights", "family"),
        )
    for r in rows:
        cells = {
            "name": r.name,
            "family": r.family + (" pre-act" if r.preact else ""),
            "kind": r.kind,
            "block": r.block,
            "shortcut": r.shortcut,
            "depth": str(r.depth),
            "params": f"{r.params:,}",
            "GFLOPs": f"{r.gflops:.3f}",
            "input": "x".join(map(str, r.input_size)),
            "weights": ", ".join(r.weights) or "-",  # by name: models.create(name, weights=...)
        }
        table.add_row(*(cells[c] for c in [*columns, "input", "weights"]))
    console.print(table)
    return 0


MODEL_DETAIL_COLUMNS = ("family", "kind", "block", "shortcut", "depth")


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="list every registered model with params, FLOPs and published weights"
    )
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="model name for `show`")
    p.add_argument("--filter", help="glob or substring, e.g. 'plain*' or resnet5")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models)


# ----------------------------------------------------------------------------- train
def _shipped_recipes() -> list[str]:
    """The recipes that ship with reslab (without importing torch, for --help)."""
    from pathlib import Path

    import reslab

    configs = Path(reslab.__file__).parent / "configs"
    return sorted(p.stem for p in configs.glob("*.yaml") if not p.stem.startswith("base_"))


def cmd_train(args: argparse.Namespace) -> int:
    if args.config and "=" in args.config and not os.path.exists(args.config):
        # `reslab train --resume RUN data.root=...`: the first override is not a recipe
        args.overrides = [args.config, *args.overrides]
        args.config = None
    if not (args.config or args.overrides or args.resume):
        raise ReslabError(
            "name a recipe: reslab train RECIPE [section.key=value ...]; shipped recipes: "
            + ", ".join(_shipped_recipes())
        )
    if args.nproc and args.nproc > 1:
        return _launch_torchrun(args)
    from reslab.utils.runtime import set_training_env

    set_training_env()  # OpenMP reads its settings when torch loads: before the import below
    from reslab.engine import train

    run = train(args.config, args.overrides, resume=args.resume)
    if run.status == "interrupted" and run.stopped_by == signal.SIGINT:
        return 130  # like any program stopped by Ctrl-C, so `reslab train ... && next` stops
    # SIGTERM exits 0: a scheduler (or torchrun, which forwards it) asked for a clean stop, and
    # a non-zero exit would make torchrun count it as a failure and restart the workers.
    return 0


def _launch_torchrun(args: argparse.Namespace) -> int:
    """`reslab train --nproc N` is `torchrun --standalone --nproc-per-node N -m reslab train`;
    a restarted worker resumes from the newest checkpoint by itself. This process holds the run
    directory for the job's life, so a second job under the same name is refused here (one
    line, exit 2) before any worker starts."""
    from reslab.engine import load_config
    from reslab.engine.distributed import launch
    from reslab.engine.rundir import claim_for_workers
    from reslab.engine.trainer import resumed_config

    argv = ["train", *([args.config] if args.config else []), *args.overrides]
    if args.resume:
        argv += ["--resume", args.resume]
    # a bad config is refused before torchrun
    cfg = load_config(resumed_config(args.config, args.resume), args.overrides)
    with claim_for_workers(cfg, args.resume) as env:
        return launch(argv, args.nproc, max_restarts=args.max_restarts, env=env)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a YAML recipe",
        description="Train a model. Any config field can be overridden as "
        "section.key=value, e.g. train.iterations=500 model.name=resnet56.",
        epilog="shipped recipes: " + ", ".join(_shipped_recipes()),
    )
    p.add_argument(
        "config",
        nargs="?",
        help="recipe file, or the name of a shipped recipe (e.g. digits_resnet20)",
    )
    p.add_argument("overrides", nargs="*", help="section.key=value overrides")
    p.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="'auto' (the newest checkpoint of this run), a run dir or a checkpoint (alone: "
        "continue that run with its own config)",
    )
    p.add_argument("--nproc", type=int, default=0, help="launch N processes with torchrun")
    p.add_argument(
        "--max-restarts",
        type=int,
        default=0,
        help="with --nproc: restart failed workers (they resume automatically)",
    )
    p.set_defaults(func=cmd_train)


# ----------------------------------------------------------------------------- eval
def cmd_eval(args: argparse.Namespace) -> int:
    from reslab.engine import evaluate

    res = evaluate(
        args.source,
        data=args.data,
        root=args.root,
        split=args.split,
        batch_size=args.batch_size,
        device=args.device,
        ten_crop=args.ten_crop,
        tta=args.tta,
        image_size=args.image_size,
        resize=args.resize,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun one process speaks for all (`... --json | json.tool` works)
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
        return 0
    if args.confusion_png:  # written before any output: a reader that stops early loses nothing
        from reslab.report.figures import plot_confusion_matrix

        png = plot_confusion_matrix(res.confusion, res.classes, args.confusion_png)
    views = [v for v, on in (("10-crop", args.ten_crop), ("flip TTA", args.tta == "flip")) if on]
    k = min(5, len(res.classes) or 5)  # top-5 of fewer classes is top-k, as run_eval counts it
    where = f" in {args.root}" if args.root else ""
    print(
        f"{args.source} on {args.data or 'its dataset'}{where} ({args.split}, {res.count} images"
        f"{''.join(', ' + v for v in views)}): "
        f"top-1 error {res.top1_error:.2f}% (accuracy {res.top1_accuracy:.2f}%), "
        f"top-{k} error {res.top5_error:.2f}%, loss {res.loss:.4f}"
    )
    _console().print(_eval_table(res.classes, res.per_class_accuracy, res.confusion))
    if len(res.classes) > CONFUSION_COLUMNS and not args.confusion_png:
        print(
            f"the {len(res.classes)}-class confusion matrix: add --confusion-png FILE (a "
            "picture) or --json (the numbers)"
        )
    if args.confusion_png:
        print(f"confusion matrix: {png}")
    return 0


CONFUSION_COLUMNS = 20
"""Up to this many classes the terminal shows the confusion matrix; beyond, the worst classes."""


def _eval_table(classes: list[str], accuracy: list[float | None], confusion: list[list[int]]):
    """Per-class accuracy and the confusion matrix (rows true, columns predicted), its columns
    headed by class names cut to 6 characters, or by class numbers where two cuts would read
    alike. Over CONFUSION_COLUMNS classes, the accuracy of the 10 worst classes alone."""
    from rich.table import Table

    if len(classes) > CONFUSION_COLUMNS:
        title = f"the 10 least accurate of {len(classes)} classes"
        table = Table(title=title, min_width=len(title) + 4)
        table.add_column("class")
        table.add_column("acc %", justify="right")
        table.add_column("images", justify="right")
        scored = [i for i, acc in enumerate(accuracy) if acc is not None]
        for i in sorted(scored, key=lambda i: (accuracy[i], i))[:10]:
            table.add_row(classes[i], f"{accuracy[i]:.1f}", str(sum(confusion[i])))
        return table
    heads = [c[:6] for c in classes]
    numbered = len(set(heads)) < len(heads)
    table = Table(title="per-class accuracy and confusion matrix (rows: true, cols: predicted)")
    table.add_column("class")
    table.add_column("acc %", justify="right")
    for i, head in enumerate(heads):
        table.add_column(str(i) if numbered else head, justify="right")
    for i, (c, acc, row) in enumerate(zip(classes, accuracy, confusion)):
        label = f"{i} {c}" if numbered else c
        table.add_row(label, "-" if acc is None else f"{acc:.1f}", *map(str, row))
    return table


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="evaluate trained weights: error, per-class accuracy, confusion matrix"
    )
    p.add_argument(
        "source",
        help="a run directory (its final weights), a reslab .safetensors file (RUN/"
        "best.safetensors: the weights that scored best on the validation split), a checkpoint "
        "of a run, or published weights by name (resnet56.cifar10, resnet20.chenyaofo_cifar100, "
        "resnet50.IMAGENET1K_V2; 'reslab models' lists them), each read through the input spec "
        "recorded with it",
    )
    p.add_argument(
        "--data",
        help="dataset name: cifar10, cifar100, ..., or folder (default: the one it was trained "
        "on; weights by name need it)",
    )
    p.add_argument(
        "--root",
        help="dataset directory, or image folder with test/ (or val/) or the split itself "
        "(default: the run's own data.root); folder classes are matched to the model's by name",
    )
    p.add_argument(
        "--split",
        default="test",
        choices=["test", "val", "train"],
        help="test (default; an image folder's val/ or test/), val (the validation split the "
        "run held out of train/), or train",
    )
    p.add_argument("--batch-size", type=int, default=500, help="images per batch (default 500)")
    p.add_argument("--device", default="auto", help="auto (a GPU if there is one), cpu, cuda:N")
    p.add_argument("--ten-crop", action="store_true", help="10-crop testing (image folders)")
    p.add_argument(
        "--tta",
        choices=["none", "flip"],
        default="none",
        help="test-time augmentation: average each image's softmax with its mirror's",
    )
    p.add_argument(
        "--image-size", type=int, help="image folders: centre-crop size (default: the run's)"
    )
    p.add_argument(
        "--resize",
        type=int,
        help="image folders: shorter side before the crop (default: the run's)",
    )
    p.add_argument("--confusion-png", help="also save the confusion matrix as a PNG here")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_eval)


# ----------------------------------------------------------------------------- predict
def cmd_predict(args: argparse.Namespace) -> int:
    from reslab.inference import format_prediction, predict

    failures = 0
    for p in predict(
        args.weights, args.images, topk=args.topk, batch_size=args.batch_size, device=args.device
    ):
        if args.json:
            print(json.dumps({"path": p.path, "top": p.top, "error": p.error}))
        elif p.error:
            print(format_prediction(p), file=sys.stderr)
        else:
            print(format_prediction(p))
        failures += p.error is not None
    return 1 if failures else 0


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="top-k classes for image files, each with its probability (softmax)"
    )
    p.add_argument(
        "weights",
        help="a run directory, a weights file, or weights by name (resnet56.cifar10, "
        "resnet50.IMAGENET1K_V2; see 'reslab models')",
    )
    p.add_argument(
        "images",
        nargs="+",
        help="image files (any common format and size), or folders: the image files under them",
    )
    p.add_argument("--topk", type=int, default=5, help="classes shown per image (default 5)")
    p.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=cmd_predict)


# ----------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    from reslab.inference import export

    suffix = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}[args.format]
    out = args.out or str(_default_export_path(args.weights, suffix))
    res = export(args.weights, out, format=args.format, opset=args.opset)
    diff = (
        f", max abs diff vs PyTorch {res.max_abs_diff:.2e}" if res.max_abs_diff is not None else ""
    )
    print(f"exported {res.format}: {res.path}{diff}")
    return 0


def _default_export_path(weights: str, suffix: str):
    from pathlib import Path

    p = Path(weights)
    return (p / f"model{suffix}") if p.is_dir() else p.with_suffix(suffix)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export weights to ONNX, TorchScript or safetensors")
    p.add_argument(
        "weights",
        help="a run directory, a reslab .safetensors file, a checkpoint of a run, or weights "
        "by name (resnet56.cifar10)",
    )
    p.add_argument(
        "--format",
        choices=["onnx", "torchscript", "safetensors"],
        default="onnx",
        help="onnx (default; checked against PyTorch with onnxruntime when it is installed), "
        "torchscript or safetensors",
    )
    p.add_argument("--out", help="output file (default: beside the weights)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 10 or newer (default 17)")
    p.set_defaults(func=cmd_export)


# ----------------------------------------------------------------------------- data
def cmd_data(args: argparse.Namespace) -> int:
    from reslab.data import default_root, download

    root = args.root or default_root()
    if args.action == "pack":
        from reslab.data.cifar import pack_cifar

        if not args.source:
            raise ReslabError("reslab data pack needs --from FOLDER: the images' train/ and test/")
        path = pack_cifar(args.name, args.source, root)
        print(
            f"{args.name}: archive written to {path}; use it with --root {root} (reslab study, "
            f"eval) or data.root={root} (reslab train)"
        )
        return 0
    path = download(args.name, root)
    print(f"{args.name}: verified files in {path}")
    return 0


def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="download and verify a dataset's official archive, or pack a folder of its images",
        description="download: fetch a dataset's official archive over https and check its "
        "digest. pack: write cifar10's python archive (cifar-10-batches-py/) from a folder of "
        "its images laid out as train/<class>/ and test/<class>/, for the commands that read "
        "the archive (reslab study --data cifar10).",
    )
    p.add_argument("action", choices=["download", "pack"])
    p.add_argument("name", help="cifar10, cifar100, mnist or fashion_mnist (pack: cifar10)")
    p.add_argument("--root", help="where to put it (default: $RESLAB_DATA or ~/.cache/reslab/data)")
    p.add_argument(
        "--from", dest="source", metavar="FOLDER", help="pack: the folder of images to pack"
    )
    p.set_defaults(func=cmd_data)


# ----------------------------------------------------------------------------- report
def cmd_report(args: argparse.Namespace) -> int:
    import contextlib
    from pathlib import Path

    from reslab.report import build_report
    from reslab.utils.claim import claim

    # the folder written into is claimed, as a study's is; a wrong run_dir is not created
    target = Path(args.out or args.run_dir)
    held = claim(target, "study") if args.out or target.is_dir() else contextlib.nullcontext()
    with held:
        paths = build_report(args.run_dir, lang=args.lang, out_dir=args.out)
    print(f"report: {paths.html}")
    print(f"markdown: {paths.markdown}")
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="build the HTML/Markdown report of a study run")
    p.add_argument("run_dir", help="a study's run directory (holding results.json)")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.add_argument("--out", help="output directory (default: the run directory)")
    p.set_defaults(func=cmd_report)


# ----------------------------------------------------------------------------- studies
def _resumable(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Ctrl-C in a study or the demo: each net in training has saved a checkpoint; say how to go
    on (the same command), and exit 130 as a stopped program does."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except KeyboardInterrupt:
            print(
                "interrupted: re-run the same command to continue (finished nets are reused, "
                "stopped ones resume from their last checkpoint)",
                file=sys.stderr,
            )
            return 130

    return run


@_resumable
def cmd_study(args: argparse.Namespace) -> int:
    from reslab import studies

    if args.study == "degradation":
        out = studies.run_degradation(
            studies.DegradationConfig(
                data=args.data,
                root=args.root,
                depths=args.depths or [20, 56],
                seeds=args.seeds or [0, 1, 2],
                iterations=args.iterations,
                out_dir=args.out,
                name=args.name or "degradation",
                overrides=args.overrides,
                threads=args.threads,
                workers=args.workers,
            )
        )
    elif args.study == "gradients":
        out = studies.run_gradients(
            studies.GradientsConfig(
                data=args.data,
                root=args.root,
                depths=args.depths or [20, 56, 110],
                trained_from=args.source,
                out_dir=args.out,
                name=args.name or "gradients",
            )
        )
    elif args.study == "responses":
        out = studies.run_responses(
            studies.ResponsesConfig(
                source=args.source or f"{args.out}/degradation",
                root=args.root,
                out_dir=args.out,
                name=args.name or "responses",
            )
        )
    else:
        out = studies.run_table6(
            studies.Table6Config(
                models=args.models or studies.Table6Config().models,
                seeds=args.seeds or [0],
                root=args.root,
                allow_cpu=args.allow_cpu,
                out_dir=args.out,
                name=args.name or "table6",
                overrides=args.overrides,
                train_on=args.train_on,
            )
        )
    if not (out / "results.json").is_file():  # stopped before every net finished: it said so
        return 0
    if args.study == "degradation":
        from reslab.studies.degradation import print_results

        print_results(out)
    print(f"results: {out / 'results.json'}")
    if not args.no_report:
        from reslab.report import build_report
        from reslab.utils.claim import claim

        with claim(out, "study"):  # the report is written into the study's folder too
            print(f"report: {build_report(out, lang=args.lang).html}")
    return 0


def _add_study(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study",
        help="reproduce one of the paper's experiments",
        description="Each study trains (or reuses) what it needs, writes "
        "OUT/NAME/results.json and a report. Re-running the same "
        "command resumes an interrupted study.",
        epilog="studies: degradation (Fig. 6: plain and residual nets of growing depth; on "
        "cifar10, --iterations N runs the paper's first N of 64,000 iterations and judges "
        "only the claims about the whole of training), gradients (|grad W|/|W| per conv layer at "
        "initialisation, after the first SGD steps, and after training with --source DIR), responses (Fig. 7: "
        "std of each 3x3 layer's response), table6 (Table 6: CIFAR-10 test error, ResNet-20 "
        "to 110, the paper's 64k-iteration recipe; a GPU job)",
    )
    p.add_argument(
        "study",
        choices=["degradation", "gradients", "responses", "table6"],
        help="which experiment (see below)",
    )
    p.add_argument("overrides", nargs="*", help="section.key=value overrides for training runs")
    p.add_argument("--data", default="digits", help="digits (default), mnist5k or cifar10")
    p.add_argument("--root", help="dataset directory for file-based datasets")
    p.add_argument(
        "--depths",
        type=int,
        nargs="+",
        help="depths with a plain and a residual net: 20 32 44 56 110 1202 (e.g. 20 56 110)",
    )
    p.add_argument("--seeds", type=int, nargs="+", help="seeds (degradation default: 0 1 2)")
    p.add_argument("--iterations", type=int, help="override the recipe's iterations")
    p.add_argument("--models", nargs="+", help="table6: which nets (default resnet20..110)")
    p.add_argument("--source", help="responses/gradients: a degradation study directory")
    p.add_argument("--allow-cpu", action="store_true", help="table6: train without a GPU")
    p.add_argument(
        "--train-on",
        choices=["45k", "50k"],
        default="45k",
        help="table6: the 45k/5k split the paper chose its schedule on (default), or all 50k "
        "training images as the reported nets are usually trained",
    )
    p.add_argument(
        "--threads", type=int, default=1, help="degradation: torch threads per net (default 1)"
    )
    p.add_argument(
        "--workers", type=int, default=0, help="degradation: nets at once (default: 1 per core)"
    )
    p.add_argument("--out", default="runs", help="parent directory of the study (default runs)")
    p.add_argument("--name", help="the study's directory name")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="report language")
    p.add_argument("--no-report", action="store_true", help="skip writing the report")
    p.set_defaults(func=cmd_study)


@_resumable
def cmd_demo(args: argparse.Namespace) -> int:
    from reslab.studies import DemoConfig, run_demo

    run_demo(
        DemoConfig(
            out_dir=args.out,
            quick=args.quick,
            lang=args.lang,
            seeds=tuple(args.seeds) if args.seeds else DemoConfig.seeds,
            threads=args.threads,
            workers=args.workers,
        )
    )
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: degradation study on digits + report, minutes on a CPU",
        description="The degradation study on scikit-learn's digits (no download): plain and "
        "residual nets of 20 and 56 layers, 3 seeds each, one thread per net, then the "
        "gradient-flow and layer-response looks and a report in OUT/demo/report.html. About "
        "4 minutes on a 2-core CPU; --quick (OUT/demo-quick, two seeds) is a look of about a minute whose "
        "runs are too short to judge. Re-running resumes an interrupted demo.",
    )
    p.add_argument(
        "--quick", action="store_true", help="a look of about a minute (runs too short to judge)"
    )
    p.add_argument("--seeds", type=int, nargs="+", help="seeds per net (default 0 1 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per net (default 1)")
    p.add_argument("--workers", type=int, default=0, help="nets at once (default: 1 per core)")
    p.add_argument("--out", default="runs", help="where to write (default ./runs)")
    p.add_argument(
        "--lang", choices=["en", "zh"], default="en", help="language of the verdicts and the report"
    )
    p.set_defaults(func=cmd_demo)


# ----------------------------------------------------------------------------- bench
def _add_bench(sub: argparse._SubParsersAction) -> None:
    from reslab.bench.cli import add_bench_parser  # light: imports no torch at module level

    add_bench_parser(sub)


# ----------------------------------------------------------------------------- main
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_models,
    _add_train,
    _add_eval,
    _add_predict,
    _add_export,
    _add_data,
    _add_report,
    _add_study,
    _add_demo,
    _add_bench,
]


def build_parser() -> argparse.ArgumentParser:
    from reslab import __version__

    parser = argparse.ArgumentParser(
        prog="reslab",
        description="Deep residual networks: build, train, evaluate, reproduce the paper.",
    )
    parser.add_argument("--version", action="version", version=f"reslab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, before or after the subcommand
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    args, extra = parser.parse_known_args(argv)
    args.debug = debug
    # key=value overrides may follow options (`train cfg --resume auto train.iterations=9`)
    if (
        extra
        and hasattr(args, "overrides")
        and all("=" in e and not e.startswith("-") for e in extra)
    ):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    if not args.debug:
        import warnings

        # one line per warning (skipped files, checkpoint fallbacks), not two
        warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe fails here, where it is handled, not at exit
        return code
    except ReslabError as e:
        if args.debug:
            raise
        print(f"error: {e.line()}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`reslab predict DIR | head`): stop quietly, as a program killed
        # by SIGPIPE does; what is still buffered goes nowhere, not into a traceback at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
