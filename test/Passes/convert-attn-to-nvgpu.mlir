// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu | FileCheck %s

// One gpu.module per attention function; the kernel takes flat memrefs and
// the sizes (flat-memref ABI), one CTA of 8 warps per 128 query rows.
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @causal_kernels
// CHECK: gpu.func @causal(%{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xf32>, %{{.+}}: index, %{{.+}}: index, %{{.+}}: index) kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.maxnreg = 255 : i32}
// CHECK-DAG: gpu.block_id x
// CHECK-DAG: gpu.thread_id x
// S = Q K^T on tensor cores, bf16 operands packed in i32.
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// Online softmax in base 2 with quad shuffles for the row max.
// CHECK: gpu.shuffle xor
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: gpu.return
func.func @causal(%q: tensor<1x4x256x64xbf16>, %k: tensor<1x2x256x64xbf16>) -> (tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>) {
  %o, %l = attn.attention %q, %k, %k {mask = #attn.mask<causal>} : tensor<1x4x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
  return %o, %l : tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
}

// -----

// f16 operands go to mma.sync as vector<2xf16>.
// CHECK-LABEL: gpu.func @f16
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @f16(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}
