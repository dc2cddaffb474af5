// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true pingpong=true" --canonicalize 2>/dev/null | FileCheck %s

// Ping-pong without overlap (FlashAttention-3's schedule for that kernel):
// a turn is a tile's P V and the next tile's S. Math warpgroup 0 hands
// itself the first turn, and each warpgroup takes its turn (bar.sync on
// barrier 1 + warpgroup; 256 threads, the waiter and the warpgroup handing
// over) before the first S.
// CHECK-LABEL: gpu.func @pingpong
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : i32
// CHECK-DAG: %[[C256:.+]] = arith.constant 256 : i32
// CHECK: nvvm.setmaxregister increase
// CHECK: %[[WG:.+]] = arith.divui %thread_id_x, %c128 : index
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[WG]], %c0 : index
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: nvvm.barrier.arrive id = %[[C1]] number_of_threads = %[[C256]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[MINE:.+]] = arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: %[[MINE32:.+]] = arith.index_cast %[[MINE]] : index to i32
// CHECK-NEXT: nvvm.barrier id = %[[MINE32]] number_of_threads = %[[C256]]
// CHECK: scf.for
// An empty tile is a turn of its own: the turn goes to the next warpgroup
// before the tile's V is waited for, and comes back after.
// CHECK: %[[WG1:.+]] = arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: %[[NEXT:.+]] = arith.remui %[[WG1]], %c2 : index
// CHECK-NEXT: %[[THEIRS:.+]] = arith.addi %[[NEXT]], %c1 : index
// CHECK-NEXT: %[[THEIRS32:.+]] = arith.index_cast %[[THEIRS]] : index to i32
// CHECK-NEXT: nvvm.barrier.arrive id = %[[THEIRS32]] number_of_threads = %[[C256]]
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.barrier id = %{{.+}} number_of_threads = %[[C256]]
// CHECK: } else {
// A live tile: the turn passes once S is issued, before its wait, and is
// taken back once V has landed, before P V.
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: arith.remui
// CHECK-NEXT: arith.addi
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: nvvm.barrier.arrive id = %{{.+}} number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NEXT: arith.addi %[[WG]], %c1 : index
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: nvvm.barrier id = %{{.+}} number_of_threads = %[[C256]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// The same for a partial tile.
// CHECK: nvvm.barrier.arrive id = %{{.+}} number_of_threads = %[[C256]]
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.barrier id = %{{.+}} number_of_threads = %[[C256]]
// After the loop the last turn (the last P V) passes on, and warpgroup 0
// takes the last hand-over, so the barriers end as they started.
// CHECK: nvvm.barrier.arrive id = %{{.+}} number_of_threads = %[[C256]]
// CHECK-NEXT: %[[LAST:.+]] = arith.cmpi eq, %[[WG]], %c0 : index
// CHECK-NEXT: scf.if %[[LAST]] {
// CHECK-NEXT: nvvm.barrier id = %[[C1]] number_of_threads = %[[C256]]
// CHECK-NEXT: }
// CHECK: gpu.return
func.func @pingpong(%q: tensor<1x2x256x64xbf16>) -> tensor<1x2x256x64xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  return %o : tensor<1x2x256x64xbf16>
}
