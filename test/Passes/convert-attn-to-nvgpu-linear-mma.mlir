// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu --canonicalize | FileCheck %s

// bf16 inputs: the chunk products run on mma.sync m16n8k16 tiles with bf16
// operands and f32 accumulators, the warps (%[[WARP]] = tid / 32) taking
// 16-row tiles in turn. The state and the output rows are f32; the state,
// phi(q), phi(k), [v, 1], the decayed [v, 1] and the scores also bf16, in
// rows of 24 (16 + 8: an odd number of 16-byte units) and 72 elements,
// zeroed once (their padding feeds the products). Phase 1 writes the bf16
// rows; each product reads its fragments by ldmatrix (.trans where the
// buffer holds the operand's transpose). Scores: 64 x 64 in 16 x 32 tiles
// (8 tiles, 4 warps), those above the diagonal skipped, stored as bf16.
// Outputs: 64 x 16 in 16 x 16 tiles, phi(q) KV then the scores times V
// (over rows up to the tile's last one). State update: phi(k)^T (phi(k)
// read transposed) times the decayed [v, 1] over the chunk's n rows, the
// state stored in f32 and bf16.
// CHECK-LABEL: gpu.func @lin(
// CHECK: %[[KV:.+]] = memref.view {{.+}} to memref<16x16xf32
// CHECK: %[[OS:.+]] = memref.view {{.+}} to memref<64x16xf32
// CHECK: %[[KVB:.+]] = memref.view {{.+}} to memref<16x24xbf16
// CHECK: %[[QB:.+]] = memref.view {{.+}} to memref<64x24xbf16
// CHECK: %[[KB:.+]] = memref.view {{.+}} to memref<64x24xbf16
// CHECK: %[[VB:.+]] = memref.view {{.+}} to memref<64x24xbf16
// CHECK: %[[VDB:.+]] = memref.view {{.+}} to memref<64x24xbf16
// CHECK: %[[PB:.+]] = memref.view {{.+}} to memref<64x72xbf16
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[WARP:.+]] = arith.divui %[[TID]], %c32
// CHECK: memref.store %{{.+}}, %[[PB]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: memref.store %{{.+}}, %[[KVB]]
// CHECK: gpu.barrier
// Phase 1: q, k and v eight elements per thread and step, one 16-byte
// global load and one 16-byte shared store each, every load before the
// first store.
// CHECK: vector.load %{{.+}} {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK-NOT: vector.store
// CHECK: vector.load %{{.+}} {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK-NOT: vector.store
// CHECK: vector.load %{{.+}} {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: vector.store %{{.+}}, %[[QB]][%{{.+}}] {alignment = 16 : i64} : memref<64x24xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: vector.store %{{.+}}, %[[KB]][%{{.+}}] {alignment = 16 : i64} : memref<64x24xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: vector.store %{{.+}}, %[[VB]][%{{.+}}] {alignment = 16 : i64}
// CHECK: vector.store %{{.+}}, %[[VDB]][%{{.+}}] {alignment = 16 : i64}
// CHECK: gpu.barrier
// Scores.
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c8 step %c4
// CHECK: %[[LIVE:.+]] = arith.cmpi ule
// CHECK: scf.if %[[LIVE]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: nvgpu.ldmatrix %[[QB]]{{.+}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %[[KB]]{{.+}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %[[KB]]{{.+}} {numTiles = 4 : i32, transpose = false}
// CHECK-COUNT-4: nvvm.mma.sync {{.+}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: memref.store %{{.+}}, %[[PB]]
// CHECK: gpu.barrier
// Outputs: inter-block, then intra-block over k < min(r0 + 16, 64).
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c4 step %c4
// CHECK: nvgpu.ldmatrix %[[QB]]{{.+}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %[[KVB]]{{.+}} {numTiles = 4 : i32, transpose = true}
// CHECK-COUNT-2: nvvm.mma.sync
// CHECK: %[[KEND:.+]] = arith.minui %{{.+}}, %c64
// CHECK: scf.for %{{.+}} = %c0 to %[[KEND]] step %c16 iter_args
// CHECK: nvgpu.ldmatrix %[[PB]]{{.+}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %[[VB]]{{.+}} {numTiles = 4 : i32, transpose = true}
// CHECK-COUNT-2: nvvm.mma.sync
// CHECK: memref.store %{{.+}}, %[[OS]]
// CHECK: gpu.barrier
// State update over the chunk's rows.
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c1 step %c4
// CHECK: memref.load %[[KV]]
// CHECK: scf.for %{{.+}} = %c0 to %{{.+}} step %c16 iter_args
// CHECK: nvgpu.ldmatrix %[[KB]]{{.+}} {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.ldmatrix %[[VDB]]{{.+}} {numTiles = 4 : i32, transpose = true}
// CHECK-COUNT-2: nvvm.mma.sync
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: memref.store %{{.+}}, %[[KVB]]
// CHECK: gpu.barrier
func.func @lin(%q: tensor<1x4x64x16xbf16>, %v: tensor<1x4x64x16xbf16>) -> tensor<1x4x64x16xbf16> {
  %o = attn.linear_attention %q, %q, %v {causal, decay = #attn.decay<0.9>, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16> -> tensor<1x4x64x16xbf16>
  return %o : tensor<1x4x64x16xbf16>
}

// -----

// taylor2: operands read element by element from the f32 buffers (its
// F = 1 + 4 + 16 = 21 features are formed from the raw rows), no bf16
// buffers; phi(q) and the state are split into bf16 hi + lo for phi(q) KV:
// three mma.sync per n8 block and step, lo hi, hi lo, then hi hi.
// CHECK-LABEL: gpu.func @taylor(
// CHECK-NOT: xbf16, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4 step %c4
// CHECK: scf.for %{{.+}} = %c0 to %c32 step %c16 iter_args
// CHECK: %[[HI:.+]] = arith.truncf %[[X:.+]] : f32 to bf16
// CHECK: %[[WIDE:.+]] = arith.extf %[[HI]] : bf16 to f32
// CHECK: %[[RES:.+]] = arith.subf %[[X]], %[[WIDE]]
// CHECK: arith.truncf %[[RES]] : f32 to bf16
// CHECK: nvvm.mma.sync A[%{{[0-9]+}}, %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[BHI0:[0-9]+]], %[[BHI1:[0-9]+]]]  C[%arg
// CHECK: nvvm.mma.sync A[%[[AHI:[0-9]+]], %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[BLO0:[0-9]+]], %{{[0-9]+}}]
// CHECK: nvvm.mma.sync A[%[[AHI]], %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[BHI0]], %[[BHI1]]]
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: gpu.return
func.func @taylor(%q: tensor<1x2x32x4xbf16>, %v: tensor<1x2x32x8xbf16>) -> tensor<1x2x32x8xbf16> {
  %o = attn.linear_attention %q, %q, %v {causal, normalize, feature = #attn.feature_map<taylor2>} : tensor<1x2x32x4xbf16>, tensor<1x2x32x4xbf16>, tensor<1x2x32x8xbf16> -> tensor<1x2x32x8xbf16>
  return %o : tensor<1x2x32x8xbf16>
}

// -----

// f16 inputs take mma.sync too, every operand split into bf16 hi + lo (bf16
// keeps the f32 range a long sequence's state needs, and hi + lo holds an
// f16 value exactly): the f32 buffers, no bf16 ones, each element read and
// split where a fragment needs it; three mma.sync per n8 block and step
// (lo hi, hi lo, then hi hi). Scores: 64 x 64 in 16 x 32 tiles of 4 blocks.
// CHECK-LABEL: gpu.func @f16(
// CHECK-NOT: xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.if %{{.+}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: %[[HI:.+]] = arith.truncf %[[X:.+]] : f32 to bf16
// CHECK: %[[WIDE:.+]] = arith.extf %[[HI]] : bf16 to f32
// CHECK: %[[RES:.+]] = arith.subf %[[X]], %[[WIDE]]
// CHECK: arith.truncf %[[RES]] : f32 to bf16
// CHECK: nvvm.mma.sync A[%{{[0-9]+}}, %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[BHI0:[0-9]+]], %[[BHI1:[0-9]+]]]  C[%cst
// CHECK: nvvm.mma.sync A[%[[AHI:[0-9]+]], %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[BLO0:[0-9]+]], %{{[0-9]+}}]
// CHECK: nvvm.mma.sync A[%[[AHI]], %{{.+}}, %{{.+}}, %{{.+}}]  B[%[[BHI0]], %[[BHI1]]]
// CHECK-COUNT-9: nvvm.mma.sync
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: gpu.return
func.func @f16(%q: tensor<1x4x64x16xf16>, %v: tensor<1x4x64x16xf16>) -> tensor<1x4x64x16xf16> {
  %o = attn.linear_attention %q, %q, %v {causal, normalize, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xf16>, tensor<1x4x64x16xf16>, tensor<1x4x64x16xf16> -> tensor<1x4x64x16xf16>
  return %o : tensor<1x4x64x16xf16>
}

// -----

// f32 inputs keep the f32 FMA products (their 1e-5 bound needs f32 ones).
// CHECK-LABEL: gpu.func @f32(
// CHECK-NOT: nvvm.mma.sync
// CHECK: llvm.intr.fma
// CHECK: gpu.return
func.func @f32(%q: tensor<1x4x64x16xf32>, %v: tensor<1x4x64x16xf32>) -> tensor<1x4x64x16xf32> {
  %o = attn.linear_attention %q, %q, %v {causal, normalize, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32> -> tensor<1x4x64x16xf32>
  return %o : tensor<1x4x64x16xf32>
}
