// REQUIRES: ptxas
// FlashAttention-3's configuration at head dim 128: the 128 x 176 tile
// with P V overlapped with the next softmax, with and without ping-pong,
// under the producer warpgroup with no spills. At 240 registers a math
// thread holds O (64), S (88) and the pending P (44); what made it fit:
// - Q's wgmma descriptors are derived per KV tile from an opaque copy of
//   their 32-bit start word (hoisted, they held a 64-bit register pair a
//   k-step through the loop);
// - a partial tile's column bound is a 32-bit compare of the column's
//   offset in the tile, c + 2t, with min(Skv - j0, 176): c against the
//   limit less 2t, an immediate (col < Skv compared 64-bit indices, two
//   registers a column).
// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true" | FileCheck %s --check-prefix=IR
// RUN: rm -rf %t && mkdir -p %t/ov %t/pp
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1" --emit-dir=%t/ov 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/ov/w.json
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1 pingpong=1" --emit-dir=%t/pp 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/pp/w.json

// IR-LABEL: gpu.func @w
// IR: nvvm.setmaxregister increase
// IR: scf.for {{.+}} iter_args
// IR: %[[START:.+]] = llvm.inline_asm has_side_effects {{.+}}"mov.b32 $0, $1;", "=r,r"
// IR-NEXT: arith.constant {{[0-9]+}} : i32
// IR-NEXT: arith.addi %[[START]], %{{.+}} : i32
// IR: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 176, k = 16>
// IR: %[[LEFT:.+]] = arith.minsi %{{.+}}, %c176{{.*}} : index
// IR-NEXT: %[[COLS:.+]] = arith.index_cast %[[LEFT]] : index to i32
// IR-NEXT: %[[LIMIT:.+]] = arith.subi %[[COLS]], %{{.+}} : i32
// IR: %[[C0:.+]] = arith.constant 0 : i32
// IR-NEXT: arith.cmpi sgt, %[[LIMIT]], %[[C0]] : i32

// REPORT-NOT: note:
// REPORT: attn-compile: @w sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer+overlap{{(\+pingpong)?}} tile=128x176x8x2
// MANIFEST: "block": [384, 1, 1],
// MANIFEST: "kernel": "wgmma+tma+producer+overlap{{(\+pingpong)?}}",
// MANIFEST-NEXT: "tile": [128, 176, 8, 2],

func.func @w(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 176, warps = 8, stages = 2>} : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}
