// REQUIRES: ptxas
// When the warp-specialized kernel spills with every producer share and
// exp2 form (here the overlapped one at 128 x 176, causal: its S (88
// registers a thread), O (64) and pending P (44) beside the mask), the
// compile says so and builds the TMA kernel without a producer
// warpgroup; the manifest and the resource line name the kernel that was
// built.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1" --emit-dir=%t 2>%t/err | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=NOTE --input-file=%t/err
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/k.json

// REPORT: attn-compile: @k sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma tile=128x176x8x2
// NOTE: attn-compile: note: @k sm_90a: the warp-specialized kernel (overlap) spills with every producer share and exp2 form; using the TMA kernel without a producer warpgroup
// MANIFEST: "block": [256, 1, 1],
// MANIFEST: "kernel": "wgmma+tma",
// MANIFEST-NEXT: "tile": [128, 176, 8, 2]
// MANIFEST-NOT: producer_registers

func.func @k(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 176, warps = 8, stages = 2>} : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}
