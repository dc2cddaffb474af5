// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=cpu --convert-attn-to-tiles | FileCheck %s

// The kernel keeps the function's name, takes memrefs with dynamic batch and
// lengths (destination-passing: O and LSE are arguments) and a work-item range.
// CHECK-LABEL: func.func @causal(
// CHECK-SAME: %[[Q:.+]]: memref<?x4x?x32xf16>, %[[K:.+]]: memref<?x2x?x32xf16>, %[[V:.+]]: memref<?x2x?x32xf16>, %[[O:.+]]: memref<?x4x?x32xf16>, %[[LSE:.+]]: memref<?x4x?xf32>, %[[BEGIN:.+]]: index, %[[END:.+]]: index)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: arith.ceildivui
// CHECK-NEXT: arith.constant 32
// CHECK-NEXT: %[[NKV:.+]] = arith.ceildivui %{{.+}}, %c32{{.*}} : index
// CHECK: scf.forall (%[[WI:.+]]) = (%[[BEGIN]]) to (%[[END]]) step (1)
// CHECK: memref.alloc() : memref<32x32xf32>
// Loop over KV tiles up to the last one the work item's last row keeps
// (the causal band: none right of the diagonal is visited); empty tiles
// skipped, full tiles without mask code.
// CHECK: %[[COLS:.+]] = arith.maxsi %{{.+}}, %c0{{.*}} : index
// CHECK-NEXT: arith.constant 32
// CHECK-NEXT: %[[LIVE:.+]] = arith.ceildivui %[[COLS]], %c32{{.*}} : index
// CHECK-NEXT: %[[KVEND:.+]] = arith.minui %[[LIVE]], %[[NKV]] : index
// CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %[[KVEND]] step
// CHECK: %[[NOT_EMPTY:.+]] = arith.xori
// CHECK: scf.if %[[NOT_EMPTY]] {
// CHECK-NEXT: scf.if %{{.+}} {
// CHECK-NOT: arith.cmpi
// CHECK: } else {
// CHECK: arith.cmpi sle
// CHECK: arith.select
// CHECK: math.exp
// CHECK: math.log
func.func @causal(%q: tensor<1x4x64x32xf16>, %k: tensor<1x2x64x32xf16>) -> (tensor<1x4x64x32xf16>, tensor<1x4x64xf32>) {
  %o, %l = attn.attention %q, %k, %k {mask = #attn.mask<causal>} : tensor<1x4x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x4x64x32xf16>, tensor<1x4x64xf32>
  return %o, %l : tensor<1x4x64x32xf16>, tensor<1x4x64xf32>
}

// -----

// Without a band (no causal or window part) every KV tile is visited.
// CHECK-LABEL: func.func @dense(
// CHECK: arith.ceildivui
// CHECK-NEXT: arith.constant 32
// CHECK-NEXT: %[[NKV:.+]] = arith.ceildivui %{{.+}}, %c32{{.*}} : index
// CHECK-NOT: arith.minui
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[NKV]] step
func.func @dense(%q: tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x32xf32>
  return %o : tensor<1x2x64x32xf32>
}

// -----

// A sliding window also starts the walk at the tile of the first row's
// first kept column.
// CHECK-LABEL: func.func @window(
// CHECK: %[[FIRST:.+]] = arith.maxsi %{{.+}}, %c0{{.*}} : index
// CHECK-NEXT: %[[KVBEGIN:.+]] = arith.divui %[[FIRST]], %c32{{.*}} : index
// CHECK: %[[KVEND:.+]] = arith.minui
// CHECK-NEXT: scf.for %{{.+}} = %[[KVBEGIN]] to %[[KVEND]] step
func.func @window(%q: tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<window(16, 0)>} : tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32> -> tensor<1x2x256x32xf32>
  return %o : tensor<1x2x256x32xf32>
}

// -----

// Static block layouts and ALiBi slopes become constant tables.
// CHECK-DAG: memref.global "private" constant @blocks_blocks0 : memref<2x2xindex> = dense<{{\[\[}}1, 0], [1, 1]]>
// CHECK-DAG: memref.global "private" constant @blocks_tile_classes0 : memref<2x2xindex> = dense<{{\[\[}}2, 0], [2, 2]]>
// CHECK-DAG: memref.global "private" constant @blocks_alibi_slopes : memref<2xf32>
// CHECK-LABEL: func.func @blocks(
func.func @blocks(%q: tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<blocks(32, 32, "10/11")>, score_mod = #attn.score_mod<alibi>, tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>} : tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x32xf32>
  return %o : tensor<1x2x64x32xf32>
}

// -----

// Regions are inlined per element: score_fn after the built-in mods, mask_fn
// on the masked path only, both on the absolute query index.
// CHECK-LABEL: func.func @regions(
// CHECK: scf.if %{{.+}} {
// CHECK: math.tanh
// CHECK-NOT: arith.cmpi ule
// CHECK: } else {
// CHECK: math.tanh
// CHECK: arith.cmpi ule
func.func @regions(%q: tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>} : tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x32xf32>
    mask_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index):
      %keep = arith.cmpi ule, %j, %i : index
      attn.yield %keep : i1
    } score_fn {
    ^bb0(%b: index, %h: index, %i: index, %j: index, %s: f32):
      %t = math.tanh %s : f32
      attn.yield %t : f32
    }
  return %o : tensor<1x2x64x32xf32>
}
