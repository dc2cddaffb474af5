// REQUIRES: ptxas
// sm_90a with tma=0 takes the cp.async wgmma kernel (bundle-tma.mlir has
// the default TMA kernel): the PTX has warpgroup MMAs for both products (S: K-major B,
// n = block_kv = 64, pinned; PV: transposed B, n = 96), proxy fences after the
// shared-memory writes, and assembles with ptxas -arch=sm_90a without
// spills. Its dynamic shared memory adds the Q tile to the K/V stages
// (P stays in registers): 2 x 2 x 64 x (96 x 2 + 16) + 128 x 96 x 2.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_90a tma=0" --emit-dir=%t | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --input-file=%t/gqa_wg.json
// RUN: FileCheck %s --check-prefix=PTX --input-file=%t/gqa_wg.sm_90a.ptx

// REPORT: attn-compile: @gqa_wg sm_90a cubin registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes=77825
// CHECK: "target": "sm_90a",
// CHECK: "target": "sm_90a",
// CHECK-NEXT: "format": "cubin",
// CHECK: "param_abi": "flat-memref",
// CHECK: "block": [256, 1, 1],
// CHECK-NEXT: "dynamic_smem_bytes": 77824,
// CHECK: "spill_bytes": 0,
// PTX: .target sm_90a
// PTX: cp.async.cg.shared.global
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.fence.sync.aligned;
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.+}}, p, 1, 1, 0, 0;
// PTX: wgmma.commit_group.sync.aligned;
// PTX: wgmma.wait_group.sync.aligned 0;
// PTX-NOT: bar.sync {{.+}}, 128;
// PTX: wgmma.mma_async.sync.aligned.m64n96k16.f32.bf16.bf16 {{.+}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;

func.func @gqa_wg(%q: tensor<1x8x512x96xbf16>, %k: tensor<1x2x512x96xbf16>) -> (tensor<1x8x512x96xbf16>, tensor<1x8x512xf32>) {
  %o, %l = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x96xbf16>, tensor<1x2x512x96xbf16>, tensor<1x2x512x96xbf16> -> tensor<1x8x512x96xbf16>, tensor<1x8x512xf32>
  return %o, %l : tensor<1x8x512x96xbf16>, tensor<1x8x512xf32>
}
