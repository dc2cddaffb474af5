#!/usr/bin/env bash
# Benchmark (not a test): single-head decode (Sq = 1, Skv = 64k, one output
# tile) on the CPU, flash (one work item, so one thread) against stream-K
# (the KV work split over 2 and 8 workers, shares merged by the last to
# arrive) and split_kv (the tile's KV loop in 2 and 8 splits, same merge),
# side by side in one script. Usage: bench/cpu_stream_k_decode.sh [build-dir]
set -euo pipefail
source "$(dirname "$0")/cpu_bench_lib.sh"
COMMON="batch=1 heads=1 seq=1:65536 dim=128 dtype=f32"
flash=$("$RUN" --spec="$COMMON schedule=flash" --bench --reps=7)
echo "flash      : $(grep bench: <<<"$flash")"
for sched in stream_k split_kv; do
  for n in 2 8; do
    sk=$("$RUN" --spec="$COMMON schedule=$sched:$n" --bench --reps=7)
    echo "$sched:$n : $(grep bench: <<<"$sk")"
    ratio "$sched:$n speedup over flash: %.2fx" "$(ms "$flash")" "$(ms "$sk")"
  done
done
