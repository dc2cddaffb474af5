// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu=wgmma=true | FileCheck %s

// sm_90a: K / V stages, then Q, in dynamic shared memory, all in the
// no-swizzle core-matrix layout (flat per stage); P stays in registers. Q
// is copied once, before the KV prologue.
// CHECK-LABEL: gpu.func @causal
// CHECK: %[[SMEM:.+]] = gpu.dynamic_shared_memory
// CHECK: %[[K:.+]] = memref.view %[[SMEM]][%c0{{.*}}][] : {{.+}} to memref<2x4096xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[V:.+]] = memref.view %[[SMEM]][%c18432{{.*}}][] : {{.+}} to memref<2x4096xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[Q:.+]] = memref.view %[[SMEM]][%c36864{{.*}}][] : {{.+}} to memref<1x8192xbf16, #gpu.address_space<workgroup>>
// CHECK-NOT: memref.view
// CHECK: nvgpu.device_async_copy {{.+}}, %[[Q]][
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvgpu.device_async_copy {{.+}}, %[[K]][
// CHECK: scf.for
// cp.async data is read by wgmma (async proxy): fence before the barrier.
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// S = Q K^T: K-major A and B, one m64n64k16 per 16 columns of Dqk = 64;
// the first starts from zero (scale-d 0), so no accumulator register is
// written between the fence and the wgmma.
// CHECK: memref.extract_aligned_pointer_as_index %[[Q]]
// CHECK: memref.extract_aligned_pointer_as_index %[[K]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[NOACC:.+]] = llvm.mlir.poison
// CHECK-NEXT: nvvm.wgmma.mma_async %{{.+}}, %{{.+}}, %[[NOACC]], <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// P stays in registers: bf16 pairs packed as the A fragment (4 x i32 per
// k16 step of the 64-column tile), with no shared-memory store, proxy fence
// or barrier before O += P V. That product takes A from registers (inline
// PTX: the NVVM op takes descriptors only) and V MN-major (imm-trans-b 1),
// one m64n64k16 per k16 step, each on the previous one's accumulator.
// CHECK-COUNT-16: llvm.bitcast %{{.+}} : vector<2xbf16> to i32
// CHECK-NOT: vector.store
// CHECK-NOT: nvvm.fence.proxy
// CHECK-NOT: nvvm.barrier
// CHECK: memref.extract_aligned_pointer_as_index %[[V]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NOT: nvvm.wgmma.commit
// CHECK-COUNT-4: llvm.inline_asm has_side_effects {{.+}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {$0, {{.+}}, $31}, {$64, $65, $66, $67}, $68, p, 1, 1, 1;
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: gpu.return
func.func @causal(%q: tensor<1x4x256x64xbf16>, %k: tensor<1x2x256x64xbf16>) -> (tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>) {
  %o, %l = attn.attention %q, %k, %k {mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x4x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
  return %o, %l : tensor<1x4x256x64xbf16>, tensor<1x4x256xf32>
}

// -----

// Q's cp.async group is covered by the first KV tile's wait; a CTA whose
// walk is empty (bottom-right causal with Sq = 256 > Skv = 64: query tile
// 0's rows see no key) drains it after the loop, before it stores zeros
// and exits.
// CHECK-LABEL: gpu.func @q_drained
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: gpu.return
func.func @q_drained(%q: tensor<1x2x256x64xbf16>, %kv: tensor<1x2x64x64xbf16>) -> tensor<1x2x256x64xbf16> {
  %o = attn.attention %q, %kv, %kv {mask = #attn.mask<causal>} : tensor<1x2x256x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x256x64xbf16>
  return %o : tensor<1x2x256x64xbf16>
}

// -----

// Dv = 96 is one chunk: the PV product is m64n96k16 (f16).
// CHECK-LABEL: gpu.func @dv96
// CHECK: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 32, k = 16>, D[<f32>, <zero>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK: llvm.inline_asm {{.+}}wgmma.mma_async.sync.aligned.m64n96k16.f32.f16.f16 {$0, {{.+}}, $47}, {$96, $97, $98, $99}, $100, p, 1, 1, 1;
func.func @dv96(%q: tensor<1x2x64x32xf16>, %v: tensor<1x2x64x96xf16>) -> tensor<1x2x64x96xf16> {
  %o = attn.attention %q, %q, %v {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 2>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x96xf16> -> tensor<1x2x64x96xf16>
  return %o : tensor<1x2x64x96xf16>
}

// -----

// Dqk = 40 = 16 k + 8: Q and K tiles are laid out over 48 columns (the last
// k16 step's), whose columns 40..47 no copy writes: they are zeroed once, in
// both K stages (2 x 64 rows x 8) and in Q (128 rows x 8). S takes three k16
// steps.
// CHECK-LABEL: gpu.func @hd40
// CHECK: %[[K:.+]] = memref.view {{.+}} to memref<2x3072xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[Q:.+]] = memref.view {{.+}} to memref<1x6144xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1024 step %c256
// CHECK: memref.store %cst{{.*}}, %[[K]][
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1024{{.*}} step %c256
// CHECK: memref.store %cst{{.*}}, %[[Q]][
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.+}} <m = 64, n = 64, k = 16>, D[<f32>, <{{zero|one}}>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
func.func @hd40(%q: tensor<1x2x128x40xbf16>) -> tensor<1x2x128x40xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x2x128x40xbf16>, tensor<1x2x128x40xbf16>, tensor<1x2x128x40xbf16> -> tensor<1x2x128x40xbf16>
  return %o : tensor<1x2x128x40xbf16>
}
