// REQUIRES: ptxas
// sm_90a with head dim 64: Q, K, V by TMA into 128-byte swizzled tiles,
// issued by a producer warpgroup (block 256 + 128 threads, .maxnreg 168,
// setmaxnreg moving registers to the math warpgroups). The manifest
// declares the flat-memref+tma ABI with the three tensor maps the runtime
// encodes (boxes of 64 columns x block rows), the PTX takes them as
// 128-byte by-value parameters (`__grid_constant__`) and feeds them to
// cp.async.bulk.tensor straight from parameter space; ptxas assembles it
// for sm_90a without spills. Dynamic shared memory: K/V stages
// 2 x 64 x (64 + 64) x 2, Q 128 x 64 x 2, 10 mbarriers (K full x 2, Q,
// K empty x 2, "Q free" of the persistent variant, V full x 2, V empty
// x 2), 1024 bytes to align the base: 32768 + 16384 + 80 + 1024.
// P stays in registers: no shared memory, no barrier between the products.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a" --emit-dir=%t 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --input-file=%t/gqa_tma.json
// RUN: FileCheck %s --check-prefix=PTX --input-file=%t/gqa_tma.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=HEADER --input-file=%t/gqa_tma.h

// REPORT: attn-compile: @gqa_tma sm_90a cubin registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0
// CHECK: "format": "cubin",
// CHECK: "param_abi": "flat-memref+tma",
// CHECK: "block": [384, 1, 1],
// CHECK-NEXT: "dynamic_smem_bytes": 50256,
// CHECK: "spill_bytes": 0,
// CHECK: "tensor_maps": [{"arg": "q", "box": [64, 128, 1, 1], "swizzle": 128}, {"arg": "k", "box": [64, 64, 1, 1], "swizzle": 128}, {"arg": "v", "box": [64, 64, 1, 1], "swizzle": 128}]
// PTX: .target sm_90a
// PTX: .param .align 64 .b8 gqa_tma_param_{{[0-9]+}}[128],
// PTX-NEXT: .param .align 64 .b8 gqa_tma_param_{{[0-9]+}}[128],
// PTX-NEXT: .param .align 64 .b8 gqa_tma_param_{{[0-9]+}}[128]
// PTX: .maxnreg 168
// PTX: cvta.param.u64
// PTX-COUNT-9: mbarrier.init.shared.b64
// PTX-NEXT: fence.mbarrier_init.release.cluster;
// PTX: bar.sync 0;
// Producer: registers back; Q, then per KV tile: wait for K's slot of the
// stage to be empty, arm its barrier, load K; the same for V (ptxas lays
// the blocks out in its own order).
// PTX: setmaxnreg.dec.sync.aligned.u32 72;
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: mbarrier.try_wait.parity.shared.b64
// Math warpgroups: more registers, wait for a full stage, release it.
// PTX: setmaxnreg.inc.sync.aligned.u32 216;
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX-NOT: bar.sync 0;
// PTX-NOT: cp.async.cg
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.+}}, p, 1, 1, 0, 0;
// PTX-NOT: bar.sync
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.+}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
// PTX: mbarrier.arrive.shared.b64
// HEADER: TMA: q in boxes of 64 x 128, 128-byte swizzle

func.func @gqa_tma(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> (tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>) {
  %o, %l = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
  return %o, %l : tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
}
