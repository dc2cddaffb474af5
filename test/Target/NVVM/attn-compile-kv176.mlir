// REQUIRES: ptxas
// FlashAttention-3's KV tile at head dim 128, 176 columns (not a power of
// two): S = Q K^T is one wgmma of n = 176 a k-step, P V eleven k16 steps,
// and the warp-specialized kernel builds with no spills. What let it fit:
// each role aligns the shared-memory base in 32 bits and counts the KV
// tiles (a division by 176) after its setmaxnreg, so neither is live
// across it.
// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" | FileCheck %s --check-prefix=IR
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/w.json

// IR-LABEL: gpu.func @w
// IR: nvvm.setmaxregister increase
// IR: %[[SMEM:.+]] = llvm.inline_asm has_side_effects {{.+}}"mov.b64 $0, $1;"
// IR: arith.index_castui %{{.+}} : index to i32
// IR-NEXT: arith.constant -1024 : i32
// IR: %[[SKV64:.+]] = arith.index_castui %arg6 : index to i64
// IR-NEXT: %[[SKV:.+]] = llvm.inline_asm has_side_effects {{.+}}"mov.b64 $0, $1;", "=l,l" %[[SKV64]]
// IR-NEXT: %[[SKVI:.+]] = arith.index_castui %[[SKV]] : i64 to index
// IR-NEXT: arith.ceildivui %[[SKVI]], %c176{{.*}} : index
// IR: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 176, k = 16>
// IR-COUNT-11: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// REPORT-NOT: note:
// REPORT: attn-compile: @w sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x176x8x2
// MANIFEST: "block": [384, 1, 1],
// MANIFEST: "kernel": "wgmma+tma+producer",
// MANIFEST-NEXT: "tile": [128, 176, 8, 2],

func.func @w(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 176, warps = 8, stages = 2>} : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}
