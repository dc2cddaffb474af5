#!/usr/bin/env bash
# Benchmark (not a test): CPU time of causal vs non-causal prefill at
# Sq = Skv = 2048 in the same script, reported as a ratio, plus the compile
# time from spec to .so. Usage: bench/cpu_causal_vs_dense.sh [build-dir]
set -euo pipefail
source "$(dirname "$0")/cpu_bench_lib.sh"
COMMON="batch=1 heads=4 seq=2048 dim=64 dtype=f32"
dense=$("$RUN" --spec="$COMMON" --bench --reps=3)
causal=$("$RUN" --spec="$COMMON mask=causal" --bench --reps=3)
echo "dense : $(grep bench: <<<"$dense")"
echo "causal: $(grep bench: <<<"$causal")"
ratio "causal/dense time ratio: %.3f (target <= 0.6)" "$(ms "$causal")" "$(ms "$dense")"
echo "compile time spec -> .so: dense $(cs "$dense") s, causal $(cs "$causal") s"
