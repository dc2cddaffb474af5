// A stream-K CPU kernel's manifest entry: one work item per worker and the
// zeroed workspace the runtime allocates per launch (4 arrival counters,
// then 2 slots per worker of R x 32 acc + R m + R l, R = min(32, 2 Sq) the
// rows a tile has at most: 2 packed heads of Sq rows).
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=cpu" --emit-dir=%t
// RUN: FileCheck %s --input-file=%t/sk.json
// CHECK: "workspace_bytes": 0,
// CHECK: "work_items": "4",
// CHECK-NEXT: "workspace_bytes": "4*(4+2*136*min(32,2*Sq))"

func.func @sk(%q: tensor<1x2x1x32xf16>, %k: tensor<1x1x512x32xf16>) -> tensor<1x2x1x32xf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<stream_k(4)>} : tensor<1x2x1x32xf16>, tensor<1x1x512x32xf16>, tensor<1x1x512x32xf16> -> tensor<1x2x1x32xf16>
  return %o : tensor<1x2x1x32xf16>
}
