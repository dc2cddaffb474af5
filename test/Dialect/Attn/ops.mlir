// RUN: attention-opt %s --verify-roundtrip | FileCheck %s
// RUN: attention-opt %s --mlir-print-op-generic | attention-opt | FileCheck %s

// CHECK-LABEL: func.func @mha_plain
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x4x8x16xf32>
func.func @mha_plain(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// CHECK-LABEL: func.func @gqa_preset_lse
// CHECK: %[[O:.+]], %[[LSE:.+]] = attn.attention
// CHECK-SAME: heads = #attn.heads<gqa(8, 2)>
// CHECK-SAME: mask = #attn.mask<causal>
// CHECK-SAME: -> tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>
func.func @gqa_preset_lse(%q: tensor<2x8x16x32xbf16>, %k: tensor<2x2x16x32xbf16>, %v: tensor<2x2x16x32xbf16>) -> (tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>) {
  %o, %lse = attn.attention %q, %k, %v {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>} : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>
  return %o, %lse : tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>
}

// CHECK-LABEL: func.func @heads_presets
// CHECK: heads = #attn.heads<mha(4)>
// CHECK: heads = #attn.heads<mqa(4)>
// CHECK: heads = #attn.heads<sqa(8)>
// CHECK: heads = #attn.heads<ssqa(8)>
// CHECK: heads = #attn.heads<xsqa(16)>
// CHECK: heads = #attn.heads<4, 2, 1>
func.func @heads_presets(%q4: tensor<1x4x8x16xf16>, %k4: tensor<1x4x8x16xf16>, %k1: tensor<1x1x8x16xf16>, %k2: tensor<1x2x8x16xf16>) {
  %0 = attn.attention %q4, %k4, %k4 {heads = #attn.heads<mha(4)>} : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf16>
  %1 = attn.attention %q4, %k1, %k1 {heads = #attn.heads<mqa(4)>} : tensor<1x4x8x16xf16>, tensor<1x1x8x16xf16>, tensor<1x1x8x16xf16> -> tensor<1x4x8x16xf16>
  %2 = attn.attention %q4, %k2, %k2 {heads = #attn.heads<sqa(8)>} : tensor<1x4x8x16xf16>, tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16> -> tensor<1x4x8x16xf16>
  %3 = attn.attention %q4, %k4, %k4 {heads = #attn.heads<ssqa(8)>} : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf16>
  %4 = attn.attention %q4, %k4, %k4 {heads = #attn.heads<xsqa(16)>} : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf16>
  %5 = attn.attention %q4, %k2, %k1 {heads = #attn.heads<4, 2, 1>} : tensor<1x4x8x16xf16>, tensor<1x2x8x16xf16>, tensor<1x1x8x16xf16> -> tensor<1x4x8x16xf16>
  return
}

// CHECK-LABEL: func.func @diff_qkv_dims
// CHECK: attn.attention {{.*}} -> tensor<1x4x5x8xf32>
func.func @diff_qkv_dims(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x1x9x8xf32>) -> tensor<1x4x5x8xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x4x5x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x9x8xf32> -> tensor<1x4x5x8xf32>
  return %o : tensor<1x4x5x8xf32>
}

// CHECK-LABEL: func.func @dynamic_lengths
// CHECK: tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>
func.func @dynamic_lengths(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32> {
  %o = attn.attention %q, %k, %k {mask = #attn.mask<causal>} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// CHECK-LABEL: func.func @mask_forms
// CHECK: mask = #attn.mask<none>
// CHECK: mask = #attn.mask<causal_top_left>
// CHECK: mask = #attn.mask<causal, window(4, 0)>
// CHECK: mask = #attn.mask<window(2, 1)>
// CHECK: mask = #attn.mask<window(3, 0), sink(2)>
// CHECK: mask = #attn.mask<blocks(4, 4, "10/11")>
func.func @mask_forms(%q: tensor<1x2x8x16xf32>) {
  %0 = attn.attention %q, %q, %q {mask = #attn.mask<none>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %1 = attn.attention %q, %q, %q {mask = #attn.mask<causal_top_left>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %2 = attn.attention %q, %q, %q {mask = #attn.mask<window(4, 0), causal>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %3 = attn.attention %q, %q, %q {mask = #attn.mask<window(2, 1)>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %4 = attn.attention %q, %q, %q {mask = #attn.mask<sink(2), window(3, 0)>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %5 = attn.attention %q, %q, %q {mask = #attn.mask<blocks(4, 4, "10/11")>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return
}

// CHECK-LABEL: func.func @document_mask
// CHECK: doc_ids(%{{.*}} : tensor<1x8xi32>) {mask = #attn.mask<causal, document>}
func.func @document_mask(%q: tensor<1x2x8x16xf32>, %ids: tensor<1x8xi32>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %q, %q doc_ids(%ids : tensor<1x8xi32>) {mask = #attn.mask<causal, document>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// CHECK-LABEL: func.func @runtime_blocks
// CHECK: block_mask(%{{.*}} : tensor<1x2x2x3xi8>) {mask = #attn.mask<runtime_blocks(4, 4)>}
func.func @runtime_blocks(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x12x16xf32>, %bm: tensor<1x2x2x3xi8>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %k, %k block_mask(%bm : tensor<1x2x2x3xi8>) {mask = #attn.mask<runtime_blocks(4, 4)>} : tensor<1x2x8x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32> -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// A static layout and the runtime operand intersect, on one block size.
// CHECK-LABEL: func.func @static_and_runtime_blocks
// CHECK: mask = #attn.mask<blocks(4, 4, "10/11"), runtime_blocks(4, 4)>
func.func @static_and_runtime_blocks(%q: tensor<1x2x8x16xf32>, %bm: tensor<1x2x2x2xi8>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %q, %q block_mask(%bm : tensor<1x2x2x2xi8>) {mask = #attn.mask<blocks(4, 4, "10/11"), runtime_blocks(4, 4)>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// CHECK-LABEL: func.func @per_head_mask
// CHECK: mask = #attn.per_head_mask<[<causal>, <window(2, 0), sink(1)>], [0, 1, 1, 0]>
func.func @per_head_mask(%q: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.per_head_mask<[#attn.mask<causal>, #attn.mask<window(2, 0), sink(1)>], [0, 1, 1, 0]>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// CHECK-LABEL: func.func @score_mods
// CHECK: bias(%{{.*}} : tensor<1x2x8x8xf32>)
// CHECK-SAME: scale = 2.500000e-01 : f64
// CHECK-SAME: score_mod = #attn.score_mod<softcap(5.000000e+01), alibi, bias>
// CHECK: score_mod = #attn.score_mod<none>
func.func @score_mods(%q: tensor<1x2x8x16xf32>, %b: tensor<1x2x8x8xf32>) {
  %0 = attn.attention %q, %q, %q bias(%b : tensor<1x2x8x8xf32>) {scale = 0.25 : f64, score_mod = #attn.score_mod<softcap(50.0), alibi, bias>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %1 = attn.attention %q, %q, %q {score_mod = #attn.score_mod<none>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return
}

// CHECK-LABEL: func.func @sigmoid_and_gates
// CHECK: gate(%{{.*}} : tensor<1x2x8x16xf32>) {norm = #attn.norm<sigmoid(-1.000000e+00)>}
// CHECK: gate(%{{.*}} : tensor<1x2x8x1xf32>) {norm = #attn.norm<softmax>}
func.func @sigmoid_and_gates(%q: tensor<1x2x8x16xf32>, %g: tensor<1x2x8x16xf32>, %gh: tensor<1x2x8x1xf32>) {
  %0 = attn.attention %q, %q, %q gate(%g : tensor<1x2x8x16xf32>) {norm = #attn.norm<sigmoid(-1.0)>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %1 = attn.attention %q, %q, %q gate(%gh : tensor<1x2x8x1xf32>) {norm = #attn.norm<softmax>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return
}

// CHECK-LABEL: func.func @tiling_schedule_precision
// CHECK: precision = #attn.precision<acc = f32, p = bf16>
// CHECK-SAME: schedule = #attn.schedule<stream_k(132)>
// CHECK-SAME: tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 4, stages = 2>
// CHECK: schedule = #attn.schedule<split_kv(2)>
// CHECK: schedule = #attn.schedule<auto>
// CHECK: schedule = #attn.schedule<flash>
func.func @tiling_schedule_precision(%q: tensor<1x2x256x64xbf16>) {
  %0 = attn.attention %q, %q, %q {precision = #attn.precision<acc = f32, p = bf16>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 4, stages = 2>, schedule = #attn.schedule<stream_k(132)>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  %1 = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 128, warps = 4, stages = 2>, schedule = #attn.schedule<split_kv(2)>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  %2 = attn.attention %q, %q, %q {schedule = #attn.schedule<auto>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  %3 = attn.attention %q, %q, %q {schedule = #attn.schedule<flash>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  return
}

// A KV tile that is a multiple of 16 but not a power of two.
// CHECK-LABEL: func.func @tiling_kv_multiple_of_16
// CHECK: tiling = #attn.tiling<block_q = 128, block_kv = 176, warps = 8, stages = 2>
func.func @tiling_kv_multiple_of_16(%q: tensor<1x2x256x128xbf16>) {
  %0 = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 176, warps = 8, stages = 2>} : tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16> -> tensor<1x2x256x128xbf16>
  return
}

// CHECK-LABEL: func.func @regions
// CHECK: mask_fn {
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[QI:.+]]: index, %[[KI:.+]]: index):
// CHECK: attn.yield %{{.*}} : i1
// CHECK: score_fn {
// CHECK: attn.yield %{{.*}} : f32
func.func @regions(%q: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
    mask_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index):
      %keep = arith.cmpi uge, %i, %j : index
      attn.yield %keep : i1
    } score_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
      %c = arith.constant 2.0 : f32
      %t = arith.mulf %s, %c : f32
      attn.yield %t : f32
    }
  return %o : tensor<1x2x8x16xf32>
}

// CHECK-LABEL: func.func @linear_forms
// CHECK: attn.linear_attention %{{.*}}, %{{.*}}, %{{.*}} {causal, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>}
// CHECK: attn.linear_attention {{.*}} state(%{{.*}} : tensor<1x2x4x9xf32>) {causal, decay = #attn.decay<9.000000e-01>, normalize} {{.*}} -> tensor<1x2x16x8xf32>, tensor<1x2x4x9xf32>
// CHECK: feature = #attn.feature_map<taylor2>
// CHECK-SAME: scale = 5.000000e-01 : f64
func.func @linear_forms(%q: tensor<1x2x16x4xf32>, %v: tensor<1x2x16x8xf32>, %s: tensor<1x2x4x9xf32>) {
  %0 = attn.linear_attention %q, %q, %v {feature = #attn.feature_map<elu1>, decay = #attn.decay<alibi>, causal} : tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  %1, %st = attn.linear_attention %q, %q, %v state(%s : tensor<1x2x4x9xf32>) {decay = #attn.decay<0.9>, causal, normalize} : tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>, tensor<1x2x4x9xf32>
  %2 = attn.linear_attention %q, %q, %v {feature = #attn.feature_map<taylor2>, scale = 0.5 : f64} : tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return
}

// CHECK-LABEL: func.func @pack_gqa
// CHECK: {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, pack_gqa = true}
// CHECK: pack_gqa = false
func.func @pack_gqa(%q: tensor<1x8x1x32xbf16>, %k: tensor<1x2x64x32xbf16>) {
  %0 = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, pack_gqa = true} : tensor<1x8x1x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x32xbf16> -> tensor<1x8x1x32xbf16>
  %1 = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, pack_gqa = false} : tensor<1x8x1x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x32xbf16> -> tensor<1x8x1x32xbf16>
  return
}
