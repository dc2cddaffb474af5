// REQUIRES: ptxas
// exp2-ftz=0 asks for llvm.exp2's ex2.approx.f32 instead of the default
// ex2.approx.ftz.f32 (exp2-ftz.mlir; the PTX differs only there), and the
// kernel's name says so. (The compile used to fall back to it where only
// the flushing form spilled; no kernel of the sm_80, sm_90 or sm_90a
// resource matrices has needed that since the partial tiles' masks
// compare 32-bit offsets, and the fallback is gone.)
// RUN: rm -rf %t && mkdir -p %t/auto %t/plain %t/plain80
// RUN: attention-opt %s --attn-compile="target=sm_90a" --emit-dir=%t/auto 2>&1 | FileCheck %s --check-prefix=AUTO
// RUN: attention-opt %s --attn-compile="target=sm_90a exp2-ftz=0" --emit-dir=%t/plain 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/plain/f.json
// RUN: FileCheck %s --check-prefix=PLAIN-PTX --input-file=%t/plain/f.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_80 exp2-ftz=0" --emit-dir=%t/plain80 2>&1 | FileCheck %s --check-prefix=ASKED
// RUN: FileCheck %s --check-prefix=PLAIN-PTX --input-file=%t/plain80/f.sm_80.ptx

// AUTO-NOT: note:
// AUTO: attn-compile: @f sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=
// REPORT-NOT: note:
// REPORT: attn-compile: @f sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer+plain-exp2 tile=
// MANIFEST: "kernel": "wgmma+tma+producer+plain-exp2",
// PLAIN-PTX-NOT: ex2.approx.ftz.f32
// PLAIN-PTX: ex2.approx.f32
// PLAIN-PTX-NOT: ex2.approx.ftz.f32
// ASKED: attn-compile: @f sm_80 cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=mma.sync+plain-exp2 tile=

func.func @f(%q: tensor<1x2x200x64xf16>, %k: tensor<1x2x63x64xf16>, %v: tensor<1x2x63x64xf16>, %blocks: tensor<1x2x13x4xi8>) -> tensor<1x2x200x64xf16> {
  %o = attn.attention %q, %k, %v block_mask(%blocks : tensor<1x2x13x4xi8>) {heads = #attn.heads<xsqa(8)>, mask = #attn.mask<runtime_blocks(16, 16)>, score_mod = #attn.score_mod<alibi>} : tensor<1x2x200x64xf16>, tensor<1x2x63x64xf16>, tensor<1x2x63x64xf16> -> tensor<1x2x200x64xf16>
  return %o : tensor<1x2x200x64xf16>
}
