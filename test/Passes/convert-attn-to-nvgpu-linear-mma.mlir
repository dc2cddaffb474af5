// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu --canonicalize | FileCheck %s

// bf16 inputs: the chunk products run on mma.sync m16n8k16 tiles with bf16
// operands and f32 accumulators, the warps (%[[WARP]] = tid / 32) taking
// 16-row tiles in turn. Scores: 64 x 64 in 16 x 32 tiles (8 tiles, 4 warps),
// those above the diagonal skipped; the decayed lower triangle stored to
// the score buffer. Outputs: 64 x 16 in 16 x 16 tiles, phi(q) KV then the
// scores times V (over rows up to the tile's last one), stored to the
// output rows. State update: 16 x 16, seeded from the state times
// lambda^n, phi(k)^T [v, 1] over the chunk's n rows, stored back.
// CHECK-LABEL: gpu.func @lin(
// CHECK: %[[KV:.+]] = memref.view {{.+}} to memref<16x16xf32
// CHECK: %[[VS:.+]] = memref.view {{.+}} to memref<64x16xf32
// CHECK: %[[OS:.+]] = memref.view {{.+}} to memref<64x16xf32
// CHECK: %[[P:.+]] = memref.view {{.+}} to memref<64x64xf32
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[WARP:.+]] = arith.divui %[[TID]], %c32
// CHECK: gpu.barrier
// Scores.
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c8 step %c4
// CHECK: %[[LIVE:.+]] = arith.cmpi ule
// CHECK: scf.if %[[LIVE]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-4: nvvm.mma.sync {{.+}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: memref.store %{{.+}}, %[[P]]
// CHECK: gpu.barrier
// Outputs: inter-block, then intra-block over k < min(r0 + 16, 64).
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c4 step %c4
// CHECK: memref.load %[[KV]]
// CHECK: nvvm.mma.sync
// CHECK: nvvm.mma.sync
// CHECK: %[[KEND:.+]] = arith.minui %{{.+}}, %c64
// CHECK: scf.for %{{.+}} = %c0 to %[[KEND]] step %c16 iter_args
// CHECK: memref.load %[[P]]
// CHECK: memref.load %[[VS]]
// CHECK: nvvm.mma.sync
// CHECK: nvvm.mma.sync
// CHECK: memref.store %{{.+}}, %[[OS]]
// CHECK: gpu.barrier
// State update over the chunk's rows.
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c1 step %c4
// CHECK: memref.load %[[KV]]
// CHECK: scf.for %{{.+}} = %c0 to %{{.+}} step %c16 iter_args
// CHECK: memref.load %[[VS]]
// CHECK: nvvm.mma.sync
// CHECK: nvvm.mma.sync
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: gpu.barrier
func.func @lin(%q: tensor<1x4x64x16xbf16>, %v: tensor<1x4x64x16xbf16>) -> tensor<1x4x64x16xbf16> {
  %o = attn.linear_attention %q, %q, %v {causal, decay = #attn.decay<0.9>, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16> -> tensor<1x4x64x16xbf16>
  return %o : tensor<1x4x64x16xbf16>
}

// -----

// taylor2: phi(q) (F = 1 + 4 + 16 = 21 features, formed from the raw rows)
// is split into bf16 hi + lo for phi(q) KV, two mma.sync per n8 block and
// step, the residual first; the state stays one bf16 operand.
// CHECK-LABEL: gpu.func @taylor(
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4 step %c4
// CHECK: scf.for %{{.+}} = %c0 to %c32 step %c16 iter_args
// CHECK: %[[HI:.+]] = arith.truncf %[[X:.+]] : f32 to bf16
// CHECK: %[[WIDE:.+]] = arith.extf %[[HI]] : bf16 to f32
// CHECK: %[[RES:.+]] = arith.subf %[[X]], %[[WIDE]]
// CHECK: arith.truncf %[[RES]] : f32 to bf16
// CHECK: %[[C1:.+]] = nvvm.mma.sync A[%[[LO0:.+]], %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[B0:.+]], %[[B1:.+]]]  C[%arg
// CHECK: %[[C2:.+]] = nvvm.mma.sync A[%[[HI0:.+]], %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[B0]], %[[B1]]]
func.func @taylor(%q: tensor<1x2x32x4xbf16>, %v: tensor<1x2x32x8xbf16>) -> tensor<1x2x32x8xbf16> {
  %o = attn.linear_attention %q, %q, %v {causal, normalize, feature = #attn.feature_map<taylor2>} : tensor<1x2x32x4xbf16>, tensor<1x2x32x4xbf16>, tensor<1x2x32x8xbf16> -> tensor<1x2x32x8xbf16>
  return %o : tensor<1x2x32x8xbf16>
}

// -----

// f16 and f32 inputs keep the f32 FMA products (f16 operands would
// overflow on a long sequence's state; f32 needs f32 products).
// CHECK-LABEL: gpu.func @f16(
// CHECK-NOT: nvvm.mma.sync
// CHECK: llvm.intr.fma
// CHECK: gpu.return
func.func @f16(%q: tensor<1x4x64x16xf16>, %v: tensor<1x4x64x16xf16>) -> tensor<1x4x64x16xf16> {
  %o = attn.linear_attention %q, %q, %v {causal, normalize, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xf16>, tensor<1x4x64x16xf16>, tensor<1x4x64x16xf16> -> tensor<1x4x64x16xf16>
  return %o : tensor<1x4x64x16xf16>
}
