// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true persistent=true" 2>/dev/null | FileCheck %s
// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=false persistent=true" 2>/dev/null | FileCheck %s --check-prefix=TMA

// Persistent CTAs: the warp-specialized kernel's producer and math
// warpgroups each walk output tiles blockIdx.x, + gridDim.x, ... up to
// B x 8 heads x query tiles, carrying the KV tiles walked (stages and
// phases go on) and the tiles done (Q's phase).
// CHECK-LABEL: gpu.func @persistent
// A "Q free" barrier (one arrival per math thread) after K's full, Q's
// and K's empty ones, before V's full and empty ones.
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.+}}, %c1_i32
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.+}}, %c256_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.+}}, %c1_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.+}}, %c256_i32
// CHECK-NEXT: nvvm.fence.mbarrier.init
// Producer: each tile's first KV tile goes first (its stage frees while
// the math warps finish the previous tile); before the tile's Q it waits
// for "Q free" with the flipped parity of the tiles done (a fresh barrier
// passes at once), then loads the other KV tiles.
// CHECK: nvvm.setmaxregister decrease
// CHECK: %[[ITEMS:.+]] = arith.muli %{{[0-9]+}}, %{{[0-9]+}} : index
// CHECK: %[[STEP:.+]] = arith.index_cast %grid_dim_x : index to i32
// CHECK: %[[END:.+]] = arith.index_cast %[[ITEMS]] : index to i32
// CHECK: %[[FIRST:.+]] = arith.index_cast %block_id_x : index to i32
// CHECK: scf.for %{{.+}} = %[[FIRST]] to %[[END]] step %[[STEP]] iter_args(%[[WALKED:.+]] = %c0_i32, %[[DONE:.+]] = %c0_i32) -> (i32, i32) : i32 {
// The KV tiles' places in the CTA's walk start after the tiles walked.
// CHECK: arith.index_castui %[[WALKED]] : i32 to index
// CHECK: scf.if
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: %[[D:.+]] = arith.index_castui %[[DONE]] : i32 to index
// CHECK: %[[PAR:.+]] = arith.remui %[[D]], %c2
// CHECK: %[[FLIP:.+]] = arith.xori %[[PAR]], %c1
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// Next tile: walked += its KV tiles, done += 1.
// CHECK: arith.maxsi
// CHECK: %[[W2:.+]] = arith.addi %[[WALKED]], %{{.+}} : i32
// CHECK: %[[D2:.+]] = arith.addi %[[DONE]], %c1_i32
// CHECK: scf.yield %[[W2]], %[[D2]] : i32, i32
// Math warpgroups: Q's phase is the tiles done mod 2; after the KV loop
// (the last product reading Q was waited for) they arrive on "Q free"
// before the epilogue, whose tile indices come through an opaque copy.
// CHECK: nvvm.setmaxregister increase
// CHECK: scf.for %[[W:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "mov.b64 $0, $1;", "=l,l"
// CHECK: arith.remui %{{.+}}, %c2
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.for
// CHECK: nvvm.wgmma.mma_async
// The KV loop ends freeing V and yielding the state; then "Q free"
// (barrier 5: after K's full ones, Q's and K's empty ones).
// CHECK: nvvm.mbarrier.arrive %{{.+}} : !llvm.ptr<3>
// CHECK: scf.yield
// CHECK: arith.muli %c5, %c8
// CHECK-NOT: nvvm.wgmma
// CHECK: nvvm.mbarrier.arrive %{{.+}} : !llvm.ptr<3>
// CHECK-NEXT: llvm.inline_asm has_side_effects asm_dialect = att "mov.b32 $0, $1;", "=r,r" %[[W]] : (i32) -> i32
// CHECK: gpu.return

// Kernels without a producer warpgroup ignore the option: one CTA per tile.
// TMA-LABEL: gpu.func @persistent
// TMA-NOT: gpu.grid_dim
// TMA: gpu.block_id x
// TMA-NOT: gpu.grid_dim
// TMA: gpu.return
func.func @persistent(%q: tensor<2x8x300x64xbf16>, %k: tensor<2x2x300x64xbf16>) -> tensor<2x8x300x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<2x8x300x64xbf16>, tensor<2x2x300x64xbf16>, tensor<2x2x300x64xbf16> -> tensor<2x8x300x64xbf16>
  return %o : tensor<2x8x300x64xbf16>
}
