// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=gfx942 --convert-attn-to-amdgpu | FileCheck %s

// Four wave64 waves of 16 query rows; S^T = K Q^T and O^T = V^T P^T on
// 16x16x16 MFMA; no math-library calls (exp2 is one v_exp_f32, log2 an
// intrinsic).
// CHECK: gpu.module @causal_kernels
// CHECK: gpu.func @causal(%{{.+}}: memref<?xbf16>, {{.*}}, %{{.+}}: index, %{{.+}}: index, %{{.+}}: index) workgroup(%[[KLDS:[^ ]+]] : memref<64x64xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[VLDS:[^ ]+]] : memref<64x68xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// K and V tiles are staged in LDS once per workgroup, between barriers; V
// transposed ([Dv][bk + 4], rows of its 4 elements scattered), so both
// MFMA operands read from LDS are 4-element vectors.
// CHECK: vector.store %{{.+}}, %[[KLDS]]
// CHECK-COUNT-4: memref.store %{{.+}}, %[[VLDS]]
// CHECK: gpu.barrier
// CHECK: vector.load %[[KLDS]]
// CHECK: amdgpu.mfma 16x16x16 %{{.+}} * %{{.+}} + %{{.+}} {{.*}} : vector<4xbf16>, vector<4xbf16>, vector<4xf32>
// CHECK: %[[VT:.+]] = vector.load %[[VLDS]]{{.+}} : memref<64x68xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK: amdgpu.mfma 16x16x16 %[[VT]] * %{{.+}} + %{{.+}}
// Row reductions cross the 4 lane groups of 16.
// CHECK: gpu.shuffle  xor %{{.+}}, %c16_i32{{.*}}, %c64_i32{{.*}} : f32
// CHECK: gpu.shuffle  xor %{{.+}}, %c32_i32{{.*}}, %c64_i32{{.*}} : f32
// CHECK: rocdl.exp2 %{{.+}} f32 -> f32
// CHECK: llvm.call_intrinsic "llvm.log2"
// CHECK-NOT: math.
// CHECK: gpu.return
func.func @causal(%q: tensor<1x4x256x64xbf16>, %k: tensor<1x2x256x64xbf16>) -> (tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>) {
  %o, %l = attn.attention %q, %k, %k {mask = #attn.mask<causal>, score_mod = #attn.score_mod<softcap(20.0)>} : tensor<1x4x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
  return %o, %l : tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
}

// -----

// CHECK-LABEL: gpu.func @f16
// CHECK: amdgpu.mfma 16x16x16 {{.*}} : vector<4xf16>, vector<4xf16>, vector<4xf32>
func.func @f16(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// f32: K and V^T tiles of f32 in LDS, each 16-deep step of the 16-bit
// kernel as four 16x16x4 f32 MFMAs chained through the accumulator, on f32
// operands (never rounded to 16 bits).
// CHECK-LABEL: gpu.func @f32(
// CHECK-SAME: workgroup(%{{[^:]+}} : memref<64x32xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: amdgpu.mfma 16x16x16
// CHECK: %[[D0:.+]] = amdgpu.mfma 16x16x4 %{{.+}} * %{{.+}} + %{{.+}} blgp = none : f32, f32, vector<4xf32>
// CHECK: %[[D1:.+]] = amdgpu.mfma 16x16x4 %{{.+}} * %{{.+}} + %[[D0]] blgp = none : f32, f32, vector<4xf32>
// CHECK: %[[D2:.+]] = amdgpu.mfma 16x16x4 %{{.+}} * %{{.+}} + %[[D1]] blgp = none : f32, f32, vector<4xf32>
// CHECK: amdgpu.mfma 16x16x4 %{{.+}} * %{{.+}} + %[[D2]] blgp = none : f32, f32, vector<4xf32>
// CHECK-NOT: truncf
// CHECK: gpu.return
func.func @f32(%q: tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x32xf32>
  return %o : tensor<1x2x64x32xf32>
}
