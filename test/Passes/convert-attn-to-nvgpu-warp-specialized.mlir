// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" 2>/dev/null | FileCheck %s
// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true producer-registers=24" 2>/dev/null | FileCheck %s --check-prefix=SPLIT

// The producer keeps producer-registers (72 by default), the two math
// warpgroups share the rest: (512 - 24) / 2 = 244, rounded down to 240.
// SPLIT: nvvm.setmaxregister decrease 24
// SPLIT: nvvm.setmaxregister increase 240

// The warp-specialized TMA kernel: 256 math threads plus a producer
// warpgroup, launched under 168 registers.
// CHECK-LABEL: gpu.func @ws
// CHECK-SAME: attn.tensor_map_params = 3 : i64, known_block_size = array<i32: 384, 1, 1>, nvvm.maxnreg = 168 : i32
// Thread 0 initializes K's full (1 arrival) and Q barriers, then K's
// empty ones (one arrival per math thread), then V's full and empty ones,
// before the CTA's only barrier.
// CHECK: scf.if
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.+}}, %c1_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.+}}, %c256_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.+}}, %c1_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.+}}, %c256_i32
// CHECK-NEXT: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// Producer warpgroup (tid >= 256): one thread loads Q, then for each KV
// tile waits for K's empty barrier of the stage with the flipped parity
// and arms / loads K (or, for an empty tile, only arms) its full barrier;
// then the same for V.
// CHECK: %[[PRODUCER:.+]] = arith.cmpi uge, %{{.+}}, %c256
// CHECK: scf.if %[[PRODUCER]] {
// CHECK-NEXT: nvvm.setmaxregister decrease 72
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: scf.for
// CHECK: arith.xori %{{.+}}, %c1
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c8192_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: } else {
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c0_i32
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c8192_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: } else {
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c0_i32
// Math warpgroups: wait for Q, then per tile for K's full barrier; free K
// once S is waited for, wait for V's full barrier before P V, free V
// after the tile, with no CTA barrier.
// CHECK: } else {
// CHECK-NEXT: nvvm.setmaxregister increase 216
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mbarrier.arrive %{{.+}} : !llvm.ptr<3>
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NOT: gpu.barrier
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async
// An empty tile frees K and takes V's phase.
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive %{{.+}} : !llvm.ptr<3>
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: }
// CHECK: nvvm.mbarrier.arrive %{{.+}} : !llvm.ptr<3>
// CHECK-NEXT: scf.yield
// CHECK: gpu.return
func.func @ws(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}
