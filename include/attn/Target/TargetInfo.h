//===- TargetInfo.h - target descriptions -----------------------*- C++ -*-===//
//
// What the schedule and the lowerings need to know about a chip: how many
// work items run at once, the on-chip memory a work item may use, the register
// file, and the tensor-core shape. One description per `target=` name.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_TARGETINFO_H
#define ATTN_TARGET_TARGETINFO_H

#include "attn/Spec/Spec.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::attn {

enum class TargetKind { CPU, NVVM, ROCDL };

struct TargetInfo {
  std::string name;            // cpu, sm_80, sm_90, gfx942, ...
  TargetKind kind = TargetKind::CPU;
  int64_t computeUnits = 1;    // SMs / CUs / cores
  int64_t sharedMemBytes = 0;  // per work item (block) at most
  int64_t registersPerThread = 255;
  int64_t warpSize = 1;
  /// Peak dense f16/bf16 tensor TFLOP/s, for reports.
  double peakTflops = 0;
  bool hasWgmma = false;       // sm_90a warpgroup MMA + TMA
  bool hasMfma = false;
};

/// Description of `name`, or nullopt for an unknown target.
std::optional<TargetInfo> lookupTarget(const std::string &name);

/// Names accepted by lookupTarget, for diagnostics.
std::vector<std::string> knownTargets();

/// CTAs of `threads` threads, `registers` registers each and `smemBytes`
/// of shared memory (static + dynamic) an SM of NVIDIA `target` holds at
/// once: the least of what its 64K registers (allocated per warp in units
/// of 256), its shared memory (the largest carveout, less 1 KiB the driver
/// reserves per CTA), its warp slots (64; sm_86 / sm_89: 48) and its CTA
/// slots (32; sm_86: 16, sm_89: 24) allow. 0 when one CTA does not fit.
int64_t nvvmResidentCtas(const TargetInfo &target, int64_t threads,
                         int64_t registers, int64_t smemBytes);
/// Waves of a workgroup of `waves` wave64s, `vgprs` VGPRs and `ldsBytes` of
/// LDS each SIMD of a CDNA2/3 compute unit holds at once: the least of its
/// 512 VGPRs (in units of 8) and 8 wave slots allow, and of the workgroups
/// the CU's 64 KiB of LDS holds (a workgroup's waves spread over the 4
/// SIMDs). 0 when one workgroup does not fit.
int64_t amdgpuResidentWavesPerSimd(int64_t waves, int64_t vgprs,
                                   int64_t ldsBytes);

/// Tile choice of the cost model (docs/ARCHITECTURE.md, "Schedule").
struct TileChoice {
  int64_t blockQ, blockKV, warps, stages;
};
TileChoice defaultTiles(const TargetInfo &target, int64_t dqk, int64_t dv,
                        int64_t dtypeBytes);
/// The NVIDIA 16-bit prefill tiles `attn-compile` tries before `chosen`
/// when `chosen` is the cost model's default (defaultTiles; of sm_90 for
/// a kernel that is not wgmma): the KV tile twice as wide. defaultTiles
/// keeps the widest KV tile that no configuration of the prefill matrix
/// spills with; past head dim 64 (mma.sync: up to 128) this one fits most
/// of them (dense, causal, windows) but not all (bias or ALiBi with block
/// masks), so ptxas decides per kernel and the driver keeps `chosen` where
/// the wider one spills. nullopt where there is none, or where its shared
/// memory (nvvmKernelSmemBytes) would not fit the target.
std::optional<TileChoice> nvvmWiderTiles(const TargetInfo &target,
                                         const TileChoice &chosen,
                                         int64_t dqk, int64_t dv,
                                         int64_t dtypeBytes, bool wgmma,
                                         bool tma, int64_t packGroup);

/// Number of CTAs the NVIDIA kernels split Dv over: the mma.sync kernel
/// (16-bit inputs) accumulates at most 128 columns per CTA in multiples of
/// 8 (of 4 for a Dv of 8 k + 4), the f32 SIMT kernel at most 64 in
/// multiples of 4.
int64_t nvvmDvChunks(int64_t dv, int64_t dtypeBytes);

/// f32 words of one thread's KV-loop state in the NVIDIA stream-K kernels
/// (running max and sum, O accumulators): mma.sync 4 + chunk / 2, SIMT
/// 2 + chunk, for a Dv chunk of `chunk` columns.
int64_t nvvmStreamKStateWords(int64_t dv, int64_t dtypeBytes);
/// The thread groups of a stream-K / split_kv GPU kernel that hold tile
/// rows together (warps, waves): `threads` threads per group, holding the
/// next `rows` rows of a tile each. A share slot holds the threads of the
/// groups with rows: threads x ceil(min(BQ, rows of a head) / rows).
struct RowGroup {
  int64_t threads, rows;
};
/// NVIDIA: an mma.sync warp holds 16 rows, an f32 SIMT warp 32 (a row per
/// thread).
inline RowGroup nvvmStreamKRowGroup(int64_t dtypeBytes) {
  return {32, dtypeBytes == 4 ? 32 : 16};
}
/// AMD: a wave64 holds 16 rows (its MFMA tile's columns).
inline RowGroup amdgpuStreamKRowGroup() { return {64, 16}; }
/// f32 words of one thread's KV-loop state in the AMD stream-K kernel
/// (running max, the lane's part of the sum, O^T accumulators of Dv padded
/// to 16, 4 per 16).
inline int64_t amdgpuStreamKStateWords(int64_t dv) {
  return 2 + (dv + 15) / 16 * 4;
}
/// LDS of the AMD MFMA kernel: the K tile [blockKV][Dqk padded to 16], the
/// V^T tile [Dv padded to 16][blockKV + pad] (4 elements of padding when
/// they fit the 32 bytes per KV row the tiling budgets for it), and with
/// KV waves (nvvmKVWarps: a wave holds 16 rows too) the slots of their
/// merge, 64 lanes x amdgpuStreamKStateWords of f32 for the upper half of
/// each row block's KV waves.
int64_t amdgpuLdsBytes(int64_t dqk, int64_t dv, int64_t blockQ,
                       int64_t blockKV, int64_t waves, int64_t dtypeBytes);
int64_t amdgpuKVWaveMergeBytes(int64_t dv, int64_t blockQ, int64_t waves);
/// The same on an AMD target: 4 waves, its 16-row blocks times KV waves of
/// 16 columns (fewer KV waves where the LDS would not fit).
TileChoice amdgpuDecodeTiles(const TargetInfo &target, int64_t dqk,
                             int64_t dv, int64_t dtypeBytes, int64_t rows);

/// Dynamic shared memory of an NVIDIA kernel: `stages` K tiles
/// [blockKV][dqk + 16 B] and V tiles [blockKV][Dv chunk + 16 B].
int64_t nvvmStagedSmemBytes(int64_t dqk, int64_t dv, int64_t blockKV,
                            int64_t stages, int64_t dtypeBytes);
/// Whether the NVIDIA lowering for `chip` takes the wgmma kernel for 16-bit
/// inputs: sm_90a only (wgmma needs the arch-specific features).
inline bool nvvmUsesWgmma(const std::string &chip) { return chip == "sm_90a"; }
/// Head dims the wgmma kernel takes: k-steps of 16 over Dqk rounded up to
/// 16 (the columns past Dqk zeroed, by TMA or once by the threads), n of
/// 8 k over Dv, and 16-byte rows for TMA and the 16-byte copies; others
/// (Dqk or Dv of 8 k + 4) run the mma.sync kernel on sm_90a too.
inline bool nvvmWgmmaHeadDims(int64_t dqk, int64_t dv) {
  return dqk % 8 == 0 && dv % 8 == 0;
}

/// Whether the wgmma kernel can load Q, K and V with TMA: 16-bit inputs,
/// in boxes of 64 columns (128 bytes, the 128-byte swizzle span). A head dim
/// that is not a multiple of 64 gets a last box reaching past it (TMA fills
/// zeros beyond the tensor), read only up to the head dim.
bool nvvmUsesTma(int64_t dqk, int64_t dv, int64_t dtypeBytes);
/// Shared-memory columns of a TMA tile of `cols` columns: whole boxes.
inline int64_t nvvmTmaColumns(int64_t cols) { return (cols + 63) / 64 * 64; }

/// Threads per CTA of the NVIDIA kernels: the math warps, plus a producer
/// warpgroup for the warp-specialized TMA kernel.
inline int64_t nvvmBlockThreads(int64_t warps, bool warpSpecialized) {
  return 32 * warps + (warpSpecialized ? 128 : 0);
}

/// Registers per math thread of the warp-specialized kernel when the
/// producer warpgroup keeps `producer` (setmaxnreg): two math warpgroups
/// share the rest of the 64K register file, in multiples of 8.
inline int64_t nvvmConsumerRegisters(int64_t producer) {
  return (512 - producer) / 2 / 8 * 8;
}
inline bool nvvmValidProducerRegisters(int64_t producer) {
  return producer >= 24 && producer < 256 && producer % 8 == 0;
}
/// The producer shares ptxas is tried with, in order: the first that leaves
/// the kernel without spills wins (the producer classifies tiles, whose
/// register need depends on the mask; ptxas' allocation under setmaxnreg
/// is not monotonic in the split).
inline constexpr int64_t kNvvmProducerRegisterChoices[] = {72, 24, 40, 56, 88};

/// The NVIDIA kernels' exp2 (one MUFU.EX2); the nvemu host rewrite
/// recognizes the same name.
inline constexpr const char kNvvmEx2ApproxFtz[] =
    "llvm.nvvm.ex2.approx.ftz.f32";

/// Dynamic shared memory of the TMA kernel, in bytes from a 1024-byte
/// aligned base (128-byte swizzle atoms are 1024 bytes and must be aligned;
/// the kernel aligns the base itself, hence `total` has 1024 bytes of
/// slack): `stages` K tiles [blockKV][dqk] and V tiles [blockKV][Dv chunk]
/// (columns rounded up to whole boxes, nvvmTmaColumns), Q [blockQ][dqk],
/// then 8-byte mbarriers: "full" per
/// stage, Q, "empty" per stage and "Q free" (the warp-specialized kernel;
/// "Q free" only with persistent CTAs).
struct NvvmTmaSmemLayout {
  int64_t k, v, q, barriers, total;
};
NvvmTmaSmemLayout nvvmTmaSmemLayout(int64_t dqk, int64_t dv, int64_t blockQ,
                                    int64_t blockKV, int64_t stages);

/// Whether the 16-bit mma.sync kernel stages its Q tile in shared memory
/// (one cp.async copy before the KV prologue, ldmatrix per KV tile, as
/// FlashAttention-2 does when Q does not stay in registers) instead of
/// re-reading its fragments from global memory per KV tile. Past head dim
/// 64, where the fragments (Dqk / 2 registers a lane) do not stay in
/// registers, up to 256 (the default tiles then fit sm_86's 99 KiB; a
/// 128-row tile of Dqk 512 would take 130 KiB alone); for a CTA of one
/// query tile of one head's rows (no packed heads, no stream-K / split_kv
/// walk) without KV warps.
inline bool nvvmStagesQ(int64_t dqk, int64_t packGroup, bool splitsKV,
                        int64_t kvWarps) {
  return dqk > 64 && dqk <= 256 && packGroup == 1 && !splitsKV &&
         kvWarps == 1;
}
/// Its Q tile: blockQ rows laid out as a K stage's (nvvmStagedKBytes).
int64_t nvvmStagedQBytes(int64_t dqk, int64_t blockQ, int64_t dtypeBytes);

/// All dynamic shared memory of an NVIDIA kernel: the K / V stages, and for
/// the wgmma kernel the Q tile [blockQ][dqk rounded up to 16] (P stays in
/// registers; the TMA kernel, when `tma` and nvvmUsesTma:
/// nvvmTmaSmemLayout), for the 16-bit mma.sync kernel the staged Q tile
/// where nvvmStagesQ (nvvmStagedQBytes; `packGroup` and `splitsKV` as
/// there, by default a flash tile of one head).
/// The mma.sync kernel with KV warps (nvvmKVWarps) takes at least what
/// their merge needs (nvvmKVWarpMergeBytes), which reuses the stages.
int64_t nvvmKernelSmemBytes(int64_t dqk, int64_t dv, int64_t blockQ,
                            int64_t blockKV, int64_t stages,
                            int64_t dtypeBytes, bool wgmma, bool tma,
                            int64_t warps, int64_t packGroup = 1,
                            bool splitsKV = false);

/// KV warps of the 16-bit mma.sync kernel: an m16 row block of the query
/// tile per block_q / 16 warps, and the warps beyond those take the same
/// rows again, each KV warp a block_kv / KV warps slice of every KV tile's
/// columns, with its own running max, sum and O, merged (online-softmax
/// rescale) after the KV loop. A decode tile has at most 16 rows: without
/// KV warps it keeps one warp busy and leaves the others idle.
inline int64_t nvvmKVWarps(int64_t blockQ, int64_t warps) {
  int64_t rowWarps = blockQ / 16;
  return rowWarps > 0 && warps > rowWarps ? warps / rowWarps : 1;
}
/// Shared memory of that merge: a tree of log2(KV warps) rounds, the upper
/// half of the remaining warps of each row block handing 32 lanes x the
/// stream-K state words (nvvmStreamKStateWords) of f32 to the lower half:
/// row blocks x KV warps / 2 slots. 0 without KV warps.
int64_t nvvmKVWarpMergeBytes(int64_t dv, int64_t dtypeBytes, int64_t blockQ,
                             int64_t warps);
/// Rows of a decode tile at most: a tile of up to this many rows (query
/// rows x packed heads) takes the decode tiles below.
inline constexpr int64_t kDecodeTileRows = 64;
/// 16-row blocks of a decode tile of `rows` rows: 1, 2 or 4.
inline int64_t decodeRowBlocks(int64_t rows) {
  return rows <= 16 ? 1 : rows <= 32 ? 2 : 4;
}
/// The cost model's tiles for a 16-bit decode tile of `rows` <=
/// kDecodeTileRows rows on an NVIDIA target: 4 warps, its m16 row blocks
/// times KV warps (1 x 4, 2 x 2, 4 x 1; fewer KV warps when the stages
/// would not fit the target), 32 KV columns a warp up to head dim 64, 16
/// beyond (docs/ARCHITECTURE.md, "Schedule").
TileChoice nvvmDecodeTiles(const TargetInfo &target, int64_t dqk, int64_t dv,
                           int64_t dtypeBytes, int64_t rows);
/// Of the stages, the bytes before the V tiles.
int64_t nvvmStagedKBytes(int64_t dqk, int64_t blockKV, int64_t stages,
                         int64_t dtypeBytes);

/// The GPU linear-attention kernel (Common/LinearGpuKernel.cpp): one block
/// per (batch, head, column chunk), walking chunks of `chunk` rows with the
/// state in shared memory. Columns of V (and state, O) per block, a power
/// of two (the block takes min(columns, Dv)): at most 64; fewer when
/// `batchHeads` (B x H) blocks per chunk would leave compute units idle,
/// down to 16 (each block recomputes the chunk's scores, so narrower chunks
/// trade that work for parallelism, as Lightning Attention-2 splits its
/// value dimension). batchHeads <= 0: unknown. `segments(columns)`, when
/// given, is how many sequence segments each of those blocks' streams
/// would split into (linearGpuSegments): a split sequence repeats only
/// its k and v rows' state pass, where narrower columns repeat every q and
/// k row and the scores, so columns narrow only while the segments leave
/// compute units idle too.
int64_t linearGpuColumns(
    const TargetInfo &target, int64_t dv, int64_t batchHeads,
    llvm::function_ref<int64_t(int64_t columns)> segments = nullptr);
inline int64_t linearGpuColumnChunks(int64_t dv, int64_t columns) {
  return (dv + columns - 1) / columns;
}
/// Segments of a sequence that kernel walks in parallel (schedule
/// split_kv, each segment seeded with the states of those before it, or
/// non-causal of all): a block per segment for each of `streams` (B x H x
/// column chunks) walks when the streams alone leave compute units idle;
/// at most 16 (segment p reads the p states before it) and at least
/// kLinearSegmentChunks chunks of the `chunks` a segment (a segment first
/// sums its own state, a fraction of its walk). 1 (no split) when a count
/// is unknown (<= 0).
constexpr int64_t kLinearSegmentChunks = 4;
int64_t linearGpuSegments(const TargetInfo &target, int64_t streams,
                          int64_t chunks);
/// States a stream of a sequence split in `segments` publishes: causal,
/// those of every segment but the last (nobody starts after it);
/// non-causal, all (every segment needs the whole sum).
inline int64_t linearGpuPublishedStates(int64_t segments, bool causal) {
  return causal ? segments - 1 : segments;
}
/// The f32 words of that kernel's workspace for each batch entry when it
/// splits the sequence in `segments` (> 1): for each of the heads x
/// column chunks streams a ticket counter and a flag per published state
/// (the part that starts zeroed), then the published states of
/// `features` x `cols` words (cols: the block's columns, with norm=sum
/// the normalizer too).
struct LinearGpuWorkspace {
  int64_t words = 0, zeroedWords = 0;
};
inline LinearGpuWorkspace linearGpuWorkspace(int64_t heads,
                                             int64_t columnChunks,
                                             int64_t segments, bool causal,
                                             int64_t features, int64_t cols) {
  int64_t streams = heads * columnChunks;
  int64_t states = linearGpuPublishedStates(segments, causal);
  return {streams * (1 + states + states * features * cols),
          streams * (1 + states)};
}
/// What that kernel's shared memory depends on.
struct LinearGpuProblem {
  int64_t dk = 0, features = 0;
  /// Value columns one block owns: min(block_kv, Dv).
  int64_t columns = 0;
  bool normSum = false, decay = false;
  /// The tensor-core form of bf16 inputs with operands the features give
  /// directly (not taylor2): staged as bf16 for ldmatrix or LDS vector
  /// reads (linearGpuStagesBf16). f16 inputs, whose operands are split
  /// (linearSplitOperands), keep the f32 buffers.
  bool bf16Operands = false;
};

/// Whether the chunk products' operands are staged as bf16 in shared
/// memory, read by ldmatrix (NVIDIA) or 8-byte LDS reads (AMD): problems
/// that ask for it, with chunks of whole 16-row tiles.
inline bool linearGpuStagesBf16(const LinearGpuProblem &p, int64_t chunk) {
  return p.bf16Operands && chunk % 16 == 0;
}

/// Elements per row of a bf16 operand buffer of `width` columns read by
/// ldmatrix: whole 16-byte rows, padded so that the row stride is an odd
/// number of 16-byte units (the 8 rows of one 8x8 matrix fall in distinct
/// banks). The padding also covers the 16-wide MFMA blocks of a width that
/// is a multiple of 8 only (zeroed, read, never stored).
inline int64_t linearGpuLdmStride(int64_t width) {
  int64_t s = (width + 7) / 8 * 8 + 8;
  return (s / 8) % 2 ? s : s + 8;
}

/// Shared memory of that kernel. cols = columns + 1 with norm=sum. f32
/// operands: the state [F][cols], the rows of phi(q) and phi(k) (taylor2:
/// of q and k) [chunk][Dk + 1] (padded against bank conflicts), [v, 1] and
/// the output rows [chunk][cols], the decayed scores [chunk][chunk] and the
/// per-row state decay [chunk]. Staged bf16 operands (Fp = F rounded up to
/// 16, colsP = cols rounded up to 8, rows of linearGpuLdmStride): the f32
/// state and output rows, then in bf16 the state [Fp][colsP], phi(q) and
/// phi(k) [chunk][Fp], [v, 1] [chunk][colsP] (with decay also the rows
/// weighted for the state update) and the scores [chunk][chunk].
int64_t linearGpuSmemBytes(const LinearGpuProblem &p, int64_t chunk);
/// Chunk rows of that kernel on `target`: the largest of 64, 32, 16 whose
/// shared memory fits; 0 if none does.
int64_t linearGpuChunk(const TargetInfo &target, const LinearGpuProblem &p);

/// Whether that kernel takes its chunk products on tensor-core tiles (NVIDIA
/// mma.sync m16n8k16, AMD MFMA 16x16x16) with bf16 operands: for bf16 and
/// f16 inputs. bf16 operands keep the f32 range, so the state (a sum over
/// the whole sequence, which the normalizer column makes grow with its
/// length) and taylor2's scores cannot overflow, as f16 operands would past
/// 65504. f32 inputs need f32 products for their 1e-5 bound.
inline bool linearTensorCores(DType inputs) {
  return inputs == DType::BF16 || inputs == DType::F16;
}
/// Whether every operand of those products is split into bf16 hi + lo
/// (three products where one would do): for f16 inputs, whose 11-bit
/// values bf16 (8 bits) would round, and whose error bound a single bf16
/// rounding of the f32 state and scores would miss. hi + lo holds an f16
/// value exactly and an f32 one to 16 bits.
inline bool linearSplitOperands(DType inputs) { return inputs == DType::F16; }

/// Bytes of on-chip memory a tiling needs: K and V tiles (rows padded by 16
/// bytes) per stage. Q stays in registers.
int64_t sharedMemoryNeeded(const TileChoice &tiles, int64_t dqk, int64_t dv,
                           int64_t dtypeBytes);

} // namespace mlir::attn

#endif // ATTN_TARGET_TARGETINFO_H
