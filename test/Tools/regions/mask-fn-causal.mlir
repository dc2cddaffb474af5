// A mask_fn spelling out bottom-right causal (q_idx is absolute) computes the
// same as the built-in mask.
// RUN: attention-run %s --check --reference-spec="batch=2 heads=4:2 seq=70:90 dim=32 mask=causal lse=1" | FileCheck %s
// CHECK: check out: {{.*}} PASS
// CHECK: check lse: {{.*}} PASS

func.func @mask_fn_causal(%q: tensor<2x4x70x32xf32>, %k: tensor<2x2x90x32xf32>) -> (tensor<2x4x70x32xf32>, tensor<2x4x70xf32>) {
  %o, %l = attn.attention %q, %k, %k : tensor<2x4x70x32xf32>, tensor<2x2x90x32xf32>, tensor<2x2x90x32xf32> -> tensor<2x4x70x32xf32>, tensor<2x4x70xf32>
    mask_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index):
      %keep = arith.cmpi ule, %j, %i : index
      attn.yield %keep : i1
    }
  return %o, %l : tensor<2x4x70x32xf32>, tensor<2x4x70xf32>
}
