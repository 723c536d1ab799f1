#include "collector/tsdb/label_matchers.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace steward::collector::tsdb {
namespace {

absl::string_view LabelValue(const Labels& labels, const std::string& name) {
  auto it =
      std::lower_bound(labels.begin(), labels.end(), name,
                       [](const auto& label, const std::string& n) { return label.first < n; });
  if (it == labels.end() || it->first != name) return "";
  return it->second;
}

}  // namespace

absl::StatusOr<CompiledMatchers> CompiledMatchers::Compile(
    const std::vector<LabelMatcher>& matchers) {
  CompiledMatchers out;
  out.matchers_ = matchers;
  for (const LabelMatcher& m : matchers) {
    std::shared_ptr<const RE2> re;
    if (m.op == LabelMatcher::Op::kRe || m.op == LabelMatcher::Op::kNotRe) {
      RE2::Options options;
      options.set_log_errors(false);
      re = std::make_shared<const RE2>(m.value, options);
      if (!re->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("label matcher ", m.name, m.op == LabelMatcher::Op::kRe ? "=~" : "!~",
                         "\"", m.value, "\": invalid regular expression: ", re->error()));
      }
    }
    out.regexes_.push_back(std::move(re));
  }
  return out;
}

bool CompiledMatchers::Accepts(size_t i, absl::string_view value) const {
  const LabelMatcher& m = matchers_[i];
  switch (m.op) {
    case LabelMatcher::Op::kEq:
      return value == m.value;
    case LabelMatcher::Op::kNe:
      return value != m.value;
    case LabelMatcher::Op::kRe:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regexes_[i]);
    case LabelMatcher::Op::kNotRe:
      return !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regexes_[i]);
  }
  return false;
}

bool CompiledMatchers::Matches(absl::string_view metric, const Labels& labels) const {
  for (size_t i = 0; i < matchers_.size(); ++i) {
    absl::string_view value = OnMetricName(i) ? metric : LabelValue(labels, matchers_[i].name);
    if (!Accepts(i, value)) return false;
  }
  return true;
}

bool CompiledMatchers::MatchesMetric(absl::string_view metric) const {
  for (size_t i = 0; i < matchers_.size(); ++i) {
    if (OnMetricName(i) && !Accepts(i, metric)) return false;
  }
  return true;
}

std::optional<std::vector<std::string>> CompiledMatchers::LiteralAlternatives(size_t i) const {
  const LabelMatcher& m = matchers_[i];
  if (m.op != LabelMatcher::Op::kRe) return std::nullopt;
  constexpr absl::string_view kMeta = ".*+?()[]{}^$\\|";
  // prefix ( alternatives ) suffix, or just alternatives.
  absl::string_view prefix, inner = m.value, suffix;
  if (size_t open = inner.find('('); open != absl::string_view::npos) {
    size_t close = inner.rfind(')');
    if (close == absl::string_view::npos || close < open) return std::nullopt;
    prefix = inner.substr(0, open);
    suffix = inner.substr(close + 1);
    inner = inner.substr(open + 1, close - open - 1);
    absl::ConsumePrefix(&inner, "?:");
    if (prefix.find_first_of(kMeta) != absl::string_view::npos ||
        suffix.find_first_of(kMeta) != absl::string_view::npos) {
      return std::nullopt;
    }
  }
  std::vector<std::string> out;
  for (absl::string_view alt : absl::StrSplit(inner, '|')) {
    if (alt.find_first_of(kMeta) != absl::string_view::npos) return std::nullopt;
    std::string value = absl::StrCat(prefix, alt, suffix);
    // "" also matches series without the label: postings cannot say which.
    if (value.empty()) return std::nullopt;
    out.push_back(std::move(value));
  }
  return out;
}

std::optional<std::vector<std::string>> CompiledMatchers::PostingValues(size_t i) const {
  if (AnsweredByPostings(i)) return std::vector<std::string>{matchers_[i].value};
  return LiteralAlternatives(i);
}

}  // namespace steward::collector::tsdb
