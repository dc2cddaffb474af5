// REQUIRES: ptxas
// When the warp-specialized kernel spills with every producer share and
// exp2 form (here the overlap at head dim 192 with 128 x 128 tiles: 96
// registers of O a thread beside the S tile and the pending P), the compile
// says so and builds the TMA kernel without a producer warpgroup; the
// manifest and the resource line name the kernel that was built.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1" --emit-dir=%t 2>%t/err | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=NOTE --input-file=%t/err
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/k.json

// REPORT: attn-compile: @k sm_90a cubin registers={{[0-9]+}} spill_bytes=0 {{.+}} kernel=wgmma+tma tile=128x128x8x2
// NOTE: attn-compile: note: @k sm_90a: the warp-specialized kernel (overlap) spills with every producer share and exp2 form; using the TMA kernel without a producer warpgroup
// MANIFEST: "block": [256, 1, 1],
// MANIFEST: "kernel": "wgmma+tma",
// MANIFEST-NEXT: "tile": [128, 128, 8, 2]
// MANIFEST-NOT: producer_registers

func.func @k(%q: tensor<1x4x300x192xbf16>) -> tensor<1x4x300x192xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 128, warps = 8, stages = 2>} : tensor<1x4x300x192xbf16>, tensor<1x4x300x192xbf16>, tensor<1x4x300x192xbf16> -> tensor<1x4x300x192xbf16>
  return %o : tensor<1x4x300x192xbf16>
}
