// RUN: attention-opt %s --split-input-file --convert-attn-to-nvgpu --canonicalize | FileCheck %s
// RUN: attention-opt %s --split-input-file --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" | FileCheck %s --check-prefix=WGMMA

// pack_gqa: grid.y counts groups of 4 query heads (h0 = 4 y is the group's
// first head, which names the K/V heads and classifies tiles), and lane
// row r of the packed tile is query row r / 4 of head h0 + r % 4: Q is
// read from that head. A warp whose 16 rows start past the group's 4 Sq
// rows skips each tile's products (decode: 7 of the 8 warps).
// CHECK-LABEL: gpu.func @gqa_decode(
// CHECK: %[[BY:.+]] = gpu.block_id y
// CHECK: %[[H0:.+]] = arith.muli %[[BY]], %c4 : index
// CHECK: %[[LANE:.+]] = arith.remui %{{.+}}, %c32 : index
// CHECK-NEXT: %[[G:.+]] = arith.divui %[[LANE]], %c4 : index
// CHECK: %[[WROW:.+]] = arith.addi %{{.+}}, %{{.+}} : index
// CHECK-NEXT: %[[R:.+]] = arith.addi %[[WROW]], %[[G]] : index
// CHECK-NEXT: %[[ROW:.+]] = arith.divui %[[R]], %c4 : index
// CHECK-NEXT: %[[OFF:.+]] = arith.remui %[[R]], %c4 : index
// CHECK-NEXT: %[[HEAD:.+]] = arith.addi %[[H0]], %[[OFF]] : index
// CHECK: arith.minui %[[ROW]],
// CHECK: %[[BH:.+]] = arith.addi %{{.+}}, %[[HEAD]] : index
// CHECK-NEXT: arith.muli %[[BH]], %arg6 : index
// CHECK: %[[LIVE:.+]] = arith.cmpi slt, %[[WROW]], %{{.+}} : index
// CHECK-NEXT: scf.if %{{.+}} -> (
// CHECK-NEXT: scf.if %[[LIVE]] -> (
// CHECK: nvvm.mma.sync
// The sm_90a options keep the mma.sync kernel: a packed decode tile is
// too short for a warpgroup's 64 rows, and there are no tensor maps.
// WGMMA-LABEL: gpu.func @gqa_decode(
// WGMMA-SAME: %arg7: index) kernel
// WGMMA-NOT: wgmma
// WGMMA: nvvm.mma.sync
// WGMMA-NOT: wgmma
func.func @gqa_decode(%q: tensor<2x8x1x64xbf16>, %k: tensor<2x2x512x64xbf16>) -> (tensor<2x8x1x64xbf16>, tensor<2x8x1xf32>) {
  %o, %lse = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, pack_gqa = true, schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 2>} : tensor<2x8x1x64xbf16>, tensor<2x2x512x64xbf16>, tensor<2x2x512x64xbf16> -> tensor<2x8x1x64xbf16>, tensor<2x8x1xf32>
  return %o, %lse : tensor<2x8x1x64xbf16>, tensor<2x8x1xf32>
}

// -----

// f32 (SIMT): thread t's packed row is r0 + t, query row (r0 + t) / 4 of
// head h0 + (r0 + t) % 4.
// CHECK-LABEL: gpu.func @gqa_decode_f32(
// CHECK: %[[BY:.+]] = gpu.block_id y
// CHECK: %[[H0:.+]] = arith.muli %[[BY]], %c4 : index
// CHECK: %[[T:.+]] = gpu.thread_id x
// CHECK: %[[R:.+]] = arith.addi %{{.+}}, %[[T]] : index
// CHECK-NEXT: %[[ROW:.+]] = arith.divui %[[R]], %c4 : index
// CHECK-NEXT: %[[OFF:.+]] = arith.remui %[[R]], %c4 : index
// CHECK-NEXT: arith.addi %[[H0]], %[[OFF]] : index
// CHECK: vector.fma
func.func @gqa_decode_f32(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x512x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, pack_gqa = true, schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 4, stages = 2>} : tensor<1x8x1x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// Stream-K over packed tiles: B x (Hq / 4) x ceil(4 Sq / block_q) output
// tiles, the group index 4 times over as the first head.
// CHECK-LABEL: gpu.func @gqa_stream_k(
// CHECK: %[[SQ4:.+]] = arith.muli %{{[^,]+}}, %c4 : index
// CHECK-NEXT: %[[TILES:.+]] = arith.ceildivui %[[SQ4]], %c64 : index
// CHECK: %[[GROUP:.+]] = arith.divui %{{.+}}, %[[TILES]] : index
// CHECK: arith.muli %[[GROUP]], %c4 : index
// CHECK: memref.atomic_rmw addf
func.func @gqa_stream_k(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x2x4096x64xbf16>) -> tensor<1x8x1x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, pack_gqa = true, schedule = #attn.schedule<stream_k(16)>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 2>} : tensor<1x8x1x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x8x1x64xbf16>
  return %o : tensor<1x8x1x64xbf16>
}
