#pragma once
// Argument text stewardctl's nouns share: key=value labels, a target
// expression's error pointed at, labels and times in output.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/json_writer.h"
#include "steward/v1/types.pb.h"

namespace steward::ctl {

// "k=v" words of a repeated flag (`flag` names it in errors: "--label").
absl::StatusOr<std::vector<v1::Label>> ParseLabels(const std::vector<std::string>& raw,
                                                   const std::string& flag = "--label");

// {"k": "v", ...}
void LabelsJson(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Label>& labels);

// A target expression's error with the expression below it and a caret
// under the position the message names ("target expression, position N:").
absl::Status PointAt(const absl::Status& st, const std::string& expr);

// RFC 3339 of a Unix time in seconds, "" for 0.
std::string UnixTime(int64_t unix_seconds);

}  // namespace steward::ctl
