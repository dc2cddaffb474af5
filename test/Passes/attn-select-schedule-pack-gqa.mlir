// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a | FileCheck %s --check-prefix=SM90A
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=cpu | FileCheck %s --check-prefix=CPU

// GQA decode: one query row per head, 4 heads per K/V head. The NVIDIA
// schedule packs each group into one tile (pack_gqa) and, with 8 packed
// tiles for 108 / 132 SMs, spreads the KV work (stream-K); a packed tile
// of 4 rows takes the mma.sync decode tiles (one row block on 4 KV warps),
// on sm_90a too. The CPU packs too, and keeps flash.
// SM80-LABEL: func.func @gqa_decode
// SM80: pack_gqa = true, schedule = #attn.schedule<stream_k(108)>
// SM90A-LABEL: func.func @gqa_decode
// SM90A: pack_gqa = true, schedule = #attn.schedule<stream_k(132)>, tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
// CPU-LABEL: func.func @gqa_decode
// CPU: pack_gqa = true, schedule = #attn.schedule<flash>
func.func @gqa_decode(%q: tensor<1x32x1x128xbf16>, %k: tensor<1x8x8192x128xbf16>) -> tensor<1x32x1x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<1x32x1x128xbf16>, tensor<1x8x8192x128xbf16>, tensor<1x8x8192x128xbf16> -> tensor<1x32x1x128xbf16>
  return %o : tensor<1x32x1x128xbf16>
}

// -----

// Stream-K counts packed tiles: 4 x 32 query heads would fill 108 SMs one
// head per tile, but 4 x 8 packed tiles do not.
// SM80-LABEL: func.func @gqa_decode_batch4
// SM80: pack_gqa = true, schedule = #attn.schedule<stream_k(108)>
func.func @gqa_decode_batch4(%q: tensor<4x32x1x128xbf16>, %k: tensor<4x8x8192x128xbf16>) -> tensor<4x32x1x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<4x32x1x128xbf16>, tensor<4x8x8192x128xbf16>, tensor<4x8x8192x128xbf16> -> tensor<4x32x1x128xbf16>
  return %o : tensor<4x32x1x128xbf16>
}

// -----

// Enough packed tiles for every SM: flash over packed tiles.
// SM80-LABEL: func.func @gqa_decode_batch64
// SM80: pack_gqa = true, schedule = #attn.schedule<flash>
// SM90A-LABEL: func.func @gqa_decode_batch64
// SM90A: pack_gqa = true, schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
func.func @gqa_decode_batch64(%q: tensor<64x32x1x128xbf16>, %k: tensor<64x8x1024x128xbf16>) -> tensor<64x32x1x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>} : tensor<64x32x1x128xbf16>, tensor<64x8x1024x128xbf16>, tensor<64x8x1024x128xbf16> -> tensor<64x32x1x128xbf16>
  return %o : tensor<64x32x1x128xbf16>
}

// -----

// Prefill fills its query tiles without packing: left alone.
// SM80-LABEL: func.func @gqa_prefill
// SM80-NOT: pack_gqa
// SM80: schedule = #attn.schedule<flash>
// SM90A-LABEL: func.func @gqa_prefill
// SM90A-NOT: pack_gqa
// SM90A: tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>
func.func @gqa_prefill(%q: tensor<1x32x2048x128xbf16>, %k: tensor<1x8x2048x128xbf16>) -> tensor<1x32x2048x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>, mask = #attn.mask<causal>} : tensor<1x32x2048x128xbf16>, tensor<1x8x2048x128xbf16>, tensor<1x8x2048x128xbf16> -> tensor<1x32x2048x128xbf16>
  return %o : tensor<1x32x2048x128xbf16>
}

// -----

// Nothing to pack: every query head has its own K/V head.
// SM80-LABEL: func.func @mha_decode
// SM80-NOT: pack_gqa
// SM80: schedule
func.func @mha_decode(%q: tensor<1x8x1x128xbf16>, %k: tensor<1x8x8192x128xbf16>) -> tensor<1x8x1x128xbf16> {
  %o = attn.attention %q, %k, %k : tensor<1x8x1x128xbf16>, tensor<1x8x8192x128xbf16>, tensor<1x8x8192x128xbf16> -> tensor<1x8x1x128xbf16>
  return %o : tensor<1x8x1x128xbf16>
}

// -----

// Per-head masks differ within a group: not packed.
// SM80-LABEL: func.func @per_head_decode
// SM80-NOT: pack_gqa
// SM80: schedule
func.func @per_head_decode(%q: tensor<1x4x1x64xbf16>, %k: tensor<1x2x4096x64xbf16>) -> tensor<1x4x1x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(4, 2)>, mask = #attn.per_head_mask<[<causal>, <window(64, 0)>], [0, 1, 0, 1]>} : tensor<1x4x1x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x4x1x64xbf16>
  return %o : tensor<1x4x1x64xbf16>
}

// -----

// A user's choice stands; a head's one decode row still takes the decode
// tiles.
// SM80-LABEL: func.func @user_no_pack
// SM80: pack_gqa = false, schedule = #attn.schedule<flash>
// SM90A-LABEL: func.func @user_no_pack
// SM90A: pack_gqa = false, schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>
func.func @user_no_pack(%q: tensor<64x32x1x128xbf16>, %k: tensor<64x8x1024x128xbf16>) -> tensor<64x32x1x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>, pack_gqa = false} : tensor<64x32x1x128xbf16>, tensor<64x8x1024x128xbf16>, tensor<64x8x1024x128xbf16> -> tensor<64x32x1x128xbf16>
  return %o : tensor<64x32x1x128xbf16>
}

// -----

// Unpacked with 32 rows a head: past one row block, so the unpacked sm_90a
// kernel is the wgmma one with its own tiles.
// SM90A-LABEL: func.func @user_no_pack_sq32
// SM90A: pack_gqa = false, schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>
func.func @user_no_pack_sq32(%q: tensor<64x32x32x128xbf16>, %k: tensor<64x8x1024x128xbf16>) -> tensor<64x32x32x128xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(32, 8)>, pack_gqa = false} : tensor<64x32x32x128xbf16>, tensor<64x8x1024x128xbf16>, tensor<64x8x1024x128xbf16> -> tensor<64x32x32x128xbf16>
  return %o : tensor<64x32x32x128xbf16>
}

// -----

// A dynamic Sq may be long: not packed.
// SM80-LABEL: func.func @dynamic_sq
// SM80-NOT: pack_gqa
// SM80: schedule
func.func @dynamic_sq(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>) -> tensor<1x8x?x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>} : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x8x?x64xbf16>
  return %o : tensor<1x8x?x64xbf16>
}
