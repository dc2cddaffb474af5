// REQUIRES: ptxas
// Where the cost model chose the tiles, the compile first tries the KV
// tile twice as wide (nvvmWiderTiles: head dims 65 to 128 on mma.sync, 65
// to 256 on sm_90a's wgmma kernel) and keeps it when ptxas reports no
// spills: 64 columns on mma.sync, 128 on wgmma (64 past head dim 128).
// Where the wider tile spills (here bias with a runtime block mask, on
// sm_90 and under every producer split on sm_90a), the kernel keeps the
// cost model's tile (and sm_90a its producer warpgroup); a tiling the user
// gave is never widened.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80,sm_90,sm_90a" --emit-dir=%t | FileCheck %s
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/dense.json

// CHECK-DAG: @dense sm_80 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x64x8x2
// CHECK-DAG: @dense sm_90 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x64x8x2
// CHECK-DAG: @dense sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x128x8x2
// CHECK-DAG: @hd256 sm_90 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x32x8x2
// CHECK-DAG: @hd256 sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x64x8x2
// CHECK-DAG: @spills sm_90 cubin {{.+}} spill_bytes=0 {{.+}} kernel=mma.sync tile=128x32x8x2
// CHECK-DAG: @spills sm_90a cubin {{.+}} spill_bytes=0 {{.+}} kernel=wgmma+tma+producer tile=128x64x8x2
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

func.func @spills(%q: tensor<1x4x200x128xbf16>, %k: tensor<1x2x63x128xbf16>, %v: tensor<1x1x63x128xbf16>, %bias: tensor<1x4x200x63xbf16>, %mask: tensor<1x4x13x4xi8>) -> tensor<1x4x200x128xbf16> {
  %o = attn.attention %q, %k, %v bias(%bias : tensor<1x4x200x63xbf16>) block_mask(%mask : tensor<1x4x13x4xi8>) {heads = #attn.heads<4, 2, 1>, mask = #attn.mask<runtime_blocks(16, 16)>, score_mod = #attn.score_mod<bias>} : tensor<1x4x200x128xbf16>, tensor<1x2x63x128xbf16>, tensor<1x1x63x128xbf16> -> tensor<1x4x200x128xbf16>
  return %o : tensor<1x4x200x128xbf16>
}

func.func @pinned(%q: tensor<1x4x300x128xbf16>) -> tensor<1x4x300x128xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>} : tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16> -> tensor<1x4x300x128xbf16>
  return %o : tensor<1x4x300x128xbf16>
}
