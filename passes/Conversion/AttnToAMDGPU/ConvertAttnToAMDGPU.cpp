//===- ConvertAttnToAMDGPU.cpp - attn.attention -> MFMA kernel ------------===//
//
// FlashAttention-2 for CDNA (wave64) on amdgpu.mfma 16x16x16 (f16 / bf16
// operands, f32 accumulators). Lane l, c = l % 16, g = l / 16; the 16x16x16
// layouts are A[c][4g..4g+3], B[4g..4g+3][c], D: d[i] = D[4g+i][c].
// f32 inputs take four 16x16x4 f32 MFMAs per 16-deep step (A[c][g],
// B[g][c], the same D): step i sums the k = 4g + i of every lane group, so
// the operands are the same 4-element vectors, one element per MFMA, and
// the products stay f32 (no 16-bit rounding, unlike tf32 / xf32).
// Head dims that are multiples of 4 but not of 16 are padded to 16 on chip:
// K's LDS columns and Q's fragment elements past Dqk are zero, and O^T rows
// past Dv are computed (on V^T rows zeroed once) but never stored.
// The kernel works in the transposed space: S^T = K Q^T and O^T = V^T P^T.
// Then every lane owns one query row (c) in both products, so the running
// max / sum and the rescaling of O are lane-local (row reductions only cross
// the 4 lanes c, c+16, c+32, c+48), and the D fragment of S^T (kv 4g+i,
// query c) is exactly the B fragment P^T needs: P never leaves registers.
// Transcendentals go through rocdl.exp2 / llvm.log2 (v_exp_f32 / v_log_f32),
// so no ROCm device library is needed. Under a stream-K schedule the
// workgroups split the (output tile x KV tile) units evenly and merge the
// shares of a split tile through a global workspace (StreamKEmitter.h).
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Dialect/AMDGPU/IR/AMDGPUDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/ROCDLDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOAMDGPU
#include "passes/Passes.h.inc"
} // namespace mlir::attn

#include "Common/AmdgpuMfma.h"
#include "Common/LinearGpuKernel.h"
#include "Common/StreamKEmitter.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

class MfmaKernelEmitter : public StreamKKernelEmitter {
public:
  MfmaKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUModuleOp gpuModule,
                    const AttentionSpec &spec, StringRef name, int64_t blockQ,
                    int64_t blockKV, int64_t waves, Region *maskFn,
                    Region *scoreFn)
      : StreamKKernelEmitter(b, gpuModule.getBody(), spec, name, blockQ,
                             blockKV, /*countTiles=*/false, maskFn, scoreFn),
        gpuModule(gpuModule), waves(waves), dqkP(llvm::alignTo(spec.dqk, 16)),
        dvP(llvm::alignTo(spec.dv, 16)) {}

  gpu::GPUFuncOp emit();
  /// LDS of the K and V^T tiles (and the KV waves' merge slots).
  int64_t ldsBytes() const {
    return amdgpuLdsBytes(spec.dqk, spec.dv, bq, bk, waves,
                          dtypeBytes(spec.dtype));
  }

private:
  // Lane state across KV tiles: max (of the raw scores, equal in the 4
  // lanes of a row), this lane's part of the sum, then O^T fragments (Dv
  // padded to 16, / 4).
  SmallVector<Value> initialState() override;
  SmallVector<Value> mergeShare(ValueRange acc,
                                function_ref<Value(size_t)> share) override;
  /// With KV waves only slice 0, which holds the merged state.
  Value threadsHoldRows() override {
    if (kvWaves() == 1)
      return waveHasRows;
    return andI(waveHasRows,
                cmp(arith::CmpIPredicate::eq, kvWave, idx(0)));
  }
  /// KV waves (the NVIDIA kernel's KV warps, nvvmKVWarps): wave w takes
  /// row block w mod (block_q / 16) and the KV slice w / (block_q / 16) of
  /// waveCols() columns of every tile; after the KV loop the slices merge
  /// into slice 0 through LDS slots of their own.
  int64_t kvWaves() const { return nvvmKVWarps(bq, waves); }
  int64_t waveCols() const { return bk / kvWaves(); }
  SmallVector<Value> combineKVWaves(ValueRange state);
  RowGroup rowGroup() const override { return amdgpuStreamKRowGroup(); }
  /// Stores the rows of the tile tileLoop walked last (qRow, laneHead).
  void epilogue(ValueRange state, Value bIdx, Value h) override;
  /// The epilogue of a wave holding a finished state.
  void storeRows(ValueRange state, Value bIdx);
  int64_t blockThreads() const override { return 64 * waves; }
  int64_t stateWordsPerThread() const override {
    return amdgpuStreamKStateWords(spec.dv);
  }
  std::pair<Value, SmallVector<Value>> flagElement() override {
    // K's LDS tile: every tile ends with a barrier after its last read.
    return {kLds, {idx(0), idx(0)}};
  }
  /// The KV loop of (packed) query tile qt of batch bIdx and head (group's
  /// first head) h0 over its live KV tiles, within [kFrom, kTo) when given
  /// (a stream-K share). Sets qRow and laneHead.
  SmallVector<Value> tileLoop(Value bIdx, Value h0, Value qt,
                              Value kFrom = {}, Value kTo = {});
  /// The workgroups' walk of their stream-K shares.
  void emitStreamK();

  /// A single v_exp_f32 (rocdl.exp2). llvm.exp2 wraps it in the scaling
  /// that keeps subnormal results (a compare, two selects, an add and a
  /// v_ldexp per element); a softmax term below 2^-126 of the row's
  /// maximum is nothing beside the 1 the maximum adds to the row sum.
  Value exp2(Value x) override { return ROCDL::ROCDLExp2::create(b, f32, x); }
  Value expF(Value x) {
    return exp2(arith::MulFOp::create(b, x, fc(kLog2e)));
  }
  Value sigmoid(Value x) {
    return arith::DivFOp::create(
        b, fc(1),
        arith::AddFOp::create(b, fc(1), expF(arith::NegFOp::create(b, x))));
  }
  Value tanhF(Value x) override {
    // tanh(x) = sign(x) (1 - e^-2|x|) / (1 + e^-2|x|): exact form, no libm.
    // (math.absf would become an __ocml call on ROCDL.)
    Value neg = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, x, fc(0));
    Value ax = sel(neg, arith::NegFOp::create(b, x), x);
    Value e = expF(arith::MulFOp::create(b, ax, fc(-2)));
    Value r = arith::DivFOp::create(b, arith::SubFOp::create(b, fc(1), e),
                                    arith::AddFOp::create(b, fc(1), e));
    return sel(neg, arith::NegFOp::create(b, r), r);
  }
  /// Four consecutive elements at `offset` of a flat memref.
  Value load4(Value flat, Value offset) {
    return vector::LoadOp::create(b, VectorType::get({4}, elt), flat, offset);
  }
  /// Four zero elements, load4's type.
  Value zero4() {
    auto type = VectorType::get({4}, elt);
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getFloatAttr(elt, 0.0)));
  }
  Value pack4(ArrayRef<Value> vals) {
    SmallVector<Value> elts;
    for (Value v : vals)
      elts.push_back(v.getType() == elt ? v
                                        : arith::TruncFOp::create(b, elt, v));
    return vector::FromElementsOp::create(b, VectorType::get({4}, elt), elts);
  }
  /// c += a * b on one 16x16x16 tile (lane operands of 4 elements; f32:
  /// four 16x16x4 MFMAs); c is 4 f32 values.
  SmallVector<Value> mfma(Value a, Value bFrag, ArrayRef<Value> c);
  Value reduceAcrossGroups(Value x, bool isMax);
  /// One live KV tile already staged in LDS: in the waves that own a row
  /// of the tile, the products and the softmax step; then the barrier
  /// after which LDS may be overwritten.
  SmallVector<Value> emitTile(ValueRange state, Value bIdx, Value h,
                              Value kt, ArrayRef<Value> qFrags, bool partial);
  SmallVector<Value> computeTile(ValueRange state, Value bIdx, Value h,
                                 Value j0, ArrayRef<Value> qFrags,
                                 bool partial);

  /// This thread's part of rows [j0, j0 + bk) of one head of a flat
  /// [B, H, Skv, dim] tensor: the workgroup's threads take 4 contiguous
  /// elements each per step (rows past Skv repeat the last row; their
  /// scores are masked). Loaded into registers a tile ahead, so the global
  /// loads of tile j + 1 are in flight while tile j is computed.
  SmallVector<Value> loadTile(Value flat, int64_t heads, Value bIdx,
                              Value head, int64_t dim, Value j0);
  /// Writes loadTile's values into the LDS tile `lds` [bk][dim], or
  /// (`transposed`) its transpose [dim][bk + pad].
  void storeTile(Value lds, ValueRange vals, int64_t dim,
                 bool transposed = false);
  /// Element steps of loadTile: ceil(bk dim / (4 threads)); the last one
  /// partial when 4 threads does not divide bk dim.
  int64_t tileSteps(int64_t dim) const {
    return llvm::divideCeil(bk * dim, 4 * blockThreads());
  }
  /// The element step i of this thread starts at (flat index in the tile).
  Value tileElement(int64_t i) {
    return add(mul(tid, idx(4)), idx(i * 4 * blockThreads()));
  }
  /// Elements of padding per row of the transposed V tile [Dv][bk + pad]:
  /// 4 keeps its 8-byte reads aligned and puts the 16 lanes reading one
  /// column's rows in distinct banks; it stays within the 32 bytes per KV
  /// row the tiling budgets for padding, else 0 (correct, with conflicts).
  int64_t vPad() const {
    return 4 * dtypeBytes(spec.dtype) * dvP <= 32 * bk ? 4 : 0;
  }

  /// Zeroes the LDS the staging never writes and the MFMAs read: K's
  /// columns past Dqk and V^T's rows past Dv (once, before the first tile).
  void zeroPadding();

  gpu::GPUModuleOp gpuModule;
  int64_t waves;
  /// Head dims rounded up to the MFMA's 16.
  int64_t dqkP, dvP;
  // K [bk][Dqk] and V^T [Dv][bk + vPad()] tiles in LDS, shared by the
  // waves of the workgroup. V is stored transposed so that the A operand
  // of O^T += V^T P^T (V^T[dcol][4g..4g+3]) is one 8-byte read, as K's is.
  Value kLds, vLds;
  /// The KV waves' merge slots (amdgpuKVWaveMergeBytes; KV waves only).
  Value mergeLds;
  Value c, g, wave, lane;
  /// This wave's row block, its KV slice and the slice's first column in a
  /// tile (the last two with KV waves only).
  Value rowWave, kvWave, kvCol0;
  /// This lane's query row and head in the current tile; whether its wave
  /// owns a row of the tile (wave-uniform: a decode tile has 1 or G rows).
  Value qRow, laneHead, waveHasRows;
};

SmallVector<Value> MfmaKernelEmitter::mfma(Value a, Value bFrag,
                                           ArrayRef<Value> cIn) {
  Value d = mfmaAccumulator(b, cIn);
  if (elt != f32)
    return mfmaElements(b, amdgpuMfma16x16(b, 16, a, bFrag, d));
  for (int64_t i = 0; i < 4; ++i) {
    auto at = [&](Value vec) {
      return vector::ExtractOp::create(b, vec, ArrayRef<int64_t>{i});
    };
    d = amdgpuMfma16x16(b, 4, at(a), at(bFrag), d);
  }
  return mfmaElements(b, d);
}

Value MfmaKernelEmitter::reduceAcrossGroups(Value x, bool isMax) {
  // A query row's KV columns sit in lanes c, c+16, c+32, c+48.
  return xorReduce(x, {16, 32}, /*width=*/64, isMax);
}

SmallVector<Value> MfmaKernelEmitter::loadTile(Value flat, int64_t heads,
                                               Value bIdx, Value head,
                                               int64_t dim, Value j0) {
  int64_t total = bk * dim;
  Value lastKV = sub(skv, idx(1));
  SmallVector<Value> vals;
  for (int64_t i = 0; i < tileSteps(dim); ++i) {
    // A partial last step reads an in-bounds element; storeTile drops it.
    Value e = arith::MinUIOp::create(b, tileElement(i), idx(total - 4));
    Value row = arith::DivUIOp::create(b, e, idx(dim));
    Value col = arith::RemUIOp::create(b, e, idx(dim));
    Value src = arith::MinSIOp::create(b, add(j0, row), lastKV);
    vals.push_back(load4(flat, offset4(bIdx, heads, head, skv, src, dim, col)));
  }
  return vals;
}

void MfmaKernelEmitter::storeTile(Value lds, ValueRange vals, int64_t dim,
                                  bool transposed) {
  int64_t total = bk * dim;
  for (auto [i, v] : llvm::enumerate(vals)) {
    Value e = tileElement(i);
    auto store = [&, v = v] {
      Value row = arith::DivUIOp::create(b, e, idx(dim));
      Value col = arith::RemUIOp::create(b, e, idx(dim));
      if (!transposed) {
        vector::StoreOp::create(b, v, lds, ValueRange{row, col});
        return;
      }
      for (int64_t k = 0; k < 4; ++k)
        memref::StoreOp::create(
            b, vector::ExtractOp::create(b, v, ArrayRef<int64_t>{k}), lds,
            ValueRange{add(col, idx(k)), row});
    };
    if ((static_cast<int64_t>(i) + 1) * 4 * blockThreads() <= total)
      store();
    else
      ifThen(cmp(arith::CmpIPredicate::ult, e, idx(total)), store);
  }
}

SmallVector<Value> MfmaKernelEmitter::emitTile(ValueRange state, Value bIdx,
                                               Value h, Value kt,
                                               ArrayRef<Value> qFrags,
                                               bool partial) {
  // A KV wave computes its slice of the tile: columns kvCol0 on.
  Value j0 = mul(kt, idx(bk));
  if (kvCol0)
    j0 = add(j0, kvCol0);
  // Waves without rows keep the empty state (m = -inf, l = 0, O = 0),
  // which the epilogue never stores and a stream-K merge weighs by 0.
  auto ifRows = scf::IfOp::create(
      b, waveHasRows,
      [&](OpBuilder &, Location) {
        scf::YieldOp::create(
            b, computeTile(state, bIdx, h, j0, qFrags, partial));
      },
      [&](OpBuilder &, Location) { scf::YieldOp::create(b, state); });
  // The next tile overwrites LDS only after every wave is done with this one.
  gpu::BarrierOp::create(b);
  return SmallVector<Value>(ifRows.getResults());
}

SmallVector<Value> MfmaKernelEmitter::computeTile(ValueRange state,
                                                  Value bIdx, Value h,
                                                  Value j0,
                                                  ArrayRef<Value> qFrags,
                                                  bool partial) {
  using P = arith::CmpIPredicate;
  double negInf = -std::numeric_limits<double>::infinity();
  bool isSigmoid = spec.norm == NormKind::Sigmoid;
  Value m = state[0], l = state[1];
  SmallVector<Value> o(state.begin() + 2, state.end());
  Value lastKV = sub(skv, idx(1));
  int64_t kvBlocks = waveCols() / 16;
  // The tile's LDS rows of this wave's slice start at kvCol0.
  Value sliceRow = kvCol0 ? add(c, kvCol0) : c;

  // S^T blocks: s[kb][i] = S[qRow][j0 + 16 kb + 4g + i].
  SmallVector<SmallVector<Value>> s(kvBlocks, SmallVector<Value>(4, fc(0)));
  for (int64_t kb = 0; kb < kvBlocks; ++kb) {
    Value kvRow = add(idx(16 * kb), sliceRow);
    for (int64_t db = 0; db < dqkP / 16; ++db) {
      Value col = add(idx(16 * db), mul(g, idx(4)));
      Value a = vector::LoadOp::create(b, VectorType::get({4}, elt), kLds,
                                       ValueRange{kvRow, col});
      s[kb] = mfma(a, qFrags[db], s[kb]);
    }
  }
  for (int64_t kb = 0; kb < kvBlocks; ++kb)
    for (int64_t i = 0; i < 4; ++i) {
      Value col = add(add(j0, idx(16 * kb + i)), mul(g, idx(4)));
      Value sc = modifiedScore(s[kb][i], bIdx, h, qRow, col);
      if (partial) {
        Value kept =
            andI(cmp(P::slt, col, skv),
                 keepAt(bIdx, h, qRow, arith::MinSIOp::create(b, col, lastKV)));
        sc = sel(kept, sc, fc(negInf));
      }
      s[kb][i] = sc;
    }

  Value alpha = fc(1);
  if (isSigmoid) {
    for (auto &blk : s)
      for (Value &x : blk)
        x = sigmoid(arith::AddFOp::create(b, x, fc(spec.sigmoidBias)));
  } else {
    Value mx = fc(negInf);
    for (auto &blk : s)
      for (Value x : blk)
        mx = arith::MaximumFOp::create(b, mx, x);
    mx = reduceAcrossGroups(mx, /*isMax=*/true);
    Value mNew = arith::MaximumFOp::create(b, m, mx);
    Value none =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew, fc(negInf));
    Value mSafe = sel(none, fc(0), mNew);
    // p = 2^(s log2(e) - m log2(e)), one fma per score so s log2(e) is
    // never rounded on its own; m log2(e) is rounded the same way for the
    // previous max, a common factor of the row that 1 / l cancels (as the
    // NVIDIA kernels do).
    Value mScaled = arith::MulFOp::create(b, mSafe, fc(kLog2e));
    alpha = exp2(arith::SubFOp::create(
        b, arith::MulFOp::create(b, m, fc(kLog2e)), mScaled));
    Value negM = arith::NegFOp::create(b, mScaled);
    Value sum = fc(0);
    for (auto &blk : s)
      for (Value &x : blk) {
        x = exp2(LLVM::FMAOp::create(b, x, fc(kLog2e), negM));
        sum = arith::AddFOp::create(b, sum, x);
      }
    l = arith::AddFOp::create(b, arith::MulFOp::create(b, l, alpha), sum);
    m = mNew;
  }
  for (Value &x : o)
    x = arith::MulFOp::create(b, x, alpha);

  // O^T += V^T P^T: A = V^T[dcol = c][kv = 4g..], B = P^T = s[kb] as is.
  Value sliceCol = mul(g, idx(4));
  if (kvCol0)
    sliceCol = add(sliceCol, kvCol0);
  for (int64_t kb = 0; kb < kvBlocks; ++kb) {
    Value pFrag = pack4(s[kb]);
    for (int64_t dcb = 0; dcb < dvP / 16; ++dcb) {
      Value dcol = add(idx(16 * dcb), c);
      Value vt = vector::LoadOp::create(
          b, VectorType::get({4}, elt), vLds,
          ValueRange{dcol, add(idx(16 * kb), sliceCol)});
      SmallVector<Value> acc(o.begin() + 4 * dcb, o.begin() + 4 * dcb + 4);
      SmallVector<Value> d = mfma(vt, pFrag, acc);
      std::copy(d.begin(), d.end(), o.begin() + 4 * dcb);
    }
  }
  SmallVector<Value> next = {m, l};
  next.append(o.begin(), o.end());
  return next;
}

gpu::GPUFuncOp MfmaKernelEmitter::emit() {
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> args = flatKernelArgTypes();
  // Stream-K / split_kv: the workspace follows the B, Sq, Skv scalars.
  if (splitsKV())
    args.push_back(MemRefType::get({ShapedType::kDynamic}, f32));
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto fn = gpu::GPUFuncOp::create(b, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(blockThreads()), 1, 1}));
  auto ldsSpace = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  kLds = fn.addWorkgroupAttribution(
      MemRefType::get({bk, dqkP}, elt, MemRefLayoutAttrInterface{},
                      ldsSpace),
      b.getLoc());
  vLds = fn.addWorkgroupAttribution(
      MemRefType::get({dvP, bk + vPad()}, elt, MemRefLayoutAttrInterface{},
                      ldsSpace),
      b.getLoc());
  if (kvWaves() > 1)
    mergeLds = fn.addWorkgroupAttribution(
        MemRefType::get({amdgpuKVWaveMergeBytes(spec.dv, bq, waves) / 4}, f32,
                        MemRefLayoutAttrInterface{}, ldsSpace),
        b.getLoc());
  // Rows are read (K: also written) as 8-byte vectors: align the tiles so
  // the backend can use ds_read_b64 / ds_write_b64.
  for (unsigned i = 0; i < fn.getNumWorkgroupAttributions(); ++i)
    fn.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  bindFlatKernelArgs(entry);
  buildTables();

  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  wave = arith::DivUIOp::create(b, tid, idx(64));
  lane = arith::RemUIOp::create(b, tid, idx(64));
  c = arith::RemUIOp::create(b, lane, idx(16));
  g = arith::DivUIOp::create(b, lane, idx(16));
  rowWave = wave;
  if (kvWaves() > 1) {
    int64_t rowWaves = bq / 16;
    kvWave = arith::DivUIOp::create(b, wave, idx(rowWaves));
    kvCol0 = mul(kvWave, idx(waveCols()));
    rowWave = arith::RemUIOp::create(b, wave, idx(rowWaves));
  }
  zeroPadding();
  if (splitsKV()) {
    // (Workgroup attributions follow the kernel's arguments in the block.)
    workspace = entry->getArgument(args.size() - 1);
    emitStreamK();
  } else {
    Value qt =
        queryTileOfBlock(gpu::BlockIdOp::create(b, gpu::Dimension::x));
    // The head, or under pack_gqa the first head of the group.
    Value h0 = gpu::BlockIdOp::create(b, gpu::Dimension::y);
    if (packGroup > 1)
      h0 = mul(h0, idx(packGroup));
    Value bIdx = gpu::BlockIdOp::create(b, gpu::Dimension::z);
    epilogue(tileLoop(bIdx, h0, qt), bIdx, h0);
  }
  gpu::ReturnOp::create(b);
  return fn;
}

void MfmaKernelEmitter::zeroPadding() {
  // Ordered before the MFMAs by the first tile's staging barrier.
  int64_t threads = blockThreads();
  Value zero = arith::ConstantOp::create(b, elt, b.getFloatAttr(elt, 0.0));
  auto zeroBlock = [&](Value lds, int64_t rows, int64_t row0, int64_t cols,
                       int64_t col0) {
    if (rows <= 0 || cols <= 0)
      return;
    scf::ForOp::create(
        b, tid, idx(rows * cols), idx(threads), ValueRange{},
        [&](OpBuilder &, Location, Value e, ValueRange) {
          Value row = add(arith::DivUIOp::create(b, e, idx(cols)), idx(row0));
          Value col = add(arith::RemUIOp::create(b, e, idx(cols)), idx(col0));
          memref::StoreOp::create(b, zero, lds, ValueRange{row, col});
          scf::YieldOp::create(b);
        });
  };
  zeroBlock(kLds, bk, 0, dqkP - spec.dqk, spec.dqk);
  zeroBlock(vLds, dvP - spec.dv, spec.dv, bk + vPad(), 0);
}

SmallVector<Value> MfmaKernelEmitter::initialState() {
  SmallVector<Value> init = {fc(-std::numeric_limits<double>::infinity()),
                             fc(0)};
  init.append(dvP / 4, fc(0));
  return init;
}

SmallVector<Value>
MfmaKernelEmitter::mergeShare(ValueRange acc,
                              function_ref<Value(size_t)> share) {
  // Every workgroup maps lanes to rows and columns alike: a share merges
  // element by element (l stays this lane's part of the row's sum).
  Value m = acc[0], l = acc[1];
  auto [wA, wB] = mergeWeights(m, l, share(0), share(1));
  SmallVector<Value> out = {m, l};
  for (size_t i = 2; i < acc.size(); ++i)
    out.push_back(
        arith::AddFOp::create(b, arith::MulFOp::create(b, acc[i], wA),
                              arith::MulFOp::create(b, share(i), wB)));
  return out;
}

SmallVector<Value> MfmaKernelEmitter::tileLoop(Value bIdx, Value h0, Value qt,
                                               Value kFrom, Value kTo) {
  using P = arith::CmpIPredicate;
  Value kh = arith::DivUIOp::create(b, h0, idx(spec.hq / spec.hk));
  Value vh = arith::DivUIOp::create(b, h0, idx(spec.hq / spec.hv));
  patternId = patternOfHead ? load(patternOfHead, {h0}) : idx(0);
  // The tile's (packed) rows [r0, r1] and the query rows they cover; this
  // lane's row and its head (packed row r: query row r / G of head
  // h0 + r % G).
  auto [r0, r1] = tileRowSpan(qt);
  Value i0 = rowAndHead(r0, idx(0)).first;
  Value i1 = rowAndHead(r1, idx(0)).first;
  Value waveRow0 = add(r0, mul(rowWave, idx(16)));
  waveHasRows = cmp(P::ule, waveRow0, r1);
  std::tie(qRow, laneHead) = rowAndHead(add(waveRow0, c), h0);
  // The same clamp as the bias and block-bit loads', so they share it.
  Value qLoad = lastRowAtMost(qRow);

  // Q^T fragments (B operand): Q[qRow][16 db + 4g .. +3], held in registers
  // (zero past Dqk).
  SmallVector<Value> qFrags;
  for (int64_t db = 0; db < dqkP / 16; ++db) {
    Value col = add(idx(16 * db), mul(g, idx(4)));
    bool ragged = 16 * (db + 1) > spec.dqk;
    Value frag = load4(
        qFlat, offset4(bIdx, spec.hq, laneHead, sq, qLoad, spec.dqk,
                       ragged ? arith::MinUIOp::create(b, col, idx(spec.dqk - 4))
                              : col));
    if (ragged)
      frag = sel(cmp(P::ult, col, idx(spec.dqk)), frag, zero4());
    qFrags.push_back(frag);
  }

  Value kvBegin = firstLiveKVTile(i0);
  Value kvEnd = liveKVTiles(i1);
  if (kFrom) {
    kvBegin = arith::MaxSIOp::create(b, kvBegin, kFrom);
    kvEnd = arith::MinSIOp::create(b, kvEnd, kTo);
  }
  // K and V of tile kt travel in the loop's registers: loaded in the
  // previous iteration (the first before the loop), written to LDS at the
  // top of the iteration, then the next tile's loads are issued before
  // this tile's products. (An empty tile still loads its successor: it
  // never stages, and empty tiles inside the live range are rare.)
  auto loadBoth = [&](Value kt) {
    Value j0 = mul(kt, idx(bk));
    SmallVector<Value> vals =
        loadTile(kFlat, spec.hk, bIdx, kh, spec.dqk, j0);
    llvm::append_range(vals, loadTile(vFlat, spec.hv, bIdx, vh, spec.dv, j0));
    return vals;
  };
  int64_t kSteps = tileSteps(spec.dqk);
  SmallVector<Value> init = initialState();
  size_t stateSize = init.size();
  // No tile (an empty KV sequence) loads nothing: Skv - 1 would be no row.
  int64_t regCount = kSteps + tileSteps(spec.dv);
  auto first = scf::IfOp::create(
      b, cmp(P::slt, kvBegin, kvEnd),
      [&](OpBuilder &, Location) { scf::YieldOp::create(b, loadBoth(kvBegin)); },
      [&](OpBuilder &, Location) {
        scf::YieldOp::create(b, SmallVector<Value>(regCount, zero4()));
      });
  llvm::append_range(init, first.getResults());
  Value lastTile = sub(kvEnd, idx(1));
  auto loop = scf::ForOp::create(
      b, kvBegin, kvEnd, idx(1), init,
      [&](OpBuilder &, Location, Value kt, ValueRange iter) {
        ValueRange state = iter.take_front(stateSize);
        ValueRange regs = iter.drop_front(stateSize);
        Value j0 = mul(kt, idx(bk));
        Value j1 = sub(arith::MinSIOp::create(b, add(j0, idx(bk)), skv), idx(1));
        // The group's heads share the mask (pack_gqa's rule).
        auto [isEmpty, isFull] =
            classifyTileAt(bIdx, h0, i0, i1, j0, j1, qt, kt);
        isFull = andI(isFull, cmp(P::sle, add(j0, idx(bk)), skv));
        // Stage K and V once per workgroup instead of once per wave. Tile
        // classes are workgroup-uniform, so every thread reaches the
        // barriers.
        ifThen(notI(isEmpty), [&] {
          storeTile(kLds, regs.take_front(kSteps), spec.dqk);
          storeTile(vLds, regs.drop_front(kSteps), spec.dv,
                    /*transposed=*/true);
          gpu::BarrierOp::create(b);
        });
        SmallVector<Value> next =
            loadBoth(arith::MinSIOp::create(b, add(kt, idx(1)), lastTile));
        SmallVector<Value> results(
            dispatchTile(isEmpty, isFull, state, [&](bool partial) {
              return emitTile(state, bIdx, laneHead, kt, qFrags, partial);
            }));
        llvm::append_range(results, next);
        scf::YieldOp::create(b, results);
      });
  return combineKVWaves(loop.getResults().take_front(stateSize));
}

SmallVector<Value> MfmaKernelEmitter::combineKVWaves(ValueRange state) {
  if (kvWaves() == 1)
    return SmallVector<Value>(state);
  // The last tile's barrier ordered every wave's KV loop; the slots are an
  // LDS buffer of their own.
  return mergeKVSlices(state, mergeLds, mul(rowWave, idx(kvWaves() / 2)),
                       kvWave, kvWaves(), lane, /*lanes=*/64);
}

void MfmaKernelEmitter::emitStreamK() {
  using P = arith::CmpIPredicate;
  Value p = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  groupWorkspace = idx(0);
  Value perWorker = streamKPerWorker();
  // Everything below is workgroup-uniform, so the barriers in the KV loop
  // are.
  forEachStreamKShare(p, perWorker, [&](Value tile, Value tileStart,
                                        Value kFrom, Value kTo) {
    // (Not structured bindings: the lambdas below capture them.)
    Value bIdx, h0, qt;
    std::tie(bIdx, h0, qt) = splitOutputTile(tile);
    SmallVector<Value> state = tileLoop(bIdx, h0, qt, kFrom, kTo);
    Value whole = wholeTile(kFrom, kTo);
    ifThenElse(
        whole, [&] { epilogue(state, bIdx, h0); },
        [&] {
          finishShare(state, p, tileStart, cmp(P::ugt, kFrom, idx(0)),
                      perWorker, bIdx, h0);
        });
  });
}

void MfmaKernelEmitter::epilogue(ValueRange state, Value bIdx, Value) {
  // With KV waves, slice 0 holds the merged state; the others store nothing.
  if (kvWaves() > 1) {
    ifThen(cmp(arith::CmpIPredicate::eq, kvWave, idx(0)),
           [&] { storeRows(state, bIdx); });
    return;
  }
  storeRows(state, bIdx);
}

void MfmaKernelEmitter::storeRows(ValueRange state, Value bIdx) {
  // This lane's query row, O columns 16 dcb + 4g + i.
  using P = arith::CmpIPredicate;
  double negInf = -std::numeric_limits<double>::infinity();
  bool isSigmoid = spec.norm == NormKind::Sigmoid;
  Value m = state[0];
  Value l = reduceAcrossGroups(state[1], /*isMax=*/false);
  Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, l, fc(0));
  Value inv = isSigmoid ? fc(1)
                        : sel(empty, fc(0), arith::DivFOp::create(b, fc(1), l));
  Value h = laneHead;
  ifThen(cmp(P::slt, qRow, sq), [&] {
    for (int64_t dcb = 0; dcb < dvP / 16; ++dcb) {
      auto store = [&] {
        for (int64_t i = 0; i < 4; ++i) {
          Value col = add(idx(16 * dcb + i), mul(g, idx(4)));
          Value o = arith::MulFOp::create(b, state[2 + 4 * dcb + i], inv);
          if (gate) {
            Value gcol = spec.gate == GateKind::PerHead ? idx(0) : col;
            o = arith::MulFOp::create(
                b, o, sigmoid(loadF32(gate, {bIdx, h, qRow, gcol})));
          }
          if (elt != f32)
            o = arith::TruncFOp::create(b, elt, o);
          memref::StoreOp::create(
              b, o, oFlat, offset4(bIdx, spec.hq, h, sq, qRow, spec.dv, col));
        }
      };
      // The padded block: only the lane groups whose 4 columns exist.
      if (16 * (dcb + 1) <= spec.dv)
        store();
      else
        ifThen(cmp(P::ult, add(idx(16 * dcb), mul(g, idx(4))), idx(spec.dv)),
               store);
    }
    if (lseFlat) {
      ifThen(cmp(P::eq, g, idx(0)), [&] {
        // l sums 2^(s log2(e) - M), M = m log2(e) rounded as in the
        // softmax: ln(sum e^s) = (M + log2 l) ln 2.
        Value mScaled = arith::MulFOp::create(b, m, fc(kLog2e));
        Value lseVal = arith::MulFOp::create(
            b, arith::AddFOp::create(b, mScaled, intrinsic("llvm.log2", l)),
            fc(M_LN2));
        lseVal = withAlibiRowShift(lseVal, h, qRow);
        Value off = add(mul(add(mul(bIdx, idx(spec.hq)), h), sq), qRow);
        memref::StoreOp::create(b, sel(empty, fc(negInf), lseVal), lseFlat,
                                off);
      });
    }
  });
}

struct ConvertAttnToAMDGPUPass
    : mlir::attn::impl::ConvertAttnToAMDGPUBase<ConvertAttnToAMDGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (LinearAttentionOp op : collectOps<LinearAttentionOp>(module))
      if (failed(lowerLinearAttentionToGpu(module, op, TargetKind::ROCDL)))
        return signalPassFailure();
    for (AttentionOp op : collectOps<AttentionOp>(module))
      if (failed(lower(module, op)))
        return signalPassFailure();
  }

  LogicalResult lower(ModuleOp module, AttentionOp op) {
    FailureOr<AttentionLowering> in =
        prepareLowering(op);
    if (failed(in))
      return failure();
    const AttentionSpec *spec = &in->spec;
    TilingAttr tiling = in->tiling;
    func::FuncOp fn = in->fn;
    // Waves past block_q / 16 split the KV tile (KV waves): each slice is
    // whole 16-column MFMA blocks.
    int64_t rowWaves = tiling.getBlockQ() / 16;
    if (tiling.getBlockQ() % 16 != 0 || rowWaves > tiling.getWarps() ||
        tiling.getWarps() % rowWaves != 0 ||
        tiling.getBlockKv() % (16 * (tiling.getWarps() / rowWaves)) != 0)
      return op.emitOpError()
             << "the MFMA kernel needs block_q = 16 x r (r row blocks), "
                "waves = r x n (n KV waves a row block) and block_kv a "
                "multiple of 16 x n, got "
             << tiling;
    // Rows of Q, K, V, O are read and written 4 elements at a time.
    if (spec->dqk % 4 != 0 || spec->dv % 4 != 0)
      return op.emitOpError() << "the MFMA kernel needs Dqk and Dv multiples "
                                 "of 4, got "
                              << spec->dqk << " and " << spec->dv;
    std::string name = fn.getSymName().str();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(module.getContext()));
    ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, name + "_kernels");
    MfmaKernelEmitter emitter(b, gpuModule, *spec, name, tiling.getBlockQ(),
                              tiling.getBlockKv(), tiling.getWarps(),
                              in->maskFn, in->scoreFn);
    // CDNA2 / CDNA3 give a workgroup 64 KiB of LDS.
    constexpr int64_t kLdsBytes = 64 * 1024;
    if (emitter.ldsBytes() > kLdsBytes) {
      gpuModule.erase();
      return op.emitOpError()
             << "tiling " << tiling << " needs " << emitter.ldsBytes()
             << " bytes of LDS (K and V tiles, KV-wave merge slots); a "
                "workgroup has "
             << kLdsBytes;
    }
    emitter.setPackGroup(in->packGroup);
    emitter.setKVSchedule(in->streamCtas, in->kvSplits);
    emitter.emit();
    fn.erase();
    return success();
  }
};

} // namespace
