// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=cpu --convert-attn-to-tiles --canonicalize | FileCheck %s

// Causal linear attention with decay, normalization and a state in and out:
// one work item per (batch, head), the state seeded from state_in, chunks in
// order, each row's inter-block product scaled by lambda^(r+1), the
// intra-block sum by lambda^(r-u), the normalizer column divided out, the
// state decayed by lambda^n and updated after the chunk, then stored.
// CHECK: memref.global "private" constant @lin_log_decay : memref<4xf32> = dense<[-2.500000e-01, -6.250000e-02, -1.562500e-02, -3.906250e-03]>
// CHECK-LABEL: func.func @lin(
// CHECK-SAME: %[[Q:.+]]: memref<?x4x?x16xf16>, %[[K:.+]]: memref<?x4x?x16xf16>, %[[V:.+]]: memref<?x4x?x8xf16>, %[[SIN:.+]]: memref<?x4x16x9xf32>, %[[O:.+]]: memref<?x4x?x8xf16>, %[[SOUT:.+]]: memref<?x4x16x9xf32>, %[[BEGIN:.+]]: index, %[[END:.+]]: index)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[S:.+]] = memref.dim %[[Q]], %c2
// CHECK: %[[NCHUNK:.+]] = arith.ceildivui %[[S]], %c32
// CHECK: scf.forall (%[[WI:.+]]) = (%[[BEGIN]]) to (%[[END]]) step (1)
// CHECK: %[[B:.+]] = arith.divui %[[WI]], %c4
// CHECK: %[[H:.+]] = arith.remui %[[WI]], %c4
// CHECK: %[[LOGL:.+]] = memref.load %{{.+}}[%[[H]]] : memref<4xf32>
// CHECK: %[[KV:.+]] = memref.alloc() : memref<16x9xf32>
// CHECK: memref.load %[[SIN]][%[[B]], %[[H]], %{{.+}}, %{{.+}}]
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: scf.for %[[CHUNK:.+]] = %c0 to %[[NCHUNK]]
// Inter-block: phi(q_r) . KV, times lambda^(r+1).
// CHECK: memref.load %[[KV]]
// CHECK: %[[R1:.+]] = arith.addi %{{.+}}, %c1
// CHECK: %[[R1I:.+]] = arith.index_castui %[[R1]]
// CHECK: %[[R1F:.+]] = arith.uitofp %[[R1I]]
// CHECK: %[[E:.+]] = arith.mulf %[[R1F]], %[[LOGL]]
// CHECK: math.exp %[[E]]
// Intra-block: rows u <= r of the chunk.
// CHECK: %[[UEND:.+]] = arith.addi %[[ROW:.+]], %c1
// CHECK: scf.for %[[U:.+]] = %c0 to %[[UEND]]
// CHECK: arith.subi %[[ROW]], %[[U]]
// CHECK: math.exp
// Normalizer column 8 divided out; a zero one gives 0.
// CHECK: %[[DEN:.+]] = memref.load %{{.+}}[%c8] : memref<9xf32>
// CHECK: %[[ZERO:.+]] = arith.cmpf oeq, %[[DEN]]
// CHECK: arith.divf %{{.+}}, %[[DEN]]
// CHECK: arith.select %[[ZERO]]
// CHECK: memref.store %{{.+}}, %[[O]][%[[B]], %[[H]],
// State update after the chunk.
// CHECK: memref.load %[[KV]]
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: memref.store %{{.+}}, %[[SOUT]][%[[B]], %[[H]],
func.func @lin(%q: tensor<1x4x64x16xf16>, %v: tensor<1x4x64x8xf16>, %s: tensor<1x4x16x9xf32>) -> (tensor<1x4x64x8xf16>, tensor<1x4x16x9xf32>) {
  %o, %st = attn.linear_attention %q, %q, %v state(%s : tensor<1x4x16x9xf32>) {causal, normalize, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xf16>, tensor<1x4x64x16xf16>, tensor<1x4x64x8xf16> -> tensor<1x4x64x8xf16>, tensor<1x4x16x9xf32>
  return %o, %st : tensor<1x4x64x8xf16>, tensor<1x4x16x9xf32>
}

// -----

// Non-causal: no decay table and no state operand; a first pass over the
// chunks sums KV, a second one reads it for every row. No intra-block loop.
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @dense(
// CHECK-SAME: memref<?x2x?x8xf32>, %{{.+}}: memref<?x2x?x8xf32>, %{{.+}}: memref<?x2x?x8xf32>, %[[O:.+]]: memref<?x2x?x8xf32>, %{{.+}}: index, %{{.+}}: index)
// CHECK: scf.forall
// CHECK-NOT: math.exp
// CHECK: scf.for %{{.+}} = %c0 to %[[N:.+]] step %c1 {
// CHECK-NOT: memref.store %{{.+}}, %[[O]]
// CHECK: scf.for %{{.+}} = %c0 to %[[N]] step %c1 {
// CHECK: memref.store %{{.+}}, %[[O]]
func.func @dense(%q: tensor<1x2x40x8xf32>) -> tensor<1x2x40x8xf32> {
  %o = attn.linear_attention %q, %q, %q : tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32> -> tensor<1x2x40x8xf32>
  return %o : tensor<1x2x40x8xf32>
}

// -----

// taylor2: phi = [1, x, vec(x outer x) / sqrt(2)], F = 1 + 3 + 9 = 13.
// CHECK-LABEL: func.func @taylor(
// CHECK: %[[ISQRT2:.+]] = arith.constant 0.7071067{{[0-9]+}} : f32
// CHECK: memref.alloc() : memref<32x13xf32>
// CHECK: memref.store %{{.+}}, %{{.+}}[%{{.+}}, %c0] : memref<32x13xf32>
// CHECK: arith.mulf %{{.+}}, %[[ISQRT2]]
func.func @taylor(%q: tensor<1x1x20x3xf32>) -> tensor<1x1x20x3xf32> {
  %o = attn.linear_attention %q, %q, %q {causal, feature = #attn.feature_map<taylor2>} : tensor<1x1x20x3xf32>, tensor<1x1x20x3xf32>, tensor<1x1x20x3xf32> -> tensor<1x1x20x3xf32>
  return %o : tensor<1x1x20x3xf32>
}

// -----

// split_kv(3) on the CPU: a work item per (batch, head, segment) and a
// workspace after the outputs. The item's segment is a ticket from its
// (batch, head) counter; segments 0 and 1 sum their rows' state into a zero
// state, store it and raise their flag (an acq_rel atomic add releases the
// stores); each waits for the flags of the segments before it and seeds
// the state with lambda^t0 state_in plus their decayed states; the last
// stores state_out.
// CHECK-LABEL: func.func @segments(
// CHECK-SAME: %[[SIN:[^:]+]]: memref<?x2x16x16xf32>, %{{[^:]+}}: memref<?x2x?x16xf32>, %[[SOUT:[^:]+]]: memref<?x2x16x16xf32>, %[[WS:[^:]+]]: memref<?xf32>, %[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index)
// CHECK: scf.forall (%[[WI:.+]]) = (%[[BEGIN]]) to (%[[END]])
// CHECK: %[[STREAM:.+]] = arith.divui %[[WI]], %c3
// CHECK: %[[DRAWN:.+]] = memref.atomic_rmw addf %{{.+}}, %[[WS]][%[[STREAM]]]
// CHECK: %[[TI:.+]] = arith.fptoui %[[DRAWN]]
// CHECK: %[[P:.+]] = arith.index_castui %[[TI]]
// CHECK: %[[PUBLISHES:.+]] = arith.cmpi ult, %[[P]], %c2
// CHECK: scf.if %[[PUBLISHES]] {
// CHECK: memref.store %{{.+}}, %[[WS]]
// CHECK: memref.atomic_rmw addf %{{.+}}, %[[WS]]
// CHECK: scf.for %{{.+}} = %c0 to %[[P]] step %c1 {
// CHECK: scf.while : () -> () {
// CHECK: %[[FLAG:.+]] = memref.atomic_rmw addf %{{.+}}, %[[WS]]
// CHECK: arith.cmpf olt, %[[FLAG]]
// CHECK: memref.load %[[SIN]]
// CHECK: scf.for %{{.+}} = %c0 to %[[P]] step %c1 iter_args
// CHECK: memref.load %[[WS]]
// CHECK: math.exp
// CHECK: %[[LAST:.+]] = arith.cmpi eq, %[[P]], %c2
// CHECK: scf.if %[[LAST]] {
// CHECK: memref.store %{{.+}}, %[[SOUT]]
func.func @segments(%q: tensor<1x2x100x16xf32>, %v: tensor<1x2x100x16xf32>, %s: tensor<1x2x16x16xf32>) -> (tensor<1x2x100x16xf32>, tensor<1x2x16x16xf32>) {
  %o, %so = attn.linear_attention %q, %q, %v state(%s : tensor<1x2x16x16xf32>) {causal, decay = #attn.decay<0.9>, schedule = #attn.schedule<split_kv(3)>} : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>, tensor<1x2x16x16xf32>
  return %o, %so : tensor<1x2x100x16xf32>, tensor<1x2x16x16xf32>
}

// -----

// Non-causal split_kv(3) on the CPU: every item publishes its rows' state,
// reads how many segments items have taken, sums the rows of the others
// itself, waits for the taken ones but its own and adds their states.
// CHECK-LABEL: func.func @noncausal_segments(
// CHECK-SAME: %[[WS:[^:]+]]: memref<?xf32>, %{{[^:]+}}: index, %{{[^:]+}}: index)
// CHECK: %[[STREAM:.+]] = arith.divui %{{.+}}, %c3
// CHECK: memref.atomic_rmw addf %[[ONE:.+]], %[[WS]][%[[STREAM]]]
// CHECK: %[[P:.+]] = arith.index_castui
// CHECK: memref.atomic_rmw addf %[[ONE]], %[[WS]]
// CHECK-NEXT: %[[TAKEN:.+]] = memref.atomic_rmw addf %{{.+}}, %[[WS]][%[[STREAM]]]
// CHECK: %[[N:.+]] = arith.minui %{{.+}}, %c3
// CHECK: scf.for %{{.+}} = %[[N]] to %c3 step %c1 {
// CHECK: scf.for %[[J:.+]] = %c0 to %[[N]] step %c1 {
// CHECK: arith.cmpi ne, %[[J]], %[[P]]
// CHECK: scf.while
func.func @noncausal_segments(%q: tensor<1x2x100x16xf32>) -> tensor<1x2x100x16xf32> {
  %o = attn.linear_attention %q, %q, %q {schedule = #attn.schedule<split_kv(3)>} : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}
