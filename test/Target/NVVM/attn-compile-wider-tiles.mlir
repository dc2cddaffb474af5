// REQUIRES: ptxas
// Where the cost model chose the tiles, the compile first tries the KV
// tile twice as wide (nvvmWiderTiles: head dims 65 to 128 on mma.sync, 65
// to 256 on sm_90a's wgmma kernel) and keeps it when ptxas reports no
// spills: 64 columns on mma.sync, 128 on wgmma (64 past head dim 128).
// Where the wider tile spills (here head dim 256 with ALiBi, a bias, a
// document mask and a runtime block mask, under the producer splits
// tried on sm_90a), the kernel keeps the cost model's tile and its
// producer warpgroup; a tiling the user gave is never widened.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80,sm_90,sm_90a" --emit-dir=%t | FileCheck %s
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/dense.json

// CHECK-DAG: @dense sm_80 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x64x8x2
// CHECK-DAG: @dense sm_90 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x64x8x2
// CHECK-DAG: @dense sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x128x8x2
// CHECK-DAG: @hd256 sm_90 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x32x8x2
// CHECK-DAG: @hd256 sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x64x8x2
// CHECK-DAG: @spills sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x32x8x2
// CHECK-DAG: @pinned sm_80 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x32x8x2
// CHECK-DAG: @pinned sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x32x8x2

// The manifest and the launch geometry follow the tile that was built.
// MANIFEST: "target": "sm_90a",
// MANIFEST: "kernel": "wgmma+tma+producer",
// MANIFEST-NEXT: "tile": [128, 128, 8, 2]

func.func @dense(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}

func.func @hd256(%q: tensor<1x2x300x256xbf16>) -> tensor<1x2x300x256xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x300x256xbf16>, tensor<1x2x300x256xbf16>, tensor<1x2x300x256xbf16> -> tensor<1x2x300x256xbf16>
  return %o : tensor<1x2x300x256xbf16>
}

func.func @spills(%q: tensor<1x2x200x256xbf16>, %k: tensor<1x2x63x256xbf16>, %v: tensor<1x2x63x256xbf16>, %bias: tensor<1x2x200x63xbf16>, %docs: tensor<1x63xi32>, %blocks: tensor<1x2x13x4xi8>) -> (tensor<1x2x200x256xbf16>, tensor<1x2x200xf32>) {
  %o, %lse = attn.attention %q, %k, %v bias(%bias : tensor<1x2x200x63xbf16>) doc_ids(%docs : tensor<1x63xi32>) block_mask(%blocks : tensor<1x2x13x4xi8>) {mask = #attn.mask<document, runtime_blocks(16, 16)>, score_mod = #attn.score_mod<alibi, bias>} : tensor<1x2x200x256xbf16>, tensor<1x2x63x256xbf16>, tensor<1x2x63x256xbf16> -> tensor<1x2x200x256xbf16>, tensor<1x2x200xf32>
  return %o, %lse : tensor<1x2x200x256xbf16>, tensor<1x2x200xf32>
}

func.func @pinned(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>} : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}
