// REQUIRES: ptxas
// The overlapped kernel, with and without ping-pong, keeps the 128 x 128
// tile at head dim 128 under the producer warpgroup with no spills: each
// role derives its tile from its own copies of the block ids, so nothing
// stays live across setmaxnreg (what did spilled 12 bytes under every
// producer share, and the compile fell back to the kernel without a
// producer warpgroup).
// RUN: rm -rf %t && mkdir -p %t/ov %t/pp
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1" --emit-dir=%t/ov 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/ov/w.json
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1 pingpong=1" --emit-dir=%t/pp 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/pp/w.json
// Where the cost model chooses, the overlapped kernel's trial of the wider
// tile tries every producer share: at 8k it fits under 40, not 72 or 24.
// RUN: attention-opt --gen="name=g batch=1 heads=2 seq=8192 dim=128 dtype=bf16" -o %t/g.mlir
// RUN: attention-opt %t/g.mlir --attn-compile="target=sm_90a overlap=1" --emit-dir=%t/ov 2>&1 | FileCheck %s --check-prefix=CHOSEN

// REPORT-NOT: note:
// REPORT: attn-compile: @w sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer+overlap{{(\+pingpong)?}} tile=128x128x8x2
// CHOSEN-NOT: note:
// CHOSEN: attn-compile: @g sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer+overlap tile=128x128x8x2
// MANIFEST: "block": [384, 1, 1],
// MANIFEST: "kernel": "wgmma+tma+producer+overlap{{(\+pingpong)?}}",
// MANIFEST-NEXT: "tile": [128, 128, 8, 2],
// MANIFEST-NEXT: "producer_registers": {{[0-9]+}}

func.func @w(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 128, warps = 8, stages = 2>} : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}
