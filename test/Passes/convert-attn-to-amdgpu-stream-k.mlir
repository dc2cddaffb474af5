// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=gfx942 --convert-attn-to-amdgpu | FileCheck %s

// stream_k(304) on the MFMA kernel: a global f32 workspace after the B, Sq,
// Skv scalars; grid.x indexes the workgroups' shares. A share is stored,
// fenced and counted by one thread's atomic add on the workspace; the
// answer reaches the workgroup through K's LDS tile between barriers, and
// the last workgroup to arrive loads every share back.
// CHECK-LABEL: gpu.func @decode(
// CHECK-SAME: %{{[^:]+}}: index, %[[WS:[^:]+]]: memref<?xf32>) workgroup(%[[KLDS:[^:]+]] : memref<64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[P:.+]] = gpu.block_id x
// CHECK-NOT: gpu.block_id
// CHECK: amdgpu.mfma
// CHECK: memref.store %{{.+}}, %[[WS]][
// CHECK: llvm.fence acq_rel
// CHECK-NEXT: gpu.barrier
// CHECK: memref.atomic_rmw addf %{{.+}}, %[[WS]][%{{.+}}] : (f32, memref<?xf32>) -> f32
// CHECK: memref.store %{{.+}}, %[[KLDS]][
// CHECK: gpu.barrier
// CHECK: memref.load %[[KLDS]][
// CHECK: gpu.barrier
// CHECK: llvm.fence acq_rel
// CHECK: memref.load %[[WS]][
func.func @decode(%q: tensor<1x2x1x64xbf16>, %k: tensor<1x1x4096x64xbf16>) -> tensor<1x2x1x64xbf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<stream_k(304)>} : tensor<1x2x1x64xbf16>, tensor<1x1x4096x64xbf16>, tensor<1x1x4096x64xbf16> -> tensor<1x2x1x64xbf16>
  return %o : tensor<1x2x1x64xbf16>
}

// -----

// K and V travel a tile ahead in registers: written to LDS at the top of
// an iteration, then the next tile's global loads are issued before this
// tile's products. A wave whose 16 rows all lie past the tile's rows
// (here a decode row per head in the prefill tiles) skips the tile's
// products and softmax; it still stages K and V and reaches both barriers,
// which the whole workgroup shares.
// CHECK-LABEL: gpu.func @wave_rows(
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[WAVE:.+]] = arith.divui %[[TID]], %c64
// CHECK: %[[W16:.+]] = arith.muli %[[WAVE]], %c16
// CHECK: %[[WROW0:.+]] = arith.addi %{{.+}}, %[[W16]]
// CHECK: %[[HAS:.+]] = arith.cmpi ule, %[[WROW0]], %{{.+}}
// CHECK: vector.load %arg1[
// CHECK: scf.for
// CHECK: vector.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}] : memref<64x64xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK: gpu.barrier
// CHECK: vector.load %arg1[
// CHECK: scf.if %[[HAS]] -> (
// CHECK: amdgpu.mfma
// CHECK: } else {
// CHECK: gpu.barrier
func.func @wave_rows(%q: tensor<1x2x1x64xbf16>, %k: tensor<1x2x256x64xbf16>) -> tensor<1x2x1x64xbf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x1x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x1x64xbf16>
  return %o : tensor<1x2x1x64xbf16>
}

// -----

// The schedule's decode tiles: one 16-row block on 4 KV waves, wave w
// taking columns [16 w, 16 w + 16) of each 64-column tile (K's LDS rows and
// V^T's columns from 16 w). After the KV loop two rounds merge the waves'
// states through LDS slots of their own (2 slots x 64 lanes x (2 + 64 / 4)
// words): waves 2, 3 store, a barrier, waves 0, 1 merge, a barrier; then
// wave 1 to wave 0. Only wave 0 stores O.
// CHECK-LABEL: gpu.func @kv_waves(
// CHECK-SAME: workgroup(%[[K:[^ ]+]] : memref<64x64xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[VT:[^ ]+]] : memref<64x68xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SLOTS:[^ ]+]] : memref<2304xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: %[[WAVE:.+]] = arith.divui %{{.+}}, %c64
// CHECK: %[[SLICE:.+]] = arith.divui %[[WAVE]], %c1
// CHECK: %[[COL0:.+]] = arith.muli %[[SLICE]], %c16
// CHECK: scf.for
// CHECK: %[[J0:.+]] = arith.addi %{{.+}}, %[[COL0]]
// CHECK: %[[KROW:.+]] = arith.addi %{{.+}}, %[[COL0]]
// CHECK: vector.load %[[K]][%{{.+}}, %{{.+}}]
// CHECK: amdgpu.mfma
// CHECK: arith.addi %{{.+}}, %[[COL0]]
// CHECK: vector.load %[[VT]][
// CHECK: arith.cmpi uge, %[[SLICE]], %c2
// CHECK: memref.store %{{.+}}, %[[SLOTS]][
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[SLICE]], %c2
// CHECK: memref.load %[[SLOTS]][
// CHECK: gpu.barrier
// CHECK: arith.cmpi uge, %[[SLICE]], %c1
// CHECK: memref.store %{{.+}}, %[[SLOTS]][
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[SLICE]], %c1
// CHECK: memref.load %[[SLOTS]][
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[SLICE]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store %{{.+}}, %arg3[
func.func @kv_waves(%q: tensor<1x2x1x64xbf16>, %k: tensor<1x2x256x64xbf16>) -> tensor<1x2x1x64xbf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>} : tensor<1x2x1x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x1x64xbf16>
  return %o : tensor<1x2x1x64xbf16>
}
