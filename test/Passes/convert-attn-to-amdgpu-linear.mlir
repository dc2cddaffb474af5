// RUN: attention-opt %s --attn-select-schedule=target=gfx942 --convert-attn-to-amdgpu --canonicalize | FileCheck %s

// The linear-attention kernel on CDNA: the same emitter as NVIDIA (two wave64s,
// 128 threads), its state and chunk buffers in one static LDS attribution
// (LDS has no dynamic allocation to opt into), transcendentals through
// llvm.exp2 so no device library is linked.
// CHECK-LABEL: gpu.func @lin(
// CHECK-SAME: workgroup(%[[LDS:.+]] : memref<30528xi8, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT: gpu.dynamic_shared_memory
// CHECK: memref.view %[[LDS]][%c0][] {{.+}} to memref<16x9xf32, #gpu.address_space<workgroup>>
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK-NOT: math.exp
// CHECK: gpu.return
func.func @lin(%q: tensor<1x4x64x16xf16>, %v: tensor<1x4x64x8xf16>, %s: tensor<1x4x16x9xf32>) -> (tensor<1x4x64x8xf16>, tensor<1x4x16x9xf32>) {
  %o, %st = attn.linear_attention %q, %q, %v state(%s : tensor<1x4x16x9xf32>) {causal, normalize, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xf16>, tensor<1x4x64x16xf16>, tensor<1x4x64x8xf16> -> tensor<1x4x64x8xf16>, tensor<1x4x16x9xf32>
  return %o, %st : tensor<1x4x64x8xf16>, tensor<1x4x16x9xf32>
}
