//===- StreamKEmitter.cpp - the GPU kernels' stream-K protocol -----------===//

#include "Common/StreamKEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;

std::pair<Value, Value> StreamKKernelEmitter::mergeWeights(Value &m, Value &l,
                                                           Value mB, Value lB) {
  if (spec.norm == NormKind::Sigmoid) {
    l = arith::AddFOp::create(b, l, lB);
    return {fc(1), fc(1)};
  }
  Value mNew = arith::MaximumFOp::create(b, m, mB);
  Value none =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew,
                            fc(-std::numeric_limits<double>::infinity()));
  Value mScaled = arith::MulFOp::create(b, sel(none, fc(0), mNew), fc(kLog2e));
  auto weight = [&](Value mOld) {
    return exp2(arith::SubFOp::create(
        b, arith::MulFOp::create(b, mOld, fc(kLog2e)), mScaled));
  };
  Value wA = weight(m), wB = weight(mB);
  l = arith::AddFOp::create(b, arith::MulFOp::create(b, l, wA),
                            arith::MulFOp::create(b, lB, wB));
  m = mNew;
  return {wA, wB};
}

SmallVector<Value> StreamKKernelEmitter::stateWords(ValueRange state) {
  SmallVector<Value> words;
  for (Value v : state) {
    auto vt = dyn_cast<VectorType>(v.getType());
    if (!vt) {
      words.push_back(v);
      continue;
    }
    for (int64_t e = 0; e < vt.getNumElements(); ++e)
      words.push_back(vector::ExtractOp::create(b, v, ArrayRef<int64_t>{e}));
  }
  return words;
}

Value StreamKKernelEmitter::loadShareValue(Value slot, TypeRange types,
                                           size_t i) {
  auto wordsOf = [](Type t) {
    auto vt = dyn_cast<VectorType>(t);
    return vt ? vt.getNumElements() : int64_t(1);
  };
  int64_t first = 0;
  for (size_t j = 0; j < i; ++j)
    first += wordsOf(types[j]);
  SmallVector<Value> words;
  for (int64_t w = first; w < first + wordsOf(types[i]); ++w)
    words.push_back(load(workspace, {shareWordAt(slot, w)}));
  if (auto vt = dyn_cast<VectorType>(types[i]))
    return vector::FromElementsOp::create(b, vt, words);
  return words.front();
}

SmallVector<Value> StreamKKernelEmitter::mergeKVSlices(
    ValueRange state, Value slots, Value slot0, Value slice, int64_t slices,
    Value lane, int64_t lanes) {
  using P = arith::CmpIPredicate;
  int64_t words = state.size();
  auto wordAt = [&](Value slot, int64_t w) {
    return add(mul(slot, idx(words * lanes)), add(idx(w * lanes), lane));
  };
  SmallVector<Value> acc(state);
  for (int64_t s = slices / 2; s >= 1; s /= 2) {
    ifThen(andI(cmp(P::uge, slice, idx(s)), cmp(P::ult, slice, idx(2 * s))),
           [&] {
             Value slot = add(slot0, sub(slice, idx(s)));
             for (int64_t w = 0; w < words; ++w)
               memref::StoreOp::create(b, acc[w], slots,
                                       ValueRange{wordAt(slot, w)});
           });
    gpu::BarrierOp::create(b);
    auto merged = scf::IfOp::create(
        b, cmp(P::ult, slice, idx(s)),
        [&](OpBuilder &, Location) {
          Value slot = add(slot0, slice);
          scf::YieldOp::create(b, mergeShare(acc, [&](size_t i) {
                                 return load(slots, {wordAt(slot, i)});
                               }));
        },
        [&](OpBuilder &, Location) { scf::YieldOp::create(b, acc); });
    acc.assign(merged.getResults().begin(), merged.getResults().end());
    // The next round's (or tile's) stores wait for these loads.
    gpu::BarrierOp::create(b);
  }
  return acc;
}

Value StreamKKernelEmitter::shareSlot(Value q, Value slot) {
  // Counters of every group first (the part the runtime zeroes), then the
  // slots of group g's workers.
  Value slotWords = mul(shareThreads, idx(stateWordsPerThread()));
  Value counterWords = mul(idx(workerGroups()), streamKWorkers());
  Value slotIndex = shareSlotIndex(add(groupWorkspace, q), slot);
  return add(counterWords, mul(slotIndex, slotWords));
}

Value StreamKKernelEmitter::publishingThreads() {
  RowGroup group = rowGroup();
  if (!group.threads)
    return idx(blockThreads());
  return mul(idx(group.threads),
             arith::CeilDivUIOp::create(b, tileRowsAtMost(), idx(group.rows)));
}

void StreamKKernelEmitter::finishShare(ValueRange state, Value p,
                                       Value tileStart, Value startsInside,
                                       Value perWorker, Value bIdx, Value h) {
  using P = arith::CmpIPredicate;
  Value c0 = idx(0), c1 = idx(1);
  // Computed here, after the KV loop, not where the worker starts: a value
  // live across the loop cost the heaviest kernels their last registers.
  shareThreads = publishingThreads();
  int64_t group = shareGroupThreads();
  shareThreadBase =
      add(mul(arith::DivUIOp::create(b, tid, idx(group)),
              idx(group * stateWordsPerThread())),
          arith::RemUIOp::create(b, tid, idx(group)));
  // Threads whose rows of the tile do not exist (a decode tile's spare
  // warps) neither publish nor merge: the same warps of every share of the
  // tile are idle, so the merging threads read only what was written.
  Value holdsRows = threadsHoldRows();
  auto withRows = [&](function_ref<void()> body) {
    if (holdsRows)
      ifThen(holdsRows, body);
    else
      body();
  };
  // Every thread stores its state words (word-major, so a warp's stores
  // are contiguous), then fences them before the worker counts its arrival.
  withRows([&] {
    SmallVector<Value> words = stateWords(state);
    Value mine = shareSlot(p, sel(startsInside, c0, c1));
    for (auto [w, word] : llvm::enumerate(words))
      memref::StoreOp::create(b, word, workspace, shareWordAt(mine, w));
  });
  LLVM::FenceOp::create(b, LLVM::AtomicOrdering::acq_rel);
  gpu::BarrierOp::create(b);
  Value pFirst, pLast;
  std::tie(pFirst, pLast) = tileWorkers(p, tileStart, perWorker);
  // Thread 0 counts; the answer reaches the worker's threads through
  // on-chip memory.
  auto [flagMem, flagAt] = flagElement();
  Type flagType = cast<MemRefType>(flagMem.getType()).getElementType();
  ifThen(cmp(P::eq, tid, c0), [&] {
    Value counter = add(groupWorkspace, pLast);
    Value before = atomicAddF32(workspace, counter, 1);
    Value shares = arith::UIToFPOp::create(
        b, f32,
        arith::IndexCastUIOp::create(b, b.getI64Type(),
                                     add(sub(pLast, pFirst), c1)));
    Value last = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                       arith::AddFOp::create(b, before, fc(1)),
                                       shares);
    // Every share of the tile has arrived: the counter goes back to 0, so
    // the kernel leaves the zeroed prefix as it found it and a caller's
    // workspace is zeroed once, not per launch.
    ifThen(last, [&] {
      memref::StoreOp::create(b, fc(0), workspace, ValueRange{counter});
    });
    Value flag = sel(last, fc(1), fc(0));
    if (flagType != f32)
      flag = arith::TruncFOp::create(b, flagType, flag);
    memref::StoreOp::create(b, flag, flagMem, flagAt);
  });
  gpu::BarrierOp::create(b);
  Value last = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                     loadF32(flagMem, flagAt), fc(0.5));
  // The next tile's copies may overwrite the flag only after all read it.
  gpu::BarrierOp::create(b);
  ifThen(last, [&] {
    LLVM::FenceOp::create(b, LLVM::AtomicOrdering::acq_rel);
    withRows([&] {
      SmallVector<Type> types(state.getTypes());
      auto merge = scf::ForOp::create(
          b, pFirst, add(pLast, c1), c1, initialState(),
          [&](OpBuilder &, Location, Value q, ValueRange acc) {
            // q's share starts q's range (slot 0) unless q began before it.
            Value qStartsInside = cmp(P::ugt, mul(q, perWorker), tileStart);
            Value slot = shareSlot(q, sel(qStartsInside, c0, c1));
            scf::YieldOp::create(b, mergeShare(acc, [&](size_t i) {
                                   return loadShareValue(slot, types, i);
                                 }));
          });
      epilogue(merge.getResults(), bIdx, h);
    });
  });
}
