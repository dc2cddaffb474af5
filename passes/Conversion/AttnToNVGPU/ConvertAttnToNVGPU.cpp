//===- ConvertAttnToNVGPU.cpp - attn.attention -> mma.sync kernel ---------===//
//
// FlashAttention-2 on one CTA per (query tile, head, batch): each warp owns
// 16 query rows and keeps Q, the running max / sum and the O accumulator in
// registers as m16n8k16 fragments (PTX ISA "mma.m16n8k16" layouts; lane l,
// g = l / 4, t = l % 4):
//   A (16x16, row-major): a0 = A[g][2t..], a1 = A[g+8][2t..], a2 = A[g][2t+8..],
//                         a3 = A[g+8][2t+8..]
//   B (16x8, K x N):      b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]
//   C (16x8, f32):        c0,c1 = C[g][2t..2t+1], c2,c3 = C[g+8][2t..2t+1]
// The C fragments of S for KV columns [16k, 16k+16) are exactly the A
// fragment of P for the PV product, so P never leaves registers.
//
// K and V tiles are staged in shared memory by the whole CTA with cp.async
// (16-byte copies, L1 bypassed) into `stages` buffers: the copies of the
// next stages - 1 KV tiles are in flight while the warps compute on the
// current one. Warps
// read their B fragments with ldmatrix (.trans for V, which is stored K x N).
// Rows are padded by 16 bytes so the 8 row addresses of an ldmatrix phase
// fall in distinct banks.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTONVGPU
#include "passes/Passes.h.inc"
} // namespace mlir::attn

#include "Common/KernelEmitterBase.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

constexpr double kLog2e = 1.4426950408889634;
/// Elements of padding per shared-memory row (16 bytes).
constexpr int64_t kSmemPad = 8;
/// Shared memory a kernel may declare statically.
constexpr int64_t kStaticSmemLimit = 48 * 1024;

/// Per-lane state carried across KV tiles: running max (base 2) and sum of
/// rows g and g+8, then the O accumulator fragments.
struct WarpState {
  Value m[2], l[2];
  SmallVector<Value> o; // 4 per n8 block of Dv
  SmallVector<Value> flatten() const {
    SmallVector<Value> vals = {m[0], m[1], l[0], l[1]};
    vals.append(o.begin(), o.end());
    return vals;
  }
  static WarpState unflatten(ValueRange vals) {
    WarpState s;
    s.m[0] = vals[0], s.m[1] = vals[1], s.l[0] = vals[2], s.l[1] = vals[3];
    s.o.assign(vals.begin() + 4, vals.end());
    return s;
  }
};

class MmaKernelEmitter : public AttnKernelEmitterBase {
public:
  MmaKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUModuleOp gpuModule,
                   const AttentionSpec &spec, StringRef name, int64_t blockQ,
                   int64_t blockKV, int64_t warps, int64_t stages,
                   Region *maskFn, Region *scoreFn)
      : AttnKernelEmitterBase(b, gpuModule.getBody(), spec, name, blockQ,
                              blockKV, /*countTiles=*/false, maskFn, scoreFn),
        gpuModule(gpuModule), warps(warps), stages(stages),
        dvChunk(spec.dv / nvvmDvChunks(spec.dv)) {}
  int64_t numDvChunks() const { return spec.dv / dvChunk; }

  gpu::GPUFuncOp emit();

private:
  /// Two consecutive elements at `offset` of a flat 16-bit memref, packed as
  /// an mma operand (vector<2xf16>, or i32 for bf16).
  Value loadPair(Value flat, Value offset);
  Value packPair(Value lo, Value hi);
  /// c += a * b on one m16n8k16 tile; c is 4 f32 values.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bFrag,
                         ArrayRef<Value> c);
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(b, f32, b.getStringAttr("llvm.exp2"),
                                         ValueRange{x})
        .getResult(0);
  }
  Value quadReduce(Value x, bool isMax);
  /// Issues the cp.async copies of KV tile `kt` into shared-memory stage
  /// `stage`: all of K's columns, this CTA's chunk of V's.
  void issueTileCopy(Value stage, Value bIdx, Value kh, Value vh, Value kt);
  /// Copies rows [j0, j0 + bk) x columns [col0, col0 + cols) of one head of
  /// a flat [B, heads, Skv, dim] tensor into `smem`[stage]; rows past Skv
  /// repeat the last row (their scores are masked).
  void copyRows(Value smem, Value stage, Value flat, int64_t heads,
                Value bIdx, Value head, int64_t dim, Value col0, int64_t cols,
                Value j0);
  /// ldmatrix of `tiles` 8x8 matrices at smem[stage][row][col], each lane
  /// giving one row address; returns one mma operand per matrix.
  SmallVector<Value> ldmatrix(Value smem, Value stage, Value row, Value col,
                              int64_t tiles, bool transpose);
  /// The A fragment of this warp's 16 query rows for head-dim block kb
  /// (rows past Sq read the last row; they are never stored).
  SmallVector<Value> loadQFragment(Value bIdx, Value h, int64_t kb);
  WarpState emitTile(WarpState st, Value bIdx, Value h, Value stage,
                     Value kt, ArrayRef<SmallVector<Value>> qFrags,
                     bool partial);
  gpu::GPUModuleOp gpuModule;
  int64_t warps, stages;
  /// O columns one CTA accumulates: Dv split into chunks of at most 128 so
  /// the accumulator (chunk / 2 registers per lane) fits beside S and P; each
  /// chunk's CTA recomputes S (grid.y = Hq x chunks).
  int64_t dvChunk;
  Value chunkBase;
  Value rows[2]; // this lane's query rows g and g+8
  Value tid, lane, g, t;
  // `stages` buffers of K [bk][Dqk + pad] and V [bk][dvChunk + pad] tiles.
  Value kSmem, vSmem;
};

Value MmaKernelEmitter::packPair(Value lo, Value hi) {
  // P arrives as f32 probabilities; V elements already have the input type.
  if (lo.getType() != elt) {
    lo = arith::TruncFOp::create(b, elt, lo);
    hi = arith::TruncFOp::create(b, elt, hi);
  }
  Value vec = vector::FromElementsOp::create(
      b, VectorType::get({2}, elt), ValueRange{lo, hi});
  if (spec.dtype == DType::F16)
    return vec;
  return LLVM::BitcastOp::create(b, b.getI32Type(), vec);
}

Value MmaKernelEmitter::loadPair(Value flat, Value offset) {
  Value vec =
      vector::LoadOp::create(b, VectorType::get({2}, elt), flat, offset);
  if (spec.dtype == DType::F16)
    return vec;
  return LLVM::BitcastOp::create(b, b.getI32Type(), vec);
}

SmallVector<Value> MmaKernelEmitter::loadQFragment(Value bIdx, Value h,
                                                   int64_t kb) {
  Value lastQ = sub(sq, idx(1));
  SmallVector<Value> frag;
  for (int64_t part = 0; part < 4; ++part) {
    Value row = arith::MinSIOp::create(b, rows[part % 2], lastQ);
    Value col = add(idx(kb * 16 + (part / 2) * 8), mul(t, idx(2)));
    frag.push_back(
        loadPair(qFlat, offset4(bIdx, spec.hq, h, sq, row, spec.dqk, col)));
  }
  return frag;
}

SmallVector<Value> MmaKernelEmitter::mma(ArrayRef<Value> a,
                                         ArrayRef<Value> bFrag,
                                         ArrayRef<Value> c) {
  MLIRContext *ctx = b.getContext();
  auto resultType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(4, f32));
  NVVM::MMATypes ptxType = spec.dtype == DType::F16 ? NVVM::MMATypes::f16
                                                    : NVVM::MMATypes::bf16;
  auto op = NVVM::MmaOp::create(
      b, resultType, a, bFrag, c, ArrayRef<int64_t>{16, 8, 16},
      /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, op.getResult(), i));
  return out;
}

Value MmaKernelEmitter::quadReduce(Value x, bool isMax) {
  // The 4 lanes of a quad hold one row's columns: xor 1 then xor 2.
  for (int64_t offset : {1, 2}) {
    Value other = gpu::ShuffleOp::create(
                      b, x, arith::ConstantIntOp::create(b, offset, 32),
                      arith::ConstantIntOp::create(b, 32, 32),
                      gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    x = isMax ? Value(arith::MaximumFOp::create(b, x, other))
              : Value(arith::AddFOp::create(b, x, other));
  }
  return x;
}

SmallVector<Value> MmaKernelEmitter::ldmatrix(Value smem, Value stage,
                                             Value row, Value col,
                                             int64_t tiles, bool transpose) {
  auto type = VectorType::get({tiles, 2}, elt);
  Value frag = nvgpu::LdMatrixOp::create(b, type, smem,
                                         ValueRange{stage, row, col},
                                         transpose, tiles);
  SmallVector<Value> out;
  for (int64_t i = 0; i < tiles; ++i) {
    Value pair = vector::ExtractOp::create(b, frag, ArrayRef<int64_t>{i});
    out.push_back(spec.dtype == DType::F16
                      ? pair
                      : Value(LLVM::BitcastOp::create(b, b.getI32Type(),
                                                      pair)));
  }
  return out;
}

void MmaKernelEmitter::copyRows(Value smem, Value stage, Value flat,
                                int64_t heads, Value bIdx, Value head,
                                int64_t dim, Value col0, int64_t cols,
                                Value j0) {
  using P = arith::CmpIPredicate;
  int64_t perRow = cols / 8, total = bk * perRow, threads = 32 * warps;
  Value lastKV = sub(skv, idx(1));
  for (int64_t first = 0; first < total; first += threads) {
    Value c = add(tid, idx(first));
    auto copy = [&] {
      Value row = arith::DivUIOp::create(b, c, idx(perRow));
      Value col = mul(arith::RemUIOp::create(b, c, idx(perRow)), idx(8));
      Value src = arith::MinSIOp::create(b, add(j0, row), lastKV);
      Value off = offset4(bIdx, heads, head, skv, src, dim, add(col0, col));
      nvgpu::DeviceAsyncCopyOp::create(b, smem, ValueRange{stage, row, col},
                                       flat, ValueRange{off}, llvm::APInt(64, 8),
                                       /*srcElements=*/Value(),
                                       /*bypassL1=*/b.getUnitAttr());
    };
    if (first + threads <= total) {
      copy();
      continue;
    }
    scf::IfOp::create(b, cmp(P::slt, c, idx(total)),
                      [&](OpBuilder &, Location) {
                        copy();
                        scf::YieldOp::create(b);
                      });
  }
}

void MmaKernelEmitter::issueTileCopy(Value stage, Value bIdx, Value kh,
                                     Value vh, Value kt) {
  Value j0 = mul(kt, idx(bk));
  copyRows(kSmem, stage, kFlat, spec.hk, bIdx, kh, spec.dqk, idx(0),
           spec.dqk, j0);
  copyRows(vSmem, stage, vFlat, spec.hv, bIdx, vh, spec.dv, chunkBase,
           dvChunk, j0);
}

WarpState MmaKernelEmitter::emitTile(WarpState st, Value bIdx, Value h,
                                     Value stage, Value kt,
                                     ArrayRef<SmallVector<Value>> qFrags,
                                     bool partial) {
  using P = arith::CmpIPredicate;
  double negInf = -std::numeric_limits<double>::infinity();
  bool sigmoid = spec.norm == NormKind::Sigmoid;
  Value j0 = mul(kt, idx(bk));
  Value lastKV = sub(skv, idx(1));
  int64_t nBlocks = bk / 8, kBlocks = spec.dqk / 16;

  // S = Q K^T. K stored [kv][d] is the "col" B operand: b0 = K[n][2t..],
  // b1 = K[n][2t+8..] with n = g, which is what a non-transposed ldmatrix
  // gives. One x4 covers two n-blocks: lanes 0-7 address rows n0..n0+7 at
  // column k, lanes 8-15 the same rows at k + 8, lanes 16-31 rows n0 + 8...
  // The k-loop is outermost so a re-read Q fragment is live for one k-block.
  SmallVector<SmallVector<Value>> s(nBlocks, SmallVector<Value>(4, fc(0)));
  Value quad = arith::DivUIOp::create(b, lane, idx(8));
  Value r8 = arith::RemUIOp::create(b, lane, idx(8));
  Value kRow = add(mul(arith::DivUIOp::create(b, quad, idx(2)), idx(8)), r8);
  Value kCol = mul(arith::RemUIOp::create(b, quad, idx(2)), idx(8));
  for (int64_t kb = 0; kb < kBlocks; ++kb) {
    SmallVector<Value> qFrag =
        qFrags.empty() ? loadQFragment(bIdx, h, kb) : qFrags[kb];
    for (int64_t nb = 0; nb < nBlocks; nb += 2) {
      SmallVector<Value> frag =
          ldmatrix(kSmem, stage, add(kRow, idx(nb * 8)),
                   add(kCol, idx(kb * 16)), 4, /*transpose=*/false);
      s[nb] = mma(qFrag, {frag[0], frag[1]}, s[nb]);
      s[nb + 1] = mma(qFrag, {frag[2], frag[3]}, s[nb + 1]);
    }
  }

  // Score modifications, mask (partial tiles only), then base-2 scores.
  for (int64_t nb = 0; nb < nBlocks; ++nb)
    for (int64_t e = 0; e < 4; ++e) {
      Value row = rows[e / 2];
      Value col = add(add(j0, idx(nb * 8 + e % 2)), mul(t, idx(2)));
      Value sc = modifiedScore(s[nb][e], bIdx, h, row, col);
      if (partial) {
        Value inRange = cmp(P::slt, col, skv);
        Value kept = andI(inRange, keepAt(bIdx, h, row,
                                          arith::MinSIOp::create(b, col, lastKV)));
        sc = sel(kept, sc, fc(negInf));
      }
      s[nb][e] = sigmoid ? sc : arith::MulFOp::create(b, sc, fc(kLog2e));
    }

  Value alpha[2];
  if (sigmoid) {
    // p = sigmoid(s + b); masked (-inf) entries give exactly 0.
    for (auto &blk : s)
      for (Value &x : blk) {
        Value z = arith::AddFOp::create(b, x, fc(spec.sigmoidBias));
        Value e = math::ExpOp::create(b, arith::NegFOp::create(b, z));
        x = arith::DivFOp::create(b, fc(1), arith::AddFOp::create(b, fc(1), e));
      }
    alpha[0] = alpha[1] = fc(1);
  } else {
    for (int r = 0; r < 2; ++r) {
      Value mx = fc(negInf);
      for (auto &blk : s)
        for (int e = 0; e < 2; ++e)
          mx = arith::MaximumFOp::create(b, mx, blk[2 * r + e]);
      mx = quadReduce(mx, /*isMax=*/true);
      Value mNew = arith::MaximumFOp::create(b, st.m[r], mx);
      // Nothing kept yet: subtract 0 so exp2 gives 0, not NaN.
      Value none = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew,
                                         fc(negInf));
      Value mSafe = sel(none, fc(0), mNew);
      alpha[r] = exp2(arith::SubFOp::create(b, st.m[r], mSafe));
      Value sum = fc(0);
      for (auto &blk : s)
        for (int e = 0; e < 2; ++e) {
          Value &x = blk[2 * r + e];
          x = exp2(arith::SubFOp::create(b, x, mSafe));
          sum = arith::AddFOp::create(b, sum, x);
        }
      // Lane-local partial sums; the quad reduction happens once at the end.
      st.l[r] = arith::AddFOp::create(
          b, arith::MulFOp::create(b, st.l[r], alpha[r]), sum);
      st.m[r] = mNew;
    }
  }
  for (int64_t i = 0; i < static_cast<int64_t>(st.o.size()); ++i)
    st.o[i] = arith::MulFOp::create(b, st.o[i], alpha[(i % 4) / 2]);

  // O += P V. P's A fragment for KV columns [16kb, 16kb + 16) is S's C
  // fragments of n-blocks 2kb and 2kb+1. V stored [kv][d] is the K x N
  // operand: b0 = (V[2t][g], V[2t+1][g]), b1 = rows + 8, which is what
  // ldmatrix.trans gives. One x4 covers two n-blocks of Dv: lanes 0-7
  // address KV rows k..k+7 at column n, lanes 8-15 rows k+8.., lanes 16-31
  // the same rows at column n + 8; an odd last n-block takes an x2.
  Value vRow = add(mul(arith::RemUIOp::create(b, quad, idx(2)), idx(8)), r8);
  Value vCol = mul(arith::DivUIOp::create(b, quad, idx(2)), idx(8));
  auto accumulate = [&](ArrayRef<Value> a, int64_t nv, ArrayRef<Value> bFrag) {
    SmallVector<Value> c(st.o.begin() + nv * 4, st.o.begin() + nv * 4 + 4);
    SmallVector<Value> d = mma(a, bFrag, c);
    std::copy(d.begin(), d.end(), st.o.begin() + nv * 4);
  };
  int64_t nvBlocks = dvChunk / 8;
  for (int64_t kb = 0; kb < bk / 16; ++kb) {
    SmallVector<Value> a = {packPair(s[2 * kb][0], s[2 * kb][1]),
                            packPair(s[2 * kb][2], s[2 * kb][3]),
                            packPair(s[2 * kb + 1][0], s[2 * kb + 1][1]),
                            packPair(s[2 * kb + 1][2], s[2 * kb + 1][3])};
    Value row = add(vRow, idx(kb * 16));
    for (int64_t nv = 0; nv + 1 < nvBlocks; nv += 2) {
      SmallVector<Value> frag = ldmatrix(vSmem, stage, row,
                                         add(vCol, idx(nv * 8)), 4,
                                         /*transpose=*/true);
      accumulate(a, nv, {frag[0], frag[1]});
      accumulate(a, nv + 1, {frag[2], frag[3]});
    }
    if (nvBlocks % 2) {
      SmallVector<Value> frag = ldmatrix(vSmem, stage, row,
                                         idx((nvBlocks - 1) * 8), 2,
                                         /*transpose=*/true);
      accumulate(a, nvBlocks - 1, frag);
    }
  }
  return st;
}

gpu::GPUFuncOp MmaKernelEmitter::emit() {
  using P = arith::CmpIPredicate;
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> args = flatKernelArgTypes();
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto fn = gpu::GPUFuncOp::create(b, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(
      {static_cast<int32_t>(32 * warps), 1, 1}));
  // One CTA per SM holds all the fragments: let ptxas use the whole register
  // file per thread rather than trade registers (and spills) for occupancy.
  fn->setAttr("nvvm.maxnreg", b.getI32IntegerAttr(255));
  auto smemSpace =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  kSmem = fn.addWorkgroupAttribution(
      MemRefType::get({stages, bk, spec.dqk + kSmemPad}, elt,
                      MemRefLayoutAttrInterface{}, smemSpace),
      b.getLoc());
  vSmem = fn.addWorkgroupAttribution(
      MemRefType::get({stages, bk, dvChunk + kSmemPad}, elt,
                      MemRefLayoutAttrInterface{}, smemSpace),
      b.getLoc());
  // cp.async and ldmatrix take 16-byte-aligned shared addresses; rows are
  // multiples of 16 bytes, so aligning the buffers is enough.
  for (unsigned i = 0; i < 2; ++i)
    fn.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  bindFlatKernelArgs(entry);
  buildTables();

  Value qt = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value hc = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  Value h = arith::DivUIOp::create(b, hc, idx(numDvChunks()));
  Value chunk = arith::RemUIOp::create(b, hc, idx(numDvChunks()));
  chunkBase = mul(chunk, idx(dvChunk));
  Value bIdx = gpu::BlockIdOp::create(b, gpu::Dimension::z);
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = arith::DivUIOp::create(b, tid, idx(32));
  lane = arith::RemUIOp::create(b, tid, idx(32));
  g = arith::DivUIOp::create(b, lane, idx(4));
  t = arith::RemUIOp::create(b, lane, idx(4));
  Value kh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hk));
  Value vh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hv));
  patternId = patternOfHead ? load(patternOfHead, {h}) : idx(0);
  Value i0 = mul(qt, idx(bq));
  Value i1 = sub(arith::MinSIOp::create(b, add(i0, idx(bq)), sq), idx(1));
  rows[0] = add(add(i0, mul(warp, idx(16))), g);
  rows[1] = add(rows[0], idx(8));

  // Q fragments cost Dqk / 2 registers per lane: held across the KV loop up
  // to Dqk = 64, re-read (from L1) per KV tile beyond, which keeps Dqk = 128
  // and 256 free of spills.
  SmallVector<SmallVector<Value>> qFrags;
  if (spec.dqk <= 64)
    for (int64_t kb = 0; kb < spec.dqk / 16; ++kb)
      qFrags.push_back(loadQFragment(bIdx, h, kb));

  double negInf = -std::numeric_limits<double>::infinity();
  WarpState init;
  init.m[0] = init.m[1] = fc(negInf);
  init.l[0] = init.l[1] = fc(0);
  init.o.assign(dvChunk / 8 * 4, fc(0));
  SmallVector<Value> initVals = init.flatten();
  // Tile classes are CTA-uniform, so every thread takes the same branches
  // around the copies and barriers.
  auto classifyKV = [&](Value kt) {
    Value j0 = mul(kt, idx(bk));
    Value j1 = sub(arith::MinSIOp::create(b, add(j0, idx(bk)), skv), idx(1));
    return classifyTileAt(bIdx, h, i0, i1, j0, j1, qt, kt);
  };
  // Copies tile kt into `stage` unless it is past the end or empty; one
  // commit group per call either way, so wait_group counts stay aligned.
  auto prefetch = [&](Value kt, Value stage) {
    scf::IfOp::create(b, cmp(P::slt, kt, numKVTiles),
                      [&](OpBuilder &, Location) {
                        Value live = notI(classifyKV(kt).first);
                        scf::IfOp::create(b, live, [&](OpBuilder &, Location) {
                          issueTileCopy(stage, bIdx, kh, vh, kt);
                          scf::YieldOp::create(b);
                        });
                        scf::YieldOp::create(b);
                      });
    NVVM::CpAsyncCommitGroupOp::create(b);
  };
  for (int64_t s = 0; s + 1 < stages; ++s)
    prefetch(idx(s), idx(s));
  auto loop = scf::ForOp::create(
      b, idx(0), numKVTiles, idx(1), initVals,
      [&](OpBuilder &, Location, Value kt, ValueRange iter) {
        WarpState st = WarpState::unflatten(iter);
        Value stage = arith::RemUIOp::create(b, kt, idx(stages));
        // Refill the stage computed on in the previous iteration (released
        // by its trailing barrier), then wait for this tile's group only.
        Value ahead = add(kt, idx(stages - 1));
        prefetch(ahead, arith::RemUIOp::create(b, ahead, idx(stages)));
        NVVM::CpAsyncWaitGroupOp::create(b, stages - 1);
        gpu::BarrierOp::create(b);
        Value j0 = mul(kt, idx(bk));
        auto [isEmpty, isFull] = classifyKV(kt);
        // A ragged last tile takes the masked path for its column bound.
        isFull = andI(isFull, cmp(P::sle, add(j0, idx(bk)), skv));
        auto ifEmpty = scf::IfOp::create(
            b, isEmpty,
            [&](OpBuilder &, Location) { scf::YieldOp::create(b, iter); },
            [&](OpBuilder &, Location) {
              auto ifFull = scf::IfOp::create(
                  b, isFull,
                  [&](OpBuilder &, Location) {
                    scf::YieldOp::create(
                        b, emitTile(st, bIdx, h, stage, kt, qFrags, false)
                               .flatten());
                  },
                  [&](OpBuilder &, Location) {
                    scf::YieldOp::create(
                        b, emitTile(st, bIdx, h, stage, kt, qFrags, true)
                               .flatten());
                  });
              scf::YieldOp::create(b, ifFull.getResults());
            });
        gpu::BarrierOp::create(b);
        scf::YieldOp::create(b, ifEmpty.getResults());
      });
  WarpState st = WarpState::unflatten(loop.getResults());

  // Epilogue per row: quad-reduce the sum, normalize, gate, store.
  bool sigmoid = spec.norm == NormKind::Sigmoid;
  for (int r = 0; r < 2; ++r) {
    Value l = quadReduce(st.l[r], /*isMax=*/false);
    Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, l, fc(0));
    Value inv = sigmoid ? fc(1)
                        : sel(empty, fc(0), arith::DivFOp::create(b, fc(1), l));
    Value row = rows[r];
    scf::IfOp::create(b, cmp(P::slt, row, sq), [&](OpBuilder &, Location) {
      for (int64_t nv = 0; nv < dvChunk / 8; ++nv)
        for (int64_t e = 0; e < 2; ++e) {
          Value col = add(add(chunkBase, idx(nv * 8 + e)), mul(t, idx(2)));
          Value o = arith::MulFOp::create(b, st.o[nv * 4 + 2 * r + e], inv);
          if (gate) {
            Value gcol = spec.gate == GateKind::PerHead ? idx(0) : col;
            Value gv = loadF32(gate, {bIdx, h, row, gcol});
            Value ex = math::ExpOp::create(b, arith::NegFOp::create(b, gv));
            o = arith::DivFOp::create(b, o, arith::AddFOp::create(b, fc(1), ex));
          }
          Value off = offset4(bIdx, spec.hq, h, sq, row, spec.dv, col);
          if (elt != f32)
            o = arith::TruncFOp::create(b, elt, o);
          memref::StoreOp::create(b, o, oFlat, off);
        }
      if (lseFlat) {
        // One lane per row, and one chunk per row, writes the LSE.
        Value writer = andI(cmp(P::eq, t, idx(0)), cmp(P::eq, chunkBase, idx(0)));
        scf::IfOp::create(b, writer, [&](OpBuilder &, Location) {
          // m is in base 2: ln(sum e^s) = m ln 2 + ln l. (NVPTX has no
          // libcall for llvm.log2; math.log goes through libdevice.)
          Value lseVal = arith::AddFOp::create(
              b, arith::MulFOp::create(b, st.m[r], fc(M_LN2)),
              math::LogOp::create(b, l));
          Value off = add(mul(add(mul(bIdx, idx(spec.hq)), h), sq), row);
          memref::StoreOp::create(b, sel(empty, fc(negInf), lseVal), lseFlat,
                                  off);
          scf::YieldOp::create(b);
        });
      }
      scf::YieldOp::create(b);
    });
  }
  gpu::ReturnOp::create(b);
  return fn;
}

struct ConvertAttnToNVGPUPass
    : mlir::attn::impl::ConvertAttnToNVGPUBase<ConvertAttnToNVGPUPass> {
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
    FailureOr<AttentionLowering> in = prepareLowering(op, "NVIDIA");
    if (failed(in))
      return failure();
    const AttentionSpec *spec = &in->spec;
    TilingAttr tiling = in->tiling;
    func::FuncOp fn = in->fn;
    if (spec->dtype == DType::F32)
      return op.emitOpError() << "f32 operands have no tensor-core path on "
                                 "NVIDIA yet; use f16 or bf16";
    if (tiling.getBlockQ() != 16 * tiling.getWarps() ||
        tiling.getBlockKv() % 16 != 0)
      return op.emitOpError()
             << "the mma.sync kernel needs block_q = 16 x warps and block_kv "
                "a multiple of 16, got "
             << tiling;
    if (spec->dqk % 16 != 0 || spec->dv % 8 != 0)
      return op.emitOpError() << "the mma.sync kernel needs Dqk % 16 == 0 and "
                                 "Dv % 8 == 0, got "
                              << spec->dqk << " and " << spec->dv;
    int64_t dvChunk = spec->dv / nvvmDvChunks(spec->dv);
    int64_t smemBytes = tiling.getStages() * tiling.getBlockKv() *
                        (spec->dqk + dvChunk + 2 * kSmemPad) *
                        dtypeBytes(spec->dtype);
    if (smemBytes > kStaticSmemLimit)
      return op.emitOpError()
             << "the K/V stages need " << smemBytes
             << " bytes of shared memory, more than the " << kStaticSmemLimit
             << " a kernel may declare statically; lower block_kv (got "
             << tiling << ")";
    std::string name = fn.getSymName().str();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(module.getContext()));
    ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, name + "_kernels");
    MmaKernelEmitter(b, gpuModule, *spec, name, tiling.getBlockQ(),
                     tiling.getBlockKv(), tiling.getWarps(),
                     tiling.getStages(), in->maskFn,
                     in->scoreFn)
        .emit();
    fn.erase();
    return success();
  }
};

} // namespace
