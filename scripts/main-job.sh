#!/usr/bin/env bash
# README command (a): install, build, compile an example as far as the
# pipeline reaches today and check it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
OPT="$BUILD/bin/attention-opt"
EX="$ROOT/examples/gqa_causal.mlir"
OUT=${OUT_DIR:-$ROOT/out}
mkdir -p "$OUT"
echo "== $EX: verify, choose schedules, report"
"$OPT" "$EX" --verify-roundtrip -o /dev/null
for t in cpu sm_80 sm_90 gfx942; do
  "$OPT" "$EX" --attn-select-schedule=target=$t -o "$OUT/gqa_causal.$t.mlir"
  "$OPT" "$OUT/gqa_causal.$t.mlir" --attn-report=target=$t -o /dev/null
done
if [ -x "$BUILD/bin/attention-run" ]; then
  "$BUILD/bin/attention-run" "$EX" --target=cpu --check
fi
