#!/usr/bin/env bash
# README command (a): install, build, compile examples/gqa_causal.mlir to
# every target (PTX + cubin for sm_80 / sm_90 / sm_90a (wgmma) when ptxas is present, HSACO
# for gfx90a / gfx942, the CPU shared object), then run the CPU kernel
# against the fp64 reference (and the sm_80 / sm_90a / gfx942 kernels on the
# emulator), the GQA decode example (examples/gqa_decode.mlir: packed heads
# and stream-K; PTX + cubin, HSACO and CPU; the CPU kernel and the sm_90a
# and gfx942 kernels on the emulator against the reference), the
# linear-attention example (examples/lightning_linear.mlir: PTX + cubin,
# HSACO and CPU; the CPU kernel and the sm_80 and gfx942 kernels on the
# emulator against the reference) and the embedded-bundle example.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
OPT="$BUILD/bin/attention-opt"
EX="$ROOT/examples/gqa_causal.mlir"
OUT=${OUT_DIR:-$ROOT/out}
TARGETS=gfx90a,gfx942,cpu
[ -x /usr/local/cuda/bin/ptxas ] && TARGETS=sm_80,sm_90,sm_90a,gfx90a,gfx942,cpu
mkdir -p "$OUT"
echo "== attention-opt $EX --attn-compile=target=$TARGETS --emit-dir=$OUT"
"$OPT" "$EX" --attn-compile="target=$TARGETS" --emit-dir="$OUT"
ls -l "$OUT"
echo "== tile report (cpu tiles)"
"$OPT" "$EX" --attn-report=target=cpu -o /dev/null
echo "== CPU kernel vs the fp64 reference"
"$BUILD/bin/attention-run" "$EX" --check --bench
if [ -x /usr/local/cuda/bin/ptxas ]; then
  # No GPU here: the NVIDIA kernels' own code on the nvemu emulator.
  for t in sm_80 sm_90a; do
    echo "== $t kernel on the nvemu emulator vs the fp64 reference"
    "$BUILD/bin/attention-run" "$EX" --check --target=$t
  done
fi
echo "== gfx942 kernel on the emulator (wave64) vs the fp64 reference"
"$BUILD/bin/attention-run" "$EX" --check --target=gfx942
DEC="$ROOT/examples/gqa_decode.mlir"
DEC_TARGETS=gfx942,cpu
[ -x /usr/local/cuda/bin/ptxas ] && DEC_TARGETS=sm_80,sm_90a,gfx942,cpu
echo "== GQA decode ($DEC): the schedule sm_90a and the CPU get (pack_gqa, stream-K)"
"$OPT" "$DEC" --attn-select-schedule=target=sm_90a | grep -o '{heads.*}'
"$OPT" "$DEC" --attn-select-schedule=target=cpu | grep -o '{heads.*}'
echo "== GQA decode: bundle for $DEC_TARGETS, then the kernels vs the fp64 reference"
"$OPT" "$DEC" --attn-compile="target=$DEC_TARGETS" --emit-dir="$OUT"
"$BUILD/bin/attention-run" "$DEC" --check --bench
if [ -x /usr/local/cuda/bin/ptxas ]; then
  "$BUILD/bin/attention-run" "$DEC" --check --target=sm_90a
fi
"$BUILD/bin/attention-run" "$DEC" --check --target=gfx942
LIN="$ROOT/examples/lightning_linear.mlir"
echo "== linear attention ($LIN): bundle for sm_80, sm_90, gfx942 and the CPU, then the kernels vs the fp64 reference"
"$OPT" "$LIN" --attn-compile="target=sm_80,sm_90,gfx942,cpu" --emit-dir="$OUT"
"$BUILD/bin/attention-run" "$LIN" --check --bench
"$BUILD/bin/attention-run" "$LIN" --check --target=sm_80
"$BUILD/bin/attention-run" "$LIN" --check --target=gfx942
echo "== embedded bundle (examples/embed)"
"$BUILD/examples/embed/attn-embed-example"
