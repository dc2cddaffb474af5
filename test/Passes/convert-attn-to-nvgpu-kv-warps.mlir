// RUN: attention-opt %s --split-input-file --convert-attn-to-nvgpu --canonicalize --cse | FileCheck %s

// KV warps: block_q = 16 is one m16 row block, so 4 warps take the same 16
// rows and split each 64-column KV tile in slices of 16. Warp w reads K and
// V rows 16 w on (ldmatrix), masks columns kt x 64 + 16 w on, and keeps its
// own running max, sum and O. After the KV loop two rounds merge them
// through shared memory laid over the K / V stages: warps 2, 3 hand their
// state (20 words x 32 lanes, word-major) to warps 0, 1, then warp 1 to
// warp 0; a barrier after each store and each merge. Only warp 0 stores O.
// CHECK-LABEL: gpu.func @decode(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[K:.+]] = memref.view %{{.+}}[%c0][] : {{.+}} to memref<2x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[V:.+]] = memref.view %{{.+}}[%c10240][] : {{.+}} to memref<2x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[SLOTS:.+]] = memref.view %{{.+}}[%c0][] : {{.+}} to memref<1280xf32, #gpu.address_space<workgroup>>
// CHECK: %[[WARP:.+]] = arith.divui %thread_id_x, %c32 : index
// CHECK: %[[LANE:.+]] = arith.remui %thread_id_x, %c32 : index
// CHECK: %[[COL0:.+]] = arith.muli %[[WARP]], %c16 : index
// CHECK: %[[STATE:.+]]:20 = scf.for
// CHECK: %[[KROW:.+]] = arith.addi %{{.+}}, %[[COL0]] : index
// CHECK-NEXT: arith.remui
// CHECK-NEXT: arith.muli
// CHECK-NEXT: nvgpu.ldmatrix %[[K]][%{{.+}}, %[[KROW]], %{{.+}}] {numTiles = 4 : i32, transpose = false}
// CHECK: %[[VROW:.+]] = arith.addi %{{.+}}, %[[COL0]] : index
// CHECK: nvgpu.ldmatrix %[[V]][%{{.+}}, %[[VROW]], %{{.+}}] {numTiles = 4 : i32, transpose = true}
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// Round 1: warps [2, 4) store, warps [0, 2) merge.
// CHECK: %[[BELOW4:.+]] = arith.cmpi ult, %[[WARP]], %c4 : index
// CHECK-NEXT: %[[FROM2:.+]] = arith.cmpi uge, %[[WARP]], %c2 : index
// CHECK-NEXT: %[[STORES1:.+]] = arith.andi %[[FROM2]], %[[BELOW4]] : i1
// CHECK-NEXT: scf.if %[[STORES1]] {
// CHECK-NEXT: %[[SLOT1:.+]] = arith.subi %[[WARP]], %c2 : index
// CHECK-NEXT: %[[BASE1:.+]] = arith.muli %[[SLOT1]], %c640 : index
// CHECK-NEXT: %[[AT1:.+]] = arith.addi %[[BASE1]], %[[LANE]] : index
// CHECK-NEXT: memref.store %[[STATE]]#0, %[[SLOTS]][%[[AT1]]]
// CHECK: gpu.barrier
// CHECK-NEXT: %[[BELOW2:.+]] = arith.cmpi ult, %[[WARP]], %c2 : index
// CHECK-NEXT: %[[MERGED1:.+]]:20 = scf.if %[[BELOW2]]
// CHECK: memref.load %[[SLOTS]]
// CHECK: arith.maximumf %[[STATE]]#0,
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[STATE]]#0,
// Round 2: warp 1 stores, warp 0 merges.
// CHECK: gpu.barrier
// CHECK-NEXT: %[[FROM1:.+]] = arith.cmpi uge, %[[WARP]], %c1 : index
// CHECK-NEXT: %[[STORES2:.+]] = arith.andi %[[FROM1]], %[[BELOW2]] : i1
// CHECK-NEXT: scf.if %[[STORES2]] {
// CHECK: memref.store %[[MERGED1]]#0, %[[SLOTS]]
// CHECK: gpu.barrier
// CHECK-NEXT: %[[BELOW1:.+]] = arith.cmpi ult, %[[WARP]], %c1 : index
// CHECK-NEXT: scf.if %[[BELOW1]]
// CHECK: memref.load %[[SLOTS]]
// CHECK: gpu.barrier
// CHECK-NEXT: %[[SLICE0:.+]] = arith.cmpi eq, %[[WARP]], %c0 : index
// CHECK-NEXT: scf.if %[[SLICE0]] {
// CHECK: vector.store
func.func @decode(%q: tensor<1x2x1x32xf16>, %k: tensor<1x2x300x32xf16>) -> tensor<1x2x1x32xf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x1x32xf16>, tensor<1x2x300x32xf16>, tensor<1x2x300x32xf16> -> tensor<1x2x1x32xf16>
  return %o : tensor<1x2x1x32xf16>
}

// -----

// Two row blocks on 2 KV warps each (warps = 2 x 2): warp w takes row block
// w mod 2 and slice w / 2 (32 columns), and the one merge round has warps
// 2, 3 hand their state to warps 0, 1 of the same row block (slot = row
// block), so slice 0's warps are the first two, as without KV warps.
// CHECK-LABEL: gpu.func @two_row_blocks(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[SLOTS:.+]] = memref.view %{{.+}}[%c0][] : {{.+}} to memref<1280xf32, #gpu.address_space<workgroup>>
// CHECK: %[[W:.+]] = arith.divui %thread_id_x, %c32 : index
// CHECK: %[[SLICE:.+]] = arith.divui %[[W]], %c2 : index
// CHECK-NEXT: %[[COL0:.+]] = arith.muli %[[SLICE]], %c32 : index
// CHECK-NEXT: %[[ROWBLOCK:.+]] = arith.remui %[[W]], %c2 : index
// CHECK: scf.for
// CHECK: arith.addi %{{.+}}, %[[COL0]] : index
// CHECK: %[[BELOW2:.+]] = arith.cmpi ult, %[[SLICE]], %c2 : index
// CHECK-NEXT: %[[FROM1:.+]] = arith.cmpi uge, %[[SLICE]], %c1 : index
// CHECK-NEXT: %[[STORES:.+]] = arith.andi %[[FROM1]], %[[BELOW2]] : i1
// CHECK-NEXT: scf.if %[[STORES]] {
// CHECK-NEXT: %[[SLOT:.+]] = arith.subi %{{.+}}, %c1 : index
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[SLICE]], %c1 : index
// CHECK: gpu.barrier
// CHECK-NEXT: arith.cmpi eq, %[[SLICE]], %c0 : index
func.func @two_row_blocks(%q: tensor<1x2x20x32xf16>, %k: tensor<1x2x300x32xf16>) -> tensor<1x2x20x32xf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 32, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x20x32xf16>, tensor<1x2x300x32xf16>, tensor<1x2x300x32xf16> -> tensor<1x2x20x32xf16>
  return %o : tensor<1x2x20x32xf16>
}

// -----

// Head dim 128 with KV warps: Q's fragments do not stay in registers and
// there is no staged Q tile, so each k-block of every KV tile re-reads them
// from global memory (L1), one 4-byte load per bf16 pair (a pair starts at
// an even element of rows of Dqk % 4 == 0): with the element's alignment
// alone each pair was two 2-byte loads.
// CHECK-LABEL: gpu.func @reread_q(
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %arg0[%{{.+}}] {alignment = 4 : i64} : memref<?xbf16>, vector<2xbf16>
// CHECK: nvgpu.ldmatrix
// CHECK: nvvm.mma.sync
func.func @reread_q(%q: tensor<1x2x1x128xbf16>, %k: tensor<1x2x300x128xbf16>) -> tensor<1x2x1x128xbf16> {
  %o = attn.attention %q, %k, %k {tiling = #attn.tiling<block_q = 16, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x1x128xbf16>, tensor<1x2x300x128xbf16>, tensor<1x2x300x128xbf16> -> tensor<1x2x1x128xbf16>
  return %o : tensor<1x2x1x128xbf16>
}
