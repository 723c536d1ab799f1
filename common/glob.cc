#include "common/glob.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace steward {
namespace {

// Where a byte that is not valid UTF-8 goes: past the last code point, so
// it never equals a real character (0xE9 alone is not "é").
constexpr char32_t kStrayByteBase = 0x110000;

// The character at s[*i] (advancing *i past it): a well-formed UTF-8
// sequence's code point, or kStrayByteBase + the byte when there is none.
char32_t NextChar(absl::string_view s, size_t* i) {
  const size_t n = Utf8SequenceLength(s, *i);
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[*i + k]); };
  char32_t c = n == 0 ? kStrayByteBase + byte(0) : byte(0);
  if (n == 2) c = (byte(0) & 0x1f) << 6 | (byte(1) & 0x3f);
  if (n == 3) c = (byte(0) & 0x0f) << 12 | (byte(1) & 0x3f) << 6 | (byte(2) & 0x3f);
  if (n == 4) c = (byte(0) & 0x07) << 18 | (byte(1) & 0x3f) << 12 | (byte(2) & 0x3f) << 6 | (byte(3) & 0x3f);
  *i += n == 0 ? 1 : n;
  return c;
}

std::vector<char32_t> Chars(absl::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(NextChar(s, &i));
  return out;
}

char32_t Fold(char32_t c) { return c < 0x80 ? static_cast<char32_t>(absl::ascii_tolower(static_cast<char>(c))) : c; }

}  // namespace

absl::StatusOr<Glob> Glob::Parse(absl::string_view pattern) {
  const auto error = [&](size_t pos, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("name pattern '", absl::CHexEscape(pattern.substr(0, 200)), "', position ", pos + 1, ": ", what));
  };
  if (pattern.empty()) return absl::InvalidArgumentError("name pattern is empty");
  if (pattern.size() > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("name pattern is ", pattern.size(), " bytes long; at most ", kMaxLength, " are allowed"));
  }
  Glob g;
  g.pattern_ = std::string(pattern);
  // Appends the literal `c` to the prefix while no wildcard came yet.
  std::string literal;
  const auto add_char = [&](char32_t c, absl::string_view bytes) {
    g.tokens_.push_back(Token{.kind = Token::Kind::kChar, .ch = c});
    if (g.literal_) literal.append(bytes.data(), bytes.size());
  };
  for (size_t i = 0; i < pattern.size();) {
    const size_t at = i;
    const char b = pattern[i];
    if (b == '*' || b == '?') {
      ++i;
      // "**" is "*": one star token keeps matching linear.
      if (b == '*' && !g.tokens_.empty() && g.tokens_.back().kind == Token::Kind::kStar) continue;
      g.tokens_.push_back(Token{.kind = b == '*' ? Token::Kind::kStar : Token::Kind::kAny});
      g.literal_ = false;
      continue;
    }
    if (b == '\\') {
      if (i + 1 >= pattern.size()) return error(at, "a lone '\\' at the end (write '\\\\' for a backslash)");
      ++i;
      const size_t start = i;
      const char32_t c = NextChar(pattern, &i);
      add_char(c, pattern.substr(start, i - start));
      continue;
    }
    if (b != '[') {
      const char32_t c = NextChar(pattern, &i);
      add_char(c, pattern.substr(at, i - at));
      continue;
    }
    Token t{.kind = Token::Kind::kClass};
    ++i;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
      t.negated = true;
      ++i;
    }
    bool closed = false;
    for (bool first = true; i < pattern.size(); first = false) {
      if (pattern[i] == ']' && !first) {
        closed = true;
        ++i;
        break;
      }
      if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
      const size_t lo_at = i;
      const char32_t lo = NextChar(pattern, &i);
      char32_t hi = lo;
      if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
        ++i;
        if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
        hi = NextChar(pattern, &i);
        if (hi < lo) {
          return error(lo_at, absl::StrCat("the range '", pattern.substr(lo_at, i - lo_at),
                                           "' is reversed (write the lower end first)"));
        }
      }
      t.ranges.emplace_back(lo, hi);
    }
    if (!closed) return error(at, "'[' is not closed by ']' (write '\\[' for a literal '[')");
    g.tokens_.push_back(std::move(t));
    g.literal_ = false;
  }
  // The prefix stops at the first wildcard: `literal` stopped growing then.
  g.prefix_ = std::move(literal);
  return g;
}

bool Glob::TokenMatches(const Token& t, char32_t c, Case fold) {
  const bool folding = fold == Case::kFoldAscii;
  switch (t.kind) {
    case Token::Kind::kChar:
      return t.ch == c || (folding && Fold(t.ch) == Fold(c));
    case Token::Kind::kAny:
      return true;
    case Token::Kind::kStar:
      return false;  // handled by Matches
    case Token::Kind::kClass: {
      bool in = false;
      for (const auto& [lo, hi] : t.ranges) {
        in = in || (lo <= c && c <= hi);
        // Folded: 'A' is in [a-z] when 'a' is, and 'a' in [A-Z].
        if (folding && c < 0x80) {
          const char32_t lower = Fold(c);
          const char32_t upper = static_cast<char32_t>(absl::ascii_toupper(static_cast<char>(c)));
          in = in || (lo <= lower && lower <= hi) || (lo <= upper && upper <= hi);
        }
      }
      return in != t.negated;
    }
  }
  return false;
}

bool Glob::Matches(absl::string_view name, Case fold) const {
  const std::vector<char32_t> s = Chars(name);
  // Greedy with one backtrack point (the last star): a later star makes
  // every earlier choice final, so this is O(tokens × chars).
  size_t t = 0, c = 0;
  size_t star = tokens_.size(), star_c = 0;
  while (c < s.size()) {
    if (t < tokens_.size() && tokens_[t].kind == Token::Kind::kStar) {
      star = t++;
      star_c = c;
    } else if (t < tokens_.size() && TokenMatches(tokens_[t], s[c], fold)) {
      ++t;
      ++c;
    } else if (star != tokens_.size()) {
      t = star + 1;
      c = ++star_c;
    } else {
      return false;
    }
  }
  while (t < tokens_.size() && tokens_[t].kind == Token::Kind::kStar) ++t;
  return t == tokens_.size();
}

}  // namespace steward
