// `stewardctl metrics` output: one metric keeps the shapes scripts parse;
// a query whose metrics `__name__` matchers name says each series' metric.

#include "collector/ctl/metrics_view.h"

#include <cmath>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace steward::ctl {
namespace {

constexpr int64_t kT = 1'700'000'123'000;  // 2023-11-14T22:15:23Z

void AddSeries(v1::QueryMetricsResponse* resp, const std::string& name, const std::string& host,
               double value) {
  v1::Series* s = resp->add_series();
  s->set_name(name);
  v1::Label* l = s->add_labels();
  l->set_name("host");
  l->set_value(host);
  v1::Point* p = s->add_points();
  p->set_time_ms(kT);
  p->set_value(value);
}

std::string Print(const v1::QueryMetricsResponse& resp, const std::string& metric, bool aggregated,
                  bool json) {
  std::ostringstream out;
  PrintMetrics(resp, metric, aggregated, json, absl::FromUnixMillis(kT + 5000), out);
  return out.str();
}

TEST(PrintMetrics, OneMetricKeepsItsShapes) {
  v1::QueryMetricsResponse resp;
  AddSeries(&resp, "cpu_user", "a", 1.5);
  EXPECT_EQ(Print(resp, "cpu_user", true, false),
            "GROUP   TIME                  VALUE\n"
            "host=a  2023-11-14T22:15:23Z  1.5\n");
  EXPECT_EQ(Print(resp, "cpu_user", true, true),
            "[\n  {\n    \"labels\": {\n      \"host\": \"a\"\n    },\n    \"counter\": false,\n"
            "    \"points\": [\n      [1700000123, 1.5]\n    ]\n  }\n]\n");
  EXPECT_EQ(Print(v1::QueryMetricsResponse(), "cpu_user", true, false),
            "GROUP  TIME  VALUE\n(no samples of cpu_user match)\n");
}

TEST(PrintMetrics, SeveralMetricsShowEachSeriesMetric) {
  v1::QueryMetricsResponse resp;
  AddSeries(&resp, "cpu_system", "a", 2);
  AddSeries(&resp, "cpu_user", "a", 1.5);
  AddSeries(&resp, "", "b", 3);  // an aggregate over several metrics
  EXPECT_EQ(Print(resp, "", true, false),
            "METRIC      GROUP   TIME                  VALUE\n"
            "cpu_system  host=a  2023-11-14T22:15:23Z  2\n"
            "cpu_user    host=a  2023-11-14T22:15:23Z  1.5\n"
            "-           host=b  2023-11-14T22:15:23Z  3\n");
  std::string json = Print(resp, "", false, true);
  EXPECT_TRUE(absl::StartsWith(json, "[\n  {\n    \"metric\": \"cpu_system\",\n    \"labels\": {"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"metric\": \"cpu_user\",")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"metric\": \"\",")) << json;
  // Raw series: the METRIC column is there for one metric or several.
  std::string raw = Print(resp, "", false, false);
  EXPECT_TRUE(absl::StartsWith(raw,
                               "METRIC      LABELS  POINTS  LAST SAMPLE  VALUE  RATE/S\n"
                               "cpu_system  host=a  1       5s ago       2      -\n"))
      << raw;
  EXPECT_EQ(Print(v1::QueryMetricsResponse(), "", false, false),
            "METRIC  LABELS  POINTS  LAST SAMPLE  VALUE  RATE/S\n(no samples match)\n");
}

// One series `name` with points (time_ms, value).
v1::Series* AddPoints(v1::QueryMetricsResponse* resp, const std::string& name,
                      std::vector<std::pair<int64_t, double>> points, bool counter = false) {
  v1::Series* s = resp->add_series();
  s->set_name(name);
  s->set_counter(counter);
  for (auto [t, v] : points) {
    v1::Point* p = s->add_points();
    p->set_time_ms(t);
    p->set_value(v);
  }
  return s;
}

TEST(PrintMetrics, JsonTimesArePlainNumbers) {
  v1::QueryMetricsResponse resp;
  resp.set_agg("avg");
  // 2026-12-06T12:33:00Z: a whole minute, which %g wrote as 1.79659878e+09.
  AddPoints(&resp, "host_load1", {{1'796'598'780'000, 0.5}, {1'796'598'790'250, 1e10}});
  std::string json = Print(resp, "host_load1", true, true);
  EXPECT_TRUE(absl::StrContains(json, "[1796598780, 0.5]")) << json;
  EXPECT_TRUE(absl::StrContains(json, "[1796598790.25, 10000000000]")) << json;
  EXPECT_FALSE(absl::StrContains(json, "e+")) << json;
}

TEST(PrintMetrics, TablesShowBytesAndDurationsInHumanUnitsJsonKeepsRawNumbers) {
  v1::QueryMetricsResponse resp;
  resp.set_agg("avg");
  AddPoints(&resp, "host_memory_total_bytes", {{kT, 8'312'000'000}});
  std::string table = Print(resp, "host_memory_total_bytes", true, false);
  EXPECT_TRUE(absl::StrContains(table, "  7.7 GiB\n")) << table;
  EXPECT_TRUE(absl::StrContains(Print(resp, "host_memory_total_bytes", true, true), "8312000000]")) << table;

  v1::QueryMetricsResponse latency;
  latency.set_agg("p99");
  AddPoints(&latency, "app_check_latency_seconds", {{kT, 0.25}, {kT + 60'000, 95}});
  table = Print(latency, "app_check_latency_seconds", true, false);
  EXPECT_TRUE(absl::StrContains(table, "  250 ms\n")) << table;
  EXPECT_TRUE(absl::StrContains(table, "  1.6 min\n")) << table;
  EXPECT_TRUE(absl::StrContains(Print(latency, "app_check_latency_seconds", true, true), "0.25]")) << table;

  // A count has no unit; a rate of bytes is per second.
  latency.set_agg("count");
  EXPECT_TRUE(absl::EndsWith(Print(latency, "app_check_latency_seconds", true, false), "  95\n"));
  v1::QueryMetricsResponse rate;
  rate.set_agg("rate");
  AddPoints(&rate, "host_network_receive_bytes_total", {{kT, 1536 * 1024}});
  EXPECT_TRUE(absl::EndsWith(Print(rate, "host_network_receive_bytes_total", true, false), "  1.5 MiB/s\n"));

  // Raw series: the value and the counter's rate in units.
  auto raw_table = [](const std::string& name, std::vector<std::pair<int64_t, double>> points, bool counter) {
    v1::QueryMetricsResponse raw;
    raw.set_agg("none");
    AddPoints(&raw, name, std::move(points), counter);
    return Print(raw, "", false, false);
  };
  table = raw_table("host_network_receive_bytes_total", {{kT - 10'000, 1000}, {kT, 1000 + 10 * 2048}}, true);
  EXPECT_TRUE(absl::EndsWith(table, "  21 KiB  2 KiB/s\n")) << table;
  table = raw_table("host_boot_time_seconds", {{kT, 1'700'000'000}}, false);
  EXPECT_TRUE(absl::EndsWith(table, "  2023-11-14T22:13:20Z  -\n")) << table;
  table = raw_table("host_uptime_seconds", {{kT, 3 * 86400 + 12 * 3600}}, false);
  EXPECT_TRUE(absl::EndsWith(table, "  3.5 d  -\n")) << table;
  // An answer without agg (a collector from before it): plain numbers.
  v1::QueryMetricsResponse old;
  AddPoints(&old, "host_memory_total_bytes", {{kT, 8'312'000'000}});
  EXPECT_TRUE(absl::EndsWith(Print(old, "host_memory_total_bytes", true, false), "  8312000000\n"));
}

TEST(ValueUnits, FromTheMetricNameAndTheAggregation) {
  EXPECT_EQ(UnitOf("host_memory_used_bytes", "none"), ValueUnit::kBytes);
  EXPECT_EQ(UnitOf("host_disk_read_bytes_total", "increase"), ValueUnit::kBytes);
  EXPECT_EQ(UnitOf("host_disk_read_bytes_total", "rate"), ValueUnit::kBytesPerSecond);
  EXPECT_EQ(UnitOf("host_cpu_seconds_total", "max"), ValueUnit::kSeconds);
  EXPECT_EQ(UnitOf("host_cpu_seconds_total", "rate"), ValueUnit::kNone);  // CPUs busy
  EXPECT_EQ(UnitOf("host_boot_time_seconds", "last"), ValueUnit::kUnixTime);
  EXPECT_EQ(UnitOf("host_boot_time_seconds", "sum"), ValueUnit::kNone);
  EXPECT_EQ(UnitOf("host_memory_used_bytes", "count"), ValueUnit::kNone);
  EXPECT_EQ(UnitOf("host_load1", "avg"), ValueUnit::kNone);

  EXPECT_EQ(FormatInUnit(512, ValueUnit::kBytes), "512 B");
  EXPECT_EQ(FormatInUnit(1536, ValueUnit::kBytes), "1.5 KiB");
  EXPECT_EQ(FormatInUnit(-3.0 * (1 << 20), ValueUnit::kBytes), "-3 MiB");
  EXPECT_EQ(FormatInUnit(0.000012, ValueUnit::kSeconds), "0.012 ms");
  EXPECT_EQ(FormatInUnit(0, ValueUnit::kSeconds), "0 s");
  EXPECT_EQ(FormatInUnit(2.5, ValueUnit::kSeconds), "2.5 s");
  EXPECT_EQ(FormatInUnit(7200, ValueUnit::kSeconds), "2 h");
  EXPECT_EQ(FormatInUnit(std::nan(""), ValueUnit::kBytes), FormatValue(std::nan("")));
}

TEST(NamesMetrics, NeedsANameMatcherWithEqOrRe) {
  v1::QueryMetricsRequest req;
  EXPECT_FALSE(NamesMetrics(req));
  ASSERT_TRUE(ParseMatcher("host=~a|b").ok());
  *req.add_matchers() = *ParseMatcher("host=~a|b");
  *req.add_matchers() = *ParseMatcher("__name__!~cpu_.*");
  *req.add_matchers() = *ParseMatcher("__name__!=mem");
  EXPECT_FALSE(NamesMetrics(req));
  *req.add_matchers() = *ParseMatcher("__name__=~cpu_(user|system)");
  EXPECT_TRUE(NamesMetrics(req));
  EXPECT_EQ(req.matchers(3).name(), "__name__");
  EXPECT_EQ(req.matchers(3).value(), "cpu_(user|system)");
  v1::QueryMetricsRequest eq;
  *eq.add_matchers() = *ParseMatcher("__name__=mem");
  EXPECT_TRUE(NamesMetrics(eq));
  v1::QueryMetricsRequest label;
  v1::Label* l = label.add_match();
  l->set_name("__name__");
  l->set_value("mem");
  EXPECT_TRUE(NamesMetrics(label));
}

}  // namespace
}  // namespace steward::ctl
