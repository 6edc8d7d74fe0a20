"""Argument parsing for `reslab bench` (kept free of heavy imports)."""

from __future__ import annotations

import argparse


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure training/eval speed against an eager reference")
    p.set_defaults(func=lambda args: (print("reslab bench: not built yet"), 1)[1])
