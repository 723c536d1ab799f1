#include "agent/inventory/package_json.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace steward::agent {
namespace {

constexpr int kMaxDepth = 200;

// A strict single-pass JSON reader that keeps only top-level string
// members. Recursion is bounded by kMaxDepth.
class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : text_(text) {}

  // Parses the whole document into `out`; false with error() set otherwise.
  bool ParseDocument(PackageJson* out) {
    if (absl::StartsWith(text_, "\xEF\xBB\xBF")) pos_ = 3;
    SkipSpace();
    if (!Peek('{')) return Fail("top level is not an object");
    if (!ParseObject(0, out)) return false;
    SkipSpace();
    if (pos_ != text_.size()) return Fail("trailing data after the top-level object");
    return true;
  }

  const std::string& error() const { return error_; }
  size_t pos() const { return pos_; }

 private:
  bool Fail(absl::string_view what) {
    if (error_.empty()) error_ = std::string(what);
    return false;
  }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // At '{'. `top` (non-null only for the top level) receives name/version.
  bool ParseObject(int depth, PackageJson* top) {
    if (depth >= kMaxDepth) return Fail("nesting too deep");
    ++pos_;
    SkipSpace();
    if (Peek('}')) {
      ++pos_;
      return true;
    }
    bool have_name = false, have_version = false;
    while (true) {
      SkipSpace();
      if (!Peek('"')) return Fail("expected a member name");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (!Peek(':')) return Fail("expected ':'");
      ++pos_;
      SkipSpace();
      std::string* slot = nullptr;
      if (top != nullptr && Peek('"')) {
        if (key == "name" && !have_name) {
          slot = &top->name;
          have_name = true;
        } else if (key == "version" && !have_version) {
          slot = &top->version;
          have_version = true;
        }
      }
      if (slot != nullptr) {
        if (!ParseString(slot)) return false;
      } else if (!ParseValue(depth + 1)) {
        return false;
      }
      SkipSpace();
      if (Peek(',')) {
        ++pos_;
        continue;
      }
      if (Peek('}')) {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }

  bool ParseArray(int depth) {
    if (depth >= kMaxDepth) return Fail("nesting too deep");
    ++pos_;
    SkipSpace();
    if (Peek(']')) {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (!ParseValue(depth + 1)) return false;
      SkipSpace();
      if (Peek(',')) {
        ++pos_;
        continue;
      }
      if (Peek(']')) {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  bool ParseValue(int depth) {
    if (pos_ >= text_.size()) return Fail("unexpected end of input");
    char c = text_[pos_];
    if (c == '{') return ParseObject(depth, nullptr);
    if (c == '[') return ParseArray(depth);
    if (c == '"') {
      std::string ignored;
      return ParseString(&ignored);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    for (absl::string_view lit : {"true", "false", "null"}) {
      if (absl::StartsWith(text_.substr(pos_), lit)) {
        pos_ += lit.size();
        return true;
      }
    }
    return Fail("unexpected character");
  }

  bool Digits() {
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool ParseNumber() {
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (!Digits()) {
      return Fail("invalid number");
    }
    if (Peek('.')) {
      ++pos_;
      if (!Digits()) return Fail("invalid number");
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (!Digits()) return Fail("invalid number");
    }
    return true;
  }

  bool Hex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return Fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Fail("invalid \\u escape");
      }
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // At '"'. Decodes into `out`; lone surrogates become U+FFFD.
  bool ParseString(std::string* out) {
    out->clear();
    ++pos_;
    while (true) {
      if (pos_ >= text_.size()) return Fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Fail("unterminated string");
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && absl::StartsWith(text_.substr(pos_), "\\u")) {
            size_t save = pos_;
            pos_ += 2;
            uint32_t lo = 0;
            if (!Hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;  // Not a pair: the high half alone is replaced.
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Fail("invalid escape");
      }
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::optional<PackageJson> ParsePackageJson(absl::string_view text, absl::string_view origin,
                                            ParseReport* report) {
  JsonReader reader(text);
  PackageJson out;
  if (!reader.ParseDocument(&out)) {
    AddWarning(report, absl::StrCat(origin, ": invalid JSON at byte ", reader.pos(), ": ",
                                    reader.error(), ", skipped"));
    return std::nullopt;
  }
  return out;
}

}  // namespace steward::agent
