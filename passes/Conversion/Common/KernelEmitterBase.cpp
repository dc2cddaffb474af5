//===- KernelEmitterBase.cpp - shared code of the attn kernel lowerings --===//

#include "Common/KernelEmitterBase.h"

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "attn/Frontend/SpecIR.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::attn;

AttnKernelEmitterBase::AttnKernelEmitterBase(
    ImplicitLocOpBuilder &b, Block *symbolBlock, const AttentionSpec &spec,
    StringRef name, int64_t blockQ, int64_t blockKV, bool countTiles,
    Region *maskFn, Region *scoreFn)
    : b(b), symbolBlock(symbolBlock), spec(spec), name(name), bq(blockQ),
      bk(blockKV), countTiles(countTiles), maskFn(maskFn), scoreFn(scoreFn) {
  f32 = b.getF32Type();
  elt = spec.dtype == DType::F16    ? Type(b.getF16Type())
        : spec.dtype == DType::BF16 ? Type(b.getBF16Type())
                                    : f32;
}

Value AttnKernelEmitterBase::intrinsic(StringRef name, Value x) {
  return LLVM::CallIntrinsicOp::create(b, f32, b.getStringAttr(name),
                                       ValueRange{x})
      .getResult(0);
}

Value AttnKernelEmitterBase::exp2(Value x) { return intrinsic("llvm.exp2", x); }

void AttnKernelEmitterBase::ifThen(Value cond, function_ref<void()> body) {
  scf::IfOp::create(b, cond, [&](OpBuilder &, Location) {
    body();
    scf::YieldOp::create(b);
  });
}

Value AttnKernelEmitterBase::atomicAddF32(Value mem, Value word, double x) {
  return memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addf, fc(x),
                                     mem, ValueRange{word});
}

Value AttnKernelEmitterBase::countIndex(Value count) {
  return arith::IndexCastUIOp::create(
      b, b.getIndexType(), arith::FPToUIOp::create(b, b.getI32Type(), count));
}

Value AttnKernelEmitterBase::sumOver(Value n, Value start,
                                     function_ref<Value(Value)> term) {
  auto loop = scf::ForOp::create(
      b, idx(0), n, idx(1), ValueRange{start},
      [&](OpBuilder &, Location, Value j, ValueRange acc) {
        scf::YieldOp::create(
            b, ValueRange{arith::AddFOp::create(b, acc.front(), term(j))});
      });
  return loop.getResult(0);
}

void AttnKernelEmitterBase::spinUntilSet(Value mem, Value word) {
  scf::WhileOp::create(
      b, TypeRange{}, ValueRange{},
      [&](OpBuilder &, Location, ValueRange) {
        Value flag = atomicAddF32(mem, word, 0);
        scf::ConditionOp::create(
            b,
            arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, flag, fc(0.5)),
            ValueRange{});
      },
      [&](OpBuilder &, Location, ValueRange) { scf::YieldOp::create(b); });
}

void AttnKernelEmitterBase::ifThenElse(Value cond,
                                       function_ref<void()> thenFn,
                                       function_ref<void()> elseFn) {
  scf::IfOp::create(
      b, cond,
      [&](OpBuilder &, Location) {
        thenFn();
        scf::YieldOp::create(b);
      },
      [&](OpBuilder &, Location) {
        elseFn();
        scf::YieldOp::create(b);
      });
}

func::FuncOp AttnKernelEmitterBase::createCpuKernel(ArrayRef<Type> args) {
  b.setInsertionPointToEnd(symbolBlock);
  auto fn = func::FuncOp::create(b, name, b.getFunctionType(args, {}));
  fn->setAttr("llvm.emit_c_interface", UnitAttr::get(b.getContext()));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  q = entry->getArgument(0);
  k = entry->getArgument(1);
  v = entry->getArgument(2);
  return fn;
}

void AttnKernelEmitterBase::forEachStreamKShare(
    Value p, Value perWorker,
    function_ref<void(Value, Value, Value, Value)> body) {
  using P = arith::CmpIPredicate;
  Value c0 = idx(0), c1 = idx(1);
  if (kvSplits) {
    // One split of one tile, always in range: no walk over tiles (fewer
    // values live across the KV loop).
    Value tile = arith::DivUIOp::create(b, p, idx(kvSplits));
    Value kFrom = mul(arith::RemUIOp::create(b, p, idx(kvSplits)), perWorker);
    body(tile, mul(tile, streamKTileUnits()), kFrom, add(kFrom, perWorker));
    return;
  }
  Value units = streamKUnits(), tileUnits = streamKTileUnits();
  Value u0 = arith::MinUIOp::create(b, mul(p, perWorker), units);
  Value u1 = arith::MinUIOp::create(b, add(u0, perWorker), units);
  scf::IfOp::create(b, cmp(P::ult, u0, u1), [&](OpBuilder &, Location) {
    Value tFirst = arith::DivUIOp::create(b, u0, tileUnits);
    Value tEnd = add(arith::DivUIOp::create(b, sub(u1, c1), tileUnits), c1);
    scf::ForOp::create(
        b, tFirst, tEnd, c1, ValueRange{},
        [&](OpBuilder &, Location, Value tile, ValueRange) {
          Value tileStart = mul(tile, tileUnits);
          Value kFrom = sel(cmp(P::eq, tile, tFirst), sub(u0, tileStart), c0);
          Value kTo = sel(cmp(P::eq, add(tile, c1), tEnd), sub(u1, tileStart),
                          tileUnits);
          body(tile, tileStart, kFrom, kTo);
          scf::YieldOp::create(b);
        });
    scf::YieldOp::create(b);
  });
}

FailureOr<func::FuncOp> mlir::attn::kernelFunctionOf(Operation *op) {
  auto fn = op->getParentOfType<func::FuncOp>();
  if (!fn || fn.getBody().front().getOperations().size() != 2 ||
      op->getNextNode() != fn.getBody().front().getTerminator())
    return op->emitOpError()
           << "lowering expects a function whose body is this op and a "
              "return";
  return fn;
}

FailureOr<AttentionLowering> mlir::attn::prepareLowering(AttentionOp op) {
  AttentionLowering in;
  FailureOr<func::FuncOp> fn = kernelFunctionOf(op);
  if (failed(fn))
    return failure();
  in.fn = *fn;
  in.tiling = op.getTilingAttr();
  if (!in.tiling)
    return op.emitOpError() << "has no tiling; run attn-select-schedule first";
  FailureOr<AttentionSpec> spec = specFromOp(op, /*ignoreRegions=*/true);
  if (failed(spec))
    return failure();
  in.spec = *spec;
  in.maskFn = op.getMaskFn().empty() ? nullptr : &op.getMaskFn();
  in.scoreFn = op.getScoreFn().empty() ? nullptr : &op.getScoreFn();
  if (ScheduleAttr schedule = op.getScheduleAttr()) {
    if (schedule.getKind() == ScheduleStrategy::stream_k)
      in.streamCtas = schedule.getParam();
    else if (schedule.getKind() == ScheduleStrategy::split_kv)
      in.kvSplits = schedule.getParam();
  }
  if (op.packsHeads())
    in.packGroup = op.getPackGroup();
  return in;
}

SmallVector<Type> AttnKernelEmitterBase::flatKernelArgTypes() {
  auto flat = [&](Type t) {
    return MemRefType::get({ShapedType::kDynamic}, t);
  };
  SmallVector<Type> args = {flat(elt), flat(elt), flat(elt)};
  if (spec.gate != GateKind::None)
    args.push_back(flat(elt));
  if (spec.bias)
    args.push_back(flat(elt));
  if (spec.usesDocument())
    args.push_back(flat(b.getI32Type()));
  if (spec.runtimeBlockMask())
    args.push_back(flat(b.getI8Type()));
  args.push_back(flat(elt));
  if (spec.lse)
    args.push_back(flat(f32));
  for (int i = 0; i < 3; ++i)
    args.push_back(b.getIndexType());
  return args;
}

Value AttnKernelEmitterBase::view(Value flat, ArrayRef<Value> sizes) {
  SmallVector<OpFoldResult> sizeFolds, strides(sizes.size());
  Value stride = idx(1);
  for (int i = sizes.size() - 1; i >= 0; --i) {
    strides[i] = stride;
    stride = mul(stride, sizes[i]);
  }
  for (Value s : sizes)
    sizeFolds.push_back(s);
  SmallVector<int64_t> dynamic(sizes.size(), ShapedType::kDynamic);
  auto type = MemRefType::get(
      dynamic, cast<MemRefType>(flat.getType()).getElementType(),
      StridedLayoutAttr::get(b.getContext(), 0, dynamic));
  return memref::ReinterpretCastOp::create(
      b, type, flat, OpFoldResult(b.getIndexAttr(0)), sizeFolds, strides);
}

void AttnKernelEmitterBase::bindFlatKernelArgs(Block *entry) {
  unsigned a = 0;
  qFlat = entry->getArgument(a++);
  kFlat = entry->getArgument(a++);
  vFlat = entry->getArgument(a++);
  Value gateFlat, biasFlat, docFlat, blockFlat;
  if (spec.gate != GateKind::None)
    gateFlat = entry->getArgument(a++);
  if (spec.bias)
    biasFlat = entry->getArgument(a++);
  if (spec.usesDocument())
    docFlat = entry->getArgument(a++);
  if (spec.runtimeBlockMask())
    blockFlat = entry->getArgument(a++);
  oFlat = entry->getArgument(a++);
  if (spec.lse)
    lseFlat = entry->getArgument(a++);
  batch = entry->getArgument(a++);
  sq = entry->getArgument(a++);
  skv = entry->getArgument(a++);
  numQTiles = arith::CeilDivUIOp::create(b, groupRows(), idx(bq));
  numKVTiles = arith::CeilDivUIOp::create(b, skv, idx(bk));
  if (gateFlat)
    gate = view(gateFlat, {batch, idx(spec.hq), sq,
                           idx(spec.gate == GateKind::PerHead ? 1 : spec.dv)});
  if (biasFlat)
    bias = view(biasFlat, {batch, idx(spec.hq), sq, skv});
  if (docFlat)
    docIds = view(docFlat, {batch, skv});
  if (const MaskSpec *m = spec.runtimeBlockMask()) {
    Value blockRows = arith::CeilDivUIOp::create(b, sq, idx(m->blockQ));
    lastBlockRow = sub(blockRows, idx(1));
    blockMask = view(blockFlat,
                     {batch, idx(spec.hq), blockRows,
                      arith::CeilDivUIOp::create(b, skv, idx(m->blockKV))});
  }
}

void AttnKernelEmitterBase::buildTables() {
  if (spec.perHead.empty()) {
    patterns.push_back(spec.mask);
  } else {
    patterns.assign(spec.perHead.begin(), spec.perHead.end());
    SmallVector<int64_t> assign;
    for (int64_t h = 0; h < spec.hq; ++h)
      assign.push_back(spec.perHeadAssign.empty()
                           ? h % static_cast<int64_t>(patterns.size())
                           : spec.perHeadAssign[h]);
    patternOfHead = constantTable(
        "pattern_of_head", {spec.hq}, b.getIndexType(),
        DenseElementsAttr::get(
            RankedTensorType::get({spec.hq}, b.getIndexType()),
            ArrayRef<int64_t>(assign)));
  }
  for (auto [p, m] : llvm::enumerate(patterns)) {
    if (m.blockLayout.empty()) {
      blockTables.push_back(nullptr);
      blockClassTables.push_back(nullptr);
      continue;
    }
    SmallVector<int64_t> bits(m.blockLayout.begin(), m.blockLayout.end());
    auto bitType = RankedTensorType::get({m.blockRows, m.blockCols},
                                         b.getIndexType());
    blockTables.push_back(constantTable(
        "blocks" + std::to_string(p), {m.blockRows, m.blockCols},
        b.getIndexType(), DenseElementsAttr::get(bitType, ArrayRef(bits))));
    // Class of each kernel tile under the block layout alone (sizes are
    // static: the verifier requires it for block layouts).
    MaskSpec blocksOnly;
    blocksOnly.blockQ = m.blockQ, blocksOnly.blockKV = m.blockKV;
    blocksOnly.blockRows = m.blockRows, blocksOnly.blockCols = m.blockCols;
    blocksOnly.blockLayout = m.blockLayout;
    int64_t nq = llvm::divideCeil(spec.sq, bq),
            nk = llvm::divideCeil(spec.skv, bk);
    SmallVector<int64_t> classes;
    for (int64_t qt = 0; qt < nq; ++qt)
      for (int64_t kt = 0; kt < nk; ++kt)
        classes.push_back(static_cast<int64_t>(classifyTile(
            blocksOnly, spec.sq, spec.skv, qt * bq,
            std::min(spec.sq, (qt + 1) * bq) - 1, kt * bk,
            std::min(spec.skv, (kt + 1) * bk) - 1)));
    blockClassTables.push_back(constantTable(
        "tile_classes" + std::to_string(p), {nq, nk}, b.getIndexType(),
        DenseElementsAttr::get(
            RankedTensorType::get({nq, nk}, b.getIndexType()),
            ArrayRef(classes))));
  }
  if (spec.alibi) {
    SmallVector<float> s;
    for (int64_t h = 0; h < spec.hq; ++h)
      s.push_back(static_cast<float>(alibiSlope(h, spec.hq)));
    slopes = constantTable(
        "alibi_slopes", {spec.hq}, f32,
        DenseElementsAttr::get(RankedTensorType::get({spec.hq}, f32),
                               ArrayRef(s)));
  }

}

Value AttnKernelEmitterBase::tanhF(Value x) { return math::TanhOp::create(b, x); }

Value AttnKernelEmitterBase::absoluteRow(Value i) {
  SmallVector<Value> offs;
  for (const MaskSpec &m : patterns)
    offs.push_back(offsetOf(m));
  return add(i, byPattern(offs));
}

Value AttnKernelEmitterBase::liveKVTiles(Value i1) {
  SmallVector<Value> ends;
  for (const MaskSpec &m : patterns) {
    Band band = bandOf(m);
    if (band.right == Band::kUnbounded) {
      ends.push_back(numKVTiles);
      continue;
    }
    // The last column any row up to i1 keeps (classify's empty rule:
    // a1 < j0 - right, and for sinks j0 >= sink or j0 > a1).
    Value a1 = add(i1, offsetOf(m));
    Value last = add(a1, idx(band.right));
    if (m.sink > 0)
      last = arith::MaxSIOp::create(
          b, last, arith::MinSIOp::create(b, idx(m.sink - 1), a1));
    Value cols = arith::MaxSIOp::create(b, add(last, idx(1)), idx(0));
    ends.push_back(arith::MinUIOp::create(
        b, arith::CeilDivUIOp::create(b, cols, idx(bk)), numKVTiles));
  }
  return byPattern(ends);
}

Value AttnKernelEmitterBase::queryTileOfBlock(Value x) {
  bool growing = llvm::any_of(patterns, [](const MaskSpec &m) {
    return bandOf(m).right != Band::kUnbounded;
  });
  return growing ? sub(sub(numQTiles, idx(1)), x) : x;
}

Value AttnKernelEmitterBase::firstLiveKVTile(Value i0) {
  SmallVector<Value> begins;
  for (const MaskSpec &m : patterns) {
    Band band = bandOf(m);
    if (band.left == Band::kUnbounded || m.sink > 0) {
      begins.push_back(idx(0));
      continue;
    }
    // The first column row i0 keeps (classify's empty rule: a0 > j1 + left).
    Value first = sub(add(i0, offsetOf(m)), idx(band.left));
    begins.push_back(arith::DivUIOp::create(
        b, arith::MaxSIOp::create(b, first, idx(0)), idx(bk)));
  }
  return byPattern(begins);
}

std::pair<Value, Value>
AttnKernelEmitterBase::classifyTileAt(Value bIdx, Value h, Value i0, Value i1,
                                      Value j0, Value j1, Value qt, Value kt) {
  SmallVector<Value> empties, fulls;
  for (unsigned p = 0; p < patterns.size(); ++p) {
    auto [e, f] = classify(p, bIdx, h, i0, i1, j0, j1, qt, kt);
    empties.push_back(e);
    fulls.push_back(f);
  }
  return {byPattern(empties), byPattern(fulls)};
}

Value AttnKernelEmitterBase::xorReduce(Value x, ArrayRef<int64_t> offsets,
                                       int64_t width, bool isMax) {
  for (int64_t offset : offsets) {
    Value other = gpu::ShuffleOp::create(
                      b, x, arith::ConstantIntOp::create(b, offset, 32),
                      arith::ConstantIntOp::create(b, width, 32),
                      gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    x = isMax ? Value(arith::MaximumFOp::create(b, x, other))
              : Value(arith::AddFOp::create(b, x, other));
  }
  return x;
}

ValueRange AttnKernelEmitterBase::dispatchTile(
    Value isEmpty, Value isFull, ValueRange state,
    function_ref<SmallVector<Value>(bool)> tile) {
  auto ifEmpty = scf::IfOp::create(
      b, isEmpty,
      [&](OpBuilder &, Location) { scf::YieldOp::create(b, state); },
      [&](OpBuilder &, Location) {
        auto ifFull = scf::IfOp::create(
            b, isFull,
            [&](OpBuilder &, Location) {
              scf::YieldOp::create(b, tile(/*partial=*/false));
            },
            [&](OpBuilder &, Location) {
              scf::YieldOp::create(b, tile(/*partial=*/true));
            });
        scf::YieldOp::create(b, ifFull.getResults());
      });
  return ifEmpty.getResults();
}

Value AttnKernelEmitterBase::keepAt(Value bIdx, Value h, Value i, Value j) {
  SmallVector<Value> keeps;
  for (unsigned p = 0; p < patterns.size(); ++p)
    keeps.push_back(keep(p, bIdx, h, i, j));
  Value kept = byPattern(keeps);
  if (maskFn)
    kept = andI(kept, inlineFn(*maskFn, {bIdx, h, absoluteRow(i), j}));
  return kept;
}

Value AttnKernelEmitterBase::modifiedScore(Value dot, Value bIdx, Value h,
                                           Value i, Value j) {
  Value s = arith::MulFOp::create(b, dot, fc(spec.effectiveScale()));
  if (spec.softcap != 0) {
    Value t = tanhF(arith::DivFOp::create(b, s, fc(spec.softcap)));
    s = arith::MulFOp::create(b, t, fc(spec.softcap));
  }
  if (spec.alibi) {
    Value iAbs = absoluteRow(i);
    Value dist = sub(iAbs, j);
    Value absDist = arith::MaxSIOp::create(b, dist, sub(idx(0), dist));
    if (shiftsAlibiRows())
      absDist = sub(absDist, outsideDistance(iAbs));
    Value distF = arith::SIToFPOp::create(
        b, f32, arith::IndexCastOp::create(b, b.getI64Type(), absDist));
    Value slope = load(slopes, {h});
    s = arith::SubFOp::create(b, s, arith::MulFOp::create(b, slope, distF));
  }
  if (spec.bias) {
    s = arith::AddFOp::create(
        b, s,
        loadF32(bias, {bIdx, h, lastRowAtMost(i), lastColumnAtMost(j)}));
  }
  if (scoreFn)
    s = inlineFn(*scoreFn, {bIdx, h, absoluteRow(i), j, s});
  return s;
}

bool AttnKernelEmitterBase::shiftsAlibiRows() const {
  return spec.alibi && spec.norm == NormKind::Softmax && !scoreFn;
}

Value AttnKernelEmitterBase::outsideDistance(Value iAbs) {
  Value zero = idx(0);
  Value before = arith::MaxSIOp::create(b, sub(zero, iAbs), zero);
  Value after = arith::MaxSIOp::create(b, sub(iAbs, sub(skv, idx(1))), zero);
  return add(before, after);
}

Value AttnKernelEmitterBase::withAlibiRowShift(Value lse, Value h, Value i) {
  if (!shiftsAlibiRows())
    return lse;
  Value d0 = arith::SIToFPOp::create(
      b, f32,
      arith::IndexCastOp::create(b, b.getI64Type(),
                                 outsideDistance(absoluteRow(i))));
  return arith::SubFOp::create(b, lse,
                               arith::MulFOp::create(b, load(slopes, {h}), d0));
}

Value AttnKernelEmitterBase::constantTable(StringRef suffix, ArrayRef<int64_t> shape,
                                   Type type, Attribute values) {
  auto memType = MemRefType::get(shape, type);
  std::string symbol = name + "_" + suffix.str();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(symbolBlock);
    memref::GlobalOp::create(b, symbol, b.getStringAttr("private"), memType,
                             values, /*constant=*/true,
                             /*alignment=*/nullptr);
  }
  return memref::GetGlobalOp::create(b, memType, symbol);
}

Value AttnKernelEmitterBase::inlineFn(Region &region, ValueRange args) {
  Block &body = region.front();
  IRMapping map;
  map.map(body.getArguments(), args);
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
  return map.lookup(cast<YieldOp>(body.getTerminator()).getValues()[0]);
}

Value AttnKernelEmitterBase::byPattern(ArrayRef<Value> perPattern) {
  Value result = perPattern.front();
  for (unsigned p = 1; p < perPattern.size(); ++p)
    result = sel(cmp(arith::CmpIPredicate::eq, patternId, idx(p)),
                 perPattern[p], result);
  return result;
}

std::pair<Value, Value>
AttnKernelEmitterBase::classifyRuntimeBlocks(const MaskSpec &m, Value bIdx, Value h,
                                     Value i0, Value i1, Value j0, Value j1) {
  Value bq = idx(m.blockQ), bkv = idx(m.blockKV), c1 = idx(1);
  Value r0 = arith::DivUIOp::create(b, i0, bq);
  Value r1 = add(arith::DivUIOp::create(b, i1, bq), c1);
  Value cb0 = arith::DivUIOp::create(b, j0, bkv);
  Value cb1 = add(arith::DivUIOp::create(b, j1, bkv), c1);
  Value zero8 = arith::ConstantIntOp::create(b, 0, 8);
  // any / all over the (usually one) blocks the kernel tile covers.
  auto rows = scf::ForOp::create(
      b, r0, r1, c1, ValueRange{i1c(false), i1c(true)},
      [&](OpBuilder &, Location, Value r, ValueRange outer) {
        auto cols = scf::ForOp::create(
            b, cb0, cb1, c1, outer,
            [&](OpBuilder &, Location, Value c, ValueRange inner) {
              Value keep = cmp(arith::CmpIPredicate::ne,
                               load(blockMask, {bIdx, h, r, c}), zero8);
              scf::YieldOp::create(b, ValueRange{orI(inner[0], keep),
                                                 andI(inner[1], keep)});
            });
        scf::YieldOp::create(b, cols.getResults());
      });
  return {notI(rows.getResult(0)), rows.getResult(1)};
}

std::pair<Value, Value> AttnKernelEmitterBase::classify(unsigned p, Value bIdx,
                                                Value h, Value i0, Value i1,
                                                Value j0, Value j1, Value qt,
                                                Value kt) {
  using P = arith::CmpIPredicate;
  const MaskSpec &m = patterns[p];
  Value off = offsetOf(m);
  Value a0 = add(i0, off), a1 = add(i1, off);
  Value empty = i1c(false), full = i1c(true);
  Band band = bandOf(m);
  // Same rules as classifyBand in MaskAnalysis.cpp.
  if (band.right != Band::kUnbounded) {
    empty = orI(empty, cmp(P::slt, a1, sub(j0, idx(band.right))));
    full = andI(full, cmp(P::sle, j1, add(a0, idx(band.right))));
  }
  if (band.left != Band::kUnbounded) {
    empty = orI(empty, cmp(P::sgt, a0, add(j1, idx(band.left))));
    full = andI(full, cmp(P::sge, j0, sub(a1, idx(band.left))));
  }
  if (Value table = blockClassTables[p]) {
    Value c = load(table, {qt, kt});
    empty = orI(empty, cmp(P::eq, c, idx(0)));
    full = andI(full, cmp(P::eq, c, idx(2)));
  }
  // Document ids (sorted, as packed sequences are) and runtime blocks are
  // data: classified from the ids at the tile corners / the covered blocks.
  if (m.document) {
    Value lo = arith::MaxSIOp::create(b, a0, idx(0));
    Value hi = arith::MinSIOp::create(b, a1, sub(skv, idx(1)));
    Value noRows = cmp(P::sgt, lo, hi);
    // Clamped loads keep addresses valid when no row is in range.
    Value loC = arith::MinSIOp::create(b, lo, sub(skv, idx(1)));
    Value hiC = arith::MaxSIOp::create(b, hi, idx(0));
    Value dLo = load(docIds, {bIdx, loC}), dHi = load(docIds, {bIdx, hiC});
    Value dJ0 = load(docIds, {bIdx, j0}), dJ1 = load(docIds, {bIdx, j1});
    Value apart = orI(cmp(P::slt, dJ1, dLo), cmp(P::sgt, dJ0, dHi));
    empty = orI(empty, orI(noRows, apart));
    Value oneDoc = andI(andI(cmp(P::eq, dLo, dHi), cmp(P::eq, dJ0, dJ1)),
                        cmp(P::eq, dLo, dJ0));
    Value allRows = andI(cmp(P::eq, lo, a0), cmp(P::eq, hi, a1));
    full = andI(full, andI(oneDoc, allRows));
  }
  if (m.runtimeBlocks) {
    auto [blocksEmpty, blocksFull] =
        classifyRuntimeBlocks(m, bIdx, h, i0, i1, j0, j1);
    empty = orI(empty, blocksEmpty);
    full = andI(full, blocksFull);
  }
  // A mask_fn is opaque: every tile it could touch runs the masked path.
  if (maskFn)
    full = i1c(false);
  if (m.sink > 0) {
    Value n = idx(m.sink);
    Value sinkEmpty = orI(cmp(P::sge, j0, n), cmp(P::sgt, j0, a1));
    Value sinkFull = andI(cmp(P::slt, j1, n), cmp(P::sle, j1, a0));
    empty = andI(empty, sinkEmpty);
    full = orI(full, sinkFull);
  }
  return {empty, full};
}

Value AttnKernelEmitterBase::keep(unsigned p, Value bIdx, Value h, Value i, Value j) {
  using P = arith::CmpIPredicate;
  const MaskSpec &m = patterns[p];
  Value ia = add(i, offsetOf(m));
  Value kept = i1c(true);
  Band band = bandOf(m);
  if (band.left != Band::kUnbounded)
    kept = andI(kept, cmp(P::sge, j, sub(ia, idx(band.left))));
  if (band.right != Band::kUnbounded)
    kept = andI(kept, cmp(P::sle, j, add(ia, idx(band.right))));
  if (Value table = blockTables[p]) {
    Value bit = load(table, {arith::DivUIOp::create(b, lastRowAtMost(i),
                                                    idx(m.blockQ)),
                             arith::DivUIOp::create(b, j, idx(m.blockKV))});
    kept = andI(kept, cmp(P::ne, bit, idx(0)));
  }
  if (m.document) {
    // Rows whose i_abs falls outside [0, Skv) belong to no document; clamp
    // the load and mask them out.
    Value inRange = andI(cmp(P::sge, ia, idx(0)), cmp(P::slt, ia, skv));
    Value clamped = arith::MaxSIOp::create(
        b, idx(0), arith::MinSIOp::create(b, ia, sub(skv, idx(1))));
    Value same = cmp(P::eq, load(docIds, {bIdx, j}),
                     load(docIds, {bIdx, clamped}));
    kept = andI(kept, andI(inRange, same));
  }
  if (m.runtimeBlocks) {
    // The block row, clamped (rows past Sq): cheaper in registers than
    // clamping the row, which made a stream-K kernel spill.
    // (The CPU tile program binds its tensors itself: its own bound.)
    Value last = lastBlockRow
                     ? lastBlockRow
                     : sub(arith::CeilDivUIOp::create(b, sq, idx(m.blockQ)),
                           idx(1));
    Value blockRow = arith::MinUIOp::create(
        b, arith::DivUIOp::create(b, i, idx(m.blockQ)), last);
    Value bit = load(blockMask, {bIdx, h, blockRow,
                                 arith::DivUIOp::create(b, j, idx(m.blockKV))});
    kept = andI(kept, cmp(P::ne, bit, arith::ConstantIntOp::create(b, 0, 8)));
  }
  if (m.sink > 0)
    kept = orI(kept, andI(cmp(P::slt, j, idx(m.sink)), cmp(P::sle, j, ia)));
  return kept;
}

