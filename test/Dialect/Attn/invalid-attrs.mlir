// RUN: attention-opt %s --split-input-file --verify-diagnostics
// One case per attribute rule (parser and verifier).
// Rule: head presets are mha, gqa, mqa, sqa, ssqa, xsqa
func.func @heads_unknown(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{unknown head preset 'moe'}}
  %o = attn.attention %q, %q, %q {heads = #attn.heads<moe(4)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: head counts are positive
func.func @heads_positive(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{head counts must be positive, got 4, 0, 4}}
  %o = attn.attention %q, %q, %q {heads = #attn.heads<4, 0, 4>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: q heads are a multiple of k and v heads
func.func @heads_divisible(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{query heads (4) must be a multiple of key heads (3) and value heads (4)}}
  %o = attn.attention %q, %q, %q {heads = #attn.heads<4, 3, 4>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a preset base divides by the preset's factor
func.func @heads_base(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{head preset xsqa needs a base head count divisible by 4, got 6}}
  %o = attn.attention %q, %q, %q {heads = #attn.heads<xsqa(6)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: mask parts are known
func.func @mask_unknown(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{unknown mask part 'diagonal'}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<diagonal>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: window sizes are non-negative
func.func @mask_window(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{window sizes must be non-negative, got window(-2, 0)}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<window(-2, 0)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: sink counts are non-negative
func.func @mask_sink(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{sink token count must be non-negative, got -1}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<sink(-1)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block sizes are positive
func.func @mask_block_size(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block sizes must be positive, got 0x4}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<runtime_blocks(0, 4)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: blocks and runtime_blocks in one mask share its block size
func.func @mask_two_block_sizes(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{blocks and runtime_blocks need one block size, got 2x4 after 4x4}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(4, 4, "1/1"), runtime_blocks(2, 4)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block layout rows have one length
func.func @mask_rows(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block layout row 1 ('1') must be as long as row 0 ('11')}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(4, 4, "11/1")>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block layout holds only 0 and 1
func.func @mask_chars(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block layout row 0 ('12') may hold only '0' and '1'}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(4, 4, "12/11")>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a per-head mask has a pattern (an empty list does not parse; the
// verifier covers masks built in C++).
func.func @per_head_empty(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+2 {{expected '<'}}
  // expected-error @+1 {{failed to parse Attn_PerHeadMaskAttr parameter 'patterns'}}
  %o = attn.attention %q, %q, %q {mask = #attn.per_head_mask<[], [0, 0, 0, 0]>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: per-head assignment indexes a pattern
func.func @per_head_range(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{head 2 is assigned pattern 1 but only 1 patterns exist}}
  %o = attn.attention %q, %q, %q {mask = #attn.per_head_mask<[<causal>], [0, 0, 1, 0]>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: score modifications are known
func.func @score_unknown(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{unknown score modification 'relu'}}
  %o = attn.attention %q, %q, %q {score_mod = #attn.score_mod<relu>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: softcap is positive
func.func @softcap(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{softcap must be a positive finite value, got -3}}
  %o = attn.attention %q, %q, %q {score_mod = #attn.score_mod<softcap(-3.0)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: normalizations are softmax or sigmoid
func.func @norm_unknown(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{unknown normalization 'relu'}}
  %o = attn.attention %q, %q, %q {norm = #attn.norm<relu>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: accumulation is f32
func.func @precision_acc(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{accumulator type must be f32, got 'f16'}}
  %o = attn.attention %q, %q, %q {precision = #attn.precision<acc = f16, p = f16>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: P is f32, f16 or bf16
func.func @precision_p(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{P type must be f32, f16 or bf16, got 'i8'}}
  %o = attn.attention %q, %q, %q {precision = #attn.precision<acc = f32, p = i8>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block_q is a power of two
func.func @tiling_pow2(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block_q must be a power of two in [1, 512], got 48}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 48, block_kv = 64, warps = 4, stages = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block_kv is a power of two or a multiple of 16
func.func @tiling_kv_multiple(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block_kv must be a power of two or a multiple of 16 in [1, 512], got 24}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 24, warps = 4, stages = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block_kv is at most 512
func.func @tiling_kv_max(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block_kv must be a power of two or a multiple of 16 in [1, 512], got 528}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 528, warps = 4, stages = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: warps are 1..16, a power of two
func.func @tiling_warps(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{warps must be 1, 2, 4, 8 or 16, got 3}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 3, stages = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: stages are 1..8
func.func @tiling_stages(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{stages must be in [1, 8], got 0}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: schedules are auto, flash, split_kv, stream_k
func.func @schedule_unknown(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{unknown schedule 'ring'}}
  %o = attn.attention %q, %q, %q {schedule = #attn.schedule<ring>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: split and CTA counts are positive
func.func @schedule_count(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{stream_k needs a positive count, got 0}}
  %o = attn.attention %q, %q, %q {schedule = #attn.schedule<stream_k(0)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a decay is in (0, 1].
func.func @decay_range(%q: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{decay must be in (0, 1], got 1.5}}
  %o = attn.linear_attention %q, %q, %q {causal, decay = #attn.decay<1.5>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: each mask part at most once (a second would override the first).
func.func @mask_twice(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{mask part 'causal' given twice}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal, causal_top_left>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a static block layout has at least one row.
func.func @mask_empty_layout(%q: tensor<1x4x64x16xf32>) {
  // expected-error @+1 {{block layout must have at least one row}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(16, 16, "")>} : tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32> -> tensor<1x4x64x16xf32>
  return
}

// -----

// Rule: each score modification at most once.
func.func @score_twice(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{score modification 'alibi' given twice}}
  %o = attn.attention %q, %q, %q {score_mod = #attn.score_mod<alibi, alibi>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: softcap(0) would read as no softcap: it must be positive.
func.func @softcap_zero(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{softcap must be a positive finite value, got 0}}
  %o = attn.attention %q, %q, %q {score_mod = #attn.score_mod<softcap(0.0)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}
