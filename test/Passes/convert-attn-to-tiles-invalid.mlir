// RUN: attention-opt %s --split-input-file --convert-attn-to-tiles --verify-diagnostics

func.func @no_tiling(%q: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  // expected-error @+1 {{has no tiling; run attn-select-schedule first}}
  %o = attn.attention %q, %q, %q : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

func.func @not_alone(%q: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  // expected-error @+1 {{lowering expects a function whose body is this op and a return}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 8, block_kv = 8, warps = 1, stages = 1>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %p = attn.attention %o, %q, %q {tiling = #attn.tiling<block_q = 8, block_kv = 8, warps = 1, stages = 1>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return %p : tensor<1x2x8x16xf32>
}

// -----

func.func @linear_no_tiling(%q: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  // expected-error @+1 {{has no tiling; run attn-select-schedule first}}
  %o = attn.linear_attention %q, %q, %q {causal} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

func.func @linear_not_alone(%q: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  // expected-error @+1 {{lowering expects a function whose body is this op and a return}}
  %o = attn.linear_attention %q, %q, %q {causal, tiling = #attn.tiling<block_q = 8, block_kv = 8, warps = 1, stages = 1>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  %p = arith.addf %o, %q : tensor<1x2x8x4xf32>
  return %p : tensor<1x2x8x4xf32>
}
