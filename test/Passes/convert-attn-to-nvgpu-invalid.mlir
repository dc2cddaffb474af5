// RUN: attention-opt %s --split-input-file --convert-attn-to-nvgpu --verify-diagnostics

func.func @f32_rows_per_thread(%q: tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32> {
  // expected-error @+1 {{the f32 SIMT kernel needs block_q = 32 x warps (one query row per thread)}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x32xf32>
  return %o : tensor<1x2x64x32xf32>
}

// -----

func.func @f32_head_dim(%q: tensor<1x2x64x6xf32>) -> tensor<1x2x64x6xf32> {
  // expected-error @+1 {{the f32 SIMT kernel needs Dqk % 4 == 0 and Dv % 4 == 0, got 6 and 6}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x6xf32>, tensor<1x2x64x6xf32>, tensor<1x2x64x6xf32> -> tensor<1x2x64x6xf32>
  return %o : tensor<1x2x64x6xf32>
}

// -----

// Fewer warps than m16 row blocks.
func.func @rows_per_warp(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{the mma.sync kernel needs block_q = 16 x r (r row blocks), warps = r x n (n KV warps a row block) and block_kv a multiple of 16 x n, got #attn.tiling<block_q = 128, block_kv = 32, warps = 4, stages = 2>}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// block_q not a whole number of m16 row blocks.
func.func @partial_row_block(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{the mma.sync kernel needs block_q = 16 x r (r row blocks)}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 8, block_kv = 32, warps = 1, stages = 2>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// 4 KV warps on a 32-column KV tile: slices of 8 columns, not a k16 step
// of P V.
func.func @kv_warp_slice(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{the mma.sync kernel needs block_q = 16 x r (r row blocks), warps = r x n (n KV warps a row block) and block_kv a multiple of 16 x n, got #attn.tiling<block_q = 16, block_kv = 32, warps = 4, stages = 2>}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 16, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// Rows move by 8- or 16-byte cp.async (a Dqk that is not a multiple of 16
// is padded on chip): head dims must be multiples of 4.
func.func @head_dim(%q: tensor<1x2x64x18xf16>) -> tensor<1x2x64x18xf16> {
  // expected-error @+1 {{the mma.sync kernel needs Dqk % 4 == 0 and Dv % 4 == 0, got 18 and 18}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x18xf16>, tensor<1x2x64x18xf16>, tensor<1x2x64x18xf16> -> tensor<1x2x64x18xf16>
  return %o : tensor<1x2x64x18xf16>
}

// -----

func.func @smem(%q: tensor<1x2x64x256xf16>) -> tensor<1x2x64x256xf16> {
  // expected-error @+1 {{the kernel needs 443392 bytes of shared memory, more than the 232448 of any NVIDIA target; lower block_kv or stages}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 128, warps = 4, stages = 4>} : tensor<1x2x64x256xf16>, tensor<1x2x64x256xf16>, tensor<1x2x64x256xf16> -> tensor<1x2x64x256xf16>
  return %o : tensor<1x2x64x256xf16>
}

// -----

// The conversion lowers what attn-select-schedule chose; without a tiling
// it says so.
func.func @linear_untiled(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{has no tiling; run attn-select-schedule first}}
  %o = attn.linear_attention %q, %q, %q {causal} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}
