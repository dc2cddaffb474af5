// GQA decode bundles: on sm_90a the attn-select-schedule packs the 4 query
// heads of each K/V head into one tile of the mma.sync kernel (no TMA maps,
// no wgmma), a decode tile of 16 rows on 4 KV warps: grid (ceil(4 Sq / 16),
// Hq / 4 = 2, B). ptxas checks it, with
// no spills. The CPU kernel packs its 32-row tiles the same way: one work
// item per (batch, group of heads, tile of the group's packed rows).
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a,cpu" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=LOG
// RUN: FileCheck %s --input-file=%t/gqa.json

// LOG: attn-compile: @gqa sm_90a cubin registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes={{[0-9]+}} kernel=mma.sync+pack-gqa tile=16x128x4x2
// CHECK: "target": "sm_90a",
// CHECK: "param_abi": "flat-memref",
// CHECK-NEXT: "grid": ["ceil(4*Sq/16)", "2", "B"],
// CHECK-NEXT: "block": [128, 1, 1],
// CHECK: "kernel": "mma.sync+pack-gqa"
// CHECK: "target": "cpu",
// CHECK: "work_items": "B*2*ceil(4*Sq/32)"

func.func @gqa(%q: tensor<4x8x1x64xbf16>, %k: tensor<4x2x256x64xbf16>) -> (tensor<4x8x1x64xbf16>, tensor<4x8x1xf32>) {
  %o, %lse = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>} : tensor<4x8x1x64xbf16>, tensor<4x2x256x64xbf16>, tensor<4x2x256x64xbf16> -> tensor<4x8x1x64xbf16>, tensor<4x8x1xf32>
  return %o, %lse : tensor<4x8x1x64xbf16>, tensor<4x8x1xf32>
}
