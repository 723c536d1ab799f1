#include "collector/tsdb/label_matchers.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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

bool CompiledMatchers::Matches(const Labels& labels) const {
  for (size_t i = 0; i < matchers_.size(); ++i) {
    const LabelMatcher& m = matchers_[i];
    absl::string_view value = LabelValue(labels, m.name);
    bool ok = false;
    switch (m.op) {
      case LabelMatcher::Op::kEq:
        ok = value == m.value;
        break;
      case LabelMatcher::Op::kNe:
        ok = value != m.value;
        break;
      case LabelMatcher::Op::kRe:
        ok = RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regexes_[i]);
        break;
      case LabelMatcher::Op::kNotRe:
        ok = !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regexes_[i]);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

std::optional<std::vector<std::string>> CompiledMatchers::LiteralAlternatives(size_t i) const {
  const LabelMatcher& m = matchers_[i];
  if (m.op != LabelMatcher::Op::kRe) return std::nullopt;
  constexpr absl::string_view kMeta = ".*+?()[]{}^$\\|";
  std::vector<std::string> out;
  for (absl::string_view alt : absl::StrSplit(m.value, '|')) {
    if (alt.empty() || alt.find_first_of(kMeta) != absl::string_view::npos) return std::nullopt;
    out.emplace_back(alt);
  }
  return out;
}

}  // namespace steward::collector::tsdb
