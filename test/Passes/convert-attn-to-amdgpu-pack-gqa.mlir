// RUN: attention-opt %s --convert-attn-to-amdgpu --canonicalize | FileCheck %s

// pack_gqa on the MFMA kernel: grid.y names a group of G = 2 query heads
// (first head 2 block_id.y); each lane's packed row r = tile row + 16 wave
// + c is query row r / G of head h0 + r % G, whose Q row it loads (and
// whose scores, O and LSE it writes). K/V come from the group's K/V head.
// CHECK-LABEL: gpu.func @pack_gqa(
// CHECK: %[[BY:.+]] = gpu.block_id y
// CHECK: %[[H0:.+]] = arith.muli %[[BY]], %c2 : index
// CHECK: %[[KH:.+]] = arith.divui %[[H0]], %c2 : index
// CHECK: %[[VH:.+]] = arith.divui %[[H0]], %c2 : index
// CHECK: %[[ROW:.+]] = arith.divui %[[R:.+]], %c2 : index
// CHECK: %[[SUB:.+]] = arith.remui %[[R]], %c2 : index
// CHECK: %[[HEAD:.+]] = arith.addi %[[H0]], %[[SUB]] : index
// CHECK: %[[LAST:.+]] = arith.subi %{{.+}}, %c1 : index
// CHECK: %[[QROW:.+]] = arith.minui %[[ROW]], %[[LAST]] : index
// CHECK: %[[BH:.+]] = arith.muli %block_id_z, %c4 : index
// CHECK: %[[BHH:.+]] = arith.addi %[[BH]], %[[HEAD]] : index
// CHECK: vector.load %arg0
// CHECK: amdgpu.mfma
// CHECK: gpu.return
func.func @pack_gqa(%q: tensor<1x4x1x64xbf16>, %k: tensor<1x2x64x64xbf16>) -> tensor<1x4x1x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(4, 2)>, pack_gqa = true, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>} : tensor<1x4x1x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x4x1x64xbf16>
  return %o : tensor<1x4x1x64xbf16>
}
