#pragma once
// `stewardctl metrics`: the query flags in the admin API's terms and the
// answer for people (a table) or scripts (JSON). Kept apart from
// commands.cc so the command file stays one screen per command.

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
// METRIC column first when `metric` is empty. Tables show values in the
// unit the metric's name and the answer's aggregation give (UnitOf). JSON
// either way, raw numbers: an array of {labels, counter, points:
// [[unix_seconds, value], ...]} (times as plain numbers, with a fraction
// only for sub-second samples), each with "metric" first when `metric` is
// empty.
void PrintMetrics(const v1::QueryMetricsResponse& resp, const std::string& metric, bool aggregated,
                  bool json, absl::Time now, std::ostream& out);

// What the values of a metric are, by Prometheus's base-unit suffixes of its
// name: `_bytes` (and `_bytes_total`) bytes, `_seconds` (and
// `_seconds_total`) a duration, but `_time_seconds` and
// `_timestamp_seconds` a Unix time.
enum class ValueUnit {
  kNone,
  kBytes,
  kBytesPerSecond,
  kSeconds,
  kUnixTime,
};

// The unit of `metric`'s values after aggregation `agg` (a
// QueryMetricsResponse's agg; "none" or "" for raw samples): a count has
// none, a rate of bytes is bytes per second, a rate of seconds is a ratio
// (none), and a sum or rate of Unix times means nothing (none).
ValueUnit UnitOf(absl::string_view metric, absl::string_view agg);

// `v` for a table in `unit`: bytes in binary multiples ("512 B", "1.5 KiB",
// "7.8 GiB"), bytes per second the same with "/s", durations in the
// largest unit that keeps them above 1 ("250 ms", "3.2 s", "4.5 min",
// "2.1 h", "3.4 d"; "0.012 ms" below a millisecond), Unix times in RFC 3339;
// FormatValue for kNone and for
// NaN or infinities.
std::string FormatInUnit(double v, ValueUnit unit);

// "k=v,k2=v2", or "-" when there are none.
std::string LabelsText(const google::protobuf::RepeatedPtrField<v1::Label>& labels);
// A value the way tables show it: up to 6 decimals, no trailing zeros.
std::string FormatValue(double v);
// "3s ago", "now", "never".
std::string HumanAge(int64_t ms, absl::Time now);

}  // namespace steward::ctl
