// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true" 2>/dev/null | FileCheck %s --check-prefix=OVERLAP
// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" 2>/dev/null | FileCheck %s --check-prefix=PLAIN

// The overlapped math warps read a tile's V only after the next tile's K
// (P V goes out with the next S), and free V a tile after K. The producer
// loads in that order, FlashAttention-3's: Q, the first tile's K, then per
// tile the next tile's K (if any) before this tile's V, so a K never
// queues behind a V slot that frees a tile later.
// OVERLAP-LABEL: gpu.func @producer_order
// OVERLAP: nvvm.setmaxregister decrease
// OVERLAP: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[Q:arg[0-9]+]],
// OVERLAP: %[[ANY:.+]] = arith.cmpi slt, %{{.+}}, %[[TILES:.+]] : index
// OVERLAP-NEXT: scf.if %[[ANY]]
// OVERLAP: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[K:arg[0-9]+]],
// OVERLAP: scf.for %[[KT:.+]] = %{{.+}} to %[[TILES]]
// OVERLAP: %[[NEXT:.+]] = arith.addi %[[KT]], %{{.+}} : index
// OVERLAP-NEXT: %[[AHEAD:.+]] = arith.cmpi slt, %[[NEXT]], %[[TILES]] : index
// OVERLAP-NEXT: scf.if %[[AHEAD]]
// OVERLAP: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[K]],
// OVERLAP: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[V:arg[0-9]+]],
// OVERLAP-NOT: nvvm.cp.async.bulk.tensor
// OVERLAP: nvvm.setmaxregister increase

// Without the overlap each tile's K and V go out together, K first.
// PLAIN-LABEL: gpu.func @producer_order
// PLAIN: nvvm.setmaxregister decrease
// PLAIN: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[Q:arg[0-9]+]],
// PLAIN-NOT: nvvm.cp.async.bulk.tensor
// PLAIN: scf.for %[[KT:.+]] =
// PLAIN-NOT: arith.addi %[[KT]]
// PLAIN: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[K:arg[0-9]+]],
// PLAIN: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[V:arg[0-9]+]],
// PLAIN-NOT: nvvm.cp.async.bulk.tensor
// PLAIN: nvvm.setmaxregister increase
func.func @producer_order(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>, %v: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %v {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}
