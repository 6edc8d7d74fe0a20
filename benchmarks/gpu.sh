#!/usr/bin/env bash
# The GPU suite of `reslab bench` in one command (meant to finish in < 10 min on one H100):
#   1. ResNet-56, the paper's full CIFAR schedule (64k iterations at batch 128, lr /10 at 32k
#      and 48k) on synthetic CIFAR-shaped data in reslab's in-memory path (bf16, channels_last,
#      torch.compile, the step replayed from a CUDA graph as train.cuda_graphs does), timed
#      from its first step; the eager reference's time is projected from its measured img/s;
#   2. the end-to-end ratio: reslab's in-memory epoch (compiled, graphed) vs the reference's torchvision
#      DataLoader pipeline (8 workers, pinned memory) and its bare step;
#   3. ResNet-50 at 224x224, bf16 training img/s vs the eager fp32 reference;
#   4. ResNet-56 with the training step captured in a CUDA graph.
# Rows are printed as a table and saved as JSON in $RESLAB_BENCH_OUT (default
# runs/bench). `--dry-run` runs the same cases on the CPU at tiny sizes, so the script
# is known to work on a machine without a GPU. Extra arguments go to `reslab bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python}"
OUT="${RESLAB_BENCH_OUT:-runs/bench}"
args=(--suite gpu)
if [ "${1:-}" = "--dry-run" ]; then
  args+=(--dry-run)
  shift
fi
mkdir -p "$OUT"
"$PYTHON" -m reslab bench "${args[@]}" --save "$OUT/gpu-$(date -u +%Y%m%dT%H%M%SZ).json" "$@"
