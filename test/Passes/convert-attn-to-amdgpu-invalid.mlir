// RUN: attention-opt %s --split-input-file --convert-attn-to-amdgpu --verify-diagnostics

// f32 K and V tiles of 64 rows and head dim 128 (32 KiB + 34 KiB) exceed
// the workgroup's LDS.
func.func @lds(%q: tensor<1x2x64x128xf32>) -> tensor<1x2x64x128xf32> {
  // expected-error @+1 {{tiling #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1> needs 67584 bytes of LDS (K and V tiles, KV-wave merge slots); a workgroup has 65536}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x64x128xf32>, tensor<1x2x64x128xf32>, tensor<1x2x64x128xf32> -> tensor<1x2x64x128xf32>
  return %o : tensor<1x2x64x128xf32>
}

// -----

// Fewer waves than 16-row blocks.
func.func @rows_per_wave(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{the MFMA kernel needs block_q = 16 x r (r row blocks), waves = r x n (n KV waves a row block) and block_kv a multiple of 16 x n, got #attn.tiling<block_q = 128, block_kv = 64, warps = 4, stages = 1>}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// 4 KV waves on a 32-column KV tile: slices of 8 columns, not a 16-column
// MFMA block.
func.func @kv_wave_slice(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{the MFMA kernel needs block_q = 16 x r (r row blocks), waves = r x n (n KV waves a row block) and block_kv a multiple of 16 x n, got #attn.tiling<block_q = 16, block_kv = 32, warps = 4, stages = 1>}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 16, block_kv = 32, warps = 4, stages = 1>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// The KV waves' merge slots count toward the LDS: at head dim 256, K
// (32768 bytes) + V^T (34816) + 2 slots x 64 lanes x (2 + 256 / 4) words
// x 4 (33792).
func.func @kv_wave_lds(%q: tensor<1x2x1x256xf16>, %k: tensor<1x2x64x256xf16>) -> tensor<1x2x1x256xf16> {
  // expected-error @+1 {{tiling #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 1> needs 101376 bytes of LDS (K and V tiles, KV-wave merge slots); a workgroup has 65536}}
  %o = attn.attention %q, %k, %k {tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x1x256xf16>, tensor<1x2x64x256xf16>, tensor<1x2x64x256xf16> -> tensor<1x2x1x256xf16>
  return %o : tensor<1x2x1x256xf16>
}

// -----

// Head dims are padded to the MFMA's 16 on chip, but rows move 4 elements
// at a time.
func.func @head_dim(%q: tensor<1x2x64x18xf16>) -> tensor<1x2x64x18xf16> {
  // expected-error @+1 {{the MFMA kernel needs Dqk and Dv multiples of 4, got 18 and 18}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x64x18xf16>, tensor<1x2x64x18xf16>, tensor<1x2x64x18xf16> -> tensor<1x2x64x18xf16>
  return %o : tensor<1x2x64x18xf16>
}

// -----

// The conversion lowers what attn-select-schedule chose; without a tiling
// it says so.
func.func @linear_untiled(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{has no tiling; run attn-select-schedule first}}
  %o = attn.linear_attention %q, %q, %q {causal} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

