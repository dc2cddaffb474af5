// mask_fn intersects the mask attribute: causal attribute + a region keeping
// q_idx - kv_idx <= 3 is causal+window:3. Every tile the region touches runs
// the masked path, so the result must still match.
// RUN: attention-run %s --check --reference-spec="heads=2 seq=100 dim=32 mask=causal+window:3" | FileCheck %s
// CHECK: check out: {{.*}} PASS
// RUN: not attention-run %s --check 2>&1 | FileCheck %s --check-prefix=NOREF
// NOREF: has mask_fn / score_fn regions, which the reference cannot evaluate
// RUN: not attention-run %s --check --reference-spec="heads=2 seq=99 dim=32" 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: differs from the kernel's shapes or operands

func.func @window_region(%q: tensor<1x2x100x32xf32>) -> tensor<1x2x100x32xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32> -> tensor<1x2x100x32xf32>
    mask_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index):
      %c3 = arith.constant 3 : index
      %jj = arith.addi %j, %c3 : index
      %keep = arith.cmpi uge, %jj, %i : index
      attn.yield %keep : i1
    }
  return %o : tensor<1x2x100x32xf32>
}
