// A score_fn built from the math dialect's functions: every GPU target
// computes it without a device library of its own (attn-expand-math: AMD
// polynomial approximations and expansions, NVIDIA libdevice plus trunc, the
// CPU libm plus rsqrt) and matches the CPU kernel's outputs at f32 tolerance.
// RUN: rm -rf %t && attention-run %s --reference-spec="heads=2 seq=50 dim=16" --dump=%t | FileCheck %s --check-prefix=CPU
// RUN: attention-run %s --reference-spec="heads=2 seq=50 dim=16" --inputs=%t --expected=%t --target=gfx942 | FileCheck %s
// RUN: attention-run %s --reference-spec="heads=2 seq=50 dim=16" --inputs=%t --expected=%t --target=gfx90a | FileCheck %s
// RUN: attention-run %s --reference-spec="heads=2 seq=50 dim=16" --inputs=%t --expected=%t --target=sm_80 | FileCheck %s
// CPU: attention-run: kind=softmax
// CHECK: expected out.npy: {{.*}} PASS

func.func @score_fn_math(%q: tensor<1x2x50x16xf32>) -> tensor<1x2x50x16xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x50x16xf32>, tensor<1x2x50x16xf32>, tensor<1x2x50x16xf32> -> tensor<1x2x50x16xf32>
    score_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
      %c01 = arith.constant 0.1 : f32
      %c1 = arith.constant 1.0 : f32
      %c15 = arith.constant 1.5 : f32
      %x = arith.mulf %s, %c01 : f32
      %a = math.absf %x : f32
      %a1 = arith.addf %a, %c1 : f32
      %t0 = math.tanh %x : f32
      %t1 = math.erf %x : f32
      %t2 = math.sin %x : f32
      %t3 = math.cos %x : f32
      %t4 = math.atan %x : f32
      %t5 = math.cbrt %x : f32
      %t6 = math.log2 %a1 : f32
      %t7 = math.log10 %a1 : f32
      %t8 = math.rsqrt %a1 : f32
      %t9 = math.sinh %x : f32
      %t10 = math.powf %a1, %c15 : f32
      %t11 = math.exp2 %x : f32
      %t12 = math.atan2 %x, %c15 : f32
      %t13 = math.trunc %x : f32
      %t14 = math.roundeven %x : f32
      %u0 = arith.addf %t0, %t1 : f32
      %u1 = arith.addf %t2, %t3 : f32
      %u2 = arith.addf %t4, %t5 : f32
      %u3 = arith.addf %t6, %t7 : f32
      %u4 = arith.addf %t8, %t9 : f32
      %u5 = arith.addf %t10, %t11 : f32
      %u6 = arith.addf %t12, %t13 : f32
      %v0 = arith.addf %u0, %u1 : f32
      %v1 = arith.addf %u2, %u3 : f32
      %v2 = arith.addf %u4, %u5 : f32
      %v3 = arith.addf %u6, %t14 : f32
      %w0 = arith.addf %v0, %v1 : f32
      %w1 = arith.addf %v2, %v3 : f32
      %r = arith.addf %w0, %w1 : f32
      attn.yield %r : f32
    }
  return %o : tensor<1x2x50x16xf32>
}
