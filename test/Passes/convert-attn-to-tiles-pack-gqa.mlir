// RUN: attention-opt %s --convert-attn-to-tiles --canonicalize | FileCheck %s

// pack_gqa on the CPU tile program: work items are (batch, group of 4 query
// heads, tile of the group's 4 Sq packed rows); the group's first head is
// 4 x its index and names the K/V head; tile row r is packed row
// r0 + r = query row (r0 + r) / 4 of head h0 + (r0 + r) % 4, whose Q row it
// loads.
// CHECK-LABEL: func.func @gqa_decode(
// CHECK: %[[SQ:.+]] = memref.dim %arg0, %c2
// CHECK: %[[ROWS:.+]] = arith.muli %[[SQ]], %c4 : index
// CHECK-NEXT: %[[TILES:.+]] = arith.ceildivui %[[ROWS]], %c32 : index
// CHECK: scf.forall (%[[WI:.+]]) =
// CHECK: %[[PERB:.+]] = arith.muli %[[TILES]], %c2 : index
// CHECK: %[[B:.+]] = arith.divui %[[WI]], %[[PERB]] : index
// CHECK: %[[REM:.+]] = arith.remui %[[WI]], %[[PERB]] : index
// CHECK: %[[GROUP:.+]] = arith.divui %[[REM]], %[[TILES]] : index
// CHECK-NEXT: %[[H0:.+]] = arith.muli %[[GROUP]], %c4 : index
// CHECK: %[[KH:.+]] = arith.divui %[[H0]], %c4 : index
// CHECK: scf.for %[[R:.+]] = %c0 to
// CHECK-NEXT: %[[P:.+]] = arith.addi %{{.+}}, %[[R]] : index
// CHECK-NEXT: %[[ROW:.+]] = arith.divui %[[P]], %c4 : index
// CHECK-NEXT: %[[OFF:.+]] = arith.remui %[[P]], %c4 : index
// CHECK-NEXT: %[[HEAD:.+]] = arith.addi %[[H0]], %[[OFF]] : index
// CHECK: memref.load %arg0[%[[B]], %[[HEAD]], %[[ROW]], %{{.+}}]
// CHECK: memref.load %arg1[%[[B]], %[[KH]],
func.func @gqa_decode(%q: tensor<2x8x1x32xf32>, %k: tensor<2x2x256x32xf32>) -> tensor<2x8x1x32xf32> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, pack_gqa = true, tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>} : tensor<2x8x1x32xf32>, tensor<2x2x256x32xf32>, tensor<2x2x256x32xf32> -> tensor<2x8x1x32xf32>
  return %o : tensor<2x8x1x32xf32>
}
