#!/usr/bin/env bash
# Benchmark (not a test): GQA decode (Sq = 1, 32 query heads on 8 K/V
# heads, Skv = 16k) on the CPU, one head per work item (pack_gqa=0) against
# the 4 query heads of a K/V head packed into one tile (pack_gqa=1, which
# attn-select-schedule picks for it), side by side in one script: packing
# reads each K/V tile once per group instead of once per head.
# Usage: bench/cpu_pack_gqa_decode.sh [build-dir]
set -euo pipefail
source "$(dirname "$0")/cpu_bench_lib.sh"
COMMON="batch=1 heads=gqa:32:8 seq=1:16384 dim=128 dtype=f32"
unpacked=$("$RUN" --spec="$COMMON pack_gqa=0" --bench --reps=7)
echo "pack_gqa=0 : $(grep bench: <<<"$unpacked")"
packed=$("$RUN" --spec="$COMMON pack_gqa=1" --bench --reps=7)
echo "pack_gqa=1 : $(grep bench: <<<"$packed")"
ratio "pack_gqa=1 speedup over pack_gqa=0: %.2fx" "$(ms "$unpacked")" "$(ms "$packed")"
