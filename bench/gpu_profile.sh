#!/usr/bin/env bash
# Nsight Compute beside the GPU check, on the GPU machine, into $1 (after
# bench/gpu_check.sh --prepare here): our GQA decode kernels (packed
# stream-K, bench9 / bench10), whose kernel time alone says how much of
# the harness's per-launch time is the launch path (workspace allocation
# and zeroing, the Python binding), and cuDNN's SDPA on the dense 8k
# prefill shape, the peer the prefill kernel is measured against.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARRY=${CARRY:-$ROOT/.carry}
OUT=${1:?usage: gpu_profile.sh OUTDIR}
PY=${PYTHON:-python3}
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
[ -n "$NCU" ] || { echo "gpu_profile: no ncu" >&2; exit 2; }
cmake -S "$ROOT/bench/runtime-only" -B "$CARRY/rt-build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build "$CARRY/rt-build" -j "$(nproc)" >/dev/null || exit 2
LIB=$(find "$CARRY/rt-build" -name 'libattn_runtime.so' | head -1)
SECTIONS=(--section SpeedOfLight --section ComputeWorkloadAnalysis
          --section MemoryWorkloadAnalysis --section Occupancy
          --section LaunchStats --section SchedulerStats)
for b in bench9 bench10; do
  timeout -k 5 90 "$NCU" --clock-control none --kernel-name "$b" \
    --launch-skip 1 --launch-count 2 \
    "${SECTIONS[@]}" "$PY" "$ROOT/bench/profile_one.py" \
    "$CARRY/bundles/bench/$b.json" "$LIB" sm_90a > "$OUT/ncu-$b.txt" 2>&1
  grep -E '^  [a-zA-Z_].*\(|Duration|Registers Per|Achieved Occupancy|DRAM Throughput' \
    "$OUT/ncu-$b.txt"
done
timeout -k 5 90 "$NCU" --clock-control none --kernel-name regex:'(?i)sdpa|fmha|flash|attn' \
  --launch-skip 2 --launch-count 1 "${SECTIONS[@]}" "$PY" -c '
import torch, torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
q, k, v = (torch.randn(2, 16, 8192, 128, device="cuda", dtype=torch.bfloat16)
           for _ in range(3))
with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
    for _ in range(3):
        F.scaled_dot_product_attention(q, k, v)
torch.cuda.synchronize()' > "$OUT/ncu-cudnn-dense8k.txt" 2>&1
grep -E '^  [a-zA-Z_].*\(|Duration|Registers Per|Achieved Occupancy|Compute \(SM\)|Issue Slots' \
  "$OUT/ncu-cudnn-dense8k.txt"
