// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=cpu --convert-attn-to-tiles --canonicalize | FileCheck %s

// stream_k(4): the kernel takes a workspace after the outputs; each of the 4
// work items (workers) takes an even share, ceil(units / 4), of the
// (output tile x KV tile) units and walks the output tiles it touches. A
// tile it covers whole is stored directly; a share of one is published in
// the worker's slot and counted with an atomic add on the tile's counter;
// the worker completing the count resets it to 0 (the kernel leaves the
// counters as it found them), merges the shares (max of the partial
// maxima, rescaled sums) and stores the tile.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[O:[^:]+]]: memref<?x2x?x32xf16>, %[[LSE:[^:]+]]: memref<?x2x?xf32>, %[[WS:[^:]+]]: memref<?xf32>, %[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index)
// CHECK: %[[FZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PER:.+]] = arith.ceildivui %{{.+}}, %c4 : index
// CHECK: scf.forall (%[[P:.+]]) = (%[[BEGIN]]) to (%[[END]]) step (1)
// CHECK: %[[U0:.+]] = arith.minui %{{.+}}, %[[UNITS:.+]] : index
// CHECK: %[[U1:.+]] = arith.minui %{{.+}}, %[[UNITS]] : index
// CHECK: %[[SOME:.+]] = arith.cmpi ult, %[[U0]], %[[U1]] : index
// CHECK: scf.if %[[SOME]] {
// CHECK: memref.store %{{.+}}, %[[O]]
// CHECK: } else {
// CHECK: memref.store %{{.+}}, %[[WS]][
// CHECK: %[[BEFORE:.+]] = memref.atomic_rmw addf %{{.+}}, %[[WS]][%[[CTR:.+]]] : (f32, memref<?xf32>) -> f32
// CHECK: %[[LAST:.+]] = arith.cmpf oeq, %{{.+}}, %{{.+}} : f32
// CHECK: scf.if %[[LAST]] {
// CHECK-NEXT: memref.store %[[FZERO]], %[[WS]][%[[CTR]]] : memref<?xf32>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: memref.store %{{.+}}, %[[LSE]]
// CHECK: memref.store %{{.+}}, %[[O]]
func.func @decode(%q: tensor<1x2x1x32xf16>, %k: tensor<1x1x512x32xf16>) -> (tensor<1x2x1x32xf16>, tensor<1x2x1xf32>) {
  %o, %l = attn.attention %q, %k, %k {schedule = #attn.schedule<stream_k(4)>} : tensor<1x2x1x32xf16>, tensor<1x1x512x32xf16>, tensor<1x1x512x32xf16> -> tensor<1x2x1x32xf16>, tensor<1x2x1xf32>
  return %o, %l : tensor<1x2x1x32xf16>, tensor<1x2x1xf32>
}

// -----

// Sigmoid rows have no max and no normalizer: shares are summed as they are.
// CHECK-LABEL: func.func @sigmoid(
// CHECK: memref.atomic_rmw addf
// CHECK: scf.if
// CHECK-NOT: math.exp
// CHECK: memref.store
func.func @sigmoid(%q: tensor<1x2x1x32xf32>, %k: tensor<1x2x512x32xf32>) -> tensor<1x2x1x32xf32> {
  %o = attn.attention %q, %k, %k {norm = #attn.norm<sigmoid>, schedule = #attn.schedule<stream_k(3)>} : tensor<1x2x1x32xf32>, tensor<1x2x512x32xf32>, tensor<1x2x512x32xf32> -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}

// -----

// Flash kernels have no workspace.
// CHECK-LABEL: func.func @flash(
// CHECK-SAME: %{{[^:]+}}: memref<?x2x?x32xf32>, %{{[^:]+}}: index, %{{[^:]+}}: index)
// CHECK-NOT: atomic_rmw
func.func @flash(%q: tensor<1x2x1x32xf32>, %k: tensor<1x2x512x32xf32>) -> tensor<1x2x1x32xf32> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>} : tensor<1x2x1x32xf32>, tensor<1x2x512x32xf32>, tensor<1x2x512x32xf32> -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}

// -----

// split_kv(4): four workers per output tile (the work items are B x tiles x
// 4); worker p takes split p % 4 of tile p / 4, ceil(max(KV tiles, 1) / 4)
// KV tiles, and always publishes it (no in-place store: a split is never
// the whole tile), in its one slot of (acc, m, l). A slot holds a tile's
// rows at most, min(32, G Sq) (packed decode: 2 Sq), x (Dv + 2) words.
// CHECK-LABEL: func.func @split(
// CHECK-SAME: %[[O:[^:]+]]: memref<?x2x?x32xf16>, %[[WS:[^:]+]]: memref<?xf32>, %[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index)
// CHECK: %[[KV:.+]] = arith.ceildivui %dim{{.*}}, %c32 : index
// CHECK: %[[KV1:.+]] = arith.maxui %[[KV]], %c1 : index
// CHECK: %[[PER:.+]] = arith.ceildivui %[[KV1]], %c4 : index
// CHECK: %[[GROWS:.+]] = arith.muli %{{.+}}, %c2 : index
// CHECK: %[[ROWS:.+]] = arith.minui %[[GROWS]], %c32 : index
// CHECK: scf.forall (%[[P:.+]]) = (%[[BEGIN]]) to (%[[END]]) step (1)
// CHECK: %[[TILE:.+]] = arith.divui %[[P]], %c4 : index
// CHECK: %[[SPLIT:.+]] = arith.remui %[[P]], %c4 : index
// CHECK: %[[KFROM:.+]] = arith.muli %[[SPLIT]], %[[PER]] : index
// CHECK: arith.addi %[[KFROM]], %[[PER]] : index
// CHECK-NOT: memref.store %{{.+}}, %[[O]][
// CHECK: %[[SLOT:.+]] = arith.muli %[[ROWS]], %c34 : index
// CHECK: arith.muli %[[P]], %[[SLOT]] : index
// CHECK-NOT: memref.store %{{.+}}, %[[O]][
// CHECK: memref.store %{{.+}}, %[[WS]][
// CHECK: memref.atomic_rmw addf
func.func @split(%q: tensor<1x2x1x32xf16>, %k: tensor<1x1x512x32xf16>) -> tensor<1x2x1x32xf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<split_kv(4)>} : tensor<1x2x1x32xf16>, tensor<1x1x512x32xf16>, tensor<1x1x512x32xf16> -> tensor<1x2x1x32xf16>
  return %o : tensor<1x2x1x32xf16>
}
