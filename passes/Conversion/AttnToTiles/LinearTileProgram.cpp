//===- LinearTileProgram.cpp - attn.linear_attention -> tile program ------===//
//
// Lightning Attention-2's tiling of causal linear attention, one work item
// per (batch, head): the sequence is cut into chunks of C = blockQ rows and
// a running state KV = sum_s lambda^(t0-1-s) phi(k_s)^T [v_s, 1] of every
// token before the chunk is carried from chunk to chunk. For row r of the
// chunk starting at t0:
//   inter-block: lambda^(r+1) * phi(q_r) . KV        (one [F] x [F, Dv'] product)
//   intra-block: sum_{u<=r} lambda^(r-u) (phi(q_r).phi(k_u)) [v_u, 1]
// and after the chunk KV = lambda^n KV + sum_u lambda^(n-1-u) phi(k_u)^T [v_u, 1].
// The work is linear in the sequence: C^2 per chunk inside, F*Dv' per row
// across chunks, never the S^2 of the quadratic form. With normalization
// the extra column of ones carries the denominator through the same sums.
//
// Non-causal attention has no decay and no order: KV is the sum over the
// whole sequence (first pass), and each row reads it (second pass).
//
// Powers of lambda are exp(k * ln lambda) with ln lambda per head computed in
// double at compile time, so no power is formed by repeated rounding except
// the chunk-to-chunk decay of KV, one rounding per chunk.
//
// A split_kv(N) schedule splits each sequence into N segments of
// whole chunks, one work item each, as the GPU kernel does
// (Common/LinearGpuKernel.cpp): an item takes its segment as a ticket from
// its stream's counter, sums its own rows' state D_p into a zero state and
// publishes it, waits for the states of the segments before it and walks
// its chunks from lambda^t0 state_in + sum_j lambda^(t0 - tEnd_j) D_j.
// Tickets go in the order items start, so an item waits only for items
// that other threads are running (or have run). Non-causal, every segment
// publishes D_p and starts from the sum of all: it waits for the segments
// items have taken and sums the rows of the others itself.
//
//===----------------------------------------------------------------------===//

#include "AttnToTiles/LinearTileProgram.h"
#include "Common/KernelEmitterBase.h"

#include "attn/Frontend/SpecIR.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <array>
#include <cmath>

using namespace mlir;
using namespace mlir::attn;

namespace {

class LinearKernelEmitter : public AttnKernelEmitterBase {
public:
  LinearKernelEmitter(ImplicitLocOpBuilder &b, ModuleOp module,
                      const AttentionSpec &spec, StringRef name, int64_t chunk,
                      int64_t segments)
      : AttnKernelEmitterBase(b, module.getBody(), spec, name, chunk, chunk,
                              /*countTiles=*/false, nullptr, nullptr),
        module(module), features(spec.featureDim()),
        cols(spec.dv + (spec.normSum ? 1 : 0)), segments(segments) {}

  func::FuncOp emit();

private:
  using LoopBody = function_ref<void(Value)>;
  /// for (iv = lo; iv < hi; ++iv) body(iv)
  void loop(Value lo, Value hi, LoopBody body);
  void loop(int64_t hi, LoopBody body) { loop(idx(0), idx(hi), body); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  /// lambda^k of this work item's head, k an index value (exact 1 without
  /// decay is not asked for: callers skip the product).
  Value power(Value k);
  /// phi(x) of row t of `src` into row r of `dst`; q rows are scaled first.
  void featureRow(Value src, Value t, Value dst, Value r, bool scaled);
  /// phi(q) (`withQ`), phi(k) and [v, 1] of the chunk's rows [t0, t0 + n).
  void fillChunk(Value t0, Value n, bool withQ = true);
  /// acc = phi(q_r) . KV, times lambda^(r+1) with decay.
  void interBlock(Value r);
  /// acc += sum_{u<=r} lambda^(r-u) (phi(q_r).phi(k_u)) [v_u, 1].
  void intraBlock(Value r);
  /// KV = lambda^n KV + sum_{u<n} lambda^(n-1-u) phi(k_u)^T [v_u, 1].
  void updateState(Value n);
  /// O[t] from acc: acc / normalizer (0 for a zero normalizer) with norm=sum.
  void storeRow(Value t);
  /// body(t0, n) for the chunks [first, end), rows [t0, t0 + n).
  void forChunks(Value first, Value end, function_ref<void(Value, Value)> body);
  // Segments (see the file comment); the workspace layout is the GPU
  // kernel's with one column chunk (linearGpuWorkspace).
  Value takeTicket(Value stream);
  Value flagWord(Value p);
  Value stateWord(Value p, Value f, Value c);
  /// Segment p's chunks [first, end) and rows [t0, tEnd).
  std::array<Value, 4> segmentOf(Value p);
  /// Publishes D_p (causal: segments before the last), then waits for D_0
  /// .. D_(p-1) and seeds kv with E_p; non-causal, seeds it with the whole
  /// sequence's state (the file comment).
  void startSegment(Value p);
  /// The rows of chunks [first, end) summed into kv.
  void sumRows(Value first, Value end);
  int64_t published() const {
    return linearGpuPublishedStates(segments, spec.causal);
  }

  ModuleOp module;
  int64_t features, cols, segments;
  // Per launch: the sequence and its chunks, the streams (B x H) and
  // chunks per segment; per work item its stream.
  Value seq, numChunks, streams, segmentChunks, stream, workspace;
  Value logDecayTable, stateIn, stateOut;
  // Per work item.
  Value bIdx, h, logDecay;
  Value phiQ, phiK, vOnes, kv, accRow, rowDecay;
};

void LinearKernelEmitter::loop(Value lo, Value hi, LoopBody body) {
  scf::ForOp::create(b, lo, hi, idx(1), ValueRange{},
                     [&](OpBuilder &, Location, Value iv, ValueRange) {
                       body(iv);
                       scf::YieldOp::create(b);
                     });
}

Value LinearKernelEmitter::power(Value k) {
  Value kf = arith::UIToFPOp::create(
      b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), k));
  return math::ExpOp::create(b, fmul(kf, logDecay));
}

void LinearKernelEmitter::featureRow(Value src, Value t, Value dst, Value r,
                                     bool scaled) {
  int64_t d = spec.dqk;
  auto x = [&](Value c) {
    Value v = loadF32(src, {bIdx, h, t, c});
    return scaled ? fmul(v, fc(*spec.scale)) : v;
  };
  switch (spec.feature) {
  case FeatureMap::Identity:
  case FeatureMap::Elu1:
  case FeatureMap::Relu:
    loop(d, [&](Value c) {
      Value v = x(c);
      Value positive =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, fc(0));
      Value phi = v;
      if (spec.feature == FeatureMap::Elu1)
        phi = sel(positive, fadd(v, fc(1)), math::ExpOp::create(b, v));
      else if (spec.feature == FeatureMap::Relu)
        phi = sel(positive, v, fc(0));
      memref::StoreOp::create(b, phi, dst, ValueRange{r, c});
    });
    break;
  case FeatureMap::Taylor2:
    // [1, x, vec(x outer x) / sqrt(2)]: phi(q).phi(k) = 1 + qk + (qk)^2 / 2.
    memref::StoreOp::create(b, fc(1), dst, ValueRange{r, idx(0)});
    loop(d, [&](Value a) {
      Value xa = x(a);
      memref::StoreOp::create(b, xa, dst, ValueRange{r, add(idx(1), a)});
      Value xaScaled = fmul(xa, fc(1.0 / std::sqrt(2.0)));
      Value base = add(idx(1 + d), mul(a, idx(d)));
      loop(d, [&](Value c) {
        memref::StoreOp::create(b, fmul(xaScaled, x(c)), dst,
                                ValueRange{r, add(base, c)});
      });
    });
    break;
  }
}

void LinearKernelEmitter::fillChunk(Value t0, Value n, bool withQ) {
  loop(idx(0), n, [&](Value r) {
    Value t = add(t0, r);
    if (withQ)
      featureRow(q, t, phiQ, r, spec.scale.has_value());
    featureRow(k, t, phiK, r, /*scaled=*/false);
    loop(spec.dv, [&](Value c) {
      memref::StoreOp::create(b, loadF32(v, {bIdx, h, t, c}), vOnes,
                              ValueRange{r, c});
    });
    if (spec.normSum)
      memref::StoreOp::create(b, fc(1), vOnes, ValueRange{r, idx(spec.dv)});
  });
}

void LinearKernelEmitter::interBlock(Value r) {
  loop(cols, [&](Value c) { memref::StoreOp::create(b, fc(0), accRow, c); });
  loop(features, [&](Value f) {
    Value pq = load(phiQ, {r, f});
    loop(cols, [&](Value c) {
      memref::StoreOp::create(
          b, fadd(load(accRow, {c}), fmul(pq, load(kv, {f, c}))), accRow, c);
    });
  });
  if (spec.decay == DecayKind::None)
    return;
  Value decay = power(add(r, idx(1)));
  loop(cols, [&](Value c) {
    memref::StoreOp::create(b, fmul(load(accRow, {c}), decay), accRow, c);
  });
}

void LinearKernelEmitter::intraBlock(Value r) {
  loop(idx(0), add(r, idx(1)), [&](Value u) {
    auto dot = scf::ForOp::create(
        b, idx(0), idx(features), idx(1), ValueRange{fc(0)},
        [&](OpBuilder &, Location, Value f, ValueRange sum) {
          scf::YieldOp::create(
              b, ValueRange{fadd(sum[0], fmul(load(phiQ, {r, f}),
                                              load(phiK, {u, f})))});
        });
    Value w = dot.getResult(0);
    if (spec.decay != DecayKind::None)
      w = fmul(w, power(sub(r, u)));
    loop(cols, [&](Value c) {
      memref::StoreOp::create(
          b, fadd(load(accRow, {c}), fmul(w, load(vOnes, {u, c}))), accRow, c);
    });
  });
}

void LinearKernelEmitter::updateState(Value n) {
  bool decay = spec.decay != DecayKind::None;
  Value chunkDecay;
  if (decay) {
    // lambda^(n-1-u) once per row, not once per state entry.
    chunkDecay = power(n);
    loop(idx(0), n, [&](Value u) {
      memref::StoreOp::create(b, power(sub(sub(n, idx(1)), u)), rowDecay, u);
    });
  }
  loop(features, [&](Value f) {
    loop(cols, [&](Value c) {
      Value s = load(kv, {f, c});
      if (decay)
        s = fmul(s, chunkDecay);
      auto sum = scf::ForOp::create(
          b, idx(0), n, idx(1), ValueRange{s},
          [&](OpBuilder &, Location, Value u, ValueRange acc) {
            Value term = fmul(load(phiK, {u, f}), load(vOnes, {u, c}));
            if (decay)
              term = fmul(term, load(rowDecay, {u}));
            scf::YieldOp::create(b, ValueRange{fadd(acc[0], term)});
          });
      memref::StoreOp::create(b, sum.getResult(0), kv, ValueRange{f, c});
    });
  });
}

void LinearKernelEmitter::storeRow(Value t) {
  Value den, zero;
  if (spec.normSum) {
    den = load(accRow, {idx(spec.dv)});
    zero = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, den, fc(0));
  }
  loop(spec.dv, [&](Value c) {
    Value o = load(accRow, {c});
    if (spec.normSum)
      o = sel(zero, fc(0), arith::DivFOp::create(b, o, den));
    storeElt(o, out, {bIdx, h, t, c});
  });
}

void LinearKernelEmitter::forChunks(Value first, Value end,
                                    function_ref<void(Value, Value)> body) {
  loop(first, end, [&](Value chunk) {
    Value t0 = mul(chunk, idx(bq));
    body(t0, arith::MinSIOp::create(b, idx(bq), sub(seq, t0)).getResult());
  });
}

Value LinearKernelEmitter::takeTicket(Value stream) {
  return countIndex(atomicAddF32(workspace, stream, 1));
}

Value LinearKernelEmitter::flagWord(Value p) {
  return add(streams, add(mul(stream, idx(published())), p));
}

Value LinearKernelEmitter::stateWord(Value p, Value f, Value c) {
  Value slot = add(mul(stream, idx(published())), p);
  return add(mul(streams, idx(1 + published())),
             add(mul(add(mul(slot, idx(features)), f), idx(cols)), c));
}

std::array<Value, 4> LinearKernelEmitter::segmentOf(Value p) {
  Value first = arith::MinUIOp::create(b, mul(p, segmentChunks), numChunks);
  Value end = arith::MinUIOp::create(b, add(first, segmentChunks), numChunks);
  return {first, end, arith::MinUIOp::create(b, mul(first, idx(bq)), seq),
          arith::MinUIOp::create(b, mul(end, idx(bq)), seq)};
}

void LinearKernelEmitter::sumRows(Value first, Value end) {
  forChunks(first, end, [&](Value t0, Value n) {
    fillChunk(t0, n, /*withQ=*/false);
    updateState(n);
  });
}

void LinearKernelEmitter::startSegment(Value p) {
  using P = arith::CmpIPredicate;
  bool decay = spec.decay != DecayKind::None;
  auto [first, end, t0, tEnd] = segmentOf(p);
  (void)tEnd;
  // Causal: the last segment's state is nobody's start.
  Value publishes = spec.causal ? cmp(P::ult, p, idx(segments - 1))
                                : arith::ConstantIntOp::create(b, 1, 1);
  ifThen(publishes, [&] {
    loop(features, [&](Value f) {
      loop(cols, [&](Value c) {
        memref::StoreOp::create(b, fc(0), kv, ValueRange{f, c});
      });
    });
    sumRows(first, end);
    loop(features, [&](Value f) {
      loop(cols, [&](Value c) {
        memref::StoreOp::create(b, load(kv, {f, c}), workspace,
                                ValueRange{stateWord(p, f, c)});
      });
    });
    // memref.atomic_rmw is acq_rel: on the CPU the flag's add releases
    // the stores before it, and the waiting item's add acquires them.
    atomicAddF32(workspace, flagWord(p), 1);
  });
  if (!spec.causal) {
    // The whole sequence's state: the segments items have taken publish
    // theirs (before they wait for anything); the rows of the others are
    // summed here, on top of D_p.
    Value started = arith::MinUIOp::create(
        b, countIndex(atomicAddF32(workspace, stream, 0)), idx(segments));
    loop(started, idx(segments), [&](Value j) {
      auto bounds = segmentOf(j);
      sumRows(bounds[0], bounds[1]);
    });
    loop(idx(0), started, [&](Value j) {
      ifThen(cmp(P::ne, j, p), [&] { spinUntilSet(workspace, flagWord(j)); });
    });
    loop(features, [&](Value f) {
      loop(cols, [&](Value c) {
        Value sum = sumOver(started, load(kv, {f, c}), [&](Value j) {
          return sel(cmp(P::eq, j, p), fc(0),
                     load(workspace, {stateWord(j, f, c)}));
        });
        memref::StoreOp::create(b, sum, kv, ValueRange{f, c});
      });
    });
    return;
  }
  loop(idx(0), p,
       [&](Value j) { spinUntilSet(workspace, flagWord(j)); });
  loop(features, [&](Value f) {
    loop(cols, [&](Value c) {
      Value start = stateIn ? load(stateIn, {bIdx, h, f, c}) : fc(0);
      if (decay)
        start = fmul(start, power(t0));
      Value sum = sumOver(p, start, [&](Value j) {
        Value d = load(workspace, {stateWord(j, f, c)});
        return decay ? fmul(d, power(sub(t0, segmentOf(j)[3]))) : d;
      });
      memref::StoreOp::create(b, sum, kv, ValueRange{f, c});
    });
  });
}

func::FuncOp LinearKernelEmitter::emit() {
  int64_t dyn = ShapedType::kDynamic, heads = spec.hq;
  auto mem = [&](ArrayRef<int64_t> shape, Type t) {
    return MemRefType::get(shape, t);
  };
  MemRefType stateType = mem({dyn, heads, features, cols}, f32);
  SmallVector<Type> args = {mem({dyn, heads, dyn, spec.dqk}, elt),
                            mem({dyn, heads, dyn, spec.dqk}, elt),
                            mem({dyn, heads, dyn, spec.dv}, elt)};
  if (spec.stateIn)
    args.push_back(stateType);
  args.push_back(mem({dyn, heads, dyn, spec.dv}, elt));
  if (spec.stateOut)
    args.push_back(stateType);
  if (segments > 1)
    args.push_back(mem({dyn}, f32));
  args.push_back(b.getIndexType());
  args.push_back(b.getIndexType());

  func::FuncOp fn = createCpuKernel(args);
  Block *entry = &fn.getBody().front();
  unsigned a = 3;
  if (spec.stateIn)
    stateIn = entry->getArgument(a++);
  out = entry->getArgument(a++);
  if (spec.stateOut)
    stateOut = entry->getArgument(a++);
  if (segments > 1)
    workspace = entry->getArgument(a++);
  Value begin = entry->getArgument(a++), end = entry->getArgument(a++);
  seq = memref::DimOp::create(b, q, 2);
  numChunks = arith::CeilDivUIOp::create(b, seq, idx(bq));
  if (segments > 1) {
    streams = mul(memref::DimOp::create(b, q, 0), idx(heads));
    segmentChunks = arith::CeilDivUIOp::create(b, numChunks, idx(segments));
  }

  if (spec.decay != DecayKind::None) {
    SmallVector<float> logs;
    for (int64_t head = 0; head < heads; ++head)
      logs.push_back(static_cast<float>(
          spec.decay == DecayKind::Alibi ? -alibiSlope(head, heads)
                                         : std::log(spec.decayValue)));
    auto type = RankedTensorType::get({heads}, f32);
    logDecayTable = constantTable("log_decay", {heads}, f32,
                                  DenseElementsAttr::get(type, ArrayRef(logs)));
  }

  auto forall = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{begin}, ArrayRef<OpFoldResult>{end},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{}, std::nullopt);
  b.setInsertionPointToStart(forall.getBody());
  Value wi = forall.getInductionVar(0);
  // A stream's segments are neighbouring work items.
  stream = segments > 1 ? arith::DivUIOp::create(b, wi, idx(segments)) : wi;
  bIdx = arith::DivUIOp::create(b, stream, idx(heads));
  h = arith::RemUIOp::create(b, stream, idx(heads));
  if (logDecayTable)
    logDecay = load(logDecayTable, {h});
  // Heap scratch, as in the softmax tile program: an alloca inside the
  // forall body would grow the stack once per work item.
  phiQ = memref::AllocOp::create(b, mem({bq, features}, f32));
  phiK = memref::AllocOp::create(b, mem({bq, features}, f32));
  vOnes = memref::AllocOp::create(b, mem({bq, cols}, f32));
  kv = memref::AllocOp::create(b, mem({features, cols}, f32));
  accRow = memref::AllocOp::create(b, mem({cols}, f32));
  rowDecay = memref::AllocOp::create(b, mem({bq}, f32));

  Value first = idx(0), last = numChunks, segment;
  if (segments > 1) {
    segment = takeTicket(stream);
    auto bounds = segmentOf(segment);
    first = bounds[0];
    last = bounds[1];
    startSegment(segment);
  } else {
    loop(features, [&](Value f) {
      loop(cols, [&](Value c) {
        Value init = stateIn ? load(stateIn, {bIdx, h, f, c}) : fc(0);
        memref::StoreOp::create(b, init, kv, ValueRange{f, c});
      });
    });
  }
  if (spec.causal) {
    forChunks(first, last, [&](Value t0, Value n) {
      fillChunk(t0, n);
      loop(idx(0), n, [&](Value r) {
        interBlock(r);
        intraBlock(r);
        storeRow(add(t0, r));
      });
      updateState(n);
    });
  } else {
    // Split, the segments summed the state already.
    if (segments == 1)
      sumRows(first, last);
    forChunks(first, last, [&](Value t0, Value n) {
      fillChunk(t0, n);
      loop(idx(0), n, [&](Value r) {
        interBlock(r);
        storeRow(add(t0, r));
      });
    });
  }
  auto storeState = [&] {
    loop(features, [&](Value f) {
      loop(cols, [&](Value c) {
        memref::StoreOp::create(b, load(kv, {f, c}), stateOut,
                                ValueRange{bIdx, h, f, c});
      });
    });
  };
  // The last segment ends the sequence.
  if (stateOut && segments > 1)
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, segment,
                                 idx(segments - 1)),
           storeState);
  else if (stateOut)
    storeState();
  for (Value buffer : {phiQ, phiK, vOnes, kv, accRow, rowDecay})
    memref::DeallocOp::create(b, buffer);
  b.setInsertionPointToEnd(entry);
  func::ReturnOp::create(b);
  return fn;
}

} // namespace

LogicalResult mlir::attn::lowerLinearAttentionToTiles(ModuleOp module,
                                                      LinearAttentionOp op) {
  FailureOr<func::FuncOp> fn = kernelFunctionOf(op);
  if (failed(fn))
    return failure();
  TilingAttr tiling = op.getTilingAttr();
  if (!tiling)
    return op.emitOpError() << "has no tiling; run attn-select-schedule first";
  FailureOr<AttentionSpec> spec = specFromOp(op);
  if (failed(spec))
    return failure();
  std::string name = fn->getSymName().str();
  ImplicitLocOpBuilder b(op.getLoc(), op.getContext());
  LinearKernelEmitter(b, module, *spec, name, tiling.getBlockQ(),
                      linearSegmentsOf(op))
      .emit();
  fn->erase();
  return success();
}
