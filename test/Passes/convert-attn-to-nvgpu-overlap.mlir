// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true" 2>/dev/null | FileCheck %s

// The overlapped math loop carries the pending tile's P (16 registers: 4
// k16 steps x 4) and a "pending P V" flag after the state.
// CHECK-LABEL: gpu.func @overlap
// CHECK: nvvm.setmaxregister increase
// CHECK: scf.for {{.+}} iter_args({{.+}}%[[P15:[a-z0-9_]+]] = %c0_i32, %[[PENDING:[a-z0-9_]+]] = %false)
// An empty tile first finishes the pending product (waited for), frees
// the previous stage, then frees its own. The last k16 step reads the
// carried P's last registers.
// CHECK: scf.if %[[PENDING]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-3: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK-NEXT: llvm.extractvalue
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async{{.+}}, %[[P15]], %{{[0-9]+}} : (
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: nvvm.mbarrier.arrive
// A live tile with a pending product: S = Q K^T and the previous P V are
// issued as two groups; the softmax runs once S (the older group) is done,
// O is rescaled after P V is; then the previous stage is freed and this
// tile's P (registers, no shared memory) is carried to the next.
// CHECK: scf.if %[[PENDING]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.+}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async{{.+}}, %[[P15]], %{{[0-9]+}} : (
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: arith.mulf
// CHECK: nvvm.mbarrier.arrive
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// Without a pending product (the first live tile): S only, softmax, P.
// CHECK: nvvm.wgmma.mma_async {{.+}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// After the loop: the last live tile's product.
// CHECK: scf.if
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: gpu.return
func.func @overlap(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}
