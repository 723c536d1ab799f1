#include "common/targeting/target_expr.h"

#include <algorithm>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/escaping.h"
#include "common/utf8.h"
#include "common/version/package_version.h"

namespace steward {

enum class CmpOp { kNone, kLess, kLessEq, kGreater, kGreaterEq, kEq, kNotEq };

struct TargetExpr::Node {
  enum class Kind { kOr, kAnd, kNot, kHost, kLabel, kOs, kPackage };
  Kind kind;
  std::vector<std::unique_ptr<Node>> children;  // kOr, kAnd (2+), kNot (1)
  std::string name;   // host id, label key, os name, package name
  std::string value;  // label value, package version
  bool has_value = false;
  CmpOp op = CmpOp::kNone;
};

namespace {

using Node = TargetExpr::Node;
using Kind = Node::Kind;

const char* OpText(CmpOp op) {
  switch (op) {
    case CmpOp::kLess: return "<";
    case CmpOp::kLessEq: return "<=";
    case CmpOp::kGreater: return ">";
    case CmpOp::kGreaterEq: return ">=";
    case CmpOp::kEq: return "=";
    case CmpOp::kNotEq: return "!=";
    case CmpOp::kNone: break;
  }
  return "";
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
// Characters a value may have unquoted in canonical form.
bool IsPlain(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains("._~^+:@/*-", c);
}
// Characters of a version in any package system Steward reads.
bool IsVersionChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains(".+~^_:-", c);
}

std::string Quote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s) plain = plain && IsPlain(c);
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Shown(absl::string_view text, size_t pos) {
  if (pos >= text.size()) return "the end of the expression";
  size_t end = pos;
  while (end < text.size() && end - pos < 20 && !IsBlank(text[end])) ++end;
  if (end == pos) end = pos + 1;
  std::string s(text.substr(pos, end - pos));
  for (char& c : s) {
    if (IsControl(c)) c = '?';
  }
  return absl::StrCat("'", s, "'");
}

// Recursive descent over the characters; `depth` bounds the recursion of
// nested parentheses and `not`s.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::unique_ptr<Node>> ParseAll() {
    SkipBlanks();
    if (pos_ >= text_.size()) return Error(pos_, "the expression is empty; write a term such as host:ID, label:KEY=VALUE, os:NAME or package:NAME");
    auto root = ParseOr();
    if (!root.ok()) return root.status();
    SkipBlanks();
    if (pos_ < text_.size()) {
      if (text_[pos_] == ')') return Error(pos_, "')' without a matching '('");
      return Error(pos_, absl::StrCat("expected 'and', 'or' or the end of the expression, found ",
                                      Shown(text_, pos_)));
    }
    return root;
  }

 private:
  absl::Status Error(size_t pos, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("target expression, position ", pos + 1, ": ", what));
  }

  void SkipBlanks() {
    while (pos_ < text_.size() && IsBlank(text_[pos_])) ++pos_;
  }

  // A keyword at pos_ (any case) followed by a blank, a parenthesis or the end.
  bool AtKeyword(absl::string_view kw) const {
    if (text_.size() - pos_ < kw.size()) return false;
    if (!absl::EqualsIgnoreCase(text_.substr(pos_, kw.size()), kw)) return false;
    size_t next = pos_ + kw.size();
    return next == text_.size() || IsBlank(text_[next]) || text_[next] == '(' || text_[next] == ')';
  }

  static std::unique_ptr<Node> Join(Kind kind, std::unique_ptr<Node> left, std::unique_ptr<Node> right) {
    if (left->kind != kind) {
      auto joined = std::make_unique<Node>();
      joined->kind = kind;
      joined->children.push_back(std::move(left));
      left = std::move(joined);
    }
    left->children.push_back(std::move(right));
    return left;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseOr() {
    auto left = ParseAnd();
    if (!left.ok()) return left.status();
    std::unique_ptr<Node> node = std::move(*left);
    for (SkipBlanks(); AtKeyword("or"); SkipBlanks()) {
      pos_ += 2;
      auto right = ParseAnd();
      if (!right.ok()) return right.status();
      node = Join(Kind::kOr, std::move(node), std::move(*right));
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAnd() {
    auto left = ParseUnary();
    if (!left.ok()) return left.status();
    std::unique_ptr<Node> node = std::move(*left);
    for (SkipBlanks(); AtKeyword("and"); SkipBlanks()) {
      pos_ += 3;
      auto right = ParseUnary();
      if (!right.ok()) return right.status();
      node = Join(Kind::kAnd, std::move(node), std::move(*right));
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseUnary() {
    SkipBlanks();
    if (depth_ >= TargetExpr::kMaxDepth) {
      return Error(pos_, absl::StrCat("nested deeper than ", TargetExpr::kMaxDepth, " levels"));
    }
    if (AtKeyword("not")) {
      pos_ += 3;
      ++depth_;
      auto child = ParseUnary();
      --depth_;
      if (!child.ok()) return child.status();
      auto node = std::make_unique<Node>();
      node->kind = Kind::kNot;
      node->children.push_back(std::move(*child));
      return node;
    }
    if (pos_ < text_.size() && text_[pos_] == '(') {
      const size_t open = pos_++;
      ++depth_;
      auto inner = ParseOr();
      --depth_;
      if (!inner.ok()) return inner.status();
      SkipBlanks();
      if (pos_ >= text_.size() || text_[pos_] != ')') {
        return Error(pos_, absl::StrCat("expected ')' to close the '(' at position ", open + 1, ", found ",
                                        Shown(text_, pos_)));
      }
      ++pos_;
      return inner;
    }
    return ParseTerm();
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseTerm() {
    const size_t start = pos_;
    if (pos_ >= text_.size() || text_[pos_] == ')' || AtKeyword("and") || AtKeyword("or")) {
      return Error(pos_, absl::StrCat("expected a term (host:, label:, os:, package:), 'not' or '(', found ",
                                      Shown(text_, pos_)));
    }
    size_t colon = pos_;
    while (colon < text_.size() && absl::ascii_isalpha(static_cast<unsigned char>(text_[colon]))) ++colon;
    if (colon == text_.size() || text_[colon] != ':' || colon == pos_) {
      return Error(pos_, absl::StrCat("expected a term such as host:ID, label:KEY=VALUE, os:NAME or "
                                      "package:NAME<VERSION, found ",
                                      Shown(text_, pos_)));
    }
    const std::string kind = absl::AsciiStrToLower(text_.substr(pos_, colon - pos_));
    auto node = std::make_unique<Node>();
    if (kind == "host") {
      node->kind = Kind::kHost;
    } else if (kind == "label") {
      node->kind = Kind::kLabel;
    } else if (kind == "os") {
      node->kind = Kind::kOs;
    } else if (kind == "package") {
      node->kind = Kind::kPackage;
    } else {
      return Error(start, absl::StrCat("unknown term '", kind, ":' (expected host:, label:, os: or package:)"));
    }
    pos_ = colon + 1;
    const std::string what = absl::StrCat("'", kind, ":'");
    switch (node->kind) {
      case Kind::kHost:
      case Kind::kOs: {
        auto v = ReadValue("", what);
        if (!v.ok()) return v.status();
        node->name = std::move(*v);
        break;
      }
      case Kind::kLabel: {
        auto key = ReadValue("=", what);
        if (!key.ok()) return key.status();
        node->name = std::move(*key);
        if (pos_ < text_.size() && text_[pos_] == '=') {
          ++pos_;
          auto value = ReadValue("", absl::StrCat("'label:", node->name, "='"));
          if (!value.ok()) return value.status();
          node->value = std::move(*value);
          node->has_value = true;
        }
        break;
      }
      case Kind::kPackage: {
        auto name = ReadValue("<>=!", what);
        if (!name.ok()) return name.status();
        node->name = std::move(*name);
        auto op = ReadOp();
        if (!op.ok()) return op.status();
        node->op = *op;
        if (node->op != CmpOp::kNone) {
          const size_t at = pos_;
          auto version = ReadValue("", absl::StrCat("'", OpText(node->op), "'"));
          if (!version.ok()) return version.status();
          for (size_t i = 0; i < version->size(); ++i) {
            if (!IsVersionChar((*version)[i])) {
              return Error(at + i, absl::StrCat("version '", *version, "' has a character no package system uses: ",
                                            Shown(*version, i)));
            }
          }
          node->value = std::move(*version);
          node->has_value = true;
        }
        break;
      }
      default:
        break;
    }
    return node;
  }

  absl::StatusOr<CmpOp> ReadOp() {
    if (pos_ >= text_.size() || !absl::StrContains("<>=!", text_[pos_])) return CmpOp::kNone;
    const size_t at = pos_;
    const char c = text_[pos_++];
    const bool eq = pos_ < text_.size() && text_[pos_] == '=';
    if (eq) ++pos_;
    if (c == '<') return eq ? CmpOp::kLessEq : CmpOp::kLess;
    if (c == '>') return eq ? CmpOp::kGreaterEq : CmpOp::kGreater;
    if (c == '=' && !eq) return CmpOp::kEq;
    if (c == '!' && eq) return CmpOp::kNotEq;
    return Error(at, absl::StrCat("expected one of < <= > >= = != after the package name, found ",
                                  Shown(text_, at)));
  }

  // A quoted value, or a bare one up to a blank, a parenthesis, a quote or
  // one of `stop`. `after` names what the value follows, for errors.
  absl::StatusOr<std::string> ReadValue(absl::string_view stop, absl::string_view after) {
    const size_t start = pos_;
    std::string out;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      for (++pos_;; ++pos_) {
        if (pos_ >= text_.size()) {
          return Error(start, "quoted value is not closed (a '\"' is missing)");
        }
        char c = text_[pos_];
        if (c == '"') break;
        if (c == '\\') {
          if (pos_ + 1 >= text_.size() || (text_[pos_ + 1] != '"' && text_[pos_ + 1] != '\\')) {
            return Error(pos_, "in a quoted value '\\' must be followed by '\"' or '\\'");
          }
          c = text_[++pos_];
        } else if (IsControl(c)) {
          return Error(pos_, "control characters are not allowed in a value");
        }
        out += c;
      }
      ++pos_;
      if (out.empty()) return Error(start, absl::StrCat("empty value after ", after));
      return out;
    }
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (IsBlank(c) || c == '(' || c == ')' || c == '"' || absl::StrContains(stop, c)) break;
      if (IsControl(c)) return Error(pos_, "control characters are not allowed in a value");
      out += c;
      ++pos_;
    }
    if (out.empty()) {
      return Error(start, absl::StrCat("expected a value after ", after, ", found ", Shown(text_, start)));
    }
    return out;
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

bool UsesPackages(const Node& n) {
  if (n.kind == Kind::kPackage) return true;
  for (const auto& c : n.children) {
    if (UsesPackages(*c)) return true;
  }
  return false;
}

void CollectPackageNames(const Node& n, std::vector<std::string>* out) {
  if (n.kind == Kind::kPackage) out->push_back(n.name);
  for (const auto& c : n.children) CollectPackageNames(*c, out);
}

bool OpHolds(CmpOp op, int cmp) {
  switch (op) {
    case CmpOp::kLess: return cmp < 0;
    case CmpOp::kLessEq: return cmp <= 0;
    case CmpOp::kGreater: return cmp > 0;
    case CmpOp::kGreaterEq: return cmp >= 0;
    case CmpOp::kEq: return cmp == 0;
    case CmpOp::kNotEq: return cmp != 0;
    case CmpOp::kNone: return true;
  }
  return false;
}

bool Eval(const Node& n, const TargetHost& host) {
  switch (n.kind) {
    case Kind::kOr:
      for (const auto& c : n.children) {
        if (Eval(*c, host)) return true;
      }
      return false;
    case Kind::kAnd:
      for (const auto& c : n.children) {
        if (!Eval(*c, host)) return false;
      }
      return true;
    case Kind::kNot:
      return !Eval(*n.children[0], host);
    case Kind::kHost:
      return host.agent_id == n.name || host.hostname == n.name;
    case Kind::kLabel: {
      auto it = host.labels.find(n.name);
      return it != host.labels.end() && (!n.has_value || it->second == n.value);
    }
    case Kind::kOs:
      return absl::EqualsIgnoreCase(host.os_id, n.name);
    case Kind::kPackage: {
      auto [begin, end] = host.packages.equal_range(n.name);
      for (auto it = begin; it != end; ++it) {
        if (n.op == CmpOp::kNone ||
            OpHolds(n.op, ComparePackageVersion(it->second.source, it->second.version, n.value))) {
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

std::string Print(const Node& n) {
  switch (n.kind) {
    case Kind::kOr: {
      std::vector<std::string> parts;
      for (const auto& c : n.children) parts.push_back(Print(*c));
      return absl::StrJoin(parts, " or ");
    }
    case Kind::kAnd: {
      std::vector<std::string> parts;
      for (const auto& c : n.children) {
        parts.push_back(c->kind == Kind::kOr ? absl::StrCat("(", Print(*c), ")") : Print(*c));
      }
      return absl::StrJoin(parts, " and ");
    }
    case Kind::kNot: {
      const Node& c = *n.children[0];
      const bool group = c.kind == Kind::kOr || c.kind == Kind::kAnd;
      return absl::StrCat("not ", group ? "(" : "", Print(c), group ? ")" : "");
    }
    case Kind::kHost: return absl::StrCat("host:", Quote(n.name));
    case Kind::kOs: return absl::StrCat("os:", Quote(n.name));
    case Kind::kLabel:
      return n.has_value ? absl::StrCat("label:", Quote(n.name), "=", Quote(n.value))
                         : absl::StrCat("label:", Quote(n.name));
    case Kind::kPackage:
      return absl::StrCat("package:", Quote(n.name), OpText(n.op), n.has_value ? Quote(n.value) : "");
  }
  return "";
}

}  // namespace

absl::Status CheckTargetLabel(absl::string_view key, absl::string_view value) {
  bool ok = !key.empty() && key.size() <= kMaxLabelKeyLength &&
            (absl::ascii_isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_');
  for (char c : key) ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains("_.-/", c));
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "label '", absl::CHexEscape(key.substr(0, 100)), "': a label key is 1 to ", kMaxLabelKeyLength,
        " characters: letters, digits, '_', '.', '-' or '/', starting with a letter or '_' (so that "
        "label:KEY=VALUE can name it)"));
  }
  if (value.size() > kMaxLabelValueLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("label '", key, "': the value is longer than ", kMaxLabelValueLength, " bytes"));
  }
  for (char c : value) {
    if (IsControl(c)) {
      return absl::InvalidArgumentError(absl::StrCat("label '", key, "': the value holds a control character"));
    }
  }
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat("label '", key, "': the value is not valid UTF-8"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TargetExpr> TargetExpr::Parse(absl::string_view text) {
  if (text.size() > kMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat("target expression is ", text.size(),
                                                   " bytes long; at most ", kMaxLength, " are allowed"));
  }
  Parser parser(text);
  auto root = parser.ParseAll();
  if (!root.ok()) return root.status();
  TargetExpr expr;
  expr.needs_packages_ = UsesPackages(**root);
  CollectPackageNames(**root, &expr.package_names_);
  std::sort(expr.package_names_.begin(), expr.package_names_.end());
  expr.package_names_.erase(std::unique(expr.package_names_.begin(), expr.package_names_.end()),
                            expr.package_names_.end());
  expr.root_ = std::move(*root);
  // Quoting can make the canonical form longer than the text; bounding it
  // too keeps Parse(ToString()) working for every accepted expression.
  if (size_t n = expr.ToString().size(); n > kMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat("target expression is too long: written canonically it has ", n,
                                                   " bytes; at most ", kMaxLength, " are allowed"));
  }
  return expr;
}

bool TargetExpr::Matches(const TargetHost& host) const { return Eval(*root_, host); }

std::string TargetExpr::ToString() const { return Print(*root_); }

TargetExpr::TargetExpr(TargetExpr&&) noexcept = default;
TargetExpr& TargetExpr::operator=(TargetExpr&&) noexcept = default;
TargetExpr::~TargetExpr() = default;

}  // namespace steward
