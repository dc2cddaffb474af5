//===- LinearGpuKernel.cpp - attn.linear_attention -> GPU kernel ----------===//
//
// Lightning Attention-2 on a GPU, as its own kernel does it: one block per
// (batch, head, column chunk) walks the sequence in chunks of C rows and
// carries the state KV [F, cols] from chunk to chunk in shared memory (the
// same algorithm as the CPU tile program, LinearTileProgram.cpp). A chunk
// is four phases, each spread over every thread of the block and separated
// by barriers:
//   1. phi(q), phi(k) [C, F] and [v, 1] [C, cols] of the chunk's rows
//      (rows past the sequence are zero, so later phases need no bounds);
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
// The buffers hold f32 whatever the input type: the state and the
// normalizer need f32. The products of phases 2-4 are either f32 FMAs,
// register blocked (4 x 4 outputs per thread and step: 8 shared-memory
// loads per 16 FMAs), or (NVIDIA, bf16 inputs) mma.sync m16n8k16 tiles:
// each warp takes 16 x 32 output tiles in turn, rounds its operands to
// bf16 as it reads them from the f32 buffers (features of taylor2 formed
// on the way) and accumulates in f32, in the layout the PTX ISA gives the
// fragments. Elementwise work (decay, the causal mask, taylor2's kernel
// trick, the normalizer) stays f32 in either form. Powers of lambda are
// exp2(k log2 lambda)
// with log2 lambda per head from a compile-time table, through llvm.exp2,
// which both NVVM and ROCDL lower without a device library.
//
//===----------------------------------------------------------------------===//

#include "Common/LinearGpuKernel.h"
#include "Common/KernelEmitterBase.h"

#include "attn/Frontend/SpecIR.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Which operands of an mma.sync product are split into bf16 hi + lo (three
/// or two mma.sync per step instead of one, 16 bits of each element instead
/// of 8) where a bf16 rounding would cost more than the dtype's error.
struct SplitOperands {
  bool a = false, b = false;
};

class LinearGpuKernelEmitter : public AttnKernelEmitterBase {
public:
  LinearGpuKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUModuleOp gpuModule,
                         const AttentionSpec &spec, StringRef name,
                         int64_t chunk, int64_t columns, int64_t threads,
                         LinearGpuSharedMemory shared,
                         LinearGpuProducts products)
      : AttnKernelEmitterBase(b, gpuModule.getBody(), spec, name, chunk, chunk,
                              /*countTiles=*/false, nullptr, nullptr),
        gpuModule(gpuModule), shared(shared),
        mmaSync(products == LinearGpuProducts::MmaSync), threads(threads),
        features(spec.featureDim()), colChunk(columns),
        cols(colChunk + (spec.normSum ? 1 : 0)),
        decay(spec.decay != DecayKind::None),
        taylor2(spec.feature == FeatureMap::Taylor2) {}

  gpu::GPUFuncOp emit();

private:
  using Body = function_ref<void(Value)>;
  using Body2 = function_ref<void(Value, Value)>;
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value minI(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  /// lambda^k of the block's head, k an index value.
  Value power(Value k) {
    Value kf = arith::UIToFPOp::create(
        b, f32, arith::IndexCastUIOp::create(b, b.getI32Type(), k));
    return exp2(fmul(kf, log2Decay));
  }
  /// body(i) for i in [0, total), the block's threads taking every
  /// `threads`-th index.
  void forEach(int64_t total, Body body);
  /// body(r, c) over a [rows, width] grid, c fastest (neighbouring threads
  /// read neighbouring columns).
  void forEach2(int64_t rows, int64_t width, Body2 body);
  /// Register blocking of the chunk products: each thread takes kBlock x
  /// kBlock blocks of a [rows, width] grid, body(r0, c0) at the corner, so
  /// one product step loads 2 kBlock operands for kBlock^2 FMAs instead of
  /// two per FMA (shared-memory bandwidth bounds this kernel).
  static constexpr int64_t kBlock = 4;
  void forEachBlock(int64_t rows, int64_t width, Body2 body);
  /// Element `i` of a block edge from `base`, clamped into [0, limit): the
  /// last block of a ragged grid reads its own last row again (never a
  /// neighbour's, which another thread may be writing).
  Value edge(Value base, int64_t i, int64_t limit) {
    return minI(add(base, idx(i)), idx(limit - 1));
  }
  /// acc[i * kBlock + j] + sum over k in [lo, hi) of a(k, i) * bv(k, j).
  SmallVector<Value> blockProduct(Value lo, Value hi, ArrayRef<Value> acc,
                                  function_ref<Value(Value, int64_t)> a,
                                  function_ref<Value(Value, int64_t)> bv);
  /// store(r0 + i, c0 + j, block[i * kBlock + j]) inside the grid.
  void storeBlock(ArrayRef<Value> block, Value r0, Value c0, int64_t rows,
                  int64_t width, function_ref<void(Value, Value, Value)> store);
  void barrier() { gpu::BarrierOp::create(b); }
  /// Row t, column col of one head of a flat [B, H, S, dim] input, as f32.
  Value input(Value flat, Value t, int64_t dim, Value col) {
    return loadF32(flat, {offset4(bIdx, spec.hq, h, seq, t, dim, col)});
  }
  /// Feature f of phi(x), `x(c)` giving element c of the raw row.
  Value phi(function_ref<Value(Value)> x, Value f);
  /// Row t of q (scaled) or k, element c, from global memory.
  Value rawInput(Value flat, Value t, Value c, bool scaled) {
    Value v = input(flat, t, spec.dqk, c);
    return scaled ? fmul(v, fc(*spec.scale)) : v;
  }
  /// Feature f of row r of the qS / kS buffer.
  Value feature(Value buf, Value r, Value f) {
    if (!taylor2)
      return load(buf, {r, f});
    return phi([&](Value c) { return load(buf, {r, c}); }, f);
  }
  /// For local column c: its state column (Dv for the normalizer) and
  /// whether the block owns it (c0 + c < Dv, or the normalizer).
  std::pair<Value, Value> stateColumn(Value c);
  Value stateOffset(Value f, Value sc) {
    Value row = add(mul(add(mul(bIdx, idx(spec.hq)), h), idx(features)), f);
    return add(mul(row, idx(spec.dv + (spec.normSum ? 1 : 0))), sc);
  }

  /// Phase 1 for the chunk's rows [t0, t0 + n).
  void fill(Value t0, Value n, bool withQ, bool withKV);
  /// Score (r, u) of the chunk from the dot product of its rows: taylor2's
  /// kernel trick, the decay lambda^(r-u), 0 above the diagonal.
  Value decayedScore(Value dot, Value r, Value u);
  /// Phase 2 (causal).
  void scores() { mmaSync ? scoresMma() : scoresFma(); }
  void scoresFma();
  void scoresMma();
  /// Phase 3; `intra` adds the chunk's own rows (causal).
  void outputs(bool intra) { mmaSync ? outputsMma(intra) : outputsFma(intra); }
  void outputsFma(bool intra);
  void outputsMma(bool intra);
  /// Phase 4: the O rows, and the state update.
  void storeOutputs(Value t0, Value n);
  void updateState(Value n) { mmaSync ? updateStateMma(n) : updateStateFma(n); }
  void updateStateFma(Value n);
  void updateStateMma(Value n);

  // mma.sync products. A warp tile is 16 rows x 8 kBlocks columns
  // (kBlocks n8 blocks, fewer for narrow grids), its accumulator 4 f32 per
  // block and lane: element 4 j + e at row r0 + g + 8 (e / 2), column
  // c0 + 8 j + 2 t + e % 2 (g = lane / 4, t = lane % 4).
  using Element = function_ref<Value(Value, Value)>;
  static constexpr int64_t kMaxBlocks = 4;
  static int64_t nBlocks(int64_t width) {
    return std::min<int64_t>(kMaxBlocks, llvm::divideCeil(width, 8));
  }
  /// body(r0, c0) for each warp tile of a [rows, width] grid, the warps
  /// taking every `threads / 32`-th tile (warp-uniform).
  void forEachWarpTile(int64_t rows, int64_t width, Body2 body);
  /// Accumulator element i of the tile at (r0, c0): its (row, column).
  std::pair<Value, Value> accAt(Value r0, Value c0, int64_t i);
  /// acc + sum over k in [0, kEnd) (in steps of 16) of a(r, k) bv(k, c) on
  /// the warp tile at (r0, c0) of a [rows, width] grid with k below
  /// kLimit: reads past the grid or kLimit take clamped indices (a
  /// neighbour's finite element), k past kLimit is zeroed. a and bv give
  /// f32 elements, rounded to bf16 here.
  SmallVector<Value> mmaProduct(Value r0, Value c0, int64_t rows,
                                int64_t width, Value kEnd, int64_t kLimit,
                                ArrayRef<Value> acc, Element a, Element bv,
                                SplitOperands split = {});
  /// c + a b on one m16n8k16 tile (bf16 operands, f32 c).
  SmallVector<Value> mmaTile(ArrayRef<Value> a, ArrayRef<Value> bFrag,
                             ArrayRef<Value> c);
  /// store(row, col, value) of the accumulator elements inside the grid.
  void storeAcc(ArrayRef<Value> acc, Value r0, Value c0, int64_t rows,
                int64_t width, function_ref<void(Value, Value, Value)> store);
  /// Two f32 values as one bf16x2 mma operand register, and with `split`
  /// a second one of their residuals x - bf16(x) (null without).
  std::pair<Value, Value> packBf16(Value x, Value y, bool split);
  /// k extent of a static product, whole mma steps.
  Value kSteps(int64_t k) { return idx(llvm::alignTo(k, 16)); }

  gpu::GPUModuleOp gpuModule;
  LinearGpuSharedMemory shared;
  bool mmaSync;
  int64_t threads, features, colChunk, cols;
  bool decay, taylor2;
  Value stateInFlat, stateOutFlat, seq, log2Decay;
  // Per block.
  Value tid, bIdx, h, c0, column;
  // Per lane (mma.sync): warp, g and t.
  Value warp, laneRow, laneCol;
  // Shared memory: state [F][cols], q / k rows [C][Dk + 1], [v, 1] and
  // outputs [C][cols], scores [C][C], state decay per row [C].
  Value kvS, qS, kS, vS, oS, pS, dS;
};

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

void LinearGpuKernelEmitter::fill(Value t0, Value n, bool withQ,
                                  bool withKV) {
  using P = arith::CmpIPredicate;
  // Rows past the sequence read the last row and store 0.
  auto rowOf = [&](Value r) {
    return std::make_pair(minI(add(t0, r), sub(seq, idx(1))),
                          cmp(P::ult, r, n));
  };
  // phi of the row, or (taylor2) the row itself.
  auto row = [&](Value flat, Value t, Value f, bool scaled) {
    if (taylor2)
      return rawInput(flat, t, f, scaled);
    return phi([&](Value c) { return rawInput(flat, t, c, scaled); }, f);
  };
  forEach2(bq, spec.dqk, [&](Value r, Value f) {
    auto [t, live] = rowOf(r);
    if (withQ)
      memref::StoreOp::create(
          b, sel(live, row(qFlat, t, f, spec.scale.has_value()), fc(0)), qS,
          ValueRange{r, f});
    if (withKV)
      memref::StoreOp::create(b, sel(live, row(kFlat, t, f, false), fc(0)),
                              kS, ValueRange{r, f});
  });
  if (!withKV)
    return;
  forEach2(bq, cols, [&](Value r, Value c) {
    auto [t, live] = rowOf(r);
    auto [sc, owned] = stateColumn(c);
    Value val = input(vFlat, t, spec.dv, minI(sc, idx(spec.dv - 1)));
    if (spec.normSum) // the normalizer's column of ones
      val = sel(cmp(P::eq, c, idx(colChunk)), fc(1), val);
    memref::StoreOp::create(b, sel(andI(live, owned), val, fc(0)), vS,
                            ValueRange{r, c});
  });
  if (decay)
    // lambda^(n-1-u): row u's weight in the state update (0 past the rows).
    forEach(bq, [&](Value u) {
      Value live = cmp(P::ult, u, n);
      Value k = sel(live, sub(sub(n, idx(1)), u), idx(0));
      memref::StoreOp::create(b, sel(live, power(k), fc(0)), dS, u);
    });
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
  forEach2(bq, colChunk, [&](Value r, Value c) {
    Value global = add(c0, c);
    ifThen(andI(cmp(P::ult, r, n), cmp(P::ult, global, idx(spec.dv))), [&] {
      Value o = load(oS, {r, c});
      if (spec.normSum) {
        // A zero normalizer (relu can zero whole rows) gives 0, not NaN.
        Value den = load(oS, {r, idx(colChunk)});
        Value zero =
            arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, den, fc(0));
        o = sel(zero, fc(0), arith::DivFOp::create(b, o, den));
      }
      storeElt(o, oFlat,
               {offset4(bIdx, spec.hq, h, seq, add(t0, r), spec.dv, global)});
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

void LinearGpuKernelEmitter::forEachWarpTile(int64_t rows, int64_t width,
                                             Body2 body) {
  int64_t tileCols = 8 * nBlocks(width);
  int64_t across = llvm::divideCeil(width, tileCols);
  int64_t tiles = llvm::divideCeil(rows, 16) * across;
  scf::ForOp::create(
      b, warp, idx(tiles), idx(threads / 32), ValueRange{},
      [&](OpBuilder &, Location, Value i, ValueRange) {
        body(mul(arith::DivUIOp::create(b, i, idx(across)), idx(16)),
             mul(arith::RemUIOp::create(b, i, idx(across)), idx(tileCols)));
        scf::YieldOp::create(b);
      });
}

std::pair<Value, Value> LinearGpuKernelEmitter::accAt(Value r0, Value c0,
                                                      int64_t i) {
  int64_t j = i / 4, e = i % 4;
  return {add(r0, add(laneRow, idx(8 * (e / 2)))),
          add(c0, add(mul(laneCol, idx(2)), idx(8 * j + e % 2)))};
}

std::pair<Value, Value> LinearGpuKernelEmitter::packBf16(Value x, Value y,
                                                         bool split) {
  Type bf16 = b.getBF16Type();
  auto pack = [&](Value u, Value v) -> Value {
    Value vec = vector::FromElementsOp::create(b, VectorType::get({2}, bf16),
                                               ValueRange{u, v});
    return LLVM::BitcastOp::create(b, b.getI32Type(), vec);
  };
  Value xh = arith::TruncFOp::create(b, bf16, x);
  Value yh = arith::TruncFOp::create(b, bf16, y);
  if (!split)
    return {pack(xh, yh), Value()};
  auto residual = [&](Value v, Value vh) -> Value {
    return arith::TruncFOp::create(
        b, bf16,
        arith::SubFOp::create(b, v, arith::ExtFOp::create(b, f32, vh)));
  };
  return {pack(xh, yh), pack(residual(x, xh), residual(y, yh))};
}

SmallVector<Value> LinearGpuKernelEmitter::mmaProduct(
    Value r0, Value c0, int64_t rows, int64_t width, Value kEnd,
    int64_t kLimit, ArrayRef<Value> acc, Element a, Element bv,
    SplitOperands split) {
  using P = arith::CmpIPredicate;
  int64_t blocks = nBlocks(width);
  // Ragged grids: the last tile's rows / columns past the grid read the
  // grid's last ones (never stored), and whole n8 blocks past it are
  // skipped (warp-uniform).
  bool raggedRows = rows % 16 != 0, raggedCols = width % (8 * blocks) != 0;
  Value tileRows[2], tileCols[kMaxBlocks];
  for (int64_t half = 0; half < 2; ++half) {
    Value r = add(r0, add(laneRow, idx(8 * half)));
    tileRows[half] = raggedRows ? minI(r, idx(rows - 1)) : r;
  }
  for (int64_t j = 0; j < blocks; ++j) {
    Value c = add(c0, add(laneRow, idx(8 * j)));
    tileCols[j] = raggedCols ? minI(c, idx(width - 1)) : c;
  }
  auto element = [&](Element f, Value x, Value k, bool kFirst) {
    if (kLimit % 16 == 0)
      return kFirst ? f(k, x) : f(x, k);
    Value kc = minI(k, idx(kLimit - 1));
    Value v = kFirst ? f(kc, x) : f(x, kc);
    return sel(cmp(P::ult, k, idx(kLimit)), v, fc(0));
  };
  auto loop = scf::ForOp::create(
      b, idx(0), kEnd, idx(16), acc,
      [&](OpBuilder &, Location, Value k0, ValueRange in) {
        // This lane's k: 2t, 2t + 1 and 8 above them.
        Value kLane[4];
        Value k2t = add(k0, mul(laneCol, idx(2)));
        for (int64_t i = 0; i < 4; ++i)
          kLane[i] = add(k2t, idx((i / 2) * 8 + i % 2));
        // A: (g, 2t..), (g + 8, 2t..), (g, 2t + 8..), (g + 8, 2t + 8..).
        SmallVector<Value> aHi, aLo;
        for (int64_t part = 0; part < 4; ++part) {
          Value r = tileRows[part % 2];
          int64_t k = (part / 2) * 2;
          auto [hi, lo] = packBf16(element(a, r, kLane[k], false),
                                   element(a, r, kLane[k + 1], false),
                                   split.a);
          aHi.push_back(hi);
          aLo.push_back(lo);
        }
        SmallVector<Value> out;
        for (int64_t j = 0; j < blocks; ++j) {
          ValueRange cIn = in.slice(4 * j, 4);
          auto product = [&]() -> SmallVector<Value> {
            // B: (2t.., g) and (2t + 8.., g) of block j.
            SmallVector<Value> bHi, bLo;
            for (int64_t k = 0; k < 4; k += 2) {
              auto [hi, lo] =
                  packBf16(element(bv, tileCols[j], kLane[k], true),
                           element(bv, tileCols[j], kLane[k + 1], true),
                           split.b);
              bHi.push_back(hi);
              bLo.push_back(lo);
            }
            // The residual products first, the leading one last.
            SmallVector<Value> c(cIn);
            if (split.a)
              c = mmaTile(aLo, bHi, c);
            if (split.b)
              c = mmaTile(aHi, bLo, c);
            return mmaTile(aHi, bHi, c);
          };
          if (!raggedCols || j == 0) {
            llvm::append_range(out, product());
            continue;
          }
          auto inside = scf::IfOp::create(
              b, cmp(P::ult, add(c0, idx(8 * j)), idx(width)),
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, product());
              },
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, cIn);
              });
          llvm::append_range(out, inside.getResults());
        }
        scf::YieldOp::create(b, out);
      });
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> LinearGpuKernelEmitter::mmaTile(ArrayRef<Value> a,
                                                   ArrayRef<Value> bFrag,
                                                   ArrayRef<Value> c) {
  auto op = NVVM::MmaOp::create(
      b,
      LLVM::LLVMStructType::getLiteral(b.getContext(),
                                       SmallVector<Type>(4, f32)),
      a, bFrag, c, ArrayRef<int64_t>{16, 8, 16}, /*b1Op=*/std::nullopt,
      /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                    NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t e = 0; e < 4; ++e)
    out.push_back(LLVM::ExtractValueOp::create(b, op.getResult(), e));
  return out;
}

void LinearGpuKernelEmitter::storeAcc(
    ArrayRef<Value> acc, Value r0, Value c0, int64_t rows, int64_t width,
    function_ref<void(Value, Value, Value)> store) {
  using P = arith::CmpIPredicate;
  bool raggedRows = rows % 16 != 0,
       raggedCols = width % (8 * nBlocks(width)) != 0;
  for (auto [i, v] : llvm::enumerate(acc)) {
    auto [r, c] = accAt(r0, c0, i);
    Value inside = i1c(true);
    if (raggedRows)
      inside = andI(inside, cmp(P::ult, r, idx(rows)));
    if (raggedCols)
      inside = andI(inside, cmp(P::ult, c, idx(width)));
    Value value = v;
    Value row = r, col = c;
    if (raggedRows || raggedCols)
      ifThen(inside, [&] { store(row, col, value); });
    else
      store(row, col, value);
  }
}

void LinearGpuKernelEmitter::scoresMma() {
  using P = arith::CmpIPredicate;
  forEachWarpTile(bq, bq, [&](Value r0, Value u0) {
    // Tiles wholly above the diagonal are zero.
    SmallVector<Value> zeros(4 * nBlocks(bq), fc(0));
    auto tile = scf::IfOp::create(
        b, cmp(P::ule, u0, add(r0, idx(15))),
        [&](OpBuilder &, Location) {
          SmallVector<Value> dots = mmaProduct(
              r0, u0, bq, bq, kSteps(spec.dqk), spec.dqk, zeros,
              [&](Value r, Value k) { return load(qS, {r, k}); },
              [&](Value k, Value u) { return load(kS, {u, k}); });
          SmallVector<Value> out;
          for (auto [i, dot] : llvm::enumerate(dots)) {
            auto [r, u] = accAt(r0, u0, i);
            out.push_back(decayedScore(dot, r, u));
          }
          scf::YieldOp::create(b, out);
        },
        [&](OpBuilder &, Location) { scf::YieldOp::create(b, zeros); });
    storeAcc(SmallVector<Value>(tile.getResults()), r0, u0, bq, bq,
             [&](Value r, Value u, Value v) {
               memref::StoreOp::create(b, v, pS, ValueRange{r, u});
             });
  });
}

void LinearGpuKernelEmitter::outputsMma(bool intra) {
  forEachWarpTile(bq, cols, [&](Value r0, Value c0) {
    // taylor2's phi(q) (1, q and q x q / sqrt 2, signed) meets a state
    // whose terms cancel: rounded to bf16 it misses bf16's error bound
    // (taylor2 configurations of the linear matrix), split it does not.
    SplitOperands split;
    split.a = taylor2;
    SmallVector<Value> acc = mmaProduct(
        r0, c0, bq, cols, kSteps(features), features,
        SmallVector<Value>(4 * nBlocks(cols), fc(0)),
        [&](Value r, Value f) { return feature(qS, r, f); },
        [&](Value f, Value c) { return load(kvS, {f, c}); }, split);
    if (decay) {
      // lambda^(r+1) of the lane's two rows.
      Value rowDecay[2];
      for (int64_t half = 0; half < 2; ++half)
        rowDecay[half] =
            power(add(r0, add(laneRow, idx(8 * half + 1))));
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = fmul(acc[i], rowDecay[(i % 4) / 2]);
    }
    // Scores above the diagonal are 0: the tile's rows read up to its
    // last row only.
    if (intra)
      acc = mmaProduct(
          r0, c0, bq, cols, minI(add(r0, idx(16)), idx(bq)), bq, acc,
          [&](Value r, Value u) { return load(pS, {r, u}); },
          [&](Value u, Value c) { return load(vS, {u, c}); });
    storeAcc(acc, r0, c0, bq, cols, [&](Value r, Value c, Value v) {
      memref::StoreOp::create(b, v, oS, ValueRange{r, c});
    });
  });
}

void LinearGpuKernelEmitter::updateStateMma(Value n) {
  forEachWarpTile(features, cols, [&](Value f0, Value c0) {
    // Each element is read and written by its lane only (reads of clamped
    // elements past the grid are never stored).
    Value chunkDecay = decay ? power(n) : Value();
    SmallVector<Value> acc;
    for (int64_t i = 0; i < 4 * nBlocks(cols); ++i) {
      auto [f, c] = accAt(f0, c0, i);
      Value s = load(kvS, {minI(f, idx(features - 1)), minI(c, idx(cols - 1))});
      acc.push_back(decay ? fmul(s, chunkDecay) : s);
    }
    // Rows past the chunk's n have [v, 1] = 0 (and no decay weight).
    acc = mmaProduct(
        f0, c0, features, cols, n, bq, acc,
        [&](Value f, Value u) { return feature(kS, u, f); },
        [&](Value u, Value c) {
          Value v = load(vS, {u, c});
          return decay ? fmul(v, load(dS, {u})) : v;
        });
    storeAcc(acc, f0, c0, features, cols, [&](Value f, Value c, Value v) {
      memref::StoreOp::create(b, v, kvS, ValueRange{f, c});
    });
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

  b.setInsertionPointToEnd(gpuModule.getBody());
  auto fn = gpu::GPUFuncOp::create(b, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  int64_t bytes =
      linearGpuSmemBytes(spec.dqk, features, colChunk, spec.normSum, bq);
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
  int64_t offset = 0;
  auto place = [&](ArrayRef<int64_t> shape) {
    auto type = MemRefType::get(shape, f32, MemRefLayoutAttrInterface{}, space);
    Value view = memref::ViewOp::create(b, type, smem, idx(offset),
                                        ValueRange{});
    offset += 4 * type.getNumElements();
    return view;
  };
  // Padded rows: the score phase reads k rows u = 0, 1, ... across a warp,
  // Dk + 1 words apart, so they fall in distinct banks. Without taylor2,
  // phi(x) has Dk features too (F = Dk).
  kvS = place({features, cols});
  qS = place({bq, spec.dqk + 1});
  kS = place({bq, spec.dqk + 1});
  vS = place({bq, cols});
  oS = place({bq, cols});
  pS = place({bq, bq});
  dS = place({bq});
  assert(offset == bytes && "shared memory layout out of sync with "
                            "linearGpuSmemBytes");

  unsigned a = 0;
  qFlat = entry->getArgument(a++);
  kFlat = entry->getArgument(a++);
  vFlat = entry->getArgument(a++);
  if (spec.stateIn)
    stateInFlat = entry->getArgument(a++);
  oFlat = entry->getArgument(a++);
  if (spec.stateOut)
    stateOutFlat = entry->getArgument(a++);
  seq = entry->getArgument(a + 1);

  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  column = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  h = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  bIdx = gpu::BlockIdOp::create(b, gpu::Dimension::z);
  c0 = mul(column, idx(colChunk));
  if (mmaSync) {
    Value lane = arith::RemUIOp::create(b, tid, idx(32));
    warp = arith::DivUIOp::create(b, tid, idx(32));
    laneRow = arith::DivUIOp::create(b, lane, idx(4));
    laneCol = arith::RemUIOp::create(b, lane, idx(4));
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

  forEach2(features, cols, [&](Value f, Value c) {
    Value init = fc(0);
    if (stateInFlat) {
      auto [sc, owned] = stateColumn(c);
      Value read = load(stateInFlat, {stateOffset(f, minI(sc, idx(spec.dv)))});
      init = sel(owned, read, fc(0));
    }
    memref::StoreOp::create(b, init, kvS, ValueRange{f, c});
  });
  barrier();

  Value numChunks = arith::CeilDivUIOp::create(b, seq, idx(bq));
  auto forChunks = [&](function_ref<void(Value, Value)> body) {
    scf::ForOp::create(b, idx(0), numChunks, idx(1), ValueRange{},
                       [&](OpBuilder &, Location, Value chunk, ValueRange) {
                         Value t0 = mul(chunk, idx(bq));
                         body(t0, minI(idx(bq), sub(seq, t0)));
                         scf::YieldOp::create(b);
                       });
  };
  if (spec.causal) {
    forChunks([&](Value t0, Value n) {
      fill(t0, n, /*withQ=*/true, /*withKV=*/true);
      barrier();
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
    forChunks([&](Value t0, Value n) {
      fill(t0, n, /*withQ=*/false, /*withKV=*/true);
      barrier();
      updateState(n);
      barrier();
    });
    forChunks([&](Value t0, Value n) {
      fill(t0, n, /*withQ=*/true, /*withKV=*/false);
      barrier();
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
      Value first = orI(cmp(P::ult, c, idx(colChunk)),
                        cmp(P::eq, column, idx(0)));
      ifThen(andI(owned, first), [&] {
        memref::StoreOp::create(b, load(kvS, {f, c}), stateOutFlat,
                                stateOffset(f, sc));
      });
    });
  }
  gpu::ReturnOp::create(b);
  return fn;
}

} // namespace

FailureOr<gpu::GPUFuncOp> mlir::attn::lowerLinearAttentionToGpu(
    ModuleOp module, LinearAttentionOp op, int64_t warpSize,
    LinearGpuSharedMemory shared, LinearGpuProducts products) {
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
  if (!linearNvvmMmaSync(spec->dtype))
    products = LinearGpuProducts::Fma;
  // The tiling's warps (at most 16) keep a block within 1024 threads.
  int64_t threads = warpSize * tiling.getWarps();
  std::string name = fn->getSymName().str();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
  b.setInsertionPointToEnd(module.getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, name + "_kernels");
  gpu::GPUFuncOp kernel =
      LinearGpuKernelEmitter(b, gpuModule, *spec, name, tiling.getBlockQ(),
                             std::min(tiling.getBlockKv(), spec->dv), threads,
                             shared, products)
          .emit();
  fn->erase();
  return kernel;
}
