//===- KernelEmitterBase.h - shared code of the attn kernel lowerings -*-===//
//
// What every lowering of attn.attention shares: the problem (spec, tiles),
// index arithmetic helpers, the compile-time tables (block layouts, per-head
// pattern ids, ALiBi slopes), the run-time tile classification (same rules
// as lib/Analysis/MaskAnalysis.cpp), the per-element mask predicate and the
// score modifications. The CPU tile program and the GPU kernels differ only
// in how a work item walks its tiles.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_KERNELEMITTERBASE_H
#define ATTN_PASSES_CONVERSION_COMMON_KERNELEMITTERBASE_H

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Spec/Spec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn {

/// log2(e): the GPU kernels compute e^x as exp2(x log2(e)).
inline constexpr double kLog2e = 1.4426950408889634;

/// What every lowering of an attn.attention needs, after the checks they
/// share: the function holds only this op, a tiling was chosen, the spec is
/// recoverable (regions excepted; they are inlined by the emitters).
struct AttentionLowering {
  func::FuncOp fn;
  TilingAttr tiling;
  AttentionSpec spec;
  Region *maskFn = nullptr, *scoreFn = nullptr;
  /// Workers of a stream-K schedule, or per output tile of a split_kv one
  /// (0: not that schedule).
  int64_t streamCtas = 0, kvSplits = 0;
  /// Query heads per tile group under pack_gqa (1: one head per tile).
  int64_t packGroup = 1;
};
/// The function a kernel replaces: the kernel ABI is the function's, so its
/// body must be `op` and a return.
FailureOr<func::FuncOp> kernelFunctionOf(Operation *op);
/// What every lowering of `op` starts from (the function, tiling, spec,
/// regions, KV-splitting schedule, head packing), or a located error.
FailureOr<AttentionLowering> prepareLowering(AttentionOp op);
/// The ops of type OpT in `module`, to lower (collected first: lowering
/// erases their functions).
template <typename OpT>
SmallVector<OpT> collectOps(ModuleOp module) {
  SmallVector<OpT> ops;
  module.walk([&](OpT op) { ops.push_back(op); });
  return ops;
}

class AttnKernelEmitterBase {
public:
  AttnKernelEmitterBase(ImplicitLocOpBuilder &b, Block *symbolBlock,
                        const AttentionSpec &spec, StringRef name,
                        int64_t blockQ, int64_t blockKV, bool countTiles,
                        Region *maskFn, Region *scoreFn);
  virtual ~AttnKernelEmitterBase() = default;
  /// pack_gqa: tiles hold the packed rows of `g` query heads (1: one head).
  void setPackGroup(int64_t g) { packGroup = g; }
  /// The KV-splitting schedules (both 0: flash, a worker per output tile):
  /// stream-K with `ctas` workers over all (output tile x KV tile) units, or
  /// split_kv with `splits` workers per output tile, each a contiguous
  /// ceil(KV tiles / splits) of its KV loop.
  void setKVSchedule(int64_t ctas, int64_t splits) {
    streamCtas = ctas;
    kvSplits = splits;
  }

protected:
  // Constants and small arithmetic helpers.
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value fc(double v) {
    return arith::ConstantOp::create(b, f32, b.getF32FloatAttr(v));
  }
  Value i1c(bool v) { return arith::ConstantIntOp::create(b, v, 1); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, x, y); }
  Value notI(Value x) { return arith::XOrIOp::create(b, x, i1c(true)); }
  Value sel(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value load(Value mem, ValueRange ivs) {
    return memref::LoadOp::create(b, mem, ivs);
  }
  Value loadF32(Value mem, ValueRange ivs) {
    Value v = load(mem, ivs);
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  }
  void storeElt(Value v, Value mem, ValueRange ivs) {
    Type t = cast<MemRefType>(mem.getType()).getElementType();
    if (t != f32)
      v = arith::TruncFOp::create(b, t, v);
    memref::StoreOp::create(b, v, mem, ivs);
  }
  /// scf.if without results or else: `body` where `cond` holds.
  void ifThen(Value cond, function_ref<void()> body);
  /// The f32 workspace word `mem[word]` plus `x`, atomically (acq_rel);
  /// returns the value before.
  Value atomicAddF32(Value mem, Value word, double x);
  /// A count kept in an f32 workspace word (exact below 2^24) as an index.
  Value countIndex(Value count);
  /// start + the sum of term(j) over j in [0, n), in order (f32).
  Value sumOver(Value n, Value start, function_ref<Value(Value)> term);
  /// Loops until the flag `mem[word]` (a count of arrivals, read by an
  /// atomic add of 0) is set. The caller orders what follows (fences).
  void spinUntilSet(Value mem, Value word);
  /// scf.if without results: `thenFn` where `cond` holds, else `elseFn`.
  void ifThenElse(Value cond, function_ref<void()> thenFn,
                  function_ref<void()> elseFn);
  /// A CPU kernel `name(args)` at the end of the symbol block, with the C
  /// entry point `_mlir_ciface_<name>` (memref descriptors by pointer), the
  /// builder at its start and q, k, v bound to its first three arguments.
  func::FuncOp createCpuKernel(ArrayRef<Type> args);
  /// Whether workers split output tiles' KV loops (stream-K, split_kv).
  bool splitsKV() const { return streamCtas || kvSplits; }
  /// Units per output tile: one per KV tile, and one for an empty KV
  /// sequence, so that its tile is still finished (O = 0). split_kv pads
  /// them to a multiple of its splits: a worker's share is then exactly one
  /// split (units past the KV tiles are outside every live range).
  Value streamKTileUnits() {
    Value units = arith::MaxUIOp::create(b, numKVTiles, idx(1));
    return kvSplits ? mul(idx(kvSplits), splitUnits(units)) : units;
  }
  /// Units of one split of `units`.
  Value splitUnits(Value units) {
    return arith::CeilDivUIOp::create(b, units, idx(kvSplits));
  }
  /// Output tiles: batch x (query heads or packed groups) x query tiles.
  Value outputTiles() {
    return mul(mul(batch, idx(spec.hq / packGroup)), numQTiles);
  }
  /// Workers: stream-K's CTAs, or split_kv's splits of every output tile.
  Value streamKWorkers() {
    return kvSplits ? mul(outputTiles(), idx(kvSplits)) : idx(streamCtas);
  }
  /// Units per worker (the last worker's range may be shorter or empty).
  Value streamKPerWorker() {
    if (kvSplits)
      return splitUnits(arith::MaxUIOp::create(b, numKVTiles, idx(1)));
    return arith::CeilDivUIOp::create(b, streamKUnits(), idx(streamCtas));
  }
  /// The first and last worker holding a share of the tile whose first unit
  /// is `tileStart` (`p`: a worker holding one): stream-K's by unit ranges
  /// of `perWorker`; a split's tile has exactly kvSplits, from its first
  /// split's worker on.
  std::pair<Value, Value> tileWorkers(Value p, Value tileStart,
                                      Value perWorker) {
    if (kvSplits) {
      Value first = sub(p, arith::RemUIOp::create(b, p, idx(kvSplits)));
      return {first, add(first, idx(kvSplits - 1))};
    }
    Value last = sub(add(tileStart, streamKTileUnits()), idx(1));
    return {arith::DivUIOp::create(b, tileStart, perWorker),
            arith::DivUIOp::create(b, last, perWorker)};
  }
  /// Whether the share [kFrom, kTo) is its tile's whole KV loop, which the
  /// worker then finishes in place: under split_kv exactly when N = 1 (a
  /// constant, so the other branch folds away).
  Value wholeTile(Value kFrom, Value kTo) {
    if (kvSplits)
      return i1c(kvSplits == 1);
    return andI(cmp(arith::CmpIPredicate::eq, kFrom, idx(0)),
                cmp(arith::CmpIPredicate::eq, kTo, streamKTileUnits()));
  }
  /// Share slots per worker: a stream-K range may start inside one tile and
  /// end inside another; a split is one share.
  int64_t streamKSlots() const { return kvSplits ? 1 : 2; }
  /// Index of worker q's share slot `slot` (stream-K: 0 for the share that
  /// starts its range, 1 for the one that ends it; split_kv has one) among
  /// the slots after a worker group's first, in slot units.
  Value shareSlotIndex(Value q, Value slot) {
    Value index = mul(q, idx(streamKSlots()));
    return streamKSlots() > 1 ? add(index, slot) : index;
  }
  /// Query row i, or Sq - 1 past it, and KV column j, or Skv - 1 past it.
  /// The GPU kernels score whole tiles: the last query tile's rows past Sq
  /// and the last KV tile's columns past Skv read their bias and block bits
  /// (tables, document ids) in range through these; such rows are never
  /// stored, such columns are masked. modifiedScore and keepAt clamp for
  /// their loads only (the band and ALiBi take the row and column as they
  /// are: clamped copies passed for everything made the heaviest kernels
  /// spill); keepAt's callers pass columns clamped already.
  Value lastRowAtMost(Value i) {
    return arith::MinUIOp::create(b, i, sub(sq, idx(1)));
  }
  Value lastColumnAtMost(Value j) {
    return arith::MinUIOp::create(b, j, sub(skv, idx(1)));
  }
  /// Rows of one head, or of one packed group of heads (G Sq).
  Value groupRows() { return packGroup > 1 ? mul(sq, idx(packGroup)) : sq; }
  /// The most rows any output tile has: BQ, or fewer when a head (a packed
  /// group) has fewer rows (decode). Stream-K / split_kv share slots hold
  /// this many rows, so a decode share moves and allocates only its live
  /// rows (the manifest's workspace formula has the same min).
  Value tileRowsAtMost() {
    return arith::MinUIOp::create(b, idx(bq), groupRows());
  }
  /// The query row and head of a tile row: packed row r of the group whose
  /// first head is h is query row r / G of head h + r % G (row-major, so a
  /// tile spans few query positions); unpacked, row r of head h.
  std::pair<Value, Value> rowAndHead(Value r, Value h) {
    if (packGroup == 1)
      return {r, h};
    return {arith::DivUIOp::create(b, r, idx(packGroup)),
            add(h, arith::RemUIOp::create(b, r, idx(packGroup)))};
  }
  /// The first and last (packed) row of query tile qt.
  std::pair<Value, Value> tileRowSpan(Value qt) {
    Value r0 = mul(qt, idx(bq));
    return {r0, sub(arith::MinSIOp::create(b, add(r0, idx(bq)), groupRows()),
                    idx(1))};
  }
  /// Batch, head (a packed group's first head) and query tile of output
  /// tile t, numbered (batch, head or group, query tile).
  std::tuple<Value, Value, Value> splitOutputTile(Value t) {
    Value perBatch = mul(idx(spec.hq / packGroup), numQTiles);
    Value bIdx = arith::DivUIOp::create(b, t, perBatch);
    Value rem = arith::RemUIOp::create(b, t, perBatch);
    Value h = arith::DivUIOp::create(b, rem, numQTiles);
    if (packGroup > 1)
      h = mul(h, idx(packGroup));
    return {bIdx, h, arith::RemUIOp::create(b, rem, numQTiles)};
  }
  /// Stream-K: the (output tile x KV tile) units of the problem (a packed
  /// output tile holds the rows of packGroup heads).
  Value streamKUnits() { return mul(outputTiles(), streamKTileUnits()); }
  /// Stream-K: for each output tile that worker p's units
  /// [p * perWorker, (p + 1) * perWorker) touch, in order,
  /// `body(tile, tileStart, kFrom, kTo)`: the tile's first unit and the
  /// share's KV tiles [kFrom, kTo). Uniform over the worker's threads.
  void forEachStreamKShare(Value p, Value perWorker,
                           function_ref<void(Value, Value, Value, Value)> body);
  /// A private constant global in the symbol block holding `values`.
  Value constantTable(StringRef suffix, ArrayRef<int64_t> shape, Type type,
                      Attribute values);
  /// Mask patterns, per-head pattern ids, block tables and ALiBi slopes.
  /// Needs `sq`/`skv` only through the spec's static sizes.
  void buildTables();

  /// Query offset of pattern `m` (i_abs = i + offset).
  Value offsetOf(const MaskSpec &m) {
    return m.causal == CausalAlign::TopLeft ? idx(0) : sub(skv, sq);
  }
  /// (isEmpty, isFull) of the tile rows [i0, i1] x cols [j0, j1], selected by
  /// the head's pattern.
  std::pair<Value, Value> classifyTileAt(Value bIdx, Value h, Value i0,
                                         Value i1, Value j0, Value j1,
                                         Value qt, Value kt);
  std::pair<Value, Value> classify(unsigned p, Value bIdx, Value h, Value i0,
                                   Value i1, Value j0, Value j1, Value qt,
                                   Value kt);
  /// KV tiles a work item whose last row is `i1` walks: the tiles from the
  /// first one right of every kept column on, empty by the band rule
  /// (causal, window, sinks), are not visited at all. An empty tile costs
  /// only a test on the CPU but barrier round trips on the GPU, where a
  /// causal kernel would otherwise walk twice the tiles it computes.
  Value liveKVTiles(Value i1);
  /// The query tile grid block `x` computes: last-first when a pattern's
  /// band has a right bound (causal, causal windows), whose later tiles
  /// walk more KV tiles, so the grid starts on the longest walks and the
  /// short ones fill its tail (longest-processing-time-first, as
  /// FlashAttention-3 orders causal tiles); `x` itself otherwise.
  Value queryTileOfBlock(Value x);
  /// The first KV tile a work item whose first row is `i0` walks: tiles
  /// left of every kept column (a window's left bound, no sinks) are not
  /// visited either, which a sliding window over a long sequence would
  /// otherwise spend most of its loop on.
  Value firstLiveKVTile(Value i0);
  /// (isEmpty, isFull) of the runtime block mask over the covered blocks.
  std::pair<Value, Value> classifyRuntimeBlocks(const MaskSpec &m, Value bIdx,
                                                Value h, Value i0, Value i1,
                                                Value j0, Value j1);
  /// The per-tile dispatch of the GPU kernels: an empty tile passes `state`
  /// through, a full one runs `tile(false)` (no mask code), any other
  /// `tile(true)`. Returns the state after the tile.
  ValueRange dispatchTile(Value isEmpty, Value isFull, ValueRange state,
                          function_ref<SmallVector<Value>(bool)> tile);
  /// Max or sum of `x` over the lanes reached by xor-ing the lane id with
  /// each of `offsets` in turn (`gpu.shuffle xor` over `width` lanes): the
  /// GPU kernels' row reductions across the lanes sharing a query row.
  Value xorReduce(Value x, ArrayRef<int64_t> offsets, int64_t width,
                  bool isMax);
  /// Whether (i, j) is kept by pattern p.
  Value keep(unsigned p, Value bIdx, Value h, Value i, Value j);
  /// Whether (i, j) is kept by the head's pattern and the mask_fn region.
  Value keepAt(Value bIdx, Value h, Value i, Value j);
  /// Selects per-pattern values by the head's pattern id.
  Value byPattern(ArrayRef<Value> perPattern);
  /// i_abs of row i under the head's pattern alignment.
  Value absoluteRow(Value i);
  /// Inlines a mask_fn / score_fn body on `args`; returns what it yields.
  Value inlineFn(Region &region, ValueRange args);
  /// Argument types of the GPU "flat-memref" ABI: every tensor a 1-D memref
  /// (Q, K, V, [gate], [bias], [doc_ids], [block_mask], O, [LSE]), then the
  /// index sizes B, Sq, Skv.
  SmallVector<Type> flatKernelArgTypes();
  /// Binds the arguments of a flat-memref kernel: the flat Q/K/V/O/LSE, 4-D
  /// (2-D) views of the operands the shared mask / score code indexes, the
  /// sizes and tile counts.
  void bindFlatKernelArgs(Block *entry);
  /// Row-major offset of [b, h, row, col] in a flat [B, heads, seq, dim].
  Value offset4(Value bIdx, int64_t heads, Value h, Value seq, Value row,
                int64_t dim, Value col) {
    Value r = add(mul(add(mul(bIdx, idx(heads)), h), seq), row);
    return add(mul(r, idx(dim)), col);
  }
  /// Dynamic-size row-major view of a flat memref.
  Value view(Value flat, ArrayRef<Value> sizes);

  /// scale, softcap, ALiBi, bias and score_fn applied to the raw dot product.
  Value modifiedScore(Value dot, Value bIdx, Value h, Value i, Value j);
  /// Whether ALiBi scores are taken relative to the row's nearest key (see
  /// withAlibiRowShift): softmax rows without a score_fn, which would see the
  /// shifted score.
  bool shiftsAlibiRows() const;
  /// Row i's LSE `lse` plus -slope_h * d0, d0 the distance from its i_abs
  /// to the keys [0, Skv - 1] (0 for rows among them): what modifiedScore
  /// leaves out of the row's ALiBi scores. A row outside the keys (Sq > Skv)
  /// would otherwise carry it in every score, where f32 keeps only
  /// ulp(slope * d0) of the differences the softmax sees. `lse` itself when
  /// the scores are not shifted.
  Value withAlibiRowShift(Value lse, Value h, Value i);
  /// max(0, -iAbs) + max(0, iAbs - (Skv - 1)).
  Value outsideDistance(Value iAbs);
  /// 2^x without a device library: llvm.exp2, which NVVM and ROCDL lower to
  /// ex2.approx / v_exp_f32 plus the steps that keep subnormal results (the
  /// NVIDIA and AMD attention kernels override it with the one flushing
  /// instruction).
  virtual Value exp2(Value x);
  /// An f32 -> f32 LLVM intrinsic, e.g. "llvm.log2".
  Value intrinsic(StringRef name, Value x);
  /// tanh for softcap: math.tanh by default; a target without a math library
  /// (AMD without ROCm device libs) overrides it with exp2.
  virtual Value tanhF(Value x);

  ImplicitLocOpBuilder &b;
  Block *symbolBlock;
  const AttentionSpec &spec;
  std::string name;
  int64_t bq, bk;
  bool countTiles;
  Region *maskFn, *scoreFn; // null when the op has no such region
  Type f32, elt;
  /// Query heads whose rows share a tile (pack_gqa; 1: one head per tile),
  /// set before the kernel is emitted. numQTiles counts the tiles of a
  /// head's rows or a group's packed rows (groupRows).
  int64_t packGroup = 1;
  /// The KV-splitting schedule (setKVSchedule).
  int64_t streamCtas = 0, kvSplits = 0;

  // Kernel arguments and per-kernel values, set by the subclass.
  Value q, k, v, gate, bias, docIds, blockMask, out, lse, counts;
  /// The runtime block mask's last block row, ceil(Sq / block rows) - 1.
  Value lastBlockRow;
  // Flat tensors of GPU kernels.
  Value qFlat, kFlat, vFlat, oFlat, lseFlat;
  Value batch, sq, skv, numQTiles, numKVTiles;
  SmallVector<MaskSpec> patterns;
  SmallVector<Value> blockTables, blockClassTables;
  Value patternOfHead, slopes, patternId;
};

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_KERNELEMITTERBASE_H
