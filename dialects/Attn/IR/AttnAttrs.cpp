//===- AttnAttrs.cpp - attn attributes: syntax and verifiers --------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

#include "dialects/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Shared syntax helpers
//===----------------------------------------------------------------------===//

/// Prints a double so that parsing it back gives the same bits.
static void printExactFloat(AsmPrinter &printer, double value) {
  printer.printFloat(llvm::APFloat(value));
}

/// Parses `(` int (`,` int)* `)` with exactly `count` integers.
static ParseResult parseIntArgs(AsmParser &parser,
                                SmallVectorImpl<int64_t> &values,
                                unsigned count) {
  if (parser.parseLParen())
    return failure();
  for (unsigned i = 0; i < count; ++i) {
    int64_t v;
    if ((i && parser.parseComma()) || parser.parseInteger(v))
      return failure();
    values.push_back(v);
  }
  return parser.parseRParen();
}

/// Records a mask part's block size. `blocks` and `runtime_blocks` may
/// stand together (the static layout and the operand intersect), on the one
/// block size the attribute holds.
static ParseResult setBlockSize(AsmParser &parser, SMLoc loc, bool other,
                                int64_t bq, int64_t bk, int64_t &blockQ,
                                int64_t &blockKV) {
  if (other && (bq != blockQ || bk != blockKV))
    return parser.emitError(loc, "blocks and runtime_blocks need one block "
                                 "size, got ")
           << bq << "x" << bk << " after " << blockQ << "x" << blockKV;
  blockQ = bq;
  blockKV = bk;
  return success();
}

/// Parses `(` float `)`.
static ParseResult parseFloatArg(AsmParser &parser, double &value) {
  return failure(parser.parseLParen() || parser.parseFloat(value) ||
                 parser.parseRParen());
}

//===----------------------------------------------------------------------===//
// HeadsAttr
//===----------------------------------------------------------------------===//

/// Expands a preset over base head count `base` (and `groups` for gqa).
static FailureOr<std::array<int64_t, 3>>
expandHeadsPreset(HeadsPreset preset, int64_t base, int64_t groups) {
  switch (preset) {
  case HeadsPreset::mha:
    return std::array<int64_t, 3>{base, base, base};
  case HeadsPreset::gqa:
    return std::array<int64_t, 3>{base, groups, groups};
  case HeadsPreset::mqa:
    return std::array<int64_t, 3>{base, 1, 1};
  case HeadsPreset::sqa:
    return std::array<int64_t, 3>{base / 2, base / 4, base / 4};
  case HeadsPreset::ssqa:
    return std::array<int64_t, 3>{base / 2, base / 2, base / 2};
  case HeadsPreset::xsqa:
    return std::array<int64_t, 3>{base / 4, base / 4, base / 4};
  case HeadsPreset::custom:
    break;
  }
  return failure();
}

Attribute HeadsAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  StringRef keyword;
  if (succeeded(parser.parseOptionalKeyword(&keyword))) {
    SMLoc loc = parser.getCurrentLocation();
    std::optional<HeadsPreset> preset = symbolizeHeadsPreset(keyword);
    if (!preset || *preset == HeadsPreset::custom) {
      parser.emitError(loc, "unknown head preset '")
          << keyword << "' (expected mha, gqa, mqa, sqa, ssqa or xsqa)";
      return {};
    }
    SmallVector<int64_t> args;
    if (parseIntArgs(parser, args, *preset == HeadsPreset::gqa ? 2 : 1) ||
        parser.parseGreater())
      return {};
    int64_t base = args[0];
    int64_t groups = args.size() > 1 ? args[1] : 0;
    auto heads = expandHeadsPreset(*preset, base, groups);
    return parser.getChecked<HeadsAttr>(parser.getContext(), (*heads)[0],
                                        (*heads)[1], (*heads)[2], *preset,
                                        base);
  }
  SmallVector<int64_t> counts;
  for (int i = 0; i < 3; ++i) {
    int64_t v;
    if ((i && parser.parseComma()) || parser.parseInteger(v))
      return {};
    counts.push_back(v);
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<HeadsAttr>(parser.getContext(), counts[0],
                                      counts[1], counts[2],
                                      HeadsPreset::custom, 0);
}

void HeadsAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (getPreset() == HeadsPreset::custom) {
    printer << getQ() << ", " << getK() << ", " << getV() << ">";
    return;
  }
  printer << stringifyHeadsPreset(getPreset()) << "(" << getBase();
  if (getPreset() == HeadsPreset::gqa)
    printer << ", " << getK();
  printer << ")>";
}

LogicalResult HeadsAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t q, int64_t k, int64_t v,
                                HeadsPreset preset, int64_t base) {
  if (preset != HeadsPreset::custom) {
    int64_t divisor = preset == HeadsPreset::sqa || preset == HeadsPreset::xsqa
                          ? 4
                          : (preset == HeadsPreset::ssqa ? 2 : 1);
    if (base < 1 || base % divisor != 0)
      return emitError() << "head preset " << stringifyHeadsPreset(preset)
                         << " needs a base head count divisible by " << divisor
                         << ", got " << base;
    auto expected = expandHeadsPreset(preset, base, k);
    if ((*expected)[0] != q || (*expected)[1] != k || (*expected)[2] != v)
      return emitError() << "head preset " << stringifyHeadsPreset(preset)
                         << "(" << base << ") does not give " << q << ", " << k
                         << ", " << v;
  }
  if (q < 1 || k < 1 || v < 1)
    return emitError() << "head counts must be positive, got " << q << ", "
                       << k << ", " << v;
  if (q % k != 0 || q % v != 0)
    return emitError() << "query heads (" << q
                       << ") must be a multiple of key heads (" << k
                       << ") and value heads (" << v << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// MaskAttr
//===----------------------------------------------------------------------===//

bool MaskAttr::isNone() const {
  return getCausal() == CausalMode::none && !hasWindow() && getSink() == 0 &&
         !getDocument() && !hasStaticBlocks() && !getRuntimeBlocks();
}

SmallVector<StringRef> MaskAttr::getBlockRows() const {
  SmallVector<StringRef> rows;
  getBlockLayout().split(rows, '/');
  return rows;
}

Attribute MaskAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  CausalMode causal = CausalMode::none;
  int64_t windowLeft = -1, windowRight = -1, sink = 0, blockQ = 0,
          blockKV = 0;
  bool document = false, runtimeBlocks = false;
  std::string layout;
  if (succeeded(parser.parseOptionalKeyword("none")))
    return parser.parseGreater()
               ? Attribute()
               : MaskAttr::get(parser.getContext(), causal, windowLeft,
                               windowRight, sink, document, blockQ, blockKV,
                               "", runtimeBlocks);
  // Each part once (the two causal alignments are one part): a repeated
  // one would silently override the first.
  llvm::StringSet<> seen;
  do {
    SMLoc loc = parser.getCurrentLocation();
    StringRef part;
    if (parser.parseKeyword(&part))
      return {};
    StringRef kind = part == "causal_top_left" ? "causal" : part;
    if (!seen.insert(kind).second) {
      parser.emitError(loc, "mask part '") << kind << "' given twice";
      return {};
    }
    SmallVector<int64_t> args;
    if (part == "causal") {
      causal = CausalMode::bottom_right;
    } else if (part == "causal_top_left") {
      causal = CausalMode::top_left;
    } else if (part == "window") {
      if (parseIntArgs(parser, args, 2))
        return {};
      windowLeft = args[0];
      windowRight = args[1];
    } else if (part == "sink") {
      if (parseIntArgs(parser, args, 1))
        return {};
      sink = args[0];
    } else if (part == "document") {
      document = true;
    } else if (part == "blocks") {
      int64_t bq, bk;
      if (parser.parseLParen() || parser.parseInteger(bq) ||
          parser.parseComma() || parser.parseInteger(bk) ||
          parser.parseComma() || parser.parseString(&layout) ||
          parser.parseRParen() ||
          setBlockSize(parser, loc, seen.contains("runtime_blocks"), bq, bk,
                       blockQ, blockKV))
        return {};
      // An empty layout would read as "no blocks" and drop the part.
      if (layout.empty()) {
        parser.emitError(loc, "block layout must have at least one row");
        return {};
      }
    } else if (part == "runtime_blocks") {
      if (parseIntArgs(parser, args, 2) ||
          setBlockSize(parser, loc, seen.contains("blocks"), args[0], args[1],
                       blockQ, blockKV))
        return {};
      runtimeBlocks = true;
    } else {
      parser.emitError(loc, "unknown mask part '")
          << part
          << "' (expected causal, causal_top_left, window, sink, document, "
             "blocks or runtime_blocks)";
      return {};
    }
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  return parser.getChecked<MaskAttr>(parser.getContext(), causal, windowLeft,
                                     windowRight, sink, document, blockQ,
                                     blockKV, layout, runtimeBlocks);
}

void MaskAttr::print(AsmPrinter &printer) const {
  llvm::raw_ostream &os = printer.getStream();
  printer << "<";
  if (isNone()) {
    printer << "none>";
    return;
  }
  bool first = true;
  auto sep = [&]() -> llvm::raw_ostream & {
    if (!first)
      os << ", ";
    first = false;
    return os;
  };
  if (getCausal() == CausalMode::bottom_right)
    sep() << "causal";
  if (getCausal() == CausalMode::top_left)
    sep() << "causal_top_left";
  if (hasWindow())
    sep() << "window(" << getWindowLeft() << ", " << getWindowRight() << ")";
  if (getSink() != 0)
    sep() << "sink(" << getSink() << ")";
  if (getDocument())
    sep() << "document";
  if (hasStaticBlocks())
    sep() << "blocks(" << getBlockQ() << ", " << getBlockKv() << ", \""
          << getBlockLayout() << "\")";
  if (getRuntimeBlocks())
    sep() << "runtime_blocks(" << getBlockQ() << ", " << getBlockKv() << ")";
  os << ">";
}

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               CausalMode, int64_t windowLeft,
                               int64_t windowRight, int64_t sink, bool,
                               int64_t blockQ, int64_t blockKV,
                               StringRef layout, bool runtimeBlocks) {
  bool hasWindow = windowLeft != -1 || windowRight != -1;
  if (hasWindow && (windowLeft < 0 || windowRight < 0))
    return emitError() << "window sizes must be non-negative, got window("
                       << windowLeft << ", " << windowRight << ")";
  if (sink < 0)
    return emitError() << "sink token count must be non-negative, got "
                       << sink;
  if ((!layout.empty() || runtimeBlocks) && (blockQ < 1 || blockKV < 1))
    return emitError() << "block sizes must be positive, got " << blockQ
                       << "x" << blockKV;
  if (layout.empty())
    return success();
  SmallVector<StringRef> rows;
  layout.split(rows, '/');
  for (auto [i, row] : llvm::enumerate(rows)) {
    if (row.empty() || row.size() != rows.front().size())
      return emitError() << "block layout row " << i << " ('" << row
                         << "') must be as long as row 0 ('" << rows.front()
                         << "')";
    if (row.find_first_not_of("01") != StringRef::npos)
      return emitError() << "block layout row " << i << " ('" << row
                         << "') may hold only '0' and '1'";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// PerHeadMaskAttr
//===----------------------------------------------------------------------===//

LogicalResult
PerHeadMaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        ArrayRef<MaskAttr> patterns, ArrayRef<int64_t> assign) {
  if (patterns.empty())
    return emitError() << "per-head mask needs at least one pattern";
  for (auto [h, idx] : llvm::enumerate(assign))
    if (idx < 0 || idx >= static_cast<int64_t>(patterns.size()))
      return emitError() << "head " << h << " is assigned pattern " << idx
                         << " but only " << patterns.size()
                         << " patterns exist";
  return success();
}

//===----------------------------------------------------------------------===//
// ScoreModAttr
//===----------------------------------------------------------------------===//

Attribute ScoreModAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  double softcap = 0;
  bool alibi = false, bias = false;
  if (failed(parser.parseOptionalKeyword("none"))) {
    llvm::StringSet<> seen;
    do {
      SMLoc loc = parser.getCurrentLocation();
      StringRef part;
      if (parser.parseKeyword(&part))
        return {};
      if (!seen.insert(part).second) {
        parser.emitError(loc, "score modification '") << part
                                                      << "' given twice";
        return {};
      }
      if (part == "softcap") {
        if (parseFloatArg(parser, softcap))
          return {};
        // 0 is how the attribute says "no softcap".
        if (!(softcap > 0) || !std::isfinite(softcap)) {
          parser.emitError(loc, "softcap must be a positive finite value, got ")
              << softcap;
          return {};
        }
      } else if (part == "alibi") {
        alibi = true;
      } else if (part == "bias") {
        bias = true;
      } else {
        parser.emitError(loc, "unknown score modification '")
            << part << "' (expected softcap, alibi or bias)";
        return {};
      }
    } while (succeeded(parser.parseOptionalComma()));
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<ScoreModAttr>(
      parser.getContext(), llvm::APFloat(softcap), alibi, bias);
}

void ScoreModAttr::print(AsmPrinter &printer) const {
  printer << "<";
  double softcap = getSoftcapValue();
  if (softcap == 0 && !getAlibi() && !getBias()) {
    printer << "none>";
    return;
  }
  bool first = true;
  auto sep = [&]() {
    if (!first)
      printer << ", ";
    first = false;
  };
  if (softcap != 0) {
    sep();
    printer << "softcap(";
    printExactFloat(printer, softcap);
    printer << ")";
  }
  if (getAlibi()) {
    sep();
    printer << "alibi";
  }
  if (getBias()) {
    sep();
    printer << "bias";
  }
  printer << ">";
}

LogicalResult
ScoreModAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     llvm::APFloat softcapValue, bool, bool) {
  double softcap = softcapValue.convertToDouble();
  if (softcap < 0 || !std::isfinite(softcap))
    return emitError() << "softcap must be a positive finite value, got "
                       << softcap;
  return success();
}

//===----------------------------------------------------------------------===//
// NormAttr
//===----------------------------------------------------------------------===//

Attribute NormAttr::parse(AsmParser &parser, Type) {
  StringRef kind;
  SMLoc loc;
  if (parser.parseLess() || (loc = parser.getCurrentLocation(), false) ||
      parser.parseKeyword(&kind))
    return {};
  double bias = 0;
  if (kind == "sigmoid") {
    if (succeeded(parser.parseOptionalLParen()) &&
        (parser.parseFloat(bias) || parser.parseRParen()))
      return {};
  } else if (kind != "softmax") {
    parser.emitError(loc, "unknown normalization '")
        << kind << "' (expected softmax or sigmoid)";
    return {};
  }
  if (parser.parseGreater())
    return {};
  return NormAttr::get(parser.getContext(), kind == "sigmoid", bias);
}

void NormAttr::print(AsmPrinter &printer) const {
  printer << "<" << (getSigmoid() ? "sigmoid" : "softmax");
  if (getSigmoid() && getSigmoidBiasValue() != 0) {
    printer << "(";
    printExactFloat(printer, getSigmoidBiasValue());
    printer << ")";
  }
  printer << ">";
}

//===----------------------------------------------------------------------===//
// PrecisionAttr, TilingAttr
//===----------------------------------------------------------------------===//

LogicalResult
PrecisionAttr::verify(function_ref<InFlightDiagnostic()> emitError, Type acc,
                      Type p) {
  if (!acc.isF32())
    return emitError() << "accumulator type must be f32, got " << acc;
  if (!p.isF32() && !p.isF16() && !p.isBF16())
    return emitError() << "P type must be f32, f16 or bf16, got " << p;
  return success();
}

LogicalResult TilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t blockQ, int64_t blockKV,
                                 int64_t warps, int64_t stages) {
  if (blockQ < 1 || blockQ > 512 || !llvm::isPowerOf2_64(blockQ))
    return emitError() << "block_q must be a power of two in [1, 512], got "
                       << blockQ;
  // Past powers of two, whole k16 steps of P V: FlashAttention-3 takes 176
  // KV columns at head dim 128 (wgmma's n runs in steps of 8 to 256).
  if (blockKV < 1 || blockKV > 512 ||
      (!llvm::isPowerOf2_64(blockKV) && blockKV % 16 != 0))
    return emitError() << "block_kv must be a power of two or a multiple of "
                          "16 in [1, 512], got "
                       << blockKV;
  if (warps < 1 || warps > 16 || !llvm::isPowerOf2_64(warps))
    return emitError() << "warps must be 1, 2, 4, 8 or 16, got " << warps;
  if (stages < 1 || stages > 8)
    return emitError() << "stages must be in [1, 8], got " << stages;
  return success();
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

Attribute ScheduleAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  SMLoc loc;
  if (parser.parseLess() || (loc = parser.getCurrentLocation(), false) ||
      parser.parseKeyword(&keyword))
    return {};
  std::optional<ScheduleStrategy> kind = symbolizeScheduleStrategy(keyword);
  if (!kind) {
    parser.emitError(loc, "unknown schedule '")
        << keyword << "' (expected auto, flash, split_kv or stream_k)";
    return {};
  }
  int64_t param = 0;
  if (*kind == ScheduleStrategy::split_kv || *kind == ScheduleStrategy::stream_k) {
    SmallVector<int64_t> args;
    if (parseIntArgs(parser, args, 1))
      return {};
    param = args[0];
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<ScheduleAttr>(parser.getContext(), *kind, param);
}

void ScheduleAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyScheduleStrategy(getKind());
  if (getKind() == ScheduleStrategy::split_kv ||
      getKind() == ScheduleStrategy::stream_k)
    printer << "(" << getParam() << ")";
  printer << ">";
}

LogicalResult
ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     ScheduleStrategy kind, int64_t param) {
  bool takesParam =
      kind == ScheduleStrategy::split_kv || kind == ScheduleStrategy::stream_k;
  if (takesParam && param < 1)
    return emitError() << stringifyScheduleStrategy(kind)
                       << " needs a positive count, got " << param;
  return success();
}

//===----------------------------------------------------------------------===//
// DecayAttr
//===----------------------------------------------------------------------===//

Attribute DecayAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  bool alibi = succeeded(parser.parseOptionalKeyword("alibi"));
  double value = 1.0;
  if (!alibi && parser.parseFloat(value))
    return {};
  if (parser.parseGreater())
    return {};
  return parser.getChecked<DecayAttr>(parser.getContext(), alibi,
                                      llvm::APFloat(value));
}

void DecayAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (getAlibi())
    printer << "alibi";
  else
    printExactFloat(printer, getLambda());
  printer << ">";
}

LogicalResult DecayAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                bool alibi, llvm::APFloat lambda) {
  double value = lambda.convertToDouble();
  if (!alibi && !(value > 0 && value <= 1))
    return emitError() << "decay must be in (0, 1], got " << value;
  return success();
}
