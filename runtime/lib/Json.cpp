//===- Json.cpp - Minimal JSON reader for bundle manifests ----------------===//

#include "Json.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace attn_rt {

const JsonValue *JsonValue::get(const std::string &key) const {
  if (kind != Object)
    return nullptr;
  for (const auto &f : fields)
    if (f.first == key)
      return &f.second;
  return nullptr;
}

const char *jsonKindName(JsonValue::Kind k) {
  switch (k) {
  case JsonValue::Null:
    return "null";
  case JsonValue::Bool:
    return "boolean";
  case JsonValue::Number:
    return "number";
  case JsonValue::String:
    return "string";
  case JsonValue::Array:
    return "array";
  case JsonValue::Object:
    return "object";
  }
  return "?";
}

namespace {

class Parser {
public:
  explicit Parser(const std::string &t) : text(t) {}

  std::string run(JsonValue &out) {
    skipSpace();
    if (!parseValue(out, 0))
      return where() + error;
    skipSpace();
    if (pos != text.size())
      return where() + "trailing characters after the JSON value";
    return "";
  }

private:
  const std::string &text;
  size_t pos = 0;
  std::string error;

  std::string where() const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < text.size(); ++i) {
      if (text[i] == '\n')
        ++line, col = 1;
      else
        ++col;
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col) + ": ";
  }
  bool fail(const std::string &msg) {
    error = msg;
    return false;
  }
  void skipSpace() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (text.compare(pos, n, word) != 0)
      return fail("invalid literal");
    pos += n;
    return true;
  }

  bool parseValue(JsonValue &v, int depth) {
    if (depth > 64)
      return fail("nesting deeper than 64");
    if (pos >= text.size())
      return fail("unexpected end of input");
    char c = text[pos];
    switch (c) {
    case '{':
      return parseObject(v, depth);
    case '[':
      return parseArray(v, depth);
    case '"':
      v.kind = JsonValue::String;
      return parseString(v.str);
    case 't':
      v.kind = JsonValue::Bool, v.boolean = true;
      return literal("true");
    case 'f':
      v.kind = JsonValue::Bool, v.boolean = false;
      return literal("false");
    case 'n':
      v.kind = JsonValue::Null;
      return literal("null");
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return parseNumber(v);
      return fail(std::string("unexpected character '") + c + "'");
    }
  }

  bool parseObject(JsonValue &v, int depth) {
    v.kind = JsonValue::Object;
    ++pos; // {
    skipSpace();
    if (pos < text.size() && text[pos] == '}') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      if (pos >= text.size() || text[pos] != '"')
        return fail("expected a string key");
      std::string key;
      if (!parseString(key))
        return false;
      skipSpace();
      if (pos >= text.size() || text[pos] != ':')
        return fail("expected ':'");
      ++pos;
      skipSpace();
      JsonValue member;
      if (!parseValue(member, depth + 1))
        return false;
      for (const auto &f : v.fields)
        if (f.first == key)
          return fail("duplicate key \"" + key + "\"");
      v.fields.emplace_back(std::move(key), std::move(member));
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(JsonValue &v, int depth) {
    v.kind = JsonValue::Array;
    ++pos; // [
    skipSpace();
    if (pos < text.size() && text[pos] == ']') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      JsonValue item;
      if (!parseValue(item, depth + 1))
        return false;
      v.items.push_back(std::move(item));
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == ']') {
        ++pos;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static void appendUtf8(std::string &s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(uint32_t &out) {
    if (pos + 4 > text.size())
      return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= c - '0';
      else if (c >= 'a' && c <= 'f')
        out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        out |= c - 'A' + 10;
      else
        return fail("bad hex digit in \\u escape");
    }
    return true;
  }

  bool parseString(std::string &s) {
    ++pos; // "
    while (true) {
      if (pos >= text.size())
        return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text[pos++]);
      if (c == '"')
        return true;
      if (c < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        s += static_cast<char>(c);
        continue;
      }
      if (pos >= text.size())
        return fail("unterminated string");
      char e = text[pos++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        s += e;
        break;
      case 'b':
        s += '\b';
        break;
      case 'f':
        s += '\f';
        break;
      case 'n':
        s += '\n';
        break;
      case 'r':
        s += '\r';
        break;
      case 't':
        s += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo;
          if (pos + 2 > text.size() || text[pos] != '\\' || text[pos + 1] != 'u')
            return fail("unpaired surrogate in \\u escape");
          pos += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xDC00 || lo >= 0xE000)
            return fail("unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return fail("unpaired surrogate in \\u escape");
        }
        appendUtf8(s, cp);
        break;
      }
      default:
        return fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  bool parseNumber(JsonValue &v) {
    size_t start = pos;
    bool integral = true;
    if (text[pos] == '-')
      ++pos;
    if (pos >= text.size() || !(text[pos] >= '0' && text[pos] <= '9'))
      return fail("bad number");
    if (text[pos] == '0' && pos + 1 < text.size() && text[pos + 1] >= '0' && text[pos + 1] <= '9')
      return fail("leading zero in number");
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
      ++pos;
    if (pos < text.size() && text[pos] == '.') {
      integral = false;
      ++pos;
      if (pos >= text.size() || !(text[pos] >= '0' && text[pos] <= '9'))
        return fail("bad number");
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      integral = false;
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      if (pos >= text.size() || !(text[pos] >= '0' && text[pos] <= '9'))
        return fail("bad number");
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
    }
    std::string lit = text.substr(start, pos - start);
    v.kind = JsonValue::Number;
    v.number = std::strtod(lit.c_str(), nullptr);
    if (integral) {
      errno = 0;
      long long x = std::strtoll(lit.c_str(), nullptr, 10);
      if (errno == 0) {
        v.isInt = true;
        v.integer = x;
      }
    }
    return true;
  }
};

} // namespace

std::string parseJson(const std::string &text, JsonValue &out) {
  out = JsonValue();
  Parser p(text);
  return p.run(out);
}

} // namespace attn_rt
