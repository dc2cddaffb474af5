//===- Reference.cpp - fp64 reference of attention ------------------------===//
//
// Straight-from-the-definition evaluation: for each query row all scores are
// materialized, then normalized in a second pass. Linear attention sums the
// quadratic form sum_s lambda^(t-s) (phi(q_t).phi(k_s)) v_s directly rather
// than running the recurrence, so it checks recurrent/chunked kernels
// independently. Everything is fp64.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// RefTensor
//===----------------------------------------------------------------------===//

RefTensor::RefTensor(std::vector<int64_t> s, double fill)
    : shape(std::move(s)) {
  // A negative dimension (from an invalid spec) gives an empty tensor rather
  // than a huge allocation.
  data.assign(static_cast<size_t>(std::max<int64_t>(numel(), 0)), fill);
}

int64_t RefTensor::numel() const {
  if (shape.empty())
    return data.empty() ? 0 : 1;
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t RefTensor::offset(const std::vector<int64_t> &index) const {
  int64_t off = 0;
  for (size_t i = 0; i < index.size() && i < shape.size(); ++i)
    off = off * shape[i] + index[i];
  return off;
}

//===----------------------------------------------------------------------===//
// Shapes and input checks
//===----------------------------------------------------------------------===//

namespace {
/// ceil(a / b); 0 for the non-positive block sizes of invalid specs, which
/// callers reach only before validation.
int64_t ceilDiv(int64_t a, int64_t b) { return b > 0 ? (a + b - 1) / b : 0; }

std::string shapeStr(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t product(const std::vector<int64_t> &s) {
  if (s.empty())
    return 0;
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
} // namespace

IOShapes mlir::attn::ioShapes(const AttentionSpec &s) {
  IOShapes r;
  r.q = {s.batch, s.hq, s.sq, s.dqk};
  r.k = {s.batch, s.hk, s.skv, s.dqk};
  r.v = {s.batch, s.hv, s.skv, s.dv};
  r.out = {s.batch, s.hq, s.sq, s.dv};
  if (s.kind == OpKind::Linear) {
    // The state carries the normalizer as an extra value column.
    std::vector<int64_t> state = {s.batch, s.hq, s.featureDim(),
                                  s.dv + (s.normSum ? 1 : 0)};
    if (s.stateIn)
      r.stateIn = state;
    if (s.stateOut)
      r.stateOut = state;
    return r;
  }
  if (s.gate == GateKind::Elementwise)
    r.gate = {s.batch, s.hq, s.sq, s.dv};
  else if (s.gate == GateKind::PerHead)
    r.gate = {s.batch, s.hq, s.sq, 1};
  if (s.bias)
    r.bias = {s.batch, s.hq, s.sq, s.skv};
  if (s.usesDocument())
    r.docIds = {s.batch, s.skv};
  if (const MaskSpec *m = s.runtimeBlockMask())
    r.blockMask = {s.batch, s.hq, ceilDiv(s.sq, m->blockQ),
                   ceilDiv(s.skv, m->blockKV)};
  if (s.lse)
    r.lse = {s.batch, s.hq, s.sq};
  return r;
}

std::string mlir::attn::checkInputs(const AttentionSpec &spec,
                                    const AttentionIO &io) {
  IOShapes want = ioShapes(spec);
  auto check = [](const char *name, const RefTensor &t,
                  const std::vector<int64_t> &shape) -> std::string {
    if (shape.empty()) {
      if (!t.empty())
        return std::string(name) + " given but the spec does not use it";
      return "";
    }
    if (t.shape != shape)
      return std::string(name) + " has shape " + shapeStr(t.shape) +
             ", expected " + shapeStr(shape);
    if (static_cast<int64_t>(t.data.size()) != product(shape))
      return std::string(name) + " holds " + std::to_string(t.data.size()) +
             " values, shape " + shapeStr(shape) + " needs " +
             std::to_string(product(shape));
    return "";
  };
  for (std::string e :
       {check("q", io.q, want.q), check("k", io.k, want.k),
        check("v", io.v, want.v), check("gate", io.gate, want.gate),
        check("bias", io.bias, want.bias),
        check("stateIn", io.stateIn, want.stateIn)})
    if (!e.empty())
      return e;
  if (static_cast<int64_t>(io.docIds.size()) != product(want.docIds))
    return "docIds holds " + std::to_string(io.docIds.size()) +
           " values, expected " + std::to_string(product(want.docIds)) +
           " (shape " + shapeStr(want.docIds) + ")";
  if (static_cast<int64_t>(io.blockMask.size()) != product(want.blockMask))
    return "blockMask holds " + std::to_string(io.blockMask.size()) +
           " values, expected " + std::to_string(product(want.blockMask)) +
           " (shape " + shapeStr(want.blockMask) + ")";
  return "";
}

//===----------------------------------------------------------------------===//
// Mask
//===----------------------------------------------------------------------===//

int64_t mlir::attn::absoluteQueryPos(const AttentionSpec &spec,
                                     const MaskSpec &mask, int64_t i) {
  return mask.causal == CausalAlign::TopLeft ? i : i + (spec.skv - spec.sq);
}

bool mlir::attn::maskKeeps(const AttentionSpec &spec, const MaskSpec &mask,
                           const AttentionIO &io, int64_t b, int64_t h,
                           int64_t i, int64_t j) {
  int64_t iAbs = absoluteQueryPos(spec, mask, i);
  bool keep = true;
  if (mask.causal != CausalAlign::None)
    keep = keep && j <= iAbs;
  if (mask.hasWindow)
    keep = keep && iAbs - mask.windowLeft <= j && j <= iAbs + mask.windowRight;
  if (mask.document && keep) {
    // A query position outside the key range belongs to no document.
    size_t base = static_cast<size_t>(b * spec.skv);
    if (iAbs < 0 || iAbs >= spec.skv || base + spec.skv > io.docIds.size())
      keep = false;
    else
      keep = io.docIds[base + j] == io.docIds[base + iAbs];
  }
  if (!mask.blockLayout.empty() && keep) {
    if (mask.blockQ <= 0 || mask.blockKV <= 0)
      return false;
    int64_t r = i / mask.blockQ, c = j / mask.blockKV;
    size_t idx = static_cast<size_t>(r * mask.blockCols + c);
    keep = r < mask.blockRows && c < mask.blockCols &&
           idx < mask.blockLayout.size() && mask.blockLayout[idx] != 0;
  }
  if (mask.runtimeBlocks && keep) {
    if (mask.blockQ <= 0 || mask.blockKV <= 0)
      return false;
    int64_t nbq = ceilDiv(spec.sq, mask.blockQ);
    int64_t nbk = ceilDiv(spec.skv, mask.blockKV);
    int64_t row = (b * spec.hq + h) * nbq + i / mask.blockQ;
    size_t idx = static_cast<size_t>(row * nbk + j / mask.blockKV);
    keep = idx < io.blockMask.size() && io.blockMask[idx] != 0;
  }
  // Sink tokens are OR-ed in (StreamingLLM), still never past the diagonal.
  if (mask.sink > 0 && j < mask.sink && j <= iAbs)
    keep = true;
  return keep;
}

//===----------------------------------------------------------------------===//
// Softmax attention
//===----------------------------------------------------------------------===//

namespace {

void runSoftmax(const AttentionSpec &s, const AttentionIO &io,
                ReferenceResult &res) {
  const double scale = s.effectiveScale();
  const double negInf = -std::numeric_limits<double>::infinity();
  const int64_t groupK = s.hq / s.hk, groupV = s.hq / s.hv;
  res.out = RefTensor({s.batch, s.hq, s.sq, s.dv});
  if (s.lse)
    res.lse = RefTensor({s.batch, s.hq, s.sq});

  std::vector<double> score(static_cast<size_t>(s.skv));
  std::vector<bool> keep(static_cast<size_t>(s.skv));
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.hq; ++h) {
      const MaskSpec &mask = s.maskForHead(h);
      const int64_t kh = h / groupK, vh = h / groupV;
      const double slope = s.alibi ? alibiSlope(h, s.hq) : 0.0;
      for (int64_t i = 0; i < s.sq; ++i) {
        const int64_t iAbs = absoluteQueryPos(s, mask, i);
        const double *q = &io.q.data[((b * s.hq + h) * s.sq + i) * s.dqk];
        // Pass 1: every score of the row, in the order of the conventions:
        // scale, softcap, ALiBi, bias, then the mask.
        double rowMax = negInf;
        for (int64_t j = 0; j < s.skv; ++j) {
          keep[j] = maskKeeps(s, mask, io, b, h, i, j);
          if (!keep[j])
            continue;
          const double *k = &io.k.data[((b * s.hk + kh) * s.skv + j) * s.dqk];
          double dot = 0;
          for (int64_t d = 0; d < s.dqk; ++d)
            dot += q[d] * k[d];
          double sc = scale * dot;
          if (s.softcap != 0)
            sc = s.softcap * std::tanh(sc / s.softcap);
          if (s.alibi)
            sc += -slope * std::fabs(static_cast<double>(iAbs - j));
          if (s.bias)
            sc += io.bias.data[((b * s.hq + h) * s.sq + i) * s.skv + j];
          score[j] = sc;
          rowMax = std::max(rowMax, sc);
        }

        // Pass 2: weights. A row with nothing kept (or only -inf scores)
        // produces O = 0 and LSE = -inf, never NaN.
        double *o = &res.out.data[((b * s.hq + h) * s.sq + i) * s.dv];
        double lse = negInf;
        if (s.norm == NormKind::Softmax) {
          if (rowMax != negInf) {
            double sum = 0;
            for (int64_t j = 0; j < s.skv; ++j)
              if (keep[j])
                sum += std::exp(score[j] - rowMax);
            for (int64_t j = 0; j < s.skv; ++j) {
              if (!keep[j])
                continue;
              double p = std::exp(score[j] - rowMax) / sum;
              const double *v =
                  &io.v.data[((b * s.hv + vh) * s.skv + j) * s.dv];
              for (int64_t d = 0; d < s.dv; ++d)
                o[d] += p * v[d];
            }
            lse = rowMax + std::log(sum);
          }
        } else {
          for (int64_t j = 0; j < s.skv; ++j) {
            if (!keep[j])
              continue;
            double p = sigmoid(score[j] + s.sigmoidBias);
            const double *v = &io.v.data[((b * s.hv + vh) * s.skv + j) * s.dv];
            for (int64_t d = 0; d < s.dv; ++d)
              o[d] += p * v[d];
          }
        }
        if (s.lse)
          res.lse.data[(b * s.hq + h) * s.sq + i] = lse;

        // Epilogue: output gate.
        if (s.gate != GateKind::None) {
          int64_t gd = s.gate == GateKind::Elementwise ? s.dv : 1;
          const double *g = &io.gate.data[((b * s.hq + h) * s.sq + i) * gd];
          for (int64_t d = 0; d < s.dv; ++d)
            o[d] *= sigmoid(g[gd == 1 ? 0 : d]);
        }
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Linear attention
//===----------------------------------------------------------------------===//

/// phi(x) for one row x of length d (already scaled when scale= is given).
std::vector<double> featureMap(FeatureMap f, const double *x, int64_t d) {
  std::vector<double> r;
  switch (f) {
  case FeatureMap::Identity:
    r.assign(x, x + d);
    break;
  case FeatureMap::Elu1:
    for (int64_t i = 0; i < d; ++i)
      r.push_back(x[i] > 0 ? x[i] + 1.0 : std::exp(x[i]));
    break;
  case FeatureMap::Relu:
    for (int64_t i = 0; i < d; ++i)
      r.push_back(x[i] > 0 ? x[i] : 0.0);
    break;
  case FeatureMap::Taylor2: {
    // [1, x, vec(x outer x) / sqrt(2)], so phi(q).phi(k) = 1 + qk + (qk)^2/2.
    const double invSqrt2 = 1.0 / std::sqrt(2.0);
    r.push_back(1.0);
    r.insert(r.end(), x, x + d);
    for (int64_t a = 0; a < d; ++a)
      for (int64_t c = 0; c < d; ++c)
        r.push_back(x[a] * x[c] * invSqrt2);
    break;
  }
  }
  return r;
}

void runLinear(const AttentionSpec &s, const AttentionIO &io,
               ReferenceResult &res) {
  const int64_t H = s.hq, S = s.sq, D = s.dqk, Dv = s.dv;
  const int64_t F = s.featureDim();
  const int64_t stateCols = Dv + (s.normSum ? 1 : 0);
  const bool scaled = s.scale.has_value();
  const double scale = s.effectiveScale();
  res.out = RefTensor({s.batch, H, S, Dv});
  if (s.stateOut)
    res.stateOut = RefTensor({s.batch, H, F, stateCols});

  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      double lambda = 1.0;
      if (s.decay == DecayKind::Constant)
        lambda = s.decayValue;
      else if (s.decay == DecayKind::Alibi)
        lambda = std::exp(-alibiSlope(h, H));

      // Feature maps of every q and k row of this head.
      std::vector<std::vector<double>> pq(S), pk(S);
      for (int64_t t = 0; t < S; ++t) {
        const double *q = &io.q.data[((b * H + h) * S + t) * D];
        std::vector<double> qs(q, q + D);
        if (scaled) // scale= multiplies q before the feature map.
          for (double &x : qs)
            x *= scale;
        pq[t] = featureMap(s.feature, qs.data(), D);
        pk[t] = featureMap(s.feature, &io.k.data[((b * H + h) * S + t) * D], D);
      }
      const double *state0 =
          s.stateIn ? &io.stateIn.data[(b * H + h) * F * stateCols] : nullptr;

      for (int64_t t = 0; t < S; ++t) {
        std::vector<double> num(Dv, 0.0);
        double den = 0;
        int64_t last = s.causal ? t : S - 1;
        for (int64_t u = 0; u <= last; ++u) {
          double w = 0;
          for (int64_t f = 0; f < F; ++f)
            w += pq[t][f] * pk[u][f];
          if (s.causal)
            w *= std::pow(lambda, static_cast<double>(t - u));
          const double *v = &io.v.data[((b * H + h) * S + u) * Dv];
          for (int64_t d = 0; d < Dv; ++d)
            num[d] += w * v[d];
          den += w;
        }
        // The initial state stands for the tokens before t = 0, so it has
        // decayed t + 1 times by step t.
        if (state0) {
          double decay = std::pow(lambda, static_cast<double>(t + 1));
          for (int64_t f = 0; f < F; ++f) {
            const double *row = state0 + f * stateCols;
            for (int64_t d = 0; d < Dv; ++d)
              num[d] += decay * pq[t][f] * row[d];
            if (s.normSum)
              den += decay * pq[t][f] * row[Dv];
          }
        }
        double *o = &res.out.data[((b * H + h) * S + t) * Dv];
        for (int64_t d = 0; d < Dv; ++d)
          o[d] = !s.normSum ? num[d] : den == 0 ? 0.0 : num[d] / den;
      }

      if (s.stateOut) {
        // state_{S-1} = lambda^S state0 + sum_s lambda^(S-1-s) phi(k_s)^T v_s,
        // the normalizer column with v replaced by 1.
        double *st = &res.stateOut.data[(b * H + h) * F * stateCols];
        for (int64_t f = 0; f < F; ++f) {
          for (int64_t c = 0; c < stateCols; ++c) {
            double acc = 0;
            if (state0)
              acc = std::pow(lambda, static_cast<double>(S)) *
                    state0[f * stateCols + c];
            for (int64_t u = 0; u < S; ++u) {
              double val =
                  c < Dv ? io.v.data[((b * H + h) * S + u) * Dv + c] : 1.0;
              acc += std::pow(lambda, static_cast<double>(S - 1 - u)) *
                     pk[u][f] * val;
            }
            st[f * stateCols + c] = acc;
          }
        }
      }
    }
  }
}

} // namespace

ReferenceResult mlir::attn::runReference(const AttentionSpec &spec,
                                         const AttentionIO &io) {
  ReferenceResult res;
  res.error = validateSpec(spec);
  if (res.error.empty())
    res.error = checkInputs(spec, io);
  if (!res.error.empty())
    return res;
  if (spec.kind == OpKind::Linear)
    runLinear(spec, io, res);
  else
    runSoftmax(spec, io, res);
  return res;
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

Comparison mlir::attn::compareTensors(const RefTensor &got,
                                      const RefTensor &want, double floor) {
  Comparison c;
  if (got.shape != want.shape || got.data.size() != want.data.size()) {
    c.error = "shape " + shapeStr(got.shape) + " differs from expected " +
              shapeStr(want.shape);
    return c;
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < got.data.size(); ++i) {
    double g = got.data[i], w = want.data[i];
    double abs, rel;
    if (std::isnan(g) || std::isnan(w) || std::isinf(g) || std::isinf(w)) {
      // Infinities (LSE of masked rows) must match exactly; NaN never does.
      abs = rel = (g == w) ? 0.0 : inf;
    } else {
      abs = std::fabs(g - w);
      rel = abs == 0 ? 0.0 : abs / std::max(std::fabs(w), floor);
    }
    c.maxAbsError = std::max(c.maxAbsError, abs);
    if (c.worstIndex < 0 || rel > c.maxRelError) {
      c.maxRelError = rel;
      c.worstIndex = static_cast<int64_t>(i);
    }
  }
  return c;
}
