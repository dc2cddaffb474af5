// RUN: attention-opt %s --attn-report=target=cpu -o /dev/null | FileCheck %s

// 256/32 = 8 query tiles x 8 KV tiles per head: the dense op runs all 64,
// 2 * 2 heads * 256 * 256 * (64 + 64) FLOPs.
// CHECK: attn-report @dense target=cpu tile=32x32 tiles: total=128 full=128 partial=0 empty=0 executed_gflop=0.033554 dense_gflop=0.033554
func.func @dense(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// Causal: 28 full below the diagonal + 8 diagonal partial, 28 empty per head.
// CHECK: attn-report @causal target=cpu tile=32x32 tiles: total=128 full=56 partial=16 empty=56
func.func @causal(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// Window of 32 behind the diagonal: per query tile the diagonal tile and the
// one before it are partial, nothing is full.
// CHECK: attn-report @window target=cpu tile=32x32 tiles: total=128 full=0 partial=30 empty=98
func.func @window(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<window(32, 0)>} : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// CHECK: attn-report @dynamic: skipped (dynamic shape or mask_fn region)
func.func @dynamic(%q: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  return %o : tensor<1x2x?x64xf32>
}

// A score_fn changes scores, not which tiles run: counted as without it.
// CHECK: attn-report @scored target=cpu tile=32x32 tiles: total=16 full=16 partial=0 empty=0
func.func @scored(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
    score_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
      attn.yield %s : f32
    }
  return %o : tensor<1x4x64x64xf16>
}

// The analysis classifies tile pairs one by one; beyond 1e8 it declines.
// CHECK: attn-report @huge: skipped (1.18e+21 tile pairs, more than the report classifies one by one)
func.func @huge(%q: tensor<1x1x1099511627776x16xf16>) -> tensor<1x1x1099511627776x16xf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x1x1099511627776x16xf16>, tensor<1x1x1099511627776x16xf16>, tensor<1x1x1099511627776x16xf16> -> tensor<1x1x1099511627776x16xf16>
  return %o : tensor<1x1x1099511627776x16xf16>
}

// GQA decode, 4 query heads per K/V head: one head per tile reads each K/V
// tile 8 times (8 heads x 8 KV tiles of 32 x (64 + 64) f32 = 1.048576 MB,
// plus Q and O); packed (pack_gqa), the 2 groups read them twice (0.262144
// MB). The same FLOPs either way.
// CHECK: attn-report @gqa_decode target=cpu tile=32x32 tiles: total=64 full=64 partial=0 empty=0 executed_gflop=0.000524 dense_gflop=0.000524 mbytes=1.052672
func.func @gqa_decode(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x256x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>} : tensor<1x8x1x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// CHECK: attn-report @gqa_decode_packed target=cpu tile=32x32 pack_gqa=4 tiles: total=16 full=16 partial=0 empty=0 executed_gflop=0.000524 dense_gflop=0.000524 mbytes=0.266240
func.func @gqa_decode_packed(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x256x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, pack_gqa = true, tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>} : tensor<1x8x1x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
