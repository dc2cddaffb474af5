//===- ConvertAttnToNVGPU.cpp - attn.attention -> NVIDIA kernels ----------===//
//
// FlashAttention-2 on one CTA per (query tile, head, Dv chunk, batch). Both
// kernels share the KV pipeline: K and V tiles are staged in shared memory
// by the whole CTA with cp.async (16-byte copies, L1 bypassed) into `stages`
// buffers, so the copies of the next stages - 1 live KV tiles are in flight
// while the warps compute on the current one; empty tiles are neither
// copied nor computed, full tiles skip the mask code.
//
// f16 / bf16: tensor cores. Each warp owns 16 query rows and keeps Q, the
// running max / sum and the O accumulator in registers as m16n8k16 fragments
// (PTX ISA "mma.m16n8k16" layouts; lane l, g = l / 4, t = l % 4):
//   A (16x16, row-major): a0 = A[g][2t..], a1 = A[g+8][2t..], a2 = A[g][2t+8..],
//                         a3 = A[g+8][2t+8..]
//   B (16x8, K x N):      b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]
//   C (16x8, f32):        c0,c1 = C[g][2t..2t+1], c2,c3 = C[g+8][2t..2t+1]
// The C fragments of S for KV columns [16k, 16k+16) are exactly the A
// fragment of P for the PV product, so P never leaves registers. B
// fragments come from shared memory by ldmatrix (.trans for V, which is
// stored K x N); rows are padded by 16 bytes so the 8 row addresses of an
// ldmatrix phase fall in distinct banks.
//
// f32: no tensor-core type keeps f32 accuracy (tf32 has a 10-bit mantissa),
// so a SIMT kernel gives each thread one query row and does the dot
// products with FMAs on 4-wide vectors; every lane of a warp reads the same
// K / V element, which shared memory broadcasts.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"
#include "attn/Target/OpaqueCopy.h"
#include "attn/Target/TargetInfo.h"
#include "attn/Target/WgmmaAsm.h"
#include "attn/Target/WgmmaLayout.h"

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
#include <optional>
#include <type_traits>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTONVGPU
#include "passes/Passes.h.inc"
} // namespace mlir::attn

#include "Common/StreamKEmitter.h"
#include "Common/LinearGpuKernel.h"
#include "Common/NvvmMma.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Elements in 16 bytes: one cp.async, the row padding, the SIMT vectors.
int64_t elemsPer16B(DType t) { return 16 / dtypeBytes(t); }

/// A thread's cp.async copies of one tile beyond which they are a loop.
constexpr int64_t kMaxUnrolledCopies = 8;

/// The KV pipeline and the per-row math both kernels share; subclasses say
/// how a CTA's threads own query rows.
class StagedKernelEmitter : public StreamKKernelEmitter {
public:
  StagedKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUModuleOp gpuModule,
                      const AttentionSpec &spec, StringRef name,
                      int64_t blockQ, int64_t blockKV, int64_t warps,
                      int64_t stages, Region *maskFn, Region *scoreFn)
      : StreamKKernelEmitter(b, gpuModule.getBody(), spec, name, blockQ,
                             blockKV, /*countTiles=*/false, maskFn, scoreFn),
        gpuModule(gpuModule), warps(warps), stages(stages),
        dvChunk(spec.dv / nvvmDvChunks(spec.dv, dtypeBytes(spec.dtype))),
        pad(elemsPer16B(spec.dtype)) {}

  /// Stream-K (LeanAttention) and split_kv (setKVSchedule) run their
  /// workers per Dv chunk instead of one CTA per query tile. Only the
  /// mma.sync and SIMT kernels.
  gpu::GPUFuncOp emit();
  /// Persistent CTAs (the warp-specialized kernel only): the grid is what
  /// the launch gives (the bundle: min(output tiles, N)) and each CTA walks
  /// output tiles blockIdx.x, + gridDim.x, ... (forEachItem).
  void setPersistent(bool on) { persistent = on; }
  /// ex2.approx.ftz.f32 (default) or llvm.exp2 (pass option exp2-ftz).
  void setExp2Ftz(bool on) { exp2Ftz = on; }

protected:
  /// ex2.approx.ftz.f32: one MUFU.EX2. llvm.exp2 lowers to ex2.approx.f32,
  /// which ptxas wraps in a compare and two predicated multiplies per
  /// element to keep subnormal results; a softmax term below 2^-126 of the
  /// row's maximum is nothing beside the 1 that the maximum adds to the
  /// row sum. ptxas schedules the one instruction more eagerly, though, and
  /// at the edge of the register file that can spill where the longer
  /// sequence does not: the compile then retries with exp2Ftz off.
  Value exp2(Value x) override {
    return exp2Ftz ? intrinsic(kNvvmEx2ApproxFtz, x)
                   : AttnKernelEmitterBase::exp2(x);
  }
  bool exp2Ftz = true;
  /// One output tile: batch bIdx, query head h (a packed group's first;
  /// K head kh, V head vh), query tile qt with query rows [i0, i1].
  struct WorkItem {
    Value bIdx, h, kh, vh, qt, i0, i1;
  };
  /// Output tile (qt, hc = head or group x Dv chunk, bIdx); sets what the
  /// tile's code reads from members (chunkBase, patternId, tileRow0,
  /// kvBegin, kvTiles).
  WorkItem beginItem(Value qt, Value hc, Value bIdx);
  /// The persistent CTA's body (setPersistent): kernels that support it
  /// override this.
  virtual void emitPersistent() {
    llvm_unreachable("persistent CTAs need the warp-specialized kernel");
  }
  bool persistent = false;
  /// The CTAs' walk of their shares, each tile finished by the epilogue
  /// directly or through the workspace by the CTA that completes it.
  void emitStreamK();
  int64_t stateWordsPerThread() const override {
    return nvvmStreamKStateWords(spec.dv, dtypeBytes(spec.dtype));
  }
  int64_t workerGroups() const override { return spec.dv / dvChunk; }
  std::pair<Value, SmallVector<Value>> flagElement() override {
    // The first K stage element: the KV loop is over.
    Value c0 = idx(0);
    return {kSmem, stageIndex(c0, c0, c0, spec.dqk)};
  }
  /// Thread-to-row mapping and anything held across the KV loop.
  virtual void setupThreads(Value bIdx, Value h, Value i0) = 0;
  /// One live KV tile from shared-memory stage `stage`.
  virtual SmallVector<Value> emitTile(ValueRange state, Value bIdx, Value h,
                                      Value stage, Value kt,
                                      bool partial) = 0;
  /// Whether this warp owns a tile row that exists (warp-uniform), for
  /// kernels whose tile math is warp-local; null: every warp computes. A
  /// short tile (decode: one row per head, or G packed rows) leaves most
  /// warps without rows, and those skip the tile's products and softmax
  /// (their rows keep the empty state: m = -inf, l = 0, O = 0).
  virtual Value warpHasRows() { return nullptr; }
  Value threadsHoldRows() override { return warpHasRows(); }
  /// Layout of a K or V stage buffer holding `cols` columns: by default
  /// [stages][bk][cols + pad] (rows padded by 16 bytes).
  virtual MemRefType stageType(int64_t cols);
  virtual SmallVector<Value> stageIndex(Value stage, Value row, Value col,
                                        int64_t cols) {
    return {stage, row, col};
  }
  /// Columns of the layout a copy of `cols` columns into `smem` lands in
  /// (stageType / stageIndex; a null `smem`: the K stages being placed):
  /// by default the copied ones.
  virtual int64_t layoutCols(Value smem, int64_t cols) { return cols; }
  /// Places the K / V stages (kSmem, vSmem) in dynamic shared memory, then
  /// calls placeExtra after them.
  virtual void placeBuffers(Value smem);
  /// Shared memory the copies never write but the products read, zeroed
  /// once before the first tile (the first wait's barrier orders it).
  virtual void zeroPadding() {}
  /// Zeroes columns [cols, cols + padCols) of rows [0, rows) of tiles
  /// [0, tiles) of `smem` (at stageIndex over `layout` columns), the CTA's
  /// threads striding over the elements.
  void zeroColumns(Value smem, int64_t tiles, int64_t rows, int64_t cols,
                   int64_t padCols, int64_t layout);
  /// Dynamic shared memory after the K / V stages (wgmma: Q and P tiles),
  /// laid out by `placeExtra` from byte `offset` of `smem`.
  virtual void placeExtra(Value smem, int64_t offset) {}
  /// Kernel parameters after the flat-memref ones (TMA: tensor maps).
  virtual SmallVector<Type> extraArgTypes() { return {}; }
  virtual void bindExtraArgs(ValueRange args) {}
  /// The KV pipeline: copies of a live tile into a stage, what an empty
  /// tile does instead, the end of one tile's copies (cp.async: a commit
  /// group per tile, live or not), the wait before computing on tile kt,
  /// and anything to wait for once the first stages are in flight.
  virtual void issueTileCopy(Value stage, Value bIdx, Value kh, Value vh,
                             Value kt);
  virtual void skipTileCopy(Value stage) {}
  virtual void commitTileCopies() { NVVM::CpAsyncCommitGroupOp::create(b); }
  virtual void waitForTile(Value kt, Value stage) {
    NVVM::CpAsyncWaitGroupOp::create(b, stages - 1);
    publishShared();
  }
  virtual void afterPrologue() {}
  /// Whether setupThreads left a cp.async group (a staged Q) that only
  /// the first KV tile's wait covers: a CTA whose walk is empty (a query
  /// tile whose rows see no key, e.g. bottom-right causal with Sq > Skv)
  /// waits for it after the loop, so no copy still lands in shared memory
  /// that the next CTA on the SM may already own.
  bool qCopyInFlight = false;
  /// Threads per CTA and the register cap ptxas gets (.maxnreg).
  int64_t blockThreads() const override { return 32 * warps; }
  virtual int64_t maxRegisters() const { return 255; }
  /// The KV loop and the epilogue, after the CTA's coordinates are known:
  /// batch bIdx, query head h (K head kh, V head vh), query tile qt with
  /// rows [i0, i1].
  virtual void emitMainLoop(Value bIdx, Value h, Value kh, Value vh,
                            Value qt, Value i0, Value i1);
  /// The cp.async-staged KV loop over [kvBegin, kvTiles); returns the state
  /// (combineKVWarps').
  SmallVector<Value> kvLoop(Value bIdx, Value h, Value kh, Value vh,
                            Value qt, Value i0, Value i1);
  /// The loop state of the threads that finish the tile, from every
  /// thread's after the KV loop: by default each thread's own.
  virtual SmallVector<Value> combineKVWarps(ValueRange state) {
    return SmallVector<Value>(state);
  }
  /// Whether KV tile kt is empty / full for this CTA (CTA-uniform). A
  /// ragged last tile counts as partial for its column bound.
  std::pair<Value, Value> classifyKV(Value kt, Value bIdx, Value h, Value i0,
                                     Value i1, Value qt);
  /// Whether shared memory written by threads is read through the async
  /// proxy (wgmma), which needs a proxy fence before the barrier.
  virtual bool readsThroughAsyncProxy() const { return false; }
  /// Query rows [i0, i1] that (packed) query tile qt covers; sets
  /// tileRow0. Packed row r of a group is query row r / G of its head
  /// r % G, so a packed tile covers query rows [r0 / G, r1 / G].
  std::pair<Value, Value> queryRowsOf(Value qt);

  /// The KV tiles this CTA walks, [kvBegin, kvTiles) (firstLiveKVTile /
  /// liveKVTiles of its rows; CTA-uniform, so the producer and the math
  /// warps walk the same stages and phases).
  Value kvBegin, kvTiles;
  /// Stage of KV tile kt: the walk's n-th tile goes to stage n mod stages.
  Value stageOf(Value kt) {
    return arith::RemUIOp::create(b, walkIndex(kt), idx(stages));
  }
  /// mbarrier phase parity of KV tile kt's use of its stage: the walk's
  /// n-th tile is that stage's (n / stages)-th.
  Value parityOf(Value kt) {
    return arith::RemUIOp::create(
        b, arith::DivUIOp::create(b, walkIndex(kt), idx(stages)), idx(2));
  }
  /// KV tile kt's place in the CTA's walk: after the `walked` tiles of its
  /// earlier output tiles (persistent CTAs), which keep the stages turning.
  Value walkIndex(Value kt) {
    Value n = sub(kt, kvBegin);
    return walked ? add(walked, n) : n;
  }
  /// The KV tiles of the current output tile's walk.
  Value walkLength() {
    return arith::MaxSIOp::create(b, sub(kvTiles, kvBegin), idx(0));
  }
  Value walked;

  /// The score of (row, col) from its raw dot product: modifications and
  /// the mask on partial tiles (-inf outside). With foldedScale() the
  /// scale is left to softmaxStep. `kept`, when given, is the mask at
  /// (row, col) as the caller computed it (tileColumns, bandInTile).
  Value finalScore(Value dot, Value bIdx, Value h, Value row, Value col,
                   bool partial, Value kept = {});
  /// min(Skv - j0, block_kv) as an i32, for a tile from column j0 <= Skv:
  /// the columns of the tile that exist. A column's bound check is then a
  /// 32-bit compare of its offset in the tile with it, exact for any Skv,
  /// where col < Skv compares 64-bit indices (two registers a column,
  /// which the 128 x 176 tiles spill with).
  Value tileColumns(Value j0) {
    return arith::IndexCastOp::create(
        b, b.getI32Type(), arith::MinSIOp::create(b, sub(skv, j0), idx(bk)));
  }
  /// Whether the mask is at most one band (causal or a window; no sink,
  /// tables, documents or mask region): a partial tile's mask is then
  /// 32-bit compares of offsets in the tile (tileColumns, bandInTile).
  /// Other masks compare absolute 64-bit columns, which the bound reuses
  /// (col < Skv): a 32-bit bound beside them cost a stream-K kernel at
  /// 255 registers a spill.
  bool bandMask() const;
  /// With bandMask(), the columns `row` keeps in the tile from column j0
  /// as offsets [lo, hi] in the tile (i32, clamped to [0, block_kv] and
  /// [-1, block_kv - 1]; null on an unbounded side).
  std::pair<Value, Value> bandInTile(Value row, Value j0);
  /// Whether the scores are the scaled dot products alone and softmaxStep
  /// folds the scale into its exponent: p = 2^(q.k (scale log2 e) - M),
  /// one fma per score as FlashAttention does, instead of a multiply and
  /// an fma. The row max, taken over the unscaled products, is scaled once
  /// per row. f16 / bf16 only: the rounding of the folded constant moves
  /// each exponent by |s| 2^-24, as the rounded product s = q.k scale of
  /// an unfused kernel does, beside the 2^-8 of its operands, while the
  /// f32 kernels keep the rounding FlashAttention's own f32 path has.
  bool foldedScale() const;
  /// Whether softmaxStep reduces a lane's row max and sum as trees: the
  /// wgmma kernels (timed faster with them), whose math warps have one
  /// other to hide a chain's latency behind. The mma.sync kernels keep the
  /// chains: a tree keeps more partial results live, and at head dim 256
  /// their 255 registers spilled with one.
  virtual bool treeReductions() const { return false; }
  /// Online-softmax step for one query row: `x` are the row's scores of
  /// this tile held by this lane; `reduceMax` combines maxima over the lanes
  /// sharing the row. Replaces x by the probabilities, updates m and the
  /// lane-local sum l, returns the factor that rescales O. Sigmoid
  /// attention has no running max: p = sigmoid(s + b), factor 1.
  Value softmaxStep(Value &m, Value &l, ArrayRef<Value *> x,
                    function_ref<Value(Value)> reduceMax);
  /// `init` combined with every value of `v`: a chain from `init`, or
  /// with treeReductions() a tree of depth log2(n) (init only when v is
  /// empty: it is the combination's identity).
  Value reduce(SmallVector<Value> v, Value init,
               function_ref<Value(Value, Value)> combine);
  /// 1 / l for a finished row (0 when nothing was kept, so the row is 0).
  std::pair<Value, Value> inverseSum(Value l);
  /// Stores O[row][col + e] = o[e] * inv, gated, in the output type, as
  /// one vector store: `col` is a multiple of o.size() and so is Dv, so
  /// the elements are aligned to their total size (tensors are 16-byte
  /// aligned), which LLVM cannot see from the flat offset.
  void storeOut(ArrayRef<Value> o, Value inv, Value bIdx, Value h, Value row,
                Value col);
  /// Stores LSE[row] from the running max and the sum.
  void storeLse(Value m, Value l, Value empty, Value bIdx, Value h,
                Value row);

  /// Copies rows [j0, j0 + bk) x columns [col0, col0 + cols) of one head of
  /// a flat [B, heads, Skv, dim] tensor into `smem`[stage]; rows past Skv
  /// repeat the last row (their scores are masked).
  void copyRows(Value smem, Value stage, Value flat, int64_t heads,
                Value bIdx, Value head, int64_t dim, Value col0, int64_t cols,
                Value j0);
  /// The same for `rows` rows from `row0` of a [B, heads, seq, dim] tensor
  /// whose rows past `seqLen` repeat the last one.
  void copyTile(Value smem, Value stage, Value flat, int64_t heads,
                Value bIdx, Value head, Value seqLen, int64_t dim, Value col0,
                int64_t cols, Value row0, int64_t rows);
  /// Proxy fence (if needed) and CTA barrier after shared-memory writes.
  void publishShared();

  gpu::GPUModuleOp gpuModule;
  int64_t warps, stages;
  /// O columns one CTA accumulates: Dv split into chunks (nvvmDvChunks) so
  /// the accumulator fits in registers; each chunk's CTA recomputes S
  /// (grid.y = Hq x chunks).
  int64_t dvChunk;
  /// Padding per shared-memory row, in elements (16 bytes).
  int64_t pad;
  Value chunkBase;
  /// The CTA's first (packed) tile row.
  Value tileRow0;
  // `stages` buffers of K [bk][Dqk + pad] and V [bk][dvChunk + pad] tiles.
  Value kSmem, vSmem;
};

Value StagedKernelEmitter::finalScore(Value dot, Value bIdx, Value h,
                                      Value row, Value col, bool partial,
                                      Value kept) {
  Value sc = foldedScale() ? dot : modifiedScore(dot, bIdx, h, row, col);
  if (partial) {
    if (!kept)
      kept = andI(cmp(arith::CmpIPredicate::slt, col, skv),
                  keepAt(bIdx, h, row,
                         arith::MinSIOp::create(b, col, sub(skv, idx(1)))));
    sc = sel(kept, sc, fc(-std::numeric_limits<double>::infinity()));
  }
  return sc;
}

bool StagedKernelEmitter::bandMask() const {
  if (patterns.size() != 1 || maskFn)
    return false;
  const MaskSpec &m = patterns.front();
  return !blockTables.front() && !m.document && !m.runtimeBlocks &&
         m.sink == 0;
}

std::pair<Value, Value> StagedKernelEmitter::bandInTile(Value row,
                                                        Value j0) {
  const MaskSpec &m = patterns.front();
  Band band = bandOf(m);
  // i_abs - j0: the band's edges as offsets in the tile.
  Value rel = sub(add(row, offsetOf(m)), j0);
  auto clamp = [&](Value x, int64_t lo, int64_t hi) {
    return arith::IndexCastOp::create(
        b, b.getI32Type(),
        arith::MinSIOp::create(b, arith::MaxSIOp::create(b, x, idx(lo)),
                               idx(hi)));
  };
  Value lo, hi;
  if (band.left != Band::kUnbounded)
    lo = clamp(sub(rel, idx(band.left)), 0, bk);
  if (band.right != Band::kUnbounded)
    hi = clamp(add(rel, idx(band.right)), -1, bk - 1);
  return std::make_pair(lo, hi);
}

bool StagedKernelEmitter::foldedScale() const {
  return spec.dtype != DType::F32 && spec.norm != NormKind::Sigmoid &&
         spec.softcap == 0 && !spec.alibi && !spec.bias && !scoreFn &&
         spec.effectiveScale() > 0;
}

Value StagedKernelEmitter::reduce(SmallVector<Value> v, Value init,
                                  function_ref<Value(Value, Value)> combine) {
  if (!treeReductions()) {
    for (Value x : v)
      init = combine(init, x);
    return init;
  }
  if (v.empty())
    return init;
  while (v.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < v.size(); i += 2)
      next.push_back(combine(v[i], v[i + 1]));
    if (v.size() % 2)
      next.push_back(v.back());
    v = std::move(next);
  }
  return v.front();
}

Value StagedKernelEmitter::softmaxStep(Value &m, Value &l,
                                       ArrayRef<Value *> x,
                                       function_ref<Value(Value)> reduceMax) {
  if (spec.norm == NormKind::Sigmoid) {
    // Masked (-inf) entries give exactly 0.
    for (Value *p : x) {
      Value z = arith::AddFOp::create(b, *p, fc(spec.sigmoidBias));
      Value e = math::ExpOp::create(b, arith::NegFOp::create(b, z));
      *p = arith::DivFOp::create(b, fc(1), arith::AddFOp::create(b, fc(1), e));
    }
    return fc(1);
  }
  double negInf = -std::numeric_limits<double>::infinity();
  auto values = [&] {
    SmallVector<Value> v;
    for (Value *p : x)
      v.push_back(*p);
    return v;
  };
  Value mx = reduce(values(), fc(negInf), [&](Value a, Value c) {
    return arith::MaximumFOp::create(b, a, c);
  });
  mx = reduceMax(mx);
  bool folded = foldedScale();
  double scale = spec.effectiveScale();
  if (folded) // scale > 0: the max of the scaled scores
    mx = arith::MulFOp::create(b, mx, fc(scale));
  Value mNew = arith::MaximumFOp::create(b, m, mx);
  // Nothing kept yet: subtract 0 so exp2 gives 0, not NaN.
  Value none =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew, fc(negInf));
  Value mSafe = sel(none, fc(0), mNew);
  // Base 2 as FlashAttention does it: p = 2^(s log2(e) - m log2(e)) with
  // one fma per score, so the large product s log2(e) is never rounded on
  // its own (with logits of 1e4 that rounding alone costs 1e-4 relative).
  // m log2(e) is rounded once per tile, and the same way for the previous
  // max in alpha, so that error is one factor of every p of the row, which
  // the final 1 / l cancels.
  Value mScaled = arith::MulFOp::create(b, mSafe, fc(kLog2e));
  Value alpha = exp2(arith::SubFOp::create(
      b, arith::MulFOp::create(b, m, fc(kLog2e)), mScaled));
  Value negM = arith::NegFOp::create(b, mScaled);
  Value factor = fc(folded ? scale * kLog2e : kLog2e);
  for (Value *p : x) {
    // (llvm.fma, not math.fma: that one becomes a libdevice call.)
    *p = exp2(LLVM::FMAOp::create(b, *p, factor, negM));
  }
  Value sum = reduce(values(), fc(0), [&](Value a, Value c) {
    return arith::AddFOp::create(b, a, c);
  });
  l = arith::AddFOp::create(b, arith::MulFOp::create(b, l, alpha), sum);
  m = mNew;
  return alpha;
}

std::pair<Value, Value> StagedKernelEmitter::inverseSum(Value l) {
  Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, l, fc(0));
  if (spec.norm == NormKind::Sigmoid)
    return {fc(1), empty};
  return {sel(empty, fc(0), arith::DivFOp::create(b, fc(1), l)), empty};
}

void StagedKernelEmitter::storeOut(ArrayRef<Value> o, Value inv, Value bIdx,
                                   Value h, Value row, Value col) {
  SmallVector<Value> vals;
  for (auto [e, x] : llvm::enumerate(o)) {
    Value v = arith::MulFOp::create(b, x, inv);
    if (gate) {
      Value gcol = spec.gate == GateKind::PerHead ? idx(0)
                                                  : add(col, idx(e));
      Value gv = loadF32(gate, {bIdx, h, row, gcol});
      Value ex = math::ExpOp::create(b, arith::NegFOp::create(b, gv));
      v = arith::DivFOp::create(b, v, arith::AddFOp::create(b, fc(1), ex));
    }
    if (elt != f32)
      v = arith::TruncFOp::create(b, elt, v);
    vals.push_back(v);
  }
  int64_t n = vals.size();
  Value vec = vector::FromElementsOp::create(b, VectorType::get({n}, elt),
                                             vals);
  vector::StoreOp::create(
      b, vec, oFlat, offset4(bIdx, spec.hq, h, sq, row, spec.dv, col),
      /*nontemporal=*/false, llvm::MaybeAlign(n * dtypeBytes(spec.dtype)));
}

void StagedKernelEmitter::storeLse(Value m, Value l, Value empty, Value bIdx,
                                   Value h, Value row) {
  // l sums 2^(s log2(e) - M) with M = m log2(e) rounded as softmaxStep
  // rounds it: ln(sum e^s) = M ln 2 + ln l. (NVPTX has no libcall for
  // llvm.log2; math.log goes through libdevice.)
  Value mScaled = arith::MulFOp::create(b, m, fc(kLog2e));
  Value lseVal =
      arith::AddFOp::create(b, arith::MulFOp::create(b, mScaled, fc(M_LN2)),
                            math::LogOp::create(b, l));
  lseVal = withAlibiRowShift(lseVal, h, row);
  Value off = add(mul(add(mul(bIdx, idx(spec.hq)), h), sq), row);
  memref::StoreOp::create(
      b, sel(empty, fc(-std::numeric_limits<double>::infinity()), lseVal),
      lseFlat, off);
}

MemRefType StagedKernelEmitter::stageType(int64_t cols) {
  // Rows start 16-byte aligned (ldmatrix, 16-byte copies): a row of
  // 8 k + 4 16-bit columns is padded to 8 (k + 1), then by 16 bytes.
  return MemRefType::get(
      {stages, bk, llvm::alignTo(cols, pad) + pad}, elt, MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(b.getContext(),
                                 gpu::AddressSpace::Workgroup));
}

void StagedKernelEmitter::placeBuffers(Value smem) {
  int64_t eltBytes = dtypeBytes(spec.dtype);
  kSmem = memref::ViewOp::create(b, stageType(layoutCols(nullptr, spec.dqk)),
                                 smem, idx(0), ValueRange{});
  vSmem = memref::ViewOp::create(
      b, stageType(dvChunk), smem,
      idx(nvvmStagedKBytes(spec.dqk, bk, stages, eltBytes)), ValueRange{});
  placeExtra(smem, nvvmStagedSmemBytes(spec.dqk, spec.dv, bk, stages,
                                       eltBytes));
}

void StagedKernelEmitter::publishShared() {
  if (readsThroughAsyncProxy())
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKindAttr::get(b.getContext(),
                                    NVVM::ProxyKind::async_shared),
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
  gpu::BarrierOp::create(b);
}

void StagedKernelEmitter::copyRows(Value smem, Value stage, Value flat,
                                   int64_t heads, Value bIdx, Value head,
                                   int64_t dim, Value col0, int64_t cols,
                                   Value j0) {
  copyTile(smem, stage, flat, heads, bIdx, head, skv, dim, col0, cols, j0,
           bk);
}

void StagedKernelEmitter::copyTile(Value smem, Value stage, Value flat,
                                   int64_t heads, Value bIdx, Value head,
                                   Value seqLen, int64_t dim, Value col0,
                                   int64_t cols, Value row0, int64_t rows) {
  using P = arith::CmpIPredicate;
  // 16-byte cp.async.cg, or 8-byte cp.async.ca for rows of 8 k + 4 16-bit
  // elements (.cg takes only 16 bytes).
  int64_t chunk = cols % pad == 0 ? pad : pad / 2;
  int64_t perRow = cols / chunk, total = rows * perRow, threads = 32 * warps;
  Value last = sub(seqLen, idx(1));
  auto copyChunk = [&](Value c) {
    Value row = arith::DivUIOp::create(b, c, idx(perRow));
    Value col = mul(arith::RemUIOp::create(b, c, idx(perRow)), idx(chunk));
    Value src = arith::MinSIOp::create(b, add(row0, row), last);
    Value off =
        offset4(bIdx, heads, head, seqLen, src, dim, add(col0, col));
    nvgpu::DeviceAsyncCopyOp::create(
        b, smem, stageIndex(stage, row, col, layoutCols(smem, cols)), flat,
        ValueRange{off},
        llvm::APInt(64, chunk), /*srcElements=*/Value(),
        /*bypassL1=*/chunk == pad ? b.getUnitAttr() : UnitAttr());
  };
  // Many copies a thread (a narrow CTA: KV warps of a decode tile at large
  // head dims) stay a loop: unrolled, their addresses made the stream-K
  // kernels spill.
  int64_t whole = total / threads;
  int64_t first = 0;
  if (whole > kMaxUnrolledCopies) {
    first = whole * threads;
    scf::ForOp::create(b, idx(0), idx(first), idx(threads), ValueRange{},
                       [&](OpBuilder &, Location, Value i, ValueRange) {
                         copyChunk(add(tid, i));
                         scf::YieldOp::create(b);
                       });
  }
  for (; first < total; first += threads) {
    Value c = add(tid, idx(first));
    auto copy = [&] { copyChunk(c); };
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

void StagedKernelEmitter::issueTileCopy(Value stage, Value bIdx, Value kh,
                                        Value vh, Value kt) {
  Value j0 = mul(kt, idx(bk));
  copyRows(kSmem, stage, kFlat, spec.hk, bIdx, kh, spec.dqk, idx(0),
           spec.dqk, j0);
  copyRows(vSmem, stage, vFlat, spec.hv, bIdx, vh, spec.dv, chunkBase,
           dvChunk, j0);
}

gpu::GPUFuncOp StagedKernelEmitter::emit() {
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> args = flatKernelArgTypes();
  // Stream-K / split_kv: the workspace follows the B, Sq, Skv scalars.
  if (splitsKV())
    args.push_back(MemRefType::get({ShapedType::kDynamic}, f32));
  int64_t numFlatArgs = args.size();
  llvm::append_range(args, extraArgTypes());
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto fn = gpu::GPUFuncOp::create(b, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(
      {static_cast<int32_t>(blockThreads()), 1, 1}));
  // One CTA per SM holds all the row state: let ptxas use the whole register
  // file per thread rather than trade registers (and spills) for occupancy.
  fn->setAttr("nvvm.maxnreg",
              b.getI32IntegerAttr(static_cast<int32_t>(maxRegisters())));
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  // K and V stages live in dynamic shared memory (the bundle records its
  // size; the runtime opts in beyond 48 KiB). cp.async, ldmatrix and
  // vector loads take 16-byte-aligned addresses: the base is, and every
  // row and buffer is a multiple of 16 bytes.
  auto smemSpace =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                         MemRefLayoutAttrInterface{}, smemSpace));
  placeBuffers(smem);
  bindFlatKernelArgs(entry);
  bindExtraArgs(entry->getArguments().drop_front(numFlatArgs));
  buildTables();
  zeroPadding();
  if (splitsKV()) {
    workspace = entry->getArgument(numFlatArgs - 1);
    emitStreamK();
    gpu::ReturnOp::create(b);
    return fn;
  }

  if (persistent) {
    tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    emitPersistent();
    gpu::ReturnOp::create(b);
    return fn;
  }
  Value qt = queryTileOfBlock(gpu::BlockIdOp::create(b, gpu::Dimension::x));
  Value hc = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  Value bIdx = gpu::BlockIdOp::create(b, gpu::Dimension::z);
  WorkItem item = beginItem(qt, hc, bIdx);
  emitMainLoop(item.bIdx, item.h, item.kh, item.vh, item.qt, item.i0,
               item.i1);
  gpu::ReturnOp::create(b);
  return fn;
}

StagedKernelEmitter::WorkItem
StagedKernelEmitter::beginItem(Value qt, Value hc, Value bIdx) {
  int64_t chunks = spec.dv / dvChunk;
  // grid.y counts (query head or packed group) x Dv chunks; h is the head,
  // or the group's first head.
  Value h = arith::DivUIOp::create(b, hc, idx(chunks));
  if (packGroup > 1)
    h = mul(h, idx(packGroup));
  chunkBase = mul(arith::RemUIOp::create(b, hc, idx(chunks)), idx(dvChunk));
  if (!tid)
    tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value kh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hk));
  Value vh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hv));
  patternId = patternOfHead ? load(patternOfHead, {h}) : idx(0);
  auto [i0, i1] = queryRowsOf(qt);
  kvBegin = firstLiveKVTile(i0);
  kvTiles = liveKVTiles(i1);
  return {bIdx, h, kh, vh, qt, i0, i1};
}

std::pair<Value, Value> StagedKernelEmitter::queryRowsOf(Value qt) {
  Value last;
  std::tie(tileRow0, last) = tileRowSpan(qt);
  // The head does not matter for the rows.
  return {rowAndHead(tileRow0, idx(0)).first, rowAndHead(last, idx(0)).first};
}

std::pair<Value, Value> StagedKernelEmitter::classifyKV(Value kt, Value bIdx,
                                                        Value h, Value i0,
                                                        Value i1, Value qt) {
  using P = arith::CmpIPredicate;
  Value j0 = mul(kt, idx(bk));
  Value j1 = sub(arith::MinSIOp::create(b, add(j0, idx(bk)), skv), idx(1));
  auto [isEmpty, isFull] = classifyTileAt(bIdx, h, i0, i1, j0, j1, qt, kt);
  return {isEmpty, andI(isFull, cmp(P::sle, add(j0, idx(bk)), skv))};
}

void StagedKernelEmitter::emitMainLoop(Value bIdx, Value h, Value kh, Value vh,
                                       Value qt, Value i0, Value i1) {
  epilogue(kvLoop(bIdx, h, kh, vh, qt, i0, i1), bIdx, h);
}

SmallVector<Value> StagedKernelEmitter::kvLoop(Value bIdx, Value h, Value kh,
                                               Value vh, Value qt, Value i0,
                                               Value i1) {
  using P = arith::CmpIPredicate;
  setupThreads(bIdx, h, i0);

  // Tile classes are CTA-uniform, so every thread takes the same branches
  // around the copies and barriers.
  // Copies tile kt into `stage` unless it is past the end or empty; one
  // commit group per call either way, so wait_group counts stay aligned.
  auto prefetch = [&](Value kt, Value stage) {
    scf::IfOp::create(
        b, cmp(P::slt, kt, kvTiles), [&](OpBuilder &, Location) {
          Value live = notI(classifyKV(kt, bIdx, h, i0, i1, qt).first);
          ifThenElse(
              live, [&] { issueTileCopy(stage, bIdx, kh, vh, kt); },
              [&] { skipTileCopy(stage); });
          scf::YieldOp::create(b);
        });
    commitTileCopies();
  };
  for (int64_t s = 0; s + 1 < stages; ++s)
    prefetch(add(kvBegin, idx(s)), idx(s));
  afterPrologue();
  auto loop = scf::ForOp::create(
      b, kvBegin, kvTiles, idx(1), initialState(),
      [&](OpBuilder &, Location, Value kt, ValueRange iter) {
        Value stage = stageOf(kt);
        // Refill the stage computed on in the previous iteration (released
        // by its trailing barrier), then wait for this tile's group only.
        Value ahead = add(kt, idx(stages - 1));
        prefetch(ahead, stageOf(ahead));
        waitForTile(kt, stage);
        auto [isEmpty, isFull] = classifyKV(kt, bIdx, h, i0, i1, qt);
        Value computes = warpHasRows();
        ValueRange next =
            dispatchTile(isEmpty, isFull, iter, [&](bool partial) {
              if (!computes)
                return emitTile(iter, bIdx, h, stage, kt, partial);
              auto ifRows = scf::IfOp::create(
                  b, computes,
                  [&](OpBuilder &, Location) {
                    scf::YieldOp::create(
                        b, emitTile(iter, bIdx, h, stage, kt, partial));
                  },
                  [&](OpBuilder &, Location) {
                    scf::YieldOp::create(b, iter);
                  });
              return SmallVector<Value>(ifRows.getResults());
            });
        gpu::BarrierOp::create(b);
        scf::YieldOp::create(b, next);
      });
  if (qCopyInFlight)
    NVVM::CpAsyncWaitGroupOp::create(b, 0);
  return combineKVWarps(loop.getResults());
}

void StagedKernelEmitter::emitStreamK() {
  using P = arith::CmpIPredicate;
  Value p = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value chunk = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  chunkBase = mul(chunk, idx(dvChunk));
  // This chunk's counters (and slots) start at chunk x workers.
  groupWorkspace = mul(chunk, streamKWorkers());
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value perCta = streamKPerWorker();
  // Everything below is CTA-uniform, so the barriers in the KV loop are.
  forEachStreamKShare(p, perCta, [&](Value tile, Value tileStart, Value kFrom,
                                   Value kTo) {
    // (Not structured bindings: the lambdas below capture them.)
    Value bIdx, h, qt;
    std::tie(bIdx, h, qt) = splitOutputTile(tile);
    Value kh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hk));
    Value vh = arith::DivUIOp::create(b, h, idx(spec.hq / spec.hv));
    patternId = patternOfHead ? load(patternOfHead, {h}) : idx(0);
    auto [i0, i1] = queryRowsOf(qt);
    kvBegin = arith::MaxSIOp::create(b, firstLiveKVTile(i0), kFrom);
    kvTiles = arith::MinSIOp::create(b, liveKVTiles(i1), kTo);
    SmallVector<Value> state = kvLoop(bIdx, h, kh, vh, qt, i0, i1);
    Value whole = wholeTile(kFrom, kTo);
    ifThenElse(
        whole, [&] { epilogue(state, bIdx, h); },
        [&] {
          finishShare(state, p, tileStart, cmp(P::ugt, kFrom, idx(0)),
                      perCta, bIdx, h);
        });
  });
}

//===----------------------------------------------------------------------===//
// f16 / bf16: mma.sync
//===----------------------------------------------------------------------===//

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

class MmaKernelEmitter : public StagedKernelEmitter {
public:
  using StagedKernelEmitter::StagedKernelEmitter;

protected:
  /// Lane coordinates and this lane's two query rows (and their heads) of
  /// the tile whose first row is `r0` (packed rows under pack_gqa) for head
  /// (group) h.
  void setupLanes(Value r0, Value h);
  void setupThreads(Value bIdx, Value h, Value i0) override;
  SmallVector<Value> initialState() override;
  SmallVector<Value> emitTile(ValueRange state, Value bIdx, Value h,
                              Value stage, Value kt, bool partial) override;
  void epilogue(ValueRange state, Value bIdx, Value h) override;
  /// The epilogue of a warp holding a finished state: O and LSE stored.
  void storeTile(ValueRange state, Value bIdx, Value h);
  SmallVector<Value> mergeShare(ValueRange acc,
                                function_ref<Value(size_t)> share) override;

  /// Two consecutive elements at `offset` of a flat 16-bit memref, packed as
  /// an mma operand (vector<2xf16>, or i32 for bf16); zeroPair: two zeros.
  Value loadPair(Value flat, Value offset);
  Value zeroPair();
  /// vector<2xf16> as is, bf16 pairs as i32.
  Value asOperand(Value pair);
  Value packPair(Value lo, Value hi);
  /// P's A operand (4 registers) for k16 step kb of the softmaxed S blocks
  /// `p`: n8 blocks 2 kb and 2 kb + 1, rows g and g + 8 of each.
  SmallVector<Value> pOperand(ArrayRef<SmallVector<Value>> p, int64_t kb);
  /// c += a * b on one m16n8k16 tile; c is 4 f32 values.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bFrag,
                         ArrayRef<Value> c);
  Value quadReduce(Value x, bool isMax);
  /// ldmatrix of `tiles` 8x8 matrices at smem[stage][row][col], each lane
  /// giving one row address; returns one mma operand per matrix.
  SmallVector<Value> ldmatrix(Value smem, Value stage, Value row, Value col,
                              int64_t tiles, bool transpose);
  /// Scores of the S fragments `s` (n8 blocks of the tile starting at KV
  /// column j0), then the softmax step of rows g (elements 0, 1 of each
  /// block) and g + 8 (elements 2, 3), whose columns are spread over a quad;
  /// rescales O. `s` becomes P. Each row's score modifications and mask
  /// take its own head (heads[]).
  /// With `alphaOut`, O is left alone (it may be in flight in a wgmma)
  /// and the two rows' factors are returned there instead.
  void softmaxFragments(WarpState &st, SmallVectorImpl<SmallVector<Value>> &s,
                        Value bIdx, Value j0, bool partial,
                        Value *alphaOut = nullptr);
  /// O *= alpha of its row (g: alpha[0], g + 8: alpha[1]).
  void rescaleO(WarpState &st, const Value alpha[2]);
  /// The A fragment of this warp's 16 query rows for head-dim block kb
  /// (rows past Sq read the last row; they are never stored; columns past
  /// Dqk are zero): ldmatrix from the staged Q tile, or global loads.
  SmallVector<Value> loadQFragment(Value bIdx, int64_t kb);
  /// Whether the Q tile is staged in shared memory (nvvmStagesQ).
  bool stagesQ() const {
    return nvvmStagesQ(spec.dqk, packGroup, splitsKV(), kvWarps());
  }
  void placeExtra(Value smem, int64_t offset) override;
  /// k-blocks of 16 in Q K^T: Dqk = 16 k + 8 takes a last half-padded one.
  int64_t kBlocks() const { return llvm::divideCeil(spec.dqk, 16); }
  void zeroPadding() override;

  Value warpHasRows() override {
    return cmp(arith::CmpIPredicate::slt, warpRow0, groupRows());
  }
  RowGroup rowGroup() const override { return nvvmStreamKRowGroup(2); }

  /// KV warps (nvvmKVWarps): warp w takes row block w mod (block_q / 16)
  /// and KV slice w / (block_q / 16) of warpCols() columns, so the warps of
  /// slice 0 are the first ones, as a tile without KV warps numbers them
  /// (the stream-K share layout by warp holds for them unchanged). After
  /// the KV loop the slices' states are merged into slice 0's, which alone
  /// publishes and stores.
  int64_t kvWarps() const { return nvvmKVWarps(bq, warps); }
  int64_t warpCols() const { return bk / kvWarps(); }
  void placeBuffers(Value smem) override;
  SmallVector<Value> combineKVWarps(ValueRange state) override;
  Value threadsHoldRows() override;
  /// This warp's KV slice and its first column in the tile (KV warps only).
  Value kvWarp, kvCol0;
  /// The merge's slots (nvvmKVWarpMergeBytes) over the K / V stages.
  Value mergeSmem;

  Value rows[2]; // this lane's query rows g and g+8
  Value heads[2]; // their query heads (differ only under pack_gqa)
  Value rowBase; // the CTA's first tile row
  Value warpRow0; // this warp's first tile row
  /// The staged Q tile [1][block_q][Dqk + pad] (stagesQ), else null.
  Value qStage;
  Value lane, g, t;
  /// Q fragments held across the KV loop (empty: re-read per tile).
  SmallVector<SmallVector<Value>> qFrags;
};

Value MmaKernelEmitter::packPair(Value lo, Value hi) {
  // P arrives as f32 probabilities; V elements already have the input type.
  if (lo.getType() != elt) {
    lo = arith::TruncFOp::create(b, elt, lo);
    hi = arith::TruncFOp::create(b, elt, hi);
  }
  return asOperand(vector::FromElementsOp::create(
      b, VectorType::get({2}, elt), ValueRange{lo, hi}));
}

SmallVector<Value>
MmaKernelEmitter::pOperand(ArrayRef<SmallVector<Value>> p, int64_t kb) {
  return {packPair(p[2 * kb][0], p[2 * kb][1]),
          packPair(p[2 * kb][2], p[2 * kb][3]),
          packPair(p[2 * kb + 1][0], p[2 * kb + 1][1]),
          packPair(p[2 * kb + 1][2], p[2 * kb + 1][3])};
}

Value MmaKernelEmitter::loadPair(Value flat, Value offset) {
  // A pair starts at an even element (even columns of rows of Dqk % 4 == 0
  // elements, in the runtime's 16-byte aligned tensors): one aligned load,
  // where the element alignment alone split it into two (a KV tile's Q
  // re-reads were 64 2-byte loads a lane at head dim 128).
  int64_t bytes = 2 * elt.getIntOrFloatBitWidth() / 8;
  return asOperand(vector::LoadOp::create(b, VectorType::get({2}, elt), flat,
                                          ValueRange{offset},
                                          /*nontemporal=*/false,
                                          llvm::Align(bytes)));
}

Value MmaKernelEmitter::zeroPair() {
  auto pairType = VectorType::get({2}, elt);
  return asOperand(arith::ConstantOp::create(
      b, DenseElementsAttr::get(pairType, b.getFloatAttr(elt, 0.0))));
}

Value MmaKernelEmitter::asOperand(Value pair) {
  if (spec.dtype == DType::F16)
    return pair;
  return LLVM::BitcastOp::create(b, b.getI32Type(), pair);
}

SmallVector<Value> MmaKernelEmitter::loadQFragment(Value bIdx, int64_t kb) {
  if (qStage) {
    // One ldmatrix.x4: lanes 8 i + r give row r + 8 (i mod 2) of the warp's
    // 16 at column 16 kb + 8 (i / 2), matrices in a0..a3's order. Columns
    // past Dqk read the zeroed padding.
    Value quad = arith::DivUIOp::create(b, lane, idx(8));
    Value row = add(sub(warpRow0, rowBase),
                    add(arith::RemUIOp::create(b, lane, idx(8)),
                        mul(arith::RemUIOp::create(b, quad, idx(2)), idx(8))));
    Value col = add(idx(kb * 16),
                    mul(arith::DivUIOp::create(b, quad, idx(2)), idx(8)));
    return ldmatrix(qStage, idx(0), row, col, 4, /*transpose=*/false);
  }
  SmallVector<Value> frag;
  for (int64_t part = 0; part < 4; ++part) {
    // Columns past Dqk (16 k + 4, 8 or 12) are padding, zero: a whole
    // 8-column group, or the pairs of lanes t >= 2 in a group of 4.
    int64_t group = kb * 16 + (part / 2) * 8;
    if (group >= spec.dqk) {
      frag.push_back(zeroPair());
      continue;
    }
    // The same clamp as finalScore's, so the two share one value.
    Value row = lastRowAtMost(rows[part % 2]);
    Value col = add(idx(group), mul(t, idx(2)));
    if (group + 8 <= spec.dqk) {
      frag.push_back(loadPair(qFlat, offset4(bIdx, spec.hq, heads[part % 2],
                                             sq, row, spec.dqk, col)));
      continue;
    }
    Value inside = cmp(arith::CmpIPredicate::slt, col, idx(spec.dqk));
    Value safeCol = arith::MinSIOp::create(b, col, idx(spec.dqk - 2));
    frag.push_back(sel(inside,
                       loadPair(qFlat, offset4(bIdx, spec.hq, heads[part % 2],
                                               sq, row, spec.dqk, safeCol)),
                       zeroPair()));
  }
  return frag;
}

void MmaKernelEmitter::placeExtra(Value smem, int64_t offset) {
  if (!stagesQ())
    return;
  auto type = MemRefType::get(
      {1, bq, static_cast<int64_t>(llvm::alignTo(spec.dqk, pad)) + pad}, elt,
      MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(b.getContext(),
                                 gpu::AddressSpace::Workgroup));
  qStage = memref::ViewOp::create(b, type, smem, idx(offset), ValueRange{});
}

void MmaKernelEmitter::zeroPadding() {
  // The K tiles' last k-block reads columns [Dqk, 16 k) (k-blocks of 16),
  // and V's last n-block columns [chunk, 8 n): the rows' padding, which
  // the copies never write. Zeroed once: no NaN bit pattern reaches the
  // products (K's would reach S; V's only O columns never stored). A
  // staged Q tile's last k-block reads its padding as K's does.
  zeroColumns(kSmem, stages, bk, spec.dqk,
              llvm::alignTo(spec.dqk, 16) - spec.dqk, spec.dqk);
  if (qStage)
    zeroColumns(qStage, 1, bq, spec.dqk,
                llvm::alignTo(spec.dqk, 16) - spec.dqk, spec.dqk);
  zeroColumns(vSmem, stages, bk, dvChunk, llvm::alignTo(dvChunk, 8) - dvChunk,
              dvChunk);
}

void StagedKernelEmitter::zeroColumns(Value smem, int64_t tiles, int64_t rows,
                                      int64_t cols, int64_t padCols,
                                      int64_t layout) {
  if (padCols == 0)
    return;
  Value tidHere = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value zero = arith::ConstantOp::create(b, elt, b.getFloatAttr(elt, 0.0));
  scf::ForOp::create(
      b, tidHere, idx(tiles * rows * padCols), idx(blockThreads()),
      ValueRange{}, [&](OpBuilder &, Location, Value e, ValueRange) {
        Value tile = arith::DivUIOp::create(b, e, idx(rows * padCols));
        Value row = arith::RemUIOp::create(
            b, arith::DivUIOp::create(b, e, idx(padCols)), idx(rows));
        Value col = add(arith::RemUIOp::create(b, e, idx(padCols)), idx(cols));
        memref::StoreOp::create(b, zero, smem,
                                stageIndex(tile, row, col, layout));
        scf::YieldOp::create(b);
      });
}

SmallVector<Value> MmaKernelEmitter::mma(ArrayRef<Value> a,
                                         ArrayRef<Value> bFrag,
                                         ArrayRef<Value> c) {
  return nvvmMmaM16N8K16(b,
                         spec.dtype == DType::F16 ? NVVM::MMATypes::f16
                                                  : NVVM::MMATypes::bf16,
                         a, bFrag, c);
}

Value MmaKernelEmitter::quadReduce(Value x, bool isMax) {
  // The 4 lanes of a quad hold one row's columns: xor 1 then xor 2.
  return xorReduce(x, {1, 2}, /*width=*/32, isMax);
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

void MmaKernelEmitter::softmaxFragments(
    WarpState &st, SmallVectorImpl<SmallVector<Value>> &s, Value bIdx,
    Value j0, bool partial, Value *alphaOut) {
  using P = arith::CmpIPredicate;
  // On a partial tile the bound and a band mask compare 32-bit offsets in
  // the tile (bandMask): this lane's column c + 2t against limits less 2t,
  // computed per tile, so that each compare takes its constant c as an
  // immediate (the columns' offsets, loop-invariant, would be hoisted and
  // held through the KV loop, one register each).
  bool relative = partial && bandMask();
  Value limit;
  std::pair<Value, Value> band[2];
  if (relative) {
    Value lane2 =
        arith::IndexCastOp::create(b, b.getI32Type(), mul(t, idx(2)));
    auto less2t = [&](Value v) {
      return v ? arith::SubIOp::create(b, v, lane2).getResult() : v;
    };
    limit = less2t(tileColumns(j0));
    for (int r = 0; r < 2; ++r) {
      auto [lo, hi] = bandInTile(rows[r], j0);
      band[r] = {less2t(lo), less2t(hi)};
    }
  }
  for (int64_t nb = 0; nb < static_cast<int64_t>(s.size()); ++nb)
    for (int64_t e = 0; e < 4; ++e) {
      int64_t c = nb * 8 + e % 2;
      Value col = add(add(j0, idx(c)), mul(t, idx(2)));
      Value kept;
      if (relative) {
        Value c32 = arith::ConstantIntOp::create(b, c, 32);
        kept = cmp(P::sgt, limit, c32);
        auto [lo, hi] = band[e / 2];
        if (lo)
          kept = andI(kept, cmp(P::sle, lo, c32));
        if (hi)
          kept = andI(kept, cmp(P::sge, hi, c32));
      }
      s[nb][e] = finalScore(s[nb][e], bIdx, heads[e / 2], rows[e / 2], col,
                            partial, kept);
    }
  Value alpha[2];
  for (int r = 0; r < 2; ++r) {
    SmallVector<Value *> x;
    for (auto &blk : s)
      for (int e = 0; e < 2; ++e)
        x.push_back(&blk[2 * r + e]);
    alpha[r] = softmaxStep(st.m[r], st.l[r], x, [&](Value v) {
      return quadReduce(v, /*isMax=*/true);
    });
  }
  if (alphaOut) {
    alphaOut[0] = alpha[0], alphaOut[1] = alpha[1];
    return;
  }
  rescaleO(st, alpha);
}

void MmaKernelEmitter::rescaleO(WarpState &st, const Value alpha[2]) {
  for (int64_t i = 0; i < static_cast<int64_t>(st.o.size()); ++i)
    st.o[i] = arith::MulFOp::create(b, st.o[i], alpha[(i % 4) / 2]);
}

void MmaKernelEmitter::setupLanes(Value r0, Value h) {
  Value warp = arith::DivUIOp::create(b, tid, idx(32));
  lane = arith::RemUIOp::create(b, tid, idx(32));
  g = arith::DivUIOp::create(b, lane, idx(4));
  t = arith::RemUIOp::create(b, lane, idx(4));
  if (kvWarps() > 1) {
    int64_t rowWarps = bq / 16;
    kvWarp = arith::DivUIOp::create(b, warp, idx(rowWarps));
    kvCol0 = mul(kvWarp, idx(warpCols()));
    warp = arith::RemUIOp::create(b, warp, idx(rowWarps));
  }
  warpRow0 = add(r0, mul(warp, idx(16)));
  Value r = add(warpRow0, g);
  std::tie(rows[0], heads[0]) = rowAndHead(r, h);
  std::tie(rows[1], heads[1]) = rowAndHead(add(r, idx(8)), h);
  rowBase = r0;
}

void MmaKernelEmitter::setupThreads(Value bIdx, Value h, Value i0) {
  setupLanes(tileRow0, h);
  // Q fragments cost Dqk / 2 registers per lane: held across the KV loop up
  // to Dqk = 64, re-read per KV tile beyond, which keeps Dqk = 128 and 256
  // free of spills; from the staged tile when there is one (stagesQ), else
  // from global memory (L1). The tile is copied once, as the oldest
  // cp.async group: the first KV tile's wait covers it.
  if (qStage) {
    copyTile(qStage, idx(0), qFlat, spec.hq, bIdx, h, sq, spec.dqk, idx(0),
             spec.dqk, i0, bq);
    NVVM::CpAsyncCommitGroupOp::create(b);
    qCopyInFlight = true;
  }
  if (spec.dqk <= 64)
    for (int64_t kb = 0; kb < kBlocks(); ++kb)
      qFrags.push_back(loadQFragment(bIdx, kb));
}

SmallVector<Value> MmaKernelEmitter::initialState() {
  WarpState init;
  init.m[0] = init.m[1] = fc(-std::numeric_limits<double>::infinity());
  init.l[0] = init.l[1] = fc(0);
  init.o.assign(llvm::divideCeil(dvChunk, 8) * 4, fc(0));
  return init.flatten();
}

SmallVector<Value> MmaKernelEmitter::emitTile(ValueRange state, Value bIdx,
                                              Value h, Value stage, Value kt,
                                              bool partial) {
  WarpState st = WarpState::unflatten(state);
  // A KV warp computes its slice of the tile: columns kvCol0 on.
  Value j0 = mul(kt, idx(bk));
  if (kvCol0)
    j0 = add(j0, kvCol0);
  int64_t nBlocks = warpCols() / 8;

  // S = Q K^T. K stored [kv][d] is the "col" B operand: b0 = K[n][2t..],
  // b1 = K[n][2t+8..] with n = g, which is what a non-transposed ldmatrix
  // gives. One x4 covers two n-blocks: lanes 0-7 address rows n0..n0+7 at
  // column k, lanes 8-15 the same rows at k + 8, lanes 16-31 rows n0 + 8...
  // The k-loop is outermost so a re-read Q fragment is live for one k-block.
  SmallVector<SmallVector<Value>> s(nBlocks, SmallVector<Value>(4, fc(0)));
  Value quad = arith::DivUIOp::create(b, lane, idx(8));
  Value r8 = arith::RemUIOp::create(b, lane, idx(8));
  Value kRow = add(mul(arith::DivUIOp::create(b, quad, idx(2)), idx(8)), r8);
  if (kvCol0)
    kRow = add(kRow, kvCol0);
  Value kCol = mul(arith::RemUIOp::create(b, quad, idx(2)), idx(8));
  for (int64_t kb = 0; kb < kBlocks(); ++kb) {
    SmallVector<Value> qFrag =
        qFrags.empty() ? loadQFragment(bIdx, kb) : qFrags[kb];
    for (int64_t nb = 0; nb < nBlocks; nb += 2) {
      SmallVector<Value> frag =
          ldmatrix(kSmem, stage, add(kRow, idx(nb * 8)),
                   add(kCol, idx(kb * 16)), 4, /*transpose=*/false);
      s[nb] = mma(qFrag, {frag[0], frag[1]}, s[nb]);
      s[nb + 1] = mma(qFrag, {frag[2], frag[3]}, s[nb + 1]);
    }
  }

  softmaxFragments(st, s, bIdx, j0, partial);

  // O += P V. P's A fragment for KV columns [16kb, 16kb + 16) is S's C
  // fragments of n-blocks 2kb and 2kb+1. V stored [kv][d] is the K x N
  // operand: b0 = (V[2t][g], V[2t+1][g]), b1 = rows + 8, which is what
  // ldmatrix.trans gives. One x4 covers two n-blocks of Dv: lanes 0-7
  // address KV rows k..k+7 at column n, lanes 8-15 rows k+8.., lanes 16-31
  // the same rows at column n + 8; an odd last n-block takes an x2.
  Value vRow = add(mul(arith::RemUIOp::create(b, quad, idx(2)), idx(8)), r8);
  if (kvCol0)
    vRow = add(vRow, kvCol0);
  Value vCol = mul(arith::DivUIOp::create(b, quad, idx(2)), idx(8));
  auto accumulate = [&](ArrayRef<Value> a, int64_t nv, ArrayRef<Value> bFrag) {
    SmallVector<Value> c(st.o.begin() + nv * 4, st.o.begin() + nv * 4 + 4);
    SmallVector<Value> d = mma(a, bFrag, c);
    std::copy(d.begin(), d.end(), st.o.begin() + nv * 4);
  };
  // A chunk of 8 k + 4 columns takes a last half n-block (its other half
  // reads V's zeroed padding; those O columns are never stored).
  int64_t nvBlocks = llvm::divideCeil(dvChunk, 8);
  for (int64_t kb = 0; kb < warpCols() / 16; ++kb) {
    SmallVector<Value> a = pOperand(s, kb);
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
  return st.flatten();
}

SmallVector<Value>
MmaKernelEmitter::mergeShare(ValueRange acc,
                             function_ref<Value(size_t)> share) {
  // Every CTA maps lanes to rows and columns alike, so a share's fragments
  // merge element by element; rows g (r = 0) and g + 8 (r = 1) have their
  // own max and sum (quad-uniform max, lane-local sum). The share's values
  // are in WarpState::flatten's order: m[2], l[2], then o.
  WarpState a = WarpState::unflatten(acc);
  for (int r = 0; r < 2; ++r) {
    auto [wA, wB] = mergeWeights(a.m[r], a.l[r], share(r), share(2 + r));
    for (size_t nv = 0; nv < a.o.size() / 4; ++nv)
      for (int e = 0; e < 2; ++e) {
        size_t i = nv * 4 + 2 * r + e;
        a.o[i] = arith::AddFOp::create(
            b, arith::MulFOp::create(b, a.o[i], wA),
            arith::MulFOp::create(b, share(4 + i), wB));
      }
  }
  return a.flatten();
}

void MmaKernelEmitter::placeBuffers(Value smem) {
  StagedKernelEmitter::placeBuffers(smem);
  if (kvWarps() == 1)
    return;
  int64_t bytes =
      nvvmKVWarpMergeBytes(spec.dv, dtypeBytes(spec.dtype), bq, warps);
  mergeSmem = memref::ViewOp::create(
      b,
      MemRefType::get({bytes / 4}, f32, MemRefLayoutAttrInterface{},
                      gpu::AddressSpaceAttr::get(
                          b.getContext(), gpu::AddressSpace::Workgroup)),
      smem, idx(0), ValueRange{});
}

SmallVector<Value> MmaKernelEmitter::combineKVWarps(ValueRange state) {
  if (kvWarps() == 1)
    return SmallVector<Value>(state);
  // The slots overlay the K / V stages, which the KV loop's last barrier
  // freed (no copy is in flight past the last tile).
  Value rowBlock = arith::RemUIOp::create(
      b, arith::DivUIOp::create(b, tid, idx(32)), idx(bq / 16));
  SmallVector<Value> acc =
      mergeKVSlices(state, mergeSmem, mul(rowBlock, idx(kvWarps() / 2)),
                    kvWarp, kvWarps(), lane, /*lanes=*/32);
  // The slots overwrote the stages' zeroed padding, which a next tile of
  // this CTA (stream-K) reads again; its first wait's barrier orders this.
  zeroPadding();
  return acc;
}

Value MmaKernelEmitter::threadsHoldRows() {
  Value rowsExist = warpHasRows();
  if (kvWarps() == 1)
    return rowsExist;
  return andI(rowsExist, cmp(arith::CmpIPredicate::eq, kvWarp, idx(0)));
}

void MmaKernelEmitter::epilogue(ValueRange state, Value bIdx, Value h) {
  // With KV warps, slice 0 holds the merged state; the others store nothing.
  if (kvWarps() > 1) {
    ifThen(cmp(arith::CmpIPredicate::eq, kvWarp, idx(0)),
           [&] { storeTile(state, bIdx, h); });
    return;
  }
  storeTile(state, bIdx, h);
}

void MmaKernelEmitter::storeTile(ValueRange state, Value bIdx, Value h) {
  using P = arith::CmpIPredicate;
  WarpState st = WarpState::unflatten(state);
  for (int r = 0; r < 2; ++r) {
    Value l = quadReduce(st.l[r], /*isMax=*/false);
    auto [inv, empty] = inverseSum(l);
    Value row = rows[r];
    scf::IfOp::create(b, cmp(P::slt, row, sq), [&](OpBuilder &, Location) {
      for (int64_t nv = 0; nv < llvm::divideCeil(dvChunk, 8); ++nv) {
        Value col = add(add(chunkBase, idx(nv * 8)), mul(t, idx(2)));
        auto store = [&] {
          storeOut({st.o[nv * 4 + 2 * r], st.o[nv * 4 + 2 * r + 1]}, inv,
                   bIdx, heads[r], row, col);
        };
        // A half n-block: lanes t >= 2 hold padding columns.
        if (nv * 8 + 8 <= dvChunk)
          store();
        else
          ifThen(cmp(P::slt, t, idx(2)), store);
      }
      if (lseFlat) {
        // One lane per row, and one chunk per row, writes the LSE.
        Value writer =
            andI(cmp(P::eq, t, idx(0)), cmp(P::eq, chunkBase, idx(0)));
        scf::IfOp::create(b, writer, [&](OpBuilder &, Location) {
          storeLse(st.m[r], l, empty, bIdx, heads[r], row);
          scf::YieldOp::create(b);
        });
      }
      scf::YieldOp::create(b);
    });
  }
}

//===----------------------------------------------------------------------===//
// f16 / bf16 on sm_90a: wgmma
//===----------------------------------------------------------------------===//

/// Each warpgroup (4 warps, 64 query rows) issues wgmma.mma_async m64nNk16:
/// S = Q K^T (N = block_kv) with both operands in shared memory, then
/// O += P V (N = Dv chunk) with P as A straight from the softmax registers
/// (as FlashAttention-3: no shared-memory round trip and no barrier for
/// P). The accumulator fragment of a warp is the mma.sync C layout
/// repeated over n8 blocks, and the A register fragment is mma.sync's A,
/// so row ownership, softmax and epilogue are the mma.sync kernel's and P
/// is packed as there. Tiles use the no-swizzle canonical layouts (PTX
/// ISA, "matrix descriptor"): 8x8 core matrices of 128 contiguous bytes,
/// row-group major; a 16-byte cp.async chunk is one core-matrix row. For
/// K-major operands (Q, K) SBO is the stride between 8-row groups and LBO
/// the one between the two K-adjacent core matrices of a k16 step; for V
/// (MN-major, transposed B) SBO steps along N and LBO along K.
class WgmmaKernelEmitter : public MmaKernelEmitter {
public:
  using MmaKernelEmitter::MmaKernelEmitter;

protected:
  bool treeReductions() const override { return true; }
  MemRefType stageType(int64_t cols) override {
    return MemRefType::get({stages, bk * cols}, elt,
                           MemRefLayoutAttrInterface{}, smemSpace());
  }
  SmallVector<Value> stageIndex(Value stage, Value row, Value col,
                                int64_t cols) override {
    return {stage, coreOffset(row, col, cols)};
  }
  /// K and Q tiles are laid out over Dqk rounded up to wgmma's k-step of
  /// 16; the last step's columns past Dqk are zeroed once (zeroPadding).
  int64_t layoutCols(Value smem, int64_t cols) override {
    return !smem || smem == kSmem || smem == qSmem ? qkCols() : cols;
  }
  int64_t qkCols() const { return llvm::alignTo(spec.dqk, 16); }
  void zeroPadding() override;
  void placeExtra(Value smem, int64_t offset) override;
  bool readsThroughAsyncProxy() const override { return true; }
  /// wgmma and its named barriers are warpgroup-wide: every warp computes.
  Value warpHasRows() override { return nullptr; }
  void setupThreads(Value bIdx, Value h, Value i0) override;
  SmallVector<Value> emitTile(ValueRange state, Value bIdx, Value h,
                              Value stage, Value kt, bool partial) override;

  Attribute smemSpace() {
    return gpu::AddressSpaceAttr::get(b.getContext(),
                                      gpu::AddressSpace::Workgroup);
  }
  /// Element offset of (row, col) in a core-matrix tile of `cols` columns
  /// (wgmma::coreMatrixOffset at run time).
  Value coreOffset(Value row, Value col, int64_t cols) {
    Value group = add(mul(arith::DivUIOp::create(b, row, idx(8)),
                          idx(cols / 8)),
                      arith::DivUIOp::create(b, col, idx(8)));
    Value inner = add(mul(arith::RemUIOp::create(b, row, idx(8)), idx(8)),
                      arith::RemUIOp::create(b, col, idx(8)));
    return add(mul(group, idx(64)), inner);
  }
  /// Matrix descriptor of operand `op` of the tile at element `base` of
  /// `mem`.
  Value descriptor(Value mem, Value base, const wgmma::Operand &op);
  /// The descriptor of `op` for a tile at shared-memory byte address
  /// `tileAddr` (i64). With `perTile` the tile's start word goes through
  /// perTileCopy.
  Value encodeDescriptor(Value tileAddr, const wgmma::Operand &op,
                         bool perTile = false);
  /// A loop-invariant value the KV loop should re-derive at each use rather
  /// than hold: `v`, or for the warp-specialized kernel a copy LLVM cannot
  /// hoist (OpaqueCopy.h).
  virtual Value perTileCopy(Value v) { return v; }
  /// Descriptors of k16 step kk: this warpgroup's Q rows, K of `stage`, V
  /// of `stage`.
  virtual Value descQ(int64_t kk);
  virtual Value descK(Value stage, int64_t kk);
  virtual Value descV(Value stage, int64_t kk);
  /// emitTile's hooks for kernels whose K and V tiles land and free on
  /// barriers of their own: S of KV tile kt (K in `stage`) is done; P V
  /// (V in `stage`) is about to be issued.
  virtual void afterS(Value stage) {}
  virtual void beforePV(Value stage, Value kt) {}
  /// S of a tile is issued and committed, not yet waited for.
  virtual void sIssued() {}
  /// acc += A * B over one k16 step for each descriptor pair, issued only
  /// (no fence, commit or wait): the accumulator struct, in flight until a
  /// wgmma wait covers it. An empty `acc` starts from zero: the first k16
  /// step does not read D (scale-d 0), so no register is written between
  /// the caller's wgmma.fence and the wgmma, which the PTX ISA leaves
  /// undefined.
  Value issueWgmma(ArrayRef<Value> acc, ArrayRef<Value> descA,
                   ArrayRef<Value> descB, int64_t n, bool transB);
  SmallVector<Value> unpack(Value acc, int64_t n);
  /// Descriptors of V in `stage`, one per k16 step of the KV tile.
  SmallVector<Value> vDescriptors(Value stage);
  /// Inline PTX `text` with side effects (LLVM neither moves nor drops
  /// it) on `operands`; its result, or null for `resultType` none.
  Value inlinePtx(Type resultType, ValueRange operands, StringRef text,
                  StringRef constraints);
  /// O += P V with P in registers (pFragments) and V by `vDescs`, issued
  /// only, as issueWgmma; the O accumulator struct.
  Value issuePV(ArrayRef<Value> o, ArrayRef<Value> p,
                ArrayRef<Value> vDescs);
  /// O += P V with V of `stage`, fenced, committed and waited for.
  SmallVector<Value> pv(ArrayRef<Value> o, ArrayRef<Value> p, Value stage);
  /// Descriptors of S = Q K^T (K of `stage`).
  std::pair<SmallVector<Value>, SmallVector<Value>> qkDescriptors(Value stage);
  /// S's accumulator as n8 blocks of 4.
  SmallVector<SmallVector<Value>> sBlocks(ArrayRef<Value> flatS);
  /// P (the softmaxed S blocks) as wgmma A registers: 4 x i32 per k16 step
  /// of the KV tile.
  SmallVector<Value> pFragments(ArrayRef<SmallVector<Value>> p);

  Value warpgroup;
  // Q [block_q][Dqk], core-matrix layout.
  Value qSmem;
};

void WgmmaKernelEmitter::placeExtra(Value smem, int64_t offset) {
  auto type = MemRefType::get({1, bq * qkCols()}, elt,
                              MemRefLayoutAttrInterface{}, smemSpace());
  qSmem = memref::ViewOp::create(b, type, smem, idx(offset), ValueRange{});
}

void WgmmaKernelEmitter::zeroPadding() {
  // A Dqk of 16 k + 8 ends in a k-step half past the head dim: its core
  // matrices in Q's tile and in every K stage are never copied to. They
  // must hold zeros, not merely finite values: the products there are
  // summed into S (a NaN or inf pattern left in shared memory would make
  // it NaN).
  int64_t padCols = qkCols() - spec.dqk;
  zeroColumns(kSmem, stages, bk, spec.dqk, padCols, qkCols());
  zeroColumns(qSmem, 1, bq, spec.dqk, padCols, qkCols());
}

void WgmmaKernelEmitter::setupThreads(Value bIdx, Value h, Value i0) {
  setupLanes(i0, h);
  warpgroup = arith::DivUIOp::create(b, tid, idx(128));
  // Q is copied once, as the oldest cp.async group: the first tile's wait
  // covers it.
  copyTile(qSmem, idx(0), qFlat, spec.hq, bIdx, h, sq, spec.dqk, idx(0),
           spec.dqk, i0, bq);
  NVVM::CpAsyncCommitGroupOp::create(b);
  qCopyInFlight = true;
}

Value WgmmaKernelEmitter::descriptor(Value mem, Value base,
                                     const wgmma::Operand &op) {
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, mem);
  Value addr = add(ptr, mul(base, idx(dtypeBytes(spec.dtype))));
  return encodeDescriptor(arith::IndexCastUIOp::create(b, b.getI64Type(), addr),
                          op);
}

Value WgmmaKernelEmitter::encodeDescriptor(Value tileAddr,
                                           const wgmma::Operand &op,
                                           bool perTile) {
  auto c64 = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, v, 64).getResult();
  };
  int64_t startBytes = op.start * dtypeBytes(spec.dtype);
  assert(startBytes % 16 == 0 && "wgmma operands start on 16-byte rows");
  // A k-step's low word is the tile's start word plus a constant (the
  // 14-bit start field cannot carry: shared addresses are below 2^18) and
  // the high word is a constant, so one 32-bit value derives every k-step.
  Value tileStart = arith::TruncIOp::create(
      b, b.getI32Type(),
      arith::AndIOp::create(b, arith::ShRUIOp::create(b, tileAddr, c64(4)),
                            c64(0x3FFF)));
  if (perTile)
    tileStart = perTileCopy(tileStart);
  Value low = arith::AddIOp::create(
      b, tileStart,
      arith::ConstantIntOp::create(
          b, (startBytes >> 4) + ((op.lboBytes >> 4) << 16), 32));
  // Base offset (bits 49-51) stays 0: swizzled tiles are 1024-byte aligned.
  int64_t high = ((op.sboBytes >> 4) << 32) |
                 (static_cast<int64_t>(op.swizzle) << 62);
  return arith::OrIOp::create(
      b, arith::ExtUIOp::create(b, b.getI64Type(), low), c64(high));
}

Value WgmmaKernelEmitter::descQ(int64_t kk) {
  Value qBase = coreOffset(mul(warpgroup, idx(64)), idx(0), qkCols());
  return descriptor(qSmem, qBase, wgmma::kMajor(0, qkCols(), kk));
}

Value WgmmaKernelEmitter::descK(Value stage, int64_t kk) {
  return descriptor(kSmem, mul(stage, idx(bk * qkCols())),
                    wgmma::kMajor(0, qkCols(), kk));
}

Value WgmmaKernelEmitter::descV(Value stage, int64_t kk) {
  return descriptor(vSmem, mul(stage, idx(bk * dvChunk)),
                    wgmma::mnMajor(dvChunk, kk));
}

Value WgmmaKernelEmitter::issueWgmma(ArrayRef<Value> acc, ArrayRef<Value> descA,
                                     ArrayRef<Value> descB, int64_t n,
                                     bool transB) {
  MLIRContext *ctx = b.getContext();
  auto structType =
      LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32));
  Value packed = LLVM::PoisonOp::create(b, structType);
  for (auto [i, v] : llvm::enumerate(acc))
    packed = LLVM::InsertValueOp::create(b, packed, v, i);
  NVVM::WGMMATypes type = spec.dtype == DType::F16 ? NVVM::WGMMATypes::f16
                                                   : NVVM::WGMMATypes::bf16;
  bool zeroInit = acc.empty();
  for (auto [da, db] : llvm::zip(descA, descB)) {
    auto scaleOut =
        zeroInit ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one;
    zeroInit = false;
    packed = NVVM::WgmmaMmaAsyncOp::create(
        b, structType, packed, da, db,
        NVVM::MMAShapeAttr::get(ctx, 64, n, 16), type, type,
        NVVM::WGMMATypes::f32, scaleOut,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
        NVVM::MMALayout::row,
        transB ? NVVM::MMALayout::row : NVVM::MMALayout::col,
        /*satfinite=*/nullptr);
  }
  return packed;
}

SmallVector<Value> WgmmaKernelEmitter::unpack(Value acc, int64_t n) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < n / 2; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, acc, i));
  return out;
}

std::pair<SmallVector<Value>, SmallVector<Value>>
WgmmaKernelEmitter::qkDescriptors(Value stage) {
  // Q rows of this warpgroup (K-major A), K rows (K-major B).
  SmallVector<Value> qDescs, kDescs;
  for (int64_t kk = 0; kk < qkCols() / 16; ++kk) {
    qDescs.push_back(descQ(kk));
    kDescs.push_back(descK(stage, kk));
  }
  return {qDescs, kDescs};
}

SmallVector<Value> WgmmaKernelEmitter::vDescriptors(Value stage) {
  SmallVector<Value> descs;
  for (int64_t kk = 0; kk < bk / 16; ++kk)
    descs.push_back(descV(stage, kk));
  return descs;
}

Value WgmmaKernelEmitter::inlinePtx(Type resultType, ValueRange operands,
                                    StringRef text, StringRef constraints) {
  auto dialect =
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT);
  auto op = LLVM::InlineAsmOp::create(
      b, resultType ? TypeRange(resultType) : TypeRange(), operands, text,
      constraints, /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, dialect,
      /*operand_attrs=*/ArrayAttr());
  return resultType ? op.getResult(0) : Value();
}

Value WgmmaKernelEmitter::issuePV(ArrayRef<Value> o, ArrayRef<Value> p,
                                  ArrayRef<Value> vDescs) {
  MLIRContext *ctx = b.getContext();
  int64_t n = dvChunk;
  auto structType =
      LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32));
  bool bf16 = spec.dtype != DType::F16;
  std::string asmText = wgmma::registerAAsm(n, bf16, /*transB=*/true);
  std::string constraints = wgmma::registerAConstraints(n);
  SmallVector<Value> acc(o.begin(), o.end());
  Value packed;
  // One k16 step of the KV tile at a time: V rows [16 kk, 16 kk + 16),
  // MN-major (two 8-row groups), against P's columns of that step.
  for (int64_t kk = 0; kk < bk / 16; ++kk) {
    SmallVector<Value> operands(acc);
    operands.append(p.begin() + 4 * kk, p.begin() + 4 * kk + 4);
    operands.push_back(vDescs[kk]);
    packed = inlinePtx(structType, operands, asmText, constraints);
    if (kk + 1 < bk / 16)
      acc = unpack(packed, n);
  }
  return packed;
}

SmallVector<Value> WgmmaKernelEmitter::pv(ArrayRef<Value> o,
                                          ArrayRef<Value> p, Value stage) {
  SmallVector<Value> vDescs = vDescriptors(stage);
  NVVM::WgmmaFenceAlignedOp::create(b);
  Value packed = issuePV(o, p, vDescs);
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  return unpack(packed, dvChunk);
}

SmallVector<SmallVector<Value>>
WgmmaKernelEmitter::sBlocks(ArrayRef<Value> flatS) {
  SmallVector<SmallVector<Value>> s(bk / 8);
  for (int64_t nb = 0; nb < bk / 8; ++nb)
    s[nb].assign(flatS.begin() + 4 * nb, flatS.begin() + 4 * nb + 4);
  return s;
}

SmallVector<Value>
WgmmaKernelEmitter::pFragments(ArrayRef<SmallVector<Value>> p) {
  // wgmma's register A is mma.sync's A per warp; the inline PTX takes every
  // register as i32 (f16 pairs come as vector<2xf16>).
  SmallVector<Value> regs;
  for (int64_t kk = 0; kk < bk / 16; ++kk)
    for (Value reg : pOperand(p, kk))
      regs.push_back(reg.getType().isInteger(32)
                         ? reg
                         : Value(LLVM::BitcastOp::create(b, b.getI32Type(),
                                                         reg)));
  return regs;
}

SmallVector<Value> WgmmaKernelEmitter::emitTile(ValueRange state, Value bIdx,
                                                Value h, Value stage, Value kt,
                                                bool partial) {
  WarpState st = WarpState::unflatten(state);
  auto [qDescs, kDescs] = qkDescriptors(stage);
  NVVM::WgmmaFenceAlignedOp::create(b);
  Value sAcc = issueWgmma(/*acc=*/{}, qDescs, kDescs, bk, /*transB=*/false);
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  sIssued();
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  SmallVector<SmallVector<Value>> s = sBlocks(unpack(sAcc, bk));
  afterS(stage);
  softmaxFragments(st, s, bIdx, mul(kt, idx(bk)), partial);
  beforePV(stage, kt);
  st.o = pv(st.o, pFragments(s), stage);
  return st.flatten();
}

//===----------------------------------------------------------------------===//
// sm_90a with TMA
//===----------------------------------------------------------------------===//

/// The wgmma kernel with Q, K and V loaded by the Tensor Memory Accelerator
/// (16-bit inputs, any head dim the wgmma kernel takes). The runtime encodes one
/// CUtensorMap per tensor, a 4-D tiled view [B][heads][seq][dim] with boxes
/// of 64 columns x (block_q | block_kv) rows and 128-byte swizzle, and
/// passes it by value (`__grid_constant__`, see
/// attn-mark-tensor-map-params). Rows past the sequence read as zeros. One
/// thread issues a tile's boxes after arming the stage's mbarrier with
/// their byte count; every thread waits on the barrier's phase parity, so
/// no copy work or proxy fence sits on the math warps. An empty tile only
/// arrives on its barrier, which keeps every stage's phase count equal to
/// the number of tiles it has held. Q, K and V are read by wgmma through
/// 128-byte swizzled descriptors (wgmma::kMajorSw128 / mnMajorSw128).
class TmaWgmmaKernelEmitter : public WgmmaKernelEmitter {
public:
  using WgmmaKernelEmitter::WgmmaKernelEmitter;

protected:
  SmallVector<Type> extraArgTypes() override {
    return SmallVector<Type>(3, LLVM::LLVMPointerType::get(b.getContext()));
  }
  void bindExtraArgs(ValueRange args) override {
    qMap = args[0], kMap = args[1], vMap = args[2];
  }
  void placeBuffers(Value smem) override;
  /// TMA fills a box's columns past the tensor (Dqk) with zeros.
  void zeroPadding() override {}
  void setupThreads(Value bIdx, Value h, Value i0) override;
  void afterPrologue() override { waitPhase(qBarrier(), idx(0)); }
  void issueTileCopy(Value stage, Value bIdx, Value kh, Value vh,
                     Value kt) override;
  void skipTileCopy(Value stage) override;
  void commitTileCopies() override {}
  void waitForTile(Value kt, Value stage) override {
    waitPhase(stage, parityOf(kt));
  }
  Value descQ(int64_t kk) override {
    // This warpgroup's 64 rows start 64 x 128 bytes into every box. Q's
    // descriptors are loop-invariant: hoisted, they held a 64-bit register
    // pair a k-step through the KV loop (16 registers at head dim 128),
    // which the overlapped 128 x 176 tile's math warps spilled; derived per
    // tile they cost a copy and an add a k-step.
    Value rows = mul(warpgroup, idx(64 * 128));
    return encodeDescriptor(i64(add(base, add(idx(layout.q), rows))),
                            wgmma::kMajorSw128(0, bq, kk), /*perTile=*/true);
  }
  Value descK(Value stage, int64_t kk) override {
    return encodeDescriptor(i64(add(base, kStage(stage))),
                            wgmma::kMajorSw128(0, bk, kk));
  }
  Value descV(Value stage, int64_t kk) override {
    return encodeDescriptor(i64(add(base, vStage(stage))),
                            wgmma::mnMajorSw128(bk, kk));
  }

  Value i64(Value index) {
    return arith::IndexCastUIOp::create(b, b.getI64Type(), index);
  }
  Value i32(Value index) {
    return arith::IndexCastOp::create(b, b.getI32Type(), index);
  }
  /// Byte offsets from the aligned base of the K and V tiles of `stage`:
  /// where TMA writes them and where the descriptors read them.
  Value kStage(Value stage) {
    return add(idx(layout.k),
               mul(stage, idx(bk * kCols() * dtypeBytes(spec.dtype))));
  }
  Value vStage(Value stage) {
    return add(idx(layout.v),
               mul(stage, idx(bk * vCols() * dtypeBytes(spec.dtype))));
  }
  /// The pointer to shared byte address `byteAddr`. In 32 bits (addr32):
  /// the dynamic shared memory's own pointer advanced by the 32-bit
  /// distance, which nvemu's host pointers keep too.
  Value sharedPtr(Value byteAddr) {
    if (!addr32())
      return LLVM::IntToPtrOp::create(
          b, LLVM::LLVMPointerType::get(b.getContext(), 3), i64(byteAddr));
    Value offset = arith::SubIOp::create(
        b, arith::IndexCastUIOp::create(b, b.getI32Type(), byteAddr),
        rawAddr32);
    return LLVM::GEPOp::create(
        b, smemPtr.getType(), b.getI8Type(), smemPtr,
        ValueRange{arith::ExtUIOp::create(b, b.getI64Type(), offset)});
  }
  Value barrier(Value index) {
    return sharedPtr(add(base, add(idx(layout.barriers), mul(index, idx(8)))));
  }
  void waitPhase(Value barrierIndex, Value parity) {
    NVVM::MBarrierTryWaitParityOp::create(
        b, barrier(barrierIndex), i32(parity),
        arith::ConstantIntOp::create(b, 10000000, 32));
  }
  /// Runs `body` on thread 0 only.
  void onLeader(function_ref<void()> body) {
    ifThen(cmp(arith::CmpIPredicate::eq, tid, idx(0)), body);
  }
  /// Arms barrier `bar` for `bytes` bytes (0: just arrives).
  void expect(Value bar, int64_t bytes) {
    NVVM::MBarrierArriveExpectTxOp::create(
        b, Type(), barrier(bar),
        arith::ConstantIntOp::create(b, bytes, 32), NVVM::MemScopeKindAttr(),
        BoolAttr(), Value());
  }
  /// TMA loads of rows [row0, row0 + rows) x columns [col0, col0 + cols) of
  /// one head, as boxes of 64 columns at `dst` (byte offset from the base).
  void loadTile(Value map, Value dst, int64_t rows, int64_t cols, Value col0,
                Value row0, Value head, Value bIdx, Value bar);
  /// Arms the Q barrier and loads the CTA's Q tile (one thread).
  void loadQ(Value bIdx, Value h, Value i0);
  /// Arms stage `stage`'s barrier and loads KV tile kt into it (one thread).
  void loadKV(Value stage, Value bIdx, Value kh, Value vh, Value kt);
  /// Arms barrier `bar` and loads the K (V) tile of KV tile kt into
  /// `stage` (one thread).
  void loadK(Value stage, Value bIdx, Value kh, Value kt, Value bar);
  void loadV(Value stage, Value bIdx, Value vh, Value kt, Value bar);
  /// Initializes `count` mbarriers from index `first` for `arrivals` each.
  void initBarriers(int64_t first, int64_t count, int64_t arrivals);
  /// The Q barrier's index: after the stages' full barriers.
  Value qBarrier() { return idx(stages); }
  /// Columns of a Q / K tile and of a V tile in shared memory: whole boxes
  /// of 64; columns past the head dim (or this CTA's Dv chunk) are loaded
  /// (zeros, or the next chunk's values) but never read by wgmma.
  int64_t kCols() const { return nvvmTmaColumns(spec.dqk); }
  int64_t vCols() const { return nvvmTmaColumns(dvChunk); }

  NvvmTmaSmemLayout layout;
  /// Shared addresses in 32 bits (they fit) for KV tiles past powers of
  /// two, where the warp-specialized kernel's roles also re-derive the base
  /// and the KV tile count (a 64-bit division there) after setmaxnreg
  /// (emitRoles, forEachItem): at 128 x 176, head dim 128, the math role
  /// (at 240 registers) spilled the 64-bit base's high word and the count
  /// under every producer share. The power-of-two tiles keep the 64-bit,
  /// shared form: at the edge of the register file ptxas' allocation
  /// moves either way, and the 32-bit one cost three prefill-matrix
  /// kernels their 128 x 128 tile, the per-role copies three overlapped
  /// ones their producer warpgroup (test/e2e/gpu_resources.py, sm_90a).
  bool addr32() const { return !llvm::isPowerOf2_64(bk); }
  /// Byte address (index) of the 1024-byte aligned base; with addr32 its
  /// low 32 bits.
  Value base;
  /// With addr32: the dynamic shared memory as it comes (16-byte aligned)
  /// and the low 32 bits of its address.
  Value smemPtr, rawAddr32;
  Value smemBuffer;
  /// Derives the above and `base` from the dynamic shared memory's address
  /// `raw`.
  void alignBase(Value raw);
  Value qMap, kMap, vMap;
};

void TmaWgmmaKernelEmitter::placeBuffers(Value smem) {
  layout = nvvmTmaSmemLayout(spec.dqk, spec.dv, bq, bk, stages);
  // The dynamic shared memory base is only 16-byte aligned; swizzle atoms
  // need 1024 (the layout's total leaves room).
  smemBuffer = smem;
  alignBase(memref::ExtractAlignedPointerAsIndexOp::create(b, smem));
}

void TmaWgmmaKernelEmitter::alignBase(Value raw) {
  if (!addr32()) {
    base = mul(arith::CeilDivUIOp::create(b, raw, idx(1024)), idx(1024));
    return;
  }
  smemPtr = LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), 3), i64(raw));
  rawAddr32 = arith::IndexCastUIOp::create(b, b.getI32Type(), raw);
  auto c32 = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, v, 32).getResult();
  };
  Value aligned = arith::AndIOp::create(
      b, arith::AddIOp::create(b, rawAddr32, c32(1023)), c32(~int64_t(1023)));
  base = arith::IndexCastUIOp::create(b, b.getIndexType(), aligned);
}

void TmaWgmmaKernelEmitter::setupThreads(Value bIdx, Value h, Value i0) {
  setupLanes(i0, h);
  warpgroup = arith::DivUIOp::create(b, tid, idx(128));
  onLeader([&] {
    initBarriers(0, stages + 1, 1);
    NVVM::FenceMbarrierInitOp::create(b);
  });
  gpu::BarrierOp::create(b);
  onLeader([&] { loadQ(bIdx, h, i0); });
}

void TmaWgmmaKernelEmitter::initBarriers(int64_t first, int64_t count,
                                         int64_t arrivals) {
  for (int64_t i = first; i < first + count; ++i)
    NVVM::MBarrierInitOp::create(b, barrier(idx(i)),
                                 arith::ConstantIntOp::create(b, arrivals, 32),
                                 Value());
}

void TmaWgmmaKernelEmitter::loadQ(Value bIdx, Value h, Value i0) {
  expect(qBarrier(), bq * kCols() * dtypeBytes(spec.dtype));
  loadTile(qMap, idx(layout.q), bq, spec.dqk, idx(0), i0, h, bIdx,
           qBarrier());
}

void TmaWgmmaKernelEmitter::loadTile(Value map, Value dst, int64_t rows,
                                     int64_t cols, Value col0, Value row0,
                                     Value head, Value bIdx, Value bar) {
  auto cluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  for (int64_t c = 0; c < nvvmTmaColumns(cols) / 64; ++c) {
    Value box = sharedPtr(add(base, add(dst, idx(c * rows * 128))));
    // The own CTA's shared::cta window lies inside shared::cluster.
    Value dstPtr = LLVM::AddrSpaceCastOp::create(b, cluster, box);
    // Coordinates are innermost first: column, row, head, batch.
    SmallVector<Value> coords = {i32(add(col0, idx(64 * c))), i32(row0),
                                 i32(head), i32(bIdx)};
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, dstPtr, map, coords, barrier(bar), ValueRange{}, Value(), Value(),
        NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false,
        NVVM::CTAGroupKindAttr(), Value());
  }
}

void TmaWgmmaKernelEmitter::issueTileCopy(Value stage, Value bIdx, Value kh,
                                          Value vh, Value kt) {
  onLeader([&] { loadKV(stage, bIdx, kh, vh, kt); });
}

void TmaWgmmaKernelEmitter::loadKV(Value stage, Value bIdx, Value kh, Value vh,
                                   Value kt) {
  int64_t eltBytes = dtypeBytes(spec.dtype);
  expect(stage, bk * (kCols() + vCols()) * eltBytes);
  Value j0 = mul(kt, idx(bk));
  loadTile(kMap, kStage(stage), bk, spec.dqk, idx(0), j0, kh, bIdx, stage);
  loadTile(vMap, vStage(stage), bk, dvChunk, chunkBase, j0, vh, bIdx, stage);
}

void TmaWgmmaKernelEmitter::loadK(Value stage, Value bIdx, Value kh, Value kt,
                                  Value bar) {
  expect(bar, bk * kCols() * dtypeBytes(spec.dtype));
  loadTile(kMap, kStage(stage), bk, spec.dqk, idx(0), mul(kt, idx(bk)), kh,
           bIdx, bar);
}

void TmaWgmmaKernelEmitter::loadV(Value stage, Value bIdx, Value vh, Value kt,
                                  Value bar) {
  expect(bar, bk * vCols() * dtypeBytes(spec.dtype));
  loadTile(vMap, vStage(stage), bk, dvChunk, chunkBase, mul(kt, idx(bk)), vh,
           bIdx, bar);
}

void TmaWgmmaKernelEmitter::skipTileCopy(Value stage) {
  onLeader([&] { expect(stage, 0); });
}

//===----------------------------------------------------------------------===//
// sm_90a with TMA, warp-specialized
//===----------------------------------------------------------------------===//

/// The TMA kernel with a producer warpgroup, as in FlashAttention-3: the
/// math warpgroups never copy and never meet at a CTA barrier. Warpgroup
/// `warps / 4` (the last) issues Q and then every KV tile from one thread.
/// K and V of a stage have barriers of their own, as FlashAttention-3's
/// two pipelines: for each of K and V in turn the producer waits until the
/// math warps released the stage's slot (its "empty" mbarrier, one arrival
/// per math thread), arms its "full" mbarrier with the bytes (0 for an
/// empty tile) and issues the TMA loads. The math warpgroups wait on K's
/// "full" before S and free K once S is done, wait on V's "full" before
/// P V and free V once that is done; so the next K into a stage goes out
/// while this tile's softmax and P V still run, and an overlapped kernel,
/// which holds V until the next tile's softmax is over, does not hold K
/// that long (and loads the next tile's K before this tile's V, vTrailsK).
/// Phases: the n-th use of a stage (n = tile / stages) waits on
/// "full" with parity n mod 2 and the producer on "empty" with parity
/// (n mod 2) ^ 1, which a fresh barrier passes at once (the buffers start
/// empty). The CTA launches 128 more threads under .maxnreg 168 (3 x 128 x
/// 168 fits the register file); the producer gives registers back
/// (setmaxnreg.dec, 72 by default) and the math warps take them
/// (setmaxnreg.inc, 216: nvvmConsumerRegisters).
class WarpSpecializedKernelEmitter : public TmaWgmmaKernelEmitter {
public:
  WarpSpecializedKernelEmitter(ImplicitLocOpBuilder &b,
                               gpu::GPUModuleOp gpuModule,
                               const AttentionSpec &spec, StringRef name,
                               int64_t blockQ, int64_t blockKV, int64_t warps,
                               int64_t stages, Region *maskFn, Region *scoreFn,
                               int64_t producerRegisters, bool pingpong)
      : TmaWgmmaKernelEmitter(b, gpuModule, spec, name, blockQ, blockKV, warps,
                              stages, maskFn, scoreFn),
        pingpong(pingpong), producerRegisters(producerRegisters),
        consumerRegisters(nvvmConsumerRegisters(producerRegisters)) {}

protected:
  /// The math warpgroups' KV loop; returns the final WarpState.
  virtual SmallVector<Value> consumerLoop(Value bIdx, Value h, Value i0,
                                          Value i1, Value qt);
  /// K and V of a stage land and free on barriers of their own, as
  /// FlashAttention-3's pipelines: K's "full" barrier is the stage's index
  /// (then Q's), K's "empty" barriers follow, then the persistent CTA's
  /// "Q free", then V's "full" and "empty" barriers.
  Value emptyK(Value stage) { return add(stage, idx(stages + 1)); }
  Value fullV(Value stage) { return add(stage, idx(2 * stages + 2)); }
  Value emptyV(Value stage) { return add(stage, idx(3 * stages + 2)); }
  void releaseK(Value stage) { arrive(emptyK(stage)); }
  void releaseV(Value stage) { arrive(emptyV(stage)); }
  void waitV(Value stage, Value kt) { waitPhase(fullV(stage), parityOf(kt)); }
  void arrive(Value bar) {
    NVVM::MBarrierArriveOp::create(b, Type(), barrier(bar), Value());
  }
  /// Whether the math warps read a tile's V only after the next tile's K
  /// (the overlapped kernel's P V goes out with the next S): the producer
  /// then loads that K first.
  virtual bool vTrailsK() const { return false; }
  /// S done: the K tile is free, while V still waits for P V.
  void afterS(Value stage) override { releaseK(stage); }
  /// Ping-pong: a turn is this tile's P V and the next tile's S; the
  /// softmax between them runs while the other warpgroup has its turn.
  void beforePV(Value stage, Value kt) override {
    waitV(stage, kt);
    if (pingpong)
      awaitTurn();
  }
  void sIssued() override {
    if (pingpong)
      passTurn();
  }

  /// Ping-pong (pass option `pingpong`, FlashAttention-3 section 3.1): the
  /// math warpgroups take turns issuing their products, so one
  /// warpgroup's softmax runs while the next one's products occupy the
  /// tensor cores. A turn starts with a bar.sync on the warpgroup's
  /// scheduler barrier and ends with a bar.arrive on the next warpgroup's
  /// (mod the count). Warpgroup 0 arrives on its own barrier once to start
  /// (openTurns) and waits on it once after its walk to take the last
  /// warpgroup's final arrival (closeTurns), so the barriers end as they
  /// started. Every warpgroup of a CTA walks the same tiles, so all take
  /// the same number of turns.
  bool pingpong;
  void awaitTurn() { syncScheduler(schedulerBarrier(warpgroup)); }
  void passTurn() {
    arriveScheduler(schedulerBarrier(
        arith::RemUIOp::create(b, add(warpgroup, idx(1)), idx(warps / 4))));
  }
  void openTurns() {
    ifThen(isFirstWarpgroup(),
           [&] { arriveScheduler(schedulerBarrier(idx(0))); });
  }
  void closeTurns() {
    ifThen(isFirstWarpgroup(),
           [&] { syncScheduler(schedulerBarrier(idx(0))); });
  }

private:
  /// Scheduler barrier of math warpgroup `wg` (0 is the CTA barrier).
  Value schedulerBarrier(Value wg) { return add(wg, idx(1)); }
  /// bar.sync / bar.arrive on scheduler barrier `id`: the waiting
  /// warpgroup and the one that hands it the turn.
  void syncScheduler(Value id);
  void arriveScheduler(Value id);
  Value isFirstWarpgroup() {
    return cmp(arith::CmpIPredicate::eq, warpgroup, idx(0));
  }

  int64_t blockThreads() const override {
    return nvvmBlockThreads(warps, /*warpSpecialized=*/true);
  }
  int64_t maxRegisters() const override { return kLaunchRegisters; }
  void emitMainLoop(Value bIdx, Value h, Value kh, Value vh, Value qt,
                    Value i0, Value i1) override;
  void emitPersistent() override;
  /// The producer / math split over the CTA's output tiles (forEachItem).
  void emitRoles();
  /// Runs `body` on each output tile of the CTA in turn, with values
  /// carried from one to the next (`init`; the last ones are dropped):
  /// the tile of its block ids or, persistent, tiles
  /// blockIdx.x, + gridDim.x, ... of the flat (batch, head x chunk, query
  /// tile) space. Query tiles go last-first, so a causal grid starts on its
  /// longest walks and the short ones fill the tail.
  void forEachItem(
      ValueRange init,
      function_ref<SmallVector<Value>(const WorkItem &, ValueRange)> body);
  /// "Q free" barrier of the persistent CTA: one arrival per math thread
  /// once its KV loop (the last read of Q) is done; the producer waits on
  /// it before loading the next tile's Q.
  Value qFreeBarrier() { return idx(2 * stages + 1); }
  /// (Query heads or packed groups) x Dv chunks: a grid's y.
  int64_t headChunks() const {
    return spec.hq / packGroup * (spec.dv / dvChunk);
  }
  /// Output tile w32 of the flat space (forEachItem's order).
  WorkItem itemAt(Value w32);
  /// `v` through an inline-PTX copy LLVM cannot see through (OpaqueCopy.h).
  Value opaque(Value v);
  Value perTileCopy(Value v) override { return opaque(v); }
  /// The persistent loop's tile index (i32), inside forEachItem's body.
  Value itemIndex;

  static constexpr int64_t kLaunchRegisters = 168;
  /// The producer's share after setmaxnreg (pass option
  /// producer-registers), and what that leaves each math thread.
  int64_t producerRegisters, consumerRegisters;
};

// Each role derives the block's tile itself (forEachItem): the values given
// here are computed above the role branch.
void WarpSpecializedKernelEmitter::emitMainLoop(Value, Value, Value, Value,
                                                Value, Value, Value) {
  emitRoles();
}

void WarpSpecializedKernelEmitter::emitPersistent() { emitRoles(); }

void WarpSpecializedKernelEmitter::syncScheduler(Value id) {
  NVVM::BarrierOp::create(b, Type(), i32(id), i32(idx(256)),
                          NVVM::BarrierReductionAttr(), Value());
}

void WarpSpecializedKernelEmitter::arriveScheduler(Value id) {
  NVVM::BarrierArriveOp::create(b, i32(id), i32(idx(256)));
}

void WarpSpecializedKernelEmitter::forEachItem(
    ValueRange init,
    function_ref<SmallVector<Value>(const WorkItem &, ValueRange)> body) {
  // Each role counts the KV tiles from its own copy of Skv (addr32).
  if (addr32())
    numKVTiles = arith::CeilDivUIOp::create(b, opaque(skv), idx(bk));
  if (!persistent) {
    // The block's tile anew in each role, from opaque block ids: LLVM
    // hoists what both roles derive above the role branch, and ptxas
    // spills what is live across setmaxnreg (the overlapped 128 x 128
    // tile at head dim 128 spilled 12 bytes that way under every producer
    // share).
    auto blockId = [&](gpu::Dimension d) {
      return opaque(gpu::BlockIdOp::create(b, d));
    };
    body(beginItem(queryTileOfBlock(blockId(gpu::Dimension::x)),
                   blockId(gpu::Dimension::y), blockId(gpu::Dimension::z)),
         init);
    return;
  }
  Value items = mul(mul(batch, idx(headChunks())), numQTiles);
  // 32-bit: a grid's x is below 2^31, and the loop's carried values cost
  // one register each instead of two beside the math warps' accumulators.
  scf::ForOp::create(
      b, i32(gpu::BlockIdOp::create(b, gpu::Dimension::x)), i32(items),
      i32(gpu::GridDimOp::create(b, gpu::Dimension::x)), init,
      [&](OpBuilder &, Location, Value w32, ValueRange iter) {
        itemIndex = w32;
        scf::YieldOp::create(b, body(itemAt(w32), iter));
      });
}

StagedKernelEmitter::WorkItem
WarpSpecializedKernelEmitter::itemAt(Value w32) {
  int64_t heads = headChunks();
  Value w = arith::IndexCastUIOp::create(b, b.getIndexType(), w32);
  Value qt = sub(sub(numQTiles, idx(1)),
                 arith::RemUIOp::create(b, w, numQTiles));
  Value rest = arith::DivUIOp::create(b, w, numQTiles);
  return beginItem(qt, arith::RemUIOp::create(b, rest, idx(heads)),
                   arith::DivUIOp::create(b, rest, idx(heads)));
}

Value WarpSpecializedKernelEmitter::opaque(Value v) {
  bool isIndex = v.getType().isIndex();
  if (isIndex)
    v = arith::IndexCastUIOp::create(b, b.getI64Type(), v);
  int64_t bits = v.getType().getIntOrFloatBitWidth();
  Value r = inlinePtx(v.getType(), v, opaqueCopyAsm(bits),
                      opaqueCopyConstraints(bits));
  return isIndex ? arith::IndexCastUIOp::create(b, b.getIndexType(), r) : r;
}

void WarpSpecializedKernelEmitter::emitRoles() {
  using P = arith::CmpIPredicate;
  int64_t mathThreads = 32 * warps;
  onLeader([&] {
    initBarriers(0, stages + 1, 1);
    initBarriers(stages + 1, stages, mathThreads);
    if (persistent)
      initBarriers(2 * stages + 1, 1, mathThreads);
    initBarriers(2 * stages + 2, stages, 1);
    initBarriers(3 * stages + 2, stages, mathThreads);
    NVVM::FenceMbarrierInitOp::create(b);
  });
  gpu::BarrierOp::create(b);
  // Carried from tile to tile by a persistent CTA: the KV tiles walked so
  // far (stages and phases continue) and the tiles done (Q's phase).
  SmallVector<Value> start;
  if (persistent)
    start.assign(2, arith::ConstantIntOp::create(b, 0, 32));
  auto next = [&](ValueRange iter) -> SmallVector<Value> {
    if (!persistent)
      return {};
    return {arith::AddIOp::create(b, iter[0], i32(walkLength())),
            arith::AddIOp::create(b, iter[1],
                                  arith::ConstantIntOp::create(b, 1, 32))};
  };
  // The carried counters as indices.
  auto counter = [&](Value v) {
    return arith::IndexCastUIOp::create(b, b.getIndexType(), v);
  };
  // Each role aligns the shared-memory base anew from an opaque copy of
  // its address (addr32).
  Value entryBase = base, entryPtr = smemPtr, entryAddr32 = rawAddr32;
  auto rebase = [&] {
    if (!addr32())
      return;
    alignBase(opaque(
        memref::ExtractAlignedPointerAsIndexOp::create(b, smemBuffer)));
  };
  Value isProducer = cmp(P::uge, tid, idx(mathThreads));
  scf::IfOp::create(
      b, isProducer,
      [&](OpBuilder &, Location) {
        NVVM::SetMaxRegisterOp::create(b, producerRegisters,
                                       NVVM::SetMaxRegisterAction::decrease);
        rebase();
        Value issuer = cmp(P::eq, tid, idx(mathThreads));
        scf::IfOp::create(b, issuer, [&](OpBuilder &, Location) {
          forEachItem(start, [&](const WorkItem &it, ValueRange iter) {
            // Arms K's (or V's) full barrier of stage `kt` and loads KV
            // tile kt's K (V) into it once the math warps released it (an
            // empty tile only arms).
            auto issueOne = [&](Value kt, bool isK) {
              Value stage = stageOf(kt);
              Value free = arith::XOrIOp::create(b, parityOf(kt), idx(1));
              Value live = notI(
                  classifyKV(kt, it.bIdx, it.h, it.i0, it.i1, it.qt).first);
              waitPhase(isK ? emptyK(stage) : emptyV(stage), free);
              ifThenElse(
                  live,
                  [&] {
                    if (isK)
                      loadK(stage, it.bIdx, it.kh, kt, stage);
                    else
                      loadV(stage, it.bIdx, it.vh, kt, fullV(stage));
                  },
                  [&] { expect(isK ? stage : fullV(stage), 0); });
            };
            auto inRange = [&](Value kt) {
              return cmp(arith::CmpIPredicate::slt, kt, kvTiles);
            };
            // K goes first, as its product does, and frees first. Where V
            // trails K by a tile (vTrailsK), the next tile's K goes before
            // this tile's V: the V slot frees only when the previous
            // product is done, and K behind it would reach the math warps
            // a tile later than its slot allows (FlashAttention-3's load
            // order for its intra-warpgroup overlap); the first tile's K
            // then goes alone, ahead of the steps.
            auto step = [&](Value kt) {
              if (vTrailsK()) {
                Value ahead = add(kt, idx(1));
                ifThen(inRange(ahead), [&] { issueOne(ahead, true); });
              } else {
                issueOne(kt, true);
              }
              issueOne(kt, false);
            };
            auto firstK = [&] {
              if (vTrailsK())
                ifThen(inRange(kvBegin), [&] { issueOne(kvBegin, true); });
            };
            auto stepsFrom = [&](Value from) {
              scf::ForOp::create(
                  b, from, kvTiles, idx(1), ValueRange{},
                  [&](OpBuilder &, Location, Value kt, ValueRange) {
                    step(kt);
                    scf::YieldOp::create(b);
                  });
            };
            if (!persistent) {
              loadQ(it.bIdx, it.h, it.i0);
              firstK();
              stepsFrom(kvBegin);
              return next(iter);
            }
            walked = counter(iter[0]);
            // The first KV tile goes before Q (its K alone where V trails
            // K): its stage frees while the math warps still finish the
            // previous tile, Q's only after.
            firstK();
            if (!vTrailsK())
              ifThen(inRange(kvBegin), [&] { step(kvBegin); });
            // The previous tile's math warps are done with Q (a fresh
            // barrier passes parity 1 at once).
            waitPhase(qFreeBarrier(),
                      arith::XOrIOp::create(
                          b, arith::RemUIOp::create(b, counter(iter[1]),
                                                    idx(2)),
                          idx(1)));
            loadQ(it.bIdx, it.h, it.i0);
            stepsFrom(vTrailsK() ? kvBegin : add(kvBegin, idx(1)));
            return next(iter);
          });
          scf::YieldOp::create(b);
        });
        scf::YieldOp::create(b);
      },
      [&](OpBuilder &, Location) {
        NVVM::SetMaxRegisterOp::create(b, consumerRegisters,
                                       NVVM::SetMaxRegisterAction::increase);
        rebase();
        Value base0 = base, tid0 = tid;
        forEachItem(start, [&](const WorkItem &it, ValueRange iter) {
          if (!persistent) {
            setupLanes(it.i0, it.h);
            warpgroup = arith::DivUIOp::create(b, tid, idx(128));
            waitPhase(qBarrier(), idx(0));
            epilogue(consumerLoop(it.bIdx, it.h, it.i0, it.i1, it.qt),
                     it.bIdx, it.h);
            return next(iter);
          }
          walked = counter(iter[0]);
          // What derives from the shared-memory base and the thread id is
          // derived per tile, from opaque copies: LLVM would hoist it out
          // of the tile loop and hold it through the KV loop, and at head
          // dim 128 the 128 x 128 tile then spilled under every producer
          // share.
          base = opaque(base0);
          tid = opaque(tid0);
          setupLanes(it.i0, it.h);
          warpgroup = arith::DivUIOp::create(b, tid, idx(128));
          waitPhase(qBarrier(),
                    arith::RemUIOp::create(b, counter(iter[1]), idx(2)));
          SmallVector<Value> state =
              consumerLoop(it.bIdx, it.h, it.i0, it.i1, it.qt);
          // Every product reading Q was waited for: the producer may load
          // the next tile's Q while this one's epilogue runs.
          NVVM::MBarrierArriveOp::create(b, Type(), barrier(qFreeBarrier()),
                                         Value());
          // The epilogue's rows and heads anew for the same reason: only
          // the tile index stays live through the KV loop.
          WorkItem again = itemAt(opaque(itemIndex));
          tid = opaque(tid0);
          setupLanes(again.i0, again.h);
          epilogue(state, again.bIdx, again.h);
          return next(iter);
        });
        base = base0, tid = tid0;
        scf::YieldOp::create(b);
      });
  base = entryBase, smemPtr = entryPtr, rawAddr32 = entryAddr32;
}

SmallVector<Value> WarpSpecializedKernelEmitter::consumerLoop(Value bIdx,
                                                              Value h,
                                                              Value i0,
                                                              Value i1,
                                                              Value qt) {
  // Ping-pong: the first turn is the first live tile's S alone (emitTile
  // passes the turn on once S is issued and takes it back for P V), the
  // last one the last P V.
  if (pingpong) {
    openTurns();
    awaitTurn();
  }
  auto loop = scf::ForOp::create(
      b, kvBegin, kvTiles, idx(1), initialState(),
      [&](OpBuilder &, Location, Value kt, ValueRange iter) {
        Value stage = stageOf(kt);
        waitPhase(stage, parityOf(kt));
        auto [isEmpty, isFull] = classifyKV(kt, bIdx, h, i0, i1, qt);
        ValueRange next =
            dispatchTile(isEmpty, isFull, iter, [&](bool partial) {
              return emitTile(iter, bIdx, h, stage, kt, partial);
            });
        // A live tile freed K once S was done and waited for V (emitTile's
        // hooks); an empty one takes both phases here. Ping-pong: an empty
        // tile is a turn of its own. Held on to until the next live S, the
        // turn of the last P V kept the other warpgroup from its own P V,
        // so from releasing that V slot; the producer, waiting for it, then
        // held back the K this warpgroup waits for (sink + window masks,
        // whose walks have empty tiles between live ones, deadlocked).
        ifThen(isEmpty, [&] {
          if (pingpong)
            passTurn();
          releaseK(stage);
          waitV(stage, kt);
          if (pingpong)
            awaitTurn();
        });
        // emitTile waited for its wgmma groups: V is free.
        releaseV(stage);
        scf::YieldOp::create(b, next);
      });
  if (pingpong) {
    passTurn();
    closeTurns();
  }
  return loop.getResults();
}

//===----------------------------------------------------------------------===//
// sm_90a warp-specialized, with intra-warpgroup overlap
//===----------------------------------------------------------------------===//

/// The warp-specialized kernel with FlashAttention-3's intra-warpgroup
/// pipelining (pass option `overlap`): the P V product of a live tile is
/// issued together with the next live tile's S = Q K^T, and runs on the
/// tensor cores while that tile's softmax runs. O is in flight meanwhile,
/// so the softmax's factors for O wait until that product is: O is
/// rescaled after the wait, at the end of the tile, ahead of the next S
/// (FlashAttention-3's order up to head dim 128; see liveTile), and
/// nothing but P's conversion and the rescale wait for a product. That
/// wait sits behind a branch (waitAllAfterSoftmax): ptxas otherwise
/// hoisted it into the first MUFU stall, and the softmax ran with no
/// product in flight. A pending product keeps its tile's V (released when
/// the product is done; K went when S was done), so an empty tile
/// finishes a pending product first: otherwise the producer, waiting for
/// that V slot, and the math warps, waiting for the next tile, would wait
/// on each other. That also needs at least 2 stages. The pending flag is
/// part of the loop state; each branch issues and waits for its own
/// products, so no accumulator in flight crosses a merge.
///
/// With `pingpong` a turn is each issue of products: S alone for the
/// first live tile, then S with the pending P V.
class OverlappedKernelEmitter : public WarpSpecializedKernelEmitter {
public:
  OverlappedKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUModuleOp gpuModule,
                          const AttentionSpec &spec, StringRef name,
                          int64_t blockQ, int64_t blockKV, int64_t warps,
                          int64_t stages, Region *maskFn, Region *scoreFn,
                          int64_t producerRegisters, bool pingpong)
      : WarpSpecializedKernelEmitter(b, gpuModule, spec, name, blockQ, blockKV,
                                     warps, stages, maskFn, scoreFn,
                                     producerRegisters, pingpong) {}

private:
  /// Issues (fence, `issue`, no wait) in this warpgroup's turn when
  /// ping-ponging; `issue` commits its own groups.
  void inTurn(function_ref<void()> issue);

  SmallVector<Value> consumerLoop(Value bIdx, Value h, Value i0, Value i1,
                                  Value qt) override;
  /// A pending product: its tile's P registers (they stay live across the
  /// iteration, as FlashAttention-3's). O is already scaled to P's row
  /// maxima.
  struct Pending {
    SmallVector<Value> p;
  };
  /// One live tile in `stage`; with `pending`, first issues the product of
  /// the previous tile (`prior`, V in `prev`). Returns the loop state: this
  /// tile's pending product, pending.
  SmallVector<Value> liveTile(WarpState st, const Pending &prior, Value bIdx,
                              Value h, Value stage, Value prev,
                              Value prevParity, Value kt, bool partial,
                              bool pending);
  /// If `pending`: O += P V of the pending tile (`prior`, V in
  /// `prev`, whose use has parity `prevParity`), waited for, and `prev`'s
  /// V freed. Returns the state.
  WarpState finishPending(Value pending, const WarpState &st,
                          const Pending &prior, Value prev, Value prevParity);
  /// The loop state: the warp state, the pending product, the flag.
  SmallVector<Value> loopState(const WarpState &st, const Pending &next,
                               bool pending) {
    SmallVector<Value> vals = st.flatten();
    vals.append(next.p.begin(), next.p.end());
    vals.push_back(arith::ConstantIntOp::create(b, pending, 1));
    return vals;
  }
  /// The warp state and pending product of loop state `vals`.
  std::pair<WarpState, Pending> fromLoopState(ValueRange vals) {
    size_t tail = pRegisters() + 1;
    Pending prior;
    ValueRange p = vals.take_back(tail).drop_back(1);
    prior.p.assign(p.begin(), p.end());
    return {WarpState::unflatten(vals.drop_back(tail)), prior};
  }
  int64_t pRegisters() const { return bk / 16 * 4; }
  /// wgmma.wait_group 0 that ptxas keeps behind the softmax before it
  /// (wgmma::fencedWaitAllAsm), branching on KV tile `kt`.
  void waitAllAfterSoftmax(Value kt);

  bool vTrailsK() const override { return true; }
};

void OverlappedKernelEmitter::inTurn(function_ref<void()> issue) {
  if (pingpong)
    awaitTurn();
  NVVM::WgmmaFenceAlignedOp::create(b);
  issue();
  if (pingpong)
    passTurn();
}

void OverlappedKernelEmitter::waitAllAfterSoftmax(Value kt) {
  inlinePtx(Type(), i32(kt), wgmma::fencedWaitAllAsm(),
            wgmma::fencedWaitAllConstraints());
}

WarpState OverlappedKernelEmitter::finishPending(Value pending,
                                                 const WarpState &st,
                                                 const Pending &prior,
                                                 Value prev,
                                                 Value prevParity) {
  auto finish = scf::IfOp::create(
      b, pending,
      [&](OpBuilder &, Location) {
        WarpState done = st;
        waitPhase(fullV(prev), prevParity);
        done.o = pv(done.o, prior.p, prev);
        releaseV(prev);
        scf::YieldOp::create(b, done.flatten());
      },
      [&](OpBuilder &, Location) { scf::YieldOp::create(b, st.flatten()); });
  return WarpState::unflatten(finish.getResults());
}

SmallVector<Value> OverlappedKernelEmitter::liveTile(
    WarpState st, const Pending &prior, Value bIdx, Value h, Value stage,
    Value prev, Value prevParity, Value kt, bool partial, bool pending) {
  Value j0 = mul(kt, idx(bk));
  auto [qDescs, kDescs] = qkDescriptors(stage);
  SmallVector<SmallVector<Value>> s;
  Pending next;
  Value sAcc;
  if (!pending) {
    inTurn([&] {
      sAcc = issueWgmma(/*acc=*/{}, qDescs, kDescs, bk, /*transB=*/false);
      NVVM::WgmmaGroupSyncAlignedOp::create(b);
    });
    NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
    releaseK(stage);
    s = sBlocks(unpack(sAcc, bk));
    // No product in flight: O is rescaled here.
    softmaxFragments(st, s, bIdx, j0, partial);
  } else {
    SmallVector<Value> vDescs = vDescriptors(prev);
    Value oAcc;
    inTurn([&] {
      sAcc = issueWgmma(/*acc=*/{}, qDescs, kDescs, bk, /*transB=*/false);
      NVVM::WgmmaGroupSyncAlignedOp::create(b);
      // The pending tile's V is waited for under S, as FlashAttention-3
      // does: its slot frees only when the product before it is done, so
      // at 2 stages it gets a tile of lead (K one and a half), and S need
      // not wait for it.
      waitPhase(fullV(prev), prevParity);
      NVVM::WgmmaFenceAlignedOp::create(b);
      oAcc = issuePV(st.o, prior.p, vDescs);
      NVVM::WgmmaGroupSyncAlignedOp::create(b);
    });
    // S is the older group: waiting for all but one leaves P V running,
    // and frees K for the producer's next load into this stage.
    NVVM::WgmmaWaitGroupSyncOp::create(b, 1);
    releaseK(stage);
    s = sBlocks(unpack(sAcc, bk));
    Value alpha[2];
    softmaxFragments(st, s, bIdx, j0, partial, alpha);
    waitAllAfterSoftmax(kt);
    st.o = unpack(oAcc, dvChunk);
    releaseV(prev);
    // O to this tile's row maxima once P V is done, as FlashAttention-3
    // does up to head dim 128 (past it, it rescales under S:
    // RescaleOBeforeGemm). Rescaled between the S and the P V issue, O is
    // read under S, a GMMA in flight, and ptxas waits for S before P V
    // (ptxas info C7517: "warpgroup.wait is injected ... to allow use of
    // registers defined by GMMA"); it was right there only while LLVM
    // hoisted the rescale above the full / partial tile branch.
    rescaleO(st, alpha);
  }
  // P of this tile replaces the one the finished product read.
  next.p = pFragments(s);
  return loopState(st, next, true);
}

SmallVector<Value> OverlappedKernelEmitter::consumerLoop(Value bIdx, Value h,
                                                         Value i0, Value i1,
                                                         Value qt) {
  if (pingpong)
    openTurns();
  Pending none;
  none.p.assign(pRegisters(), arith::ConstantIntOp::create(b, 0, 32));
  SmallVector<Value> init = loopState(
      WarpState::unflatten(initialState()), none, false);
  auto loop = scf::ForOp::create(
      b, kvBegin, kvTiles, idx(1), init,
      [&](OpBuilder &, Location, Value kt, ValueRange iter) {
        Value stage = stageOf(kt);
        // Tile kt - 1's stage and the parity of its use, from kt +
        // stages - 1 (one use of the stage later) so that nothing is
        // computed below the walk's first tile.
        Value prev = stageOf(add(kt, idx(stages - 1)));
        Value prevParity = arith::XOrIOp::create(
            b, parityOf(add(kt, idx(stages - 1))), idx(1));
        waitPhase(stage, parityOf(kt));
        auto [isEmpty, isFull] = classifyKV(kt, bIdx, h, i0, i1, qt);
        Value pending = iter.back();
        auto [st, prior] = fromLoopState(iter);
        auto ifEmpty = scf::IfOp::create(
            b, isEmpty,
            [&](OpBuilder &, Location) {
              WarpState after =
                  finishPending(pending, st, prior, prev, prevParity);
              releaseK(stage);
              waitV(stage, kt);
              releaseV(stage);
              scf::YieldOp::create(b, loopState(after, prior, false));
            },
            [&](OpBuilder &, Location) {
              auto byPending = [&](bool pend) {
                auto ifFull = scf::IfOp::create(
                    b, isFull,
                    [&](OpBuilder &, Location) {
                      scf::YieldOp::create(b, liveTile(st, prior, bIdx, h,
                                                       stage, prev, prevParity,
                                                       kt, false,
                                                       pend));
                    },
                    [&](OpBuilder &, Location) {
                      scf::YieldOp::create(b, liveTile(st, prior, bIdx, h,
                                                       stage, prev, prevParity,
                                                       kt, true,
                                                       pend));
                    });
                scf::YieldOp::create(b, ifFull.getResults());
              };
              auto ifPending = scf::IfOp::create(
                  b, pending, [&](OpBuilder &, Location) { byPending(true); },
                  [&](OpBuilder &, Location) { byPending(false); });
              scf::YieldOp::create(b, ifPending.getResults());
            });
        scf::YieldOp::create(b, ifEmpty.getResults());
      });
  // The last live tile's product.
  ValueRange results = loop.getResults();
  auto [st, prior] = fromLoopState(results);
  Value last = stageOf(sub(kvTiles, idx(1)));
  SmallVector<Value> result =
      finishPending(results.back(), st, prior, last,
                    parityOf(sub(kvTiles, idx(1))))
          .flatten();
  if (pingpong)
    closeTurns();
  return result;
}

//===----------------------------------------------------------------------===//
// f32: SIMT
//===----------------------------------------------------------------------===//

class SimtKernelEmitter : public StagedKernelEmitter {
public:
  using StagedKernelEmitter::StagedKernelEmitter;

private:
  void setupThreads(Value bIdx, Value h, Value i0) override;
  SmallVector<Value> initialState() override;
  SmallVector<Value> emitTile(ValueRange state, Value bIdx, Value h,
                              Value stage, Value kt, bool partial) override;
  void epilogue(ValueRange state, Value bIdx, Value h) override;
  SmallVector<Value> mergeShare(ValueRange acc,
                                function_ref<Value(size_t)> share) override;

  Value warpHasRows() override {
    return cmp(arith::CmpIPredicate::slt, warpRow0, groupRows());
  }
  RowGroup rowGroup() const override { return nvvmStreamKRowGroup(4); }

  /// This thread's query row and head, and the row it reads (clamped to
  /// Sq - 1); the first tile row of its warp.
  Value row, head, readRow, warpRow0;
};

void SimtKernelEmitter::setupThreads(Value, Value h, Value) {
  warpRow0 = add(tileRow0, mul(arith::DivUIOp::create(b, tid, idx(32)),
                               idx(32)));
  std::tie(row, head) = rowAndHead(add(tileRow0, tid), h);
  readRow = lastRowAtMost(row);
}

SmallVector<Value> SimtKernelEmitter::initialState() {
  // m, l, then O as vector<4xf32> slices.
  SmallVector<Value> init = {fc(-std::numeric_limits<double>::infinity()),
                             fc(0)};
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(VectorType::get({4}, f32), 0.0f));
  init.append(dvChunk / 4, zero);
  return init;
}

SmallVector<Value> SimtKernelEmitter::emitTile(ValueRange state, Value bIdx,
                                               Value h, Value stage, Value kt,
                                               bool partial) {
  auto v4 = VectorType::get({4}, f32);
  Value m = state[0], l = state[1];
  SmallVector<Value> o(state.begin() + 2, state.end());
  Value j0 = mul(kt, idx(bk));

  // S row = q K^T, 4 head-dim elements per step: Q from global (the row
  // stays in L1), K broadcast from shared memory. One scalar accumulator
  // per KV column keeps the loop at bk live registers.
  Value qBase = offset4(bIdx, spec.hq, head, sq, readRow, spec.dqk, idx(0));
  auto dots = scf::ForOp::create(
      b, idx(0), idx(spec.dqk), idx(4), SmallVector<Value>(bk, fc(0)),
      [&](OpBuilder &, Location, Value d, ValueRange acc) {
        Value qv = vector::LoadOp::create(b, v4, qFlat, add(qBase, d));
        SmallVector<Value> qs;
        for (int64_t e = 0; e < 4; ++e)
          qs.push_back(vector::ExtractOp::create(b, qv, ArrayRef<int64_t>{e}));
        SmallVector<Value> next;
        for (int64_t j = 0; j < bk; ++j) {
          Value kv = vector::LoadOp::create(b, v4, kSmem,
                                            ValueRange{stage, idx(j), d});
          Value sum = acc[j];
          for (int64_t e = 0; e < 4; ++e)
            sum = LLVM::FMAOp::create(
                b, qs[e],
                vector::ExtractOp::create(b, kv, ArrayRef<int64_t>{e}), sum);
          next.push_back(sum);
        }
        scf::YieldOp::create(b, next);
      });
  SmallVector<Value> s;
  for (int64_t j = 0; j < bk; ++j)
    s.push_back(finalScore(dots.getResult(j), bIdx, head, row,
                           add(j0, idx(j)), partial));
  SmallVector<Value *> x;
  for (Value &v : s)
    x.push_back(&v);
  Value alpha = softmaxStep(m, l, x, [](Value v) { return v; });
  Value alphaV = vector::BroadcastOp::create(b, v4, alpha);
  for (Value &acc : o)
    acc = arith::MulFOp::create(b, acc, alphaV);

  // O += p V, V rows broadcast from shared memory.
  for (int64_t j = 0; j < bk; ++j) {
    Value p = vector::BroadcastOp::create(b, v4, s[j]);
    for (int64_t c = 0; c < dvChunk / 4; ++c) {
      Value vv = vector::LoadOp::create(b, v4, vSmem,
                                        ValueRange{stage, idx(j), idx(4 * c)});
      o[c] = vector::FMAOp::create(b, p, vv, o[c]);
    }
  }
  SmallVector<Value> out = {m, l};
  out.append(o);
  return out;
}

SmallVector<Value>
SimtKernelEmitter::mergeShare(ValueRange acc,
                              function_ref<Value(size_t)> share) {
  Value m = acc[0], l = acc[1];
  auto [wA, wB] = mergeWeights(m, l, share(0), share(1));
  auto v4 = VectorType::get({4}, f32);
  Value wAv = vector::BroadcastOp::create(b, v4, wA);
  Value wBv = vector::BroadcastOp::create(b, v4, wB);
  SmallVector<Value> out = {m, l};
  for (size_t c = 2; c < acc.size(); ++c)
    out.push_back(vector::FMAOp::create(
        b, share(c), wBv, arith::MulFOp::create(b, acc[c], wAv)));
  return out;
}

void SimtKernelEmitter::epilogue(ValueRange state, Value bIdx, Value h) {
  using P = arith::CmpIPredicate;
  Value m = state[0], l = state[1];
  auto [inv, empty] = inverseSum(l);
  scf::IfOp::create(b, cmp(P::slt, row, sq), [&](OpBuilder &, Location) {
    for (int64_t c = 0; c < dvChunk / 4; ++c) {
      SmallVector<Value> o;
      for (int64_t e = 0; e < 4; ++e)
        o.push_back(vector::ExtractOp::create(b, state[2 + c],
                                              ArrayRef<int64_t>{e}));
      storeOut(o, inv, bIdx, head, row, add(chunkBase, idx(4 * c)));
    }
    if (lseFlat)
      scf::IfOp::create(b, cmp(P::eq, chunkBase, idx(0)),
                        [&](OpBuilder &, Location) {
                          storeLse(m, l, empty, bIdx, head, row);
                          scf::YieldOp::create(b);
                        });
    scf::YieldOp::create(b);
  });
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertAttnToNVGPUPass
    : mlir::attn::impl::ConvertAttnToNVGPUBase<ConvertAttnToNVGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (LinearAttentionOp op : collectOps<LinearAttentionOp>(module)) {
      FailureOr<gpu::GPUFuncOp> kernel =
          lowerLinearAttentionToGpu(module, op, TargetKind::NVVM);
      if (failed(kernel))
        return signalPassFailure();
      // Under .maxntid alone ptxas caps registers for occupancy and spills
      // the unrolled feature loops; 128 still spills taylor2's 4 x 4
      // blocks (phi formed per row in registers). Shared memory admits two
      // or three blocks per SM, and 255 registers still fit two.
      (*kernel)->setAttr("nvvm.maxnreg",
                         Builder(&getContext()).getI32IntegerAttr(255));
    }
    for (AttentionOp op : collectOps<AttentionOp>(module))
      if (failed(lower(module, op)))
        return signalPassFailure();
  }

  template <typename Emitter, typename... Extra>
  gpu::GPUFuncOp emitKernel(ImplicitLocOpBuilder &b,
                            gpu::GPUModuleOp gpuModule, AttentionLowering &in,
                            Extra... extra) {
    TilingAttr t = in.tiling;
    Emitter emitter(b, gpuModule, in.spec, in.fn.getSymName(), t.getBlockQ(),
                    t.getBlockKv(), t.getWarps(), t.getStages(), in.maskFn,
                    in.scoreFn, extra...);
    emitter.setKVSchedule(in.streamCtas, in.kvSplits);
    emitter.setPackGroup(in.packGroup);
    emitter.setExp2Ftz(exp2Ftz);
    emitter.setPersistent(persistent && std::is_base_of_v<
                                            WarpSpecializedKernelEmitter,
                                            Emitter>);
    return emitter.emit();
  }

  /// Stream-K, split_kv, packed heads and KV warps take the mma.sync kernel
  /// on every target: decode tiles are short (a wgmma warpgroup computes 64
  /// rows).
  bool useWgmma(const AttentionSpec &spec, TilingAttr tiling) const {
    return wgmma && spec.dtype != DType::F32 &&
           spec.schedule != ScheduleKind::StreamK &&
           spec.schedule != ScheduleKind::SplitKV &&
           !spec.packGqa.value_or(false) &&
           nvvmWgmmaHeadDims(spec.dqk, spec.dv) &&
           nvvmKVWarps(tiling.getBlockQ(), tiling.getWarps()) == 1;
  }
  bool useTma(const AttentionSpec &spec, TilingAttr tiling) const {
    return useWgmma(spec, tiling) && tma &&
           nvvmUsesTma(spec.dqk, spec.dv, dtypeBytes(spec.dtype));
  }

  /// The tile shapes each kernel can run.
  LogicalResult checkTiling(AttentionOp op, const AttentionLowering &in) {
    const AttentionSpec &spec = in.spec;
    TilingAttr tiling = in.tiling;
    if (spec.dtype == DType::F32) {
      if (tiling.getBlockQ() != 32 * tiling.getWarps())
        return op.emitOpError()
               << "the f32 SIMT kernel needs block_q = 32 x warps (one query "
                  "row per thread), got "
               << tiling;
      if (spec.dqk % 4 != 0 || spec.dv % 4 != 0)
        return op.emitOpError() << "the f32 SIMT kernel needs Dqk % 4 == 0 "
                                   "and Dv % 4 == 0, got "
                                << spec.dqk << " and " << spec.dv;
    } else {
      // Warps past block_q / 16 split the KV tile (nvvmKVWarps): each
      // KV warp's slice is a whole k16 step of P V.
      int64_t rowWarps = tiling.getBlockQ() / 16;
      if (tiling.getBlockQ() % 16 != 0 || rowWarps > tiling.getWarps() ||
          tiling.getWarps() % rowWarps != 0 ||
          tiling.getBlockKv() % (16 * (tiling.getWarps() / rowWarps)) != 0)
        return op.emitOpError()
               << "the mma.sync kernel needs block_q = 16 x r (r row "
                  "blocks), warps = r x n (n KV warps a row block) and "
                  "block_kv a multiple of 16 x n, got "
               << tiling;
      // Rows move by 8- or 16-byte cp.async; a Dqk that is not a
      // multiple of 16 reads its last k-block's rest from the rows'
      // (zeroed) padding.
      if (spec.dqk % 4 != 0 || spec.dv % 4 != 0)
        return op.emitOpError()
               << "the mma.sync kernel needs Dqk % 4 == 0 and Dv % 4 == 0, "
                  "got "
               << spec.dqk << " and " << spec.dv;
      if (useWgmma(spec, tiling) && (tiling.getWarps() % 4 != 0 ||
                             tiling.getBlockKv() > 256))
        return op.emitOpError()
               << "the wgmma kernel needs whole warpgroups (warps % 4 == 0) "
                  "and block_kv <= 256, got "
               << tiling;
    }
    int64_t smemBytes = nvvmKernelSmemBytes(
        spec.dqk, spec.dv, tiling.getBlockQ(), tiling.getBlockKv(),
        tiling.getStages(), dtypeBytes(spec.dtype), useWgmma(spec, tiling),
        tma, tiling.getWarps(), in.packGroup, in.streamCtas || in.kvSplits);
    // The largest NVIDIA target (sm_90); attn-select-schedule holds a
    // tiling to its own target's limit.
    int64_t maxSmemBytes = lookupTarget("sm_90")->sharedMemBytes;
    if (smemBytes > maxSmemBytes)
      return op.emitOpError()
             << "the kernel needs " << smemBytes
             << " bytes of shared memory, more than the " << maxSmemBytes
             << " of any NVIDIA target; lower block_kv or stages (got "
             << tiling << ")";
    return success();
  }

  LogicalResult lower(ModuleOp module, AttentionOp op) {
    FailureOr<AttentionLowering> in =
        prepareLowering(op);
    if (failed(in))
      return failure();
    const AttentionSpec &spec = in->spec;
    TilingAttr tiling = in->tiling;
    func::FuncOp fn = in->fn;
    if (failed(checkTiling(op, *in)))
      return failure();
    bool warpSpecialized = useTma(spec, tiling) && warpSpecialize;
    if (warpSpecialized && overlap && tiling.getStages() < 2)
      return op.emitOpError()
             << "the overlapped kernel keeps a stage for the pending P V "
                "product and needs stages >= 2, got "
             << tiling;
    if (warpSpecialized && pingpong && tiling.getWarps() < 8)
      return op.emitOpError()
             << "pingpong alternates math warpgroups and needs at least two "
                "(warps >= 8), got "
             << tiling;
    if (warpSpecialized && !nvvmValidProducerRegisters(producerRegisters))
      return op.emitOpError()
             << "producer-registers must be a multiple of 8 in [24, 256), "
                "got "
             << static_cast<int64_t>(producerRegisters);
    std::string name = fn.getSymName().str();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(module.getContext()));
    ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, name + "_kernels");
    if (spec.dtype == DType::F32)
      emitKernel<SimtKernelEmitter>(b, gpuModule, *in);
    else if (!useWgmma(spec, tiling))
      emitKernel<MmaKernelEmitter>(b, gpuModule, *in);
    else if (useTma(spec, tiling))
      // The last three parameters are the Q, K, V tensor maps, passed by
      // value: attn-mark-tensor-map-params marks them after gpu-to-nvvm.
      (!warpSpecialize ? emitKernel<TmaWgmmaKernelEmitter>(b, gpuModule, *in)
       : overlap       ? emitKernel<OverlappedKernelEmitter>(
                       b, gpuModule, *in,
                       static_cast<int64_t>(producerRegisters),
                       static_cast<bool>(pingpong))
                       : emitKernel<WarpSpecializedKernelEmitter>(
                       b, gpuModule, *in,
                       static_cast<int64_t>(producerRegisters),
                       static_cast<bool>(pingpong)))
          ->setAttr(kTensorMapParamsAttr, b.getI64IntegerAttr(3));
    else
      emitKernel<WgmmaKernelEmitter>(b, gpuModule, *in);
    fn.erase();
    return success();
  }
};

} // namespace
