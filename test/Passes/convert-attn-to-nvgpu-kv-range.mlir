// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" --canonicalize 2>/dev/null | FileCheck %s

// A CTA walks only the KV tiles its rows can keep: a sliding window starts
// at the tile of the first row's first kept column and stops after the
// last row's last one. Each role computes the range after its setmaxnreg,
// from the same block ids, so both walk the same tiles; stages and mbarrier
// parities count from the walk's first tile (n = kt - begin: stage n mod 2,
// parity (n / 2) mod 2), as the barriers start fresh.
// CHECK-LABEL: gpu.func @window
// CHECK: %[[NKV:.+]] = arith.ceildivui %arg6, %c64 : index
// Producer.
// CHECK: nvvm.setmaxregister decrease
// CHECK: %[[FIRST:.+]] = arith.maxsi %{{.+}}, %c0 : index
// CHECK-NEXT: %[[BEGIN:.+]] = arith.divui %[[FIRST]], %c64 : index
// CHECK: %[[COLS:.+]] = arith.maxsi %{{.+}}, %c0 : index
// CHECK-NEXT: %[[LIVE:.+]] = arith.ceildivui %[[COLS]], %c64 : index
// CHECK-NEXT: %[[END:.+]] = arith.minui %[[LIVE]], %[[NKV]] : index
// CHECK: scf.for %[[KT:.+]] = %[[BEGIN]] to %[[END]] step %c1 {
// CHECK-NEXT: %[[N:.+]] = arith.subi %[[KT]], %[[BEGIN]] : index
// CHECK-NEXT: arith.remui %[[N]], %c2 : index
// CHECK-NEXT: %[[N2:.+]] = arith.subi %[[KT]], %[[BEGIN]] : index
// CHECK-NEXT: %[[USE:.+]] = arith.divui %[[N2]], %c2 : index
// CHECK-NEXT: arith.remui %[[USE]], %c2 : index
// CHECK: nvvm.mbarrier.try_wait.parity
// Math warpgroups.
// CHECK: nvvm.setmaxregister increase
// CHECK: %[[MFIRST:.+]] = arith.maxsi %{{.+}}, %c0 : index
// CHECK-NEXT: %[[MBEGIN:.+]] = arith.divui %[[MFIRST]], %c64 : index
// CHECK: %[[MCOLS:.+]] = arith.maxsi %{{.+}}, %c0 : index
// CHECK-NEXT: %[[MLIVE:.+]] = arith.ceildivui %[[MCOLS]], %c64 : index
// CHECK-NEXT: %[[MEND:.+]] = arith.minui %[[MLIVE]], %[[NKV]] : index
// CHECK: scf.for %[[MT:.+]] = %[[MBEGIN]] to %[[MEND]] step %c1 iter_args(
// CHECK-NEXT: %[[M:.+]] = arith.subi %[[MT]], %[[MBEGIN]] : index
// CHECK-NEXT: arith.remui %[[M]], %c2 : index
// CHECK-NEXT: %[[M2:.+]] = arith.subi %[[MT]], %[[MBEGIN]] : index
// CHECK-NEXT: %[[MUSE:.+]] = arith.divui %[[M2]], %c2 : index
// CHECK-NEXT: arith.remui %[[MUSE]], %c2 : index
// CHECK: nvvm.mbarrier.try_wait.parity
func.func @window(%q: tensor<1x2x1024x64xbf16>) -> tensor<1x2x1024x64xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<window(256, 0)>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16> -> tensor<1x2x1024x64xbf16>
  return %o : tensor<1x2x1024x64xbf16>
}
