// REQUIRES: ptxas
// A stream-K decode kernel in the bundle: grid (CTAs, Dv chunks, 1), the
// mma.sync kernel on sm_90a too, 0 spills through ptxas, and the workspace
// the runtime allocates per launch, of which only the arrival counters
// (4 bytes x 132 CTAs x 1 chunk) are zeroed. Each CTA's two share slots
// hold (4 + 128 / 2) words for each thread of the warps with rows: a
// warp holds 16 rows, so decode (Sq = 1) needs one warp's, 32 x 68 x 4
// bytes. The decode tile is one such row block on 4 KV warps, whose states
// merge into warp 0 before it publishes.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80,sm_90a" --emit-dir=%t | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/sk.json
// REPORT: attn-compile: @sk sm_80 cubin {{.*}} spill_bytes=0 {{.*}} kernel=mma.sync+stream-k tile=16x64x4x2
// REPORT: attn-compile: @sk sm_90a cubin {{.*}} spill_bytes=0 {{.*}} kernel=mma.sync+stream-k tile=16x64x4x2
// MANIFEST: "target": "sm_80",
// MANIFEST: "grid": ["132", "1", "1"],
// MANIFEST: "block": [128, 1, 1],
// MANIFEST: "workspace_bytes": "132*(4+2*8704*ceil(min(16,Sq)/16))",
// MANIFEST-NEXT: "workspace_zero_bytes": 528

func.func @sk(%q: tensor<1x8x1x128xbf16>, %k: tensor<1x8x8192x128xbf16>) -> (tensor<1x8x1x128xbf16>, tensor<1x8x1xf32>) {
  %o, %l = attn.attention %q, %k, %k {schedule = #attn.schedule<stream_k(132)>} : tensor<1x8x1x128xbf16>, tensor<1x8x8192x128xbf16>, tensor<1x8x8192x128xbf16> -> tensor<1x8x1x128xbf16>, tensor<1x8x1xf32>
  return %o, %l : tensor<1x8x1x128xbf16>, tensor<1x8x1xf32>
}
