//===- LinearGpuKernel.cpp - attn.linear_attention -> GPU kernel ----------===//
//
// Lightning Attention-2 on a GPU, as its own kernel does it: one block per
// (batch, head, column chunk) walks the sequence in chunks of C rows and
// carries the state KV [F, cols] from chunk to chunk in shared memory (the
// same algorithm as the CPU tile program, LinearTileProgram.cpp). A chunk
// is four phases, each spread over every thread of the block and separated
// by barriers:
//   1. phi(q), phi(k) [C, F] and [v, 1] [C, cols] of the chunk's rows
//      (rows past the sequence are zero, so later phases need no bounds),
//      from global loads issued a chunk ahead (forFilledChunks);
//      taylor2 keeps the raw rows [C, Dk] instead (F = 1 + Dk + Dk^2 would
//      not fit beside the state) and forms features where they are read,
//      its scores through the kernel trick 1 + x + x^2 / 2, x = q.k;
//   2. causal: the decayed scores P[r][u] = lambda^(r-u) phi(q_r).phi(k_u),
//      u <= r (intra-block, the C x C square);
//   3. O[r] = lambda^(r+1) phi(q_r) KV + sum_u P[r][u] [v_u, 1]
//      (inter-block + intra-block);
//   4. O rows to global memory (divided by the normalizer column), and
//      KV = lambda^n KV + sum_u lambda^(n-1-u) phi(k_u)^T [v_u, 1].
// Non-causal attention sums KV over the whole sequence first, then reads it
// for every row. The value columns are split over blocks (grid.x, block_kv
// columns each); each block recomputes the scores and, with norm=sum, the
// normalizer column.
//
// The state and the output rows are f32 whatever the input type (the
// normalizer needs f32). The products of phases 2-4 are either f32 FMAs on
// f32 buffers, register blocked (4 x 4 outputs per thread and step: 8
// shared-memory loads per 16 FMAs), or (bf16 and f16 inputs) tensor-core
// tiles with bf16 operands and f32 accumulators, mma.sync on NVIDIA and
// MFMA on AMD (LinearGpuMma.cpp), whose operands phase 1 stages as bf16
// (taylor2: rounded where read; f16: split into hi + lo where read). Elementwise work (decay,
// the causal mask, taylor2's kernel trick, the normalizer) stays f32 in
// either form. Powers of lambda are exp2(k log2 lambda) with log2 lambda
// per head from a compile-time table, through llvm.exp2, which both NVVM
// and ROCDL lower without a device library.
//
//===----------------------------------------------------------------------===//

#include "Common/LinearGpuEmitter.h"

#include "attn/Frontend/SpecIR.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

namespace mlir::attn {

void LinearGpuKernelEmitter::forEach(int64_t total, Body body) {
  scf::ForOp::create(b, tid, idx(total), idx(threads), ValueRange{},
                     [&](OpBuilder &, Location, Value i, ValueRange) {
                       body(i);
                       scf::YieldOp::create(b);
                     });
}

void LinearGpuKernelEmitter::forEach2(int64_t rows, int64_t width,
                                      Body2 body) {
  forEach(rows * width, [&](Value i) {
    body(arith::DivUIOp::create(b, i, idx(width)),
         arith::RemUIOp::create(b, i, idx(width)));
  });
}

void LinearGpuKernelEmitter::forEachBlock(int64_t rows, int64_t width,
                                          Body2 body) {
  forEach2(llvm::divideCeil(rows, kBlock), llvm::divideCeil(width, kBlock),
           [&](Value i, Value j) {
             body(mul(i, idx(kBlock)), mul(j, idx(kBlock)));
           });
}

SmallVector<Value> LinearGpuKernelEmitter::blockProduct(
    Value lo, Value hi, ArrayRef<Value> acc,
    function_ref<Value(Value, int64_t)> a,
    function_ref<Value(Value, int64_t)> bv) {
  auto loop = scf::ForOp::create(
      b, lo, hi, idx(1), acc,
      [&](OpBuilder &, Location, Value k, ValueRange in) {
        SmallVector<Value> as, bs, out;
        for (int64_t i = 0; i < kBlock; ++i)
          as.push_back(a(k, i));
        for (int64_t j = 0; j < kBlock; ++j)
          bs.push_back(bv(k, j));
        for (int64_t i = 0; i < kBlock; ++i)
          for (int64_t j = 0; j < kBlock; ++j)
            out.push_back(LLVM::FMAOp::create(b, as[i], bs[j],
                                              in[i * kBlock + j]));
        scf::YieldOp::create(b, out);
      });
  return SmallVector<Value>(loop.getResults());
}

void LinearGpuKernelEmitter::storeBlock(
    ArrayRef<Value> block, Value r0, Value c0, int64_t rows, int64_t width,
    function_ref<void(Value, Value, Value)> store) {
  using P = arith::CmpIPredicate;
  for (int64_t i = 0; i < kBlock; ++i)
    for (int64_t j = 0; j < kBlock; ++j) {
      Value r = add(r0, idx(i)), c = add(c0, idx(j));
      auto put = [&] { store(r, c, block[i * kBlock + j]); };
      // Grids that are whole blocks need no guard.
      Value inside = i1c(true);
      if (rows % kBlock)
        inside = andI(inside, cmp(P::ult, r, idx(rows)));
      if (width % kBlock)
        inside = andI(inside, cmp(P::ult, c, idx(width)));
      if (rows % kBlock || width % kBlock)
        ifThen(inside, put);
      else
        put();
    }
}

Value LinearGpuKernelEmitter::phi(function_ref<Value(Value)> x, Value f) {
  using P = arith::CmpIPredicate;
  int64_t d = spec.dqk;
  if (taylor2) {
    // [1, x, vec(x outer x) / sqrt(2)]: feature 0, 1 + a, 1 + d + a d + c.
    // Every read takes a clamped index; the selects pick the one that
    // applies.
    Value lin = minI(sub(arith::MaxUIOp::create(b, f, idx(1)), idx(1)),
                     idx(d - 1));
    Value g = sub(arith::MaxUIOp::create(b, f, idx(1 + d)), idx(1 + d));
    Value a = arith::DivUIOp::create(b, g, idx(d));
    Value c = arith::RemUIOp::create(b, g, idx(d));
    Value outer = fmul(fmul(x(a), fc(1.0 / std::sqrt(2.0))), x(c));
    return sel(cmp(P::eq, f, idx(0)), fc(1),
               sel(cmp(P::ule, f, idx(d)), x(lin), outer));
  }
  Value v = x(f);
  Value positive =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, fc(0));
  switch (spec.feature) {
  case FeatureMap::Elu1:
    return sel(positive, fadd(v, fc(1)), exp2(fmul(v, fc(kLog2e))));
  case FeatureMap::Relu:
    return sel(positive, v, fc(0));
  default:
    return v;
  }
}

std::pair<Value, Value> LinearGpuKernelEmitter::stateColumn(Value c) {
  using P = arith::CmpIPredicate;
  Value global = add(c0, c);
  Value owned = cmp(P::ult, global, idx(spec.dv));
  if (!spec.normSum)
    return {global, owned};
  Value isNorm = cmp(P::eq, c, idx(colChunk));
  return {sel(isNorm, idx(spec.dv), global), orI(isNorm, owned)};
}

int64_t LinearGpuKernelEmitter::steps(const CopyBatch &c) const {
  return int64_t(llvm::divideCeil(c.total, threads));
}

int64_t LinearGpuKernelEmitter::loadCount(ArrayRef<CopyBatch> copies) const {
  int64_t loads = 0;
  for (const CopyBatch &c : copies)
    loads += steps(c) * c.loads;
  return loads;
}

std::pair<Value, Value> LinearGpuKernelEmitter::stepIndex(const CopyBatch &c,
                                                         Value s) {
  Value i = add(tid, mul(s, idx(threads)));
  return {i, minI(i, idx(c.total - 1))};
}

void LinearGpuKernelEmitter::storeStep(const CopyBatch &c, Value i,
                                       ArrayRef<Value> x, bool guard) {
  using P = arith::CmpIPredicate;
  if (guard)
    ifThen(cmp(P::ult, i, idx(c.total)), [&] { c.store(i, x); });
  else
    c.store(i, x);
}

SmallVector<Value> LinearGpuKernelEmitter::issueLoads(
    ArrayRef<CopyBatch> copies) {
  SmallVector<Value> loaded;
  for (const CopyBatch &c : copies)
    for (int64_t s = 0; s < steps(c); ++s)
      llvm::append_range(loaded, c.load(stepIndex(c, idx(s)).second));
  return loaded;
}

void LinearGpuKernelEmitter::storeLoaded(ArrayRef<CopyBatch> copies,
                                         ArrayRef<Value> loaded) {
  for (const CopyBatch &c : copies)
    for (int64_t s = 0; s < steps(c); ++s) {
      storeStep(c, stepIndex(c, idx(s)).first, loaded.take_front(c.loads),
                /*guard=*/(s + 1) * threads > c.total);
      loaded = loaded.drop_front(c.loads);
    }
}

void LinearGpuKernelEmitter::copyInGroups(ArrayRef<CopyBatch> copies) {
  for (const CopyBatch &c : copies) {
    int64_t group = std::max<int64_t>(1, kLoadsInFlight / c.loads);
    int64_t groups = llvm::divideCeil(steps(c), group);
    bool guard = groups * group * threads != c.total;
    scf::ForOp::create(
        b, idx(0), idx(groups), idx(1), ValueRange{},
        [&](OpBuilder &, Location, Value g, ValueRange) {
          SmallVector<SmallVector<Value>> values;
          for (int64_t s = 0; s < group; ++s)
            values.push_back(
                c.load(stepIndex(c, add(mul(g, idx(group)), idx(s))).second));
          for (int64_t s = 0; s < group; ++s)
            storeStep(c, stepIndex(c, add(mul(g, idx(group)), idx(s))).first,
                      values[s], guard);
          scf::YieldOp::create(b);
        });
  }
}

SmallVector<Value> LinearGpuKernelEmitter::widen(Value raw) {
  SmallVector<Value> xs;
  auto toF32 = [&](Value x) {
    return x.getType() == f32 ? x : arith::ExtFOp::create(b, f32, x);
  };
  auto vec = dyn_cast<VectorType>(raw.getType());
  if (!vec)
    return {toF32(raw)};
  for (int64_t e = 0; e < vec.getNumElements(); ++e)
    xs.push_back(toF32(vector::ExtractOp::create(b, raw, ArrayRef<int64_t>{e})));
  return xs;
}

SmallVector<LinearGpuKernelEmitter::CopyBatch>
LinearGpuKernelEmitter::fillCopies(Value t0, Value n, bool withQ,
                                   bool withKV) {
  using P = arith::CmpIPredicate;
  // Row r of the chunk: the sequence row it reads (rows past the sequence
  // read the last row) and, where n is known, whether it is live (the
  // others store 0).
  auto rowAt = [this, t0](Value r) {
    return minI(add(t0, r), sub(seq, idx(1)));
  };
  auto liveAt = [this, n](Value r) { return cmp(P::ult, r, n); };
  auto put = [this](Value v, Value f32Buf, Value bf16Buf, ValueRange ivs) {
    if (staged)
      storeBf16(v, bf16Buf, ivs);
    else
      memref::StoreOp::create(b, v, f32Buf, ivs);
  };
  SmallVector<CopyBatch> copies;
  // q and k rows w elements at a time: one 16-byte global load per thread
  // and step where Dk allows (and with staged operands one 16-byte shared
  // store), where element-wise steps spent a load, a store and their
  // address arithmetic per element.
  int64_t w = vectorWidth(spec.dqk), slices = spec.dqk / w;
  // (row, first element) of a q / k slice.
  auto sliceAt = [this, w, slices](Value i) {
    return std::make_pair(
        arith::DivUIOp::create(b, i, idx(slices)).getResult(),
        mul(arith::RemUIOp::create(b, i, idx(slices)), idx(w)));
  };
  auto rowSlice = [this, w](Value flat, Value t, Value f0) {
    if (w == 1)
      return load(flat, {offset4(bIdx, spec.hq, h, seq, t, spec.dqk, f0)});
    return loadVector(flat, offset4(bIdx, spec.hq, h, seq, t, spec.dqk, f0),
                      w);
  };
  auto loadQK = [=](Value i) {
    auto [r, f0] = sliceAt(i);
    Value t = rowAt(r);
    SmallVector<Value> xs;
    if (withQ)
      xs.push_back(rowSlice(qFlat, t, f0));
    if (withKV)
      xs.push_back(rowSlice(kFlat, t, f0));
    return xs;
  };
  auto putSlice = [=](Value raw, bool scaled, Value live, Value f32Buf,
                      Value bf16Buf, Value r, Value f0) {
    SmallVector<Value, 8> vals;
    for (Value x : widen(raw)) {
      if (scaled)
        x = fmul(x, fc(*spec.scale));
      // taylor2 keeps the raw row; phi of the others reads element f only.
      if (!taylor2)
        x = phi([&](Value) { return x; }, idx(0));
      vals.push_back(sel(live, x, fc(0)));
    }
    if (staged && w > 1)
      return storeBf16Vector(vals, bf16Buf, r, f0);
    for (auto [e, v] : llvm::enumerate(vals))
      put(v, f32Buf, bf16Buf, {r, add(f0, idx(e))});
  };
  auto storeQK = [=](Value i, ArrayRef<Value> xs) {
    auto [r, f0] = sliceAt(i);
    Value live = liveAt(r);
    if (withQ)
      putSlice(xs.front(), spec.scale.has_value(), live, qS, qB, r, f0);
    if (withKV)
      putSlice(xs.back(), false, live, kS, kB, r, f0);
  };
  copies.push_back(
      {bq * slices, int64_t(withQ) + int64_t(withKV), loadQK, storeQK});
  if (!withKV)
    return copies;

  // v wv columns at a time like q and k: with block_kv and Dv multiples of
  // wv a group is owned whole or not at all (an unowned one reads the
  // row's last wv, stores 0). The normalizer column apart (fillRest).
  // Otherwise element by element, the normalizer's column of ones among
  // them.
  int64_t wv = vColumnsPerLoad();
  int64_t groups = wv > 1 ? colChunk / wv : cols;
  auto groupAt = [this, wv, groups](Value i) {
    return std::make_pair(
        arith::DivUIOp::create(b, i, idx(groups)).getResult(),
        mul(arith::RemUIOp::create(b, i, idx(groups)), idx(wv)));
  };
  auto loadV = [=](Value i) {
    auto [r, c] = groupAt(i);
    Value t = rowAt(r);
    if (wv == 1) {
      Value sc = minI(stateColumn(c).first, idx(spec.dv - 1));
      return SmallVector<Value>{
          load(vFlat, {offset4(bIdx, spec.hq, h, seq, t, spec.dv, sc)})};
    }
    Value global = minI(add(c0, c), idx(spec.dv - wv));
    return SmallVector<Value>{loadVector(
        vFlat, offset4(bIdx, spec.hq, h, seq, t, spec.dv, global), wv)};
  };
  auto storeV = [=](Value i, ArrayRef<Value> xs) {
    auto [r, c] = groupAt(i);
    Value live = liveAt(r);
    if (wv == 1) {
      auto [sc, owned] = stateColumn(c);
      Value val = widen(xs.front()).front();
      if (spec.normSum) // the normalizer's column of ones
        val = sel(cmp(P::eq, c, idx(colChunk)), fc(1), val);
      return storeVElement(sel(andI(live, owned), val, fc(0)), r, c, n);
    }
    Value keep = andI(live, cmp(P::ult, add(c0, c), idx(spec.dv)));
    SmallVector<Value, 8> vals;
    for (Value x : widen(xs.front()))
      vals.push_back(sel(keep, x, fc(0)));
    if (!staged) {
      for (auto [e, v] : llvm::enumerate(vals))
        storeVElement(v, r, add(c, idx(e)), n);
      return;
    }
    storeBf16Vector(vals, vB, r, c);
    if (decay) {
      Value wr = rowWeight(r, n);
      SmallVector<Value, 8> weighted;
      for (Value v : vals)
        weighted.push_back(fmul(v, wr));
      storeBf16Vector(weighted, vdB, r, c);
    }
  };
  copies.push_back({bq * groups, 1, loadV, storeV});
  return copies;
}

void LinearGpuKernelEmitter::storeVElement(Value val, Value r, Value c,
                                           Value n) {
  if (!staged)
    return memref::StoreOp::create(b, val, vS, ValueRange{r, c}), void();
  storeBf16(val, vB, {r, c});
  if (decay)
    storeBf16(fmul(val, rowWeight(r, n)), vdB, {r, c});
}

Value LinearGpuKernelEmitter::rowWeight(Value u, Value n) {
  using P = arith::CmpIPredicate;
  Value live = cmp(P::ult, u, n);
  Value k = sel(live, sub(sub(n, idx(1)), u), idx(0));
  return sel(live, power(k), fc(0));
}

void LinearGpuKernelEmitter::fillRest(Value n, bool withKV) {
  using P = arith::CmpIPredicate;
  if (!withKV)
    return;
  if (vColumnsPerLoad() > 1 && spec.normSum)
    forEach(bq, [&](Value r) {
      storeVElement(sel(cmp(P::ult, r, n), fc(1), fc(0)), r, idx(colChunk),
                    n);
    });
  if (decay && !staged)
    forEach(bq, [&](Value u) {
      memref::StoreOp::create(b, rowWeight(u, n), dS, u);
    });
}

void LinearGpuKernelEmitter::forFilledChunks(Value first, Value end,
                                             bool withQ, bool withKV,
                                             Body2 body) {
  using P = arith::CmpIPredicate;
  auto chunkRows = [&](Value chunk) {
    Value t0 = mul(chunk, idx(bq));
    return std::make_pair(t0, minI(idx(bq), sub(seq, t0)));
  };
  // Loads only (n unused), to count them.
  if (loadCount(fillCopies(idx(0), Value(), withQ, withKV)) >
      kLoadsInFlight) {
    scf::ForOp::create(b, first, end, idx(1), ValueRange{},
                       [&](OpBuilder &, Location, Value chunk, ValueRange) {
                         auto [t0, n] = chunkRows(chunk);
                         copyInGroups(fillCopies(t0, n, withQ, withKV));
                         fillRest(n, withKV);
                         barrier();
                         body(t0, n);
                         scf::YieldOp::create(b);
                       });
    return;
  }
  // The loads of chunk `chunk` where `cond` holds (a chunk of the walk),
  // zeros otherwise (an empty walk: no row to read).
  auto loadsIf = [&](Value cond, Value chunk) {
    auto copies = fillCopies(chunkRows(chunk).first, Value(), withQ, withKV);
    SmallVector<Type> types;
    auto branch = scf::IfOp::create(
        b, cond,
        [&](OpBuilder &, Location) {
          SmallVector<Value> loaded = issueLoads(copies);
          for (Value v : loaded)
            types.push_back(v.getType());
          scf::YieldOp::create(b, loaded);
        },
        [&](OpBuilder &, Location) {
          SmallVector<Value> zeros;
          for (Type t : types)
            zeros.push_back(arith::ConstantOp::create(b, b.getZeroAttr(t)));
          scf::YieldOp::create(b, zeros);
        });
    return SmallVector<Value>(branch.getResults());
  };
  // Software pipelined: chunk c + 1's global loads are issued right after
  // chunk c's rows are in shared memory, so they are in flight (in
  // registers) under c's products and reach shared memory at the top of
  // the next iteration.
  SmallVector<Value> firstLoads = loadsIf(cmp(P::ult, first, end), first);
  scf::ForOp::create(
      b, first, end, idx(1), firstLoads,
      [&](OpBuilder &, Location, Value chunk, ValueRange loaded) {
        auto [t0, n] = chunkRows(chunk);
        storeLoaded(fillCopies(t0, n, withQ, withKV),
                    SmallVector<Value>(loaded));
        fillRest(n, withKV);
        barrier();
        Value next = add(chunk, idx(1));
        SmallVector<Value> prefetched = loadsIf(cmp(P::ult, next, end), next);
        body(t0, n);
        scf::YieldOp::create(b, prefetched);
      });
}

Value LinearGpuKernelEmitter::loadVector(Value flat, Value offset, int64_t n) {
  int64_t bytes = elt.getIntOrFloatBitWidth() / 8;
  return vector::LoadOp::create(b, VectorType::get({n}, elt), flat,
                                ValueRange{offset}, /*nontemporal=*/false,
                                llvm::Align(n * bytes));
}

void LinearGpuKernelEmitter::storeBf16Vector(ArrayRef<Value> xs, Value buf,
                                             Value r, Value c) {
  SmallVector<Value, 8> narrow;
  for (Value x : xs)
    narrow.push_back(arith::TruncFOp::create(b, b.getBF16Type(), x));
  auto type = VectorType::get({int64_t(xs.size())}, b.getBF16Type());
  vector::StoreOp::create(b, vector::FromElementsOp::create(b, type, narrow),
                          buf, ValueRange{r, c}, /*nontemporal=*/false,
                          llvm::Align(2 * xs.size()));
}

Value LinearGpuKernelEmitter::decayedScore(Value dot, Value r, Value u) {
  using P = arith::CmpIPredicate;
  Value lower = cmp(P::ule, u, r);
  Value s = dot;
  if (taylor2) // phi(q).phi(k) = 1 + x + x^2 / 2
    s = fadd(fc(1), fadd(s, fmul(fmul(s, s), fc(0.5))));
  if (decay)
    s = fmul(s, power(sel(lower, sub(r, u), idx(0))));
  return sel(lower, s, fc(0));
}

void LinearGpuKernelEmitter::scoresFma() {
  using P = arith::CmpIPredicate;
  forEachBlock(bq, bq, [&](Value r0, Value u0) {
    // Blocks above the diagonal are zero; the others take the products
    // and zero their elements above it.
    SmallVector<Value> zeros(kBlock * kBlock, fc(0));
    auto block = scf::IfOp::create(
        b, cmp(P::ule, u0, add(r0, idx(kBlock - 1))),
        [&](OpBuilder &, Location) {
          SmallVector<Value> dots = blockProduct(
              idx(0), idx(spec.dqk), zeros,
              [&](Value a, int64_t i) {
                return load(qS, {edge(r0, i, bq), a});
              },
              [&](Value a, int64_t j) {
                return load(kS, {edge(u0, j, bq), a});
              });
          SmallVector<Value> out;
          for (int64_t i = 0; i < kBlock; ++i)
            for (int64_t j = 0; j < kBlock; ++j)
              out.push_back(decayedScore(dots[i * kBlock + j],
                                         add(r0, idx(i)), add(u0, idx(j))));
          scf::YieldOp::create(b, out);
        },
        [&](OpBuilder &, Location) { scf::YieldOp::create(b, zeros); });
    storeBlock(SmallVector<Value>(block.getResults()), r0, u0, bq, bq,
               [&](Value r, Value u, Value v) {
                 memref::StoreOp::create(b, v, pS, ValueRange{r, u});
               });
  });
}

void LinearGpuKernelEmitter::outputsFma(bool intra) {
  forEachBlock(bq, cols, [&](Value r0, Value c0) {
    SmallVector<Value> acc = blockProduct(
        idx(0), idx(features), SmallVector<Value>(kBlock * kBlock, fc(0)),
        [&](Value f, int64_t i) { return feature(qS, edge(r0, i, bq), f); },
        [&](Value f, int64_t j) {
          return load(kvS, {f, edge(c0, j, cols)});
        });
    if (decay)
      for (int64_t i = 0; i < kBlock; ++i) {
        Value rowDecay = power(add(edge(r0, i, bq), idx(1)));
        for (int64_t j = 0; j < kBlock; ++j)
          acc[i * kBlock + j] = fmul(acc[i * kBlock + j], rowDecay);
      }
    // Scores above the diagonal are 0, so the block's rows can all run to
    // its last row.
    if (intra)
      acc = blockProduct(
          idx(0), minI(add(r0, idx(kBlock)), idx(bq)), acc,
          [&](Value u, int64_t i) { return load(pS, {edge(r0, i, bq), u}); },
          [&](Value u, int64_t j) {
            return load(vS, {u, edge(c0, j, cols)});
          });
    storeBlock(acc, r0, c0, bq, cols, [&](Value r, Value c, Value v) {
      memref::StoreOp::create(b, v, oS, ValueRange{r, c});
    });
  });
}

void LinearGpuKernelEmitter::storeOutputs(Value t0, Value n) {
  using P = arith::CmpIPredicate;
  // w columns per thread and step, one vector store each (16 bytes where
  // the widths allow, as phase 1 loads v: a group of w is owned whole or
  // not at all), where element stores spent a 2-byte store each.
  int64_t w = vColumnsPerLoad();
  forEach2(bq, colChunk / w, [&](Value r, Value g) {
    Value c = mul(g, idx(w));
    Value global = add(c0, c);
    ifThen(andI(cmp(P::ult, r, n), cmp(P::ult, global, idx(spec.dv))), [&] {
      // A zero normalizer (relu can zero whole rows) gives 0, not NaN.
      Value den, zero;
      if (spec.normSum) {
        den = load(oS, {r, idx(colChunk)});
        zero = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, den, fc(0));
      }
      Type outType = cast<MemRefType>(oFlat.getType()).getElementType();
      SmallVector<Value, 8> os;
      for (int64_t e = 0; e < w; ++e) {
        Value o = load(oS, {r, add(c, idx(e))});
        if (spec.normSum)
          o = sel(zero, fc(0), arith::DivFOp::create(b, o, den));
        os.push_back(outType == f32 ? o
                                    : arith::TruncFOp::create(b, outType, o));
      }
      Value at = offset4(bIdx, spec.hq, h, seq, add(t0, r), spec.dv, global);
      if (w == 1)
        return memref::StoreOp::create(b, os.front(), oFlat, at), void();
      vector::StoreOp::create(
          b, vector::FromElementsOp::create(b, VectorType::get({w}, outType),
                                            os),
          oFlat, ValueRange{at}, /*nontemporal=*/false,
          llvm::Align(w * outType.getIntOrFloatBitWidth() / 8));
    });
  });
}

void LinearGpuKernelEmitter::updateStateFma(Value n) {
  forEachBlock(features, cols, [&](Value f0, Value c0) {
    // Each element is read and written by its block's thread only.
    SmallVector<Value> acc;
    Value chunkDecay = decay ? power(n) : Value();
    for (int64_t i = 0; i < kBlock; ++i)
      for (int64_t j = 0; j < kBlock; ++j) {
        Value s = load(kvS, {edge(f0, i, features), edge(c0, j, cols)});
        acc.push_back(decay ? fmul(s, chunkDecay) : s);
      }
    acc = blockProduct(
        idx(0), n, acc,
        [&](Value u, int64_t i) {
          return feature(kS, u, edge(f0, i, features));
        },
        [&](Value u, int64_t j) {
          Value v = load(vS, {u, edge(c0, j, cols)});
          return decay ? fmul(v, load(dS, {u})) : v;
        });
    storeBlock(acc, f0, c0, features, cols, [&](Value f, Value c, Value v) {
      memref::StoreOp::create(b, v, kvS, ValueRange{f, c});
    });
  });
}

void LinearGpuKernelEmitter::placeBuffers(Value smem) {
  auto space = gpu::AddressSpaceAttr::get(b.getContext(),
                                          gpu::AddressSpace::Workgroup);
  int64_t offset = 0;
  auto place = [&](ArrayRef<int64_t> shape, Type type) {
    auto memref =
        MemRefType::get(shape, type, MemRefLayoutAttrInterface{}, space);
    Value view = memref::ViewOp::create(b, memref, smem, idx(offset),
                                        ValueRange{});
    offset += type.getIntOrFloatBitWidth() / 8 * memref.getNumElements();
    return view;
  };
  if (staged) {
    // Rows of linearGpuLdmStride elements, every buffer 16-byte aligned
    // (ldmatrix reads 16-byte rows).
    Type bf16 = b.getBF16Type();
    int64_t fp = llvm::alignTo(features, 16), colsP = llvm::alignTo(cols, 8);
    kvS = place({features, cols}, f32);
    oS = place({bq, cols}, f32);
    offset = llvm::alignTo(offset, 16);
    kvB = place({fp, linearGpuLdmStride(colsP)}, bf16);
    qB = place({bq, linearGpuLdmStride(fp)}, bf16);
    kB = place({bq, linearGpuLdmStride(fp)}, bf16);
    vB = place({bq, linearGpuLdmStride(colsP)}, bf16);
    if (decay)
      vdB = place({bq, linearGpuLdmStride(colsP)}, bf16);
    pB = place({bq, linearGpuLdmStride(bq)}, bf16);
  } else {
    // Padded rows: the score phase reads k rows u = 0, 1, ... across a
    // warp, Dk + 1 words apart, so they fall in distinct banks. Without
    // taylor2, phi(x) has Dk features too (F = Dk).
    kvS = place({features, cols}, f32);
    qS = place({bq, spec.dqk + 1}, f32);
    kS = place({bq, spec.dqk + 1}, f32);
    vS = place({bq, cols}, f32);
    oS = place({bq, cols}, f32);
    pS = place({bq, bq}, f32);
    dS = place({bq}, f32);
  }
  assert(offset == linearGpuSmemBytes(problem, bq) &&
         "shared memory layout out of sync with linearGpuSmemBytes");
}

void LinearGpuKernelEmitter::zeroStaged() {
  // The bf16 buffers' padding (features up to a whole k step, columns up
  // to a whole n8 block) is read by the products and must be 0: every
  // buffer starts as 0.
  for (Value buf : {kvB, qB, kB, vB, vdB, pB}) {
    if (!buf)
      continue;
    auto type = cast<MemRefType>(buf.getType());
    int64_t width = type.getDimSize(1);
    forEach2(type.getDimSize(0), width, [&](Value r, Value c) {
      storeBf16(fc(0), buf, {r, c});
    });
  }
  barrier();
}

Value LinearGpuKernelEmitter::stateInAt(Value f, Value c) {
  if (!stateInFlat)
    return fc(0);
  auto [sc, owned] = stateColumn(c);
  Value read = load(stateInFlat, {stateOffset(f, minI(sc, idx(spec.dv)))});
  return sel(owned, read, fc(0));
}

void LinearGpuKernelEmitter::initState(
    function_ref<Value(Value, Value)> init) {
  forEach2(features, cols, [&](Value f, Value c) {
    Value v = init(f, c);
    memref::StoreOp::create(b, v, kvS, ValueRange{f, c});
    if (staged)
      storeBf16(v, kvB, {f, c});
  });
  barrier();
}

Value LinearGpuKernelEmitter::streamIndex() {
  return add(mul(add(mul(bIdx, idx(spec.hq)), h), idx(columnChunks())),
             column);
}

Value LinearGpuKernelEmitter::streams() {
  return mul(batch, idx(spec.hq * columnChunks()));
}

Value LinearGpuKernelEmitter::flagWord(Value p) {
  return add(streams(), add(mul(streamIndex(), idx(published())), p));
}

Value LinearGpuKernelEmitter::stateWord(Value p, Value f, Value c) {
  Value slot = add(mul(streamIndex(), idx(published())), p);
  return add(mul(streams(), idx(1 + published())),
             add(mul(add(mul(slot, idx(features)), f), idx(cols)), c));
}

Value LinearGpuKernelEmitter::takeTicket() {
  using P = arith::CmpIPredicate;
  // Thread 0 draws; the ticket reaches the block through oS, which the
  // walk writes only after barriers to come.
  Value zero = idx(0);
  ifThen(cmp(P::eq, tid, zero), [&] {
    Value ticket = atomicAddF32(workspace, streamIndex(), 1);
    memref::StoreOp::create(b, ticket, oS, ValueRange{zero, zero});
  });
  barrier();
  return countIndex(load(oS, {zero, zero}));
}

LinearGpuKernelEmitter::Segment LinearGpuKernelEmitter::segmentOf(Value p) {
  Segment s;
  s.first = minI(mul(p, segmentChunks), numChunks);
  s.end = minI(add(s.first, segmentChunks), numChunks);
  s.t0 = minI(mul(s.first, idx(bq)), seq);
  s.tEnd = minI(mul(s.end, idx(bq)), seq);
  return s;
}

void LinearGpuKernelEmitter::sumRows(const Segment &s) {
  forFilledChunks(s.first, s.end, /*withQ=*/false, /*withKV=*/true,
                  [&](Value, Value n) {
                    updateState(n);
                    barrier();
                  });
}

void LinearGpuKernelEmitter::publishSegment(Value p, const Segment &own) {
  using P = arith::CmpIPredicate;
  // Causal: the last segment's state is nobody's start.
  Value publishes = spec.causal ? cmp(P::ult, p, idx(segments - 1))
                                : i1c(true);
  ifThen(publishes, [&] {
    // D_p: the segment's rows summed into a zero state, as the
    // non-causal walk sums the whole sequence.
    initState([&](Value, Value) { return fc(0); });
    sumRows(own);
    forEach2(features, cols, [&](Value f, Value c) {
      memref::StoreOp::create(b, load(kvS, {f, c}), workspace,
                              ValueRange{stateWord(p, f, c)});
    });
    // Every thread's release: a wave's fence waits only for its own
    // stores (AMD), so thread 0's alone would not cover the block's.
    LLVM::FenceOp::create(b, LLVM::AtomicOrdering::acq_rel);
    barrier();
    ifThen(cmp(P::eq, tid, idx(0)), [&] {
      atomicAddF32(workspace, flagWord(p), 1);
    });
  });
}

void LinearGpuKernelEmitter::awaitSegments(Value n, Value skip) {
  using P = arith::CmpIPredicate;
  ifThen(cmp(P::eq, tid, idx(0)), [&] {
    scf::ForOp::create(
        b, idx(0), n, idx(1), ValueRange{},
        [&](OpBuilder &, Location, Value j, ValueRange) {
          if (skip)
            ifThen(cmp(P::ne, j, skip),
                   [&] { spinUntilSet(workspace, flagWord(j)); });
          else
            spinUntilSet(workspace, flagWord(j));
          scf::YieldOp::create(b);
        });
    // What thread 0 saw becomes an acquire through its own fence (PTX);
    // the fence of every thread after the barrier drops stale lines its
    // wave's cache may hold (AMD), as stream-K's merge reads its shares.
    LLVM::FenceOp::create(b, LLVM::AtomicOrdering::acq_rel);
  });
  barrier();
  LLVM::FenceOp::create(b, LLVM::AtomicOrdering::acq_rel);
}

Value LinearGpuKernelEmitter::startedSegments() {
  using P = arith::CmpIPredicate;
  Value zero = idx(0);
  // Through oS, as the ticket (every thread read that before the
  // publication's barriers); the output pass writes oS after barriers.
  ifThen(cmp(P::eq, tid, zero), [&] {
    memref::StoreOp::create(b, atomicAddF32(workspace, streamIndex(), 0),
                            oS, ValueRange{zero, zero});
  });
  barrier();
  return minI(countIndex(load(oS, {zero, zero})), idx(segments));
}

void LinearGpuKernelEmitter::totalState(Value p) {
  using P = arith::CmpIPredicate;
  Value started = startedSegments();
  // Segments no block has taken yet: their rows are summed here, into
  // D_p (the blocks that take them later sum them too). Waiting for them
  // could wait for a block that never gets an SM while this one holds it.
  scf::ForOp::create(b, started, idx(segments), idx(1), ValueRange{},
                     [&](OpBuilder &, Location, Value j, ValueRange) {
                       sumRows(segmentOf(j));
                       scf::YieldOp::create(b);
                     });
  awaitSegments(started, p);
  initState([&](Value f, Value c) {
    return sumOver(started, load(kvS, {f, c}), [&](Value j) {
      return sel(cmp(P::eq, j, p), fc(0),
                 load(workspace, {stateWord(j, f, c)}));
    });
  });
}

Value LinearGpuKernelEmitter::segmentStart(Value p, Value t0, Value f,
                                           Value c) {
  Value start = stateInAt(f, c);
  if (decay)
    start = fmul(start, power(t0));
  return sumOver(p, start, [&](Value j) {
    Value d = load(workspace, {stateWord(j, f, c)});
    return decay ? fmul(d, power(sub(t0, segmentOf(j).tEnd))) : d;
  });
}

gpu::GPUFuncOp LinearGpuKernelEmitter::emit() {
  MLIRContext *ctx = b.getContext();
  auto flat = [&](Type t) {
    return MemRefType::get({ShapedType::kDynamic}, t);
  };
  SmallVector<Type> args = {flat(elt), flat(elt), flat(elt)};
  if (spec.stateIn)
    args.push_back(flat(f32));
  args.push_back(flat(elt));
  if (spec.stateOut)
    args.push_back(flat(f32));
  args.append(3, b.getIndexType());
  if (segments > 1)
    args.push_back(flat(f32));

  b.setInsertionPointToEnd(gpuModule.getBody());
  auto fn = gpu::GPUFuncOp::create(b, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  int64_t bytes = linearGpuSmemBytes(problem, bq);
  Value smem;
  if (shared == LinearGpuSharedMemory::Attribution)
    smem = fn.addWorkgroupAttribution(
        MemRefType::get({bytes}, b.getI8Type(), MemRefLayoutAttrInterface{},
                        space),
        b.getLoc());
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  if (!smem)
    smem = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface{}, space));
  placeBuffers(smem);

  unsigned a = 0;
  qFlat = entry->getArgument(a++);
  kFlat = entry->getArgument(a++);
  vFlat = entry->getArgument(a++);
  if (spec.stateIn)
    stateInFlat = entry->getArgument(a++);
  oFlat = entry->getArgument(a++);
  if (spec.stateOut)
    stateOutFlat = entry->getArgument(a++);
  batch = entry->getArgument(a);
  seq = entry->getArgument(a + 1);
  if (segments > 1)
    workspace = entry->getArgument(a + 3);

  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  column = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  h = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  bIdx = gpu::BlockIdOp::create(b, gpu::Dimension::z);
  // A stream's segments are neighbours in x (z stops at 65535 blocks);
  // which one a block walks is its ticket, not its position.
  if (segments > 1)
    column = arith::DivUIOp::create(b, column, idx(segments));
  c0 = mul(column, idx(colChunk));
  if (mfma) {
    Value lane = arith::RemUIOp::create(b, tid, idx(64));
    warp = arith::DivUIOp::create(b, tid, idx(64));
    mfmaC = arith::RemUIOp::create(b, lane, idx(16));
    mfmaG = arith::DivUIOp::create(b, lane, idx(16));
  } else if (cores) {
    Value lane = arith::RemUIOp::create(b, tid, idx(32));
    warp = arith::DivUIOp::create(b, tid, idx(32));
    laneRow = arith::DivUIOp::create(b, lane, idx(4));
    laneCol = arith::RemUIOp::create(b, lane, idx(4));
    lane8 = arith::RemUIOp::create(b, lane, idx(8));
    laneEighth = arith::DivUIOp::create(b, lane, idx(8));
  }
  if (decay) {
    SmallVector<float> logs;
    for (int64_t head = 0; head < spec.hq; ++head)
      logs.push_back(static_cast<float>(
          (spec.decay == DecayKind::Alibi ? -alibiSlope(head, spec.hq)
                                          : std::log(spec.decayValue)) *
          kLog2e));
    auto type = RankedTensorType::get({spec.hq}, f32);
    log2Decay = load(constantTable("log2_decay", {spec.hq}, f32,
                                   DenseElementsAttr::get(type, ArrayRef(logs))),
                     {h});
  }

  if (staged)
    zeroStaged();
  numChunks = arith::CeilDivUIOp::create(b, seq, idx(bq));
  Value first = idx(0), end = numChunks, segment;
  if (segments > 1) {
    segment = takeTicket();
    segmentChunks = arith::CeilDivUIOp::create(b, numChunks, idx(segments));
    Segment own = segmentOf(segment);
    first = own.first;
    end = own.end;
    publishSegment(segment, own);
    if (spec.causal) {
      awaitSegments(segment, nullptr);
      initState([&](Value f, Value c) {
        return segmentStart(segment, own.t0, f, c);
      });
    } else {
      totalState(segment);
    }
  } else {
    initState([&](Value f, Value c) { return stateInAt(f, c); });
  }

  if (spec.causal) {
    forFilledChunks(first, end, /*withQ=*/true, /*withKV=*/true,
                    [&](Value t0, Value n) {
      scores();
      barrier();
      outputs(/*intra=*/true);
      barrier();
      // Phase 4 reads oS, kS, vS, dS and writes only kvS, which nothing in
      // it reads: one barrier before the next chunk's fill.
      storeOutputs(t0, n);
      updateState(n);
      barrier();
    });
  } else {
    // Split, the segments summed the state already.
    if (segments == 1)
      sumRows({first, end, Value(), Value()});
    forFilledChunks(first, end, /*withQ=*/true, /*withKV=*/false,
                    [&](Value t0, Value n) {
      outputs(/*intra=*/false);
      barrier();
      storeOutputs(t0, n);
      barrier();
    });
  }
  if (stateOutFlat) {
    using P = arith::CmpIPredicate;
    forEach2(features, cols, [&](Value f, Value c) {
      auto [sc, owned] = stateColumn(c);
      // Every column chunk carries the normalizer; the first stores it.
      Value mine = andI(owned, orI(cmp(P::ult, c, idx(colChunk)),
                                   cmp(P::eq, column, idx(0))));
      // The last segment ends the sequence.
      if (segments > 1)
        mine = andI(mine, cmp(P::eq, segment, idx(segments - 1)));
      ifThen(mine, [&] {
        memref::StoreOp::create(b, load(kvS, {f, c}), stateOutFlat,
                                stateOffset(f, sc));
      });
    });
  }
  gpu::ReturnOp::create(b);
  return fn;
}

} // namespace mlir::attn

FailureOr<gpu::GPUFuncOp>
mlir::attn::lowerLinearAttentionToGpu(ModuleOp module, LinearAttentionOp op,
                                      TargetKind kind) {
  assert(kind != TargetKind::CPU && "the CPU runs the tile program");
  FailureOr<func::FuncOp> fn = kernelFunctionOf(op);
  if (failed(fn))
    return failure();
  TilingAttr tiling = op.getTilingAttr();
  if (!tiling) {
    op.emitOpError() << "has no tiling; run attn-select-schedule first";
    return failure();
  }
  FailureOr<AttentionSpec> spec = specFromOp(op);
  if (failed(spec))
    return failure();
  LinearGpuProblem problem =
      linearGpuProblemOf(op, kind, tiling.getBlockKv());
  bool nvvm = kind == TargetKind::NVVM;
  LinearGpuProducts products = !linearTensorCores(spec->dtype)
                                   ? LinearGpuProducts::Fma
                               : nvvm ? LinearGpuProducts::MmaSync
                                      : LinearGpuProducts::Mfma;
  LinearGpuSharedMemory shared = nvvm ? LinearGpuSharedMemory::Dynamic
                                      : LinearGpuSharedMemory::Attribution;
  // The tiling's warps (at most 16) keep a block within 1024 threads.
  int64_t threads = (nvvm ? 32 : 64) * tiling.getWarps();
  std::string name = fn->getSymName().str();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
  b.setInsertionPointToEnd(module.getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, name + "_kernels");
  gpu::GPUFuncOp kernel =
      LinearGpuKernelEmitter(b, gpuModule, *spec, name, tiling.getBlockQ(),
                             problem, threads, shared, products,
                             linearSegmentsOf(op))
          .emit();
  fn->erase();
  return kernel;
}
