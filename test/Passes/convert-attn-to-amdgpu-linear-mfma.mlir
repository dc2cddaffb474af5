// RUN: attention-opt %s --attn-select-schedule=target=gfx942 --convert-attn-to-amdgpu --canonicalize | FileCheck %s

// bf16 inputs on CDNA: the chunk products run on MFMA 16x16x16 tiles with
// bf16 operands and f32 accumulators, the waves (%[[WAVE]] = tid / 64)
// taking 16-row tiles in turn. The staged bf16 buffers are those of the
// mma.sync kernel (rows of 24, 40 and 72 elements). Lane l (c = l % 16,
// g = l / 16) reads its four k elements of a buffer that stores k
// contiguously in one 8-byte vector.load at (row c, column 4g), and of a
// buffer that stores the transpose in four loads down column c. Scores:
// 64 x 64 in 16 x 64 tiles (4 tiles, 2 waves), phi(q) by vector.load, phi(k)
// by vector.load, 4 MFMAs. Outputs: 64 x 17 (16 columns and the normalizer)
// in 16 x 32 tiles; phi(q) KV reads the state transposed, then the scores
// times V over rows up to the tile's last one.
// CHECK-LABEL: gpu.func @lin(
// CHECK-SAME: workgroup(%{{.+}} : memref<32320xi8, #gpu.address_space<workgroup>>)
// CHECK: %[[KVB:.+]] = memref.view {{.+}} to memref<16x40xbf16
// CHECK: %[[QB:.+]] = memref.view {{.+}} to memref<64x24xbf16
// CHECK: %[[KB:.+]] = memref.view {{.+}} to memref<64x24xbf16
// CHECK: %[[VB:.+]] = memref.view {{.+}} to memref<64x40xbf16
// CHECK: %[[VDB:.+]] = memref.view {{.+}} to memref<64x40xbf16
// CHECK: %[[PB:.+]] = memref.view {{.+}} to memref<64x72xbf16
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[LANE:.+]] = arith.remui %[[TID]], %c64
// CHECK: %[[WAVE:.+]] = arith.divui %[[TID]], %c64
// CHECK: %[[C:.+]] = arith.remui %[[LANE]], %c16
// CHECK: %[[G:.+]] = arith.divui %[[LANE]], %c16
// Scores.
// CHECK: scf.for %{{.+}} = %[[WAVE]] to %c4 step %c2
// CHECK: scf.if %{{.+}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: %[[QA:.+]] = vector.load %[[QB]][%{{.+}}, %{{.+}}] {alignment = 8 : i64} : {{.+}}, vector<4xbf16>
// CHECK: %[[KF:.+]] = vector.load %[[KB]][%{{.+}}, %{{.+}}] {alignment = 8 : i64} : {{.+}}, vector<4xbf16>
// CHECK-COUNT-3: vector.load %[[KB]]
// CHECK: amdgpu.mfma 16x16x16 %[[QA]] * %[[KF]] + %{{.+}} : vector<4xbf16>, vector<4xbf16>, vector<4xf32>
// CHECK-COUNT-3: amdgpu.mfma 16x16x16 %[[QA]] *
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: memref.store %{{.+}}, %[[PB]]
// CHECK: gpu.barrier
// Outputs: phi(q) KV, KV read down the lane's column.
// CHECK: scf.for %{{.+}} = %[[WAVE]] to %c4 step %c2
// CHECK: vector.load %[[QB]]
// CHECK: %[[K0:.+]] = arith.muli %[[G]], %c4
// CHECK: memref.load %[[KVB]][%[[K0]], %[[C]]]
// CHECK-COUNT-3: memref.load %[[KVB]]
// CHECK: vector.from_elements {{.+}} : vector<4xbf16>
// CHECK-COUNT-2: amdgpu.mfma
// The scores times V.
// CHECK: %[[KEND:.+]] = arith.minui %{{.+}}, %c64
// CHECK: scf.for %{{.+}} = %c0 to %[[KEND]] step %c16 iter_args
// CHECK: vector.load %[[PB]]
// CHECK-COUNT-4: memref.load %[[VB]]
// CHECK-COUNT-2: amdgpu.mfma
// CHECK: gpu.barrier
// State update: phi(k)^T (read transposed) times the decayed [v, 1].
// CHECK: scf.for %{{.+}} = %[[WAVE]] to %c1 step %c2
// CHECK: memref.load %[[KB]]
// CHECK: memref.load %[[VDB]]
// CHECK: amdgpu.mfma
// CHECK: gpu.return
func.func @lin(%q: tensor<1x4x64x16xbf16>, %v: tensor<1x4x64x16xbf16>, %s: tensor<1x4x16x17xf32>) -> (tensor<1x4x64x16xbf16>, tensor<1x4x16x17xf32>) {
  %o, %st = attn.linear_attention %q, %q, %v state(%s : tensor<1x4x16x17xf32>) {causal, normalize, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16> -> tensor<1x4x64x16xbf16>, tensor<1x4x16x17xf32>
  return %o, %st : tensor<1x4x64x16xbf16>, tensor<1x4x16x17xf32>
}
