//===- ConvertAttnToTiles.cpp - attn.attention -> tile program ------------===//
//
// Layer 3 of docs/ARCHITECTURE.md: a grid of work items (batch x query head x
// query tile; under pack_gqa batch x group of heads x tile of the group's
// packed rows), each running FlashAttention's online-softmax loop over the KV
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

#include "AttnToTiles/LinearTileProgram.h"
#include "Common/KernelEmitterBase.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Emits the kernel of one attention op. Values named like the spec (sq,
/// skv, ...) are runtime index values.
class KernelEmitter : public AttnKernelEmitterBase {
public:
  KernelEmitter(ImplicitLocOpBuilder &b, ModuleOp module,
                const AttentionSpec &spec, StringRef name, int64_t blockQ,
                int64_t blockKV, bool countTiles, Region *maskFn,
                Region *scoreFn)
      : AttnKernelEmitterBase(b, module.getBody(), spec, name, blockQ,
                              blockKV, countTiles, maskFn, scoreFn),
        module(module) {}

  func::FuncOp emit();

private:
  /// Where an output tile (batch x query head x query tile) is: h is the
  /// head, or a packed group's first head; its `rows` tile rows from r0
  /// (packed rows under pack_gqa) cover query rows [i0, i1].
  struct OutputTile {
    Value bIdx, h, qt, kh, vh, r0, rows, i0, i1;
  };
  OutputTile outputTile(Value t);
  /// Online softmax of tile `t` over its live KV tiles (only those in
  /// [kFrom, kTo) when given), from a reset state into acc / mRow / lRow.
  void emitSegment(const OutputTile &t, Value kFrom, Value kTo);
  /// Normalize acc / mRow / lRow and store O (gate) and LSE of tile `t`.
  void emitEpilogue(const OutputTile &t);
  /// Flash: work item = output tile, all of its KV tiles.
  void emitWorkItem(Value wi);
  /// Stream-K: work item = one of `streamCtas` workers over an even share
  /// of the (output tile x KV tile) iteration space; split_kv: one split of
  /// one output tile's KV loop.
  void emitStreamKWorker(Value p);
  /// Offset in the workspace of worker p's partial-result slot (stream-K:
  /// 0 for the segment that starts its range, 1 for the one that ends it;
  /// split_kv has one): slotRows rows of acc, then of m, then of l.
  Value slotBase(Value p, Value slot);
  Value slotM(Value base) { return add(base, mul(slotRows, idx(spec.dv))); }
  Value slotL(Value base) { return add(slotM(base), slotRows); }
  void emitKVTile(Value bIdx, Value h, Value kh, Value vh, Value r0,
                  Value rows, Value kt, bool partial);

  ModuleOp module;
  // Work-item scratch tiles.
  Value qTile, sRow, acc, mRow, lRow;
  // Stream-K / split_kv: the zeroed workspace (arrival counters, then the
  // partial (acc, m, l) slots of each worker) and the units per worker.
  Value workspace, unitsPerCta;
  /// Rows of a partial-result slot (tileRowsAtMost).
  Value slotRows;
};

void KernelEmitter::emitKVTile(Value bIdx, Value hTile, Value kh, Value vh,
                               Value r0, Value rows, Value kt, bool partial) {
  Value j0 = mul(kt, idx(bk));
  Value cols = arith::MinSIOp::create(b, idx(bk), sub(skv, j0));
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
    // (Not structured bindings: C++17 lambdas cannot capture them.)
    Value i, h;
    std::tie(i, h) = rowAndHead(add(r0, r), hTile);
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
      Value s = modifiedScore(dot.getResult(0), bIdx, h, i, j);
      if (partial)
        s = sel(keepAt(bIdx, h, i, j), s, fc(negInf));
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

KernelEmitter::OutputTile KernelEmitter::outputTile(Value t) {
  OutputTile o;
  std::tie(o.bIdx, o.h, o.qt) = splitOutputTile(t);
  o.kh = arith::DivUIOp::create(b, o.h, idx(spec.hq / spec.hk));
  o.vh = arith::DivUIOp::create(b, o.h, idx(spec.hq / spec.hv));
  Value last;
  std::tie(o.r0, last) = tileRowSpan(o.qt);
  o.rows = add(sub(last, o.r0), idx(1));
  o.i0 = rowAndHead(o.r0, o.h).first;
  o.i1 = rowAndHead(last, o.h).first;
  return o;
}

void KernelEmitter::emitWorkItem(Value wi) {
  OutputTile t = outputTile(wi);
  emitSegment(t, /*kFrom=*/nullptr, /*kTo=*/nullptr);
  emitEpilogue(t);
}

Value KernelEmitter::slotBase(Value p, Value slot) {
  Value slotSize = mul(slotRows, idx(spec.dv + 2));
  return add(streamKWorkers(), mul(shareSlotIndex(p, slot), slotSize));
}

void KernelEmitter::emitStreamKWorker(Value p) {
  Value c0 = idx(0), c1 = idx(1);
  double negInf = -std::numeric_limits<double>::infinity();
  bool sigmoid = spec.norm == NormKind::Sigmoid;
  forEachStreamKShare(p, unitsPerCta, [&](Value tileIdx, Value tileStart,
                                          Value kFrom, Value kTo) {
    OutputTile t = outputTile(tileIdx);
    emitSegment(t, kFrom, kTo);
    Value whole = wholeTile(kFrom, kTo);
    scf::IfOp::create(
        b, whole,
        [&](OpBuilder &, Location) {
          emitEpilogue(t);
          scf::YieldOp::create(b);
        },
        [&](OpBuilder &, Location) {
          // A share of a tile: publish (acc, m, l) in this worker's slot,
          // then count the arrival; the worker that completes the count
          // merges every share (online-softmax rescale to the common
          // max) and stores the tile. The acq_rel RMW orders the slot
          // stores before the count and the merger's reads after it.
          Value slot = sel(cmp(arith::CmpIPredicate::ugt, kFrom, c0), c0, c1);
          Value base = slotBase(p, slot);
          Value mBase = slotM(base);
          Value lBase = slotL(base);
          scf::ForOp::create(b, c0, t.rows, c1, ValueRange{}, [&](OpBuilder &,
                                                                  Location,
                                                                  Value r,
                                                                  ValueRange) {
            Value rowBase = add(base, mul(r, idx(spec.dv)));
            scf::ForOp::create(
                b, c0, idx(spec.dv), c1, ValueRange{},
                [&](OpBuilder &, Location, Value d, ValueRange) {
                  memref::StoreOp::create(b, load(acc, {r, d}), workspace,
                                          ValueRange{add(rowBase, d)});
                  scf::YieldOp::create(b);
                });
            memref::StoreOp::create(b, load(mRow, {r}), workspace,
                                    ValueRange{add(mBase, r)});
            memref::StoreOp::create(b, load(lRow, {r}), workspace,
                                    ValueRange{add(lBase, r)});
            scf::YieldOp::create(b);
          });
          Value pFirst, pLast;
          std::tie(pFirst, pLast) = tileWorkers(p, tileStart, unitsPerCta);
          Value before = atomicAddF32(workspace, pLast, 1);
          Value shares = arith::UIToFPOp::create(
              b, f32,
              arith::IndexCastUIOp::create(
                  b, b.getI64Type(), add(sub(pLast, pFirst), c1)));
          Value last = arith::CmpFOp::create(
              b, arith::CmpFPredicate::OEQ, arith::AddFOp::create(b, before, fc(1)),
              shares);
          scf::IfOp::create(b, last, [&](OpBuilder &, Location) {
            // Every share of the tile has arrived: the counter goes back
            // to 0, so the kernel leaves the zeroed prefix as it found it
            // and a caller's workspace is zeroed once, not per launch.
            memref::StoreOp::create(b, fc(0), workspace, ValueRange{pLast});
            auto shareBase = [&](Value q) {
              // q's share of this tile starts q's range (slot 0) unless
              // q's range began before the tile.
              Value starts = cmp(arith::CmpIPredicate::ugt,
                                 mul(q, unitsPerCta), tileStart);
              return slotBase(q, sel(starts, c0, c1));
            };
            Value pEnd = add(pLast, c1);
            scf::ForOp::create(b, c0, t.rows, c1, ValueRange{}, [&](OpBuilder &,
                                                                    Location,
                                                                    Value r,
                                                                    ValueRange) {
              auto mOf = [&](Value q) {
                return load(workspace, {add(slotM(shareBase(q)), r)});
              };
              auto maxLoop = scf::ForOp::create(
                  b, pFirst, pEnd, c1, ValueRange{fc(negInf)},
                  [&](OpBuilder &, Location, Value q, ValueRange m) {
                    scf::YieldOp::create(
                        b, ValueRange{arith::MaximumFOp::create(b, m[0], mOf(q))});
                  });
              Value mMax = maxLoop.getResult(0);
              Value mSafe = sel(arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                                      mMax, fc(negInf)),
                                fc(0), mMax);
              scf::ForOp::create(b, c0, idx(spec.dv), c1, ValueRange{},
                                 [&](OpBuilder &, Location, Value d, ValueRange) {
                                   memref::StoreOp::create(b, fc(0), acc,
                                                           ValueRange{r, d});
                                   scf::YieldOp::create(b);
                                 });
              auto sumLoop = scf::ForOp::create(
                  b, pFirst, pEnd, c1, ValueRange{fc(0)},
                  [&](OpBuilder &, Location, Value q, ValueRange l) {
                    Value qBase = shareBase(q);
                    // Sigmoid rows are plain sums (no max, no normalizer).
                    Value w = sigmoid ? fc(1)
                                      : math::ExpOp::create(
                                            b, arith::SubFOp::create(b, mOf(q), mSafe));
                    Value lq = load(workspace,
                                    {add(slotL(qBase), r)});
                    Value rowBase = add(qBase, mul(r, idx(spec.dv)));
                    scf::ForOp::create(
                        b, c0, idx(spec.dv), c1, ValueRange{},
                        [&](OpBuilder &, Location, Value d, ValueRange) {
                          Value a = arith::AddFOp::create(
                              b, load(acc, {r, d}),
                              arith::MulFOp::create(
                                  b, w, load(workspace, {add(rowBase, d)})));
                          memref::StoreOp::create(b, a, acc, ValueRange{r, d});
                          scf::YieldOp::create(b);
                        });
                    scf::YieldOp::create(
                        b, ValueRange{arith::AddFOp::create(
                               b, l[0], arith::MulFOp::create(b, w, lq))});
                  });
              memref::StoreOp::create(b, mMax, mRow, r);
              memref::StoreOp::create(b, sumLoop.getResult(0), lRow, r);
              scf::YieldOp::create(b);
            });
            emitEpilogue(t);
            scf::YieldOp::create(b);
          });
          scf::YieldOp::create(b);
        });
  });
}

void KernelEmitter::emitSegment(const OutputTile &t, Value kFrom, Value kTo) {
  Value c0 = idx(0), c1 = idx(1);
  Value bIdx = t.bIdx, h = t.h, qt = t.qt, kh = t.kh, vh = t.vh, i0 = t.i0,
        r0 = t.r0, rows = t.rows, i1 = t.i1;
  patternId = patternOfHead ? load(patternOfHead, {h}) : idx(0);
  double negInf = -std::numeric_limits<double>::infinity();

  // Load the query tile once per work item; reset the running state.
  scf::ForOp::create(b, c0, rows, c1, ValueRange{}, [&](OpBuilder &, Location,
                                                        Value r, ValueRange) {
    Value i, head;
    std::tie(i, head) = rowAndHead(add(r0, r), h);
    scf::ForOp::create(b, c0, idx(spec.dqk), c1, ValueRange{},
                       [&](OpBuilder &, Location, Value d, ValueRange) {
                         memref::StoreOp::create(
                             b, loadF32(q, {bIdx, head, i, d}), qTile,
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

  Value kvBegin = firstLiveKVTile(i0);
  Value kvEnd = liveKVTiles(i1);
  if (kFrom) {
    kvBegin = arith::MaxSIOp::create(b, kvBegin, kFrom);
    kvEnd = arith::MinSIOp::create(b, kvEnd, kTo);
  }
  scf::ForOp::create(b, kvBegin, kvEnd, c1, ValueRange{}, [&](OpBuilder &,
                                                              Location,
                                                              Value kt,
                                                              ValueRange) {
    Value j0 = mul(kt, idx(bk));
    Value j1 = sub(arith::MinSIOp::create(b, add(j0, idx(bk)), skv), c1);
    auto [isEmpty, isFull] = classifyTileAt(bIdx, h, i0, i1, j0, j1, qt, kt);
    // Empty tiles do no work at all; full tiles skip every mask evaluation.
    scf::IfOp::create(b, notI(isEmpty), [&](OpBuilder &, Location) {
      scf::IfOp::create(
          b, isFull,
          [&](OpBuilder &, Location) {
            emitKVTile(bIdx, h, kh, vh, r0, rows, kt, /*partial=*/false);
            scf::YieldOp::create(b);
          },
          [&](OpBuilder &, Location) {
            emitKVTile(bIdx, h, kh, vh, r0, rows, kt, /*partial=*/true);
            scf::YieldOp::create(b);
          });
      scf::YieldOp::create(b);
    });
    scf::YieldOp::create(b);
  });

}

void KernelEmitter::emitEpilogue(const OutputTile &t) {
  // Normalize, fully masked rows give O = 0 and LSE = -inf, gate.
  Value c0 = idx(0), c1 = idx(1);
  Value bIdx = t.bIdx, r0 = t.r0, rows = t.rows;
  double negInf = -std::numeric_limits<double>::infinity();
  bool sigmoid = spec.norm == NormKind::Sigmoid;
  scf::ForOp::create(b, c0, rows, c1, ValueRange{}, [&](OpBuilder &, Location,
                                                        Value r, ValueRange) {
    Value i, h;
    std::tie(i, h) = rowAndHead(add(r0, r), t.h);
    Value lv = load(lRow, {r});
    Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, lv, fc(0));
    Value inv = sigmoid ? fc(1)
                        : sel(empty, fc(0), arith::DivFOp::create(b, fc(1), lv));
    if (lse) {
      Value l = arith::AddFOp::create(b, load(mRow, {r}), math::LogOp::create(b, lv));
      l = withAlibiRowShift(l, h, i);
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
  if (splitsKV())
    args.push_back(mem({dyn}, f32));
  args.push_back(b.getIndexType());
  args.push_back(b.getIndexType());
  if (countTiles)
    args.push_back(mem({2}, b.getI64Type()));

  func::FuncOp fn = createCpuKernel(args);
  Block *entry = &fn.getBody().front();
  unsigned a = 3;
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
  if (splitsKV())
    workspace = entry->getArgument(a++);
  Value begin = entry->getArgument(a++), end = entry->getArgument(a++);
  if (countTiles)
    counts = entry->getArgument(a++);

  batch = memref::DimOp::create(b, q, 0);
  sq = memref::DimOp::create(b, q, 2);
  skv = memref::DimOp::create(b, k, 2);
  numQTiles = arith::CeilDivUIOp::create(b, groupRows(), idx(bq));
  numKVTiles = arith::CeilDivUIOp::create(b, skv, idx(bk));

  // Mask patterns and their compile-time tables.
  buildTables();
  if (splitsKV()) {
    unitsPerCta = streamKPerWorker();
    slotRows = tileRowsAtMost();
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
  if (splitsKV())
    emitStreamKWorker(forall.getInductionVar(0));
  else
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
    for (LinearAttentionOp op : collectOps<LinearAttentionOp>(module))
      if (failed(lowerLinearAttentionToTiles(module, op)))
        return signalPassFailure();
    for (AttentionOp op : collectOps<AttentionOp>(module))
      if (failed(lower(module, op)))
        return signalPassFailure();
  }

  LogicalResult lower(ModuleOp module, AttentionOp op) {
    FailureOr<AttentionLowering> in = prepareLowering(op);
    if (failed(in))
      return failure();
    std::string name = in->fn.getSymName().str();
    ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
    // Emit while the op (and its regions) still exist: for a moment the
    // module holds two symbols of this name, until the function is erased.
    KernelEmitter emitter(b, module, in->spec, name, in->tiling.getBlockQ(),
                          in->tiling.getBlockKv(), countTiles, in->maskFn,
                          in->scoreFn);
    emitter.setPackGroup(in->packGroup);
    emitter.setKVSchedule(in->streamCtas, in->kvSplits);
    emitter.emit();
    in->fn.erase();
    return success();
  }
};

} // namespace
