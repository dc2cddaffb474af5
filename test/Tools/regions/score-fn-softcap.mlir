// A score_fn computing 2 * tanh(s / 2) equals score=softcap:2 (scale 4 makes
// the scores large enough for the cap to matter); it composes
// with a built-in mask attribute.
// RUN: attention-run %s --check --reference-spec="heads=2 seq=50 dim=16 mask=window:8 score=softcap:2 scale=4" | FileCheck %s
// CHECK: check out: {{.*}} PASS

func.func @score_fn_softcap(%q: tensor<1x2x50x16xf32>) -> tensor<1x2x50x16xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<window(8, 0)>, scale = 4.0 : f64} : tensor<1x2x50x16xf32>, tensor<1x2x50x16xf32>, tensor<1x2x50x16xf32> -> tensor<1x2x50x16xf32>
    score_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
      %c = arith.constant 2.0 : f32
      %x = arith.divf %s, %c : f32
      %t = math.tanh %x : f32
      %r = arith.mulf %t, %c : f32
      attn.yield %r : f32
    }
  return %o : tensor<1x2x50x16xf32>
}
