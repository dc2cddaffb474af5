//===- MaskAnalysis.h - tile classification of attention masks --*- C++ -*-===//
//
// Classifies (q-tile, kv-tile) pairs as empty, partial or full for the
// composable masks. The kernels evaluate the same rules at run time with index
// arithmetic (convert-attn-to-tiles); this static version feeds reports and
// the tests that check the kernels skip exactly the empty tiles.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_ANALYSIS_MASKANALYSIS_H
#define ATTN_ANALYSIS_MASKANALYSIS_H

#include "attn/Spec/Spec.h"

#include <cstdint>
#include <limits>
#include <vector>

namespace mlir::attn {

enum class TileClass { Empty = 0, Partial = 1, Full = 2 };

/// A diagonal band `i_abs - left <= j <= i_abs + right` (left/right may be
/// "unbounded"), the normal form of causal, window and their intersection.
struct Band {
  static constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max() / 4;
  int64_t left = kUnbounded;
  int64_t right = kUnbounded;
  bool isAll() const { return left == kUnbounded && right == kUnbounded; }
};

/// Band of the causal/window parts of `mask` (sink, document and blocks
/// excluded).
Band bandOf(const MaskSpec &mask);

/// Offset added to the query row to get i_abs.
int64_t queryOffset(const MaskSpec &mask, int64_t sq, int64_t skv);

/// Run-time operands a mask reads, when known (for one batch entry and one
/// query head). Without them, document and runtime block parts make a
/// non-empty tile Partial.
struct MaskData {
  /// doc ids of this batch entry, length Skv, sorted non-decreasing (packed
  /// sequences): a tile is classified from its corner ids.
  const int32_t *docIds = nullptr;
  /// block mask of this (batch, head), [nbq, nbk] row-major.
  const uint8_t *blockMask = nullptr;
  int64_t blockCols = 0;
};

/// Class of rows [i0, i1] x columns [j0, j1] (inclusive, already clipped to the
/// problem). The kernels evaluate the same rules at run time.
TileClass classifyTile(const MaskSpec &mask, int64_t sq, int64_t skv,
                       int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                       const MaskData &data = {});

/// Tile counts of a whole problem, summed over batch and query heads (with
/// spec.packGqa, over batch and groups of the Hq / max(Hk, Hv) heads that
/// share a tile, as the packing kernels walk them: a K/V tile is then read
/// once per group).
struct TileStats {
  int64_t total = 0, full = 0, partial = 0, empty = 0;
  /// FLOPs of the executed tiles (2 matmuls) and bytes of Q/K/V/O moved.
  double flops = 0, bytes = 0;
};
/// With `docIds` ([B, Skv]) and `blockMask` ([B, Hq, nbq, nbk]) the data-
/// dependent parts are classified too, as the kernels do.
TileStats analyzeTiles(const AttentionSpec &spec, int64_t blockQ,
                       int64_t blockKV,
                       const std::vector<int32_t> *docIds = nullptr,
                       const std::vector<uint8_t> *blockMask = nullptr);

} // namespace mlir::attn

#endif // ATTN_ANALYSIS_MASKANALYSIS_H
