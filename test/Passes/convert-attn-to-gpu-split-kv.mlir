// RUN: attention-opt %s --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true" --canonicalize --cse | FileCheck %s --check-prefix=NV
// RUN: attention-opt %s --attn-select-schedule=target=gfx942 --convert-attn-to-amdgpu --canonicalize --cse | FileCheck %s --check-prefix=AMD

// split_kv(8) (FlashDecoding) runs on the stream-K protocol: the workers are
// 8 per output tile (B x heads x query tiles x 8, a grid that grows with the
// launch sizes), worker p taking split p % 8 of tile p / 8, ceil(max(KV
// tiles, 1) / 8) KV tiles. On NVIDIA each Dv chunk's counters start at
// chunk x workers; the kernel is mma.sync on sm_90a too (decode tiles are
// short for wgmma), on the decode tiles: one row block of 16 rows on 4 KV
// warps, merged into warp 0 after the KV loop
// (convert-attn-to-nvgpu-kv-warps.mlir). A share slot holds the threads of
// the warps (waves) that hold rows: a tile has min(BQ, Sq) rows at most, 16
// a warp, so a decode slot is one warp's (4 + 64 / 2 words a thread; on
// AMD one wave's,
// 2 + 64 / 4), laid out by warp (wave) and word-major inside one: a
// thread's word w is at warp x (32 x words) + w x 32 + lane, constant
// offsets from its first word. Both are computed after the KV loop.
// NV-LABEL: gpu.func @split(
// NV-SAME: %[[B:[^:]+]]: index, %[[SQ:[^:]+]]: index, %[[SKV:[^:]+]]: index, %[[WS:[^:]+]]: memref<?xf32>) kernel
// NV-NOT: wgmma
// NV: %[[QT:.+]] = arith.ceildivui %[[SQ]], %c{{[0-9]+}} : index
// NV: %[[KVT:.+]] = arith.ceildivui %[[SKV]], %c{{[0-9]+}} : index
// NV: %[[P:.+]] = gpu.block_id x
// NV: %[[CHUNK:.+]] = gpu.block_id y
// NV: %[[BH:.+]] = arith.muli %[[B]], %c4 : index
// NV: %[[TILES:.+]] = arith.muli %[[BH]], %[[QT]] : index
// NV: %[[WORKERS:.+]] = arith.muli %[[TILES]], %c8 : index
// NV: arith.muli %[[CHUNK]], %[[WORKERS]] : index
// NV: %[[KV1:.+]] = arith.maxui %[[KVT]], %c1 : index
// NV: %[[PER:.+]] = arith.ceildivui %[[KV1]], %c8 : index
// NV: %[[TILE:.+]] = arith.divui %[[P]], %c8 : index
// NV: %[[SPLIT:.+]] = arith.remui %[[P]], %c8 : index
// NV: %[[KFROM:.+]] = arith.muli %[[SPLIT]], %[[PER]] : index
// NV: arith.addi %[[KFROM]], %[[PER]] : index
// NV: %[[ROWS:.+]] = arith.cmpi slt, %[[WROW:[^,]+]], %[[SQ]] : index
// NV: scf.if %[[ROWS]] ->
// NV: nvvm.mma.sync
// Warps with no row of the tile (a decode tile's spare warps), and KV warps
// other than warp 0, skip the publish and the merge: they move no workspace
// bytes.
// NV: %[[AT_MOST:.+]] = arith.minui %[[SQ]], %c16 : index
// NV-NEXT: %[[WARPS:.+]] = arith.ceildivui %[[AT_MOST]], %c16 : index
// NV-NEXT: %[[WBASE:.+]] = arith.muli %[[WARP:.+]], %c1152 : index
// NV-NEXT: %[[FIRST:.+]] = arith.addi %[[WBASE]], %{{.+}} : index
// NV-NEXT: %[[HAS_ROWS:.+]] = arith.cmpi slt, %[[WROW]], %[[SQ]] : index
// NV-NEXT: %[[SLICE0:.+]] = arith.cmpi eq, %[[WARP]], %c0 : index
// NV-NEXT: %[[ROWS2:.+]] = arith.andi %[[HAS_ROWS]], %[[SLICE0]] : i1
// NV-NEXT: scf.if %[[ROWS2]] {
// NV-NEXT: arith.muli %[[WARPS]], %c1152 : index
// NV-NOT: }
// NV: memref.store %{{.+}}, %[[WS]][
// NV-NEXT: arith.addi %[[FIRST]], %c32 : index
// NV: llvm.fence acq_rel
// NV: memref.atomic_rmw addf %{{.+}}, %[[WS]]
// NV: llvm.fence acq_rel
// NV-NEXT: scf.if %[[ROWS2]] {
// NV: memref.load %[[WS]]

// AMD-LABEL: gpu.func @split(
// AMD-SAME: %[[SKV:[^:]+]]: index, %[[WS:[^:]+]]: memref<?xf32>) workgroup(
// AMD: %[[KVT:.+]] = arith.ceildivui %[[SKV]], %c64 : index
// AMD: %[[P:.+]] = gpu.block_id x
// AMD: %[[KV1:.+]] = arith.maxui %[[KVT]], %c1 : index
// AMD: %[[PER:.+]] = arith.ceildivui %[[KV1]], %c8 : index
// AMD: %[[TILE:.+]] = arith.divui %[[P]], %c8 : index
// AMD: %[[SPLIT:.+]] = arith.remui %[[P]], %c8 : index
// AMD: %[[KFROM:.+]] = arith.muli %[[SPLIT]], %[[PER]] : index
// AMD: arith.addi %[[KFROM]], %[[PER]] : index
// AMD: %[[ROWS:.+]] = arith.cmpi ule, %{{.+}}, %{{.+}} : index
// AMD: scf.if %[[ROWS]] ->
// AMD: amdgpu.mfma
// AMD: %[[AT_MOST:.+]] = arith.minui %{{.+}}, %c16 : index
// AMD-NEXT: %[[WAVES:.+]] = arith.ceildivui %[[AT_MOST]], %c16 : index
// AMD-NEXT: %[[WBASE:.+]] = arith.muli %[[WAVE:.+]], %c1152 : index
// AMD-NEXT: %[[FIRST:.+]] = arith.addi %[[WBASE]], %{{.+}} : index
// AMD-NEXT: %[[SLICE0:.+]] = arith.cmpi eq, %[[WAVE]], %c0 : index
// AMD-NEXT: %[[HOLDS:.+]] = arith.andi %[[ROWS]], %[[SLICE0]] : i1
// AMD-NEXT: scf.if %[[HOLDS]] {
// AMD-NEXT: arith.muli %[[WAVES]], %c1152 : index
// AMD-NOT: }
// AMD: memref.store %{{.+}}, %[[WS]][
// AMD-NEXT: arith.addi %[[FIRST]], %c64 : index
// AMD: memref.atomic_rmw addf %{{.+}}, %[[WS]]
// AMD: llvm.fence acq_rel
// AMD-NEXT: scf.if %[[HOLDS]] {
// AMD: memref.load %[[WS]]
func.func @split(%q: tensor<2x4x1x64xbf16>, %k: tensor<2x4x4096x64xbf16>) -> tensor<2x4x1x64xbf16> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<split_kv(8)>} : tensor<2x4x1x64xbf16>, tensor<2x4x4096x64xbf16>, tensor<2x4x4096x64xbf16> -> tensor<2x4x1x64xbf16>
  return %o : tensor<2x4x1x64xbf16>
}
