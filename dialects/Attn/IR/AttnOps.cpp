//===- AttnOps.cpp - attn operations: verifiers ---------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// Segments of a split linear-attention sequence (its blocks' grid x is
/// column chunks x segments).
static constexpr int64_t kMaxLinearSegments = 4096;

static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      ", ");
  os << "]";
  return s;
}

static int64_t ceilDivDim(int64_t size, int64_t block) {
  return ShapedType::isDynamic(size) ? ShapedType::kDynamic
                                     : llvm::divideCeil(size, block);
}

/// Checks `type` against an expected shape (dynamic entries match anything)
/// and element type; `what` names the value in the message.
static LogicalResult checkShape(Operation *op, StringRef what,
                                RankedTensorType type,
                                ArrayRef<int64_t> expected, Type elementType) {
  bool ok = type.getRank() == static_cast<int64_t>(expected.size()) &&
            type.getElementType() == elementType;
  for (unsigned i = 0; ok && i < expected.size(); ++i)
    ok = dimsCompatible(type.getDimSize(i), expected[i]);
  if (ok)
    return success();
  return op->emitOpError() << what << " must have shape "
                           << shapeString(expected) << " and element type "
                           << elementType << ", got " << type;
}

/// Q/K/V: rank 4, float element type shared by all three, static head counts
/// and head dims (they size registers and shared memory).
static LogicalResult verifyQKV(Operation *op, RankedTensorType q,
                               RankedTensorType k, RankedTensorType v,
                               bool linear) {
  const char *layouts[3] = {linear ? "[B, H, S, Dk]" : "[B, Hq, Sq, Dqk]",
                            linear ? "[B, H, S, Dk]" : "[B, Hk, Skv, Dqk]",
                            linear ? "[B, H, S, Dv]" : "[B, Hv, Skv, Dv]"};
  const char *names[3] = {"query", "key", "value"};
  RankedTensorType types[3] = {q, k, v};
  for (int i = 0; i < 3; ++i) {
    if (types[i].getRank() != 4)
      return op->emitOpError() << names[i] << " must have rank 4 "
                               << layouts[i] << ", got " << types[i];
    if (types[i].isDynamicDim(1) || types[i].isDynamicDim(3))
      return op->emitOpError()
             << names[i] << " head count and head dim must be static, got "
             << types[i];
    if (types[i].getDimSize(1) < 1 || types[i].getDimSize(3) < 1)
      return op->emitOpError()
             << names[i] << " head count and head dim must be positive, got "
             << types[i];
  }
  Type elt = q.getElementType();
  if (!elt.isF32() && !elt.isF16() && !elt.isBF16())
    return op->emitOpError() << "element type must be f32, f16 or bf16, got "
                             << elt;
  if (k.getElementType() != elt || v.getElementType() != elt)
    return op->emitOpError()
           << "query, key and value must share one element type, got "
           << elt << ", " << k.getElementType() << ", " << v.getElementType();
  if (!dimsCompatible(q.getDimSize(0), k.getDimSize(0)) ||
      !dimsCompatible(q.getDimSize(0), v.getDimSize(0)))
    return op->emitOpError() << "batch sizes differ: query " << q << ", key "
                             << k << ", value " << v;
  if (q.getDimSize(3) != k.getDimSize(3))
    return op->emitOpError() << "query and key head dims differ: "
                             << q.getDimSize(3) << " vs " << k.getDimSize(3);
  if (!dimsCompatible(k.getDimSize(2), v.getDimSize(2)))
    return op->emitOpError() << "key and value sequence lengths differ: "
                             << k.getDimSize(2) << " vs " << v.getDimSize(2);
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

SmallVector<MaskAttr> AttentionOp::getMaskPatterns() {
  Attribute mask = getMaskAttr();
  if (auto single = dyn_cast_or_null<MaskAttr>(mask))
    return {single};
  if (auto perHead = dyn_cast_or_null<PerHeadMaskAttr>(mask))
    return llvm::to_vector(perHead.getPatterns());
  return {};
}

double AttentionOp::getEffectiveScale() {
  if (FloatAttr scale = getScaleAttr())
    return scale.getValueAsDouble();
  return 1.0 / std::sqrt(static_cast<double>(getHeadDimQK()));
}

std::string AttentionOp::whyHeadsCannotPack() {
  // A packed tile is classified once for its whole group of heads, so the
  // mask may depend neither on the head nor on the query tile's index.
  if (getPackGroup() < 2)
    return "pack_gqa needs query heads that share a key and value head "
           "(Hq / max(Hk, Hv) > 1), got " +
           std::to_string(getNumQueryHeads()) + ", " +
           std::to_string(getNumKeyHeads()) + ", " +
           std::to_string(getNumValueHeads());
  if (isa_and_nonnull<PerHeadMaskAttr>(getMaskAttr()))
    return "pack_gqa needs one mask for every head, not a per-head mask";
  for (MaskAttr mask : getMaskPatterns())
    if (mask.hasStaticBlocks() || mask.getRuntimeBlocks())
      return "pack_gqa cannot take a block-sparse mask: its blocks are "
             "indexed by query tile";
  return "";
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  RankedTensorType q = getQuery().getType(), k = getKey().getType(),
                   v = getValue().getType();
  if (failed(verifyQKV(op, q, k, v, /*linear=*/false)))
    return failure();
  int64_t b = q.getDimSize(0), hq = q.getDimSize(1), sq = q.getDimSize(2);
  int64_t hk = k.getDimSize(1), skv = k.getDimSize(2);
  int64_t hv = v.getDimSize(1), dv = v.getDimSize(3);
  Type elt = q.getElementType();
  Type f32 = Float32Type::get(getContext());

  if (hq % hk != 0 || hq % hv != 0)
    return emitOpError() << "query heads (" << hq
                         << ") must be a multiple of key heads (" << hk
                         << ") and value heads (" << hv << ")";
  if (HeadsAttr heads = getHeadsAttr())
    if (heads.getQ() != hq || heads.getK() != hk || heads.getV() != hv)
      return emitOpError() << "heads attribute " << heads << " says "
                           << heads.getQ() << ", " << heads.getK() << ", "
                           << heads.getV() << " but the operands have " << hq
                           << ", " << hk << ", " << hv;

  if (failed(checkShape(op, "output", getOutput().getType(), {b, hq, sq, dv},
                        elt)))
    return failure();
  if (Value lse = getLse())
    if (failed(checkShape(op, "lse", cast<RankedTensorType>(lse.getType()),
                          {b, hq, sq}, f32)))
      return failure();

  if (FloatAttr scale = getScaleAttr())
    if (!std::isfinite(scale.getValueAsDouble()) ||
        scale.getValueAsDouble() == 0)
      return emitOpError() << "scale must be finite and non-zero, got "
                           << scale.getValueAsDouble();

  NormAttr norm = getNormAttr();
  if (norm && norm.getSigmoid() && getLse())
    return emitOpError() << "sigmoid normalization has no log-sum-exp; drop "
                            "the lse result";

  // Masks and the operands they read.
  if (auto perHead = dyn_cast_or_null<PerHeadMaskAttr>(getMaskAttr()))
    if (static_cast<int64_t>(perHead.getAssign().size()) != hq)
      return emitOpError() << "per-head mask assigns "
                           << perHead.getAssign().size()
                           << " heads but the query has " << hq;
  bool usesDocument = false;
  std::optional<std::pair<int64_t, int64_t>> runtimeBlock;
  for (MaskAttr mask : getMaskPatterns()) {
    usesDocument |= mask.getDocument();
    if (mask.getRuntimeBlocks()) {
      std::pair<int64_t, int64_t> size{mask.getBlockQ(), mask.getBlockKv()};
      if (runtimeBlock && *runtimeBlock != size)
        return emitOpError() << "all runtime block masks must share one block "
                                "size, got "
                             << runtimeBlock->first << "x"
                             << runtimeBlock->second << " and " << size.first
                             << "x" << size.second;
      runtimeBlock = size;
    }
    if (!mask.hasStaticBlocks())
      continue;
    if (ShapedType::isDynamic(sq) || ShapedType::isDynamic(skv))
      return emitOpError()
             << "a static block layout needs static sequence lengths";
    SmallVector<StringRef> rows = mask.getBlockRows();
    int64_t wantRows = llvm::divideCeil(sq, mask.getBlockQ());
    int64_t wantCols = llvm::divideCeil(skv, mask.getBlockKv());
    if (static_cast<int64_t>(rows.size()) != wantRows ||
        static_cast<int64_t>(rows.front().size()) != wantCols)
      return emitOpError() << "block layout is " << rows.size() << "x"
                           << rows.front().size() << " blocks but Sq=" << sq
                           << ", Skv=" << skv << " with " << mask.getBlockQ()
                           << "x" << mask.getBlockKv() << " blocks needs "
                           << wantRows << "x" << wantCols;
  }
  if (usesDocument != static_cast<bool>(getDocIds()))
    return emitOpError() << (usesDocument
                                 ? "a document mask needs the doc_ids operand"
                                 : "doc_ids given but no mask uses document");
  if (Value ids = getDocIds())
    if (failed(checkShape(op, "doc_ids", cast<RankedTensorType>(ids.getType()),
                          {b, skv}, IntegerType::get(getContext(), 32))))
      return failure();
  if (runtimeBlock.has_value() != static_cast<bool>(getBlockMask()))
    return emitOpError() << (runtimeBlock
                                 ? "runtime_blocks needs the block_mask operand"
                                 : "block_mask given but no mask uses "
                                   "runtime_blocks");
  if (Value blocks = getBlockMask())
    if (failed(checkShape(op, "block_mask",
                          cast<RankedTensorType>(blocks.getType()),
                          {b, hq, ceilDivDim(sq, runtimeBlock->first),
                           ceilDivDim(skv, runtimeBlock->second)},
                          IntegerType::get(getContext(), 8))))
      return failure();

  // Score modifications and the epilogue.
  ScoreModAttr scoreMod = getScoreModAttr();
  bool wantsBias = scoreMod && scoreMod.getBias();
  if (wantsBias != static_cast<bool>(getBias()))
    return emitOpError() << (wantsBias
                                 ? "score_mod bias needs the bias operand"
                                 : "bias given but score_mod has no bias");
  if (Value bias = getBias())
    if (failed(checkShape(op, "bias", cast<RankedTensorType>(bias.getType()),
                          {b, hq, sq, skv}, elt)))
      return failure();
  if (Value gate = getGate()) {
    auto gateType = cast<RankedTensorType>(gate.getType());
    int64_t last = gateType.getRank() == 4 && gateType.getDimSize(3) == 1 ? 1
                                                                         : dv;
    if (failed(checkShape(op, "gate", gateType, {b, hq, sq, last}, elt)))
      return failure();
  }

  if (packsHeads())
    if (std::string why = whyHeadsCannotPack(); !why.empty())
      return emitOpError() << why;

  // Tiling and schedule against the problem.
  TilingAttr tiling = getTilingAttr();
  if (ScheduleAttr schedule = getScheduleAttr()) {
    if (schedule.getKind() == ScheduleStrategy::split_kv && tiling &&
        !ShapedType::isDynamic(skv)) {
      int64_t kvTiles = llvm::divideCeil(skv, tiling.getBlockKv());
      if (schedule.getParam() > kvTiles)
        return emitOpError() << "split_kv(" << schedule.getParam()
                             << ") needs that many KV tiles but Skv=" << skv
                             << " with block_kv=" << tiling.getBlockKv()
                             << " gives " << kvTiles;
    }
  }
  return success();
}

/// A region of the op: empty, or one block with the given argument types
/// whose attn.yield returns one value of `resultType`.
static LogicalResult verifyFnRegion(Operation *op, Region &region,
                                    StringRef name, TypeRange argTypes,
                                    Type resultType, StringRef signature) {
  if (region.empty())
    return success();
  if (!region.hasOneBlock())
    return op->emitOpError() << name << " must have exactly one block";
  Block &block = region.front();
  if (block.getArgumentTypes() != argTypes)
    return op->emitOpError() << name << " must take " << signature << ", got "
                             << block.getNumArguments() << " arguments";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield || yield.getValues().size() != 1 ||
      yield.getValues().front().getType() != resultType)
    return op->emitOpError() << name << " must yield exactly one "
                             << resultType;
  // The kernels inline the body per element, where nothing of the
  // enclosing function is in scope.
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(region, captured);
  if (!captured.empty())
    return op->emitOpError()
           << name
           << " may use only its arguments and values defined inside it "
              "(define constants in the region), but uses "
           << captured.size() << " value(s) defined outside";
  return success();
}

LogicalResult AttentionOp::verifyRegions() {
  Builder b(getContext());
  Type index = b.getIndexType();
  SmallVector<Type> maskArgs(4, index);
  if (failed(verifyFnRegion(*this, getMaskFn(), "mask_fn", maskArgs,
                            b.getI1Type(),
                            "(b, h, q_idx, kv_idx : index)")))
    return failure();
  SmallVector<Type> scoreArgs(4, index);
  scoreArgs.push_back(b.getF32Type());
  return verifyFnRegion(*this, getScoreFn(), "score_fn", scoreArgs,
                        b.getF32Type(),
                        "(b, h, q_idx, kv_idx : index, score : f32)");
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

int64_t LinearAttentionOp::getFeatureDim() {
  int64_t dk = getQuery().getType().getDimSize(3);
  return getFeature() == FeatureMapKind::taylor2 ? 1 + dk + dk * dk : dk;
}

LogicalResult LinearAttentionOp::verify() {
  Operation *op = getOperation();
  RankedTensorType q = getQuery().getType(), k = getKey().getType(),
                   v = getValue().getType();
  if (failed(verifyQKV(op, q, k, v, /*linear=*/true)))
    return failure();
  int64_t b = q.getDimSize(0), h = q.getDimSize(1), s = q.getDimSize(2),
          dv = v.getDimSize(3);
  if (k.getDimSize(1) != h || v.getDimSize(1) != h)
    return emitOpError() << "linear attention needs equal head counts, got "
                         << h << ", " << k.getDimSize(1) << ", "
                         << v.getDimSize(1);
  if (!dimsCompatible(k.getDimSize(2), s))
    return emitOpError() << "query and key sequence lengths differ: " << s
                         << " vs " << k.getDimSize(2);
  if (failed(checkShape(op, "output", getOutput().getType(), {b, h, s, dv},
                        q.getElementType())))
    return failure();
  if (getDecayAttr() && !getCausal())
    return emitOpError() << "decay is defined only for causal linear attention";
  if (FloatAttr scale = getScaleAttr())
    if (!std::isfinite(scale.getValueAsDouble()) ||
        scale.getValueAsDouble() == 0)
      return emitOpError() << "scale must be finite and non-zero, got "
                           << scale.getValueAsDouble();
  Type f32 = Float32Type::get(getContext());
  SmallVector<int64_t> stateShape = {b, h, getFeatureDim(),
                                     dv + (getNormalize() ? 1 : 0)};
  if (Value in = getStateIn())
    if (failed(checkShape(op, "state_in", cast<RankedTensorType>(in.getType()),
                          stateShape, f32)))
      return failure();
  if (Value out = getStateOut())
    if (failed(checkShape(op, "state_out",
                          cast<RankedTensorType>(out.getType()), stateShape,
                          f32)))
      return failure();
  if ((getStateIn() || getStateOut()) && !getCausal())
    return emitOpError() << "recurrent state is defined only for causal "
                            "linear attention";
  if (ScheduleAttr schedule = getScheduleAttr()) {
    if (schedule.getKind() == ScheduleStrategy::stream_k)
      return emitOpError() << "linear attention takes schedule auto, flash "
                              "or split_kv, not stream_k";
    // The segments hand their states on one after another: thousands
    // already serialize the launch, and more would outgrow grid x.
    if (schedule.getKind() == ScheduleStrategy::split_kv &&
        schedule.getParam() > kMaxLinearSegments)
      return emitOpError() << "split_kv on linear attention takes at most "
                           << kMaxLinearSegments << " segments, got "
                           << schedule.getParam();
  }
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Attn/IR/AttnOps.cpp.inc"
