//===- Formula.h - Size formulas of bundle manifests ------------*- C++ -*-===//
//
// Shapes, grids and work-item counts in a bundle manifest are formulas over
// the launch sizes (B, Sq, Skv) and the bundle's constants (Hq, ...), and a
// GPU kernel's grid also over the device's multiprocessors (SMs):
//
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/') unary)*
//   unary   := '-' unary | primary
//   primary := integer | identifier | '(' expr ')'
//            | ('ceil' | 'floor') '(' expr ')' | ('min' | 'max') '(' expr ',' expr ')'
//
// Arithmetic is exact over rationals, so `ceil(Sq/64)` rounds the true
// quotient; the value of a whole formula must be an integer (write floor()
// or ceil() where a quotient may not divide). Header-only and dependency-free:
// the runtime evaluates formulas and the bundle writer (lib/Emit) checks them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_FORMULA_H
#define ATTN_RUNTIME_FORMULA_H

#include <cctype>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attn_rt {

/// The name a GPU kernel's grid formulas may use besides the launch sizes
/// and constants: the device's multiprocessor count (NVIDIA SMs), which the
/// runtime reads at launch; a persistent kernel's grid is min(tiles, SMs).
inline constexpr const char kMultiprocessors[] = "SMs";

class Formula {
public:
  using Env = std::vector<std::pair<std::string, int64_t>>;

  /// Parses `text`; identifiers must be in `names`. Returns "" or an error.
  std::string parse(const std::string &text, const std::vector<std::string> &names) {
    text_ = text;
    nodes_.clear();
    pos_ = 0;
    error_.clear();
    root_ = parseExpr(0);
    skipSpace();
    if (error_.empty() && pos_ != text_.size())
      fail("unexpected '" + std::string(1, text_[pos_]) + "'");
    if (error_.empty())
      for (const Node &n : nodes_)
        if (n.op == Var) {
          bool known = false;
          for (const std::string &s : names)
            known |= s == n.name;
          if (!known) {
            error_ = "unknown name '" + n.name + "' in formula '" + text_ + "'";
            break;
          }
        }
    if (!error_.empty())
      nodes_.clear();
    return error_;
  }

  bool empty() const { return nodes_.empty(); }
  const std::string &text() const { return text_; }

  /// Evaluates the parsed formula; returns "" or an error.
  std::string eval(const Env &env, int64_t &out) const {
    if (nodes_.empty())
      return "empty formula";
    Rat r;
    std::string err;
    if (!evalNode(root_, env, r, err))
      return err + " in formula '" + text_ + "'";
    if (r.den != 1)
      return "formula '" + text_ + "' is not an integer (" + std::to_string(r.num) + "/" +
             std::to_string(r.den) + "); use floor() or ceil()";
    out = r.num;
    return "";
  }

private:
  enum Op { Num, Var, Add, Sub, Mul, Div, Neg, Ceil, Floor, Min, Max };
  struct Node {
    Op op;
    int64_t value = 0;
    std::string name;
    int a = -1, b = -1;
  };
  struct Rat {
    int64_t num = 0, den = 1;
  };

  std::string text_, error_;
  std::vector<Node> nodes_;
  size_t pos_ = 0;
  int root_ = -1;

  void fail(const std::string &msg) {
    if (error_.empty())
      error_ = msg + " at offset " + std::to_string(pos_) + " in formula '" + text_ + "'";
  }
  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  bool eat(char c) {
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  int add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size()) - 1;
  }
  int binary(Op op, int a, int b) {
    Node n;
    n.op = op, n.a = a, n.b = b;
    return add(n);
  }
  int parseExpr(int depth) {
    int lhs = parseTerm(depth);
    while (error_.empty()) {
      if (eat('+'))
        lhs = binary(Add, lhs, parseTerm(depth));
      else if (eat('-'))
        lhs = binary(Sub, lhs, parseTerm(depth));
      else
        break;
    }
    return lhs;
  }
  int parseTerm(int depth) {
    int lhs = parseUnary(depth);
    while (error_.empty()) {
      if (eat('*'))
        lhs = binary(Mul, lhs, parseUnary(depth));
      else if (eat('/'))
        lhs = binary(Div, lhs, parseUnary(depth));
      else
        break;
    }
    return lhs;
  }
  int parseUnary(int depth) {
    if (depth > 64) {
      fail("formula nested too deeply");
      return -1;
    }
    if (eat('-'))
      return binary(Neg, parseUnary(depth + 1), -1);
    return parsePrimary(depth + 1);
  }
  int parsePrimary(int depth) {
    skipSpace();
    if (!error_.empty())
      return -1;
    if (pos_ >= text_.size()) {
      fail("unexpected end");
      return -1;
    }
    char c = text_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t v = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text_[pos_] - '0', &v)) {
          fail("integer too large");
          return -1;
        }
        ++pos_;
      }
      Node n;
      n.op = Num, n.value = v;
      return add(n);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
        ++pos_;
      std::string id = text_.substr(start, pos_ - start);
      bool call = eat('(');
      if (!call) {
        Node n;
        n.op = Var, n.name = id;
        return add(n);
      }
      Op op;
      int arity = 1;
      if (id == "ceil")
        op = Ceil;
      else if (id == "floor")
        op = Floor;
      else if (id == "min")
        op = Min, arity = 2;
      else if (id == "max")
        op = Max, arity = 2;
      else {
        fail("unknown function '" + id + "'");
        return -1;
      }
      int a = parseExpr(depth), b = -1;
      if (arity == 2) {
        if (!eat(','))
          fail("expected ','");
        b = parseExpr(depth);
      }
      if (!eat(')'))
        fail("expected ')'");
      return binary(op, a, b);
    }
    if (eat('(')) {
      int e = parseExpr(depth);
      if (!eat(')'))
        fail("expected ')'");
      return e;
    }
    fail("unexpected '" + std::string(1, c) + "'");
    return -1;
  }

  static bool make(__int128 num, __int128 den, Rat &out, std::string &err) {
    if (den == 0) {
      err = "division by zero";
      return false;
    }
    if (den < 0)
      num = -num, den = -den;
    __int128 a = num < 0 ? -num : num, b = den;
    while (b) {
      __int128 t = a % b;
      a = b, b = t;
    }
    if (a > 1)
      num /= a, den /= a;
    const __int128 lim = INT64_MAX;
    if (num > lim || num < -lim || den > lim) {
      err = "integer overflow";
      return false;
    }
    out.num = static_cast<int64_t>(num), out.den = static_cast<int64_t>(den);
    return true;
  }
  static int64_t floorDiv(int64_t n, int64_t d) { // d > 0
    int64_t q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
  }
  bool evalNode(int i, const Env &env, Rat &out, std::string &err) const {
    const Node &n = nodes_[i];
    switch (n.op) {
    case Num:
      out = {n.value, 1};
      return true;
    case Var:
      for (const auto &kv : env)
        if (kv.first == n.name) {
          out = {kv.second, 1};
          return true;
        }
      err = "no value for '" + n.name + "'";
      return false;
    default:
      break;
    }
    Rat x, y;
    if (!evalNode(n.a, env, x, err))
      return false;
    if (n.b >= 0 && !evalNode(n.b, env, y, err))
      return false;
    using W = __int128;
    switch (n.op) {
    case Add:
      return make(W(x.num) * y.den + W(y.num) * x.den, W(x.den) * y.den, out, err);
    case Sub:
      return make(W(x.num) * y.den - W(y.num) * x.den, W(x.den) * y.den, out, err);
    case Mul:
      return make(W(x.num) * y.num, W(x.den) * y.den, out, err);
    case Div:
      return make(W(x.num) * y.den, W(x.den) * y.num, out, err);
    case Neg:
      return make(-W(x.num), x.den, out, err);
    case Floor:
      out = {floorDiv(x.num, x.den), 1};
      return true;
    case Ceil:
      out = {-floorDiv(-x.num, x.den), 1};
      return true;
    case Min:
    case Max: {
      bool less = W(x.num) * y.den < W(y.num) * x.den;
      out = (less == (n.op == Min)) ? x : y;
      return true;
    }
    default:
      err = "bad formula node";
      return false;
    }
  }
};

} // namespace attn_rt

#endif // ATTN_RUNTIME_FORMULA_H
