//===- Json.h - Minimal JSON reader for bundle manifests --------*- C++ -*-===//
//
// A small recursive-descent JSON parser (RFC 8259, UTF-8 in and out, depth
// limited), enough for manifests; errors carry line and column, never abort.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JSON_H
#define ATTN_RUNTIME_JSON_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attn_rt {

struct JsonValue {
  enum Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Null;
  bool boolean = false;
  double number = 0;
  bool isInt = false; // a number written without fraction/exponent that fits int64
  int64_t integer = 0;
  std::string str;
  std::vector<JsonValue> items;                          // Array
  std::vector<std::pair<std::string, JsonValue>> fields; // Object, in order

  /// Member of an object, or null.
  const JsonValue *get(const std::string &key) const;
};

const char *jsonKindName(JsonValue::Kind k);

/// Parses `text` into `out`; returns "" or "line L, column C: message".
std::string parseJson(const std::string &text, JsonValue &out);

} // namespace attn_rt

#endif // ATTN_RUNTIME_JSON_H
