// REQUIRES: ptxas
// The NVIDIA kernels' exponentials are ex2.approx.ftz.f32 (one MUFU.EX2):
// plain ex2.approx.f32, which llvm.exp2 lowers to, costs a compare and two
// predicated multiplies more per element to keep subnormal results.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80,sm_90a" --emit-dir=%t >/dev/null 2>&1
// RUN: FileCheck %s --input-file=%t/e.sm_80.ptx
// RUN: FileCheck %s --input-file=%t/e.sm_90a.ptx

// CHECK-NOT: ex2.approx.f32
// CHECK: ex2.approx.ftz.f32
// CHECK-NOT: ex2.approx.f32

func.func @e(%q: tensor<1x2x256x64xbf16>) -> tensor<1x2x256x64xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  return %o : tensor<1x2x256x64xbf16>
}
