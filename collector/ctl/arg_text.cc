#include "collector/ctl/arg_text.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/duration.h"

namespace steward::ctl {

absl::StatusOr<std::vector<v1::Label>> ParseLabels(const std::vector<std::string>& raw, const std::string& flag) {
  std::vector<v1::Label> out;
  for (const auto& l : raw) {
    size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " '", l, "' must look like key=value"));
    }
    v1::Label label;
    label.set_name(l.substr(0, eq));
    label.set_value(l.substr(eq + 1));
    out.push_back(std::move(label));
  }
  return out;
}

void LabelsJson(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Label>& labels) {
  w.BeginObject();
  for (const auto& l : labels) w.Key(l.name()).String(l.value());
  w.EndObject();
}

absl::Status PointAt(const absl::Status& st, const std::string& expr) {
  std::string msg(st.message());
  size_t at = msg.find("position ");
  size_t pos = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(msg.substr(at + 9, msg.find(':', at) - at - 9), &pos) || pos == 0 ||
      pos > expr.size() + 1 || expr.find('\n') != std::string::npos) {
    return st;
  }
  return absl::Status(st.code(), absl::StrCat(msg, "\n  ", expr, "\n  ", std::string(pos - 1, ' '), "^"));
}

std::string UnixTime(int64_t unix_seconds) {
  return unix_seconds > 0 ? FormatRfc3339(absl::FromUnixSeconds(unix_seconds)) : "";
}

}  // namespace steward::ctl
