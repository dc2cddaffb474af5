// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true" 2>/dev/null | FileCheck %s

// The overlapped math loop carries the pending tile's P (16 registers: 4
// k16 steps x 4) and a "pending P V" flag after the state (running max m
// and sum l of the lane's two rows, then O). O is kept scaled to P's row
// maxima, so no factors travel with P.
// CHECK-LABEL: gpu.func @overlap
// CHECK: nvvm.setmaxregister increase
// CHECK: scf.for {{.+}} iter_args(%{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %[[L0:[a-z0-9_]+]] = %{{[a-z0-9_]+}}, %[[L1:[a-z0-9_]+]] = %{{[a-z0-9_]+}},
// CHECK-SAME: %[[P15:[a-z0-9_]+]] = %c0_i32, %[[PENDING:[a-z0-9_]+]] = %false)
// An empty tile first finishes the pending product (the previous tile's
// V waited for, the product issued and waited for; O not rescaled) and
// frees that V, then frees its own K, takes its V's phase and frees it.
// The last k16 step reads the carried P's last registers.
// CHECK: scf.if %[[PENDING]]
// CHECK-NOT: arith.mulf
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-3: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK-NEXT: llvm.extractvalue
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async{{.+}}, %[[P15]], %{{[0-9]+}} : (
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: nvvm.mbarrier.arrive
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive
// A live tile with a pending product: S = Q K^T is issued, the previous
// tile's V waited for and O fenced, and the previous P V issued as the
// second group, as FlashAttention-3's mainloop does; nothing touches O in
// between. The softmax runs once S (the older group) is done and computes
// this tile's factors for O (the first exponential of a row, which also
// scales l); the wait for P V comes after it behind a branch ptxas does
// not schedule across; then the previous V is freed and O rescaled by
// those factors (FlashAttention-3's order up to head dim 128), and this
// tile's P (registers, no shared memory) is carried to the next. This
// tile's K is freed once S is done.
// CHECK: scf.if %[[PENDING]]
// CHECK-NOT: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NOT: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.mma_async {{.+}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: arith.mulf
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK-NEXT: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async{{.+}}, %[[P15]], %{{[0-9]+}} : (
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.mbarrier.arrive
// CHECK: %[[A0:[0-9]+]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: arith.mulf %[[L0]], %[[A0]] : f32
// CHECK: %[[A1:[0-9]+]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: arith.mulf %[[L1]], %[[A1]] : f32
// CHECK-NOT: nvvm.wgmma.wait.group.sync.aligned
// CHECK: llvm.inline_asm has_side_effects {{.+}}@p bra.uni WAIT_ODD;
// CHECK-SAME: wait_group.sync.aligned 0;\0Abra.uni WAIT_DONE;\0AWAIT_ODD:
// CHECK-SAME: wait_group.sync.aligned 0;
// CHECK-NOT: nvvm.wgmma
// CHECK: nvvm.mbarrier.arrive
// CHECK-NEXT: arith.mulf %{{[0-9]+}}, %[[A0]] : f32
// CHECK-NEXT: arith.mulf %{{[0-9]+}}, %[[A0]] : f32
// CHECK-NEXT: arith.mulf %{{[0-9]+}}, %[[A1]] : f32
// CHECK-NOT: nvvm.wgmma
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// Without a pending product (the first live tile): S only, waited for,
// the softmax, and O (idle) rescaled at once; then P.
// CHECK: nvvm.wgmma.mma_async {{.+}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: %[[B0:[0-9]+]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: arith.mulf %[[L0]], %[[B0]] : f32
// CHECK: arith.mulf %{{[a-z0-9_]+}}, %[[B0]] : f32
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// After the loop: the last live tile's product, O as it is.
// CHECK: scf.if
// CHECK-NOT: arith.mulf
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: gpu.return
func.func @overlap(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}
