#!/usr/bin/env bash
# Benchmark (not a test): single-head decode (Sq = 1, Skv = 64k, one output
# tile) on the CPU, flash (one work item, so one thread) against stream-K
# (the KV work split over 2 and 8 workers, shares merged by the last to
# arrive), side by side in one script. Usage: bench/cpu_stream_k_decode.sh [build-dir]
set -euo pipefail
BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
RUN="$BUILD/bin/attention-run"
COMMON="batch=1 heads=1 seq=1:65536 dim=128 dtype=f32"
ms() { sed -n 's/.*run_ms=\([0-9.]*\).*/\1/p' <<<"$1"; }
flash=$("$RUN" --spec="$COMMON schedule=flash" --bench --reps=7)
echo "flash      : $(grep bench: <<<"$flash")"
for n in 2 8; do
  sk=$("$RUN" --spec="$COMMON schedule=stream_k:$n" --bench --reps=7)
  echo "stream_k:$n : $(grep bench: <<<"$sk")"
  awk -v f="$(ms "$flash")" -v s="$(ms "$sk")" -v n="$n" \
    'BEGIN { printf "stream_k:%d speedup over flash: %.2fx\n", n, f / s }'
done
