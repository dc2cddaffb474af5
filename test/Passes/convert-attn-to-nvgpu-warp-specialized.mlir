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
// Thread 0 initializes full (1 arrival) and Q barriers, then empty ones
// (one arrival per math thread), before the CTA's only barrier.
// CHECK: scf.if
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.+}}, %c1_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.+}}, %c256_i32
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// Producer warpgroup (tid >= 256): one thread loads Q, then for each KV tile
// waits for the stage's empty barrier with the flipped parity, and arms /
// loads (or, for an empty tile, only arms) the full barrier.
// CHECK: %[[PRODUCER:.+]] = arith.cmpi uge, %{{.+}}, %c256
// CHECK: scf.if %[[PRODUCER]] {
// CHECK-NEXT: nvvm.setmaxregister decrease 72
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: scf.for
// CHECK: arith.xori %{{.+}}, %c1
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c16384_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: } else {
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c0_i32
// Math warpgroups: wait for Q, then per tile for the full barrier; release
// the stage on its empty barrier after the tile, with no CTA barrier.
// CHECK: } else {
// CHECK-NEXT: nvvm.setmaxregister increase 216
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.wgmma.mma_async
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mbarrier.arrive %{{.+}} : !llvm.ptr<3>
// CHECK-NEXT: scf.yield
// CHECK: gpu.return
func.func @ws(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}
