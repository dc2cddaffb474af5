// REQUIRES: ptxas
// The kernels' exponentials are ex2.approx.ftz.f32. Where ptxas spills that
// form and not llvm.exp2's ex2.approx.f32 (the PTX differs only there; here
// ALiBi under a runtime block mask with persistent CTAs: the
// warp-specialized kernel spills under every producer share either way,
// and the TMA kernel without a producer only with the flushing form), the
// compile keeps the plain form and names it in the kernel; exp2-ftz=0 asks
// for it outright.
// RUN: rm -rf %t && mkdir -p %t/auto %t/plain
// RUN: attention-opt %s --attn-compile="target=sm_90a persistent=132" --emit-dir=%t/auto 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/auto/f.json
// RUN: FileCheck %s --check-prefix=PLAIN-PTX --input-file=%t/auto/f.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_80 exp2-ftz=0" --emit-dir=%t/plain 2>&1 | FileCheck %s --check-prefix=ASKED
// RUN: FileCheck %s --check-prefix=PLAIN-PTX --input-file=%t/plain/f.sm_80.ptx

// REPORT: attn-compile: @f sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+plain-exp2 tile=
// MANIFEST: "kernel": "wgmma+tma+plain-exp2",
// PLAIN-PTX-NOT: ex2.approx.ftz.f32
// PLAIN-PTX: ex2.approx.f32
// PLAIN-PTX-NOT: ex2.approx.ftz.f32
// ASKED: attn-compile: @f sm_80 cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=mma.sync+plain-exp2 tile=

func.func @f(%q: tensor<1x2x200x64xf16>, %k: tensor<1x2x63x64xf16>, %v: tensor<1x2x63x64xf16>, %blocks: tensor<1x2x13x4xi8>) -> tensor<1x2x200x64xf16> {
  %o = attn.attention %q, %k, %v block_mask(%blocks : tensor<1x2x13x4xi8>) {heads = #attn.heads<xsqa(8)>, mask = #attn.mask<runtime_blocks(16, 16)>, score_mod = #attn.score_mod<alibi>} : tensor<1x2x200x64xf16>, tensor<1x2x63x64xf16>, tensor<1x2x63x64xf16> -> tensor<1x2x200x64xf16>
  return %o : tensor<1x2x200x64xf16>
}
