// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true" 2>/dev/null | FileCheck %s

// The overlapped math loop carries the pending tile's P (16 registers: 4
// k16 steps x 4), the factors of O's two rows that its softmax step left
// to apply (1 to start) and a "pending P V" flag after the state.
// CHECK-LABEL: gpu.func @overlap
// CHECK: nvvm.setmaxregister increase
// CHECK: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: scf.for {{.+}} iter_args({{.+}}%[[P15:[a-z0-9_]+]] = %c0_i32,
// CHECK-SAME: %[[A0:[a-z0-9_]+]] = %[[ONE]], %[[A1:[a-z0-9_]+]] = %[[ONE]],
// CHECK-SAME: %[[PENDING:[a-z0-9_]+]] = %false)
// An empty tile first finishes the pending product (O rescaled, the
// previous tile's V waited for, the product issued and waited for) and
// frees that V, then frees its own K, takes its V's phase and frees it.
// The last k16 step reads the carried P's last registers.
// CHECK: scf.if %[[PENDING]]
// CHECK: arith.mulf %{{.+}}, %[[A0]] : f32
// CHECK: arith.mulf %{{.+}}, %[[A1]] : f32
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
// A live tile with a pending product: S = Q K^T is issued, O (idle) is
// rescaled by the carried factors, the previous tile's V waited for and
// O fenced, and the previous P V issued as the second group, as
// FlashAttention-3's mainloop does; the softmax runs once S (the older
// group) is done, and the wait for P V comes after it behind a branch
// ptxas does not schedule across; then the previous V is freed and this
// tile's P (registers, no shared memory) and factors are carried to the
// next. This tile's K is freed once S is done.
// CHECK: scf.if %[[PENDING]]
// CHECK-NOT: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NOT: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.mma_async {{.+}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: arith.mulf %{{.+}}, %[[A0]] : f32
// CHECK-NOT: nvvm.wgmma
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK-NEXT: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async{{.+}}, %[[P15]], %{{[0-9]+}} : (
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NOT: arith.mulf %{{.+}}, %[[A0]] : f32
// CHECK: nvvm.mbarrier.arrive
// CHECK-NOT: arith.mulf %{{.+}}, %[[A0]] : f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK-NOT: nvvm.wgmma.wait.group.sync.aligned
// CHECK: llvm.inline_asm has_side_effects {{.+}}@p bra.uni WAIT_ODD;
// CHECK-SAME: wait_group.sync.aligned 0;\0Abra.uni WAIT_DONE;\0AWAIT_ODD:
// CHECK-SAME: wait_group.sync.aligned 0;
// CHECK-NOT: nvvm.wgmma
// CHECK: nvvm.mbarrier.arrive
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// Without a pending product (the first live tile): S only, softmax, P;
// O is left for the carried factors.
// CHECK: nvvm.wgmma.mma_async {{.+}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: arith.mulf %{{.+}}, %[[A0]] : f32
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// After the loop: the last live tile's product.
// CHECK: scf.if
// CHECK: arith.mulf
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: gpu.return
func.func @overlap(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}
