#pragma once
// Evaluation of LabelMatcher lists (series_source.h) against a series'
// metric name and labels: regular expressions compiled once per Select.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/series_source.h"
#include "re2/re2.h"

namespace steward::collector::tsdb {

// A list of matchers ready to test series. `=~` and `!~` use RE2, fully
// anchored (FullMatch); a label the series lacks is matched as "". A matcher
// named kMetricNameLabel tests the metric name, never a label.
// Invariant: regexes_[i] is set exactly when matchers_[i] is a regex op.
// Immutable after Compile, so safe to share between threads.
class CompiledMatchers {
 public:
  // InvalidArgument naming the matcher and RE2's reason for a bad regex.
  static absl::StatusOr<CompiledMatchers> Compile(const std::vector<LabelMatcher>& matchers);

  // True if every matcher accepts the series `metric` with `labels` (sorted
  // by name).
  bool Matches(absl::string_view metric, const Labels& labels) const;
  // True if every matcher on the metric name accepts `metric` (the label
  // matchers are not looked at).
  bool MatchesMetric(absl::string_view metric) const;

  // True if matcher `i` is on the metric name (kMetricNameLabel).
  bool OnMetricName(size_t i) const { return matchers_[i].name == kMetricNameLabel; }
  // True if matcher `i` can only match series that carry the label with
  // exactly that value, so a posting list answers it (`name="v"`, v != "").
  bool AnsweredByPostings(size_t i) const {
    return matchers_[i].op == LabelMatcher::Op::kEq && !matchers_[i].value.empty();
  }
  // For `name=~"a|b|c"` with plain literal alternatives, or one group of
  // them between literals (`cpu_(user|system)`, also `(?:…)`), when no
  // alternative expands to "": the values, whose posting lists' union holds
  // exactly the series the matcher accepts. nullopt otherwise.
  std::optional<std::vector<std::string>> LiteralAlternatives(size_t i) const;
  // The values whose posting lists' union holds exactly the series matcher
  // `i` accepts ({value} when AnsweredByPostings, else LiteralAlternatives),
  // or nullopt when postings cannot answer it.
  std::optional<std::vector<std::string>> PostingValues(size_t i) const;

  const std::vector<LabelMatcher>& matchers() const { return matchers_; }

 private:
  bool Accepts(size_t i, absl::string_view value) const;

  std::vector<LabelMatcher> matchers_;
  std::vector<std::shared_ptr<const RE2>> regexes_;
};

}  // namespace steward::collector::tsdb
