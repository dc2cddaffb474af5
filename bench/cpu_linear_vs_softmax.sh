#!/usr/bin/env bash
# Benchmark (not a test): CPU time of causal linear attention (chunked as
# Lightning Attention-2) against causal softmax attention of the same shape,
# side by side in one script, at two sequence lengths. Softmax work grows as
# S^2 and the chunked linear program's as S, so the ratio should fall as S
# doubles. Usage: bench/cpu_linear_vs_softmax.sh [build-dir]
set -euo pipefail
source "$(dirname "$0")/cpu_bench_lib.sh"
for S in 2048 4096; do
  COMMON="batch=1 heads=4 seq=$S dim=64 dtype=f32 mask=causal"
  soft=$("$RUN" --spec="$COMMON" --bench --reps=3)
  lin=$("$RUN" --spec="kind=linear $COMMON feature=elu1 decay=alibi norm=sum" --bench --reps=3)
  echo "S=$S softmax: $(grep bench: <<<"$soft")"
  echo "S=$S linear : $(grep bench: <<<"$lin")"
  ratio "S=$S linear/softmax time ratio: %.3f" "$(ms "$lin")" "$(ms "$soft")"
done
