//===- MaskAnalysis.cpp - tile classification of attention masks ----------===//

#include "attn/Analysis/MaskAnalysis.h"

#include <algorithm>

using namespace mlir::attn;

Band mlir::attn::bandOf(const MaskSpec &mask) {
  Band band;
  if (mask.hasWindow) {
    band.left = mask.windowLeft;
    band.right = mask.windowRight;
  }
  // Causal intersected with a window keeps the window's left edge and clamps
  // its right edge to the diagonal.
  if (mask.causal != CausalAlign::None)
    band.right = std::min<int64_t>(band.right, 0);
  return band;
}

int64_t mlir::attn::queryOffset(const MaskSpec &mask, int64_t sq,
                                int64_t skv) {
  return mask.causal == CausalAlign::TopLeft ? 0 : skv - sq;
}

/// Band restricted to a tile: the rows' absolute positions are
/// [a0, a1]; row a keeps [a - left, a + right].
static TileClass classifyBand(const Band &band, int64_t a0, int64_t a1,
                              int64_t j0, int64_t j1) {
  if (band.isAll())
    return TileClass::Full;
  // Some row keeps some column iff a in [j0 - right, j1 + left] for some a.
  int64_t lo = band.right == Band::kUnbounded ? -Band::kUnbounded
                                              : j0 - band.right;
  int64_t hi = band.left == Band::kUnbounded ? Band::kUnbounded
                                             : j1 + band.left;
  if (a1 < lo || a0 > hi)
    return TileClass::Empty;
  bool leftFull = band.left == Band::kUnbounded || j0 >= a1 - band.left;
  bool rightFull = band.right == Band::kUnbounded || j1 <= a0 + band.right;
  return leftFull && rightFull ? TileClass::Full : TileClass::Partial;
}

static TileClass intersect(TileClass a, TileClass b) {
  if (a == TileClass::Empty || b == TileClass::Empty)
    return TileClass::Empty;
  if (a == TileClass::Full && b == TileClass::Full)
    return TileClass::Full;
  return TileClass::Partial;
}

static TileClass unite(TileClass a, TileClass b) {
  if (a == TileClass::Full || b == TileClass::Full)
    return TileClass::Full;
  if (a == TileClass::Empty && b == TileClass::Empty)
    return TileClass::Empty;
  return TileClass::Partial;
}

/// Document part from sorted ids: rows whose i_abs leaves [0, Skv) keep
/// nothing; otherwise compare the id ranges of rows and columns.
static TileClass classifyDocument(const int32_t *doc, int64_t skv, int64_t a0,
                                  int64_t a1, int64_t j0, int64_t j1) {
  int64_t lo = std::max<int64_t>(a0, 0), hi = std::min<int64_t>(a1, skv - 1);
  if (lo > hi)
    return TileClass::Empty;
  if (doc[j1] < doc[lo] || doc[j0] > doc[hi])
    return TileClass::Empty;
  bool oneDoc = doc[lo] == doc[hi] && doc[j0] == doc[j1] && doc[lo] == doc[j0];
  return oneDoc && lo == a0 && hi == a1 ? TileClass::Full : TileClass::Partial;
}

TileClass mlir::attn::classifyTile(const MaskSpec &mask, int64_t sq,
                                   int64_t skv, int64_t i0, int64_t i1,
                                   int64_t j0, int64_t j1,
                                   const MaskData &data) {
  int64_t off = queryOffset(mask, sq, skv);
  TileClass rest = classifyBand(bandOf(mask), i0 + off, i1 + off, j0, j1);
  if (!mask.blockLayout.empty() && rest != TileClass::Empty) {
    bool any = false, all = true;
    for (int64_t r = i0 / mask.blockQ; r <= i1 / mask.blockQ; ++r)
      for (int64_t c = j0 / mask.blockKV; c <= j1 / mask.blockKV; ++c) {
        bool keep = mask.blockLayout[r * mask.blockCols + c] != 0;
        any |= keep;
        all &= keep;
      }
    rest = intersect(rest, all ? TileClass::Full
                               : (any ? TileClass::Partial : TileClass::Empty));
  }
  if (mask.document && rest != TileClass::Empty)
    rest = intersect(rest, data.docIds ? classifyDocument(data.docIds, skv,
                                                          i0 + off, i1 + off,
                                                          j0, j1)
                                       : TileClass::Partial);
  if (mask.runtimeBlocks && rest != TileClass::Empty) {
    TileClass blocks = TileClass::Partial;
    if (data.blockMask) {
      bool any = false, all = true;
      for (int64_t r = i0 / mask.blockQ; r <= i1 / mask.blockQ; ++r)
        for (int64_t c = j0 / mask.blockKV; c <= j1 / mask.blockKV; ++c) {
          bool keep = data.blockMask[r * data.blockCols + c] != 0;
          any |= keep;
          all &= keep;
        }
      blocks = all ? TileClass::Full : (any ? TileClass::Partial : TileClass::Empty);
    }
    rest = intersect(rest, blocks);
  }
  if (mask.sink == 0)
    return rest;
  // Sinks: j < sink and j <= i_abs, OR-ed with the rest.
  TileClass sinkClass;
  if (j0 >= mask.sink || j0 > i1 + off)
    sinkClass = TileClass::Empty;
  else if (j1 < mask.sink && j1 <= i0 + off)
    sinkClass = TileClass::Full;
  else
    sinkClass = TileClass::Partial;
  return unite(rest, sinkClass);
}

TileStats mlir::attn::analyzeTiles(const AttentionSpec &spec, int64_t blockQ,
                                   int64_t blockKV,
                                   const std::vector<int32_t> *docIds,
                                   const std::vector<uint8_t> *blockMask) {
  TileStats stats;
  // Packed heads (pack_gqa): a tile holds rows of `group` heads, packed row
  // r being query row r / group (every head of a packable op has one mask
  // and no block mask, so the group's first head classifies it).
  int64_t group = spec.packGqa.value_or(false) ? spec.headGroup() : 1;
  int64_t rowsPerHead = group * spec.sq;
  int64_t nq = (rowsPerHead + blockQ - 1) / blockQ;
  int64_t nk = (spec.skv + blockKV - 1) / blockKV;
  double elt = spec.dtype == DType::F32 ? 4 : 2;
  const MaskSpec *runtime = spec.runtimeBlockMask();
  int64_t nbq = runtime ? (spec.sq + runtime->blockQ - 1) / runtime->blockQ : 0;
  int64_t nbk =
      runtime ? (spec.skv + runtime->blockKV - 1) / runtime->blockKV : 0;
  // Without data every batch entry classifies alike: count one, weigh by B.
  bool perBatch = docIds || blockMask;
  int64_t batches = perBatch ? spec.batch : 1;
  int64_t weight = perBatch ? 1 : spec.batch;
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t h = 0; h < spec.hq; h += group) {
      const MaskSpec &mask = spec.maskForHead(h);
      MaskData data;
      if (docIds)
        data.docIds = docIds->data() + b * spec.skv;
      if (blockMask && runtime) {
        data.blockMask = blockMask->data() + (b * spec.hq + h) * nbq * nbk;
        data.blockCols = nbk;
      }
      for (int64_t qt = 0; qt < nq; ++qt) {
        int64_t r0 = qt * blockQ, r1 = std::min(rowsPerHead, r0 + blockQ) - 1;
        int64_t i0 = r0 / group, i1 = r1 / group;
        for (int64_t kt = 0; kt < nk; ++kt) {
          int64_t j0 = kt * blockKV,
                  j1 = std::min(spec.skv, j0 + blockKV) - 1;
          TileClass c =
              classifyTile(mask, spec.sq, spec.skv, i0, i1, j0, j1, data);
          stats.total += weight;
          if (c == TileClass::Empty) {
            stats.empty += weight;
            continue;
          }
          (c == TileClass::Full ? stats.full : stats.partial) += weight;
          double rows = r1 - r0 + 1, cols = j1 - j0 + 1;
          stats.flops += weight * 2.0 * rows * cols * (spec.dqk + spec.dv);
          stats.bytes += weight * cols * (spec.dqk + spec.dv) * elt;
        }
        // Each query tile reads Q once and writes O once.
        stats.bytes += weight * (r1 - r0 + 1) * (spec.dqk + spec.dv) * elt;
      }
    }
  }
  return stats;
}
