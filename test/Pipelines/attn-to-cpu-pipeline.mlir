// RUN: attention-opt %s --attn-to-cpu-pipeline | FileCheck %s
// RUN: attention-opt %s --attn-to-cpu-pipeline --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPE

// Everything is LLVM dialect, with the C entry point.
// CHECK-LABEL: llvm.func @gqa(
// CHECK-NOT: attn.
// CHECK-NOT: scf.
// CHECK: llvm.func @_mlir_ciface_gqa(
// PIPE: attn-select-schedule{family=cpu target=cpu},
// PIPE-NEXT: convert-attn-to-tiles{count-tiles=false},
// PIPE-NEXT: func.func(
// PIPE-NEXT: scf-forall-to-for
// PIPE: canonicalize
// PIPE-NEXT: cse,
// PIPE-NEXT: attn-expand-math{target=cpu},
// PIPE-NEXT: convert-math-to-libm,
// PIPE-NEXT: convert-scf-to-cf
// PIPE-NEXT: arith-expand{include-bf16=true
// PIPE-NEXT: expand-strided-metadata,
// PIPE-NEXT: finalize-memref-to-llvm
// PIPE-NEXT: convert-to-llvm
// PIPE-NEXT: reconcile-unrealized-casts
func.func @gqa(%q: tensor<1x4x16x32xbf16>, %k: tensor<1x2x16x32xbf16>) -> tensor<1x4x16x32xbf16> {
  %o = attn.attention %q, %k, %k {mask = #attn.mask<causal>} : tensor<1x4x16x32xbf16>, tensor<1x2x16x32xbf16>, tensor<1x2x16x32xbf16> -> tensor<1x4x16x32xbf16>
  return %o : tensor<1x4x16x32xbf16>
}
