// `stewardctl metrics` output: one metric keeps the shapes scripts parse;
// a query whose metrics `__name__` matchers name says each series' metric.

#include "collector/ctl/metrics_view.h"

#include <sstream>
#include <string>

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
