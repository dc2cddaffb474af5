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
// (decode: one row per head) skips the tile's products and softmax; it
// still stages K and V and reaches both barriers, which the whole
// workgroup shares.
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
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>} : tensor<1x2x1x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x1x64xbf16>
  return %o : tensor<1x2x1x64xbf16>
}
