#pragma once
// `stewardctl metrics`: the query flags in the admin API's terms and the
// answer for people (a table) or scripts (JSON). Kept apart from
// commands.cc so the command file stays one screen per command.

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/admin.pb.h"

namespace steward::ctl {

// "name=value", "name!=value", "name=~regex", "name!~regex" (name:
// [A-Za-z_][A-Za-z0-9_]*). InvalidArgument naming the flag otherwise.
absl::StatusOr<v1::LabelMatcher> ParseMatcher(const std::string& text);

// True if `req` names its metrics with a `__name__` matcher (or match) with
// = or =~, so it needs no `metric`.
bool NamesMetrics(const v1::QueryMetricsRequest& req);

// Writes the answer of a query of `metric`, or, when `metric` is empty, of
// the metrics `__name__` matchers named. Raw points (`aggregated` false):
// one table row per series (metric, labels, points, last sample, value,
// rate for counters); aggregates: one row per group and bucket, with a
// METRIC column first when `metric` is empty. JSON either way: an array of
// {labels, counter, points: [[unix_seconds, value], ...]}, each with
// "metric" first when `metric` is empty.
void PrintMetrics(const v1::QueryMetricsResponse& resp, const std::string& metric, bool aggregated,
                  bool json, absl::Time now, std::ostream& out);

// "k=v,k2=v2", or "-" when there are none.
std::string LabelsText(const google::protobuf::RepeatedPtrField<v1::Label>& labels);
// A value the way tables show it: up to 6 decimals, no trailing zeros.
std::string FormatValue(double v);
// "3s ago", "now", "never".
std::string HumanAge(int64_t ms, absl::Time now);

}  // namespace steward::ctl
