//===- Spec.cpp - Attention problem description ---------------------------===//
//
// Parser, printer and validator of the spec-string grammar (see
// docs/spec-grammar.md), plus the small semantic helpers of AttentionSpec.
// The parser only checks syntax and per-value sanity (a number is a number,
// an enum is one of its spellings); cross-field rules live in validateSpec so
// that specs built in code get the same checks as parsed ones.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/Spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// AttentionSpec / MaskSpec helpers
//===----------------------------------------------------------------------===//

bool MaskSpec::operator==(const MaskSpec &o) const {
  return causal == o.causal && hasWindow == o.hasWindow &&
         windowLeft == o.windowLeft && windowRight == o.windowRight &&
         sink == o.sink && document == o.document && blockQ == o.blockQ &&
         blockKV == o.blockKV && blockLayout == o.blockLayout &&
         blockRows == o.blockRows && blockCols == o.blockCols &&
         runtimeBlocks == o.runtimeBlocks;
}

const MaskSpec &AttentionSpec::maskForHead(int64_t h) const {
  if (perHead.empty())
    return mask;
  // An empty assignment means the default round-robin h % npatterns, so specs
  // built in code need not spell it out.
  int64_t n = static_cast<int64_t>(perHead.size());
  int64_t idx = h % n;
  if (!perHeadAssign.empty() && h >= 0 &&
      h < static_cast<int64_t>(perHeadAssign.size()))
    idx = perHeadAssign[h];
  if (idx < 0 || idx >= n)
    idx = 0; // Invalid specs are rejected by validateSpec; never index OOB.
  return perHead[idx];
}

double AttentionSpec::effectiveScale() const {
  if (scale)
    return *scale;
  if (kind == OpKind::Linear)
    return 1.0;
  return 1.0 / std::sqrt(static_cast<double>(dqk));
}

int64_t AttentionSpec::featureDim() const {
  if (kind == OpKind::Linear && feature == FeatureMap::Taylor2)
    return 1 + dqk + dqk * dqk;
  return dqk;
}

bool AttentionSpec::usesDocument() const {
  if (perHead.empty())
    return mask.document;
  for (const MaskSpec &m : perHead)
    if (m.document)
      return true;
  return false;
}

const MaskSpec *AttentionSpec::runtimeBlockMask() const {
  if (perHead.empty())
    return mask.runtimeBlocks ? &mask : nullptr;
  for (const MaskSpec &m : perHead)
    if (m.runtimeBlocks)
      return &m;
  return nullptr;
}

bool AttentionSpec::operator==(const AttentionSpec &o) const {
  return kind == o.kind && name == o.name && batch == o.batch && hq == o.hq &&
         hk == o.hk && hv == o.hv && headPreset == o.headPreset &&
         headBase == o.headBase && sq == o.sq && skv == o.skv &&
         dqk == o.dqk && dv == o.dv && dtype == o.dtype && mask == o.mask &&
         perHead == o.perHead && perHeadAssign == o.perHeadAssign &&
         scale == o.scale && softcap == o.softcap && alibi == o.alibi &&
         bias == o.bias && norm == o.norm && sigmoidBias == o.sigmoidBias &&
         gate == o.gate && lse == o.lse && feature == o.feature &&
         decay == o.decay && decayValue == o.decayValue &&
         causal == o.causal && normSum == o.normSum &&
         stateIn == o.stateIn && stateOut == o.stateOut &&
         blockQ == o.blockQ && blockKV == o.blockKV && warps == o.warps &&
         stages == o.stages && schedule == o.schedule &&
         scheduleParam == o.scheduleParam && packGqa == o.packGqa;
}

const char *mlir::attn::toString(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  }
  return "?";
}

double mlir::attn::alibiSlope(int64_t h, int64_t n) {
  if (n <= 0 || h < 0 || h >= n)
    return 0.0;
  // m = largest power of two <= n.
  int64_t m = 1;
  while (m * 2 <= n)
    m *= 2;
  // For a power of two P the slopes are 2^(-8 (k+1) / P), k = 0..P-1.
  if (h < m)
    return std::exp2(-8.0 * static_cast<double>(h + 1) /
                     static_cast<double>(m));
  // The remaining heads take the even-indexed slopes (0, 2, 4, ...) of the
  // sequence for 2m (the paper's interleaving rule).
  int64_t k = 2 * (h - m);
  return std::exp2(-8.0 * static_cast<double>(k + 1) /
                   static_cast<double>(2 * m));
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {

/// Splits `s` on `sep`, keeping empty pieces (so `a++b` is reported).
std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

/// Strict signed decimal integer: the whole string, no blanks, no overflow.
bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == s.size())
    return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return false;
  }
  out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

/// Strict finite floating-point number (strtod syntax, whole string).
bool parseFloat(const std::string &s, double &out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])))
    return false;
  // strtod accepts hex floats, "inf" and "nan"; only plain decimals are part
  // of the grammar, so reject letters other than an exponent.
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
          c == '+' || c == 'e' || c == 'E'))
      return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  // ERANGE also flags subnormal results, which are exact enough to keep;
  // reject only overflow and total underflow to zero.
  if (end != s.c_str() + s.size() || !std::isfinite(v) ||
      (errno == ERANGE && v == 0))
    return false;
  out = v;
  return true;
}

/// Shortest decimal that reads back to exactly `v`. Plain notation where it
/// is short, since `%g` would print 50 as `5e+01` and `+` separates parts
/// of a spec value (`score=softcap:50+alibi`).
std::string formatDouble(double v) {
  char buf[512];
  double a = std::fabs(v);
  if (v == 0 || (a >= 1e-5 && a < 1e15)) {
    for (int prec = 0; prec <= 20; ++prec) {
      std::snprintf(buf, sizeof(buf), "%.*f", prec, v);
      if (std::strtod(buf, nullptr) == v)
        return buf;
    }
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string r = buf;
  size_t plus = r.find("e+");
  if (plus != std::string::npos)
    r.erase(plus + 1, 1);
  return r;
}

bool isIdent(const std::string &s) {
  if (s.empty() ||
      !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

/// Parses `AxB` (tile and block sizes).
bool parsePair(const std::string &s, int64_t &a, int64_t &b) {
  size_t x = s.find('x');
  if (x == std::string::npos)
    return false;
  return parseInt(s.substr(0, x), a) && parseInt(s.substr(x + 1), b);
}

/// Parser state for one spec string; every error names the current word.
class SpecParser {
public:
  SpecParser(AttentionSpec &spec, std::string &error)
      : spec(spec), error(error) {}

  bool parse(const std::string &text);

private:
  bool fail(const std::string &msg) {
    error = msg + " in '" + word + "'";
    return false;
  }
  bool badNumber(const std::string &s) {
    return fail("bad number '" + s + "'");
  }
  bool badValue(const std::string &s) {
    return fail("bad value '" + s + "' for '" + key + "'");
  }
  bool getInt(const std::string &s, int64_t &v) {
    return parseInt(s, v) || badNumber(s);
  }
  bool getFloat(const std::string &s, double &v) {
    return parseFloat(s, v) || badNumber(s);
  }

  bool parseWord();
  bool parseHeads(const std::string &v);
  bool parseMask(const std::string &v, MaskSpec &m);
  bool parseMaskPart(const std::string &part, MaskSpec &m, bool &sawNone);
  bool parsePerHead(const std::string &v);
  bool parseScore(const std::string &v);

  AttentionSpec &spec;
  std::string &error;
  std::string word, key;
  /// Set when `mask=perhead[...]` had no `@` list: filled with h % n once the
  /// head count is known (heads= may come later in the string).
  bool defaultAssign = false;
};

bool SpecParser::parse(const std::string &text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);

  // `kind` decides how heads/mask/norm read, and may appear anywhere.
  for (const std::string &w : words) {
    if (w.rfind("kind=", 0) != 0)
      continue;
    word = w;
    key = "kind";
    std::string v = w.substr(5);
    if (v == "softmax")
      spec.kind = OpKind::Softmax;
    else if (v == "linear")
      spec.kind = OpKind::Linear;
    else
      return badValue(v);
  }

  std::vector<std::string> seen;
  for (const std::string &w : words) {
    word = w;
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "expected key=value, got '" + w + "'";
      return false;
    }
    key = w.substr(0, eq);
    for (const std::string &s : seen)
      if (s == key)
        return fail("duplicate key '" + key + "'");
    seen.push_back(key);
    if (!parseWord())
      return false;
  }

  if (defaultAssign) {
    spec.perHeadAssign.clear();
    int64_t n = static_cast<int64_t>(spec.perHead.size());
    for (int64_t h = 0; h < spec.hq && h < (int64_t{1} << 24); ++h)
      spec.perHeadAssign.push_back(h % n);
  }
  return true;
}

bool SpecParser::parseWord() {
  std::string v = word.substr(key.size() + 1);
  if (key == "kind")
    return true; // Handled in the pre-scan.
  if (key == "name") {
    if (!isIdent(v))
      return badValue(v);
    spec.name = v;
    return true;
  }
  if (key == "batch")
    return getInt(v, spec.batch);
  if (key == "heads")
    return parseHeads(v);
  if (key == "seq" || key == "dim") {
    int64_t &a = key == "seq" ? spec.sq : spec.dqk;
    int64_t &b = key == "seq" ? spec.skv : spec.dv;
    std::vector<std::string> p = split(v, ':');
    if (p.size() > 2)
      return badValue(v);
    if (!getInt(p[0], a))
      return false;
    if (p.size() == 1) {
      b = a;
      return true;
    }
    return getInt(p[1], b);
  }
  if (key == "dtype") {
    if (v == "f32")
      spec.dtype = DType::F32;
    else if (v == "f16")
      spec.dtype = DType::F16;
    else if (v == "bf16")
      spec.dtype = DType::BF16;
    else
      return badValue(v);
    return true;
  }
  if (key == "mask") {
    if (spec.kind == OpKind::Linear) {
      // Linear attention has no mask attribute: only causal or not.
      if (v == "causal")
        spec.causal = true;
      else if (v == "none")
        spec.causal = false;
      else
        return fail("kind=linear takes only mask=causal or mask=none, got '" +
                    v + "'");
      return true;
    }
    if (v.rfind("perhead[", 0) == 0)
      return parsePerHead(v);
    return parseMask(v, spec.mask);
  }
  if (key == "score")
    return parseScore(v);
  if (key == "scale") {
    double s;
    if (!getFloat(v, s))
      return false;
    spec.scale = s;
    return true;
  }
  if (key == "norm") {
    if (spec.kind == OpKind::Linear) {
      if (v == "sum")
        spec.normSum = true;
      else if (v == "none")
        spec.normSum = false;
      else
        return badValue(v);
      return true;
    }
    if (v == "softmax") {
      spec.norm = NormKind::Softmax;
      spec.sigmoidBias = 0;
      return true;
    }
    if (v == "sigmoid" || v.rfind("sigmoid:", 0) == 0) {
      spec.norm = NormKind::Sigmoid;
      spec.sigmoidBias = 0;
      return v == "sigmoid" || getFloat(v.substr(8), spec.sigmoidBias);
    }
    return badValue(v);
  }
  if (key == "gate") {
    if (v == "0")
      spec.gate = GateKind::None;
    else if (v == "1")
      spec.gate = GateKind::Elementwise;
    else if (v == "head")
      spec.gate = GateKind::PerHead;
    else
      return badValue(v);
    return true;
  }
  if (key == "lse") {
    if (v != "0" && v != "1")
      return badValue(v);
    spec.lse = v == "1";
    return true;
  }
  if (key == "feature") {
    if (v == "identity")
      spec.feature = FeatureMap::Identity;
    else if (v == "elu1")
      spec.feature = FeatureMap::Elu1;
    else if (v == "relu")
      spec.feature = FeatureMap::Relu;
    else if (v == "taylor2")
      spec.feature = FeatureMap::Taylor2;
    else
      return badValue(v);
    return true;
  }
  if (key == "decay") {
    spec.decayValue = 0;
    if (v == "none") {
      spec.decay = DecayKind::None;
      return true;
    }
    if (v == "alibi") {
      spec.decay = DecayKind::Alibi;
      return true;
    }
    spec.decay = DecayKind::Constant;
    return getFloat(v, spec.decayValue);
  }
  if (key == "state") {
    if (v == "in" || v == "out" || v == "inout" || v == "none") {
      spec.stateIn = v == "in" || v == "inout";
      spec.stateOut = v == "out" || v == "inout";
      return true;
    }
    return badValue(v);
  }
  if (key == "tile") {
    if (v.find('x') == std::string::npos)
      return badValue(v);
    if (!parsePair(v, spec.blockQ, spec.blockKV))
      return badNumber(v);
    return true;
  }
  if (key == "warps")
    return getInt(v, spec.warps);
  if (key == "stages")
    return getInt(v, spec.stages);
  if (key == "pack_gqa") {
    if (v != "0" && v != "1")
      return badValue(v);
    spec.packGqa = v == "1";
    return true;
  }
  if (key == "schedule") {
    spec.scheduleParam = 0;
    if (v == "auto")
      spec.schedule = ScheduleKind::Auto;
    else if (v == "flash")
      spec.schedule = ScheduleKind::Flash;
    else if (v.rfind("split_kv:", 0) == 0) {
      spec.schedule = ScheduleKind::SplitKV;
      return getInt(v.substr(9), spec.scheduleParam);
    } else if (v.rfind("stream_k:", 0) == 0) {
      spec.schedule = ScheduleKind::StreamK;
      return getInt(v.substr(9), spec.scheduleParam);
    } else
      return badValue(v);
    return true;
  }
  return fail("unknown key '" + key + "'");
}

bool SpecParser::parseHeads(const std::string &v) {
  std::vector<std::string> p = split(v, ':');
  // Presets: <name>:H (gqa:H:G). H is the base head count of the preset.
  struct Preset {
    const char *name;
    HeadPreset preset;
  };
  static const Preset presets[] = {
      {"mha", HeadPreset::MHA},   {"gqa", HeadPreset::GQA},
      {"mqa", HeadPreset::MQA},   {"sqa", HeadPreset::SQA},
      {"ssqa", HeadPreset::SSQA}, {"xsqa", HeadPreset::XSQA}};
  for (const Preset &pr : presets) {
    if (p[0] != pr.name)
      continue;
    size_t want = pr.preset == HeadPreset::GQA ? 3 : 2;
    if (p.size() != want)
      return fail(std::string("heads preset '") + pr.name + "' expects " +
                  (want == 3 ? "gqa:H:G" : std::string(pr.name) + ":H") +
                  ", got '" + v + "'");
    int64_t h = 0, g = 0;
    if (!getInt(p[1], h) || (want == 3 && !getInt(p[2], g)))
      return false;
    // The SQA family divides H; a remainder would silently change the ratio.
    int64_t div = 1;
    switch (pr.preset) {
    case HeadPreset::SQA:
    case HeadPreset::XSQA:
      div = 4;
      break;
    case HeadPreset::SSQA:
      div = 2;
      break;
    default:
      break;
    }
    if (h < 1 || h % div != 0)
      return fail("heads preset '" + std::string(pr.name) +
                  "' needs a base H >= 1 divisible by " + std::to_string(div) +
                  ", got " + std::to_string(h));
    spec.headPreset = pr.preset;
    spec.headBase = h;
    switch (pr.preset) {
    case HeadPreset::MHA:
      spec.hq = spec.hk = spec.hv = h;
      break;
    case HeadPreset::GQA:
      spec.hq = h;
      spec.hk = spec.hv = g;
      break;
    case HeadPreset::MQA:
      spec.hq = h;
      spec.hk = spec.hv = 1;
      break;
    case HeadPreset::SQA:
      spec.hq = h / 2;
      spec.hk = spec.hv = h / 4;
      break;
    case HeadPreset::SSQA:
      spec.hq = spec.hk = spec.hv = h / 2;
      break;
    case HeadPreset::XSQA:
      spec.hq = spec.hk = spec.hv = h / 4;
      break;
    case HeadPreset::Custom:
      break;
    }
    return true;
  }
  if (p.size() > 3)
    return badValue(v);
  spec.headPreset = HeadPreset::Custom;
  spec.headBase = 0;
  if (!getInt(p[0], spec.hq))
    return false;
  spec.hk = spec.hq;
  if (p.size() >= 2 && !getInt(p[1], spec.hk))
    return false;
  spec.hv = spec.hk;
  if (p.size() == 3 && !getInt(p[2], spec.hv))
    return false;
  return true;
}

bool SpecParser::parseMaskPart(const std::string &part, MaskSpec &m,
                               bool &sawNone) {
  std::vector<std::string> p = split(part, ':');
  const std::string &head = p[0];
  auto arity = [&](size_t lo, size_t hi) {
    if (p.size() < lo || p.size() > hi)
      return fail("bad mask part '" + part + "'");
    return true;
  };
  if (head == "none") {
    if (!arity(1, 1))
      return false;
    sawNone = true;
    return true;
  }
  if (head == "causal" || head == "causal-topleft") {
    if (!arity(1, 1))
      return false;
    if (m.causal != CausalAlign::None)
      return fail("mask part '" + part + "' repeats causal");
    m.causal =
        head == "causal" ? CausalAlign::BottomRight : CausalAlign::TopLeft;
    return true;
  }
  if (head == "window") {
    if (!arity(2, 3))
      return false;
    if (m.hasWindow)
      return fail("mask part '" + part + "' repeats window");
    m.hasWindow = true;
    m.windowRight = 0;
    return getInt(p[1], m.windowLeft) &&
           (p.size() == 2 || getInt(p[2], m.windowRight));
  }
  if (head == "sink") {
    if (!arity(2, 2))
      return false;
    if (m.sink != 0)
      return fail("mask part '" + part + "' repeats sink");
    return getInt(p[1], m.sink);
  }
  if (head == "document") {
    if (!arity(1, 1))
      return false;
    m.document = true;
    return true;
  }
  if (head == "blocks" || head == "blockmask") {
    bool isStatic = head == "blocks";
    if (!arity(isStatic ? 3 : 2, isStatic ? 3 : 2))
      return false;
    int64_t bq, bk;
    if (p[1].find('x') == std::string::npos)
      return fail("bad block size '" + p[1] + "' (expected BQxBK)");
    if (!parsePair(p[1], bq, bk))
      return badNumber(p[1]);
    // blocks and blockmask share one block size in MaskSpec.
    if ((m.blockQ != 0 || m.blockKV != 0) &&
        (m.blockQ != bq || m.blockKV != bk))
      return fail("mask part '" + part + "' uses a block size different from " +
                  std::to_string(m.blockQ) + "x" + std::to_string(m.blockKV));
    m.blockQ = bq;
    m.blockKV = bk;
    if (!isStatic) {
      if (m.runtimeBlocks)
        return fail("mask part '" + part + "' repeats blockmask");
      m.runtimeBlocks = true;
      return true;
    }
    if (!m.blockLayout.empty())
      return fail("mask part '" + part + "' repeats blocks");
    std::vector<std::string> rows = split(p[2], '/');
    m.blockRows = static_cast<int64_t>(rows.size());
    m.blockCols = static_cast<int64_t>(rows[0].size());
    for (const std::string &r : rows) {
      if (r.empty() || static_cast<int64_t>(r.size()) != m.blockCols)
        return fail("block layout '" + p[2] +
                    "' needs rows of equal, non-zero length");
      for (char c : r) {
        if (c != '0' && c != '1')
          return fail("block layout '" + p[2] + "' may hold only 0 and 1");
        m.blockLayout.push_back(c == '1');
      }
    }
    return true;
  }
  return fail("unknown mask part '" + part + "'");
}

bool SpecParser::parseMask(const std::string &v, MaskSpec &m) {
  m = MaskSpec();
  bool sawNone = false;
  std::vector<std::string> parts = split(v, '+');
  for (const std::string &part : parts) {
    if (part.empty())
      return fail("empty mask part in '" + v + "'");
    if (!parseMaskPart(part, m, sawNone))
      return false;
  }
  if (sawNone && parts.size() != 1)
    return fail("mask 'none' cannot be combined in '" + v + "'");
  return true;
}

bool SpecParser::parsePerHead(const std::string &v) {
  size_t close = v.find(']');
  if (close == std::string::npos)
    return fail("missing ']' in '" + v + "'");
  std::string body = v.substr(8, close - 8);
  std::string rest = v.substr(close + 1);
  if (body.empty())
    return fail("perhead needs at least one pattern");
  spec.perHead.clear();
  spec.mask = MaskSpec();
  for (const std::string &pat : split(body, ';')) {
    MaskSpec m;
    if (pat.empty())
      return fail("empty perhead pattern in '" + v + "'");
    if (!parseMask(pat, m))
      return false;
    spec.perHead.push_back(m);
  }
  spec.perHeadAssign.clear();
  defaultAssign = rest.empty();
  if (rest.empty())
    return true;
  if (rest[0] != '@' || rest.size() == 1)
    return fail("expected '@a,b,...' after perhead[...], got '" + rest + "'");
  for (const std::string &s : split(rest.substr(1), ',')) {
    int64_t idx;
    if (!getInt(s, idx))
      return false;
    spec.perHeadAssign.push_back(idx);
  }
  return true;
}

bool SpecParser::parseScore(const std::string &v) {
  spec.softcap = 0;
  spec.alibi = spec.bias = false;
  std::vector<std::string> parts = split(v, '+'), kinds;
  for (const std::string &part : parts) {
    // As for masks: each part once, and 'none' alone.
    std::string kind = part.substr(0, part.find(':'));
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end())
      return fail("score part '" + kind + "' given twice in '" + v + "'");
    kinds.push_back(kind);
    if (part == "none") {
      if (parts.size() != 1)
        return fail("score 'none' cannot be combined in '" + v + "'");
      continue;
    }
    if (part == "alibi")
      spec.alibi = true;
    else if (part == "bias")
      spec.bias = true;
    else if (part.rfind("softcap:", 0) == 0) {
      if (!getFloat(part.substr(8), spec.softcap))
        return false;
      if (spec.softcap <= 0)
        return fail("softcap must be > 0, got '" + part.substr(8) + "'");
    } else
      return fail("unknown score part '" + part + "'");
  }
  return true;
}

} // namespace

bool mlir::attn::parseSpec(const std::string &text, AttentionSpec &out,
                           std::string &error) {
  AttentionSpec spec;
  error.clear();
  SpecParser parser(spec, error);
  if (!parser.parse(text))
    return false;
  out = std::move(spec);
  return true;
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

std::string mlir::attn::printMask(const MaskSpec &m) {
  std::vector<std::string> parts;
  if (m.causal == CausalAlign::BottomRight)
    parts.push_back("causal");
  else if (m.causal == CausalAlign::TopLeft)
    parts.push_back("causal-topleft");
  if (m.hasWindow) {
    std::string w = "window:" + std::to_string(m.windowLeft);
    if (m.windowRight != 0)
      w += ":" + std::to_string(m.windowRight);
    parts.push_back(w);
  }
  if (m.sink != 0)
    parts.push_back("sink:" + std::to_string(m.sink));
  if (m.document)
    parts.push_back("document");
  std::string bs = std::to_string(m.blockQ) + "x" + std::to_string(m.blockKV);
  if (!m.blockLayout.empty()) {
    std::string b = "blocks:" + bs + ":";
    int64_t cols = m.blockCols > 0 ? m.blockCols
                                   : static_cast<int64_t>(m.blockLayout.size());
    for (size_t i = 0; i < m.blockLayout.size(); ++i) {
      if (i != 0 && static_cast<int64_t>(i) % cols == 0)
        b += "/";
      b += m.blockLayout[i] ? '1' : '0';
    }
    parts.push_back(b);
  }
  if (m.runtimeBlocks)
    parts.push_back("blockmask:" + bs);
  if (parts.empty())
    return "none";
  std::string s = parts[0];
  for (size_t i = 1; i < parts.size(); ++i)
    s += "+" + parts[i];
  return s;
}

namespace {
/// `a` or `a:b` (seq, dim, heads).
std::string pairOrOne(int64_t a, int64_t b) {
  return a == b ? std::to_string(a)
                : std::to_string(a) + ":" + std::to_string(b);
}
} // namespace

std::string mlir::attn::printSpec(const AttentionSpec &s) {
  std::string out;
  auto add = [&](const std::string &w) {
    if (!out.empty())
      out += ' ';
    out += w;
  };
  bool linear = s.kind == OpKind::Linear;
  add(linear ? "kind=linear" : "kind=softmax");
  if (!s.name.empty())
    add("name=" + s.name);
  add("batch=" + std::to_string(s.batch));

  std::string heads;
  std::string base = std::to_string(s.headBase);
  switch (s.headPreset) {
  case HeadPreset::MHA:
    heads = "mha:" + base;
    break;
  case HeadPreset::GQA:
    heads = "gqa:" + base + ":" + std::to_string(s.hk);
    break;
  case HeadPreset::MQA:
    heads = "mqa:" + base;
    break;
  case HeadPreset::SQA:
    heads = "sqa:" + base;
    break;
  case HeadPreset::SSQA:
    heads = "ssqa:" + base;
    break;
  case HeadPreset::XSQA:
    heads = "xsqa:" + base;
    break;
  case HeadPreset::Custom:
    heads = pairOrOne(s.hq, s.hk);
    if (s.hv != s.hk)
      heads = std::to_string(s.hq) + ":" + std::to_string(s.hk) + ":" +
              std::to_string(s.hv);
    break;
  }
  add("heads=" + heads);
  add("seq=" + pairOrOne(s.sq, s.skv));
  add("dim=" + pairOrOne(s.dqk, s.dv));
  add(std::string("dtype=") + toString(s.dtype));

  if (linear) {
    if (!s.causal)
      add("mask=none");
  } else if (!s.perHead.empty()) {
    std::string m = "mask=perhead[";
    for (size_t i = 0; i < s.perHead.size(); ++i)
      m += (i ? ";" : "") + printMask(s.perHead[i]);
    m += "]";
    // The default round-robin assignment is implied; print any other.
    bool isDefault = true;
    for (size_t h = 0; h < s.perHeadAssign.size(); ++h)
      if (s.perHeadAssign[h] != static_cast<int64_t>(h % s.perHead.size()))
        isDefault = false;
    if (static_cast<int64_t>(s.perHeadAssign.size()) != s.hq)
      isDefault = false;
    if (!isDefault && !s.perHeadAssign.empty()) {
      m += "@";
      for (size_t h = 0; h < s.perHeadAssign.size(); ++h)
        m += (h ? "," : "") + std::to_string(s.perHeadAssign[h]);
    }
    add(m);
  } else if (!s.mask.isNone()) {
    add("mask=" + printMask(s.mask));
  }

  std::vector<std::string> score;
  if (s.softcap != 0)
    score.push_back("softcap:" + formatDouble(s.softcap));
  if (s.alibi)
    score.push_back("alibi");
  if (s.bias)
    score.push_back("bias");
  if (!score.empty()) {
    std::string w = "score=" + score[0];
    for (size_t i = 1; i < score.size(); ++i)
      w += "+" + score[i];
    add(w);
  }
  if (s.scale)
    add("scale=" + formatDouble(*s.scale));
  if (linear) {
    if (s.normSum)
      add("norm=sum");
  } else if (s.norm == NormKind::Sigmoid) {
    add(s.sigmoidBias == 0 ? std::string("norm=sigmoid")
                           : "norm=sigmoid:" + formatDouble(s.sigmoidBias));
  }
  if (s.gate == GateKind::Elementwise)
    add("gate=1");
  else if (s.gate == GateKind::PerHead)
    add("gate=head");
  if (s.lse)
    add("lse=1");

  if (s.feature == FeatureMap::Elu1)
    add("feature=elu1");
  else if (s.feature == FeatureMap::Relu)
    add("feature=relu");
  else if (s.feature == FeatureMap::Taylor2)
    add("feature=taylor2");
  if (s.decay == DecayKind::Alibi)
    add("decay=alibi");
  else if (s.decay == DecayKind::Constant)
    add("decay=" + formatDouble(s.decayValue));
  if (s.stateIn || s.stateOut)
    add(std::string("state=") +
        (s.stateIn && s.stateOut ? "inout" : s.stateIn ? "in" : "out"));

  if (s.blockQ != 0 || s.blockKV != 0)
    add("tile=" + std::to_string(s.blockQ) + "x" + std::to_string(s.blockKV));
  if (s.warps != 0)
    add("warps=" + std::to_string(s.warps));
  if (s.stages != 0)
    add("stages=" + std::to_string(s.stages));
  switch (s.schedule) {
  case ScheduleKind::Auto:
    break;
  case ScheduleKind::Flash:
    add("schedule=flash");
    break;
  case ScheduleKind::SplitKV:
    add("schedule=split_kv:" + std::to_string(s.scheduleParam));
    break;
  case ScheduleKind::StreamK:
    add("schedule=stream_k:" + std::to_string(s.scheduleParam));
    break;
  }
  if (s.packGqa)
    add(std::string("pack_gqa=") + (*s.packGqa ? "1" : "0"));
  return out;
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {

std::string str(int64_t v) { return std::to_string(v); }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Checks one mask pattern; `where` prefixes the message ("mask", "perhead
/// pattern 1").
std::string validateMask(const AttentionSpec &s, const MaskSpec &m,
                         const std::string &where) {
  if (m.hasWindow && (m.windowLeft < 0 || m.windowRight < 0))
    return where + ": window sizes must be >= 0, got window:" +
           str(m.windowLeft) + ":" + str(m.windowRight);
  if (m.sink < 0)
    return where + ": sink must be >= 0, got " + str(m.sink);
  bool blocks = !m.blockLayout.empty() || m.runtimeBlocks;
  if (!blocks)
    return "";
  if (m.blockQ < 1 || m.blockKV < 1)
    return where + ": block size must be >= 1, got " + str(m.blockQ) + "x" +
           str(m.blockKV);
  if (m.blockLayout.empty())
    return "";
  int64_t rows = ceilDiv(s.sq, m.blockQ), cols = ceilDiv(s.skv, m.blockKV);
  if (m.blockRows * m.blockCols != static_cast<int64_t>(m.blockLayout.size()))
    return where + ": block layout holds " + str(m.blockLayout.size()) +
           " entries, not " + str(m.blockRows) + "x" + str(m.blockCols);
  if (m.blockRows != rows || m.blockCols != cols)
    return where + ": block layout is " + str(m.blockRows) + "x" +
           str(m.blockCols) + " but seq=" + str(s.sq) + ":" + str(s.skv) +
           " with blocks " + str(m.blockQ) + "x" + str(m.blockKV) + " needs " +
           str(rows) + "x" + str(cols);
  for (uint8_t b : m.blockLayout)
    if (b > 1)
      return where + ": block layout entries must be 0 or 1";
  return "";
}

std::string validateSoftmaxOnly(const AttentionSpec &s) {
  if (!s.mask.isNone() || !s.perHead.empty())
    return "kind=linear takes only mask=causal|none, not '" +
           (s.perHead.empty() ? printMask(s.mask) : std::string("perhead")) +
           "'";
  if (s.softcap != 0 || s.alibi || s.bias)
    return "kind=linear does not support score modifications (softcap, "
           "alibi, bias)";
  if (s.norm != NormKind::Softmax)
    return "kind=linear takes norm=sum|none, not sigmoid";
  if (s.gate != GateKind::None)
    return "kind=linear does not support gate";
  if (s.lse)
    return "kind=linear does not support lse";
  return "";
}

} // namespace

std::string mlir::attn::validateSpec(const AttentionSpec &s) {
  struct Size {
    const char *name;
    int64_t v, max;
  };
  // Upper bounds: head counts and dims far beyond what a kernel tiles, and
  // lengths beyond 32-bit positions, are typos, not workloads.
  const int64_t kMaxCount = int64_t(1) << 31, kMaxHead = int64_t(1) << 16;
  for (const Size &sz :
       {Size{"batch", s.batch, kMaxCount}, Size{"Hq", s.hq, kMaxHead},
        Size{"Hk", s.hk, kMaxHead}, Size{"Hv", s.hv, kMaxHead},
        Size{"Sq", s.sq, kMaxCount}, Size{"Skv", s.skv, kMaxCount},
        Size{"Dqk", s.dqk, kMaxHead}, Size{"Dv", s.dv, kMaxHead}}) {
    if (sz.v < 1)
      return std::string(sz.name) + " must be >= 1, got " + str(sz.v);
    if (sz.v > sz.max)
      return std::string(sz.name) + " must be <= " + str(sz.max) + ", got " +
             str(sz.v);
  }
  if (s.hq % s.hk != 0 || s.hq % s.hv != 0)
    return "Hq=" + str(s.hq) + " must be a multiple of Hk=" + str(s.hk) +
           " and Hv=" + str(s.hv);
  if (!s.name.empty() && !isIdent(s.name))
    return "name '" + s.name + "' is not an identifier";

  // A preset must describe the head counts it claims, or printSpec would
  // print something that parses to different counts.
  if (s.headPreset != HeadPreset::Custom) {
    int64_t h = s.headBase, eq = 0, ek = 0, ev = 0;
    switch (s.headPreset) {
    case HeadPreset::MHA:
      eq = ek = ev = h;
      break;
    case HeadPreset::GQA:
      eq = h, ek = ev = s.hk;
      break;
    case HeadPreset::MQA:
      eq = h, ek = ev = 1;
      break;
    case HeadPreset::SQA:
      eq = h / 2, ek = ev = h / 4;
      break;
    case HeadPreset::SSQA:
      eq = ek = ev = h / 2;
      break;
    case HeadPreset::XSQA:
      eq = ek = ev = h / 4;
      break;
    case HeadPreset::Custom:
      break;
    }
    if (eq != s.hq || ek != s.hk || ev != s.hv)
      return "head preset with base H=" + str(h) + " implies heads " +
             str(eq) + ":" + str(ek) + ":" + str(ev) + ", not " + str(s.hq) +
             ":" + str(s.hk) + ":" + str(s.hv);
  }

  // The op's rule: a zero scale would make every score 0.
  if (s.scale && (!std::isfinite(*s.scale) || *s.scale == 0))
    return "scale must be finite and non-zero, got " + std::to_string(*s.scale);
  if (s.blockQ < 0 || s.blockKV < 0 ||
      ((s.blockQ != 0 || s.blockKV != 0) && (s.blockQ < 1 || s.blockKV < 1)))
    return "tile sizes must be > 0, got tile=" + str(s.blockQ) + "x" +
           str(s.blockKV);
  // 0 leaves the choice to the compiler, so only negatives are wrong.
  if (s.warps < 0)
    return "warps must be >= 1 (0 = compiler's choice), got " + str(s.warps);
  if (s.stages < 0)
    return "stages must be >= 1 (0 = compiler's choice), got " +
           str(s.stages);
  // The rules of #attn.tiling, so that a spec never builds an invalid one.
  auto pow2 = [](int64_t v, int64_t max) {
    return v >= 1 && v <= max && (v & (v - 1)) == 0;
  };
  if ((s.blockQ != 0 || s.blockKV != 0) &&
      (!pow2(s.blockQ, 512) ||
       !(pow2(s.blockKV, 512) || (s.blockKV % 16 == 0 && s.blockKV <= 512))))
    return "tile=QxKV takes a power of two Q and a power of two or multiple "
           "of 16 KV in [1, 512], got tile=" +
           str(s.blockQ) + "x" + str(s.blockKV);
  if (s.warps != 0 && !pow2(s.warps, 16))
    return "warps must be 1, 2, 4, 8 or 16, got " + str(s.warps);
  if (s.stages > 8)
    return "stages must be in [1, 8], got " + str(s.stages);
  if ((s.schedule == ScheduleKind::SplitKV ||
       s.schedule == ScheduleKind::StreamK) &&
      s.scheduleParam < 1)
    return std::string(s.schedule == ScheduleKind::SplitKV ? "split_kv"
                                                           : "stream_k") +
           " count must be >= 1, got " + str(s.scheduleParam);
  // The rules of the op's pack_gqa attribute.
  if (s.packGqa.value_or(false)) {
    if (s.kind == OpKind::Linear)
      return "pack_gqa is a choice of softmax attention kernels";
    if (s.headGroup() < 2)
      return "pack_gqa needs query heads that share a key and value head "
             "(Hq / max(Hk, Hv) > 1), got heads=" + str(s.hq) + ":" +
             str(s.hk) + ":" + str(s.hv);
    if (!s.perHead.empty())
      return "pack_gqa needs one mask for every head, not per-head masks";
    if (!s.mask.blockLayout.empty() || s.mask.runtimeBlocks)
      return "pack_gqa cannot take a block-sparse mask: its blocks are "
             "indexed by query tile";
  }

  if (s.kind == OpKind::Linear) {
    if (s.hq != s.hk || s.hq != s.hv)
      return "kind=linear needs Hq == Hk == Hv, got " + str(s.hq) + ":" +
             str(s.hk) + ":" + str(s.hv);
    if (s.sq != s.skv)
      return "kind=linear needs Sq == Skv, got " + str(s.sq) + ":" +
             str(s.skv);
    std::string e = validateSoftmaxOnly(s);
    if (!e.empty())
      return e;
    if (s.decay == DecayKind::Constant &&
        !(s.decayValue > 0 && s.decayValue <= 1))
      return "decay must be in (0, 1], got " + formatDouble(s.decayValue);
    if (s.decay != DecayKind::None && !s.causal)
      return "decay needs mask=causal";
    if ((s.stateIn || s.stateOut) && !s.causal)
      return "state in/out needs mask=causal";
    if (s.schedule == ScheduleKind::StreamK)
      return "kind=linear takes schedule=auto|flash|split_kv, not stream_k";
    return "";
  }

  // Softmax attention.
  if (s.feature != FeatureMap::Identity || s.decay != DecayKind::None ||
      s.normSum || s.stateIn || s.stateOut)
    return "feature, decay, norm=sum and state are kind=linear only";
  if (s.softcap < 0 || !std::isfinite(s.softcap))
    return "softcap must be > 0, got " + formatDouble(s.softcap);
  if (!std::isfinite(s.sigmoidBias))
    return "sigmoid bias must be finite";
  if (s.lse && s.norm != NormKind::Softmax)
    return "lse=1 needs norm=softmax (sigmoid has no row normalizer)";

  if (s.perHead.empty()) {
    if (!s.perHeadAssign.empty())
      return "per-head assignment given without perhead patterns";
    return validateMask(s, s.mask, "mask");
  }
  if (!s.mask.isNone())
    return "mask and perhead patterns are exclusive";
  const MaskSpec *rt = nullptr;
  for (size_t i = 0; i < s.perHead.size(); ++i) {
    std::string e =
        validateMask(s, s.perHead[i], "perhead pattern " + str(i));
    if (!e.empty())
      return e;
    const MaskSpec &m = s.perHead[i];
    if (!m.runtimeBlocks)
      continue;
    // One runtime block mask operand serves all heads: one block size.
    if (rt && (rt->blockQ != m.blockQ || rt->blockKV != m.blockKV))
      return "perhead patterns use runtime block sizes " + str(rt->blockQ) +
             "x" + str(rt->blockKV) + " and " + str(m.blockQ) + "x" +
             str(m.blockKV) + "; they must agree";
    rt = &m;
  }
  if (!s.perHeadAssign.empty()) {
    if (static_cast<int64_t>(s.perHeadAssign.size()) != s.hq)
      return "per-head assignment has " + str(s.perHeadAssign.size()) +
             " entries, Hq=" + str(s.hq) + " needs one per query head";
    for (size_t h = 0; h < s.perHeadAssign.size(); ++h)
      if (s.perHeadAssign[h] < 0 ||
          s.perHeadAssign[h] >= static_cast<int64_t>(s.perHead.size()))
        return "per-head assignment of head " + str(h) + " is " +
               str(s.perHeadAssign[h]) + ", not in [0, " +
               str(s.perHead.size()) + ")";
  }
  return "";
}
