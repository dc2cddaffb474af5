//===- LinearGpuMma.cpp - linear-attention chunk products on tensor cores -===//
//
// The chunk products of the GPU linear-attention kernel on tensor cores
// (bf16 and f16 inputs), with bf16 operands and f32 accumulators: NVIDIA mma.sync
// m16n8k16 in the fragment layouts of the PTX ISA, AMD MFMA 16x16x16 on
// wave64 (operand reads in LinearGpuMfma.cpp). Each warp (wave) takes
// 16-row output tiles of a product in turn.
//
// Operands come one of two ways. Staged (every feature map but taylor2):
// phase 1 writes phi(q), phi(k), [v, 1] (and, with decay, the rows weighted
// for the state update) as bf16, the state update keeps a bf16 copy of the
// state, the scores are stored as bf16, and each k step reads its
// fragments from them: on NVIDIA with ldmatrix (.trans where the buffer
// holds the operand's transpose), 3 ldmatrix.x4 per 16 x 32 tile and step;
// on AMD with LDS reads. Element-wise
// (taylor2, whose F = 1 + Dk + Dk^2 features are formed from the raw rows
// where they are read): each element from the f32 buffers, rounded here.
// taylor2's phi(q) (1, q and q x q / sqrt 2, signed) meets a state whose
// terms cancel, so phi(q) KV splits both phi(q) and the state into bf16
// hi + lo (three products per step: hi hi, hi lo, lo hi): rounded once,
// phi(q) missed bf16's error bound in the linear matrix, and the state
// missed it on the GPU check's random state_in. Its scores 1 + x + x^2 / 2
// split too (P V takes two products per step): rounded once, a 7-row
// sequence, whose few terms average nothing out, missed the bound for 4
// of 10 input seeds (relative error to 1.5e-2; split: the CPU's 3e-3).
// f16 inputs split every operand (their values need 11 bits; hi + lo holds
// them exactly) and read them element-wise from the f32 buffers: their
// output is then as close as the f32 FMAs', where one bf16 rounding of the
// operands left the state at 5e-4 and an output past f16's bound.
//
//===----------------------------------------------------------------------===//

#include "Common/LinearGpuEmitter.h"
#include "Common/NvvmMma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::attn;

int64_t LinearGpuKernelEmitter::nBlocks(int64_t width) const {
  int64_t blocks = llvm::divideCeil(width, blockWidth());
  if (blocks <= 4)
    return blocks;
  for (int64_t d : {4, 3, 2})
    if (blocks % d == 0)
      return d;
  return blocks <= 8 ? blocks : 1;
}

void LinearGpuKernelEmitter::forEachWarpTile(int64_t rows, int64_t width,
                                             Body2 body) {
  int64_t tileCols = blockWidth() * nBlocks(width);
  int64_t across = llvm::divideCeil(width, tileCols);
  int64_t tiles = llvm::divideCeil(rows, 16) * across;
  scf::ForOp::create(
      b, warp, idx(tiles), idx(threads / warpSize()), ValueRange{},
      [&](OpBuilder &, Location, Value i, ValueRange) {
        body(mul(arith::DivUIOp::create(b, i, idx(across)), idx(16)),
             mul(arith::RemUIOp::create(b, i, idx(across)), idx(tileCols)));
        scf::YieldOp::create(b);
      });
}

std::pair<Value, Value> LinearGpuKernelEmitter::accAt(Value r0, Value c0,
                                                      int64_t i) {
  int64_t j = i / 4, e = i % 4;
  if (mfma)
    return {add(r0, add(mul(mfmaG, idx(4)), idx(e))),
            add(c0, add(mfmaC, idx(16 * j)))};
  return {add(r0, add(laneRow, idx(8 * (e / 2)))),
          add(c0, add(mul(laneCol, idx(2)), idx(8 * j + e % 2)))};
}

std::pair<Value, Value> LinearGpuKernelEmitter::packBf16(ArrayRef<Value> xs,
                                                         bool split) {
  Type bf16 = b.getBF16Type();
  auto type = VectorType::get({static_cast<int64_t>(xs.size())}, bf16);
  // mma.sync takes bf16 pairs in i32 registers, MFMA the vector itself.
  auto pack = [&](ArrayRef<Value> elements) -> Value {
    Value vec = vector::FromElementsOp::create(b, type, elements);
    return mfma ? vec : LLVM::BitcastOp::create(b, b.getI32Type(), vec);
  };
  SmallVector<Value, 4> hi, lo;
  for (Value x : xs)
    hi.push_back(arith::TruncFOp::create(b, bf16, x));
  if (!split)
    return {pack(hi), Value()};
  for (auto [x, xh] : llvm::zip(xs, hi))
    lo.push_back(arith::TruncFOp::create(
        b, bf16,
        arith::SubFOp::create(b, x, arith::ExtFOp::create(b, f32, xh))));
  return {pack(hi), pack(lo)};
}

SmallVector<Value> LinearGpuKernelEmitter::mmaTile(ArrayRef<Value> a,
                                                   ArrayRef<Value> bFrag,
                                                   ArrayRef<Value> c) {
  if (mfma)
    return mfmaTile(a.front(), bFrag.front(), c);
  return nvvmMmaM16N8K16(b, NVVM::MMATypes::bf16, a, bFrag, c);
}

SmallVector<Value> LinearGpuKernelEmitter::mmaProduct(Value kEnd,
                                                      int64_t blocks,
                                                      ArrayRef<Value> acc,
                                                      LoadFragments a,
                                                      LoadFragments bv) {
  auto loop = scf::ForOp::create(
      b, idx(0), kEnd, idx(16), acc,
      [&](OpBuilder &, Location, Value k0, ValueRange in) {
        Fragments fa = a(k0), fb = bv(k0);
        SmallVector<Value> out;
        for (int64_t j = 0; j < blocks; ++j) {
          SmallVector<Value> c(in.slice(4 * j, 4));
          int64_t n = bRegisters();
          ArrayRef<Value> bHi = ArrayRef(fb.hi).slice(n * j, n);
          // The residual products first, the leading one last.
          if (!fa.lo.empty())
            c = mmaTile(fa.lo, bHi, c);
          if (!fb.lo.empty())
            c = mmaTile(fa.hi, ArrayRef(fb.lo).slice(n * j, n), c);
          llvm::append_range(out, mmaTile(fa.hi, bHi, c));
        }
        scf::YieldOp::create(b, out);
      });
  return SmallVector<Value>(loop.getResults());
}

void LinearGpuKernelEmitter::appendPack(Fragments &f, Value k, int64_t kLimit,
                                        function_ref<Value(Value)> at,
                                        bool split) {
  using P = arith::CmpIPredicate;
  SmallVector<Value, 4> x;
  for (int64_t i = 0, n = mfma ? 4 : 2; i < n; ++i) {
    Value ki = add(k, idx(i));
    if (kLimit % 16 == 0) {
      x.push_back(at(ki));
      continue;
    }
    Value v = at(minI(ki, idx(kLimit - 1)));
    x.push_back(sel(cmp(P::ult, ki, idx(kLimit)), v, fc(0)));
  }
  auto [hi, lo] = packBf16(x, split);
  f.hi.push_back(hi);
  if (lo)
    f.lo.push_back(lo);
}

LinearGpuKernelEmitter::Fragments
LinearGpuKernelEmitter::elementA(Value r0, int64_t rows, Value k0,
                                 int64_t kLimit, Element a, bool split) {
  Fragments f;
  if (mfma) { // A: (c, 4g..)
    Value r = add(r0, mfmaC);
    if (rows % 16)
      r = minI(r, idx(rows - 1));
    appendPack(f, add(k0, mul(mfmaG, idx(4))), kLimit,
               [&](Value ki) { return a(r, ki); }, split);
    return f;
  }
  // A: (g, 2t..), (g + 8, 2t..), (g, 2t + 8..), (g + 8, 2t + 8..).
  for (int64_t part = 0; part < 4; ++part) {
    Value r = add(r0, add(laneRow, idx(8 * (part % 2))));
    if (rows % 16)
      r = minI(r, idx(rows - 1));
    Value k = add(k0, add(mul(laneCol, idx(2)), idx(8 * (part / 2))));
    appendPack(f, k, kLimit, [&](Value ki) { return a(r, ki); }, split);
  }
  return f;
}

LinearGpuKernelEmitter::Fragments
LinearGpuKernelEmitter::elementB(Value c0, int64_t width, int64_t blocks,
                                 Value k0, int64_t kLimit, Element bv,
                                 bool split) {
  // B of block j: mma.sync (2t.., g) and (2t + 8.., g); MFMA (4g.., c).
  Fragments f;
  int64_t w = blockWidth();
  for (int64_t j = 0; j < blocks; ++j) {
    Value c = add(c0, add(mfma ? mfmaC : laneRow, idx(w * j)));
    if (width % w)
      c = minI(c, idx(width - 1));
    if (mfma) {
      appendPack(f, add(k0, mul(mfmaG, idx(4))), kLimit,
                 [&](Value ki) { return bv(ki, c); }, split);
      continue;
    }
    for (int64_t half = 0; half < 2; ++half) {
      Value k = add(k0, add(mul(laneCol, idx(2)), idx(8 * half)));
      appendPack(f, k, kLimit, [&](Value ki) { return bv(ki, c); }, split);
    }
  }
  return f;
}

SmallVector<Value> LinearGpuKernelEmitter::ldmatrix(Value buf, Value row,
                                                    Value col, int64_t tiles,
                                                    bool transpose) {
  auto type = VectorType::get({tiles, 2}, b.getBF16Type());
  Value frag = nvgpu::LdMatrixOp::create(b, type, buf, ValueRange{row, col},
                                         transpose, tiles);
  SmallVector<Value> out;
  for (int64_t i = 0; i < tiles; ++i)
    out.push_back(LLVM::BitcastOp::create(
        b, b.getI32Type(),
        vector::ExtractOp::create(b, frag, ArrayRef<int64_t>{i})));
  return out;
}

// Lane l gives row l % 8 of matrix l / 8 (x2: lanes 0-15 count), and the
// matrices come back in the fragment's register order.
LinearGpuKernelEmitter::Fragments
LinearGpuKernelEmitter::matrixA(Value buf, Value r0, Value k0, bool kMajor) {
  if (mfma)
    return mfmaMatrixA(buf, r0, k0, kMajor);
  // a0..a3: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15),
  // (rows 8-15, k 8-15); transposed reads give each lane (k 2t.., row g).
  Value half = arith::RemUIOp::create(b, laneEighth, idx(2));
  Value kHalf = arith::DivUIOp::create(b, laneEighth, idx(2));
  Value m = add(r0, mul(half, idx(8)));
  Value k = add(k0, mul(kHalf, idx(8)));
  Fragments f;
  f.hi = kMajor ? ldmatrix(buf, add(k, lane8), m, 4, /*transpose=*/true)
                : ldmatrix(buf, add(m, lane8), k, 4, /*transpose=*/false);
  return f;
}

LinearGpuKernelEmitter::Fragments
LinearGpuKernelEmitter::matrixB(Value buf, Value c0, int64_t blocks, Value k0,
                                bool kMajor) {
  if (mfma)
    return mfmaMatrixB(buf, c0, blocks, k0, kMajor);
  // Blocks j, j + 1 by one x4: b0, b1 of j, then of j + 1 (x2 for an odd
  // last block). Lane quarter q reads k half q % 2 of block j + q / 2.
  Value kHalf = arith::RemUIOp::create(b, laneEighth, idx(2));
  Value nHalf = arith::DivUIOp::create(b, laneEighth, idx(2));
  Fragments f;
  for (int64_t j = 0; j < blocks; j += 2) {
    int64_t tiles = j + 1 < blocks ? 4 : 2;
    Value n = add(c0, idx(8 * j));
    if (tiles == 4)
      n = add(n, mul(nHalf, idx(8)));
    Value k = add(k0, mul(kHalf, idx(8)));
    llvm::append_range(
        f.hi, kMajor ? ldmatrix(buf, add(k, lane8), n, tiles, true)
                     : ldmatrix(buf, add(n, lane8), k, tiles, false));
  }
  return f;
}

void LinearGpuKernelEmitter::storeAcc(
    ArrayRef<Value> acc, Value r0, Value c0, int64_t rows, int64_t width,
    function_ref<void(Value, Value, Value)> store) {
  using P = arith::CmpIPredicate;
  bool raggedRows = rows % 16 != 0, raggedCols = width % blockWidth() != 0;
  for (auto [i, v] : llvm::enumerate(acc)) {
    auto [r, c] = accAt(r0, c0, i);
    Value inside = i1c(true);
    if (raggedRows)
      inside = andI(inside, cmp(P::ult, r, idx(rows)));
    if (raggedCols)
      inside = andI(inside, cmp(P::ult, c, idx(width)));
    Value value = v, row = r, col = c;
    if (raggedRows || raggedCols)
      ifThen(inside, [&] { store(row, col, value); });
    else
      store(row, col, value);
  }
}

void LinearGpuKernelEmitter::scoresMma() {
  using P = arith::CmpIPredicate;
  int64_t blocks = nBlocks(bq);
  forEachWarpTile(bq, bq, [&](Value r0, Value u0) {
    // Tiles wholly above the diagonal are zero.
    SmallVector<Value> zeros(4 * blocks, fc(0));
    auto tile = scf::IfOp::create(
        b, cmp(P::ule, u0, add(r0, idx(15))),
        [&](OpBuilder &, Location) {
          SmallVector<Value> dots;
          if (staged)
            dots = mmaProduct(
                kSteps(features), blocks, zeros,
                [&](Value k0) { return matrixA(qB, r0, k0, false); },
                [&](Value k0) { return matrixB(kB, u0, blocks, k0, false); });
          else
            dots = mmaProduct(
                kSteps(spec.dqk), blocks, zeros,
                [&](Value k0) {
                  return elementA(
                      r0, bq, k0, spec.dqk,
                      [&](Value r, Value k) { return load(qS, {r, k}); },
                      splitAll);
                },
                [&](Value k0) {
                  return elementB(
                      u0, bq, blocks, k0, spec.dqk,
                      [&](Value k, Value u) { return load(kS, {u, k}); },
                      splitAll);
                });
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
               if (staged)
                 storeBf16(v, pB, {r, u});
               else
                 memref::StoreOp::create(b, v, pS, ValueRange{r, u});
             });
  });
}

void LinearGpuKernelEmitter::outputsMma(bool intra) {
  int64_t blocks = nBlocks(cols);
  forEachWarpTile(bq, cols, [&](Value r0, Value c0) {
    SmallVector<Value> zeros(4 * blocks, fc(0));
    SmallVector<Value> acc;
    if (staged)
      acc = mmaProduct(
          kSteps(features), blocks, zeros,
          [&](Value k0) { return matrixA(qB, r0, k0, false); },
          [&](Value k0) { return matrixB(kvB, c0, blocks, k0, true); });
    else
      acc = mmaProduct(
          kSteps(features), blocks, zeros,
          [&](Value k0) {
            return elementA(
                r0, bq, k0, features,
                [&](Value r, Value f) { return feature(qS, r, f); },
                /*split=*/taylor2 || splitAll);
          },
          [&](Value k0) {
            return elementB(
                c0, cols, blocks, k0, features,
                [&](Value f, Value c) { return load(kvS, {f, c}); },
                /*split=*/taylor2 || splitAll);
          });
    if (decay) {
      // lambda^(r+1) of the lane's rows: element e of every block (mma.sync
      // e / 2 of two rows, MFMA four).
      Value rowDecay[4];
      for (int64_t e = 0; e < 4; ++e) {
        bool again = !mfma && e % 2;
        rowDecay[e] = again ? rowDecay[e - 1]
                            : power(add(accAt(r0, c0, e).first, idx(1)));
      }
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = fmul(acc[i], rowDecay[i % 4]);
    }
    // Scores above the diagonal are 0: the tile's rows read up to its
    // last row only.
    if (intra) {
      Value kEnd = minI(add(r0, idx(16)), idx(bq));
      if (staged)
        acc = mmaProduct(
            kEnd, blocks, acc,
            [&](Value k0) { return matrixA(pB, r0, k0, false); },
            [&](Value k0) { return matrixB(vB, c0, blocks, k0, true); });
      else
        acc = mmaProduct(
            kEnd, blocks, acc,
            [&](Value k0) {
              return elementA(
                  r0, bq, k0, bq,
                  [&](Value r, Value u) { return load(pS, {r, u}); },
                  taylor2 || splitAll);
            },
            [&](Value k0) {
              return elementB(
                  c0, cols, blocks, k0, bq,
                  [&](Value u, Value c) { return load(vS, {u, c}); },
                  splitAll);
            });
    }
    storeAcc(acc, r0, c0, bq, cols, [&](Value r, Value c, Value v) {
      memref::StoreOp::create(b, v, oS, ValueRange{r, c});
    });
  });
}

void LinearGpuKernelEmitter::updateStateMma(Value n) {
  int64_t blocks = nBlocks(cols);
  forEachWarpTile(features, cols, [&](Value f0, Value c0) {
    // Each element is read and written by its lane only (reads of clamped
    // elements past the grid are never stored).
    Value chunkDecay = decay ? power(n) : Value();
    SmallVector<Value> acc;
    for (int64_t i = 0; i < 4 * blocks; ++i) {
      auto [f, c] = accAt(f0, c0, i);
      Value s =
          load(kvS, {minI(f, idx(features - 1)), minI(c, idx(cols - 1))});
      acc.push_back(decay ? fmul(s, chunkDecay) : s);
    }
    // Rows past the chunk's n have [v, 1] = 0 (and no decay weight).
    if (staged)
      acc = mmaProduct(
          n, blocks, acc,
          [&](Value k0) { return matrixA(kB, f0, k0, /*kMajor=*/true); },
          [&](Value k0) {
            return matrixB(decay ? vdB : vB, c0, blocks, k0, true);
          });
    else
      acc = mmaProduct(
          n, blocks, acc,
          [&](Value k0) {
            return elementA(
                f0, features, k0, bq,
                [&](Value f, Value u) { return feature(kS, u, f); },
                splitAll);
          },
          [&](Value k0) {
            return elementB(
                c0, cols, blocks, k0, bq,
                [&](Value u, Value c) {
                  Value v = load(vS, {u, c});
                  return decay ? fmul(v, load(dS, {u})) : v;
                },
                splitAll);
          });
    storeAcc(acc, f0, c0, features, cols, [&](Value f, Value c, Value v) {
      memref::StoreOp::create(b, v, kvS, ValueRange{f, c});
      if (staged)
        storeBf16(v, kvB, {f, c});
    });
  });
}
