//===- TargetInfo.cpp - target descriptions -------------------------------===//

#include "attn/Target/TargetInfo.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>

using namespace mlir::attn;

std::optional<TargetInfo> mlir::attn::lookupTarget(const std::string &name) {
  TargetInfo t;
  t.name = name;
  if (name == "cpu") {
    t.kind = TargetKind::CPU;
    t.computeUnits = 1;
    // Per-core L2 is what a CPU tile should stay within.
    t.sharedMemBytes = 1 << 20;
    return t;
  }
  t.warpSize = 32;
  t.kind = TargetKind::NVVM;
  if (name == "sm_80") {
    t.computeUnits = 108, t.sharedMemBytes = 163 * 1024, t.peakTflops = 312;
    return t;
  }
  if (name == "sm_86" || name == "sm_89") {
    t.computeUnits = name == "sm_86" ? 84 : 128;
    t.sharedMemBytes = 99 * 1024;
    t.peakTflops = name == "sm_86" ? 142 : 330;
    return t;
  }
  if (name == "sm_90" || name == "sm_90a") {
    t.computeUnits = 132, t.sharedMemBytes = 227 * 1024, t.peakTflops = 989;
    t.hasWgmma = true;
    return t;
  }
  t.kind = TargetKind::ROCDL;
  t.warpSize = 64;
  t.registersPerThread = 512;
  t.hasMfma = true;
  t.sharedMemBytes = 64 * 1024;
  if (name == "gfx90a") {
    t.computeUnits = 110, t.peakTflops = 383;
    return t;
  }
  if (name == "gfx942") {
    t.computeUnits = 304, t.peakTflops = 1307;
    return t;
  }
  return std::nullopt;
}

std::vector<std::string> mlir::attn::knownTargets() {
  return {"cpu", "sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "gfx90a",
          "gfx942"};
}

int64_t mlir::attn::sharedMemoryNeeded(const TileChoice &tiles, int64_t dqk,
                                       int64_t dv, int64_t dtypeBytes) {
  return tiles.stages * tiles.blockKV * (dtypeBytes * (dqk + dv) + 32);
}

TileChoice mlir::attn::defaultTiles(const TargetInfo &target, int64_t dqk,
                                    int64_t dv, int64_t dtypeBytes) {
  int64_t d = std::max(dqk, dv);
  if (target.kind == TargetKind::CPU) {
    // Score tile + Q/K/V tiles of 32x32 f32 stay in L1/L2 for d <= 128.
    int64_t b = d > 128 ? 16 : 32;
    return {b, b, 1, 1};
  }
  if (target.kind == TargetKind::NVVM) {
    // The mma.sync kernel (convert-attn-to-nvgpu) keeps one m16 tile per
    // warp with the S, P and O fragments in registers: 128 query rows on 8
    // warps, and the widest KV tile that ptxas fits in 255 registers without
    // spills (measured with test/e2e/gpu_resources.py over the prefill
    // matrix: 64 up to head dim 64, 32 beyond, 16 past 128 where the
    // staged Q tile does not fit beside the stages; Dv over 128 is split
    // across CTAs). K/V tiles are double-buffered in dynamic shared
    // memory.
    // f32 takes the SIMT kernel: one query row per thread (128 rows on 4
    // warps), a row's O chunk (up to 64 floats) and KV scores in registers,
    // the KV tile as wide as 48 KiB of two f32 K/V stages allow.
    // sm_90a (wgmma) keeps Q in shared memory, S, P (as wgmma's register
    // A) and O in registers, so its KV tile is wider by the same rule: 128
    // up to head dim 64, 64 up to 128, 32 beyond. (128 at head dim 128
    // spills with ALiBi and block masks; nvvmWiderTiles has the compile
    // try it per kernel, as it does mma.sync's 64 there.)
    if (dtypeBytes == 4)
      return {128, d <= 64 ? 32 : 16, 4, 2};
    if (nvvmUsesWgmma(target.name))
      return {128, d <= 64 ? 128 : d <= 128 ? 64 : 32, 8, 2};
    if (d <= 128)
      return {128, d <= 64 ? 64 : 32, 8, 2};
    // Beyond head dim 128 a staged Q tile (nvvmStagesQ) leaves the
    // registers for 32 KV columns where the target's shared memory holds
    // it with the stages (sm_80, sm_90; not sm_86 / sm_89's 99 KiB).
    TileChoice wide{128, 32, 8, 2};
    if (nvvmKernelSmemBytes(dqk, dv, wide.blockQ, wide.blockKV, wide.stages,
                            dtypeBytes, /*wgmma=*/false, /*tma=*/false,
                            wide.warps) <= target.sharedMemBytes)
      return wide;
    return {128, 16, 8, 2};
  }
  // AMD: the MFMA kernel (convert-attn-to-amdgpu) gives each wave64 16 query
  // rows, one per lane group of 16: 4 waves make a 64-row tile. A lane holds
  // its row's O^T (Dv / 4 VGPRs) and S^T (blockKV / 4), far inside the 512
  // VGPRs of CDNA, so the KV tile is 64 (32 beyond head dim 128). f32 K and
  // V tiles take twice the LDS: 64 up to head dim 64, 32 up to 128, 16
  // beyond keep them within 64 KiB.
  if (dtypeBytes == 4)
    return {64, d <= 64 ? 64 : d <= 128 ? 32 : 16, 4, 1};
  return {64, d <= 128 ? 64 : 32, 4, 1};
}

std::optional<TileChoice>
mlir::attn::nvvmWiderTiles(const TargetInfo &target, const TileChoice &chosen,
                           int64_t dqk, int64_t dv, int64_t dtypeBytes,
                           bool wgmma, bool tma, int64_t packGroup) {
  // Past head dim 64 only: there the default KV tile (mma.sync 32, wgmma
  // 64 / 32) leaves the CTA at one per SM either way (registers), so the
  // wider tile halves the per-tile waits, barriers and row reductions (and
  // gives wgmma n = 128 at head dim 128, FlashAttention-3's causal tile) at
  // no occupancy cost. Up to 64 the mma.sync kernel's 128 columns reach 255
  // registers and spill with ALiBi or bias; past 128 its 64 columns and the
  // staged Q pass sm_80's shared memory (wgmma's O holds at most 128 Dv
  // columns a CTA, so its 64 columns fit there).
  int64_t d = std::max(dqk, dv);
  if (target.kind != TargetKind::NVVM || dtypeBytes != 2 || d <= 64 ||
      (d > 128 && !wgmma))
    return std::nullopt;
  std::optional<TargetInfo> mma = lookupTarget("sm_80");
  TileChoice base =
      defaultTiles(wgmma ? target : *mma, dqk, dv, dtypeBytes);
  if (chosen.blockQ != base.blockQ || chosen.blockKV != base.blockKV ||
      chosen.warps != base.warps || chosen.stages != base.stages)
    return std::nullopt;
  TileChoice wide = base;
  wide.blockKV *= 2;
  if (nvvmKernelSmemBytes(dqk, dv, wide.blockQ, wide.blockKV, wide.stages,
                          dtypeBytes, wgmma, tma, wide.warps, packGroup) >
      target.sharedMemBytes)
    return std::nullopt;
  return wide;
}

int64_t mlir::attn::nvvmStagedKBytes(int64_t dqk, int64_t blockKV,
                                     int64_t stages, int64_t dtypeBytes) {
  // Rows padded to a 16-byte multiple, then by 16 bytes (StagedKernelEmitter).
  return stages * blockKV * (llvm::alignTo(dqk * dtypeBytes, 16) + 16);
}

int64_t mlir::attn::nvvmStagedSmemBytes(int64_t dqk, int64_t dv,
                                        int64_t blockKV, int64_t stages,
                                        int64_t dtypeBytes) {
  int64_t chunk = dv / nvvmDvChunks(dv, dtypeBytes);
  return nvvmStagedKBytes(dqk, blockKV, stages, dtypeBytes) +
         stages * blockKV * (llvm::alignTo(chunk * dtypeBytes, 16) + 16);
}

bool mlir::attn::nvvmUsesTma(int64_t dqk, int64_t dv, int64_t dtypeBytes) {
  // TMA rows must be a multiple of 16 bytes: the wgmma kernel's head dims
  // (Dqk % 8, Dv % 8) are.
  return dtypeBytes == 2 && dqk % 8 == 0 && dv % 8 == 0;
}

NvvmTmaSmemLayout mlir::attn::nvvmTmaSmemLayout(int64_t dqk, int64_t dv,
                                                int64_t blockQ,
                                                int64_t blockKV,
                                                int64_t stages) {
  constexpr int64_t eltBytes = 2;
  int64_t kCols = nvvmTmaColumns(dqk),
          vCols = nvvmTmaColumns(dv / nvvmDvChunks(dv, eltBytes));
  NvvmTmaSmemLayout l;
  l.k = 0;
  l.v = l.k + stages * blockKV * kCols * eltBytes;
  l.q = l.v + stages * blockKV * vCols * eltBytes;
  l.barriers = l.q + blockQ * kCols * eltBytes;
  // mbarriers: K full and empty per stage, Q, Q free, V full and empty per
  // stage (the warp-specialized kernel; the others use a prefix).
  l.total = l.barriers + (4 * stages + 2) * 8 + 1024;
  return l;
}

int64_t mlir::attn::nvvmStagedQBytes(int64_t dqk, int64_t blockQ,
                                     int64_t dtypeBytes) {
  return nvvmStagedKBytes(dqk, blockQ, /*stages=*/1, dtypeBytes);
}

int64_t mlir::attn::nvvmKernelSmemBytes(int64_t dqk, int64_t dv,
                                        int64_t blockQ, int64_t blockKV,
                                        int64_t stages, int64_t dtypeBytes,
                                        bool wgmma, bool tma,
                                        int64_t warps, int64_t packGroup,
                                        bool splitsKV) {
  if (wgmma && tma && nvvmUsesTma(dqk, dv, dtypeBytes))
    return nvvmTmaSmemLayout(dqk, dv, blockQ, blockKV, stages).total;
  int64_t bytes = nvvmStagedSmemBytes(dqk, dv, blockKV, stages, dtypeBytes);
  if (wgmma)
    return bytes + blockQ * llvm::alignTo(dqk, 16) * dtypeBytes;
  if (dtypeBytes == 2 && nvvmStagesQ(dqk, packGroup, splitsKV,
                                     nvvmKVWarps(blockQ, warps)))
    bytes += nvvmStagedQBytes(dqk, blockQ, dtypeBytes);
  if (dtypeBytes == 2)
    bytes = std::max(bytes,
                     nvvmKVWarpMergeBytes(dv, dtypeBytes, blockQ, warps));
  return bytes;
}

int64_t mlir::attn::nvvmKVWarpMergeBytes(int64_t dv, int64_t dtypeBytes,
                                         int64_t blockQ, int64_t warps) {
  int64_t kvWarps = nvvmKVWarps(blockQ, warps);
  if (kvWarps == 1)
    return 0;
  return blockQ / 16 * (kvWarps / 2) * 32 * 4 *
         nvvmStreamKStateWords(dv, dtypeBytes);
}

TileChoice mlir::attn::nvvmDecodeTiles(const TargetInfo &target, int64_t dqk,
                                       int64_t dv, int64_t dtypeBytes,
                                       int64_t rows) {
  // A warp's KV slice holds as many columns as a prefill warp's whole KV
  // tile could up to head dim 64; beyond, 16 keep the 4-warp tile's stages
  // at 70 KiB for head dim 128 (two CTAs per SM on sm_80 and sm_90).
  int64_t cols = std::max(dqk, dv) <= 64 ? 32 : 16;
  int64_t blocks = decodeRowBlocks(rows);
  for (int64_t kv = 4 / blocks;; kv /= 2) {
    TileChoice c{16 * blocks, cols * kv, blocks * kv, 2};
    if (kv == 1 ||
        nvvmKernelSmemBytes(dqk, dv, c.blockQ, c.blockKV, c.stages,
                            dtypeBytes, /*wgmma=*/false, /*tma=*/false,
                            c.warps) <= target.sharedMemBytes)
      return c;
  }
}

int64_t mlir::attn::amdgpuKVWaveMergeBytes(int64_t dv, int64_t blockQ,
                                           int64_t waves) {
  int64_t kvWaves = nvvmKVWarps(blockQ, waves);
  if (kvWaves == 1)
    return 0;
  return blockQ / 16 * (kvWaves / 2) * 64 * 4 * amdgpuStreamKStateWords(dv);
}

int64_t mlir::attn::nvvmResidentCtas(const TargetInfo &target,
                                     int64_t threads, int64_t registers,
                                     int64_t smemBytes) {
  if (threads <= 0 || registers <= 0 || smemBytes < 0)
    return 0;
  bool ga10x = target.name == "sm_86" || target.name == "sm_89";
  int64_t warps = (threads + 31) / 32;
  int64_t byRegisters = 65536 / (warps * ((registers + 7) / 8 * 8) * 32);
  // The largest carveout is the per-block limit plus the 1 KiB the driver
  // reserves for each CTA.
  int64_t bySmem = (target.sharedMemBytes + 1024) / (smemBytes + 1024);
  int64_t byWarps = (ga10x ? 48 : 64) / warps;
  int64_t bySlots = target.name == "sm_86" ? 16 : target.name == "sm_89" ? 24 : 32;
  return std::min({byRegisters, bySmem, byWarps, bySlots});
}

int64_t mlir::attn::amdgpuResidentWavesPerSimd(int64_t waves, int64_t vgprs,
                                               int64_t ldsBytes) {
  if (waves <= 0 || vgprs <= 0 || ldsBytes < 0)
    return 0;
  int64_t byVgprs = std::min<int64_t>(8, 512 / ((vgprs + 7) / 8 * 8));
  int64_t workgroups = ldsBytes ? 65536 / ldsBytes : 64;
  // A workgroup's waves go round the 4 SIMDs.
  int64_t byLds = workgroups * waves / 4;
  if (workgroups * waves < 4)
    byLds = workgroups ? 1 : 0;
  return std::min(byVgprs, byLds);
}

int64_t mlir::attn::amdgpuLdsBytes(int64_t dqk, int64_t dv, int64_t blockQ,
                                   int64_t blockKV, int64_t waves,
                                   int64_t dtypeBytes) {
  int64_t dqkP = llvm::alignTo(dqk, 16), dvP = llvm::alignTo(dv, 16);
  int64_t vPad = 4 * dtypeBytes * dvP <= 32 * blockKV ? 4 : 0;
  return dtypeBytes * (blockKV * dqkP + dvP * (blockKV + vPad)) +
         amdgpuKVWaveMergeBytes(dv, blockQ, waves);
}

TileChoice mlir::attn::amdgpuDecodeTiles(const TargetInfo &target,
                                         int64_t dqk, int64_t dv,
                                         int64_t dtypeBytes, int64_t rows) {
  int64_t blocks = decodeRowBlocks(rows);
  for (int64_t kv = 4 / blocks;; kv /= 2) {
    TileChoice c{16 * blocks, 16 * kv, blocks * kv, 1};
    if (kv == 1 || amdgpuLdsBytes(dqk, dv, c.blockQ, c.blockKV, c.warps,
                                  dtypeBytes) <= target.sharedMemBytes)
      return c;
  }
}

int64_t mlir::attn::nvvmStreamKStateWords(int64_t dv, int64_t dtypeBytes) {
  int64_t chunk = dv / nvvmDvChunks(dv, dtypeBytes);
  return dtypeBytes == 4 ? 2 + chunk : 4 + llvm::alignTo(chunk, 8) / 2;
}

int64_t mlir::attn::nvvmDvChunks(int64_t dv, int64_t dtypeBytes) {
  // The mma.sync kernel holds chunk / 2 accumulators per lane in n8 blocks;
  // the f32 SIMT kernel holds the whole chunk in 4-wide vectors.
  // A Dv of 8 k + 4 (16-bit) takes chunks of 8 k + 4 too: their last n8
  // block is half padding.
  // No kernel takes a Dv that is not a multiple of 4 (the lowerings refuse
  // it); no chunking would divide it either.
  if (dv % 4 != 0)
    return 1;
  int64_t most = dtypeBytes == 4 ? 64 : 128,
          unit = dtypeBytes == 4 || dv % 8 != 0 ? 4 : 8;
  int64_t chunks = (dv + most - 1) / most;
  while (dv % chunks != 0 || (dv / chunks) % unit != 0)
    ++chunks;
  return chunks;
}

int64_t mlir::attn::linearGpuColumns(
    const TargetInfo &target, int64_t dv, int64_t batchHeads,
    llvm::function_ref<int64_t(int64_t columns)> segments) {
  // A power of two (the tiling's block_kv is one): Dv itself when below 64
  // rounds up, and the block takes min(columns, Dv).
  int64_t columns = 1;
  while (columns < std::min<int64_t>(dv, 64))
    columns *= 2;
  while (batchHeads > 0 && columns > 16 &&
         batchHeads * linearGpuColumnChunks(dv, columns) *
                 (segments ? segments(columns) : 1) <
             target.computeUnits)
    columns /= 2;
  return columns;
}

int64_t mlir::attn::linearGpuSegments(const TargetInfo &target,
                                      int64_t streams, int64_t chunks) {
  if (streams <= 0 || chunks <= 0 || streams >= target.computeUnits)
    return 1;
  int64_t segments = (target.computeUnits + streams - 1) / streams;
  segments = std::min<int64_t>({segments, 16, chunks / kLinearSegmentChunks});
  return std::max<int64_t>(segments, 1);
}

int64_t mlir::attn::linearGpuSmemBytes(const LinearGpuProblem &p,
                                       int64_t chunk) {
  int64_t cols = p.columns + (p.normSum ? 1 : 0);
  if (!linearGpuStagesBf16(p, chunk))
    return 4 * (p.features * cols + 2 * chunk * (p.dk + 1) + 2 * chunk * cols +
                chunk * chunk + chunk);
  // f32 state and output rows (16-byte aligned for the bf16 buffers), then
  // the bf16 state, phi(q), phi(k), [v, 1] (and its decayed copy), scores.
  int64_t f32Bytes = (4 * (p.features + chunk) * cols + 15) / 16 * 16;
  int64_t fp = (p.features + 15) / 16 * 16, colsP = (cols + 7) / 8 * 8;
  int64_t bf16Elements = fp * linearGpuLdmStride(colsP) +
                         2 * chunk * linearGpuLdmStride(fp) +
                         (p.decay ? 2 : 1) * chunk * linearGpuLdmStride(colsP) +
                         chunk * linearGpuLdmStride(chunk);
  return f32Bytes + 2 * bf16Elements;
}

int64_t mlir::attn::linearGpuChunk(const TargetInfo &target,
                                   const LinearGpuProblem &p) {
  for (int64_t chunk : {64, 32, 16})
    if (linearGpuSmemBytes(p, chunk) <= target.sharedMemBytes)
      return chunk;
  return 0;
}
