#!/usr/bin/env bash
# The GPU check, in one call.
#
#   bench/gpu_check.sh --prepare   (here, with LLVM 22) compiles the check and
#                                  bench bundles into .carry/bundles/
#   bench/gpu_check.sh             (on the GPU machine) builds the runtime,
#                                  runs every check bundle against the fp64
#                                  reference, times bf16 prefill against
#                                  PyTorch SDPA (flash, cuDNN) and
#                                  FlexAttention, and writes
#                                  bench/results/<date>-<commit>.{json,md}
#   bench/gpu_check.sh --cpu       the same harness on the CPU target (tests
#                                  the runtime / harness plumbing anywhere)
#   bench/gpu_check.sh --emulate   (here) the check bundles' sm_80, sm_90 and
#                                  sm_90a kernels (all sm_90a variants), their
#                                  own code, run on the CPU by the nvemu
#                                  emulator (tools/nvemu) through the
#                                  runtime's CUDA path, against the same fp64
#                                  reference
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARRY=${CARRY:-$ROOT/.carry}
BUNDLES=$CARRY/bundles
MODE=${1:-gpu}

# Check set: masks / mods / dims / dtypes / ragged lengths the GPU kernels
# support (f16 / bf16 on the mma.sync kernel, and on the wgmma kernel for
# sm_90a; f32 on the SIMT kernel), each compiled for sm_80, sm_90, sm_90a and
# the CPU. On the GPU every bundle is checked on sm_90 and on sm_90a. The
# sm_90a default is the warp-specialized TMA kernel; the variants/ folder
# holds the same bundles built as the
# TMA kernel without a producer warpgroup (tma), as the cp.async wgmma
# kernel (cp-async), with P V overlapped with the next softmax (overlap) and
# with that overlap plus the two math warpgroups taking turns (pingpong),
# with exponentials as ex2.approx.f32 instead of ex2.approx.ftz.f32
# (plain-exp2), and with persistent CTAs, one per SM (persistent=sm), each
# walking output tiles
# (persistent; under --emulate 2 CTAs, so the check shapes' CTAs walk
# several tiles), checked and timed too, so one run tells which part of
# the sm_90a pipeline a failure or a slowdown comes from.
CHECK_SPECS=(
  "heads=4 seq=200 dim=64 dtype=bf16"
  "heads=gqa:8:2 seq=200 dim=128 dtype=bf16 mask=causal lse=1"
  "heads=mqa:4 seq=77:300 dim=64 dtype=f16 mask=causal"
  "heads=4 seq=130 dim=64 dtype=bf16 mask=causal-topleft"
  "heads=4:2:1 seq=150 dim=32:80 dtype=bf16 mask=window:32"
  "heads=4 seq=257 dim=128 dtype=f16 mask=sink:4+window:64 lse=1"
  "heads=2 seq=90 dim=64 dtype=bf16 mask=causal score=softcap:20"
  "heads=4 seq=90 dim=64 dtype=bf16 score=alibi mask=causal"
  "heads=2 seq=64 dim=64 dtype=bf16 norm=sigmoid:-1 mask=causal"
  "heads=2 seq=100 dim=64 dtype=bf16 gate=1 lse=1"
  "heads=2 seq=100 dim=256 dtype=bf16 mask=causal"
  "heads=2 seq=40:8 dim=64 dtype=bf16 mask=causal lse=1"
  "batch=2 heads=xsqa:16 seq=333 dim=96 dtype=f16 mask=causal"
  # Head dims off the 16 grid: 72 steps wgmma over zeros TMA fills past the
  # tensor (sm_90a) and K's zeroed row padding (mma.sync); 20:36 (8 k + 4)
  # moves rows by 8-byte cp.async on mma.sync everywhere.
  "heads=4 seq=180 dim=72 dtype=bf16 mask=causal"
  "heads=2 seq=100 dim=20:36 dtype=f16 lse=1"
  "heads=gqa:4:2 seq=200 dim=64 dtype=f32 mask=causal lse=1"
  "heads=2 seq=150 dim=128:96 dtype=f32 mask=sink:4+window:32 gate=1"
  # Stream-K decode (shares merged through the global workspace), its 4
  # query heads per K/V head packed into one tile (pack_gqa, chosen by the
  # schedule); packed prefill rows spread over tiles.
  "heads=gqa:8:2 seq=1:3000 dim=128 dtype=bf16 lse=1 schedule=stream_k:132"
  "heads=gqa:16:2 seq=5:700 dim=64 dtype=bf16 mask=causal lse=1 pack_gqa=1"
  "heads=2 seq=3:2000 dim=64 dtype=f32 mask=causal schedule=stream_k:16"
  # split_kv (FlashDecoding) on the same protocol: N CTAs per output tile,
  # the workspace sized per launch from the manifest's formula.
  "batch=2 heads=gqa:8:2 seq=1:2000 dim=128 dtype=bf16 lse=1 schedule=split_kv:8"
  "heads=2 seq=70:600 dim=64 dtype=f16 mask=causal schedule=split_kv:3"
  # Linear attention (Lightning Attention-2 chunks, state in shared memory):
  # decay and state, taylor2 with Dv split over blocks, non-causal; bf16 on
  # mma.sync tiles (taylor2's phi(q) and scores split hi + lo), f16 on
  # mma.sync with every operand split hi + lo, f32 on FMAs.
  "kind=linear heads=4 seq=300 dim=64 dtype=bf16 feature=elu1 decay=alibi norm=sum state=inout"
  "kind=linear heads=3 seq=190 dim=32 dtype=f16 feature=elu1 decay=0.99 norm=sum state=inout"
  "kind=linear batch=2 heads=2 seq=130 dim=16:96 dtype=f16 feature=taylor2 decay=0.99 state=out"
  "kind=linear heads=2 seq=250 dim=16:48 dtype=bf16 feature=taylor2 norm=sum decay=0.99 state=inout"
  "kind=linear heads=2 seq=200 dim=32 dtype=f32 mask=none feature=relu norm=sum"
  # A split sequence: blocks of 5 segments hand their states on through
  # the workspace (the CTAs wait for one another on the GPU).
  "kind=linear batch=2 heads=2 seq=600 dim=32:80 dtype=f16 feature=elu1 decay=0.9 norm=sum state=inout schedule=split_kv:5"
)
# Bench set: dense and causal bf16, head dim 128.
BENCH_SPECS=()
for s in 1024 2048 4096 8192; do
  b=$(( 16384 / s )); [ "$b" -ge 1 ] || b=1
  BENCH_SPECS+=("batch=$b heads=16 seq=$s dim=128 dtype=bf16")
  BENCH_SPECS+=("batch=$b heads=16 seq=$s dim=128 dtype=bf16 mask=causal")
done
# Decode (one query row, GQA): the schedule picks stream-K over tiles of the
# 4 query heads of a K/V head (pack_gqa); the "flash" variant times the
# flash kernel (packed too), "unpacked" stream-K with one head per tile and
# "split-kv" split_kv with at most one CTA per SM (floor(132 / packed
# tiles) splits), and "row-warps" the schedule's stream-K on the prefill
# tiles (8 warps of 16 rows, one of them with the packed rows) instead of
# the decode tiles' 4 KV warps, on the same inputs beside it.
BENCH_SPECS+=("batch=1 heads=gqa:32:8 seq=1:16384 dim=128 dtype=bf16")
BENCH_SPECS+=("batch=4 heads=gqa:32:8 seq=1:8192 dim=128 dtype=bf16")
# Linear attention (sm_90; sm_90a builds the same kernel): Lightning
# Attention's shape (identity features, per-head decay), timed beside the
# chunked algorithm in PyTorch and flash-linear-attention; and elu1 with
# the normalizer, beside PyTorch only.
LINEAR_BENCH_SPECS=(
  "kind=linear batch=4 heads=16 seq=4096 dim=128 dtype=bf16 decay=alibi"
  "kind=linear batch=8 heads=16 seq=2048 dim=64 dtype=bf16 decay=alibi"
  "kind=linear batch=4 heads=16 seq=4096 dim=64 dtype=bf16 feature=elu1 norm=sum"
  # One batch entry of 4 heads: the schedule splits the sequence into 9
  # segments of 32-column blocks (144 blocks); pinned to flash, the columns
  # narrow to 16 instead (32 blocks). elu1 + norm=sum: PyTorch only, no
  # new shape for FLA to autotune.
  "kind=linear batch=1 heads=4 seq=16384 dim=128 dtype=bf16 feature=elu1 norm=sum decay=alibi"
  "kind=linear batch=1 heads=4 seq=16384 dim=128 dtype=bf16 feature=elu1 norm=sum decay=alibi schedule=flash"
)

# The sm_90a variants (their folders under variants/).
declare -A VARIANT=([tma]="warp-specialize=0" [cp-async]="tma=0" [overlap]="overlap=1"
                    [pingpong]="overlap=1 pingpong=1" [persistent]="persistent=sm"
                    [plain-exp2]="exp2-ftz=0")
OPT=${ATTENTION_OPT:-$ROOT/build/bin/attention-opt}
# One bundle into $OUT/<folder> for the targets, and its sm_90a variants
# into $OUT/variants/<variant>/<folder>; $EXTRA adds --attn-compile options.
EXTRA=""
compile() { # spec name folder targets
  "$OPT" --gen="name=$2 $1" -o "$OUT/$2.mlir"
  "$OPT" "$OUT/$2.mlir" --attn-compile="target=$4 $EXTRA" --emit-dir="$OUT/$3"
  # The variants' options choose among softmax kernels; linear attention
  # has one kernel.
  [[ "$1" == kind=linear* ]] && return
  for v in "${!VARIANT[@]}"; do
    mkdir -p "$OUT/variants/$v/$3"
    "$OPT" "$OUT/$2.mlir" --attn-compile="target=sm_90a $EXTRA ${VARIANT[$v]}" \
      --emit-dir="$OUT/variants/$v/$3" >/dev/null
  done
}
# Bench spec $2 (bench$3) with the --gen options after "label:" in $1,
# for target $4 (and --attn-compile options $5), into
# variants/<label>/bench: a candidate the GPU times.
spec_variant() { # label:gen-options spec index target [compile-options]
  mkdir -p "$BUNDLES/variants/${1%%:*}/bench"
  "$OPT" --gen="name=bench$3 $2 ${1#*:}" -o "$BUNDLES/${1%%:*}$3.mlir"
  "$OPT" "$BUNDLES/${1%%:*}$3.mlir" --attn-compile="target=$4 ${5:-}" \
    --emit-dir="$BUNDLES/variants/${1%%:*}/bench" >/dev/null
}
# Prefill candidates timed beside the variants above, as
# "label|tile|sm_90a options|specs" (specs: all, or dense for the specs
# without a mask): cuDNN's shape on the H200 (a persistent grid of 132
# CTAs of 3 warpgroups, 232 KB of shared memory: 3 stages of 128 x 128)
# with the ping-pong and overlap schedules, and KV tiles between 128 and
# FlashAttention-3's 176 (160 and 144 fit 2 stages, the overlapped kernel
# at 160 only under a 24-register producer, which the compile's trial
# finds; 112 and 96 take 3 and 4 stages),
# and the cost model's 128 x 128 with the producer pinned to 24 registers
# (producer-registers=24: 240 for each math warpgroup, FlashAttention-3's
# split, where the compile's first choice is 72, leaving them 216), and
# FlashAttention-3's whole hd128 configuration for dense attention: 128 x
# 176, 2 stages, overlap, ping-pong, 24 / 240 registers; and ping-pong
# without the overlap (a turn: P V and the next S, FlashAttention-3's
# schedule for that kernel) on the default kernel, the fastest measured:
# alone, under a 24-register producer and with persistent CTAs (also on
# cuDNN's 3 stages).
# The persistent overlapped kernel at 128 x 128 spills with a causal mask
# (the compile falls back to the TMA kernel without a producer), so it is
# a dense candidate only. Every entry passes on nvemu, with the kernel it
# names (ctest nvemu-prefill-sweep).
PREFILL_SWEEP=(
  "persistent-stages3-pingpong|128x128 warps=8 stages=3|persistent=sm overlap=1 pingpong=1|dense"
  "persistent-stages3-overlap|128x128 warps=8 stages=3|persistent=sm overlap=1|dense"
  "stages3-overlap|128x128 warps=8 stages=3|overlap=1|all"
  "kv160-pingpong|128x160 warps=8 stages=2|overlap=1 pingpong=1|all"
  "kv144-pingpong|128x144 warps=8 stages=2|overlap=1 pingpong=1|all"
  "kv112-stages3-pingpong|128x112 warps=8 stages=3|overlap=1 pingpong=1|all"
  "persistent-kv112-stages3-pingpong|128x112 warps=8 stages=3|persistent=sm overlap=1 pingpong=1|all"
  "persistent-kv96-stages4-pingpong|128x96 warps=8 stages=4|persistent=sm overlap=1 pingpong=1|all"
  "producer24|128x128 warps=8 stages=2|producer-registers=24|all"
  "overlap-producer24|128x128 warps=8 stages=2|overlap=1 producer-registers=24|all"
  "pingpong-producer24|128x128 warps=8 stages=2|overlap=1 pingpong=1 producer-registers=24|all"
  "kv176-pingpong-producer24|128x176 warps=8 stages=2|overlap=1 pingpong=1 producer-registers=24|dense"
  "ws-pingpong|128x128 warps=8 stages=2|pingpong=1|all"
  "ws-pingpong-producer24|128x128 warps=8 stages=2|pingpong=1 producer-registers=24|all"
  "persistent-ws-pingpong|128x128 warps=8 stages=2|persistent=sm pingpong=1|all"
  "persistent-stages3-ws-pingpong|128x128 warps=8 stages=3|persistent=sm pingpong=1|all"
)
if [ "$MODE" = "--prepare" ]; then
  OUT=$BUNDLES
  rm -rf "$BUNDLES" && mkdir -p "$BUNDLES/check" "$BUNDLES/bench"
  i=0
  for s in "${CHECK_SPECS[@]}"; do
    i=$((i + 1)); compile "$s" check$i check sm_80,sm_90,sm_90a,cpu
  done
  i=0
  for s in "${BENCH_SPECS[@]}"; do
    i=$((i + 1)); compile "$s" bench$i bench sm_90,sm_90a
    # Bench only (its outputs are checked against SDPA): decode schedules
    # beside stream-K (below), and for prefill 3 stages of 128 x 128 K / V
    # tiles (225 KiB of shared memory, as cuDNN's kernel takes) with and
    # without persistent CTAs, beside the default's 2; and
    # FlashAttention-3's 176-column KV tile (kv176), and dense also with
    # P V overlapped (kv176-overlap) and ping-pong (kv176-pingpong), the
    # kernel FlashAttention-3 runs there; and the cost model's tiles with
    # persistent CTAs, overlap and ping-pong (persistent-pingpong, its
    # causal kernel).
    if [[ "$s" == *"seq=1:"* ]]; then
      [[ "$s" =~ batch=([0-9]+).*gqa:[0-9]+:([0-9]+) ]]
      tiles=$(( BASH_REMATCH[1] * BASH_REMATCH[2] ))
      for v in "flash:schedule=flash" "unpacked:pack_gqa=0" \
               "split-kv:schedule=split_kv:$(( tiles < 132 ? 132 / tiles : 1 ))" \
               "row-warps:schedule=stream_k:132 tile=128x32 warps=8 stages=2"; do
        spec_variant "$v" "$s" $i sm_90a
      done
      # More K / V bytes in flight a worker (the default keeps one 32 KiB
      # tile in flight beside the one it computes, and streams 1.5-2.2
      # TB/s): 3 or 4 stages of the default's tile, 32 columns a KV warp
      # with 3 stages, and two workers an SM with 3 stages.
      for v in "decode-s3:tile=16x64 warps=4 stages=3" \
               "decode-s4:tile=16x64 warps=4 stages=4" \
               "decode-kv128:tile=16x128 warps=4 stages=3" \
               "decode-sk264:schedule=stream_k:264 tile=16x64 warps=4 stages=3"; do
        spec_variant "$v" "$s" $i sm_90a
      done
      continue
    fi
    mkdir -p "$BUNDLES/variants/stages3/bench" "$BUNDLES/variants/persistent-stages3/bench" \
      "$BUNDLES/variants/stages3-pingpong/bench"
    "$OPT" --gen="name=bench$i $s tile=128x128 warps=8 stages=3" -o "$BUNDLES/stages$i.mlir"
    "$OPT" "$BUNDLES/stages$i.mlir" --attn-compile="target=sm_90a" \
      --emit-dir="$BUNDLES/variants/stages3/bench" >/dev/null
    "$OPT" "$BUNDLES/stages$i.mlir" --attn-compile="target=sm_90a persistent=sm" \
      --emit-dir="$BUNDLES/variants/persistent-stages3/bench" >/dev/null
    # The ping-pong kernel with a third stage: V waits for the next tile's
    # softmax there, so one more stage keeps two tiles in flight.
    "$OPT" "$BUNDLES/stages$i.mlir" --attn-compile="target=sm_90a overlap=1 pingpong=1" \
      --emit-dir="$BUNDLES/variants/stages3-pingpong/bench" >/dev/null
    mkdir -p "$BUNDLES/variants/persistent-pingpong/bench"
    "$OPT" "$BUNDLES/bench$i.mlir" \
      --attn-compile="target=sm_90a persistent=sm overlap=1 pingpong=1" \
      --emit-dir="$BUNDLES/variants/persistent-pingpong/bench" >/dev/null
    "$OPT" --gen="name=bench$i $s tile=128x176 warps=8 stages=2" -o "$BUNDLES/kv176$i.mlir"
    kv176=(kv176:)
    [[ "$s" == *"mask="* ]] ||
      kv176+=(kv176-overlap:"overlap=1" kv176-pingpong:"overlap=1 pingpong=1")
    for v in "${kv176[@]}"; do
      mkdir -p "$BUNDLES/variants/${v%%:*}/bench"
      "$OPT" "$BUNDLES/kv176$i.mlir" --attn-compile="target=sm_90a ${v#*:}" \
        --emit-dir="$BUNDLES/variants/${v%%:*}/bench" >/dev/null
    done
    for v in "${PREFILL_SWEEP[@]}"; do
      IFS='|' read -r label tile options specs <<< "$v"
      [[ "$specs" == dense && "$s" == *"mask="* ]] && continue
      spec_variant "$label:tile=$tile" "$s" $i sm_90a "$options"
    done
  done
  for s in "${LINEAR_BENCH_SPECS[@]}"; do
    i=$((i + 1))
    "$OPT" --gen="name=bench$i $s" -o "$BUNDLES/bench$i.mlir"
    "$OPT" "$BUNDLES/bench$i.mlir" --attn-compile="target=sm_90" --emit-dir="$BUNDLES/bench"
    # More blocks resident and in flight (the cost model fills each SM
    # with one block of 4 warps, e.g. 130 KB of shared memory at hd128):
    # 4 sequence segments on the cost model's columns, 32 columns with 2
    # segments (89 KB, two blocks an SM), 64 columns with 4 segments; and
    # 8 warps a block on 64 and 32 columns (the schedule's segments): twice
    # the warps to hide a chunk's ldmatrix / mma latencies and barriers.
    # Not for a spec that pins its schedule.
    [[ "$s" == *"schedule="* ]] && continue
    for v in "lin-s4:schedule=split_kv:4" \
             "lin-c32s2:tile=64x32 warps=4 stages=1 schedule=split_kv:2" \
             "lin-c64s4:tile=64x64 warps=4 stages=1 schedule=split_kv:4" \
             "lin-w8:tile=64x64 warps=8 stages=1" \
             "lin-c32w8:tile=64x32 warps=8 stages=1"; do
      spec_variant "$v" "$s" $i sm_90
    done
  done
  # flash-linear-attention, a peer the GPU machine lacks, travels as wheels
  # (pure Python + Triton); without PyPI the linear bench times PyTorch only.
  # (ATTN_NO_WHEELS=1: not needed, e.g. ctest's --cpu run.)
  if [ "${ATTN_NO_WHEELS:-0}" != 1 ]; then
    mkdir -p "$CARRY/wheels"
    "${PYTHON:-/usr/bin/python3}" -m pip download -q --timeout 20 --no-deps \
      -d "$CARRY/wheels" flash-linear-attention fla-core einops 2>/dev/null ||
      echo "gpu_check: no flash-linear-attention wheels (no PyPI?); linear bench without it"
  fi
  rm -f "$BUNDLES"/*.mlir "$BUNDLES"/*/*.h "$BUNDLES"/variants/*/*/*.h
  # The bench-only variants run on the H200 from their sm_90a cubins (the
  # runtime prefers a cubin of the device's arch to PTX and reads a
  # kernel's file only to launch it), so their PTX (24 MB, a third of the
  # bundles) is dropped: the carry to the GPU machine holds 64 MiB in all.
  rm -f "$BUNDLES"/variants/*/bench/*.ptx
  echo "gpu_check: bundles in $BUNDLES ($(ls "$BUNDLES/check"/*.json | wc -l) check, $(ls "$BUNDLES/bench"/*.json | wc -l) bench)"
  exit 0
fi

if [ "$MODE" = "--emulate" ]; then
  # The check bundles as --prepare builds them (sm_90a variants included),
  # each kernel also built for the emulator; their objects go to one folder
  # (named by the binary's hash, so they cannot collide).
  NVEMU_DRIVER=${NVEMU_DRIVER:-$(dirname "$OPT")/../tools/nvemu/libnvemu_cuda.so}
  EMU=$CARRY/emulate
  OUT=$EMU EXTRA="emulation=1"
  VARIANT[persistent]="persistent=2"
  rm -rf "$EMU" && mkdir -p "$EMU/check" "$EMU/nvemu"
  i=0
  for s in "${CHECK_SPECS[@]}"; do
    i=$((i + 1)); compile "$s" check$i check sm_80,sm_90,sm_90a >/dev/null
  done
  # (A kernel no variant changes, e.g. f32, comes once per set: same file.)
  for f in "$EMU"/check/nvemu/*.so "$EMU"/variants/*/check/nvemu/*.so; do
    mv -f "$f" "$EMU/nvemu/"
  done
  BUNDLES=$EMU
fi

# A Python with numpy (the GPU machine's has torch too; here Debian's).
PY=${PYTHON:-}
for cand in python3 /usr/bin/python3; do
  [ -n "$PY" ] && break
  "$cand" -c "import numpy" 2>/dev/null && PY=$cand
done
[ -n "$PY" ] || { echo "gpu_check: no python3 with numpy" >&2; exit 2; }

[ -d "$BUNDLES/check" ] || { echo "gpu_check: no bundles in $BUNDLES; run $0 --prepare where LLVM 22 is installed" >&2; exit 2; }
cmake -S "$ROOT/bench/runtime-only" -B "$CARRY/rt-build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$CARRY/rt-build" -j "$(nproc)" >/dev/null
LIB=$(find "$CARRY/rt-build" -name 'libattn_runtime.so' | head -1)
# The GPU machine's copy of the tree has no .git: the caller names the
# commit (ATTN_COMMIT) the bundles were prepared from.
ATTN_COMMIT=${ATTN_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
export ATTN_COMMIT
stamp="$(date -u +%F)-$ATTN_COMMIT"
if [ "$MODE" = "--emulate" ]; then
  # One process per architecture: the runtime reads the device's once.
  rc=0
  for arch in sm_80 sm_90 sm_90a; do
    ATTN_NVEMU_ARCH=$arch ATTN_CUDA_LIBRARY=$NVEMU_DRIVER ATTN_NVEMU_DIR=$BUNDLES/nvemu \
      "$PY" "$ROOT/bench/gpu_check.py" --bundles "$BUNDLES" --runtime "$LIB" \
      --target "$arch" --host-buffers --no-bench || rc=1
  done
  exit $rc
fi
# Each phase runs in processes under a deadline: a kernel whose mbarrier or
# flag wait never completes hangs instead of failing, and a fault poisons
# the process's CUDA context. The harness's watchdog ends a process whose
# step outlasts $3 seconds (exit 4), and it exits 3 when the context is
# lost; either way the phase goes on in a new process (--resume), which
# records the step as hung or failed, so one bad kernel costs only itself.
# A phase ends by $T0 + its "until": time an earlier phase left over goes
# to the later ones.
phase() { # label until-seconds watchdog-seconds args...
  local label=$1 end=$(( T0 + $2 )) wd=$3 tries=0 rc left
  shift 3
  while :; do
    left=$(( end - $(date +%s) ))
    if [ "$left" -le 5 ]; then
      printf '{"kind": "set-error", "set": "%s", "error": "out of time (%s s after the start)"}\n' \
        "$label" "$2" >> "$OUT.jsonl"
      return
    fi
    rc=0
    timeout -k 10 "$left" "$PY" "$ROOT/bench/gpu_check.py" --bundles "$BUNDLES" \
      --runtime "$LIB" --target "$TARGETS" --jsonl "$OUT.jsonl" --resume \
      --watchdog "${GPU_CHECK_WATCHDOG:-$wd}" "$@" || rc=$?
    case $rc in
      0|1) return ;;
      3|4|124|137) tries=$((tries + 1)) ;;
      *) printf '{"kind": "set-error", "set": "%s", "error": "exit %s"}\n' \
           "$label" "$rc" >> "$OUT.jsonl"; return ;;
    esac
    if [ "$tries" -ge 8 ]; then
      printf '{"kind": "set-error", "set": "%s", "error": "stopped after 8 restarts"}\n' \
        "$label" >> "$OUT.jsonl"
      return
    fi
  done
}
report() {
  local rc=0
  "$PY" "$ROOT/bench/gpu_check.py" --merge "$OUT.jsonl" --target "$TARGETS" \
    --out "$OUT" || rc=$?
  cat "$OUT.md"
  return $rc
}
if [ "$MODE" = "--cpu" ]; then
  # The phase loop on the CPU kernels (results beside the bundles).
  # GPU_CHECK_WATCHDOG and ATTN_GPU_CHECK_HANG (a step that never
  # returns) let the tests show a hang costs only its own check.
  TARGETS=cpu OUT=$CARRY/cpu-results
  rm -f "$OUT.jsonl"
  T0=$(date +%s)
  phase checks 1200 300 --no-bench
  report
  exit
fi
TARGETS=sm_90,sm_90a
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/$stamp
rm -f "$OUT.jsonl"
# Budget: 500 s in all, so one call of 10 minutes holds the run, the
# runtime build and the copies even when every phase runs out of time.
# Checks launch synchronously, so a fault is reported at its kernel.
sets="default"
for v in "$BUNDLES"/variants/*; do
  [ -d "$v/check" ] && sets="$sets $(basename "$v")"
done
if ls "$CARRY"/wheels/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-deps --target "$CARRY/pylib" "$CARRY"/wheels/*.whl ||
    echo "gpu_check: flash-linear-attention did not install; linear bench without it"
fi
T0=$(date +%s)
ATTN_RUNTIME_SYNC=1 phase checks 150 20 --sets "${sets// /,}" --no-bench
phase bench 270 60 --no-check
# FLA's first call per shape autotunes its Triton kernels.
PYTHONPATH="$CARRY/pylib${PYTHONPATH:+:$PYTHONPATH}" \
  phase bench-linear 370 120 --no-check --bench-kind linear
phase bench-flex 500 100 --no-check --bench-kind flex
# Nsight Compute on the dense 8k prefill kernel (sm_90a default), one warm
# launch: where its cycles go, beside the timings. Clocks as the card runs
# them (--clock-control none), like the timings. SourceCounters adds each
# SASS instruction's executions and stall samples (summed by
# bench/sass_counters.py into -ncu-sass.txt): Nsight Compute counted 777M
# instructions executed where the static SASS accounts for about 480M,
# and this says where the rest run (mbarrier wait retries?). Within what
# is left of the call's 10 minutes.
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1 || true)
dense=$(grep -l '"spec": "[^"]*seq=8192 dim=128 dtype=bf16"' "$BUNDLES"/bench/*.json | head -1 || true)
left=$(( 560 - ($(date +%s) - T0) ))
if [ -n "$NCU" ] && [ -n "$dense" ] && [ "${GPU_CHECK_NCU:-1}" = 1 ] && [ "$left" -gt 40 ]; then
  name=$(basename "$dense" .json)
  rep=$(mktemp -d)/ncu
  if timeout -k 10 $(( left < 170 ? left : 170 )) "$NCU" --clock-control none \
    --kernel-name "$name" --launch-skip 1 --launch-count 1 --section SpeedOfLight \
    --section ComputeWorkloadAnalysis --section WarpStateStats \
    --section SchedulerStats --section InstructionStats --section Occupancy \
    --section MemoryWorkloadAnalysis --section SourceCounters --export "$rep" \
    "$PY" "$ROOT/bench/profile_one.py" "$dense" "$LIB" sm_90a > "$OUT-ncu.txt" 2>&1; then
    "$NCU" --import "$rep.ncu-rep" >> "$OUT-ncu.txt" 2>&1
    "$NCU" --import "$rep.ncu-rep" --page source --print-source sass --csv \
      > "$rep.csv" 2>&1 &&
      "$PY" "$ROOT/bench/sass_counters.py" "$rep.csv" > "$OUT-ncu-sass.txt" 2>&1 ||
      { echo "gpu_check: no SASS counters; see $OUT-ncu-sass.txt";
        head -c 20000 "$rep.csv" >> "$OUT-ncu-sass.txt"; }
  else
    echo "gpu_check: ncu failed; see $OUT-ncu.txt"
  fi
fi
report
