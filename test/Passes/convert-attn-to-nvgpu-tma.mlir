// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true" 2>/dev/null | FileCheck %s

// Head dim 64: Q, K and V come by TMA. The kernel takes the three tensor
// maps last and says so for attn-mark-tensor-map-params.
// CHECK-LABEL: gpu.func @tma
// CHECK-SAME: %{{.+}}: index, %[[QMAP:.+]]: !llvm.ptr, %[[KMAP:.+]]: !llvm.ptr, %[[VMAP:.+]]: !llvm.ptr) kernel
// CHECK-SAME: attn.tensor_map_params = 3 : i64
// The dynamic shared memory base is rounded up to 1024 bytes (swizzle atoms).
// CHECK: %[[RAW:.+]] = memref.extract_aligned_pointer_as_index
// CHECK: arith.ceildivui %[[RAW]], %c1024
// One mbarrier per stage (2) and one for Q, initialized by thread 0.
// CHECK-COUNT-3: nvvm.mbarrier.init
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// Q: 128 x 64 bf16 = 16384 bytes, one box of 64 columns.
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c16384_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[QMAP]], %{{.+}}, box[
// Prologue: a live tile arms its stage for K + V (2 x 64 x 64 x 2 bytes) and
// loads both; an empty one only arrives.
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c16384_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[KMAP]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[VMAP]]
// CHECK: } else {
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c0_i32
// Q is waited for once, before the KV loop; each tile waits on its stage's
// phase parity, with no cp.async groups and no barrier before the math.
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.for
// CHECK-NOT: nvvm.cp.async.wait.group
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NOT: gpu.barrier
// Q and K descriptors: LBO 16 B in the low word (1 << 16, then + 2 a
// k-step of 32 B); 128-byte swizzle (bit 62) and SBO 1024 B in the high.
// CHECK: arith.constant 65536 : i32
// CHECK: arith.constant 4611686293305294848 : i64
// CHECK: arith.constant 65538 : i32
// CHECK: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// V (MN-major): LBO = 64 rows x 128 B between 64-column boxes (512 << 16);
// P from registers.
// CHECK: arith.constant 33554432 : i32
// CHECK: arith.constant 4611686293305294848 : i64
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.+}}, p, 1, 1, 1;
func.func @tma(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}

// -----

// Head dim 96: two boxes of 64 columns per row, the second reaching past
// the head dim (TMA fills zeros there; wgmma reads 96 columns). Q is
// 128 x 128 x 2 bytes, a K + V tile 64 x (128 + 128) x 2.
// CHECK-LABEL: gpu.func @padded
// CHECK-SAME: attn.tensor_map_params = 3 : i64
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c32768_i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c32768_i32
// CHECK-COUNT-4: nvvm.cp.async.bulk.tensor.shared.cluster.global
// S: 6 k16 steps over Dqk = 96; PV: n = 96.
// CHECK-COUNT-6: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async.sync.aligned.m64n96k16.f32.f16.f16
func.func @padded(%q: tensor<1x2x256x96xf16>) -> tensor<1x2x256x96xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x256x96xf16>, tensor<1x2x256x96xf16>, tensor<1x2x256x96xf16> -> tensor<1x2x256x96xf16>
  return %o : tensor<1x2x256x96xf16>
}

// -----

// Head dim 72 = 16 k + 8: wgmma steps over 80 columns, whose last 8 TMA
// fills with zeros (past the tensor's 72); no thread zeroes shared memory.
// CHECK-LABEL: gpu.func @hd72
// CHECK-NOT: memref.store %cst
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-5: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <{{zero|one}}>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async.sync.aligned.m64n72k16.f32.bf16.bf16
func.func @hd72(%q: tensor<1x2x256x72xbf16>) -> tensor<1x2x256x72xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x256x72xbf16>, tensor<1x2x256x72xbf16>, tensor<1x2x256x72xbf16> -> tensor<1x2x256x72xbf16>
  return %o : tensor<1x2x256x72xbf16>
}
