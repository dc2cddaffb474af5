// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu | FileCheck %s
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu=wgmma=true | FileCheck %s --check-prefix=WGMMA

// Plain scaled scores in bf16: the scale (1/8) is folded into the exponent
// (1/8 log2 e), one fma per score. The row max is taken over the unscaled
// products, then scaled once per row. mma.sync reduces a lane's row max
// as a chain from -inf (a tree spills at head dim 256).
// CHECK-LABEL: gpu.func @folded
// CHECK: nvvm.mma.sync
// CHECK-NOT: arith.mulf
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT: %[[M0:.+]] = arith.maximumf %[[NEGINF]], %{{.+}} : f32
// CHECK-NEXT: arith.maximumf %[[M0]], %{{.+}} : f32
// CHECK: gpu.shuffle xor
// CHECK: %[[EIGHTH:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: %[[M:.+]] = arith.mulf %{{.+}}, %[[EIGHTH]] : f32
// CHECK-NEXT: arith.maximumf %{{.+}}, %[[M]] : f32
// CHECK: %[[C:.+]] = arith.constant 0.180336878 : f32
// CHECK-NEXT: llvm.intr.fma(%{{.+}}, %[[C]], %{{.+}})
// CHECK-NEXT: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// The wgmma kernel folds the same way and reduces the row max and sum as
// trees: the first level takes two scores, the sum's two probabilities.
// WGMMA-LABEL: gpu.func @folded
// WGMMA: nvvm.wgmma.mma_async
// WGMMA-NOT: arith.mulf
// WGMMA: %[[A:.+]] = arith.maximumf %{{.+}}, %{{.+}} : f32
// WGMMA-NEXT: %[[B:.+]] = arith.maximumf %{{.+}}, %{{.+}} : f32
// WGMMA: arith.maximumf %[[A]], %[[B]] : f32
// WGMMA: gpu.shuffle xor
// WGMMA: %[[EIGHTH:.+]] = arith.constant 1.250000e-01 : f32
// WGMMA-NEXT: arith.mulf %{{.+}}, %[[EIGHTH]] : f32
// WGMMA: %[[C:.+]] = arith.constant 0.180336878 : f32
// WGMMA-NEXT: llvm.intr.fma(%{{.+}}, %[[C]], %{{.+}})
// WGMMA-NEXT: %[[P0:.+]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// WGMMA-NEXT: llvm.intr.fma
// WGMMA-NEXT: %[[P1:.+]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// WGMMA: arith.addf %[[P0]], %[[P1]] : f32
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
// WGMMA-LABEL: gpu.func @softcap
// WGMMA-NOT: 0.180336878
// WGMMA: gpu.return
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
// WGMMA-LABEL: gpu.func @f32
// WGMMA-NOT: 0.180336878
// WGMMA: gpu.return
func.func @f32(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}
