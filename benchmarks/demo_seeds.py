"""How the demo's verdicts depend on its seeds: train the demo's study (its recipe, one
thread per net) on many seeds, then judge every 3-seed subset as the demo would.

    python benchmarks/demo_seeds.py --seeds 0-19 [--out runs] [--threads 1] [--size 3]

Prints each net's final training error per seed, then, over all subsets of ``--size`` seeds,
how often each combination of verdicts comes out, how many sets have a claim "not observed",
and in how many the plateau rule holds. The subsets share seeds, so the counts describe these
seeds, not independent trials. Re-running reuses the trained nets (about 70 s per seed on a
2-core CPU).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from reslab.studies.degradation import run_degradation, seed_subsets
from reslab.studies.demo import DemoConfig, demo_degradation


def parse_seeds(text: str) -> list[int]:
    """'0-19' or '0,1,2' or '0-4,9'."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-19", help="e.g. 0-19 or 0,1,2 (default 0-19)")
    parser.add_argument("--out", default="runs", help="parent directory (default runs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per net")
    parser.add_argument("--size", type=int, default=3, help="seeds per subset (the demo's 3)")
    args = parser.parse_args()

    seeds = parse_seeds(args.seeds)
    cfg = demo_degradation(
        DemoConfig(seeds=tuple(seeds), threads=args.threads), Path(args.out) / "demo-seeds"
    )
    cfg = replace(cfg, name=f"degradation-t{args.threads}")
    runs = json.loads((run_degradation(cfg) / "results.json").read_text())["runs"]

    print("final training error % per seed:")
    print(f"  {'seed':9}" + "".join(f"{s:>7}" for s in seeds))
    for model in dict.fromkeys(r["model"] for r in runs):
        by_seed = {r["seed"]: r["final"]["train_error"] for r in runs if r["model"] == model}
        print(f"  {model:9}" + "".join(f"{by_seed[s]:7.2f}" for s in seeds))

    out = seed_subsets(runs, size=args.size)
    n = out["sets"]
    print(f"\n{n} subsets of {args.size} seeds; verdicts ({', '.join(out['claims'])}):")
    for statuses, count in out["verdicts"].items():
        print(f"  {count:6d} ({100 * count / n:4.1f}%)  {' / '.join(statuses)}")
    print(f"sets with a claim 'not observed': {out['not_observed']}")
    held = out["plateau_held"]
    print(f"sets where the plateau rule holds: {held} ({100 * held / n:.1f}%)")


if __name__ == "__main__":
    main()
