//===- AttnSelectSchedule.cpp - pick tiles and kernel family --------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"
#include "attn/Target/TargetInfo.h"

#include "llvm/ADT/StringExtras.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNSELECTSCHEDULE
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

int64_t bytesOf(Type t) { return t.isF32() ? 4 : 2; }

struct AttnSelectSchedulePass
    : mlir::attn::impl::AttnSelectScheduleBase<AttnSelectSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<TargetInfo> info = lookupTarget(target);
    if (!info) {
      getOperation()->emitError()
          << "unknown target '" << target << "' (known: "
          << llvm::join(knownTargets(), ", ") << ")";
      return signalPassFailure();
    }
    if (!family.empty()) {
      struct Family {
        TargetKind kind;
        const char *name, *what;
      };
      static constexpr Family kinds[] = {
          {TargetKind::CPU, "cpu", "the CPU target"},
          {TargetKind::NVVM, "nvvm", "an NVIDIA chip"},
          {TargetKind::ROCDL, "rocdl", "an AMD chip"}};
      auto it = llvm::find_if(kinds, [&](const Family &k) { return family == k.name; });
      if (it == std::end(kinds)) {
        getOperation()->emitError()
            << "unknown target family '" << family
            << "' (expected cpu, nvvm or rocdl)";
        return signalPassFailure();
      }
      if (it->kind != info->kind) {
        SmallVector<std::string> chips;
        for (const std::string &name : knownTargets())
          if (lookupTarget(name)->kind == it->kind)
            chips.push_back(name);
        getOperation()->emitError()
            << "target '" << target << "' is not " << it->what << " (expected "
            << llvm::join(chips, ", ") << ")";
        return signalPassFailure();
      }
    }
    WalkResult result = getOperation()->walk([&](Operation *op) {
      if (auto attn = dyn_cast<AttentionOp>(op))
        return select(attn, *info);
      if (auto linear = dyn_cast<LinearAttentionOp>(op))
        return selectLinear(linear, *info);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  /// Keeps a user tiling after checking it fits the target; otherwise asks
  /// the cost model.
  FailureOr<TilingAttr> chooseTiling(Operation *op, TilingAttr given,
                                     const TargetInfo &info, int64_t dqk,
                                     int64_t dv, int64_t eltBytes) {
    if (given) {
      TileChoice c{given.getBlockQ(), given.getBlockKv(), given.getWarps(),
                   given.getStages()};
      int64_t need = sharedMemoryNeeded(c, dqk, dv, eltBytes);
      if (info.kind != TargetKind::CPU && need > info.sharedMemBytes)
        return op->emitOpError()
               << "tiling " << given << " needs " << need
               << " bytes of shared memory but " << info.name << " offers "
               << info.sharedMemBytes;
      // f32 runs on the SIMT kernels, which take any KV tile.
      if (info.kind != TargetKind::CPU && eltBytes != 4 &&
          (given.getBlockQ() < 16 || given.getBlockKv() < 16))
        return op->emitOpError()
               << "tiling " << given << " is below the 16x16 tensor-core "
               << "fragment of " << info.name;
      return given;
    }
    TileChoice c = defaultTiles(info, dqk, dv, eltBytes);
    // The cost model's smallest tiles may still not fit head dims this
    // large; the kernel would not run (and unrolling its head-dim loops
    // would take the backend forever), so say so here.
    int64_t need = sharedMemoryNeeded(c, dqk, dv, eltBytes);
    if (info.kind != TargetKind::CPU && need > info.sharedMemBytes)
      return op->emitOpError()
             << "no tiling fits head dims Dqk = " << dqk << ", Dv = " << dv
             << " on " << info.name << ": the smallest K/V stages need "
             << need << " bytes of shared memory but " << info.name
             << " offers "
             << info.sharedMemBytes;
    return TilingAttr::get(op->getContext(), c.blockQ, c.blockKV, c.warps,
                           c.stages);
  }

  /// Packs the query heads of a K/V head into one tile when a tile of one
  /// head's rows would be partly empty (decode, short queries): the group
  /// then reads each K/V tile once instead of G times, and a decode tile's
  /// tensor-core rows hold G queries instead of one.
  static bool shouldPackHeads(AttentionOp op, TilingAttr tiling) {
    int64_t sq = op.getQuery().getType().getDimSize(2);
    return !ShapedType::isDynamic(sq) && sq < tiling.getBlockQ() &&
           op.whyHeadsCannotPack().empty();
  }

  WalkResult select(AttentionOp op, const TargetInfo &info) {
    int64_t eltBytes = bytesOf(op.getQuery().getType().getElementType());
    TilingAttr given = op.getTilingAttr();
    FailureOr<TilingAttr> tiling =
        chooseTiling(op, given, info, op.getHeadDimQK(), op.getHeadDimV(),
                     eltBytes);
    if (failed(tiling))
      return WalkResult::interrupt();
    op.setTilingAttr(*tiling);
    // Set below when the tile takes the decode tiles (nvvmDecodeTiles /
    // amdgpuDecodeTiles), which useMmaTiles then keeps.
    bool decodeTiles = false;
    // The NVIDIA stream-K kernels are mma.sync (or SIMT) on every target:
    // on sm_90a they take sm_90's tiles, not the wgmma kernel's (whose
    // 128-wide S tiles do not fit a warp's registers under mma.sync).
    auto useMmaTiles = [&]() -> LogicalResult {
      if (given || decodeTiles || !nvvmUsesWgmma(info.name))
        return success();
      FailureOr<TilingAttr> mmaTiling =
          chooseTiling(op, {}, *lookupTarget("sm_90"), op.getHeadDimQK(),
                       op.getHeadDimV(), eltBytes);
      if (failed(mmaTiling))
        return failure();
      op.setTilingAttr(*mmaTiling);
      return success();
    };
    // The KV-splitting kernels (stream-K, split_kv) are mma.sync or SIMT.
    // The f32 SIMT kernel takes 16-column KV tiles under them: the share's
    // publish and merge keep values live beside a row's O chunk and scores,
    // and with 32 columns ptxas spilled 4 to 60 bytes at head dim 64 with
    // ALiBi, softcap and LSE (flash fits, at 252 registers).
    auto useKVSplitTiles = [&]() -> LogicalResult {
      if (failed(useMmaTiles()))
        return failure();
      TilingAttr t = op.getTilingAttr();
      if (!given && info.kind == TargetKind::NVVM && eltBytes == 4 &&
          t.getBlockKv() > 16)
        op.setTilingAttr(TilingAttr::get(op.getContext(), t.getBlockQ(), 16,
                                         t.getWarps(), t.getStages()));
      return success();
    };
    // Head packing (pack_gqa): every kernel implements it, the NVIDIA ones
    // on mma.sync tiles (a packed decode tile is too short for wgmma).
    if (!op.getPackGqaAttr() && shouldPackHeads(op, *tiling))
      op.setPackGqaAttr(BoolAttr::get(op.getContext(), true));
    bool packed = op.packsHeads();
    // A tile of at most 64 rows (decode, short queries: Sq x packed
    // heads) would leave most of the prefill tile's warps idle: it takes 4
    // warps, its 16-row blocks times KV warps that split each KV tile
    // (nvvmDecodeTiles: one row block on 4 KV warps up to 16 rows), the
    // mma.sync kernel on sm_90a too (a wgmma warpgroup computes 64 rows),
    // and the AMD MFMA kernel the same over KV waves (amdgpuDecodeTiles;
    // f32 too, which runs the same kernel there). The NVIDIA f32 SIMT
    // kernel has a row a thread and keeps its tiles. On sm_90a an unpacked
    // tile of more than 16 rows stays on the wgmma kernel and its tiles
    // (one warpgroup's 64 rows are no worse than 4 mma.sync warps').
    int64_t sqStatic = op.getQuery().getType().getDimSize(2);
    bool kvWarpKernel = info.kind == TargetKind::ROCDL ||
                        (info.kind == TargetKind::NVVM && eltBytes == 2);
    int64_t rows = (packed ? op.getPackGroup() : 1) * sqStatic;
    bool wgmmaTile = nvvmUsesWgmma(info.name) && eltBytes == 2 && !packed &&
                     nvvmWgmmaHeadDims(op.getHeadDimQK(), op.getHeadDimV());
    // (Head dims the kernels refuse keep the cost model's tiles: the
    // lowering says why.)
    bool kernelDims = op.getHeadDimQK() % 4 == 0 && op.getHeadDimV() % 4 == 0;
    if (!given && kvWarpKernel && kernelDims &&
        !ShapedType::isDynamic(sqStatic) &&
        (rows <= 16 || (rows <= kDecodeTileRows && !wgmmaTile))) {
      TileChoice c =
          info.kind == TargetKind::NVVM
              ? nvvmDecodeTiles(info, op.getHeadDimQK(), op.getHeadDimV(),
                                eltBytes, rows)
              : amdgpuDecodeTiles(info, op.getHeadDimQK(), op.getHeadDimV(),
                                  eltBytes, rows);
      op.setTilingAttr(TilingAttr::get(op.getContext(), c.blockQ, c.blockKV,
                                       c.warps, c.stages));
      tiling = op.getTilingAttr();
      decodeTiles = true;
    }
    // Packed heads, and head dims the wgmma kernel cannot step over, run
    // mma.sync on sm_90a.
    bool wgmmaDims = eltBytes == 4 ||
                     nvvmWgmmaHeadDims(op.getHeadDimQK(), op.getHeadDimV());
    if (!decodeTiles && (packed || !wgmmaDims)) {
      if (failed(useMmaTiles()))
        return WalkResult::interrupt();
      tiling = op.getTilingAttr();
    }
    ScheduleAttr schedule = op.getScheduleAttr();
    if (schedule && (schedule.getKind() == ScheduleStrategy::stream_k ||
                     schedule.getKind() == ScheduleStrategy::split_kv))
      return failed(useKVSplitTiles()) ? WalkResult::interrupt()
                                       : WalkResult::advance();
    if (schedule && schedule.getKind() != ScheduleStrategy::auto_)
      return WalkResult::advance();
    // Decode (one query tile per head) with few heads leaves most SMs idle
    // under one work item per query tile: spread the KV work instead
    // (stream-K), when there is enough of it for at least two KV tiles per
    // SM (below that the merge costs more than the idle SMs). Prefill keeps
    // flash: its causal tiles would split unevenly by KV-tile count. The
    // NVIDIA and AMD kernels implement stream-K (one worker per SM / CU).
    auto q = op.getQuery().getType();
    auto k = op.getKey().getType();
    ScheduleStrategy kind = ScheduleStrategy::flash;
    int64_t param = 0;
    // A packed tile holds a group's rows: Sq rows of G heads.
    int64_t group = packed ? op.getPackGroup() : 1;
    if (info.kind != TargetKind::CPU && q.hasStaticShape() &&
        k.hasStaticShape() &&
        group * q.getDimSize(2) <= tiling->getBlockQ()) {
      int64_t items = q.getDimSize(0) * q.getDimSize(1) / group;
      int64_t units =
          items * llvm::divideCeil(k.getDimSize(2), tiling->getBlockKv());
      if (items < info.computeUnits && units >= 2 * info.computeUnits) {
        kind = ScheduleStrategy::stream_k;
        param = info.computeUnits;
      }
    }
    op.setScheduleAttr(ScheduleAttr::get(op.getContext(), kind, param));
    if (kind == ScheduleStrategy::stream_k && failed(useKVSplitTiles()))
      return WalkResult::interrupt();
    return WalkResult::advance();
  }

  WalkResult selectLinear(LinearAttentionOp op, const TargetInfo &info) {
    auto q = op.getQuery().getType();
    if (info.kind != TargetKind::CPU)
      return selectLinearGpu(op, info);
    FailureOr<TilingAttr> tiling =
        chooseTiling(op, op.getTilingAttr(), info, op.getFeatureDim(),
                     op.getValue().getType().getDimSize(3),
                     bytesOf(q.getElementType()));
    if (failed(tiling))
      return WalkResult::interrupt();
    op.setTilingAttr(*tiling);
    return WalkResult::advance();
  }

  /// The GPU kernel keeps the state and a chunk's phi(q), phi(k), [v, 1] and
  /// scores in shared memory: block_q is the chunk, block_kv the value
  /// columns one block owns (the state's column chunk; a Dv below it is
  /// taken whole). The columns come from the parallelism the batch and
  /// heads (and, causal, the sequence segments) leave (linearGpuColumns),
  /// narrowed further while no chunk fits
  /// shared memory; the chunk is then the largest that fits.
  WalkResult selectLinearGpu(LinearAttentionOp op, const TargetInfo &info) {
    auto q = op.getQuery().getType();
    int64_t features = op.getFeatureDim();
    int64_t dv = op.getValue().getType().getDimSize(3);
    auto fail = [](InFlightDiagnostic &&) { return WalkResult::interrupt(); };
    if (TilingAttr given = op.getTilingAttr()) {
      LinearGpuProblem p =
          linearGpuProblemOf(op, info.kind, given.getBlockKv());
      int64_t need = linearGpuSmemBytes(p, given.getBlockQ());
      if (need > info.sharedMemBytes)
        return fail(op.emitOpError()
                    << "tiling " << given << " needs " << need
                    << " bytes of shared memory (state " << features << " x "
                    << p.columns + (p.normSum ? 1 : 0)
                    << " and chunk buffers) but " << info.name << " offers "
                    << info.sharedMemBytes);
      selectLinearSegments(op, info, given);
      return WalkResult::advance();
    }
    int64_t batchHeads = q.isDynamicDim(0) ? 0 : q.getDimSize(0) * q.getDimSize(1);
    // An auto schedule may split the sequence (selectLinearSegments)
    // before the columns narrow.
    ScheduleAttr given = op.getScheduleAttr();
    bool maysplit = q.hasStaticShape() &&
                    (!given || given.getKind() == ScheduleStrategy::auto_);
    auto chunkAt = [&](int64_t columns) {
      return linearGpuChunk(info, linearGpuProblemOf(op, info.kind, columns));
    };
    // Not where the wider state costs chunk rows (AMD's LDS): shorter
    // chunks give the tensor cores less to do per barrier.
    int64_t narrowChunk = chunkAt(16);
    auto segmentsAt = [&](int64_t columns) -> int64_t {
      int64_t chunk = chunkAt(columns);
      if (chunk < narrowChunk)
        return 1;
      return linearGpuSegments(
          info, batchHeads * linearGpuColumnChunks(dv, columns),
          llvm::divideCeil(q.getDimSize(2), chunk ? chunk : 16));
    };
    int64_t columns =
        linearGpuColumns(info, dv, batchHeads,
                         maysplit ? llvm::function_ref<int64_t(int64_t)>(
                                        segmentsAt)
                                  : nullptr);
    int64_t chunk = 0;
    while (!(chunk = linearGpuChunk(
                 info, linearGpuProblemOf(op, info.kind, columns))) &&
           columns > 16)
      columns /= 2;
    if (!chunk)
      return fail(op.emitOpError()
                  << "no chunk fits feature dim F = " << features << " on "
                  << info.name << ": the state of " << std::min(columns, dv)
                  << " value columns and 16-row chunk buffers need "
                  << linearGpuSmemBytes(
                         linearGpuProblemOf(op, info.kind, columns), 16)
                  << " bytes of shared memory but " << info.name
                  << " offers " << info.sharedMemBytes);
    // Four warps (wave64: two waves) share every phase of a chunk.
    int64_t warps = info.warpSize == 64 ? 2 : 4;
    op.setTilingAttr(
        TilingAttr::get(op.getContext(), chunk, columns, warps, 1));
    selectLinearSegments(op, info, op.getTilingAttr());
    return WalkResult::advance();
  }

  /// An auto schedule of linear attention splits the sequence (split_kv)
  /// where its (batch, head, column chunk) blocks leave compute units idle
  /// (linearGpuSegments), flash otherwise. Non-causal too: its segments
  /// then all fit on the GPU at once, so each sums only its own rows.
  void selectLinearSegments(LinearAttentionOp op, const TargetInfo &info,
                            TilingAttr tiling) {
    ScheduleAttr given = op.getScheduleAttr();
    if (given && given.getKind() != ScheduleStrategy::auto_)
      return;
    auto q = op.getQuery().getType();
    int64_t segments = 1;
    if (q.hasStaticShape()) {
      int64_t streams =
          q.getDimSize(0) * q.getDimSize(1) *
          linearGpuColumnChunks(op.getValue().getType().getDimSize(3),
                                tiling.getBlockKv());
      segments = linearGpuSegments(
          info, streams, llvm::divideCeil(q.getDimSize(2), tiling.getBlockQ()));
    }
    op.setScheduleAttr(ScheduleAttr::get(
        op.getContext(),
        segments > 1 ? ScheduleStrategy::split_kv : ScheduleStrategy::flash,
        segments > 1 ? segments : 0));
  }
};

} // namespace
