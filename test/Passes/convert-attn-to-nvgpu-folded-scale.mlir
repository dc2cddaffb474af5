// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu | FileCheck %s

// Plain scaled scores in bf16: the scale (1/8) is folded into the exponent
// (1/8 log2 e), one fma per score. The row max is taken over the unscaled
// products as a tree, then scaled once per row.
// CHECK-LABEL: gpu.func @folded
// CHECK: nvvm.mma.sync
// CHECK-NOT: arith.mulf
// CHECK: %[[A:.+]] = arith.maximumf %{{.+}}, %{{.+}} : f32
// CHECK: %[[B:.+]] = arith.maximumf %{{.+}}, %{{.+}} : f32
// CHECK: arith.maximumf %[[A]], %[[B]] : f32
// CHECK: gpu.shuffle xor
// CHECK: %[[EIGHTH:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: %[[M:.+]] = arith.mulf %{{.+}}, %[[EIGHTH]] : f32
// CHECK-NEXT: arith.maximumf %{{.+}}, %[[M]] : f32
// CHECK: %[[C:.+]] = arith.constant 0.180336878 : f32
// CHECK-NEXT: llvm.intr.fma(%{{.+}}, %[[C]], %{{.+}})
// CHECK-NEXT: llvm.call_intrinsic "llvm.exp2"
// The row sum is a tree too: its first level adds two probabilities.
// CHECK: %[[P0:.+]] = llvm.call_intrinsic "llvm.exp2"
// CHECK-NOT: arith.addf %{{.+}}, %[[P0]]
// CHECK: arith.addf %{{.+}}, %{{.+}} : f32
func.func @folded(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

// A softcap needs the scaled score itself: each score is scaled, and the
// exponent's factor stays log2 e.
// CHECK-LABEL: gpu.func @softcap
// CHECK: nvvm.mma.sync
// CHECK: %[[S:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: arith.mulf %{{.+}}, %[[S]] : f32
// CHECK: math.tanh
// CHECK: arith.negf
// CHECK-NEXT: %[[L:.+]] = arith.constant 1.44269502 : f32
// CHECK-NEXT: llvm.intr.fma(%{{.+}}, %[[L]], %{{.+}})
// CHECK-NOT: 0.180336878
// CHECK: gpu.return
func.func @softcap(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  %o = attn.attention %q, %q, %q {score_mod = #attn.score_mod<softcap(20.0)>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

// f32 (the SIMT kernel) keeps the scaled score and log2 e.
// CHECK-LABEL: gpu.func @f32
// CHECK: %[[S:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: arith.mulf %{{.+}}, %[[S]] : f32
// CHECK-NOT: 0.180336878
// CHECK: gpu.return
func.func @f32(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}
