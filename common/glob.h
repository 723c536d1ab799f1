#pragma once
// Shell-style name patterns, as the admin API's name filters take them
// (ListSoftware, ListChanges, ListHealth):
//
//   *        any run of characters, also none
//   ?        exactly one character
//   [abc]    one of the listed characters; ranges [a-z]; [!abc] or [^abc]
//            negates; a ']' right after '[' (or '[!') is a member: []x]
//   \c       the character c itself (\*, \[, \\)
//   anything else stands for itself.
//
// A pattern without *, ? or [ is a plain name: it matches only itself.
// Characters are UTF-8 code points (a byte that is not part of valid UTF-8
// counts as one character), so '?' matches "é" whole. Case folding, when
// asked for, is ASCII-only (package names that fold case, pip's and npm's,
// are ASCII).
//
// Parse refuses a broken pattern with InvalidArgument naming the pattern,
// the position (bytes from 1) and the fault: a '[' not closed by ']', a
// reversed range [z-a], a trailing lone '\', an empty pattern, or a pattern
// longer than kMaxLength. Matching runs in O(pattern × name) time at worst
// (no exponential backtracking).
//
// literal_prefix() is what every match starts with (the text before the
// first wildcard): a store with an index by name can seek to it instead of
// scanning (compare it folded when matching folds case).
//
// Immutable after Parse; thread-safe to share.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward {

class Glob {
 public:
  static constexpr size_t kMaxLength = 1024;

  enum class Case { kSensitive, kFoldAscii };

  static absl::StatusOr<Glob> Parse(absl::string_view pattern);

  bool Matches(absl::string_view name, Case fold = Case::kSensitive) const;

  // The pattern as given.
  const std::string& pattern() const { return pattern_; }
  // True when the pattern has no wildcard: it matches one name exactly
  // (literal_prefix(), with escapes resolved).
  bool is_literal() const { return literal_; }
  // The characters every matching name starts with, escapes resolved, as
  // UTF-8; the whole name when is_literal().
  const std::string& literal_prefix() const { return prefix_; }

 private:
  struct Token {
    enum class Kind { kChar, kAny, kStar, kClass };
    Kind kind = Kind::kChar;
    char32_t ch = 0;                                     // kChar
    bool negated = false;                                // kClass
    std::vector<std::pair<char32_t, char32_t>> ranges;  // kClass, inclusive
  };

  Glob() = default;
  static bool TokenMatches(const Token& t, char32_t c, Case fold);

  std::string pattern_;
  std::string prefix_;
  bool literal_ = true;
  std::vector<Token> tokens_;
};

}  // namespace steward
