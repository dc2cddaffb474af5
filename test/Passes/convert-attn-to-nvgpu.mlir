// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu | FileCheck %s

// One gpu.module per attention function; the kernel takes flat memrefs and
// the sizes (flat-memref ABI), one CTA of 8 warps per 128 query rows.
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @causal_kernels
// CHECK: gpu.func @causal(%{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xbf16>, %{{.+}}: memref<?xf32>, %{{.+}}: index, %{{.+}}: index, %{{.+}}: index) kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.maxnreg = 255 : i32}
// K and V tiles live in dynamic shared memory, two stages of
// [block_kv][D + 8] each (rows padded by 16 bytes against ldmatrix bank
// conflicts; V starts 2 x 64 x 72 x 2 bytes in).
// CHECK: %[[SMEM:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[KS:.+]] = memref.view %[[SMEM]][%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[VS:.+]] = memref.view %[[SMEM]][%c18432{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: gpu.block_id x
// CHECK-DAG: gpu.thread_id x
// Prologue: the first KV tile is copied with 16-byte cp.async (L1 bypassed).
// CHECK: nvgpu.device_async_copy %{{.+}}[%{{.+}}], %[[KS]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK: nvgpu.device_async_copy %{{.+}}[%{{.+}}], %[[VS]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// In the loop: the next tile's copy is issued before waiting on this one.
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// K fragments by ldmatrix, V fragments by ldmatrix.trans.
// CHECK: nvgpu.ldmatrix %[[KS]][{{.+}}] {numTiles = 4 : i32, transpose = false}
// S = Q K^T on tensor cores, bf16 operands packed in i32.
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// Online softmax in base 2 with quad shuffles for the row max.
// CHECK: gpu.shuffle xor
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: nvgpu.ldmatrix %[[VS]][{{.+}}] {numTiles = 4 : i32, transpose = true}
// The stage is released only after every warp is done with it.
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// O leaves as the accumulator's column pairs, one 4-byte store each.
// CHECK: vector.store %{{.+}}, %{{.+}}[%{{.+}}] {alignment = 4 : i64} : memref<?xbf16>, vector<2xbf16>
// CHECK: gpu.return
func.func @causal(%q: tensor<1x4x256x64xbf16>, %k: tensor<1x2x256x64xbf16>) -> (tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>) {
  %o, %l = attn.attention %q, %k, %k {mask = #attn.mask<causal>} : tensor<1x4x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
  return %o, %l : tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
}

// -----

// Head dim 128: Q fragments (64 registers a lane) do not stay in registers,
// so the Q tile is staged after the K / V stages ([128][128 + 8], 2 x 17408
// bytes in), copied once by cp.async as the oldest group (before the KV
// prologue's), and each KV tile's k-blocks read it by ldmatrix.x4 beside
// K's, with no global loads of Q in the loop.
// CHECK-LABEL: gpu.func @staged_q
// CHECK: %[[KS:.+]] = memref.view {{.+}} to memref<2x32x136xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[QS:.+]] = memref.view %{{.+}}[%c34816{{.*}}][] : {{.+}} to memref<1x128x136xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-8: nvgpu.device_async_copy %arg0[%{{.+}}], %[[QS]][
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvgpu.device_async_copy %arg1[%{{.+}}], %[[KS]][
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NOT: vector.load %arg0
// CHECK: nvgpu.ldmatrix %[[QS]][%c0{{.*}}, %{{.+}}, %{{.+}}] {numTiles = 4 : i32, transpose = false}
// CHECK-NEXT: vector.extract
// CHECK-NOT: vector.load %arg0
// CHECK: nvgpu.ldmatrix %[[KS]][
// CHECK: gpu.return
func.func @staged_q(%q: tensor<1x2x256x128xbf16>) -> tensor<1x2x256x128xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16> -> tensor<1x2x256x128xbf16>
  return %o : tensor<1x2x256x128xbf16>
}

// -----

// The staged Q's cp.async group is covered by the first KV tile's wait; a
// CTA whose walk is empty (bottom-right causal with Sq = 256 > Skv = 64:
// query tile 0's rows see no key) drains it after the loop, before it
// stores zeros and exits (nvemu refuses a thread that exits with copies in
// flight: attention-run-nvemu.test).
// CHECK-LABEL: gpu.func @staged_q_drained
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: gpu.return
func.func @staged_q_drained(%q: tensor<1x2x256x128xbf16>, %kv: tensor<1x2x64x128xbf16>) -> tensor<1x2x256x128xbf16> {
  %o = attn.attention %q, %kv, %kv {mask = #attn.mask<causal>} : tensor<1x2x256x128xbf16>, tensor<1x2x64x128xbf16>, tensor<1x2x64x128xbf16> -> tensor<1x2x256x128xbf16>
  return %o : tensor<1x2x256x128xbf16>
}

// -----

// f16 operands go to mma.sync as vector<2xf16>.
// CHECK-LABEL: gpu.func @f16
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @f16(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}

// -----

// An odd number of 8-column blocks of Dv ends with an ldmatrix.x2.trans;
// three stages keep two tiles in flight (wait_group 2).
// CHECK-LABEL: gpu.func @odd_dv
// CHECK: memref.view {{.+}} to memref<3x32x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[V:.+]] = memref.view {{.+}} to memref<3x32x32xf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: nvgpu.ldmatrix %[[V]][{{.+}}] {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.ldmatrix %[[V]][{{.+}}] {numTiles = 2 : i32, transpose = true}
func.func @odd_dv(%q: tensor<1x2x64x32xf16>, %v: tensor<1x2x64x24xf16>) -> tensor<1x2x64x24xf16> {
  %o = attn.attention %q, %q, %v {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 3>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x24xf16> -> tensor<1x2x64x24xf16>
  return %o : tensor<1x2x64x24xf16>
}

// -----

// Head dims of 8 k + 4 (Dqk 20, Dv 12): rows move by 8-byte cp.async (.ca:
// .cg takes 16 bytes only), padded to a 16-byte multiple plus 16 bytes
// (K 20 -> 32, V 12 -> 24 columns); K's columns [20, 32) (the last k-block
// reads up to 32) and V's [12, 16) (the last, half n-block) are zeroed once
// before the copies.
// CHECK-LABEL: gpu.func @hd20_12
// CHECK: %[[K:.+]] = memref.view {{.+}} to memref<2x32x32xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[V:.+]] = memref.view {{.+}} to memref<2x32x24xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.for %{{.+}} = %{{.+}} to %c768{{(_[0-9]+)?}} step %c128{{(_[0-9]+)?}} {
// CHECK: memref.store %{{.+}}, %[[K]][
// CHECK: scf.for %{{.+}} = %{{.+}} to %c256{{(_[0-9]+)?}} step %c128{{(_[0-9]+)?}} {
// CHECK: memref.store %{{.+}}, %[[V]][
// CHECK: nvgpu.device_async_copy %{{.+}}[%{{.+}}], %[[K]][%{{.+}}, %{{.+}}, %{{.+}}], 4 : memref<?xbf16>
// CHECK-NOT: bypassL1
// CHECK: nvgpu.device_async_copy %{{.+}}[%{{.+}}], %[[V]][%{{.+}}, %{{.+}}, %{{.+}}], 4 : memref<?xbf16>
func.func @hd20_12(%q: tensor<1x2x64x20xbf16>, %v: tensor<1x2x64x12xbf16>) -> tensor<1x2x64x12xbf16> {
  %o = attn.attention %q, %q, %v {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x20xbf16>, tensor<1x2x64x20xbf16>, tensor<1x2x64x12xbf16> -> tensor<1x2x64x12xbf16>
  return %o : tensor<1x2x64x12xbf16>
}

// -----

// f32 takes the SIMT kernel: 128 rows on 4 warps (one row per thread), the
// same cp.async stages (4 floats per copy), dot products as scalar FMAs on
// K broadcast from shared memory, O accumulated in 4-wide vectors.
// CHECK-LABEL: gpu.func @f32
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[K:.+]] = memref.view {{.+}} to memref<2x32x68xf32, #gpu.address_space<workgroup>>
// CHECK: %[[V:.+]] = memref.view {{.+}} to memref<2x32x68xf32, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %{{.+}}[%{{.+}}], %[[K]][%{{.+}}, %{{.+}}, %{{.+}}], 4 {bypassL1}
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: vector.load %[[K]][%{{.+}}, %{{.+}}, %{{.+}}] : memref<2x32x68xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: llvm.intr.fma
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: vector.load %[[V]][%{{.+}}, %{{.+}}, %{{.+}}] : memref<2x32x68xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: vector.fma
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @f32(%q: tensor<1x2x100x64xf32>) -> tensor<1x2x100x64xf32> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32> -> tensor<1x2x100x64xf32>
  return %o : tensor<1x2x100x64xf32>
}
