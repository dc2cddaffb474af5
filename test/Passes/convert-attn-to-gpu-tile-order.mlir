// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu | FileCheck %s --check-prefix=SM80
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" | FileCheck %s --check-prefix=WS
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=gfx942 --convert-attn-to-amdgpu | FileCheck %s --check-prefix=AMD

// Causal: later query tiles walk more KV tiles, so block x computes query
// tile ceil(Sq / block_q) - 1 - x: the grid starts on its longest walks and
// the short ones fill its tail. The warp-specialized kernel derives it in
// each role, from an opaque copy of the block id.
// SM80-LABEL: gpu.func @causal(
// SM80: %[[N:.+]] = arith.ceildivui %arg5, %c128 : index
// SM80: %[[X:.+]] = gpu.block_id x
// SM80-NEXT: %[[ONE:.+]] = arith.constant 1 : index
// SM80-NEXT: %[[LAST:.+]] = arith.subi %[[N]], %[[ONE]] : index
// SM80-NEXT: arith.subi %[[LAST]], %[[X]] : index
// WS-LABEL: gpu.func @causal(
// WS: %[[N:.+]] = arith.ceildivui %arg5, %c128 : index
// WS: nvvm.setmaxregister decrease
// WS: %[[X:.+]] = gpu.block_id x
// WS: %[[XO:.+]] = llvm.inline_asm has_side_effects {{.*}} "mov.b64 $0, $1;"
// WS-NEXT: %[[XI:.+]] = arith.index_castui %[[XO]] : i64 to index
// WS-NEXT: %[[ONE:.+]] = arith.constant 1 : index
// WS-NEXT: %[[LAST:.+]] = arith.subi %[[N]], %[[ONE]] : index
// WS-NEXT: arith.subi %[[LAST]], %[[XI]] : index
// AMD-LABEL: gpu.func @causal(
// AMD: %[[N:.+]] = arith.ceildivui %arg5, %c64 : index
// AMD: %[[X:.+]] = gpu.block_id x
// AMD-NEXT: %[[ONE:.+]] = arith.constant 1 : index
// AMD-NEXT: %[[LAST:.+]] = arith.subi %[[N]], %[[ONE]] : index
// AMD-NEXT: arith.subi %[[LAST]], %[[X]] : index
func.func @causal(%q: tensor<1x2x256x64xf16>, %k: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  %o = attn.attention %q, %k, %k {mask = #attn.mask<causal>} : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

// Without a right bound (dense; a document mask) every query tile walks the
// same KV tiles: block x computes query tile x.
// SM80-LABEL: gpu.func @dense(
// SM80: %[[X:.+]] = gpu.block_id x
// SM80-NOT: arith.subi %{{.+}}, %[[X]] : index
// SM80: gpu.return
// AMD-LABEL: gpu.func @dense(
// AMD: %[[X:.+]] = gpu.block_id x
// AMD-NOT: arith.subi %{{.+}}, %[[X]] : index
// AMD: gpu.return
func.func @dense(%q: tensor<1x2x256x64xf16>, %k: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  %o = attn.attention %q, %k, %k : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}
