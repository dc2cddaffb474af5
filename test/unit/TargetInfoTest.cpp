// Shared-memory layout and register split of the sm_90a kernels: what the
// emitter, the bundle manifest and the schedule all read from TargetInfo.
#include "attn/Target/TargetInfo.h"

#include <gtest/gtest.h>

#include <vector>

using namespace mlir::attn;

namespace {

TEST(TargetInfo, TmaTilesStartOnSwizzleAtoms) {
  // TMA writes 128-byte swizzled boxes that wgmma reads with base offset 0:
  // every K / V stage, the Q tile and every box inside them must start on a
  // 1024-byte boundary (from the kernel's aligned base) for all the tiles
  // the schedule picks on sm_90a.
  TargetInfo sm90a = *lookupTarget("sm_90a");
  for (int64_t dqk : {32, 64, 80, 96, 128, 192, 256})
    for (int64_t dv : {32, 64, 96, 128, 256}) {
      TileChoice t = defaultTiles(sm90a, dqk, dv, 2);
      NvvmTmaSmemLayout l =
          nvvmTmaSmemLayout(dqk, dv, t.blockQ, t.blockKV, t.stages);
      int64_t chunk = dv / nvvmDvChunks(dv, 2);
      for (int64_t s = 0; s < t.stages; ++s) {
        EXPECT_EQ((l.k + s * t.blockKV * nvvmTmaColumns(dqk) * 2) % 1024, 0);
        EXPECT_EQ((l.v + s * t.blockKV * nvvmTmaColumns(chunk) * 2) % 1024, 0);
      }
      EXPECT_EQ(l.q % 1024, 0);
      EXPECT_EQ((t.blockKV * 128) % 1024, 0) << "box stride in a K / V tile";
      EXPECT_EQ((t.blockQ * 128) % 1024, 0) << "box stride in the Q tile";
      // The barriers are 8-byte aligned and everything (with the alignment
      // slack) fits the target.
      EXPECT_EQ(l.barriers % 8, 0);
      // Full and empty per stage, Q and "Q free" (persistent CTAs), below
      // the slack the kernel's own 1024-byte alignment may take.
      EXPECT_GE(l.total - 1024 - l.barriers, (2 * t.stages + 2) * 8);
      EXPECT_LE(l.total, sm90a.sharedMemBytes) << dqk << " " << dv;
      EXPECT_EQ(nvvmKernelSmemBytes(dqk, dv, t.blockQ, t.blockKV, t.stages, 2,
                                    /*wgmma=*/true, /*tma=*/true,
                                    t.warps),
                l.total);
    }
}

TEST(TargetInfo, TmaColumnsAreWholeBoxes) {
  EXPECT_EQ(nvvmTmaColumns(32), 64);
  EXPECT_EQ(nvvmTmaColumns(64), 64);
  EXPECT_EQ(nvvmTmaColumns(96), 128);
  EXPECT_EQ(nvvmTmaColumns(256), 256);
  EXPECT_TRUE(nvvmUsesTma(96, 80, 2));
  EXPECT_FALSE(nvvmUsesTma(64, 64, 4)) << "f32 takes the SIMT kernel";
}

TEST(TargetInfo, WarpSpecializedRegisterSplitFitsTheRegisterFile) {
  // 128 producer threads and 256 math threads within 64K registers, each
  // share a multiple of 8 as setmaxnreg requires, launch cap 168.
  for (int64_t producer : kNvvmProducerRegisterChoices) {
    ASSERT_TRUE(nvvmValidProducerRegisters(producer)) << producer;
    int64_t math = nvvmConsumerRegisters(producer);
    EXPECT_EQ(math % 8, 0);
    EXPECT_LE(128 * producer + 256 * math, 65536) << producer;
    EXPECT_GE(math, 168) << "the math warps never get fewer than at launch";
  }
  EXPECT_EQ(nvvmConsumerRegisters(24), 240);
  EXPECT_EQ(nvvmConsumerRegisters(72), 216);
  EXPECT_EQ(nvvmBlockThreads(8, true), 384);
  EXPECT_EQ(nvvmBlockThreads(8, false), 256);
  EXPECT_FALSE(nvvmValidProducerRegisters(20));
  EXPECT_FALSE(nvvmValidProducerRegisters(60));
}

static LinearGpuProblem linearProblem(int64_t dk, int64_t features,
                                      int64_t columns, bool normSum,
                                      bool decay = false,
                                      bool bf16Operands = false) {
  LinearGpuProblem p;
  p.dk = dk, p.features = features, p.columns = columns;
  p.normSum = normSum, p.decay = decay, p.bf16Operands = bf16Operands;
  return p;
}

TEST(TargetInfo, LinearGpuChunkIsTheLargestThatFits) {
  // F = Dk = 64, 64 value columns + the normalizer: 99840 bytes at 64 rows,
  // 54144 at 32.
  EXPECT_EQ(linearGpuSmemBytes(linearProblem(64, 64, 64, true), 64), 99840);
  EXPECT_EQ(linearGpuSmemBytes(linearProblem(64, 64, 64, true), 32), 54144);
  EXPECT_EQ(linearGpuChunk(*lookupTarget("sm_80"), linearProblem(64, 64, 64, true)), 64);
  EXPECT_EQ(linearGpuChunk(*lookupTarget("sm_86"), linearProblem(64, 64, 64, true)), 64);
  EXPECT_EQ(linearGpuChunk(*lookupTarget("gfx942"), linearProblem(64, 64, 64, true)), 32);
  // taylor2 of 16-dim keys (F = 273): its state alone is over LDS with 64
  // columns, not with 32.
  EXPECT_EQ(linearGpuChunk(*lookupTarget("gfx942"), linearProblem(16, 273, 64, false)), 0);
  EXPECT_EQ(linearGpuChunk(*lookupTarget("gfx942"), linearProblem(16, 273, 32, true)), 32);
  EXPECT_EQ(linearGpuChunk(*lookupTarget("sm_90"), linearProblem(16, 273, 64, false)), 64);
}

TEST(TargetInfo, LinearGpuStagedBf16Operands) {
  // Rows of whole 16-byte units, an odd number of them.
  EXPECT_EQ(linearGpuLdmStride(64), 72);
  EXPECT_EQ(linearGpuLdmStride(72), 88);
  EXPECT_EQ(linearGpuLdmStride(65), 88);
  EXPECT_EQ(linearGpuLdmStride(32), 40);
  EXPECT_EQ(linearGpuLdmStride(16), 24);
  // F = 64, 65 columns (64 + the normalizer), chunk 64: f32 state and
  // output rows (33280 bytes), then bf16 state [64][88], phi(q), phi(k)
  // [64][72], [v, 1] [64][88], scores [64][72] (50176 bytes); decay adds
  // the weighted [v, 1] (11264).
  LinearGpuProblem p = linearProblem(64, 64, 64, true, false, true);
  EXPECT_EQ(linearGpuSmemBytes(p, 64), 83456);
  EXPECT_EQ(linearGpuSmemBytes(p, 32), 53632);
  p.decay = true;
  EXPECT_EQ(linearGpuSmemBytes(p, 64), 94720);
  // Chunks of whole 16-row tiles only; others keep the f32 layout.
  EXPECT_TRUE(linearGpuStagesBf16(p, 64));
  EXPECT_FALSE(linearGpuStagesBf16(p, 40));
  EXPECT_EQ(linearGpuSmemBytes(p, 40),
            linearGpuSmemBytes(linearProblem(64, 64, 64, true), 40));
}

TEST(TargetInfo, LinearGpuColumnsFillTheComputeUnits) {
  TargetInfo sm90 = *lookupTarget("sm_90"); // 132 SMs
  // Enough (batch, head) blocks: whole 64-column chunks (Dv below that
  // whole: the next power of two, which the tiling takes).
  EXPECT_EQ(linearGpuColumns(sm90, 128, 256), 64);
  EXPECT_EQ(linearGpuColumns(sm90, 48, 256), 64);
  EXPECT_EQ(linearGpuColumns(sm90, 3, 256), 4);
  EXPECT_EQ(linearGpuColumns(sm90, 3, 1), 4);
  // 64 blocks x 2 chunks of 64 < 132: 32 columns (4 chunks, 256 blocks).
  EXPECT_EQ(linearGpuColumns(sm90, 128, 64), 32);
  // Few blocks: never below 16 columns; unknown batch: 64.
  EXPECT_EQ(linearGpuColumns(sm90, 128, 4), 16);
  EXPECT_EQ(linearGpuColumns(sm90, 128, 0), 64);
  // Segments count toward the blocks: 4 heads x 2 chunks x 16 segments
  // still leave 132 SMs idle, x 4 chunks x 9 do not.
  auto segments = [](int64_t columns) { return columns == 64 ? 16 : 9; };
  EXPECT_EQ(linearGpuColumns(sm90, 128, 4, segments), 32);
  EXPECT_EQ(linearGpuColumns(sm90, 128, 16, segments), 64);
  EXPECT_EQ(linearGpuColumnChunks(96, 64), 2);
  EXPECT_EQ(linearGpuColumnChunks(130, 16), 9);
}

/// Sequence segments of causal linear attention: enough to cover the SMs
/// the (batch, head, column chunk) streams leave idle, at most 16 and at
/// least 4 chunks each; none when the streams fill the GPU.
TEST(TargetInfo, LinearSegmentsFillTheIdleSMs) {
  TargetInfo sm90 = *lookupTarget("sm_90"); // 132 SMs
  // 16 streams: ceil(132 / 16) = 9 segments where 36+ chunks allow it.
  EXPECT_EQ(linearGpuSegments(sm90, 16, 64), 9);
  // 16 chunks: 4 segments of 4 chunks; 7 chunks: one segment (no split).
  EXPECT_EQ(linearGpuSegments(sm90, 16, 16), 4);
  EXPECT_EQ(linearGpuSegments(sm90, 16, 7), 1);
  // One stream, a long sequence: 16, not the 132 that would fill the SMs.
  EXPECT_EQ(linearGpuSegments(sm90, 1, 1024), 16);
  // Streams that fill the SMs, or unknown counts: no split.
  EXPECT_EQ(linearGpuSegments(sm90, 132, 1024), 1);
  EXPECT_EQ(linearGpuSegments(sm90, 0, 1024), 1);
  EXPECT_EQ(linearGpuSegments(sm90, 16, 0), 1);
  // The workspace of 2 streams in 3 segments, 32 x 17 states.
  LinearGpuWorkspace ws = linearGpuWorkspace(2, 1, 3, true, 32, 17);
  EXPECT_EQ(ws.words, 2 * (3 + 2 * 32 * 17));
  EXPECT_EQ(ws.zeroedWords, 2 * 3);
  // Non-causal, the last segment publishes too.
  ws = linearGpuWorkspace(2, 1, 3, false, 32, 17);
  EXPECT_EQ(ws.words, 2 * (4 + 3 * 32 * 17));
  EXPECT_EQ(ws.zeroedWords, 2 * 4);
}

} // namespace

/// The AMD default tiles fit a workgroup's LDS in every dtype and head dim
/// the MFMA kernel takes (f32 tiles are twice as large, so narrower).
TEST(TargetInfo, AmdTilesFitTheLds) {
  for (const char *name : {"gfx90a", "gfx942"}) {
    std::optional<TargetInfo> t = lookupTarget(name);
    ASSERT_TRUE(t);
    for (int64_t bytes : {2, 4})
      for (int64_t d : {16, 32, 64, 80, 96, 128, 256}) {
        TileChoice c = defaultTiles(*t, d, d, bytes);
        EXPECT_EQ(c.blockQ, 16 * c.warps);
        EXPECT_EQ(c.blockKV % 16, 0);
        EXPECT_LE(sharedMemoryNeeded(c, d, d, bytes), t->sharedMemBytes)
            << name << " d=" << d << " bytes=" << bytes;
      }
    EXPECT_EQ(defaultTiles(*t, 128, 128, 4).blockKV, 32);
  }
}

/// A stream-K / split_kv share slot holds threads x ceil(min(BQ, rows of a
/// head) / rows) threads of the row groups (the manifest's workspace
/// formula): that is every thread of a full tile only if the kernel's row
/// groups hold exactly BQ rows.
TEST(TargetInfo, StreamKRowGroupsHoldTheTile) {
  for (const char *name : {"sm_80", "sm_90", "gfx90a", "gfx942"}) {
    std::optional<TargetInfo> t = lookupTarget(name);
    ASSERT_TRUE(t);
    bool nvidia = t->kind == TargetKind::NVVM;
    for (int64_t bytes : {2, 4})
      for (int64_t d : {32, 64, 128}) {
        TileChoice c = defaultTiles(*t, d, d, bytes);
        // warps: NVIDIA's of 32 threads, AMD's waves of 64.
        RowGroup g =
            nvidia ? nvvmStreamKRowGroup(bytes) : amdgpuStreamKRowGroup();
        int64_t threads = (nvidia ? 32 : 64) * c.warps;
        EXPECT_EQ(c.blockQ, g.rows * (threads / g.threads))
            << name << " d=" << d << " bytes=" << bytes;
      }
  }
}

TEST(TargetInfo, KVWarpsArePastTheRowBlocks) {
  struct Case {
    int64_t blockQ, warps, kvWarps;
  };
  for (Case c : {Case{128, 8, 1}, Case{64, 4, 1}, Case{16, 4, 4},
                 Case{16, 1, 1}, Case{32, 4, 2}, Case{64, 8, 2},
                 Case{128, 4, 1}})
    EXPECT_EQ(nvvmKVWarps(c.blockQ, c.warps), c.kvWarps)
        << c.blockQ << "x" << c.warps;
  // Slots for the upper half of each row block's KV warps: 32 lanes x
  // (4 + 128 / 2) words of f32 at Dv = 128.
  EXPECT_EQ(nvvmKVWarpMergeBytes(128, 2, 16, 4), 2 * 32 * 68 * 4);
  EXPECT_EQ(nvvmKVWarpMergeBytes(128, 2, 32, 4), 2 * 1 * 32 * 68 * 4);
  EXPECT_EQ(nvvmKVWarpMergeBytes(128, 2, 128, 8), 0);
}

TEST(TargetInfo, StagedQIsForOneHeadsFlashTilesPastHeadDim64) {
  EXPECT_TRUE(nvvmStagesQ(128, 1, false, 1));
  EXPECT_TRUE(nvvmStagesQ(72, 1, false, 1));
  EXPECT_TRUE(nvvmStagesQ(256, 1, false, 1));
  EXPECT_FALSE(nvvmStagesQ(64, 1, false, 1)) << "fragments in registers";
  EXPECT_FALSE(nvvmStagesQ(512, 1, false, 1)) << "past sm_86's 99 KiB";
  EXPECT_FALSE(nvvmStagesQ(128, 4, false, 1)) << "packed heads";
  EXPECT_FALSE(nvvmStagesQ(128, 1, true, 1)) << "stream-K / split_kv";
  EXPECT_FALSE(nvvmStagesQ(128, 1, false, 2)) << "KV warps";
  // The tile takes K stage rows (16-byte multiple plus 16 bytes).
  EXPECT_EQ(nvvmStagedQBytes(128, 128, 2), 128 * (256 + 16));
  EXPECT_EQ(nvvmStagedQBytes(100, 64, 2), 64 * (208 + 16));
}

TEST(TargetInfo, StagedQFitsEveryNvidiaTarget) {
  // The schedule's prefill and decode tiles with the staged Q tile: every
  // 16-bit head dim the mma.sync kernel takes fits each target.
  for (const char *name : {"sm_80", "sm_86", "sm_89", "sm_90"}) {
    std::optional<TargetInfo> t = lookupTarget(name);
    ASSERT_TRUE(t);
    for (int64_t dqk = 68; dqk <= 256; dqk += 4)
      for (int64_t dv : {dqk, int64_t(64), int64_t(256)}) {
        std::vector<TileChoice> tiles = {defaultTiles(*t, dqk, dv, 2)};
        for (int64_t rows : {17, 33, 64})
          tiles.push_back(nvvmDecodeTiles(*t, dqk, dv, 2, rows));
        for (const TileChoice &c : tiles)
          EXPECT_LE(nvvmKernelSmemBytes(dqk, dv, c.blockQ, c.blockKV,
                                        c.stages, 2, /*wgmma=*/false,
                                        /*tma=*/false, c.warps),
                    t->sharedMemBytes)
              << name << " " << dqk << " " << dv << " " << c.blockQ;
      }
  }
}

TEST(TargetInfo, WiderTilesDoubleTheDefaultKVTilePastHeadDim64) {
  auto tiles = [](const char *name, int64_t d, TileChoice chosen,
                  bool wgmma, int64_t group = 1) {
    return nvvmWiderTiles(*lookupTarget(name), chosen, d, d, 2, wgmma,
                          /*tma=*/wgmma, group);
  };
  auto kv = [](std::optional<TileChoice> c) {
    return c ? c->blockKV : int64_t(0);
  };
  TileChoice mma{128, 32, 8, 2}, wg{128, 64, 8, 2};
  EXPECT_EQ(kv(tiles("sm_80", 128, mma, false)), 64);
  EXPECT_EQ(kv(tiles("sm_90", 96, mma, false)), 64);
  EXPECT_EQ(kv(tiles("sm_90a", 128, wg, true)), 128);
  // sm_90a's mma.sync kernel (packed heads) widens sm_90's tile.
  EXPECT_EQ(kv(tiles("sm_90a", 128, mma, false, 4)), 64);
  EXPECT_EQ(kv(tiles("sm_90a", 128, mma, true)), 0) << "not wgmma's default";
  EXPECT_EQ(kv(tiles("sm_80", 128, {128, 16, 8, 2}, false)), 0)
      << "not the default";
  EXPECT_EQ(kv(tiles("sm_80", 64, {128, 64, 8, 2}, false)), 0)
      << "head dim 64 reaches 255 registers at 128 columns";
  EXPECT_EQ(kv(tiles("sm_90a", 256, {128, 32, 8, 2}, true)), 64);
  EXPECT_EQ(kv(tiles("sm_90", 256, mma, false)), 0)
      << "mma.sync past head dim 128";
  // 128 x 64 with the staged Q is 102 KiB: past sm_86's 99 KiB.
  EXPECT_EQ(kv(tiles("sm_86", 128, mma, false)), 0);
  EXPECT_EQ(kv(tiles("sm_86", 80, mma, false)), 64);
  EXPECT_FALSE(nvvmWiderTiles(*lookupTarget("sm_80"), {128, 16, 4, 2}, 128,
                              128, 4, false, false, 1))
      << "f32 runs the SIMT kernel";
  EXPECT_FALSE(nvvmWiderTiles(*lookupTarget("gfx942"), {64, 64, 4, 1}, 128,
                              128, 2, false, false, 1));
}

TEST(TargetInfo, DecodeTilesFitEveryNvidiaTarget) {
  for (const char *name : {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"}) {
    std::optional<TargetInfo> t = lookupTarget(name);
    ASSERT_TRUE(t);
    for (int64_t d : {32, 64, 72, 128, 256}) {
      for (int64_t rows : {1, 16, 17, 32, 33, 64}) {
        TileChoice c = nvvmDecodeTiles(*t, d, d, 2, rows);
        int64_t kvWarps = nvvmKVWarps(c.blockQ, c.warps);
        // The fewest 16-row blocks that hold the rows, KV warps on the
        // rest of 4 warps.
        EXPECT_EQ(c.blockQ, rows <= 16 ? 16 : rows <= 32 ? 32 : 64)
            << name << " d=" << d << " rows=" << rows;
        EXPECT_EQ(c.blockQ / 16 * kvWarps, c.warps) << name << " d=" << d;
        EXPECT_LE(c.warps, 4);
        // Each KV warp's slice is whole k16 steps of P V.
        EXPECT_EQ(c.blockKV % (16 * kvWarps), 0) << name << " d=" << d;
        EXPECT_LE(nvvmKernelSmemBytes(d, d, c.blockQ, c.blockKV, c.stages, 2,
                                      /*wgmma=*/false, /*tma=*/false,
                                      c.warps),
                  t->sharedMemBytes)
            << name << " d=" << d;
      }
    }
  }
  // Head dim 256: 4 KV warps fit sm_90, 2 on sm_86.
  EXPECT_EQ(nvvmDecodeTiles(*lookupTarget("sm_90"), 256, 256, 2, 1).warps, 4);
  EXPECT_EQ(nvvmDecodeTiles(*lookupTarget("sm_86"), 256, 256, 2, 1).warps, 2);
  // 32 rows: 2 row blocks x 2 KV warps; 64 rows: 4 row blocks alone.
  TileChoice two = nvvmDecodeTiles(*lookupTarget("sm_80"), 128, 128, 2, 32);
  EXPECT_EQ(nvvmKVWarps(two.blockQ, two.warps), 2);
  TileChoice four = nvvmDecodeTiles(*lookupTarget("sm_80"), 128, 128, 2, 64);
  EXPECT_EQ(nvvmKVWarps(four.blockQ, four.warps), 1);
}

TEST(TargetInfo, AmdDecodeTilesFitTheLds) {
  for (const char *name : {"gfx90a", "gfx942"}) {
    std::optional<TargetInfo> t = lookupTarget(name);
    ASSERT_TRUE(t);
    for (int64_t bytes : {2, 4})
      for (int64_t d : {32, 64, 72, 128, 256}) {
        for (int64_t rows : {1, 16, 32, 64}) {
          TileChoice c = amdgpuDecodeTiles(*t, d, d, bytes, rows);
          int64_t kvWaves = nvvmKVWarps(c.blockQ, c.warps);
          EXPECT_EQ(c.blockQ, rows <= 16 ? 16 : rows <= 32 ? 32 : 64)
              << name << " d=" << d << " rows=" << rows;
          EXPECT_EQ(c.blockKV % (16 * kvWaves), 0) << name << " d=" << d;
          EXPECT_LE(amdgpuLdsBytes(d, d, c.blockQ, c.blockKV, c.warps,
                                   bytes),
                    t->sharedMemBytes)
              << name << " d=" << d << " bytes=" << bytes;
        }
      }
    // 4 KV waves at head dim 128; the merge slots (2 x 64 lanes x 34
    // words) push head dim 256 to 2.
    EXPECT_EQ(amdgpuDecodeTiles(*t, 128, 128, 2, 1).warps, 4);
    EXPECT_EQ(amdgpuLdsBytes(128, 128, 16, 64, 4, 2),
              2 * (64 * 128 + 128 * 68) + 2 * 64 * 34 * 4);
    EXPECT_EQ(amdgpuDecodeTiles(*t, 256, 256, 2, 1).warps, 2);
  }
}

TEST(TargetInfo, DvChunksEndForEveryHeadDim) {
  // A Dv no kernel takes still gets an answer (the schedule sizes tiles
  // before the lowering refuses the head dim).
  for (int64_t dv = 1; dv <= 300; ++dv)
    for (int64_t bytes : {2, 4}) {
      int64_t chunks = nvvmDvChunks(dv, bytes);
      EXPECT_GE(chunks, 1) << dv;
      if (dv % 4 == 0)
        EXPECT_EQ(dv % chunks, 0) << dv;
    }
}

// The occupancy the resource report prints: whichever of registers, shared
// memory (LDS) and slots binds. The kernels are the H200 ones Nsight
// Compute measured (bench/results/2026-11-30-*-ncu*.txt: 1 CTA of the
// dense prefill kernel, "Block Limit Registers 2" for the decode kernel)
// and the linear kernel, whose 130 KB of shared memory leave one CTA of 4
// warps where its registers would allow 4.
TEST(TargetInfo, ResidentCtasTakeTheBindingLimit) {
  TargetInfo sm90 = *lookupTarget("sm_90a"), sm80 = *lookupTarget("sm_80");
  TargetInfo sm86 = *lookupTarget("sm_86");
  EXPECT_EQ(nvvmResidentCtas(sm90, 384, 168, 164913), 1);
  EXPECT_EQ(nvvmResidentCtas(sm90, 128, 255, 69633), 2);
  EXPECT_EQ(nvvmResidentCtas(sm90, 128, 124, 130049), 1);
  EXPECT_EQ(nvvmResidentCtas(sm90, 128, 124, 89089), 2);
  // Slots: 64 warps (48 on sm_86), 32 CTAs (16 on sm_86).
  EXPECT_EQ(nvvmResidentCtas(sm90, 128, 32, 0), 16);
  EXPECT_EQ(nvvmResidentCtas(sm86, 128, 32, 0), 12);
  EXPECT_EQ(nvvmResidentCtas(sm90, 32, 32, 0), 32);
  EXPECT_EQ(nvvmResidentCtas(sm86, 32, 32, 0), 16);
  // Registers round up to 8 a thread.
  EXPECT_EQ(nvvmResidentCtas(sm80, 256, 121, 0), 2);
  EXPECT_EQ(nvvmResidentCtas(sm80, 256, 128, 0), 2);
  EXPECT_EQ(nvvmResidentCtas(sm80, 256, 129, 0), 1);
  // The largest carveout holds exactly the per-block limit (plus the
  // driver's KiB); past it nothing fits.
  EXPECT_EQ(nvvmResidentCtas(sm80, 128, 64, sm80.sharedMemBytes), 1);
  EXPECT_EQ(nvvmResidentCtas(sm80, 128, 64, sm80.sharedMemBytes + 1), 0);
  EXPECT_EQ(nvvmResidentCtas(sm90, 128, 64, 0), 8);

  // AMD: 4 waves a workgroup, one a SIMD.
  EXPECT_EQ(amdgpuResidentWavesPerSimd(4, 128, 16896), 3); // LDS binds
  EXPECT_EQ(amdgpuResidentWavesPerSimd(4, 256, 16896), 2); // VGPRs bind
  EXPECT_EQ(amdgpuResidentWavesPerSimd(4, 64, 0), 8);
  EXPECT_EQ(amdgpuResidentWavesPerSimd(4, 64, 65537), 0);
  EXPECT_EQ(amdgpuResidentWavesPerSimd(1, 64, 40000), 1);
}
