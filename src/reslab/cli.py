"""The `reslab` command: argument parsing only. Every command calls a library function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from reslab.errors import ReslabError

Handler = Callable[[argparse.Namespace], int]


def _console():
    from rich.console import Console

    # Off a terminal (pipes, CI logs) rich assumes 80 columns and truncates; tables need more.
    return Console() if sys.stdout.isatty() else Console(width=160)


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
            table.add_row(r["stage"], str(r["blocks"] or ""), str(r["out_channels"]),
                          str(r["stride"]), r["output"], f"{r['params']:,}")
        _console().print(table)
        return 0
    if not list_models(args.filter):
        raise ReslabError(f"no model matches {args.filter!r}; run `reslab models` to list them")
    rows = model_table(args.filter)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    table = Table(title="reslab models (GFLOPs: forward, 2 FLOPs per multiply-add)")
    for col in ("name", "family", "kind", "block", "shortcut", "depth", "params", "GFLOPs",
                "input"):
        table.add_column(col, justify="left" if col in ("name", "family", "kind") else "right")
    for r in rows:
        table.add_row(r.name, r.family + (" pre-act" if r.preact else ""), r.kind, r.block,
                      r.shortcut, str(r.depth), f"{r.params:,}", f"{r.gflops:.3f}",
                      "x".join(map(str, r.input_size)))
    _console().print(table)
    return 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list every registered model with params and FLOPs")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="model name for `show`")
    p.add_argument("--filter", help="glob or substring, e.g. 'plain*' or resnet5")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models)


# ----------------------------------------------------------------------------- main
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_models]


def build_parser() -> argparse.ArgumentParser:
    from reslab import __version__

    parser = argparse.ArgumentParser(
        prog="reslab",
        description="Deep residual networks: build, train, evaluate, reproduce the paper.")
    parser.add_argument("--version", action="version", version=f"reslab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except ReslabError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
