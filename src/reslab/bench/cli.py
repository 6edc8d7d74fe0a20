"""Argument parsing for `reslab bench` (imported at CLI start-up: no torch at module level)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

_EPILOG = """\
examples:
  reslab bench --suite cpu                 the CPU targets (< 5 min, 2 cores)
  reslab bench --model resnet56 --mode train eval e2e
  reslab bench --model resnet1202 --batch 8 --activation-checkpointing
  reslab bench --suite smoke --json        tiny sizes, seconds (CI)
  reslab bench --trainer cifar10_resnet56  `reslab train` itself vs the reference and the bare step
  reslab bench --suite data                image-folder decode + augment per core vs torchvision

Each figure is shown beside the reference (a plain eager fp32 NCHW implementation of the same
network and step, in its own process, timed in alternating windows in the same run).
"""


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure training/eval speed and memory against an eager reference",
        description="Measure reslab's training and evaluation throughput, memory and FLOP/s "
        "utilisation beside a plain eager reference timed in the same run.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", choices=["cpu", "gpu", "smoke", "data"],
                   help="a predefined set of cases; data: the image-folder input pipeline")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="with --suite gpu: the same cases on the CPU at tiny sizes")  # fmt: skip
    p.add_argument("--model", default="resnet56", help="a registered model (reslab models)")
    p.add_argument(
        "--mode",
        nargs="+",
        default=["train"],
        choices=["train", "eval", "e2e", "schedule"],
        help="train: bare training step; eval: inference; e2e: in-memory epoch vs a "
        "torchvision DataLoader pipeline; schedule: a whole run of --iterations",
    )
    p.add_argument("--trainer", metavar="RECIPE",
                   help="run `reslab train RECIPE` on synthetic data and time it from its log, "
                   "beside the reference and reslab's bare step (CIFAR-shaped recipes)")  # fmt: skip
    p.add_argument("--batch", type=int,
                   help="batch size (default 128; --trainer: the recipe's; data suite: 32)")  # fmt: skip
    p.add_argument("--size", type=int, help="input height/width (default: the model's own)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help="reslab's precision (auto: bf16 on CUDA, fp32 on CPU); "
                   "the reference always runs fp32")  # fmt: skip
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="reslab's memory format (default: the trainer's choice for the device)")  # fmt: skip
    p.add_argument("--compile", action="store_true", help="torch.compile reslab's model")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="capture reslab's training step in a CUDA graph (train, CUDA)")  # fmt: skip
    p.add_argument(
        "--activation-checkpointing",
        action="store_true",
        help="measure per-stage activation checkpointing against the same model without it "
        "(speed and memory)",
    )
    p.add_argument("--steps", type=int, help="steps per timed window (default: ~1 s of work)")
    p.add_argument("--windows", type=int, help="timed windows per side (default 5; data suite: 15)")
    p.add_argument("--warmup", type=int, help="untimed steps first (default 3)")
    p.add_argument("--iterations", type=int,
                   help="schedule mode: run length (default 64,000); --trainer: steps of each "
                   "`reslab train` run (default 30)")  # fmt: skip
    p.add_argument("--images", type=int, default=256,
                   help="data suite: JPEGs written and read (default 256)")  # fmt: skip
    p.add_argument("--workers", type=int, default=2, help="reference DataLoader workers")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for reslab's worker (e.g. OMP settings)")  # fmt: skip
    p.add_argument("--profile", action="store_true",
                   help="also profile reslab's step: time per op group, top ops, time "
                   "outside ops (Python overhead)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object per row")
    p.add_argument("--save", help="also write the JSON rows to this file")
    p.set_defaults(func=cmd_bench)


def build_cases(args: argparse.Namespace):
    """The cases a command line asks for."""
    from reslab.bench.spec import Case, gpu_suite, suite
    from reslab.errors import ConfigError

    if args.dry_run and args.suite != "gpu":
        raise ConfigError("--dry-run goes with --suite gpu")
    if args.trainer:
        return [_trainer_case(args)]
    if args.suite == "gpu":
        cases = gpu_suite(dry_run=args.dry_run)
    elif args.suite:
        cases = suite(args.suite)
    else:
        from reslab.bench.runner import resolve_device
        from reslab.models import get_spec

        device = resolve_device(args.device)
        precision = args.precision
        if precision == "auto":
            precision = "bf16" if device.startswith("cuda") else "fp32"
        size = args.size or get_spec(args.model).input_size[0]
        iterations = args.iterations or 64_000
        modes = ["ckpt"] if args.activation_checkpointing else list(dict.fromkeys(args.mode))
        cases = [
            Case(
                args.model,
                mode,
                args.batch or 128,
                size,
                device=device,
                precision=precision,
                channels_last=args.channels_last,
                compile=args.compile,
                cuda_graphs=args.cuda_graphs,
                workers=args.workers,
                iterations=iterations if mode == "schedule" else 0,
            )
            for mode in modes
        ]
    overrides = {
        k: getattr(args, k) for k in ("steps", "windows", "warmup") if getattr(args, k) is not None
    }
    if args.profile:
        overrides["profile"] = True
    return [replace(c, **overrides) for c in cases] if overrides else cases


def _trainer_case(args: argparse.Namespace):
    """The trainer row for ``--trainer RECIPE``: model and batch from the recipe."""
    from reslab.bench.runner import resolve_device
    from reslab.bench.spec import trainer_case
    from reslab.engine.config import load_config
    from reslab.errors import ConfigError
    from reslab.models import get_spec

    cfg = load_config(args.trainer)
    model = cfg.model.name
    if get_spec(model).input_size != (32, 32):
        raise ConfigError(
            f"--trainer runs the recipe on synthetic 32x32 images; {args.trainer} trains "
            f"{model} at {get_spec(model).input_size}: use a CIFAR-shaped recipe"
        )
    extra = {k: getattr(args, k) for k in ("steps", "windows", "warmup") if getattr(args, k)}
    if args.iterations:
        extra["iterations"] = args.iterations
    return trainer_case(
        args.trainer,
        model,
        args.batch or cfg.data.batch_size,
        device=resolve_device(args.device),
        workers=args.workers,
        **extra,
    )


def cmd_data(args: argparse.Namespace) -> int:
    """--suite data: the image-folder pipeline per core (see reslab.bench.data)."""
    from rich.console import Console

    from reslab.bench.data import render_data, run_data_bench
    from reslab.utils.io import atomic_open

    result = run_data_bench(
        args.images,
        size=args.size or 224,
        batch=args.batch or 32,
        windows=args.windows or 15,
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    text = json.dumps(result.as_dict(), indent=2)
    if args.save:
        with atomic_open(args.save, "w") as f:
            f.write(text + "\n")
    if args.json:
        print(text)
    else:
        render_data(result, Console() if sys.stdout.isatty() else Console(width=200))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from reslab.bench.report import render, to_json
    from reslab.bench.runner import run_cases
    from reslab.errors import ConfigError
    from reslab.utils.io import atomic_open

    if args.suite == "data":
        return cmd_data(args)
    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env takes KEY=VALUE, got {item!r}")
        env[key] = value
    cases = build_cases(args)
    if any(c.device.startswith("cuda") for c in cases):
        import torch

        if not torch.cuda.is_available():
            hint = " (or --dry-run to try the GPU suite on the CPU)" if args.suite == "gpu" else ""
            raise ConfigError(f"these cases need a CUDA device and none is available{hint}")

    def save(rows: list) -> None:
        if args.save:
            with atomic_open(args.save, "w") as f:
                f.write(to_json(rows) + "\n")

    rows = run_cases(cases, reslab_env=env, on_row=save)
    text = to_json(rows)
    if args.json:
        print(text)
    else:
        from rich.console import Console

        render(rows, Console() if sys.stdout.isatty() else Console(width=200))
    return 0
