//===- AttnReport.cpp - per-op tile / FLOP / byte report ------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/Support/Format.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNREPORT
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

struct AttnReportPass : mlir::attn::impl::AttnReportBase<AttnReportPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<TargetInfo> info = lookupTarget(target);
    if (!info) {
      getOperation()->emitError() << "unknown target '" << target << "'";
      return signalPassFailure();
    }
    WalkResult result = getOperation()->walk([&](AttentionOp op) {
      return failed(report(op, *info)) ? WalkResult::interrupt()
                                       : WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    markAllAnalysesPreserved();
  }

  LogicalResult report(AttentionOp op, const TargetInfo &info) {
    llvm::raw_ostream &os = llvm::outs();
    std::string name = "attention";
    if (auto fn = op->getParentOfType<FunctionOpInterface>())
      name = fn.getName().str();
    // The report needs concrete sizes; a dynamic or region-masked op is named
    // but not counted rather than guessed at.
    if (!op.getQuery().getType().hasStaticShape() ||
        !op.getKey().getType().hasStaticShape() ||
        !op.getMaskFn().empty()) {
      os << "attn-report @" << name
         << ": skipped (dynamic shape or mask_fn region)\n";
      return success();
    }
    // A score_fn changes scores, not which tiles run.
    FailureOr<AttentionSpec> spec = specFromOp(op, /*ignoreRegions=*/true);
    if (failed(spec))
      return failure();
    int64_t eltBytes = spec->dtype == DType::F32 ? 4 : 2;
    TileChoice tiles = defaultTiles(info, spec->dqk, spec->dv, eltBytes);
    if (TilingAttr t = op.getTilingAttr())
      tiles = {t.getBlockQ(), t.getBlockKv(), t.getWarps(), t.getStages()};
    // The analysis classifies every (head, q-tile, kv-tile) one by one.
    double pairs = static_cast<double>(spec->hq) *
                   std::ceil(static_cast<double>(spec->sq) / tiles.blockQ) *
                   std::ceil(static_cast<double>(spec->skv) / tiles.blockKV);
    if (pairs > kMaxTilePairs) {
      os << "attn-report @" << name << ": skipped ("
         << llvm::format("%.3g", pairs)
         << " tile pairs, more than the report classifies one by one)\n";
      return success();
    }
    TileStats stats = analyzeTiles(*spec, tiles.blockQ, tiles.blockKV);
    double denseFlops = 2.0 * spec->batch * spec->hq * spec->sq * spec->skv *
                        (spec->dqk + spec->dv);
    os << "attn-report @" << name << " target=" << info.name
       << " tile=" << tiles.blockQ << "x" << tiles.blockKV;
    if (op.packsHeads())
      os << " pack_gqa=" << op.getPackGroup();
    os << " tiles: total=" << stats.total << " full=" << stats.full
       << " partial=" << stats.partial << " empty=" << stats.empty
       << llvm::format(" executed_gflop=%.6f dense_gflop=%.6f mbytes=%.6f",
                       stats.flops * 1e-9, denseFlops * 1e-9,
                       stats.bytes * 1e-6)
       << "\n";
    return success();
  }

  static constexpr double kMaxTilePairs = 1e8;
};

} // namespace
