// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu --canonicalize | FileCheck %s

// Causal linear attention with ALiBi decay, normalization and a state in and
// out, f32 inputs (f32 FMA products): one block of 128 threads per (batch, head, column chunk), log2(lambda)
// per head from a table, the state [F][Dv + 1] and the chunk buffers in
// dynamic shared memory (phi rows padded to F + 1), the state seeded from
// state_in, then per chunk: fill, barrier, scores (u <= r only), barrier,
// outputs, barrier, stores and state update, barrier.
// CHECK: memref.global "private" constant @lin_log2_decay : memref<4xf32> = dense<[-0.360673755, -0.0901684388, -0.0225421097, -0.00563552743]>
// CHECK-LABEL: gpu.func @lin(
// CHECK-SAME: %[[Q:.+]]: memref<?xf32>, %[[K:.+]]: memref<?xf32>, %[[V:.+]]: memref<?xf32>, %[[SIN:.+]]: memref<?xf32>, %[[O:.+]]: memref<?xf32>, %[[SOUT:.+]]: memref<?xf32>, %{{.+}}: index, %[[S:.+]]: index, %{{.+}}: index) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[SMEM:.+]] = gpu.dynamic_shared_memory
// CHECK: %[[KV:.+]] = memref.view %[[SMEM]][%c0][] {{.+}} to memref<16x9xf32, #gpu.address_space<workgroup>>
// CHECK: %[[PQ:.+]] = memref.view %[[SMEM]]{{.+}} to memref<64x17xf32
// CHECK: %[[PK:.+]] = memref.view %[[SMEM]]{{.+}} to memref<64x17xf32
// CHECK: %[[V1:.+]] = memref.view %[[SMEM]]{{.+}} to memref<64x9xf32
// CHECK: %[[OS:.+]] = memref.view %[[SMEM]]{{.+}} to memref<64x9xf32
// CHECK: %[[P:.+]] = memref.view %[[SMEM]]{{.+}} to memref<64x64xf32
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[NCHUNK:.+]] = arith.ceildivui %[[S]], %c64
// CHECK: scf.for %{{.+}} = %[[TID]] to %c144 step %c128
// CHECK: memref.load %[[SIN]]
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: gpu.barrier
// Phase 1: phi(q), phi(k) (elu1 through exp2) four elements per thread and
// step (64 rows x 16 / 4: 256 slices, two steps of 128 threads), each from
// one 16-byte load; v likewise (64 x 8 / 4: one step). Software pipelined:
// the first chunk's loads before the walk (none for an empty one), every
// global load of a chunk before its first shared store; each iteration
// stores the loaded rows (phi applied), then the normalizer column, and
// after the barrier issues the next chunk's loads, carried in registers
// under this chunk's products.
// CHECK: %[[FIRST:.+]]:5 = scf.if %{{.+}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.load %[[Q]][%{{.+}}] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK-NOT: memref.store
// CHECK: vector.load %[[K]][%{{.+}}] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK-NOT: memref.store
// CHECK: vector.load %[[Q]]
// CHECK-NOT: memref.store
// CHECK: vector.load %[[K]]
// CHECK-NOT: memref.store
// CHECK: vector.load %[[V]][%{{.+}}] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK: } else {
// CHECK: scf.for %{{.+}} = %c0 to %[[NCHUNK]] step %c1 iter_args(%[[Q0:.+]] = %[[FIRST]]#0, {{.+}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.extract %[[Q0]][0]
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: memref.store %{{.+}}, %[[PQ]]
// CHECK: memref.store %{{.+}}, %[[PK]]
// CHECK-COUNT-4: memref.store %{{.+}}, %[[V1]]
// CHECK: scf.for %[[R:.+]] = %[[TID]] to %c64 step %c128
// CHECK: memref.store %{{.+}}, %[[V1]][%[[R]], %c8]
// CHECK: gpu.barrier
// CHECK: %[[NEXT:.+]]:5 = scf.if %{{.+}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.load %[[Q]]
// CHECK: vector.load %[[V]]
// CHECK: } else {
// Phase 2: decayed scores of the lower triangle, a 4 x 4 block per thread
// and step (64 x 64 scores: 256 blocks over 128 threads), blocks above the
// diagonal skipped.
// CHECK: scf.for %{{.+}} = %[[TID]] to %c256 step %c128
// CHECK: %[[LOWER:.+]] = arith.cmpi ule
// CHECK: scf.if %[[LOWER]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-16: llvm.intr.fma
// CHECK: memref.store %{{.+}}, %[[P]]
// CHECK: gpu.barrier
// Phase 3: inter-block (phi(q) KV, times lambda^(r+1)) plus intra-block.
// CHECK: memref.load %[[KV]]
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: memref.load %[[P]]
// CHECK: memref.store %{{.+}}, %[[OS]]
// CHECK: gpu.barrier
// Phase 4: O divided by the normalizer column (0 for a zero one), four
// columns per thread and step in one 16-byte store, then the state update.
// CHECK: %[[DEN:.+]] = memref.load %[[OS]][%{{.+}}, %c8]
// CHECK: %[[ZERO:.+]] = arith.cmpf oeq, %[[DEN]]
// CHECK: arith.divf %{{.+}}, %[[DEN]]
// CHECK: arith.select %[[ZERO]]
// CHECK: vector.store %{{.+}}, %[[O]][%{{.+}}] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK: memref.load %[[KV]]
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: gpu.barrier
// CHECK: scf.yield %[[NEXT]]#0, %[[NEXT]]#1, %[[NEXT]]#2, %[[NEXT]]#3, %[[NEXT]]#4
// CHECK: memref.store %{{.+}}, %[[SOUT]]
func.func @lin(%q: tensor<1x4x64x16xf32>, %v: tensor<1x4x64x8xf32>, %s: tensor<1x4x16x9xf32>) -> (tensor<1x4x64x8xf32>, tensor<1x4x16x9xf32>) {
  %o, %st = attn.linear_attention %q, %q, %v state(%s : tensor<1x4x16x9xf32>) {causal, normalize, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>} : tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>, tensor<1x4x64x8xf32> -> tensor<1x4x64x8xf32>, tensor<1x4x16x9xf32>
  return %o, %st : tensor<1x4x64x8xf32>, tensor<1x4x16x9xf32>
}

// -----

// Non-causal: the state is summed over every chunk first (no scores), then
// read for every row; no decay table.
// CHECK-NOT: log2_decay
// CHECK-LABEL: gpu.func @noncausal(
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: %[[N1:.+]] = arith.ceildivui
// CHECK: scf.for %{{.+}} = %c0 to %[[N1]] step %c1
// CHECK-NOT: memref.store {{.+}} memref<64x64xf32
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: }
// CHECK: scf.for %{{.+}} = %c0 to %[[N1]] step %c1
// CHECK-NOT: memref.store {{.+}} memref<64x64xf32
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: }
// CHECK-NEXT: gpu.return
func.func @noncausal(%q: tensor<2x2x100x32xbf16>) -> tensor<2x2x100x32xbf16> {
  %o = attn.linear_attention %q, %q, %q {feature = #attn.feature_map<relu>} : tensor<2x2x100x32xbf16>, tensor<2x2x100x32xbf16>, tensor<2x2x100x32xbf16> -> tensor<2x2x100x32xbf16>
  return %o : tensor<2x2x100x32xbf16>
}

// -----

// Dv = 96 over blocks of block_kv = 16 columns (two heads leave the SMs
// idle, so attn-select-schedule narrows the column chunk): block x owns
// columns [16 x, 16 x + 16), read four at a time.
// CHECK-LABEL: gpu.func @wide(
// CHECK: %[[X:.+]] = gpu.block_id x
// CHECK: %[[C0:.+]] = arith.muli %[[X]], %c16
// CHECK: %[[COL:.+]] = arith.addi %[[C0]], %{{.+}}
// CHECK: arith.minui %[[COL]], %c92
func.func @wide(%q: tensor<1x2x100x32xf32>, %v: tensor<1x2x100x96xf32>) -> tensor<1x2x100x96xf32> {
  %o = attn.linear_attention %q, %q, %v {causal} : tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x96xf32> -> tensor<1x2x100x96xf32>
  return %o : tensor<1x2x100x96xf32>
}

// -----

// A given block_kv of 64 over Dv = 96: the last chunk is ragged (its groups
// of four columns past 96 read columns 92-95 and store 0; v moves four
// columns at a time, so the read clamps to Dv - 4).
// CHECK-LABEL: gpu.func @ragged(
// CHECK: %[[X:.+]] = gpu.block_id x
// CHECK: %[[C0:.+]] = arith.muli %[[X]], %c64
// CHECK: %[[COL:.+]] = arith.addi %[[C0]], %{{.+}}
// CHECK: arith.minui %[[COL]], %c92
func.func @ragged(%q: tensor<1x2x100x32xf32>, %v: tensor<1x2x100x96xf32>) -> tensor<1x2x100x96xf32> {
  %o = attn.linear_attention %q, %q, %v {causal, tiling = #attn.tiling<block_q = 32, block_kv = 64, warps = 4, stages = 1>} : tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x96xf32> -> tensor<1x2x100x96xf32>
  return %o : tensor<1x2x100x96xf32>
}

// -----

// split_kv(3): the sequence in three segments, a block each (grid x =
// column chunks x 3, the column chunk x / 3). A block's segment is the
// ticket thread 0 draws from its stream's counter (workspace word
// (b H + h) chunks + chunk), not its x: a block then waits only for
// blocks already running. Segments 0 and 1 sum their rows' state D_p
// into a zero state, store it and raise their flag (every thread's fence
// before the barrier, then thread 0's add); each segment p waits for the
// flags of segments 0 .. p - 1 and starts from lambda^t0 state_in +
// sum_j lambda^(t0 - tEnd_j) D_j; the last stores state_out.
// CHECK-LABEL: gpu.func @segments(
// CHECK-SAME: %{{[^:]+}}: memref<?xf32>, %{{[^:]+}}: memref<?xf32>, %{{[^:]+}}: memref<?xf32>,
// CHECK-SAME: %[[SIN:[^:]+]]: memref<?xf32>, %{{[^:]+}}: memref<?xf32>, %[[SOUT:[^:]+]]: memref<?xf32>, %[[B:[^:]+]]: index, %[[S:[^:]+]]: index, %{{[^:]+}}: index, %[[WS:[^:]+]]: memref<?xf32>) kernel
// CHECK: %[[KV:.+]] = memref.view {{.+}} to memref<16x16xf32
// CHECK: memref.view {{.+}} to memref<64x16xf32
// CHECK: %[[OS:.+]] = memref.view {{.+}} to memref<64x16xf32
// CHECK: %[[X:.+]] = gpu.block_id x
// CHECK: %[[CHUNK:.+]] = arith.divui %[[X]], %c3
// CHECK: %[[NCHUNK:.+]] = arith.ceildivui %[[S]], %c64
// CHECK: %[[DRAWN:.+]] = memref.atomic_rmw addf %{{.+}}, %[[WS]][%{{.+}}]
// CHECK: memref.store %[[DRAWN]], %[[OS]][%c0, %c0]
// CHECK: gpu.barrier
// CHECK: %[[T:.+]] = memref.load %[[OS]][%c0, %c0]
// CHECK: %[[TI:.+]] = arith.fptoui %[[T]]
// CHECK: %[[P:.+]] = arith.index_castui %[[TI]]
// CHECK: %[[PER:.+]] = arith.ceildivui %[[NCHUNK]], %c3
// CHECK: %[[PUBLISHES:.+]] = arith.cmpi ult, %[[P]], %c2
// CHECK: scf.if %[[PUBLISHES]] {
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: scf.for
// CHECK: memref.store %{{.+}}, %[[WS]]
// CHECK: llvm.fence acq_rel
// CHECK-NEXT: gpu.barrier
// CHECK: memref.atomic_rmw addf %{{.+}}, %[[WS]]
// CHECK: scf.for %[[J:.+]] = %c0 to %[[P]] step %c1 {
// CHECK: scf.while : () -> () {
// CHECK: %[[FLAG:.+]] = memref.atomic_rmw addf %{{.+}}, %[[WS]]
// CHECK: %[[UNSET:.+]] = arith.cmpf olt, %[[FLAG]]
// CHECK: scf.condition(%[[UNSET]])
// CHECK: llvm.fence acq_rel
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: llvm.fence acq_rel
// CHECK: memref.load %[[SIN]]
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: scf.for %{{.+}} = %c0 to %[[P]] step %c1 iter_args
// CHECK: memref.load %[[WS]]
// CHECK: llvm.call_intrinsic "llvm.exp2"
// CHECK: memref.store %{{.+}}, %[[KV]]
// CHECK: %[[LAST:.+]] = arith.cmpi eq, %[[P]], %c2
// CHECK: memref.store %{{.+}}, %[[SOUT]]
// CHECK: gpu.return
func.func @segments(%q: tensor<1x2x100x16xf32>, %v: tensor<1x2x100x16xf32>, %s: tensor<1x2x16x16xf32>) -> (tensor<1x2x100x16xf32>, tensor<1x2x16x16xf32>) {
  %o, %so = attn.linear_attention %q, %q, %v state(%s : tensor<1x2x16x16xf32>) {causal, decay = #attn.decay<0.9>, schedule = #attn.schedule<split_kv(3)>} : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>, tensor<1x2x16x16xf32>
  return %o, %so : tensor<1x2x100x16xf32>, tensor<1x2x16x16xf32>
}

// -----

// Non-causal split_kv(3): every segment publishes its rows' state (no
// segment is exempt) and starts from the sum of all. Thread 0 reads how
// many segments blocks have taken (the counter, an atomic add of 0); the
// rows of the others are summed here on top of D_p (a block that has not
// started may never get an SM while this one waits), the taken ones' flags
// awaited but this segment's own, and their states added.
// CHECK-LABEL: gpu.func @noncausal_segments(
// CHECK: %[[DRAWN:.+]] = memref.atomic_rmw addf %[[ONE:.+]], %[[WS:.+]][%[[STREAM:.+]]] :
// CHECK: %[[P:.+]] = arith.index_castui
// CHECK-NOT: arith.cmpi ult, %[[P]], %c2
// CHECK: llvm.fence acq_rel
// CHECK-NEXT: gpu.barrier
// CHECK: memref.atomic_rmw addf %[[ONE]], %[[WS]]
// CHECK: %[[TAKEN:.+]] = memref.atomic_rmw addf %[[ZERO:.+]], %[[WS]][%[[STREAM]]] :
// CHECK: %[[N:.+]] = arith.minui %{{.+}}, %c3
// CHECK: scf.for %{{.+}} = %[[N]] to %c3 step %c1 {
// CHECK: scf.for %[[J:.+]] = %c0 to %[[N]] step %c1 {
// CHECK: %[[OTHER:.+]] = arith.cmpi ne, %[[J]], %[[P]]
// CHECK: scf.if %[[OTHER]] {
// CHECK: scf.while
// CHECK: scf.for %[[K:.+]] = %c0 to %[[N]] step %c1 iter_args
// CHECK: %[[OWN:.+]] = arith.cmpi eq, %[[K]], %[[P]]
// CHECK: arith.select %[[OWN]], %{{.+}}, %{{.+}} : f32
func.func @noncausal_segments(%q: tensor<1x2x100x16xf32>) -> tensor<1x2x100x16xf32> {
  %o = attn.linear_attention %q, %q, %q {schedule = #attn.schedule<split_kv(3)>} : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}
