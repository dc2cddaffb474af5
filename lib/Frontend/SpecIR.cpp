//===- SpecIR.cpp - spec <-> attn IR --------------------------------------===//

#include "attn/Frontend/SpecIR.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::attn;

Type mlir::attn::elementTypeOf(MLIRContext *context, DType dtype) {
  switch (dtype) {
  case DType::F16:
    return Float16Type::get(context);
  case DType::BF16:
    return BFloat16Type::get(context);
  case DType::F32:
    break;
  }
  return Float32Type::get(context);
}

static CausalMode toCausalMode(CausalAlign a) {
  switch (a) {
  case CausalAlign::BottomRight:
    return CausalMode::bottom_right;
  case CausalAlign::TopLeft:
    return CausalMode::top_left;
  case CausalAlign::None:
    break;
  }
  return CausalMode::none;
}

/// Layout string "10/11" of a spec's row-major block bytes.
static std::string layoutString(const MaskSpec &mask) {
  std::string s;
  for (int64_t r = 0; r < mask.blockRows; ++r) {
    if (r)
      s += '/';
    for (int64_t c = 0; c < mask.blockCols; ++c)
      s += mask.blockLayout[r * mask.blockCols + c] ? '1' : '0';
  }
  return s;
}

MaskAttr mlir::attn::maskAttrFromSpec(MLIRContext *context,
                                      const MaskSpec &mask) {
  bool blocks = !mask.blockLayout.empty() || mask.runtimeBlocks;
  return MaskAttr::get(context, toCausalMode(mask.causal),
                       mask.hasWindow ? mask.windowLeft : -1,
                       mask.hasWindow ? mask.windowRight : -1, mask.sink,
                       mask.document, blocks ? mask.blockQ : 0,
                       blocks ? mask.blockKV : 0, layoutString(mask),
                       mask.runtimeBlocks);
}

MaskSpec mlir::attn::maskSpecFromAttr(MaskAttr attr) {
  MaskSpec m;
  m.causal = attr.getCausal() == CausalMode::bottom_right
                 ? CausalAlign::BottomRight
                 : (attr.getCausal() == CausalMode::top_left
                        ? CausalAlign::TopLeft
                        : CausalAlign::None);
  m.hasWindow = attr.hasWindow();
  if (m.hasWindow) {
    m.windowLeft = attr.getWindowLeft();
    m.windowRight = attr.getWindowRight();
  }
  m.sink = attr.getSink();
  m.document = attr.getDocument();
  m.runtimeBlocks = attr.getRuntimeBlocks();
  if (attr.hasStaticBlocks() || m.runtimeBlocks) {
    m.blockQ = attr.getBlockQ();
    m.blockKV = attr.getBlockKv();
  }
  if (attr.hasStaticBlocks()) {
    SmallVector<StringRef> rows = attr.getBlockRows();
    m.blockRows = rows.size();
    m.blockCols = rows.front().size();
    for (StringRef row : rows)
      for (char c : row)
        m.blockLayout.push_back(c == '1');
  }
  return m;
}

static HeadsPreset toHeadsPreset(mlir::attn::HeadPreset p) {
  switch (p) {
  case mlir::attn::HeadPreset::MHA:
    return HeadsPreset::mha;
  case mlir::attn::HeadPreset::GQA:
    return HeadsPreset::gqa;
  case mlir::attn::HeadPreset::MQA:
    return HeadsPreset::mqa;
  case mlir::attn::HeadPreset::SQA:
    return HeadsPreset::sqa;
  case mlir::attn::HeadPreset::SSQA:
    return HeadsPreset::ssqa;
  case mlir::attn::HeadPreset::XSQA:
    return HeadsPreset::xsqa;
  case mlir::attn::HeadPreset::Custom:
    break;
  }
  return HeadsPreset::custom;
}

static mlir::attn::HeadPreset fromHeadsPreset(HeadsPreset p) {
  switch (p) {
  case HeadsPreset::mha:
    return mlir::attn::HeadPreset::MHA;
  case HeadsPreset::gqa:
    return mlir::attn::HeadPreset::GQA;
  case HeadsPreset::mqa:
    return mlir::attn::HeadPreset::MQA;
  case HeadsPreset::sqa:
    return mlir::attn::HeadPreset::SQA;
  case HeadsPreset::ssqa:
    return mlir::attn::HeadPreset::SSQA;
  case HeadsPreset::xsqa:
    return mlir::attn::HeadPreset::XSQA;
  case HeadsPreset::custom:
    break;
  }
  return mlir::attn::HeadPreset::Custom;
}

static ScheduleStrategy toStrategy(ScheduleKind k) {
  switch (k) {
  case ScheduleKind::Flash:
    return ScheduleStrategy::flash;
  case ScheduleKind::SplitKV:
    return ScheduleStrategy::split_kv;
  case ScheduleKind::StreamK:
    return ScheduleStrategy::stream_k;
  case ScheduleKind::Auto:
    break;
  }
  return ScheduleStrategy::auto_;
}

static ScheduleKind fromStrategy(ScheduleStrategy k) {
  switch (k) {
  case ScheduleStrategy::flash:
    return ScheduleKind::Flash;
  case ScheduleStrategy::split_kv:
    return ScheduleKind::SplitKV;
  case ScheduleStrategy::stream_k:
    return ScheduleKind::StreamK;
  case ScheduleStrategy::auto_:
    break;
  }
  return ScheduleKind::Auto;
}

static FeatureMapKind toFeatureMapKind(FeatureMap f) {
  switch (f) {
  case FeatureMap::Elu1:
    return FeatureMapKind::elu1;
  case FeatureMap::Relu:
    return FeatureMapKind::relu;
  case FeatureMap::Taylor2:
    return FeatureMapKind::taylor2;
  case FeatureMap::Identity:
    break;
  }
  return FeatureMapKind::identity;
}

static FeatureMap fromFeatureMapKind(FeatureMapKind f) {
  switch (f) {
  case FeatureMapKind::elu1:
    return FeatureMap::Elu1;
  case FeatureMapKind::relu:
    return FeatureMap::Relu;
  case FeatureMapKind::taylor2:
    return FeatureMap::Taylor2;
  case FeatureMapKind::identity:
    break;
  }
  return FeatureMap::Identity;
}

static std::optional<std::pair<int64_t, int64_t>>
runtimeBlockSize(const AttentionSpec &spec) {
  if (const MaskSpec *m = spec.runtimeBlockMask())
    return std::make_pair(m->blockQ, m->blockKV);
  return std::nullopt;
}

static Operation *buildSoftmaxOp(OpBuilder &b, Location loc,
                                 const AttentionSpec &spec,
                                 SmallVectorImpl<Type> &argTypes,
                                 Block *body) {
  MLIRContext *ctx = b.getContext();
  Type elt = elementTypeOf(ctx, spec.dtype);
  auto tensor = [&](ArrayRef<int64_t> shape, Type t) {
    return RankedTensorType::get(shape, t);
  };
  auto addArg = [&](Type t) {
    argTypes.push_back(t);
    return body->addArgument(t, loc);
  };
  Value q = addArg(tensor({spec.batch, spec.hq, spec.sq, spec.dqk}, elt));
  Value k = addArg(tensor({spec.batch, spec.hk, spec.skv, spec.dqk}, elt));
  Value v = addArg(tensor({spec.batch, spec.hv, spec.skv, spec.dv}, elt));
  Value gate, bias, docIds, blockMask;
  if (spec.gate != GateKind::None)
    gate = addArg(tensor({spec.batch, spec.hq, spec.sq,
                          spec.gate == GateKind::PerHead ? 1 : spec.dv},
                         elt));
  if (spec.bias)
    bias = addArg(tensor({spec.batch, spec.hq, spec.sq, spec.skv}, elt));
  if (spec.usesDocument())
    docIds = addArg(tensor({spec.batch, spec.skv}, b.getI32Type()));
  if (auto size = runtimeBlockSize(spec))
    blockMask = addArg(tensor({spec.batch, spec.hq,
                               llvm::divideCeilSigned(spec.sq, size->first),
                               llvm::divideCeilSigned(spec.skv, size->second)},
                              b.getI8Type()));

  SmallVector<Type> results = {
      tensor({spec.batch, spec.hq, spec.sq, spec.dv}, elt)};
  if (spec.lse)
    results.push_back(tensor({spec.batch, spec.hq, spec.sq}, b.getF32Type()));

  auto op = AttentionOp::create(b, loc, results, q, k, v, gate, bias, docIds,
                                blockMask, /*heads=*/nullptr, /*mask=*/nullptr,
                                /*scale=*/nullptr, /*score_mod=*/nullptr,
                                /*norm=*/nullptr, /*precision=*/nullptr,
                                /*tiling=*/nullptr, /*schedule=*/nullptr,
                                /*pack_gqa=*/nullptr);
  if (spec.headPreset != mlir::attn::HeadPreset::Custom ||
      spec.hq != spec.hk || spec.hq != spec.hv)
    op.setHeadsAttr(HeadsAttr::get(ctx, spec.hq, spec.hk, spec.hv,
                                   toHeadsPreset(spec.headPreset),
                                   spec.headPreset ==
                                           mlir::attn::HeadPreset::Custom
                                       ? 0
                                       : spec.headBase));
  if (!spec.perHead.empty()) {
    SmallVector<MaskAttr> patterns;
    for (const MaskSpec &m : spec.perHead)
      patterns.push_back(maskAttrFromSpec(ctx, m));
    SmallVector<int64_t> assign;
    for (int64_t h = 0; h < spec.hq; ++h)
      assign.push_back(spec.perHeadAssign.empty()
                           ? h % static_cast<int64_t>(patterns.size())
                           : spec.perHeadAssign[h]);
    op.setMaskAttr(PerHeadMaskAttr::get(ctx, patterns, assign));
  } else if (!spec.mask.isNone()) {
    op.setMaskAttr(maskAttrFromSpec(ctx, spec.mask));
  }
  if (spec.scale)
    op.setScaleAttr(b.getF64FloatAttr(*spec.scale));
  if (spec.softcap != 0 || spec.alibi || spec.bias)
    op.setScoreModAttr(
        ScoreModAttr::get(ctx, spec.softcap, spec.alibi, spec.bias));
  if (spec.norm == NormKind::Sigmoid)
    op.setNormAttr(NormAttr::get(ctx, true, spec.sigmoidBias));
  if (spec.blockQ || spec.blockKV || spec.warps || spec.stages)
    op.setTilingAttr(TilingAttr::get(
        ctx, spec.blockQ ? spec.blockQ : 64, spec.blockKV ? spec.blockKV : 64,
        spec.warps ? spec.warps : 4, spec.stages ? spec.stages : 2));
  if (spec.schedule != ScheduleKind::Auto)
    op.setScheduleAttr(ScheduleAttr::get(ctx, toStrategy(spec.schedule),
                                         spec.scheduleParam));
  if (spec.packGqa)
    op.setPackGqaAttr(b.getBoolAttr(*spec.packGqa));
  return op;
}

static Operation *buildLinearOp(OpBuilder &b, Location loc,
                                const AttentionSpec &spec,
                                SmallVectorImpl<Type> &argTypes, Block *body) {
  MLIRContext *ctx = b.getContext();
  Type elt = elementTypeOf(ctx, spec.dtype);
  auto addArg = [&](Type t) {
    argTypes.push_back(t);
    return body->addArgument(t, loc);
  };
  int64_t h = spec.hq, s = spec.sq;
  Value q = addArg(RankedTensorType::get({spec.batch, h, s, spec.dqk}, elt));
  Value k = addArg(RankedTensorType::get({spec.batch, h, s, spec.dqk}, elt));
  Value v = addArg(RankedTensorType::get({spec.batch, h, s, spec.dv}, elt));
  auto stateType = RankedTensorType::get(
      {spec.batch, h, spec.featureDim(), spec.dv + (spec.normSum ? 1 : 0)},
      b.getF32Type());
  Value stateIn = spec.stateIn ? addArg(stateType) : Value();
  SmallVector<Type> results = {
      RankedTensorType::get({spec.batch, h, s, spec.dv}, elt)};
  if (spec.stateOut)
    results.push_back(stateType);
  SmallVector<Value> operands = {q, k, v};
  if (stateIn)
    operands.push_back(stateIn);
  auto op = LinearAttentionOp::create(b, loc, results, operands,
                                      ArrayRef<NamedAttribute>{});
  op.setFeature(toFeatureMapKind(spec.feature));
  if (spec.decay != DecayKind::None)
    op.setDecayAttr(DecayAttr::get(ctx, spec.decay == DecayKind::Alibi,
                                   spec.decay == DecayKind::Alibi
                                       ? 1.0
                                       : spec.decayValue));
  op.setCausal(spec.causal);
  op.setNormalize(spec.normSum);
  if (spec.scale)
    op.setScaleAttr(b.getF64FloatAttr(*spec.scale));
  if (spec.blockQ || spec.blockKV)
    op.setTilingAttr(TilingAttr::get(ctx, spec.blockQ ? spec.blockQ : 64,
                                     spec.blockKV ? spec.blockKV : 64,
                                     spec.warps ? spec.warps : 4,
                                     spec.stages ? spec.stages : 2));
  if (spec.schedule != ScheduleKind::Auto)
    op.setScheduleAttr(ScheduleAttr::get(ctx, toStrategy(spec.schedule),
                                         spec.scheduleParam));
  return op;
}

OwningOpRef<ModuleOp>
mlir::attn::buildModuleFromSpec(MLIRContext *context,
                                const AttentionSpec &spec) {
  context->loadDialect<AttnDialect, func::FuncDialect>();
  Location loc = UnknownLoc::get(context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b(context);
  b.setInsertionPointToEnd(module->getBody());
  std::string name = spec.name.empty()
                         ? (spec.kind == OpKind::Linear ? "linear_attention"
                                                        : "attention")
                         : spec.name;
  auto func = func::FuncOp::create(b, loc, name, b.getFunctionType({}, {}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<Type> argTypes;
  Operation *op = spec.kind == OpKind::Linear
                      ? buildLinearOp(b, loc, spec, argTypes, body)
                      : buildSoftmaxOp(b, loc, spec, argTypes, body);
  func::ReturnOp::create(b, loc, op->getResults());
  func.setFunctionType(
      b.getFunctionType(argTypes, TypeRange(op->getResultTypes())));
  return module;
}

//===----------------------------------------------------------------------===//
// IR -> spec
//===----------------------------------------------------------------------===//

std::optional<DType> mlir::attn::dtypeOf(Type t) {
  if (t.isF32())
    return DType::F32;
  if (t.isF16())
    return DType::F16;
  if (t.isBF16())
    return DType::BF16;
  return std::nullopt;
}

LinearGpuProblem mlir::attn::linearGpuProblemOf(LinearAttentionOp op,
                                                TargetKind kind,
                                                int64_t blockKv) {
  LinearGpuProblem p;
  p.dk = op.getKey().getType().getDimSize(3);
  p.features = op.getFeatureDim();
  p.columns = std::min(blockKv, op.getValue().getType().getDimSize(3));
  p.normSum = op.getNormalize();
  p.decay = op.getDecayAttr() != nullptr;
  std::optional<DType> dtype =
      dtypeOf(op.getQuery().getType().getElementType());
  p.bf16Operands = kind != TargetKind::CPU && dtype == DType::BF16 &&
                   op.getFeature() != FeatureMapKind::taylor2;
  return p;
}

int64_t mlir::attn::linearSegmentsOf(LinearAttentionOp op) {
  ScheduleAttr schedule = op.getScheduleAttr();
  return schedule && schedule.getKind() == ScheduleStrategy::split_kv
             ? schedule.getParam()
             : 1;
}

static FailureOr<DType> requireDType(Operation *op, Type t) {
  if (std::optional<DType> dtype = dtypeOf(t))
    return *dtype;
  return op->emitOpError() << "has no spec dtype for " << t;
}

static LogicalResult requireStatic(Operation *op, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.hasStaticShape())
    return success();
  return op->emitOpError() << "spec needs static shapes, got " << type;
}

FailureOr<AttentionSpec> mlir::attn::specFromOp(Operation *operation,
                                                bool ignoreRegions) {
  AttentionSpec spec;
  spec.name = "attention";
  if (auto fn = operation->getParentOfType<func::FuncOp>())
    spec.name = fn.getSymName().str();
  if (auto op = dyn_cast<LinearAttentionOp>(operation)) {
    for (Value v : {op.getQuery(), op.getKey(), op.getValue()})
      if (failed(requireStatic(operation, v)))
        return failure();
    auto q = op.getQuery().getType(), v = op.getValue().getType();
    spec.kind = OpKind::Linear;
    spec.batch = q.getDimSize(0);
    spec.hq = spec.hk = spec.hv = q.getDimSize(1);
    spec.sq = spec.skv = q.getDimSize(2);
    spec.dqk = q.getDimSize(3);
    spec.dv = v.getDimSize(3);
    FailureOr<DType> dt = requireDType(operation, q.getElementType());
    if (failed(dt))
      return failure();
    spec.dtype = *dt;
    spec.feature = fromFeatureMapKind(op.getFeature());
    if (DecayAttr decay = op.getDecayAttr()) {
      spec.decay = decay.getAlibi() ? DecayKind::Alibi : DecayKind::Constant;
      spec.decayValue = decay.getAlibi() ? 0 : decay.getLambda();
    }
    spec.causal = op.getCausal();
    spec.normSum = op.getNormalize();
    if (FloatAttr scale = op.getScaleAttr())
      spec.scale = scale.getValueAsDouble();
    spec.stateIn = static_cast<bool>(op.getStateIn());
    spec.stateOut = static_cast<bool>(op.getStateOut());
    if (TilingAttr t = op.getTilingAttr()) {
      spec.blockQ = t.getBlockQ();
      spec.blockKV = t.getBlockKv();
    }
    if (ScheduleAttr s = op.getScheduleAttr()) {
      spec.schedule = fromStrategy(s.getKind());
      spec.scheduleParam = s.getParam();
    }
    return spec;
  }
  auto op = dyn_cast<AttentionOp>(operation);
  if (!op)
    return operation->emitOpError() << "is not an attn op";
  for (Value v : {op.getQuery(), op.getKey(), op.getValue()})
    if (failed(requireStatic(operation, v)))
      return failure();
  if (!ignoreRegions && (!op.getMaskFn().empty() || !op.getScoreFn().empty()))
    return op.emitOpError()
           << "has a mask_fn or score_fn region, which a spec cannot express";
  auto q = op.getQuery().getType(), k = op.getKey().getType(),
       v = op.getValue().getType();
  spec.batch = q.getDimSize(0);
  spec.hq = q.getDimSize(1);
  spec.sq = q.getDimSize(2);
  spec.dqk = q.getDimSize(3);
  spec.hk = k.getDimSize(1);
  spec.skv = k.getDimSize(2);
  spec.hv = v.getDimSize(1);
  spec.dv = v.getDimSize(3);
  FailureOr<DType> dt = requireDType(operation, q.getElementType());
  if (failed(dt))
    return failure();
  spec.dtype = *dt;
  if (HeadsAttr heads = op.getHeadsAttr()) {
    spec.headPreset = fromHeadsPreset(heads.getPreset());
    spec.headBase = heads.getBase();
  }
  if (auto perHead = dyn_cast_or_null<PerHeadMaskAttr>(op.getMaskAttr())) {
    for (MaskAttr m : perHead.getPatterns())
      spec.perHead.push_back(maskSpecFromAttr(m));
    spec.perHeadAssign.assign(perHead.getAssign().begin(),
                              perHead.getAssign().end());
  } else if (auto mask = dyn_cast_or_null<MaskAttr>(op.getMaskAttr())) {
    spec.mask = maskSpecFromAttr(mask);
  }
  if (FloatAttr scale = op.getScaleAttr())
    spec.scale = scale.getValueAsDouble();
  if (ScoreModAttr mod = op.getScoreModAttr()) {
    spec.softcap = mod.getSoftcapValue();
    spec.alibi = mod.getAlibi();
    spec.bias = mod.getBias();
  }
  if (NormAttr norm = op.getNormAttr(); norm && norm.getSigmoid()) {
    spec.norm = NormKind::Sigmoid;
    spec.sigmoidBias = norm.getSigmoidBiasValue();
  }
  if (Value gate = op.getGate())
    spec.gate = cast<RankedTensorType>(gate.getType()).getDimSize(3) == 1 &&
                        spec.dv != 1
                    ? GateKind::PerHead
                    : GateKind::Elementwise;
  spec.lse = static_cast<bool>(op.getLse());
  if (TilingAttr t = op.getTilingAttr()) {
    spec.blockQ = t.getBlockQ();
    spec.blockKV = t.getBlockKv();
    spec.warps = t.getWarps();
    spec.stages = t.getStages();
  }
  if (ScheduleAttr s = op.getScheduleAttr()) {
    spec.schedule = fromStrategy(s.getKind());
    spec.scheduleParam = s.getParam();
  }
  if (BoolAttr pack = op.getPackGqaAttr())
    spec.packGqa = pack.getValue();
  return spec;
}
