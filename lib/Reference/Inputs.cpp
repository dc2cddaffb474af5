//===- Inputs.cpp - Deterministic inputs and dtype helpers ----------------===//
//
// Random operands must be bit-identical on every platform and compiler (the
// e2e tests and the GPU check script compare against stored numbers), so this
// uses its own splitmix64 and integer arithmetic only, never <random>'s
// distributions, whose algorithms are implementation-defined.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// f16 / bf16
//===----------------------------------------------------------------------===//

uint16_t mlir::attn::f32ToF16Bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t a = x & 0x7fffffff;
  if (a >= 0x7f800000) // Inf, or NaN kept quiet.
    return sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0);
  if (a >= 0x477ff000) // >= 65520 rounds past the largest half, 65504.
    return sign | 0x7c00;
  if (a < 0x38800000) {
    // Below the smallest normal half 2^-14: the result is a multiple of
    // 2^-24; x * 2^24 is exact in double and rint rounds half to even. A
    // result of 0x400 is correctly the smallest normal.
    float af;
    std::memcpy(&af, &a, 4);
    return sign | static_cast<uint16_t>(std::rint(static_cast<double>(af) *
                                                  16777216.0));
  }
  uint32_t exp = (a >> 23) - 127 + 15;
  uint32_t mant = a & 0x7fffff;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  // Round to nearest even; a carry into the exponent is the right answer.
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h;
  return sign | static_cast<uint16_t>(h);
}

float mlir::attn::f16BitsToF32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  float r;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    r = static_cast<float>(std::ldexp(static_cast<double>(mant), -24));
    return sign ? -r : r;
  }
  uint32_t bits;
  if (exp == 31)
    bits = sign | 0x7f800000 | (mant << 13);
  else
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  std::memcpy(&r, &bits, 4);
  return r;
}

uint16_t mlir::attn::f32ToBF16Bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((x >> 16) | 0x40);
  // Round to nearest even on the dropped 16 bits (overflow gives inf).
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

float mlir::attn::bf16BitsToF32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

double mlir::attn::roundToDType(double x, DType t) {
  float f = static_cast<float>(x);
  switch (t) {
  case DType::F32:
    return f;
  case DType::F16:
    return f16BitsToF32(f32ToF16Bits(f));
  case DType::BF16:
    return bf16BitsToF32(f32ToBF16Bits(f));
  }
  return f;
}

RefTensor mlir::attn::castTo(const RefTensor &t, DType dtype) {
  RefTensor r = t;
  for (double &x : r.data)
    x = roundToDType(x, dtype);
  return r;
}

std::vector<float> mlir::attn::toF32(const RefTensor &t) {
  return std::vector<float>(t.data.begin(), t.data.end());
}

std::vector<uint16_t> mlir::attn::toF16Bits(const RefTensor &t) {
  std::vector<uint16_t> r;
  r.reserve(t.data.size());
  for (double x : t.data)
    r.push_back(f32ToF16Bits(static_cast<float>(x)));
  return r;
}

std::vector<uint16_t> mlir::attn::toBF16Bits(const RefTensor &t) {
  std::vector<uint16_t> r;
  r.reserve(t.data.size());
  for (double x : t.data)
    r.push_back(f32ToBF16Bits(static_cast<float>(x)));
  return r;
}

RefTensor mlir::attn::fromF32(const std::vector<int64_t> &shape,
                              const float *data) {
  RefTensor r(shape);
  for (size_t i = 0; i < r.data.size(); ++i)
    r.data[i] = data[i];
  return r;
}

RefTensor mlir::attn::fromF16Bits(const std::vector<int64_t> &shape,
                                  const uint16_t *data) {
  RefTensor r(shape);
  for (size_t i = 0; i < r.data.size(); ++i)
    r.data[i] = f16BitsToF32(data[i]);
  return r;
}

RefTensor mlir::attn::fromBF16Bits(const std::vector<int64_t> &shape,
                                   const uint16_t *data) {
  RefTensor r(shape);
  for (size_t i = 0; i < r.data.size(); ++i)
    r.data[i] = bf16BitsToF32(data[i]);
  return r;
}

//===----------------------------------------------------------------------===//
// Random inputs
//===----------------------------------------------------------------------===//

namespace {

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, fully specified.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform integer in [lo, hi] (the modulo bias is irrelevant here).
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() %
                                     static_cast<uint64_t>(hi - lo + 1));
  }

private:
  uint64_t state;
};

/// One independent stream per operand, so that the values of q do not depend
/// on whether the spec also has, say, a gate.
enum Stream : uint64_t { SQ = 1, SK, SV, SGate, SBias, SDoc, SBlock, SState };

SplitMix64 stream(uint64_t seed, Stream s) {
  SplitMix64 mix(seed ^ (static_cast<uint64_t>(s) * 0xd1342543de82ef95ULL));
  return SplitMix64(mix.next());
}

/// Values k/64 for integer k in [lo, hi]: exact in f32, f16 and bf16 because
/// |k| <= 128 needs at most 8 significant bits.
RefTensor gridTensor(const std::vector<int64_t> &shape, SplitMix64 rng,
                     int64_t lo, int64_t hi) {
  RefTensor t(shape);
  for (double &x : t.data)
    x = static_cast<double>(rng.range(lo, hi)) / 64.0;
  return t;
}

} // namespace

AttentionIO mlir::attn::makeRandomInputs(const AttentionSpec &spec,
                                         uint64_t seed) {
  AttentionIO io;
  // Shapes of an invalid spec may be negative or divide by zero.
  if (!validateSpec(spec).empty())
    return io;
  IOShapes sh = ioShapes(spec);
  io.q = gridTensor(sh.q, stream(seed, SQ), -64, 64);
  io.k = gridTensor(sh.k, stream(seed, SK), -64, 64);
  io.v = gridTensor(sh.v, stream(seed, SV), -64, 64);
  if (!sh.gate.empty())
    io.gate = gridTensor(sh.gate, stream(seed, SGate), -128, 128);
  if (!sh.bias.empty())
    io.bias = gridTensor(sh.bias, stream(seed, SBias), -64, 64);
  if (!sh.stateIn.empty()) {
    io.stateIn = gridTensor(sh.stateIn, stream(seed, SState), -64, 64);
    if (spec.normSum) {
      // The normalizer sums phi(k) over past tokens; keep it non-negative so
      // positive feature maps keep a positive denominator.
      int64_t cols = sh.stateIn.back();
      for (size_t i = cols - 1; i < io.stateIn.data.size(); i += cols)
        io.stateIn.data[i] = std::fabs(io.stateIn.data[i]);
    }
  }

  if (!sh.docIds.empty()) {
    // Sorted runs (packed sequences): each batch row starts at document 0.
    SplitMix64 rng = stream(seed, SDoc);
    int64_t maxRun = std::max<int64_t>(2, spec.skv / 2);
    for (int64_t b = 0; b < spec.batch; ++b) {
      int32_t id = 0;
      int64_t left = rng.range(1, maxRun);
      for (int64_t j = 0; j < spec.skv; ++j) {
        if (left == 0) {
          ++id;
          left = rng.range(1, maxRun);
        }
        io.docIds.push_back(id);
        --left;
      }
    }
  }

  if (!sh.blockMask.empty()) {
    // Random blocks, but keep the block holding the bottom-right diagonal of
    // each block row's last query so that causal rows keep some key.
    SplitMix64 rng = stream(seed, SBlock);
    const MaskSpec &m = *spec.runtimeBlockMask();
    int64_t nbq = sh.blockMask[2], nbk = sh.blockMask[3];
    for (int64_t bh = 0; bh < spec.batch * spec.hq; ++bh) {
      for (int64_t r = 0; r < nbq; ++r) {
        int64_t i = std::min((r + 1) * m.blockQ, spec.sq) - 1;
        int64_t j = std::min(std::max<int64_t>(i + spec.skv - spec.sq, 0),
                             spec.skv - 1);
        int64_t diag = j / m.blockKV;
        for (int64_t c = 0; c < nbk; ++c) {
          uint8_t bit = static_cast<uint8_t>(rng.next() >> 63);
          io.blockMask.push_back(c == diag ? 1 : bit);
        }
      }
    }
  }
  return io;
}
