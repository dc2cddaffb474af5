//===- ConvertAttnToTiles.cpp - attn.attention -> tile program ------------===//
//
// Layer 3 of docs/ARCHITECTURE.md: a grid of work items (batch x query head x
// query tile), each running FlashAttention's online-softmax loop over the KV
// tiles. The tile class (empty / partial / full) is computed per (q-tile,
// kv-tile) with the same rules as lib/Analysis/MaskAnalysis.cpp, as index
// arithmetic so batch and sequence lengths stay runtime values: empty tiles
// are skipped, full tiles run without any mask code.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <cmath>
#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOTILES
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Emits the kernel of one attention op. Values named like the spec (sq,
/// skv, ...) are runtime index values.
class KernelEmitter {
public:
  KernelEmitter(ImplicitLocOpBuilder &b, ModuleOp module,
                const AttentionSpec &spec, StringRef name, int64_t blockQ,
                int64_t blockKV, bool countTiles, Region *maskFn,
                Region *scoreFn)
      : b(b), module(module), spec(spec), name(name), bq(blockQ),
        bk(blockKV), countTiles(countTiles), maskFn(maskFn),
        scoreFn(scoreFn) {
    f32 = b.getF32Type();
    elt = elementTypeOf(b.getContext(), spec.dtype);
  }

  func::FuncOp emit();

private:
  // Constants and small arithmetic helpers.
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value fc(double v) {
    return arith::ConstantOp::create(b, f32, b.getF32FloatAttr(v));
  }
  Value i1c(bool v) { return arith::ConstantIntOp::create(b, v, 1); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, x, y); }
  Value notI(Value x) { return arith::XOrIOp::create(b, x, i1c(true)); }
  Value sel(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value load(Value mem, ValueRange ivs) {
    return memref::LoadOp::create(b, mem, ivs);
  }
  Value loadF32(Value mem, ValueRange ivs) {
    Value v = load(mem, ivs);
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  }
  void storeElt(Value v, Value mem, ValueRange ivs) {
    Type t = cast<MemRefType>(mem.getType()).getElementType();
    if (t != f32)
      v = arith::TruncFOp::create(b, t, v);
    memref::StoreOp::create(b, v, mem, ivs);
  }
  /// A private constant global holding `values` as a 1-D or 2-D table.
  Value constantTable(StringRef suffix, ArrayRef<int64_t> shape, Type type,
                      Attribute values);

  /// Query offset of pattern `m` (i_abs = i + offset).
  Value offsetOf(const MaskSpec &m) {
    return m.causal == CausalAlign::TopLeft ? idx(0) : sub(skv, sq);
  }
  /// (isEmpty, isFull) of the tile rows [i0, i1] x cols [j0, j1].
  std::pair<Value, Value> classify(unsigned p, Value bIdx, Value h, Value i0,
                                   Value i1, Value j0, Value j1, Value qt,
                                   Value kt);
  /// (isEmpty, isFull) of the runtime block mask over the covered blocks.
  std::pair<Value, Value> classifyRuntimeBlocks(const MaskSpec &m, Value bIdx,
                                                Value h, Value i0, Value i1,
                                                Value j0, Value j1);
  /// Whether (i, j) is kept by pattern p.
  Value keep(unsigned p, Value bIdx, Value h, Value i, Value j);
  /// Selects per-pattern values by the head's pattern id.
  Value byPattern(ArrayRef<Value> perPattern);
  /// i_abs of row i under the head's pattern alignment.
  Value absoluteRow(Value i) {
    SmallVector<Value> offs;
    for (const MaskSpec &m : patterns)
      offs.push_back(offsetOf(m));
    return add(i, byPattern(offs));
  }
  /// Inlines a mask_fn / score_fn body on `args`; returns what it yields.
  Value inlineFn(Region &region, ValueRange args);

  void emitWorkItem(Value wi);
  void emitKVTile(Value bIdx, Value h, Value kh, Value vh, Value i0,
                  Value rows, Value kt, bool partial);

  ImplicitLocOpBuilder &b;
  ModuleOp module;
  const AttentionSpec &spec;
  std::string name;
  int64_t bq, bk;
  bool countTiles;
  Region *maskFn, *scoreFn; // null when the op has no such region
  Type f32, elt;

  // Kernel arguments and per-kernel values.
  Value q, k, v, gate, bias, docIds, blockMask, out, lse, counts;
  Value batch, sq, skv, numQTiles, numKVTiles;
  SmallVector<MaskSpec> patterns;
  SmallVector<Value> blockTables, blockClassTables;
  Value patternOfHead, slopes, patternId;
  // Work-item scratch tiles.
  Value qTile, sRow, acc, mRow, lRow;
};

Value KernelEmitter::constantTable(StringRef suffix, ArrayRef<int64_t> shape,
                                   Type type, Attribute values) {
  auto memType = MemRefType::get(shape, type);
  std::string symbol = name + "_" + suffix.str();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    memref::GlobalOp::create(b, symbol, b.getStringAttr("private"), memType,
                             values, /*constant=*/true,
                             /*alignment=*/nullptr);
  }
  return memref::GetGlobalOp::create(b, memType, symbol);
}

Value KernelEmitter::inlineFn(Region &region, ValueRange args) {
  Block &body = region.front();
  IRMapping map;
  map.map(body.getArguments(), args);
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
  return map.lookup(cast<YieldOp>(body.getTerminator()).getValues()[0]);
}

Value KernelEmitter::byPattern(ArrayRef<Value> perPattern) {
  Value result = perPattern.front();
  for (unsigned p = 1; p < perPattern.size(); ++p)
    result = sel(cmp(arith::CmpIPredicate::eq, patternId, idx(p)),
                 perPattern[p], result);
  return result;
}

std::pair<Value, Value>
KernelEmitter::classifyRuntimeBlocks(const MaskSpec &m, Value bIdx, Value h,
                                     Value i0, Value i1, Value j0, Value j1) {
  Value bq = idx(m.blockQ), bkv = idx(m.blockKV), c1 = idx(1);
  Value r0 = arith::DivUIOp::create(b, i0, bq);
  Value r1 = add(arith::DivUIOp::create(b, i1, bq), c1);
  Value cb0 = arith::DivUIOp::create(b, j0, bkv);
  Value cb1 = add(arith::DivUIOp::create(b, j1, bkv), c1);
  Value zero8 = arith::ConstantIntOp::create(b, 0, 8);
  // any / all over the (usually one) blocks the kernel tile covers.
  auto rows = scf::ForOp::create(
      b, r0, r1, c1, ValueRange{i1c(false), i1c(true)},
      [&](OpBuilder &, Location, Value r, ValueRange outer) {
        auto cols = scf::ForOp::create(
            b, cb0, cb1, c1, outer,
            [&](OpBuilder &, Location, Value c, ValueRange inner) {
              Value keep = cmp(arith::CmpIPredicate::ne,
                               load(blockMask, {bIdx, h, r, c}), zero8);
              scf::YieldOp::create(b, ValueRange{orI(inner[0], keep),
                                                 andI(inner[1], keep)});
            });
        scf::YieldOp::create(b, cols.getResults());
      });
  return {notI(rows.getResult(0)), rows.getResult(1)};
}

std::pair<Value, Value> KernelEmitter::classify(unsigned p, Value bIdx,
                                                Value h, Value i0, Value i1,
                                                Value j0, Value j1, Value qt,
                                                Value kt) {
  using P = arith::CmpIPredicate;
  const MaskSpec &m = patterns[p];
  Value off = offsetOf(m);
  Value a0 = add(i0, off), a1 = add(i1, off);
  Value empty = i1c(false), full = i1c(true);
  Band band = bandOf(m);
  // Same rules as classifyBand in MaskAnalysis.cpp.
  if (band.right != Band::kUnbounded) {
    empty = orI(empty, cmp(P::slt, a1, sub(j0, idx(band.right))));
    full = andI(full, cmp(P::sle, j1, add(a0, idx(band.right))));
  }
  if (band.left != Band::kUnbounded) {
    empty = orI(empty, cmp(P::sgt, a0, add(j1, idx(band.left))));
    full = andI(full, cmp(P::sge, j0, sub(a1, idx(band.left))));
  }
  if (Value table = blockClassTables[p]) {
    Value c = load(table, {qt, kt});
    empty = orI(empty, cmp(P::eq, c, idx(0)));
    full = andI(full, cmp(P::eq, c, idx(2)));
  }
  // Document ids (sorted, as packed sequences are) and runtime blocks are
  // data: classified from the ids at the tile corners / the covered blocks.
  if (m.document) {
    Value lo = arith::MaxSIOp::create(b, a0, idx(0));
    Value hi = arith::MinSIOp::create(b, a1, sub(skv, idx(1)));
    Value noRows = cmp(P::sgt, lo, hi);
    // Clamped loads keep addresses valid when no row is in range.
    Value loC = arith::MinSIOp::create(b, lo, sub(skv, idx(1)));
    Value hiC = arith::MaxSIOp::create(b, hi, idx(0));
    Value dLo = load(docIds, {bIdx, loC}), dHi = load(docIds, {bIdx, hiC});
    Value dJ0 = load(docIds, {bIdx, j0}), dJ1 = load(docIds, {bIdx, j1});
    Value apart = orI(cmp(P::slt, dJ1, dLo), cmp(P::sgt, dJ0, dHi));
    empty = orI(empty, orI(noRows, apart));
    Value oneDoc = andI(andI(cmp(P::eq, dLo, dHi), cmp(P::eq, dJ0, dJ1)),
                        cmp(P::eq, dLo, dJ0));
    Value allRows = andI(cmp(P::eq, lo, a0), cmp(P::eq, hi, a1));
    full = andI(full, andI(oneDoc, allRows));
  }
  if (m.runtimeBlocks) {
    auto [blocksEmpty, blocksFull] =
        classifyRuntimeBlocks(m, bIdx, h, i0, i1, j0, j1);
    empty = orI(empty, blocksEmpty);
    full = andI(full, blocksFull);
  }
  // A mask_fn is opaque: every tile it could touch runs the masked path.
  if (maskFn)
    full = i1c(false);
  if (m.sink > 0) {
    Value n = idx(m.sink);
    Value sinkEmpty = orI(cmp(P::sge, j0, n), cmp(P::sgt, j0, a1));
    Value sinkFull = andI(cmp(P::slt, j1, n), cmp(P::sle, j1, a0));
    empty = andI(empty, sinkEmpty);
    full = orI(full, sinkFull);
  }
  return {empty, full};
}

Value KernelEmitter::keep(unsigned p, Value bIdx, Value h, Value i, Value j) {
  using P = arith::CmpIPredicate;
  const MaskSpec &m = patterns[p];
  Value ia = add(i, offsetOf(m));
  Value kept = i1c(true);
  Band band = bandOf(m);
  if (band.left != Band::kUnbounded)
    kept = andI(kept, cmp(P::sge, j, sub(ia, idx(band.left))));
  if (band.right != Band::kUnbounded)
    kept = andI(kept, cmp(P::sle, j, add(ia, idx(band.right))));
  if (Value table = blockTables[p]) {
    Value bit = load(table, {arith::DivUIOp::create(b, i, idx(m.blockQ)),
                             arith::DivUIOp::create(b, j, idx(m.blockKV))});
    kept = andI(kept, cmp(P::ne, bit, idx(0)));
  }
  if (m.document) {
    // Rows whose i_abs falls outside [0, Skv) belong to no document; clamp
    // the load and mask them out.
    Value inRange = andI(cmp(P::sge, ia, idx(0)), cmp(P::slt, ia, skv));
    Value clamped = arith::MaxSIOp::create(
        b, idx(0), arith::MinSIOp::create(b, ia, sub(skv, idx(1))));
    Value same = cmp(P::eq, load(docIds, {bIdx, j}),
                     load(docIds, {bIdx, clamped}));
    kept = andI(kept, andI(inRange, same));
  }
  if (m.runtimeBlocks) {
    Value bit = load(blockMask, {bIdx, h,
                                 arith::DivUIOp::create(b, i, idx(m.blockQ)),
                                 arith::DivUIOp::create(b, j, idx(m.blockKV))});
    kept = andI(kept, cmp(P::ne, bit, arith::ConstantIntOp::create(b, 0, 8)));
  }
  if (m.sink > 0)
    kept = orI(kept, andI(cmp(P::slt, j, idx(m.sink)), cmp(P::sle, j, ia)));
  return kept;
}

void KernelEmitter::emitKVTile(Value bIdx, Value h, Value kh, Value vh,
                               Value i0, Value rows, Value kt, bool partial) {
  Value j0 = mul(kt, idx(bk));
  Value cols = arith::MinSIOp::create(b, idx(bk), sub(skv, j0));
  double scale = spec.effectiveScale();
  bool sigmoid = spec.norm == NormKind::Sigmoid;
  double negInf = -std::numeric_limits<double>::infinity();
  if (countTiles) {
    Value slot = idx(partial ? 1 : 0);
    Value c = load(counts, {slot});
    memref::StoreOp::create(
        b, arith::AddIOp::create(b, c, arith::ConstantIntOp::create(b, 1, 64)),
        counts, slot);
  }
  Value c0 = idx(0), c1 = idx(1);
  scf::ForOp::create(b, c0, rows, c1, ValueRange{}, [&](OpBuilder &, Location,
                                                        Value r, ValueRange) {
    Value i = add(i0, r);
    // Scores of row r against this tile, with score mods and (on partial
    // tiles only) the mask.
    scf::ForOp::create(b, c0, cols, c1, ValueRange{}, [&](OpBuilder &,
                                                          Location, Value c,
                                                          ValueRange) {
      Value j = add(j0, c);
      auto dot = scf::ForOp::create(
          b, c0, idx(spec.dqk), c1, ValueRange{fc(0)},
          [&](OpBuilder &, Location, Value d, ValueRange acc) {
            Value prod = arith::MulFOp::create(b, load(qTile, {r, d}),
                                               loadF32(k, {bIdx, kh, j, d}));
            scf::YieldOp::create(b,
                                 ValueRange{arith::AddFOp::create(b, acc[0], prod)});
          });
      Value s = arith::MulFOp::create(b, dot.getResult(0), fc(scale));
      if (spec.softcap != 0) {
        Value t = math::TanhOp::create(
            b, arith::DivFOp::create(b, s, fc(spec.softcap)));
        s = arith::MulFOp::create(b, t, fc(spec.softcap));
      }
      if (spec.alibi) {
        Value dist = sub(absoluteRow(i), j);
        Value absDist = arith::MaxSIOp::create(b, dist, sub(idx(0), dist));
        Value distF = arith::SIToFPOp::create(
            b, f32, arith::IndexCastOp::create(b, b.getI64Type(), absDist));
        Value slope = load(slopes, {h});
        s = arith::SubFOp::create(b, s, arith::MulFOp::create(b, slope, distF));
      }
      if (spec.bias)
        s = arith::AddFOp::create(b, s, loadF32(bias, {bIdx, h, i, j}));
      if (scoreFn)
        s = inlineFn(*scoreFn, {bIdx, h, absoluteRow(i), j, s});
      if (partial) {
        SmallVector<Value> keeps;
        for (unsigned p = 0; p < patterns.size(); ++p)
          keeps.push_back(keep(p, bIdx, h, i, j));
        Value kept = byPattern(keeps);
        if (maskFn)
          kept = andI(kept, inlineFn(*maskFn, {bIdx, h, absoluteRow(i), j}));
        s = sel(kept, s, fc(negInf));
      }
      memref::StoreOp::create(b, s, sRow, c);
      scf::YieldOp::create(b);
    });

    if (sigmoid) {
      // p = sigmoid(s + b); masked entries (-inf) give exactly 0.
      scf::ForOp::create(b, c0, cols, c1, ValueRange{}, [&](OpBuilder &,
                                                            Location, Value c,
                                                            ValueRange) {
        Value x = arith::AddFOp::create(b, load(sRow, {c}), fc(spec.sigmoidBias));
        Value e = math::ExpOp::create(b, arith::NegFOp::create(b, x));
        Value pv = arith::DivFOp::create(b, fc(1), arith::AddFOp::create(b, fc(1), e));
        memref::StoreOp::create(b, pv, sRow, c);
        scf::YieldOp::create(b);
      });
    } else {
      // Online softmax: new running max, rescale factor for what was
      // accumulated, then the probabilities of this tile.
      auto rowMax = scf::ForOp::create(
          b, c0, cols, c1, ValueRange{fc(negInf)},
          [&](OpBuilder &, Location, Value c, ValueRange m) {
            scf::YieldOp::create(
                b, ValueRange{arith::MaximumFOp::create(b, m[0], load(sRow, {c}))});
          });
      Value mOld = load(mRow, {r});
      Value mNew = arith::MaximumFOp::create(b, mOld, rowMax.getResult(0));
      // A row with nothing kept so far keeps max -inf; subtracting 0 instead
      // keeps exp() at exactly 0 rather than NaN.
      Value allMasked = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                              mNew, fc(negInf));
      Value mSafe = sel(allMasked, fc(0), mNew);
      Value alpha = math::ExpOp::create(b, arith::SubFOp::create(b, mOld, mSafe));
      auto pSum = scf::ForOp::create(
          b, c0, cols, c1, ValueRange{fc(0)},
          [&](OpBuilder &, Location, Value c, ValueRange sum) {
            Value pv = math::ExpOp::create(
                b, arith::SubFOp::create(b, load(sRow, {c}), mSafe));
            memref::StoreOp::create(b, pv, sRow, c);
            scf::YieldOp::create(b, ValueRange{arith::AddFOp::create(b, sum[0], pv)});
          });
      Value lNew = arith::AddFOp::create(
          b, arith::MulFOp::create(b, load(lRow, {r}), alpha),
          pSum.getResult(0));
      memref::StoreOp::create(b, lNew, lRow, r);
      memref::StoreOp::create(b, mNew, mRow, r);
      scf::ForOp::create(b, c0, idx(spec.dv), c1, ValueRange{},
                         [&](OpBuilder &, Location, Value d, ValueRange) {
                           Value a = arith::MulFOp::create(
                               b, load(acc, {r, d}), alpha);
                           memref::StoreOp::create(b, a, acc, ValueRange{r, d});
                           scf::YieldOp::create(b);
                         });
    }
    // acc[r, :] += P[r, :] V
    scf::ForOp::create(b, c0, idx(spec.dv), c1, ValueRange{}, [&](OpBuilder &,
                                                                  Location,
                                                                  Value d,
                                                                  ValueRange) {
      auto pv = scf::ForOp::create(
          b, c0, cols, c1, ValueRange{load(acc, {r, d})},
          [&](OpBuilder &, Location, Value c, ValueRange a) {
            Value prod = arith::MulFOp::create(
                b, load(sRow, {c}), loadF32(v, {bIdx, vh, add(j0, c), d}));
            scf::YieldOp::create(b, ValueRange{arith::AddFOp::create(b, a[0], prod)});
          });
      memref::StoreOp::create(b, pv.getResult(0), acc, ValueRange{r, d});
      scf::YieldOp::create(b);
    });
    scf::YieldOp::create(b);
  });
}

void KernelEmitter::emitWorkItem(Value wi) {
  Value c0 = idx(0), c1 = idx(1);
  Value perBatch = mul(idx(spec.hq), numQTiles);
  Value bIdx = arith::DivUIOp::create(b, wi, perBatch);
  Value rem = arith::RemUIOp::create(b, wi, perBatch);
  Value h = arith::DivUIOp::create(b, rem, numQTiles);
  Value qt = arith::RemUIOp::create(b, rem, numQTiles);
  Value kh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hk));
  Value vh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hv));
  patternId = patternOfHead ? load(patternOfHead, {h}) : idx(0);
  Value i0 = mul(qt, idx(bq));
  Value rows = arith::MinSIOp::create(b, idx(bq), sub(sq, i0));
  Value i1 = sub(add(i0, rows), c1);
  double negInf = -std::numeric_limits<double>::infinity();

  // Load the query tile once per work item; reset the running state.
  scf::ForOp::create(b, c0, rows, c1, ValueRange{}, [&](OpBuilder &, Location,
                                                        Value r, ValueRange) {
    scf::ForOp::create(b, c0, idx(spec.dqk), c1, ValueRange{},
                       [&](OpBuilder &, Location, Value d, ValueRange) {
                         memref::StoreOp::create(
                             b, loadF32(q, {bIdx, h, add(i0, r), d}), qTile,
                             ValueRange{r, d});
                         scf::YieldOp::create(b);
                       });
    scf::ForOp::create(b, c0, idx(spec.dv), c1, ValueRange{},
                       [&](OpBuilder &, Location, Value d, ValueRange) {
                         memref::StoreOp::create(b, fc(0), acc,
                                                 ValueRange{r, d});
                         scf::YieldOp::create(b);
                       });
    memref::StoreOp::create(b, fc(negInf), mRow, r);
    memref::StoreOp::create(b, fc(0), lRow, r);
    scf::YieldOp::create(b);
  });

  scf::ForOp::create(b, c0, numKVTiles, c1, ValueRange{}, [&](OpBuilder &,
                                                              Location,
                                                              Value kt,
                                                              ValueRange) {
    Value j0 = mul(kt, idx(bk));
    Value j1 = sub(arith::MinSIOp::create(b, add(j0, idx(bk)), skv), c1);
    SmallVector<Value> empties, fulls;
    for (unsigned p = 0; p < patterns.size(); ++p) {
      auto [e, f] = classify(p, bIdx, h, i0, i1, j0, j1, qt, kt);
      empties.push_back(e);
      fulls.push_back(f);
    }
    Value isEmpty = byPattern(empties), isFull = byPattern(fulls);
    // Empty tiles do no work at all; full tiles skip every mask evaluation.
    scf::IfOp::create(b, notI(isEmpty), [&](OpBuilder &, Location) {
      scf::IfOp::create(
          b, isFull,
          [&](OpBuilder &, Location) {
            emitKVTile(bIdx, h, kh, vh, i0, rows, kt, /*partial=*/false);
            scf::YieldOp::create(b);
          },
          [&](OpBuilder &, Location) {
            emitKVTile(bIdx, h, kh, vh, i0, rows, kt, /*partial=*/true);
            scf::YieldOp::create(b);
          });
      scf::YieldOp::create(b);
    });
    scf::YieldOp::create(b);
  });

  // Epilogue: normalize, fully masked rows give O = 0 and LSE = -inf, gate.
  bool sigmoid = spec.norm == NormKind::Sigmoid;
  scf::ForOp::create(b, c0, rows, c1, ValueRange{}, [&](OpBuilder &, Location,
                                                        Value r, ValueRange) {
    Value i = add(i0, r);
    Value lv = load(lRow, {r});
    Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, lv, fc(0));
    Value inv = sigmoid ? fc(1)
                        : sel(empty, fc(0), arith::DivFOp::create(b, fc(1), lv));
    if (lse) {
      Value l = arith::AddFOp::create(b, load(mRow, {r}), math::LogOp::create(b, lv));
      memref::StoreOp::create(b, sel(empty, fc(negInf), l), lse,
                              ValueRange{bIdx, h, i});
    }
    scf::ForOp::create(b, c0, idx(spec.dv), c1, ValueRange{}, [&](OpBuilder &,
                                                                  Location,
                                                                  Value d,
                                                                  ValueRange) {
      Value o = arith::MulFOp::create(b, load(acc, {r, d}), inv);
      if (gate) {
        Value gd = spec.gate == GateKind::PerHead ? c0 : d;
        Value g = loadF32(gate, {bIdx, h, i, gd});
        Value e = math::ExpOp::create(b, arith::NegFOp::create(b, g));
        o = arith::DivFOp::create(b, o, arith::AddFOp::create(b, fc(1), e));
      }
      storeElt(o, out, {bIdx, h, i, d});
      scf::YieldOp::create(b);
    });
    scf::YieldOp::create(b);
  });
}

func::FuncOp KernelEmitter::emit() {
  MLIRContext *ctx = b.getContext();
  int64_t dyn = ShapedType::kDynamic;
  auto mem = [&](ArrayRef<int64_t> shape, Type t) {
    return MemRefType::get(shape, t);
  };
  SmallVector<Type> args = {mem({dyn, spec.hq, dyn, spec.dqk}, elt),
                            mem({dyn, spec.hk, dyn, spec.dqk}, elt),
                            mem({dyn, spec.hv, dyn, spec.dv}, elt)};
  if (spec.gate != GateKind::None)
    args.push_back(mem({dyn, spec.hq, dyn,
                        spec.gate == GateKind::PerHead ? 1 : spec.dv},
                       elt));
  if (spec.bias)
    args.push_back(mem({dyn, spec.hq, dyn, dyn}, elt));
  if (spec.usesDocument())
    args.push_back(mem({dyn, dyn}, b.getI32Type()));
  if (spec.runtimeBlockMask())
    args.push_back(mem({dyn, spec.hq, dyn, dyn}, b.getI8Type()));
  args.push_back(mem({dyn, spec.hq, dyn, spec.dv}, elt));
  if (spec.lse)
    args.push_back(mem({dyn, spec.hq, dyn}, f32));
  args.push_back(b.getIndexType());
  args.push_back(b.getIndexType());
  if (countTiles)
    args.push_back(mem({2}, b.getI64Type()));

  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, name, b.getFunctionType(args, {}));
  // C entry point `_mlir_ciface_<name>` taking memref descriptors by pointer.
  fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  unsigned a = 0;
  q = entry->getArgument(a++);
  k = entry->getArgument(a++);
  v = entry->getArgument(a++);
  if (spec.gate != GateKind::None)
    gate = entry->getArgument(a++);
  if (spec.bias)
    bias = entry->getArgument(a++);
  if (spec.usesDocument())
    docIds = entry->getArgument(a++);
  if (spec.runtimeBlockMask())
    blockMask = entry->getArgument(a++);
  out = entry->getArgument(a++);
  if (spec.lse)
    lse = entry->getArgument(a++);
  Value begin = entry->getArgument(a++), end = entry->getArgument(a++);
  if (countTiles)
    counts = entry->getArgument(a++);

  batch = memref::DimOp::create(b, q, 0);
  sq = memref::DimOp::create(b, q, 2);
  skv = memref::DimOp::create(b, k, 2);
  numQTiles = arith::CeilDivUIOp::create(b, sq, idx(bq));
  numKVTiles = arith::CeilDivUIOp::create(b, skv, idx(bk));

  // Mask patterns and their compile-time tables.
  if (spec.perHead.empty()) {
    patterns.push_back(spec.mask);
  } else {
    patterns.assign(spec.perHead.begin(), spec.perHead.end());
    SmallVector<int64_t> assign;
    for (int64_t h = 0; h < spec.hq; ++h)
      assign.push_back(spec.perHeadAssign.empty()
                           ? h % static_cast<int64_t>(patterns.size())
                           : spec.perHeadAssign[h]);
    patternOfHead = constantTable(
        "pattern_of_head", {spec.hq}, b.getIndexType(),
        DenseElementsAttr::get(
            RankedTensorType::get({spec.hq}, b.getIndexType()),
            ArrayRef<int64_t>(assign)));
  }
  for (auto [p, m] : llvm::enumerate(patterns)) {
    if (m.blockLayout.empty()) {
      blockTables.push_back(nullptr);
      blockClassTables.push_back(nullptr);
      continue;
    }
    SmallVector<int64_t> bits(m.blockLayout.begin(), m.blockLayout.end());
    auto bitType = RankedTensorType::get({m.blockRows, m.blockCols},
                                         b.getIndexType());
    blockTables.push_back(constantTable(
        "blocks" + std::to_string(p), {m.blockRows, m.blockCols},
        b.getIndexType(), DenseElementsAttr::get(bitType, ArrayRef(bits))));
    // Class of each kernel tile under the block layout alone (sizes are
    // static: the verifier requires it for block layouts).
    MaskSpec blocksOnly;
    blocksOnly.blockQ = m.blockQ, blocksOnly.blockKV = m.blockKV;
    blocksOnly.blockRows = m.blockRows, blocksOnly.blockCols = m.blockCols;
    blocksOnly.blockLayout = m.blockLayout;
    int64_t nq = llvm::divideCeil(spec.sq, bq),
            nk = llvm::divideCeil(spec.skv, bk);
    SmallVector<int64_t> classes;
    for (int64_t qt = 0; qt < nq; ++qt)
      for (int64_t kt = 0; kt < nk; ++kt)
        classes.push_back(static_cast<int64_t>(classifyTile(
            blocksOnly, spec.sq, spec.skv, qt * bq,
            std::min(spec.sq, (qt + 1) * bq) - 1, kt * bk,
            std::min(spec.skv, (kt + 1) * bk) - 1)));
    blockClassTables.push_back(constantTable(
        "tile_classes" + std::to_string(p), {nq, nk}, b.getIndexType(),
        DenseElementsAttr::get(
            RankedTensorType::get({nq, nk}, b.getIndexType()),
            ArrayRef(classes))));
  }
  if (spec.alibi) {
    SmallVector<float> s;
    for (int64_t h = 0; h < spec.hq; ++h)
      s.push_back(static_cast<float>(alibiSlope(h, spec.hq)));
    slopes = constantTable(
        "alibi_slopes", {spec.hq}, f32,
        DenseElementsAttr::get(RankedTensorType::get({spec.hq}, f32),
                               ArrayRef(s)));
  }

  auto forall = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{begin}, ArrayRef<OpFoldResult>{end},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{}, std::nullopt);
  b.setInsertionPointToStart(forall.getBody());
  // Scratch tiles are private to a work item. They are heap buffers, not
  // stack ones: canonicalization inlines a memref.alloca_scope inside a loop
  // body, after which allocas would grow the stack once per work item.
  qTile = memref::AllocOp::create(b, mem({bq, spec.dqk}, f32));
  sRow = memref::AllocOp::create(b, mem({bk}, f32));
  acc = memref::AllocOp::create(b, mem({bq, spec.dv}, f32));
  mRow = memref::AllocOp::create(b, mem({bq}, f32));
  lRow = memref::AllocOp::create(b, mem({bq}, f32));
  emitWorkItem(forall.getInductionVar(0));
  for (Value buffer : {qTile, sRow, acc, mRow, lRow})
    memref::DeallocOp::create(b, buffer);
  b.setInsertionPointToEnd(entry);
  func::ReturnOp::create(b);
  return fn;
}

struct ConvertAttnToTilesPass
    : mlir::attn::impl::ConvertAttnToTilesBase<ConvertAttnToTilesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      if (failed(lower(module, op)))
        return signalPassFailure();
  }

  LogicalResult lower(ModuleOp module, AttentionOp op) {
    auto fn = op->getParentOfType<func::FuncOp>();
    // The kernel ABI is the function's: it must hold just this op.
    if (!fn || fn.getBody().front().getOperations().size() != 2 ||
        op->getNextNode() != fn.getBody().front().getTerminator())
      return op.emitOpError()
             << "lowering expects a function whose body is this op and a "
                "return";
    TilingAttr tiling = op.getTilingAttr();
    if (!tiling)
      return op.emitOpError()
             << "has no tiling; run attn-select-schedule first";
    FailureOr<AttentionSpec> spec = specFromOp(op, /*ignoreRegions=*/true);
    if (failed(spec))
      return failure();
    std::string name = fn.getSymName().str();
    ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
    // Emit while the op (and its regions) still exist: for a moment the
    // module holds two symbols of this name, until the function is erased.
    KernelEmitter(b, module, *spec, name, tiling.getBlockQ(),
                      tiling.getBlockKv(), countTiles,
                      op.getMaskFn().empty() ? nullptr : &op.getMaskFn(),
                      op.getScoreFn().empty() ? nullptr : &op.getScoreFn())
        .emit();
    fn.erase();
    return success();
  }
};

} // namespace
