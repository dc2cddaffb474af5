//===- Npy.cpp - NumPy .npy reader and writer -----------------------------===//
//
// The format (numpy/lib/format.py): magic "\x93NUMPY", major and minor version
// bytes, a little-endian header length (uint16 in 1.0, uint32 in 2.0/3.0),
// then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape':
// (...)} padded with spaces and ended by '\n', then the raw data. Bytes are
// decoded explicitly as little endian so the code is host-independent.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Npy.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

using namespace mlir::attn;

const char *mlir::attn::npyDescr(NpyDType t) {
  switch (t) {
  case NpyDType::F16:
    return "<f2";
  case NpyDType::F32:
    return "<f4";
  case NpyDType::F64:
    return "<f8";
  case NpyDType::I8:
    return "|i1";
  case NpyDType::U8:
    return "|u1";
  case NpyDType::I32:
    return "<i4";
  }
  return "?";
}

namespace {

size_t itemSize(NpyDType t) {
  switch (t) {
  case NpyDType::F16:
    return 2;
  case NpyDType::F32:
  case NpyDType::I32:
    return 4;
  case NpyDType::F64:
    return 8;
  case NpyDType::I8:
  case NpyDType::U8:
    return 1;
  }
  return 1;
}

bool dtypeFromDescr(const std::string &d, NpyDType &t) {
  // One-byte types have no byte order; NumPy writes '|', accept '<' too.
  if (d == "<f2")
    t = NpyDType::F16;
  else if (d == "<f4")
    t = NpyDType::F32;
  else if (d == "<f8")
    t = NpyDType::F64;
  else if (d == "|i1" || d == "<i1")
    t = NpyDType::I8;
  else if (d == "|u1" || d == "<u1")
    t = NpyDType::U8;
  else if (d == "<i4")
    t = NpyDType::I32;
  else
    return false;
  return true;
}

uint64_t readLE(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void writeLE(std::string &out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// Recursive-descent parser of the header dict; only the subset NumPy
/// writes (strings, True/False, tuples of non-negative integers).
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : s(text) {}

  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape,
             std::string &error);

private:
  void skipWs() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' ||
                              s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool eat(char c) {
    skipWs();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skipWs();
    return pos < s.size() && s[pos] == c;
  }
  bool parseString(std::string &out) {
    skipWs();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"'))
      return false;
    char q = s[pos++];
    size_t end = s.find(q, pos);
    if (end == std::string::npos)
      return false;
    out = s.substr(pos, end - pos);
    pos = end + 1;
    return true;
  }
  bool parseTuple(std::vector<int64_t> &out) {
    if (!eat('('))
      return false;
    out.clear();
    while (!eat(')')) {
      skipWs();
      size_t start = pos;
      uint64_t v = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return false;
      }
      if (pos == start)
        return false;
      if (pos < s.size() && s[pos] == 'L') // Python 2 long suffix.
        ++pos;
      out.push_back(static_cast<int64_t>(v));
      if (!eat(',') && !peek(')'))
        return false;
    }
    return true;
  }

  std::string s;
  size_t pos = 0;
};

bool HeaderParser::parse(std::string &descr, bool &fortran,
                         std::vector<int64_t> &shape, std::string &error) {
  bool haveDescr = false, haveFortran = false, haveShape = false;
  if (!eat('{')) {
    error = "header is not a dict";
    return false;
  }
  while (!eat('}')) {
    std::string key;
    if (!parseString(key) || !eat(':')) {
      error = "malformed header dict";
      return false;
    }
    if (key == "descr") {
      if (!parseString(descr)) {
        error = "'descr' is not a string (structured dtypes are unsupported)";
        return false;
      }
      haveDescr = true;
    } else if (key == "fortran_order") {
      skipWs();
      if (s.compare(pos, 4, "True") == 0) {
        fortran = true;
        pos += 4;
      } else if (s.compare(pos, 5, "False") == 0) {
        fortran = false;
        pos += 5;
      } else {
        error = "'fortran_order' is not True or False";
        return false;
      }
      haveFortran = true;
    } else if (key == "shape") {
      if (!parseTuple(shape)) {
        error = "'shape' is not a tuple of non-negative integers";
        return false;
      }
      haveShape = true;
    } else {
      error = "unexpected header key '" + key + "'";
      return false;
    }
    if (!eat(',') && !peek('}')) {
      error = "malformed header dict";
      return false;
    }
  }
  skipWs();
  if (pos != s.size()) {
    error = "trailing characters after the header dict";
    return false;
  }
  if (!haveDescr || !haveFortran || !haveShape) {
    error = "header lacks one of 'descr', 'fortran_order', 'shape'";
    return false;
  }
  return true;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string r = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    r += (i ? ", " : "") + std::to_string(shape[i]);
  return r + ")";
}

double decodeOne(const unsigned char *p, NpyDType t) {
  switch (t) {
  case NpyDType::F16:
    return f16BitsToF32(static_cast<uint16_t>(readLE(p, 2)));
  case NpyDType::F32: {
    uint32_t bits = static_cast<uint32_t>(readLE(p, 4));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case NpyDType::F64: {
    uint64_t bits = readLE(p, 8);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  case NpyDType::I8:
    return static_cast<int8_t>(p[0]);
  case NpyDType::U8:
    return p[0];
  case NpyDType::I32:
    return static_cast<int32_t>(static_cast<uint32_t>(readLE(p, 4)));
  }
  return 0;
}

/// Rounds to nearest and saturates into [lo, hi]; NaN becomes 0.
int64_t toInt(double x, int64_t lo, int64_t hi) {
  if (std::isnan(x))
    return 0;
  x = std::nearbyint(x);
  if (x <= static_cast<double>(lo))
    return lo;
  if (x >= static_cast<double>(hi))
    return hi;
  return static_cast<int64_t>(x);
}

void encodeOne(std::string &out, double x, NpyDType t) {
  switch (t) {
  case NpyDType::F16:
    writeLE(out, f32ToF16Bits(static_cast<float>(x)), 2);
    return;
  case NpyDType::F32: {
    float f = static_cast<float>(x);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    writeLE(out, bits, 4);
    return;
  }
  case NpyDType::F64: {
    uint64_t bits;
    std::memcpy(&bits, &x, 8);
    writeLE(out, bits, 8);
    return;
  }
  case NpyDType::I8:
    writeLE(out, static_cast<uint8_t>(static_cast<int8_t>(toInt(x, -128, 127))),
            1);
    return;
  case NpyDType::U8:
    writeLE(out, static_cast<uint64_t>(toInt(x, 0, 255)), 1);
    return;
  case NpyDType::I32:
    writeLE(out,
            static_cast<uint32_t>(static_cast<int32_t>(
                toInt(x, std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max()))),
            4);
    return;
  }
}

} // namespace

bool mlir::attn::parseNpy(const std::string &bytes, RefTensor &out,
                          std::string &error, NpyDType *dtypeOut) {
  const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  const size_t n = bytes.size();
  if (n < 6 || std::memcmp(p, "\x93NUMPY", 6) != 0) {
    error = "bad magic: not a .npy file";
    return false;
  }
  if (n < 8) {
    error = "truncated header";
    return false;
  }
  unsigned major = p[6];
  size_t lenBytes;
  if (major == 1)
    lenBytes = 2;
  else if (major == 2 || major == 3)
    lenBytes = 4;
  else {
    error = "unsupported .npy version " + std::to_string(major) + "." +
            std::to_string(p[7]);
    return false;
  }
  if (n < 8 + lenBytes) {
    error = "truncated header";
    return false;
  }
  size_t headerLen = static_cast<size_t>(readLE(p + 8, lenBytes));
  size_t dataStart = 8 + lenBytes + headerLen;
  if (headerLen > n || dataStart > n) {
    error = "truncated header: it claims " + std::to_string(headerLen) +
            " bytes, the file has " + std::to_string(n);
    return false;
  }

  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  HeaderParser hp(bytes.substr(8 + lenBytes, headerLen));
  if (!hp.parse(descr, fortran, shape, error)) {
    error = "malformed header: " + error;
    return false;
  }
  NpyDType dtype;
  if (!dtypeFromDescr(descr, dtype)) {
    error = "unsupported dtype '" + descr +
            "' (supported: <f2, <f4, <f8, <i4, |i1, |u1)";
    return false;
  }
  if (fortran) {
    error = "fortran_order=True is unsupported (C order only)";
    return false;
  }

  // Element count with overflow checks: a hostile shape must not wrap.
  const size_t item = itemSize(dtype);
  const size_t avail = n - dataStart;
  // count * d <= M iff count <= M / d, so the product never exceeds the
  // element capacity of the file; a zero dimension makes any shape empty.
  uint64_t count = 1;
  bool anyZero = false;
  for (int64_t d : shape)
    anyZero |= d == 0;
  for (int64_t d : shape) {
    if (anyZero) {
      count = 0;
      break;
    }
    if (count > (avail / item) / static_cast<uint64_t>(d)) {
      error = "truncated data: shape " + shapeString(shape) +
              " needs more than the " + std::to_string(avail) +
              " data bytes of the file";
      return false;
    }
    count *= static_cast<uint64_t>(d);
  }
  if (count * item > avail) {
    error = "truncated data: shape needs " + std::to_string(count * item) +
            " bytes, the file has " + std::to_string(avail);
    return false;
  }
  if (count * item < avail) {
    error = "trailing data: " + std::to_string(avail - count * item) +
            " bytes after the array";
    return false;
  }

  RefTensor t;
  t.shape = shape;
  t.data.resize(count);
  for (uint64_t i = 0; i < count; ++i)
    t.data[i] = decodeOne(p + dataStart + i * item, dtype);
  out = std::move(t);
  if (dtypeOut)
    *dtypeOut = dtype;
  return true;
}

bool mlir::attn::readNpy(const std::string &path, RefTensor &out,
                         std::string &error, NpyDType *dtype) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!parseNpy(ss.str(), out, error, dtype)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

std::string mlir::attn::serializeNpy(const RefTensor &t, NpyDType dtype) {
  std::string header = std::string("{'descr': '") + npyDescr(dtype) +
                       "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape.size(); ++i)
    header += (i ? ", " : "") + std::to_string(t.shape[i]);
  if (t.shape.size() == 1)
    header += ",";
  header += "), }";
  // Pad so the data starts 64-byte aligned, as NumPy does; '\n' ends it.
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ');
  header += '\n';

  std::string out("\x93NUMPY\x01\x00", 8);
  writeLE(out, header.size(), 2);
  out += header;
  for (double x : t.data)
    encodeOne(out, x, dtype);
  return out;
}

bool mlir::attn::writeNpy(const std::string &path, const RefTensor &t,
                          NpyDType dtype, std::string &error) {
  std::string bytes = serializeNpy(t, dtype);
  std::ofstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot open '" + path + "' for writing";
    return false;
  }
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    error = "write to '" + path + "' failed";
    return false;
  }
  return true;
}
