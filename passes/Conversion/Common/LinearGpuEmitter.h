//===- LinearGpuEmitter.h - the GPU linear-attention kernel -----*- C++ -*-===//
//
// The emitter behind lowerLinearAttentionToGpu (LinearGpuKernel.h), shared
// by LinearGpuKernel.cpp (phases, FMA products, the kernel),
// LinearGpuMma.cpp (tensor-core products, mma.sync fragments) and
// LinearGpuMfma.cpp (MFMA fragments).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_LINEARGPUEMITTER_H
#define ATTN_PASSES_CONVERSION_COMMON_LINEARGPUEMITTER_H

#include "Common/KernelEmitterBase.h"
#include "Common/LinearGpuKernel.h"

#include "attn/Target/TargetInfo.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <functional>

namespace mlir::attn {

/// How a GPU target holds the kernel's shared memory.
enum class LinearGpuSharedMemory {
  /// gpu.dynamic_shared_memory: the bundle records its size and the runtime
  /// passes it at launch (NVIDIA: static .shared stops at 48 KiB).
  Dynamic,
  /// One workgroup attribution of the whole size (AMD: LDS is static).
  Attribution,
};

/// How the kernel computes its chunk products.
enum class LinearGpuProducts {
  /// f32 FMAs, register blocked: exact to f32 for every input type.
  Fma,
  /// NVIDIA mma.sync m16n8k16: bf16 operands, f32 accumulators.
  MmaSync,
  /// AMD MFMA 16x16x16 (wave64): bf16 operands, f32 accumulators.
  Mfma,
};

/// The GPU linear-attention kernel (LinearGpuKernel.cpp: the phases, the
/// f32 FMA products and the kernel; LinearGpuMma.cpp: the tensor-core
/// products).
class LinearGpuKernelEmitter : public AttnKernelEmitterBase {
public:
  /// `problem` is linearGpuProblemOf the op for the target (tensor-core
  /// products want bf16 operands staged unless taylor2).
  LinearGpuKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUModuleOp gpuModule,
                         const AttentionSpec &spec, StringRef name,
                         int64_t chunk, const LinearGpuProblem &problem,
                         int64_t threads, LinearGpuSharedMemory shared,
                         LinearGpuProducts products, int64_t segments)
      : AttnKernelEmitterBase(b, gpuModule.getBody(), spec, name, chunk, chunk,
                              /*countTiles=*/false, nullptr, nullptr),
        gpuModule(gpuModule), shared(shared), problem(problem),
        cores(products != LinearGpuProducts::Fma),
        mfma(products == LinearGpuProducts::Mfma),
        staged(cores && linearGpuStagesBf16(problem, chunk)),
        splitAll(cores && linearSplitOperands(spec.dtype)),
        threads(threads), features(spec.featureDim()),
        colChunk(problem.columns), cols(colChunk + (spec.normSum ? 1 : 0)),
        decay(spec.decay != DecayKind::None),
        taylor2(spec.feature == FeatureMap::Taylor2), segments(segments) {}

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
  /// Feature f of phi(x), `x(c)` giving element c of the raw row.
  Value phi(function_ref<Value(Value)> x, Value f);
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

  /// Elements per vector global load of rows `dim` wide: 16 bytes where
  /// `dim` allows, else 4 elements, else 1.
  int64_t vectorWidth(int64_t dim) const {
    for (int64_t n : {int64_t(16 / (elt.getIntOrFloatBitWidth() / 8)),
                      int64_t(4)})
      if (dim % n == 0)
        return n;
    return 1;
  }
  /// Elements [offset, offset + n) of a flat input, one vector load
  /// (offset a multiple of n: the runtime's 16-byte aligned tensors keep it
  /// aligned).
  Value loadVector(Value flat, Value offset, int64_t n);
  /// A loaded element or vector as f32 values.
  SmallVector<Value> widen(Value raw);
  /// f32 values into a bf16 buffer at (r, c ..), one vector store (c a
  /// multiple of their count in rows of linearGpuLdmStride elements).
  void storeBf16Vector(ArrayRef<Value> xs, Value buf, Value r, Value c);
  /// v columns per global load (1: element by element, the normalizer
  /// column among them).
  int64_t vColumnsPerLoad() const {
    return std::min(vectorWidth(colChunk), vectorWidth(spec.dv));
  }

  // Phase 1 copies the chunk's rows into shared memory. A copy spreads
  // indices [0, total) over the threads like forEach (step s of a thread
  // takes tid + s * threads; a ragged last step loads a clamped index and
  // stores nothing); `load(i)` returns its `loads` raw global loads,
  // `store(i, loaded)` puts them in shared memory. Each thread issues all
  // its loads before its first store, up to kLoadsInFlight: in a loop of
  // load, convert, store, it waited a whole memory latency every four
  // elements (ptxas unrolls such a loop by 4), some ten waits a chunk at
  // head dim 128.
  struct CopyBatch {
    int64_t total, loads;
    std::function<SmallVector<Value>(Value)> load;
    std::function<void(Value, ArrayRef<Value>)> store;
  };
  static constexpr int64_t kLoadsInFlight = 24;
  int64_t steps(const CopyBatch &c) const;
  int64_t loadCount(ArrayRef<CopyBatch> copies) const;
  /// Step s's index, and the clamped one its loads read.
  std::pair<Value, Value> stepIndex(const CopyBatch &c, Value s);
  void storeStep(const CopyBatch &c, Value i, ArrayRef<Value> x, bool guard);
  /// Every step's loads of every copy, in order.
  SmallVector<Value> issueLoads(ArrayRef<CopyBatch> copies);
  void storeLoaded(ArrayRef<CopyBatch> copies, ArrayRef<Value> loaded);
  /// Each copy in loops of groups of steps, a group's loads (at most
  /// kLoadsInFlight) before its stores: for copies too many for registers.
  void copyInGroups(ArrayRef<CopyBatch> copies);
  /// Phase 1's copies for the chunk's rows [t0, t0 + n): q and k (withQ /
  /// withKV), and v (withKV). Their loads do not read n (null when only
  /// loads are wanted).
  SmallVector<CopyBatch> fillCopies(Value t0, Value n, bool withQ,
                                    bool withKV);
  /// lambda^(n-1-u): row u's weight in the state update (0 past the rows).
  Value rowWeight(Value u, Value n);
  /// v element (r, c) (f32) into its buffers, and (decay, staged) the row's
  /// weighted copy.
  void storeVElement(Value val, Value r, Value c, Value n);
  /// The rest of phase 1 (no global loads): the normalizer column of a
  /// vector v copy, the f32 kernel's row weights.
  void fillRest(Value n, bool withKV);
  /// body(t0, n) for chunks [first, end), rows [t0, t0 + n), after phase 1
  /// and a barrier. Where the loads fit kLoadsInFlight, the next chunk's
  /// are issued before body (software pipelined, in registers).
  void forFilledChunks(Value first, Value end, bool withQ, bool withKV,
                       Body2 body);
  /// Shared memory views in the order of linearGpuSmemBytes.
  void placeBuffers(Value smem);
  /// Zeroes the staged bf16 buffers (their padding is read, never
  /// written).
  void zeroStaged();
  /// The state as `init(f, c)` gives it (local column c), in f32 and
  /// (staged) in bf16.
  void initState(function_ref<Value(Value, Value)> init);
  /// State element (f, c) of state_in, or 0 without one.
  Value stateInAt(Value f, Value c);
  // Sequence segments (schedule split_kv): blocks of one stream
  // (batch, head, column chunk) take segments in the order they start (a
  // ticket from the stream's counter), so a block waits only for blocks
  // already running. Segment p < last sums its own rows' state D_p into a
  // zero state and publishes it; segment p then waits for D_0 .. D_(p-1)
  // and starts from E_p = lambda^t0_p state_in + sum_j lambda^(t0_p -
  // tEnd_j) D_j (segment j's rows end at tEnd_j, p's start at t0_p).
  // Every segment reads its predecessors' states itself: no segment waits
  // for another's sum, so nothing is serial past the state passes.
  // Non-causal, every segment publishes D_p and needs them all: it waits
  // for those of the segments blocks have taken (they publish before they
  // wait for anything) and sums the rows of the others itself.
  // Workspace (f32 words): one counter per stream, segments - 1 flags per
  // stream (both zeroed), then segments - 1 states [F][cols] per stream.
  /// This block's segment (its ticket).
  Value takeTicket();
  int64_t columnChunks() const {
    return linearGpuColumnChunks(spec.dv, colChunk);
  }
  /// This block's stream, and the streams of the launch.
  Value streamIndex();
  Value streams();
  Value flagWord(Value p);
  Value stateWord(Value p, Value f, Value c);
  /// Segment p's chunks [first, end) and rows [t0, tEnd).
  struct Segment {
    Value first, end, t0, tEnd;
  };
  Segment segmentOf(Value p);
  /// States a stream publishes (linearGpuWorkspace): causal, every
  /// segment's but the last.
  int64_t published() const {
    return linearGpuPublishedStates(segments, spec.causal);
  }
  /// The rows of segment s summed into the state (kvS), chunk by chunk.
  void sumRows(const Segment &s);
  /// D_p into the workspace and p's flag raised (causal: segments before
  /// the last).
  void publishSegment(Value p, const Segment &own);
  /// Thread 0 waits for the flags of segments [0, n) but `skip` (null:
  /// none).
  void awaitSegments(Value n, Value skip);
  /// Non-causal: the segments that blocks have taken so far (the stream's
  /// counter), at most all.
  Value startedSegments();
  /// Non-causal: the whole sequence's state into kvS, which holds D_p: the
  /// segments taken before by blocks that publish them, the others summed
  /// here.
  void totalState(Value p);
  /// Element (f, c) of E_p (see above), segment p starting at row t0.
  Value segmentStart(Value p, Value t0, Value f, Value c);
  /// Score (r, u) of the chunk from the dot product of its rows: taylor2's
  /// kernel trick, the decay lambda^(r-u), 0 above the diagonal.
  Value decayedScore(Value dot, Value r, Value u);
  /// Phase 2 (causal).
  void scores() { cores ? scoresMma() : scoresFma(); }
  void scoresFma();
  void scoresMma();
  /// Phase 3; `intra` adds the chunk's own rows (causal).
  void outputs(bool intra) { cores ? outputsMma(intra) : outputsFma(intra); }
  void outputsFma(bool intra);
  void outputsMma(bool intra);
  /// Phase 4: the O rows, and the state update.
  void storeOutputs(Value t0, Value n);
  void updateState(Value n) { cores ? updateStateMma(n) : updateStateFma(n); }
  void updateStateFma(Value n);
  void updateStateMma(Value n);

  // Tensor-core products (LinearGpuMma.cpp; MFMA operands in
  // LinearGpuMfma.cpp). A warp tile is 16 rows x nBlocks(width) blocks of
  // blockWidth() columns, its accumulator 4 f32 per block and lane. Element
  // 4 j + e of block j sits at (accAt):
  //   mma.sync m16n8k16 (g = lane / 4, t = lane % 4):
  //     row r0 + g + 8 (e / 2), column c0 + 8 j + 2 t + e % 2;
  //   MFMA 16x16x16 (c = lane % 16, g = lane / 16):
  //     row r0 + 4 g + e, column c0 + 16 j + c.
  using Element = function_ref<Value(Value, Value)>;
  int64_t blockWidth() const { return mfma ? 16 : 8; }
  int64_t warpSize() const { return mfma ? 64 : 32; }
  /// Blocks per warp tile of a grid `width` wide: a divisor of its blocks,
  /// so tiles never reach past the grid's last block (at most 4, or all of
  /// up to 8 that have no such divisor).
  int64_t nBlocks(int64_t width) const;
  /// body(r0, c0) for each warp tile of a [rows, width] grid, the warps
  /// taking every `threads / warpSize()`-th tile (warp-uniform).
  void forEachWarpTile(int64_t rows, int64_t width, Body2 body);
  /// Accumulator element i of the tile at (r0, c0): its (row, column).
  std::pair<Value, Value> accAt(Value r0, Value c0, int64_t i);
  /// One k step's operand registers: mma.sync A's 4 bf16x2 (i32), B's 2 per
  /// n8 block; MFMA A's one vector<4xbf16>, B's one per block. With a
  /// split operand as many of residuals in `lo` (empty without).
  struct Fragments {
    SmallVector<Value> hi, lo;
  };
  using LoadFragments = function_ref<Fragments(Value k0)>;
  /// B registers per block.
  int64_t bRegisters() const { return mfma ? 1 : 2; }
  /// acc + the products of `blocks` blocks over k in [0, kEnd) in steps of
  /// 16, the operands of the step at k0 from a(k0) and bv(k0).
  SmallVector<Value> mmaProduct(Value kEnd, int64_t blocks,
                                ArrayRef<Value> acc, LoadFragments a,
                                LoadFragments bv);
  /// c + a b on one m16n8k16 or 16x16x16 tile (bf16 operands, f32 c).
  SmallVector<Value> mmaTile(ArrayRef<Value> a, ArrayRef<Value> bFrag,
                             ArrayRef<Value> c);
  SmallVector<Value> mfmaTile(Value a, Value bFrag, ArrayRef<Value> c);
  /// Operands read element by element from f32 buffers, rounded to bf16
  /// here (taylor2's features formed on the way): A of the warp tile's rows
  /// [r0, r0 + 16) of `rows`, a(r, k); B of its columns [c0, c0 + blocks x
  /// blockWidth()) of `width`, bv(k, c). Reads past the grid take clamped
  /// indices (a neighbour's finite element, never stored); k past kLimit
  /// reads 0. `split`: hi + lo.
  Fragments elementA(Value r0, int64_t rows, Value k0, int64_t kLimit,
                     Element a, bool split);
  Fragments elementB(Value c0, int64_t width, int64_t blocks, Value k0,
                     int64_t kLimit, Element bv, bool split);
  /// Elements k, k + 1, ... (at(k); 2 for mma.sync, 4 for MFMA), zero from
  /// kLimit on, as one operand register appended to f (and its residual
  /// with `split`).
  void appendPack(Fragments &f, Value k, int64_t kLimit,
                  function_ref<Value(Value)> at, bool split);
  /// Operands of staged bf16 buffers. A of rows [r0, r0 + 16) of a buffer
  /// stored [m][k], or (`kMajor`) of its transpose stored [k][m]; B of
  /// columns [c0, c0 + blocks x blockWidth()) of a buffer stored [n][k], or
  /// (`kMajor`) [k][n]. mma.sync reads them by ldmatrix, MFMA by LDS reads
  /// (mfmaMatrixA / B).
  Fragments matrixA(Value buf, Value r0, Value k0, bool kMajor);
  Fragments matrixB(Value buf, Value c0, int64_t blocks, Value k0,
                    bool kMajor);
  Fragments mfmaMatrixA(Value buf, Value r0, Value k0, bool kMajor);
  Fragments mfmaMatrixB(Value buf, Value c0, int64_t blocks, Value k0,
                        bool kMajor);
  /// The MFMA operand of (m, k0 + 4 g + i), i < 4, of a buffer stored
  /// [m][k] (one 8-byte read), or (`kMajor`) [k][m] (four 2-byte reads).
  Value mfmaOperand(Value buf, Value m, Value k0, bool kMajor);
  /// ldmatrix of `tiles` 8x8 matrices, this lane giving the address of
  /// (row, col): one bf16x2 register (i32) per matrix.
  SmallVector<Value> ldmatrix(Value buf, Value row, Value col, int64_t tiles,
                              bool transpose);
  /// store(row, col, value) of the accumulator elements inside the grid.
  void storeAcc(ArrayRef<Value> acc, Value r0, Value c0, int64_t rows,
                int64_t width, function_ref<void(Value, Value, Value)> store);
  /// f32 values as one operand register (mma.sync: 2 as a bf16x2 i32;
  /// MFMA: 4 as a vector<4xbf16>), and with `split` a second one of their
  /// residuals x - bf16(x) (null without).
  std::pair<Value, Value> packBf16(ArrayRef<Value> xs, bool split);
  /// k extent of a static product, whole mma steps.
  Value kSteps(int64_t k) { return idx(llvm::alignTo(k, 16)); }
  /// Stores f32 `v` to a bf16 buffer.
  void storeBf16(Value v, Value buf, ValueRange ivs) {
    memref::StoreOp::create(b, arith::TruncFOp::create(b, b.getBF16Type(), v),
                            buf, ivs);
  }

  gpu::GPUModuleOp gpuModule;
  LinearGpuSharedMemory shared;
  LinearGpuProblem problem;
  /// Tensor-core products (mma.sync or `mfma`); `staged`: their operands in
  /// bf16 buffers; `splitAll`: every operand bf16 hi + lo (f16 inputs).
  bool cores, mfma, staged, splitAll;
  int64_t threads, features, colChunk, cols;
  bool decay, taylor2;
  int64_t segments;
  Value stateInFlat, stateOutFlat, seq, batch, log2Decay, workspace;
  // Chunks of the sequence, and of a segment.
  Value numChunks, segmentChunks;
  // Per block.
  Value tid, bIdx, h, c0, column;
  // Per lane (tensor cores): the warp; mma.sync's g and t, lane % 8 and
  // lane / 8 (ldmatrix); MFMA's c and g.
  Value warp, laneRow, laneCol, lane8, laneEighth, mfmaC, mfmaG;
  // Shared memory: state [F][cols], q / k rows [C][Dk + 1], [v, 1] and
  // outputs [C][cols], scores [C][C], state decay per row [C]. Staged:
  // state and outputs in f32; state, phi(q), phi(k), [v, 1], decayed
  // [v, 1] (with decay) and scores in bf16 (linearGpuSmemBytes).
  Value kvS, qS, kS, vS, oS, pS, dS;
  Value kvB, qB, kB, vB, vdB, pB;
};

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_LINEARGPUEMITTER_H
