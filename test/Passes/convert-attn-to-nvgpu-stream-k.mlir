// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" | FileCheck %s

// stream_k(132) on sm_90a: the mma.sync kernel (not the wgmma one) with
// the decode tiles (a row block on 4 KV warps: 128 threads), a global f32
// workspace after the B, Sq, Skv scalars; grid.x
// indexes the CTAs' shares, grid.y the Dv chunk. A share is stored, fenced,
// and counted by one thread's atomic add on the workspace; the last
// arrival resets the counter to 0 (a workspace zeroed once serves every
// launch); the answer goes through shared memory between barriers.
// CHECK-LABEL: gpu.func @decode(
// CHECK-SAME: %{{[^:]+}}: index, %[[WS:[^:]+]]: memref<?xf32>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT: wgmma
// CHECK: %[[P:.+]] = gpu.block_id x
// CHECK: gpu.block_id y
// CHECK: nvvm.mma.sync
// CHECK: memref.store %{{.+}}, %[[WS]][
// CHECK: llvm.fence acq_rel
// CHECK-NEXT: gpu.barrier
// CHECK: memref.atomic_rmw addf %{{.+}}, %[[WS]][%[[CTR:.+]]] : (f32, memref<?xf32>) -> f32
// CHECK: scf.if %{{.+}} {
// CHECK-NEXT: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: memref.store %[[ZERO]], %[[WS]][%[[CTR]]] : memref<?xf32>
// CHECK-NEXT: }
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: llvm.fence acq_rel
// CHECK: memref.load %[[WS]][
func.func @decode(%q: tensor<1x2x1x64xbf16>, %k: tensor<1x1x4096x64xbf16>) -> tensor<1x2x1x64xbf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<stream_k(132)>} : tensor<1x2x1x64xbf16>, tensor<1x1x4096x64xbf16>, tensor<1x1x4096x64xbf16> -> tensor<1x2x1x64xbf16>
  return %o : tensor<1x2x1x64xbf16>
}

// -----

// f32: the SIMT kernel, whose 4-wide accumulators merge with vector FMAs.
// CHECK-LABEL: gpu.func @decode_f32(
// CHECK-SAME: %[[WS:[^:]+]]: memref<?xf32>) kernel
// CHECK: memref.atomic_rmw addf %{{.+}}, %[[WS]]
// CHECK: vector.fma
func.func @decode_f32(%q: tensor<1x2x1x64xf32>, %k: tensor<1x1x4096x64xf32>) -> tensor<1x2x1x64xf32> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<stream_k(132)>} : tensor<1x2x1x64xf32>, tensor<1x1x4096x64xf32>, tensor<1x1x4096x64xf32> -> tensor<1x2x1x64xf32>
  return %o : tensor<1x2x1x64xf32>
}
