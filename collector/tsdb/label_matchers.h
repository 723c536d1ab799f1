#pragma once
// Evaluation of LabelMatcher lists (series_source.h) against a series'
// labels: regular expressions compiled once per Select.

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/tsdb/series_source.h"
#include "re2/re2.h"

namespace steward::collector::tsdb {

// A list of matchers ready to test label sets. `=~` and `!~` use RE2,
// fully anchored (FullMatch); a label the series lacks is matched as "".
// Invariant: regexes_[i] is set exactly when matchers_[i] is a regex op.
// Immutable after Compile, so safe to share between threads.
class CompiledMatchers {
 public:
  // InvalidArgument naming the matcher and RE2's reason for a bad regex.
  static absl::StatusOr<CompiledMatchers> Compile(const std::vector<LabelMatcher>& matchers);

  // True if every matcher accepts `labels` (sorted by name).
  bool Matches(const Labels& labels) const;

  // True if matcher `i` can only match series that carry the label with
  // exactly that value, so a posting list answers it (`name="v"`, v != "").
  bool AnsweredByPostings(size_t i) const {
    return matchers_[i].op == LabelMatcher::Op::kEq && !matchers_[i].value.empty();
  }
  // For `name=~"a|b|c"` with plain literal alternatives (no regex
  // metacharacter, none empty): the values, whose posting lists' union
  // holds every series the matcher accepts. nullopt otherwise.
  std::optional<std::vector<std::string>> LiteralAlternatives(size_t i) const;

  const std::vector<LabelMatcher>& matchers() const { return matchers_; }

 private:
  std::vector<LabelMatcher> matchers_;
  std::vector<std::shared_ptr<const RE2>> regexes_;
};

}  // namespace steward::collector::tsdb
