// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_86 | FileCheck %s --check-prefix=SM86
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a | FileCheck %s --check-prefix=SM90A
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=gfx942 | FileCheck %s --check-prefix=GFX942

// A 16-bit decode tile has at most 16 rows (Sq x packed heads): one m16 row
// block, split over 4 KV warps of 16 columns each up to head dim 128
// (nvvmDecodeTiles), on sm_90a too (not the wgmma kernel's 64-row
// warpgroups). The AMD MFMA kernel splits a 16-row block over 4 KV waves
// the same way (16 columns each), f32 included.
// SM80-LABEL: func.func @mha_decode_hd128
// SM80: tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
// SM90A-LABEL: func.func @mha_decode_hd128
// SM90A: tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
// GFX942-LABEL: func.func @mha_decode_hd128
// GFX942: tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 1>
func.func @mha_decode_hd128(%q: tensor<64x32x1x128xf16>, %k: tensor<64x32x4096x128xf16>) -> tensor<64x32x1x128xf16> {
  %o = attn.attention %q, %k, %k : tensor<64x32x1x128xf16>, tensor<64x32x4096x128xf16>, tensor<64x32x4096x128xf16> -> tensor<64x32x1x128xf16>
  return %o : tensor<64x32x1x128xf16>
}

// -----

// Up to head dim 64 a KV warp takes 32 columns.
// SM80-LABEL: func.func @mha_decode_hd64
// SM80: tiling = #attn.tiling<block_q = 16, block_kv = 128, warps = 4, stages = 2>
func.func @mha_decode_hd64(%q: tensor<64x32x1x64xbf16>, %k: tensor<64x32x4096x64xbf16>) -> tensor<64x32x1x64xbf16> {
  %o = attn.attention %q, %k, %k : tensor<64x32x1x64xbf16>, tensor<64x32x4096x64xbf16>, tensor<64x32x4096x64xbf16> -> tensor<64x32x1x64xbf16>
  return %o : tensor<64x32x1x64xbf16>
}

// -----

// Head dim 256: 4 KV warps' stages (102 KiB) fit sm_80's 163 KiB but not
// sm_86's 99 KiB, which takes 2 KV warps; AMD's K, V^T and merge slots
// (99 KiB) need 2 KV waves for 64 KiB of LDS.
// SM80-LABEL: func.func @mha_decode_hd256
// SM80: tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
// SM86-LABEL: func.func @mha_decode_hd256
// SM86: tiling = #attn.tiling<block_q = 16, block_kv = 32, warps = 2, stages = 2>
// GFX942-LABEL: func.func @mha_decode_hd256
// GFX942: tiling = #attn.tiling<block_q = 16, block_kv = 32, warps = 2, stages = 1>
func.func @mha_decode_hd256(%q: tensor<64x32x1x256xf16>, %k: tensor<64x32x4096x256xf16>) -> tensor<64x32x1x256xf16> {
  %o = attn.attention %q, %k, %k : tensor<64x32x1x256xf16>, tensor<64x32x4096x256xf16>, tensor<64x32x4096x256xf16> -> tensor<64x32x1x256xf16>
  return %o : tensor<64x32x1x256xf16>
}

// -----

// 4 packed heads x 4 query rows = 16 rows: still one row block.
// SM80-LABEL: func.func @gqa_sq4
// SM80: pack_gqa = true
// SM80-SAME: tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
func.func @gqa_sq4(%q: tensor<8x32x4x128xbf16>, %k: tensor<8x8x4096x128xbf16>) -> tensor<8x32x4x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<8x32x4x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16> -> tensor<8x32x4x128xbf16>
  return %o : tensor<8x32x4x128xbf16>
}

// -----

// 4 packed heads x 8 query rows = 32 rows: two row blocks on 2 KV warps
// each; AMD the same in waves.
// SM80-LABEL: func.func @gqa_sq8
// SM80: pack_gqa = true
// SM80-SAME: tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 4, stages = 2>
// GFX942-LABEL: func.func @gqa_sq8
// GFX942: tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 4, stages = 1>
func.func @gqa_sq8(%q: tensor<8x32x8x128xbf16>, %k: tensor<8x8x4096x128xbf16>) -> tensor<8x32x8x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<8x32x8x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16> -> tensor<8x32x8x128xbf16>
  return %o : tensor<8x32x8x128xbf16>
}

// -----

// 64 rows: four row blocks, no KV warps; 68 rows: the prefill tiles.
// SM80-LABEL: func.func @gqa_sq16
// SM80: tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 4, stages = 2>
// SM80-LABEL: func.func @gqa_sq17
// SM80: tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>
func.func @gqa_sq16(%q: tensor<8x32x16x128xbf16>, %k: tensor<8x8x4096x128xbf16>) -> tensor<8x32x16x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<8x32x16x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16> -> tensor<8x32x16x128xbf16>
  return %o : tensor<8x32x16x128xbf16>
}
func.func @gqa_sq17(%q: tensor<8x32x17x128xbf16>, %k: tensor<8x8x4096x128xbf16>) -> tensor<8x32x17x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<8x32x17x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16> -> tensor<8x32x17x128xbf16>
  return %o : tensor<8x32x17x128xbf16>
}

// -----

// sm_90a: an unpacked tile of 40 rows stays on the wgmma kernel's tiles;
// packed, it takes the decode tiles (4 row blocks) on mma.sync.
// SM90A-LABEL: func.func @mha_sq40
// SM90A: tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>
// SM90A-LABEL: func.func @gqa_sq10
// SM90A: tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 4, stages = 2>
func.func @mha_sq40(%q: tensor<8x32x40x128xbf16>, %k: tensor<8x32x4096x128xbf16>) -> tensor<8x32x40x128xbf16> {
  %o = attn.attention %q, %k, %k : tensor<8x32x40x128xbf16>, tensor<8x32x4096x128xbf16>, tensor<8x32x4096x128xbf16> -> tensor<8x32x40x128xbf16>
  return %o : tensor<8x32x40x128xbf16>
}
func.func @gqa_sq10(%q: tensor<8x32x10x128xbf16>, %k: tensor<8x8x4096x128xbf16>) -> tensor<8x32x10x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<8x32x10x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16> -> tensor<8x32x10x128xbf16>
  return %o : tensor<8x32x10x128xbf16>
}

// -----

// A head dim no kernel takes (not a multiple of 4) keeps the cost
// model's tiles, and the schedule ends (the lowering refuses it with a
// diagnostic; found by ctest fuzz-compile, where sizing the decode tiles
// for head dim 3 never returned).
// SM90A-LABEL: func.func @head_dim_3
// SM90A: tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>
// GFX942-LABEL: func.func @head_dim_3
// GFX942: tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>
func.func @head_dim_3(%q: tensor<1x16x2x3xbf16>) -> tensor<1x16x2x3xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x16x2x3xbf16>, tensor<1x16x2x3xbf16>, tensor<1x16x2x3xbf16> -> tensor<1x16x2x3xbf16>
  return %o : tensor<1x16x2x3xbf16>
}

// -----

// f32 decode keeps the NVIDIA SIMT kernel's tiles (a row per thread); on
// AMD f32 runs the MFMA kernel, with KV waves too. A user's tiling
// stands.
// SM80-LABEL: func.func @f32_decode
// SM80: tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 4, stages = 2>
// GFX942-LABEL: func.func @f32_decode
// GFX942: tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 1>
// SM80-LABEL: func.func @user_decode
// SM80: tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 2>
func.func @f32_decode(%q: tensor<64x32x1x64xf32>, %k: tensor<64x32x4096x64xf32>) -> tensor<64x32x1x64xf32> {
  %o = attn.attention %q, %k, %k : tensor<64x32x1x64xf32>, tensor<64x32x4096x64xf32>, tensor<64x32x4096x64xf32> -> tensor<64x32x1x64xf32>
  return %o : tensor<64x32x1x64xf32>
}
func.func @user_decode(%q: tensor<64x32x1x64xf16>, %k: tensor<64x32x4096x64xf16>) -> tensor<64x32x1x64xf16> {
  %o = attn.attention %q, %k, %k {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 2>} : tensor<64x32x1x64xf16>, tensor<64x32x4096x64xf16>, tensor<64x32x4096x64xf16> -> tensor<64x32x1x64xf16>
  return %o : tensor<64x32x1x64xf16>
}
