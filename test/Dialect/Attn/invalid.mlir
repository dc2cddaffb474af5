// RUN: attention-opt %s --split-input-file --verify-diagnostics

// Rule: Q/K/V have rank 4.
func.func @rank(%q: tensor<4x8x16xf32>, %k: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{query must have rank 4 [B, Hq, Sq, Dqk]}}
  %o = attn.attention %q, %k, %k : tensor<4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: head counts and head dims are static.
func.func @dynamic_heads(%q: tensor<1x?x8x16xf32>, %k: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{query head count and head dim must be static}}
  %o = attn.attention %q, %k, %k : tensor<1x?x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: element type is f32, f16 or bf16.
func.func @elt(%q: tensor<1x4x8x16xf64>) {
  // expected-error @+1 {{element type must be f32, f16 or bf16, got 'f64'}}
  %o = attn.attention %q, %q, %q : tensor<1x4x8x16xf64>, tensor<1x4x8x16xf64>, tensor<1x4x8x16xf64> -> tensor<1x4x8x16xf64>
  return
}

// -----

// Rule: Q, K, V share one element type.
func.func @mixed(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf16>) {
  // expected-error @+1 {{query, key and value must share one element type}}
  %o = attn.attention %q, %k, %k : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: batch sizes agree.
func.func @batch(%q: tensor<1x4x8x16xf32>, %k: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{batch sizes differ}}
  %o = attn.attention %q, %k, %k : tensor<1x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: query and key head dims agree.
func.func @dqk(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x32xf32>) {
  // expected-error @+1 {{query and key head dims differ: 16 vs 32}}
  %o = attn.attention %q, %k, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: key and value sequence lengths agree.
func.func @skv(%q: tensor<1x4x8x16xf32>, %v: tensor<1x4x9x16xf32>) {
  // expected-error @+1 {{key and value sequence lengths differ: 8 vs 9}}
  %o = attn.attention %q, %q, %v : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x9x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: Hq is a multiple of Hk and Hv.
func.func @groups(%q: tensor<1x4x8x16xf32>, %k: tensor<1x3x8x16xf32>) {
  // expected-error @+1 {{query heads (4) must be a multiple of key heads (3) and value heads (3)}}
  %o = attn.attention %q, %k, %k : tensor<1x4x8x16xf32>, tensor<1x3x8x16xf32>, tensor<1x3x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: the heads attribute matches the operands.
func.func @heads_attr(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{heads attribute #attn.heads<gqa(4, 2)> says 4, 2, 2 but the operands have 4, 4, 4}}
  %o = attn.attention %q, %q, %q {heads = #attn.heads<gqa(4, 2)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: output is [B, Hq, Sq, Dv] in the input element type.
func.func @output(%q: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{output must have shape [1, 4, 8, 8] and element type 'f32', got 'tensor<1x4x8x16xf32>'}}
  %o = attn.attention %q, %q, %v : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: LSE is [B, Hq, Sq] f32.
func.func @lse(%q: tensor<1x4x8x16xf16>) {
  // expected-error @+1 {{lse must have shape [1, 4, 8] and element type 'f32'}}
  %o, %l = attn.attention %q, %q, %q : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf16>, tensor<1x4x8xf16>
  return
}

// -----

// Rule: scale is finite and non-zero.
func.func @scale(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero, got 0}}
  %o = attn.attention %q, %q, %q {scale = 0.0 : f64} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: sigmoid normalization has no LSE.
func.func @sigmoid_lse(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{sigmoid normalization has no log-sum-exp}}
  %o, %l = attn.attention %q, %q, %q {norm = #attn.norm<sigmoid>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>, tensor<1x4x8xf32>
  return
}

// -----

// Rule: a per-head mask assigns every query head.
func.func @per_head_count(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{per-head mask assigns 2 heads but the query has 4}}
  %o = attn.attention %q, %q, %q {mask = #attn.per_head_mask<[<causal>], [0, 0]>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: runtime block masks of all patterns share one block size.
func.func @runtime_block_sizes(%q: tensor<1x4x8x16xf32>, %bm: tensor<1x4x2x2xi8>) {
  // expected-error @+1 {{all runtime block masks must share one block size, got 4x4 and 2x2}}
  %o = attn.attention %q, %q, %q block_mask(%bm : tensor<1x4x2x2xi8>) {mask = #attn.per_head_mask<[<runtime_blocks(4, 4)>, <runtime_blocks(2, 2)>], [0, 1, 0, 1]>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a static block layout needs static sequence lengths.
func.func @blocks_dynamic(%q: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{a static block layout needs static sequence lengths}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(4, 4, "11/11")>} : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
  return
}

// -----

// Rule: the block layout covers ceil(Sq/BQ) x ceil(Skv/BKV) blocks.
func.func @blocks_dims(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{block layout is 1x2 blocks but Sq=8, Skv=8 with 4x4 blocks needs 2x2}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(4, 4, "11")>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a document mask needs doc_ids.
func.func @document_operand(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{a document mask needs the doc_ids operand}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<document>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: doc_ids only with a document mask.
func.func @document_unused(%q: tensor<1x4x8x16xf32>, %ids: tensor<1x8xi32>) {
  // expected-error @+1 {{doc_ids given but no mask uses document}}
  %o = attn.attention %q, %q, %q doc_ids(%ids : tensor<1x8xi32>) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: doc_ids is [B, Skv] i32.
func.func @document_shape(%q: tensor<1x4x8x16xf32>, %ids: tensor<1x7xi32>) {
  // expected-error @+1 {{doc_ids must have shape [1, 8] and element type 'i32'}}
  %o = attn.attention %q, %q, %q doc_ids(%ids : tensor<1x7xi32>) {mask = #attn.mask<document>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: runtime blocks need block_mask.
func.func @blocks_operand(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{runtime_blocks needs the block_mask operand}}
  %o = attn.attention %q, %q, %q {mask = #attn.mask<runtime_blocks(4, 4)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block_mask only with runtime blocks.
func.func @blocks_unused(%q: tensor<1x4x8x16xf32>, %bm: tensor<1x4x2x2xi8>) {
  // expected-error @+1 {{block_mask given but no mask uses runtime_blocks}}
  %o = attn.attention %q, %q, %q block_mask(%bm : tensor<1x4x2x2xi8>) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block_mask is [B, Hq, ceil(Sq/BQ), ceil(Skv/BKV)] i8.
func.func @blocks_shape(%q: tensor<1x4x8x16xf32>, %bm: tensor<1x4x2x3xi8>) {
  // expected-error @+1 {{block_mask must have shape [1, 4, 2, 2] and element type 'i8'}}
  %o = attn.attention %q, %q, %q block_mask(%bm : tensor<1x4x2x3xi8>) {mask = #attn.mask<runtime_blocks(4, 4)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: score_mod bias needs the bias operand.
func.func @bias_operand(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{score_mod bias needs the bias operand}}
  %o = attn.attention %q, %q, %q {score_mod = #attn.score_mod<bias>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: a bias operand needs score_mod bias.
func.func @bias_unused(%q: tensor<1x4x8x16xf32>, %b: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{bias given but score_mod has no bias}}
  %o = attn.attention %q, %q, %q bias(%b : tensor<1x4x8x8xf32>) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: bias is [B, Hq, Sq, Skv].
func.func @bias_shape(%q: tensor<1x4x8x16xf32>, %b: tensor<1x4x8x9xf32>) {
  // expected-error @+1 {{bias must have shape [1, 4, 8, 8]}}
  %o = attn.attention %q, %q, %q bias(%b : tensor<1x4x8x9xf32>) {score_mod = #attn.score_mod<bias>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: gate is [B, Hq, Sq, Dv] or [B, Hq, Sq, 1].
func.func @gate_shape(%q: tensor<1x4x8x16xf32>, %g: tensor<1x4x8x2xf32>) {
  // expected-error @+1 {{gate must have shape [1, 4, 8, 16]}}
  %o = attn.attention %q, %q, %q gate(%g : tensor<1x4x8x2xf32>) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: split_kv(N) needs at least N KV tiles.
func.func @split_tiles(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{split_kv(4) needs that many KV tiles but Skv=8 with block_kv=4 gives 2}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 4, block_kv = 4, warps = 1, stages = 1>, schedule = #attn.schedule<split_kv(4)>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: mask_fn takes (b, h, q_idx, kv_idx : index).
func.func @mask_fn_args(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{mask_fn must take (b, h, q_idx, kv_idx : index), got 2 arguments}}
  %o = attn.attention %q, %q, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32> mask_fn {
  ^bb0(%i: index, %j: index):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

// Rule: mask_fn yields one i1.
func.func @mask_fn_yield(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{mask_fn must yield exactly one 'i1'}}
  %o = attn.attention %q, %q, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32> mask_fn {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    attn.yield %i : index
  }
  return
}

// -----

// Rule: mask_fn has one block.
func.func @mask_fn_blocks(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{mask_fn must have exactly one block}}
  %o = attn.attention %q, %q, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32> mask_fn {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    cf.br ^bb1
  ^bb1:
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

// Rule: score_fn takes the indices and the f32 score.
func.func @score_fn_args(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{score_fn must take (b, h, q_idx, kv_idx : index, score : f32), got 4 arguments}}
  %o = attn.attention %q, %q, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32> score_fn {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 0.0 : f32
    attn.yield %c : f32
  }
  return
}

// -----

// Rule: score_fn yields one f32.
func.func @score_fn_yield(%q: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{score_fn must yield exactly one 'f32'}}
  %o = attn.attention %q, %q, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32> score_fn {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

// Rule: attn.yield lives only in attn.attention regions.
func.func @yield_parent() {
  // expected-error @+1 {{expects parent op 'attn.attention'}}
  attn.yield
}

// -----

// Rule: linear attention has equal head counts.
func.func @linear_heads(%q: tensor<1x2x8x4xf32>, %k: tensor<1x1x8x4xf32>) {
  // expected-error @+1 {{linear attention needs equal head counts, got 2, 1, 2}}
  %o = attn.linear_attention %q, %k, %q : tensor<1x2x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: linear attention query and key lengths agree.
func.func @linear_seq(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x9x4xf32>) {
  // expected-error @+1 {{query and key sequence lengths differ: 8 vs 9}}
  %o = attn.linear_attention %q, %k, %k : tensor<1x2x8x4xf32>, tensor<1x2x9x4xf32>, tensor<1x2x9x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: linear attention output is [B, H, S, Dv].
func.func @linear_output(%q: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x3xf32>) {
  // expected-error @+1 {{output must have shape [1, 2, 8, 3]}}
  %o = attn.linear_attention %q, %q, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x3xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: decay needs causal linear attention.
func.func @linear_decay(%q: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{decay is defined only for causal linear attention}}
  %o = attn.linear_attention %q, %q, %q {decay = #attn.decay<0.5>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: linear attention scale is finite and non-zero.
func.func @linear_scale(%q: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero}}
  %o = attn.linear_attention %q, %q, %q {scale = 0.0 : f64} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: state_in is [B, H, F, Dv (+1 with normalize)] f32.
func.func @linear_state_in(%q: tensor<1x2x8x4xf32>, %s: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{state_in must have shape [1, 2, 4, 5] and element type 'f32'}}
  %o = attn.linear_attention %q, %q, %q state(%s : tensor<1x2x4x4xf32>) {causal, normalize} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: state_out has the state shape (taylor2 widens the feature dim).
func.func @linear_state_out(%q: tensor<1x2x8x2xf32>) {
  // expected-error @+1 {{state_out must have shape [1, 2, 7, 2] and element type 'f32'}}
  %o, %s = attn.linear_attention %q, %q, %q {causal, feature = #attn.feature_map<taylor2>} : tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32> -> tensor<1x2x8x2xf32>, tensor<1x2x2x2xf32>
  return
}

// -----

// Rule: a recurrent state needs causal linear attention.
func.func @linear_state_causal(%q: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{recurrent state is defined only for causal linear attention}}
  %o, %s = attn.linear_attention %q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>, tensor<1x2x4x4xf32>
  return
}

// -----

// Rule: linear attention has no stream-K schedule.
func.func @linear_stream_k(%q: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{linear attention takes schedule auto, flash or split_kv, not stream_k}}
  %o = attn.linear_attention %q, %q, %q {causal, schedule = #attn.schedule<stream_k(4)>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}


// -----

// Rule: a split linear-attention sequence has at most 4096 segments.
func.func @linear_split_too_many(%q: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{split_kv on linear attention takes at most 4096 segments, got 4097}}
  %o = attn.linear_attention %q, %q, %q {causal, schedule = #attn.schedule<split_kv(4097)>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return
}

// -----

// Rule: head counts and head dims are positive (they size the kernels).
func.func @zero_heads(%q: tensor<1x0x8x16xf32>) {
  // expected-error @+1 {{query head count and head dim must be positive, got 'tensor<1x0x8x16xf32>'}}
  %o = attn.attention %q, %q, %q : tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32> -> tensor<1x0x8x16xf32>
  return
}

// -----

func.func @zero_value_dim(%q: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x0xf32>) {
  // expected-error @+1 {{value head count and head dim must be positive, got 'tensor<1x2x8x0xf32>'}}
  %o = attn.attention %q, %q, %v : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x0xf32> -> tensor<1x2x8x0xf32>
  return
}

// -----

// Rule: a region uses only its arguments and what it defines: the kernels
// inline it per element, where the enclosing function is out of scope.
func.func @score_fn_captures(%q: tensor<1x1x16x16xf32>, %x: f32) {
  // expected-error @+1 {{score_fn may use only its arguments and values defined inside it (define constants in the region), but uses 1 value(s) defined outside}}
  %o = attn.attention %q, %q, %q : tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32> -> tensor<1x1x16x16xf32>
    score_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
      %t = arith.addf %s, %x : f32
      attn.yield %t : f32
    }
  return
}

// -----

func.func @mask_fn_captures(%q: tensor<1x1x16x16xf32>, %n: index) {
  // expected-error @+1 {{mask_fn may use only its arguments and values defined inside it}}
  %o = attn.attention %q, %q, %q : tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32> -> tensor<1x1x16x16xf32>
    mask_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index):
      %k = arith.cmpi ult, %j, %n : index
      attn.yield %k : i1
    }
  return
}

// -----

// Rule: pack_gqa packs the query heads that share a key and value head;
// here every query head has its own.
func.func @pack_gqa_without_group(%q: tensor<1x4x1x16xbf16>, %k: tensor<1x4x64x16xbf16>) {
  // expected-error @+1 {{pack_gqa needs query heads that share a key and value head (Hq / max(Hk, Hv) > 1), got 4, 4, 4}}
  %o = attn.attention %q, %k, %k {pack_gqa = true} : tensor<1x4x1x16xbf16>, tensor<1x4x64x16xbf16>, tensor<1x4x64x16xbf16> -> tensor<1x4x1x16xbf16>
  return
}

// -----

// Rule: a packed tile holds rows of several heads and is classified once,
// so every head must have the same mask.
func.func @pack_gqa_per_head_mask(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{pack_gqa needs one mask for every head, not a per-head mask}}
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(4, 2)>, mask = #attn.per_head_mask<[<causal>, <window(2, 0)>], [0, 1, 0, 1]>, pack_gqa = true} : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

// Rule: block-sparse masks are indexed by query tile, which a packed tile
// is not.
func.func @pack_gqa_blocks(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{pack_gqa cannot take a block-sparse mask: its blocks are indexed by query tile}}
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(4, 2)>, mask = #attn.mask<blocks(4, 4, "10/11")>, pack_gqa = true} : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @pack_gqa_runtime_blocks(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %bm: tensor<1x4x2x2xi8>) {
  // expected-error @+1 {{pack_gqa cannot take a block-sparse mask}}
  %o = attn.attention %q, %k, %k block_mask(%bm : tensor<1x4x2x2xi8>) {heads = #attn.heads<gqa(4, 2)>, mask = #attn.mask<runtime_blocks(4, 4)>, pack_gqa = true} : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}
