"""Time variants of one training step on a GPU, to choose reslab's fast path.

    python benchmarks/gpu_variants.py [--model resnet56] [--batch 128] [--size 32]

Each variant is checked first (a finite loss that falls over its warm-up steps on a fixed
batch), then timed with CUDA events: the median of several windows of steps, with the host
free to run ahead (no synchronisation inside a window). Prints ms/step, img/s, the ratio to the
eager fp32 NCHW reference and, for CIFAR-sized inputs, the projected time of the paper's
64,000-iteration schedule.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from reslab.engine.config import OptimConfig
from reslab.engine.graphs import GraphedTrainStep
from reslab.engine.optim import build_optimizer
from reslab.engine.step import forward_loss
from reslab.models import create, default_num_classes


def make_step(model, optimizer, dtype):
    """The trainer's eager step."""

    def step(x, y):
        loss, _ = forward_loss(model, x, y, dtype=dtype)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def make_graphed_step(forward, model, optimizer, dtype, lr: float = 0.01):
    """The trainer's graphed step (train.cuda_graphs): eager for 3 steps, then replayed."""
    graphed = GraphedTrainStep(forward, model, optimizer, dtype=dtype)
    return lambda x, y: graphed(x, y, lr)[0]


def variant(name, args, *, dtype, channels_last, compile_mode=None, graph=False):
    torch.manual_seed(0)
    num_classes = default_num_classes(args.model)
    model = create(args.model).cuda().train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    if name == "reference":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    else:
        optimizer = build_optimizer(model, OptimConfig(lr=0.01))
    fwd = torch.compile(model, mode=compile_mode) if compile_mode else model
    x = torch.randn(args.batch, 3, args.size, args.size, device="cuda").contiguous(
        memory_format=fmt
    )
    y = torch.randint(0, num_classes, (args.batch,), device="cuda")
    t0 = time.perf_counter()
    if graph:
        step = make_graphed_step(fwd, model, optimizer, dtype)
    else:
        step = make_step(fwd, optimizer, dtype)
    losses = [float(step(x, y)) for _ in range(args.warmup)]
    setup_s = time.perf_counter() - t0
    ok = all(map(lambda v: v == v and abs(v) != float("inf"), losses)) and losses[-1] < losses[0]
    times = []
    for _ in range(args.windows):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(args.steps):
            step(x, y)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / args.steps)
    ms = statistics.median(times)
    return {
        "variant": name,
        "ms": ms,
        "img_s": args.batch / ms * 1e3,
        "spread": (max(times) - min(times)) / ms,
        "setup_s": setup_s,
        "check": "ok" if ok else f"FAILED losses {losses[0]:.3f}->{losses[-1]:.3f}",
        "peak_gb": torch.cuda.max_memory_allocated() / 2**30,
    }


VARIANTS = {
    "reference": dict(dtype=None, channels_last=False),
    "eager bf16 CL": dict(dtype=torch.bfloat16, channels_last=True),
    "eager bf16 NCHW": dict(dtype=torch.bfloat16, channels_last=False),
    "graph bf16 CL": dict(dtype=torch.bfloat16, channels_last=True, graph=True),
    "compile bf16 CL": dict(dtype=torch.bfloat16, channels_last=True, compile_mode="default"),
    "compile+graph bf16 CL": dict(
        dtype=torch.bfloat16, channels_last=True, compile_mode="default", graph=True
    ),
    "graph bf16 NCHW": dict(dtype=torch.bfloat16, channels_last=False, graph=True),
    "autotune+graph bf16 CL": dict(
        dtype=torch.bfloat16,
        channels_last=True,
        compile_mode="max-autotune-no-cudagraphs",
        graph=True,
    ),
}


def profile_kernels(args, name: str, top: int = 20) -> None:
    """GPU time per kernel of one variant's step (torch.profiler, eager launches, no graph)."""
    from torch.profiler import ProfilerActivity, profile

    kw = {k: v for k, v in VARIANTS[name].items() if k != "graph"}
    torch.manual_seed(0)
    model = create(args.model).cuda().train().to(memory_format=torch.channels_last)
    fwd = torch.compile(model, mode=kw["compile_mode"]) if kw.get("compile_mode") else model
    step = make_step(fwd, build_optimizer(model, OptimConfig(lr=0.01)), kw["dtype"])
    x = torch.randn(args.batch, 3, args.size, args.size, device="cuda").contiguous(
        memory_format=torch.channels_last
    )
    y = torch.randint(0, default_num_classes(args.model), (args.batch,), device="cuda")
    for _ in range(5):  # compile and warm up outside the profile
        step(x, y)
    torch.cuda.synchronize()
    n = 10
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(n):
            step(x, y)
        torch.cuda.synchronize()
    rows = [
        (e.key, e.self_device_time_total / n / 1e3, e.count // n)
        for e in prof.key_averages()
        if e.self_device_time_total > 0
    ]
    rows.sort(key=lambda r: -r[1])
    total = sum(r[1] for r in rows)
    groups: dict[str, float] = {}
    for key, ms, _ in rows:
        k = key.lower()
        g = next(
            (
                g
                for g, words in (
                    (
                        "convolution (cuDNN/cutlass gemm)",
                        ("conv", "gemm", "sm90", "xmma", "cutlass", "wgrad", "dgrad"),
                    ),
                    ("batch norm", ("batch_norm", "bn_", "welford")),
                    ("optimizer", ("sgd", "foreach", "multi_tensor")),
                    ("fused elementwise (Triton)", ("triton",)),
                )
                if any(w in k for w in words)
            ),
            "other",
        )
        groups[g] = groups.get(g, 0.0) + ms
    print(f"\n{name}: GPU time per step {total:.2f} ms (sum of kernel times)")
    for g, ms in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {g:40} {ms:7.2f} ms {100 * ms / total:5.1f}%")
    print(f"  top {top} kernels:")
    for key, ms, calls in rows[:top]:
        print(f"  {ms:7.3f} ms {calls:4d}x  {key[:110]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet56")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--only", nargs="*", help="variants to run (default: all)")
    p.add_argument("--profile", metavar="VARIANT", help="only profile this variant's kernels")
    args = p.parse_args()
    torch.backends.cudnn.benchmark = True
    if args.profile:
        profile_kernels(args, args.profile)
        return
    rows = []
    for name, kw in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        torch.cuda.reset_peak_memory_stats()
        try:
            rows.append(variant(name, args, **kw))
        except Exception as e:  # report and go on: one failing variant must not hide the rest
            rows.append({"variant": name, "check": f"ERROR {type(e).__name__}: {e}"[:160]})
        r = rows[-1]
        print(f"{args.model} b{args.batch} {args.size}px {name}: {r}", flush=True)
    ref = next((r["img_s"] for r in rows if r["variant"] == "reference" and "img_s" in r), None)
    print(
        f"\n{args.model} batch {args.batch} {args.size}x{args.size} on {torch.cuda.get_device_name()}"
    )
    print(
        f"{'variant':24} {'ms/step':>8} {'img/s':>9} {'ratio':>6} {'64k it (s)':>10} {'setup s':>8} check"
    )
    for r in rows:
        if "ms" not in r:
            print(f"{r['variant']:24} {r['check']}")
            continue
        ratio = r["img_s"] / ref if ref else float("nan")
        print(
            f"{r['variant']:24} {r['ms']:8.2f} {r['img_s']:9.0f} {ratio:6.2f} "
            f"{64_000 * r['ms'] / 1e3:10.0f} {r['setup_s']:8.1f} {r['check']}"
        )


if __name__ == "__main__":
    main()
