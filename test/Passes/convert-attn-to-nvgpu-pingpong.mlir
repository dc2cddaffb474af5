// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true pingpong=true" --canonicalize 2>/dev/null | FileCheck %s

// Ping-pong: math warpgroup 0 hands itself the first turn; every issue of
// products sits between a bar.sync on the warpgroup's scheduler barrier
// (id 1 + warpgroup, after the CTA barrier 0; 256 threads, the waiter and
// the warpgroup handing over) and a bar.arrive on the next
// warpgroup's; the waits come after the hand-over, so the next warpgroup
// issues while this one runs its softmax.
// CHECK-LABEL: gpu.func @pingpong
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : i32
// CHECK-DAG: %[[C256:.+]] = arith.constant 256 : i32
// CHECK: nvvm.setmaxregister increase
// CHECK: %[[WG:.+]] = arith.divui %thread_id_x, %c128 : index
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[WG]], %c0 : index
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: nvvm.barrier.arrive id = %[[C1]] number_of_threads = %[[C256]]
// CHECK: scf.for
// A live tile with a pending product: S and the pending P V, in turn, then
// wait_group 1.
// CHECK: %[[MINE:.+]] = arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: %[[MINE32:.+]] = arith.index_cast %[[MINE]] : index to i32
// CHECK-NEXT: nvvm.barrier id = %[[MINE32]] number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: %[[WG1:.+]] = arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: %[[NEXT:.+]] = arith.remui %[[WG1]], %c2 : index
// CHECK-NEXT: %[[THEIRS:.+]] = arith.addi %[[NEXT]], %c1 : index
// CHECK-NEXT: %[[THEIRS32:.+]] = arith.index_cast %[[THEIRS]] : index to i32
// CHECK-NEXT: nvvm.barrier.arrive id = %[[THEIRS32]] number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// The same for a partial tile.
// CHECK: nvvm.barrier.arrive id = %{{.+}} number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// The first live tile: S alone, in turn, then wait_group 0.
// CHECK: nvvm.barrier id = %{{.+}} number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: arith.remui
// CHECK-NEXT: arith.addi
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: nvvm.barrier.arrive id = %{{.+}} number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// After the loop and the last product, warpgroup 0 takes the last
// hand-over, so the barriers end as they started.
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: %[[LAST:.+]] = arith.cmpi eq, %[[WG]], %c0 : index
// CHECK-NEXT: scf.if %[[LAST]] {
// CHECK-NEXT: nvvm.barrier id = %[[C1]] number_of_threads = %[[C256]]
// CHECK-NEXT: }
// CHECK: gpu.return
func.func @pingpong(%q: tensor<1x2x256x64xbf16>) -> tensor<1x2x256x64xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  return %o : tensor<1x2x256x64xbf16>
}
