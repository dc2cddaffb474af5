// REQUIRES: ptxas
// When the warp-specialized kernel spills with every producer share (here
// the ping-pong one with ALiBi under a runtime block mask), the compile
// says so and builds the TMA kernel without a producer warpgroup; the
// manifest and the resource line name the kernel that was built.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1 pingpong=1" --emit-dir=%t 2>%t/err | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=NOTE --input-file=%t/err
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/k.json

// REPORT: attn-compile: @k sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma tile=128x128x8x2
// NOTE: attn-compile: note: @k sm_90a: the warp-specialized kernel (overlap) spills with every producer share; using the TMA kernel without a producer warpgroup
// MANIFEST: "block": [256, 1, 1],
// MANIFEST: "kernel": "wgmma+tma",
// MANIFEST-NEXT: "tile": [128, 128, 8, 2]
// MANIFEST-NOT: producer_registers

func.func @k(%q: tensor<1x2x200x64xf16>, %k: tensor<1x2x63x64xf16>, %v: tensor<1x2x63x64xf16>, %blocks: tensor<1x2x13x4xi8>) -> tensor<1x2x200x64xf16> {
  %o = attn.attention %q, %k, %v block_mask(%blocks : tensor<1x2x13x4xi8>) {heads = #attn.heads<xsqa(8)>, mask = #attn.mask<runtime_blocks(16, 16)>, score_mod = #attn.score_mod<alibi>} : tensor<1x2x200x64xf16>, tensor<1x2x63x64xf16>, tensor<1x2x63x64xf16> -> tensor<1x2x200x64xf16>
  return %o : tensor<1x2x200x64xf16>
}
