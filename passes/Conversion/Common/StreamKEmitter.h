//===- StreamKEmitter.h - the GPU kernels' stream-K protocol ----*- C++ -*-===//
//
// Stream-K (LeanAttention) on a GPU: workers (CTAs / workgroups) split the
// (output tile x KV tile) units of the problem evenly, so an output tile's KV
// loop may be spread over several workers. A worker holding only a share of
// a tile publishes its threads' loop state in a global workspace and counts
// its arrival; the worker that arrives last merges every share (an
// online-softmax reduction) and runs the epilogue. The NVIDIA and AMD
// kernels differ only in how a thread's loop state is laid out and merged.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_STREAMKEMITTER_H
#define ATTN_PASSES_CONVERSION_COMMON_STREAMKEMITTER_H

#include "Common/KernelEmitterBase.h"
#include "attn/Target/TargetInfo.h"

namespace mlir::attn {

class StreamKKernelEmitter : public AttnKernelEmitterBase {
public:
  using AttnKernelEmitterBase::AttnKernelEmitterBase;

protected:
  /// A thread's loop state before its first KV tile.
  virtual SmallVector<Value> initialState() = 0;
  /// Combines a share of a tile's KV loop into `acc` (both loop states):
  /// rescale both to the larger running max, add (sigmoid: add).
  /// `share(i)` reads value i of the share's state from the workspace where
  /// it is called: reading each value just before its use keeps one
  /// share's values from being live at once beside `acc` (all of them
  /// read first made ptxas spill the f32 kernel's merge).
  virtual SmallVector<Value> mergeShare(ValueRange acc,
                                        function_ref<Value(size_t)> share) = 0;
  /// Normalizes and stores a finished tile.
  virtual void epilogue(ValueRange state, Value bIdx, Value h) = 0;
  virtual int64_t blockThreads() const = 0;
  /// f32 words of one thread's loop state.
  virtual int64_t stateWordsPerThread() const = 0;
  /// Worker groups with counters and slots of their own (NVIDIA: the Dv
  /// chunks, each walking every unit); `groupWorkspace` is this group's
  /// first counter (group x workers).
  virtual int64_t workerGroups() const { return 1; }
  /// Whether this thread's rows of the current tile exist, uniform over
  /// its warp / wave (the epilogue's row reductions stay whole); null: all
  /// threads. Threads without rows skip publishing and merging, so a decode
  /// tile's spare warps move no workspace bytes.
  virtual Value threadsHoldRows() { return nullptr; }
  /// threadsHoldRows' thread groups (warps / waves), from thread 0 on;
  /// {0, 0} when every thread holds rows.
  virtual RowGroup rowGroup() const { return {0, 0}; }
  /// An on-chip element every thread of the worker can read and that is
  /// free once the KV loop is over: the last arrival's flag goes there.
  virtual std::pair<Value, SmallVector<Value>> flagElement() = 0;

  /// (weight of the current, weight of the other) for merging running
  /// (max, sum) (m, l) with (mB, lB); updates m and l. The weights are
  /// exp2(m log2(e) - M log2(e)), rounded as the kernels' softmax step
  /// rounds its factors.
  std::pair<Value, Value> mergeWeights(Value &m, Value &l, Value mB, Value lB);
  /// Publishes this worker's share `state` of the tile starting at unit
  /// `tileStart` (worker p, its range starting inside the tile when
  /// `startsInside`) and, in the worker that completes the tile, merges
  /// every share and runs the epilogue.
  void finishShare(ValueRange state, Value p, Value tileStart,
                   Value startsInside, Value unitsPerWorker, Value bIdx,
                   Value h);
  /// Word offset of worker q's share slot (stream-K: 0 for the share that
  /// starts its range, 1 for the one that ends it; split_kv has one) in
  /// this group's part of the workspace.
  Value shareSlot(Value q, Value slot);
  /// The loop state as f32 words and back (vector<Nxf32> values are N).
  SmallVector<Value> stateWords(ValueRange state);
  /// Where this thread's word `w` of the share slot at `slot` is: by row
  /// group (warp, wave), word-major inside one, so a warp's stores and
  /// loads of a word are contiguous and a word's offset is a constant.
  Value shareWordAt(Value slot, int64_t w) {
    return add(slot, add(shareThreadBase, idx(w * shareGroupThreads())));
  }
  /// Threads of a row group (all of them without row groups).
  int64_t shareGroupThreads() const {
    RowGroup g = rowGroup();
    return g.threads ? g.threads : blockThreads();
  }
  /// The threads a share slot holds: those of the row groups that hold a
  /// row of some tile (a decode share: G Sq rows' warps), else all of
  /// them; the manifest's workspace formula has the same count.
  Value publishingThreads();
  /// State value `i` (of `types`) read from the share slot at `slot`.
  Value loadShareValue(Value slot, TypeRange types, size_t i);
  /// KV warps (waves): the loop state of a row block's KV slice 0 after
  /// every slice's was merged into it (mergeShare), from this thread's
  /// `state` (f32 values) in KV slice `slice` of `slices` (a power of two).
  /// In log2(slices) rounds, slices [s, 2 s) store their state in on-chip
  /// `slots` (f32; from slot `slot0`, the row block's first, on; a slot is
  /// `lanes` threads x state words, word-major, lane `lane`), a barrier,
  /// slices [0, s) merge it, a barrier.
  SmallVector<Value> mergeKVSlices(ValueRange state, Value slots, Value slot0,
                                   Value slice, int64_t slices, Value lane,
                                   int64_t lanes);

  /// The global workspace (counters zeroed by the runtime), this worker
  /// group's first counter, and the thread id within the worker.
  Value workspace, groupWorkspace, tid;
  /// publishingThreads(), and this thread's first word in a slot (its row
  /// group's words, then its lane), computed by finishShare after the KV
  /// loop.
  Value shareThreads, shareThreadBase;
};

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_STREAMKEMITTER_H
