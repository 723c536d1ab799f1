// stewardctl metrics: a host's metric names, samples of one metric, or
// aggregates over hosts and time; and compaction of the time series.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/ctl/arg_text.h"
#include "collector/ctl/command.h"
#include "collector/ctl/metrics_view.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

absl::Status Metrics(CommandContext& c) {
  if (c.Bool("compact")) {
    v1::CompactMetricsResponse resp;
    RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::CompactMetrics, v1::CompactMetricsRequest(), &resp));
    if (c.json()) {
      JsonWriter w;
      w.BeginObject()
          .Key("data_bytes").Uint(resp.data_bytes())
          .Key("rollup_bytes").Uint(resp.rollup_bytes())
          .Key("index_bytes").Uint(resp.index_bytes())
          .Key("wal_bytes").Uint(resp.wal_bytes())
          .Key("head_bytes").Uint(resp.head_bytes())
          .Key("active_series").Uint(resp.active_series())
          .EndObject();
      c.out() << w.str() << "\n";
    } else {
      c.out() << "time series compacted: data " << resp.data_bytes() << " bytes, rollups " << resp.rollup_bytes()
           << " bytes, index " << resp.index_bytes()
           << " bytes, WAL " << resp.wal_bytes() << " bytes; heads " << resp.head_bytes() << " bytes in "
           << resp.active_series() << " series\n";
    }
    return absl::OkStatus();
  }
  if (c.Bool("list")) {
    if (!c.Has("host")) {
      return absl::InvalidArgumentError("metrics --list needs --host HOST (see 'stewardctl hosts')");
    }
    ASSIGN_OR_RETURN(std::string host, c.HostFlag());
    v1::ListMetricNamesRequest req;
    req.set_agent_id(host);
    v1::ListMetricNamesResponse resp;
    RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListMetricNames, req, &resp));
    if (c.json()) {
      JsonWriter w;
      w.BeginArray();
      for (const auto& n : resp.names()) w.String(n);
      w.EndArray();
      c.out() << w.str() << "\n";
    } else {
      for (const auto& n : resp.names()) c.out() << n << "\n";
    }
    return absl::OkStatus();
  }
  v1::QueryMetricsRequest req;
  ASSIGN_OR_RETURN(auto labels, ParseLabels(c.List("label")));
  for (auto& l : labels) *req.add_match() = std::move(l);
  for (const std::string& m : c.List("match")) {
    ASSIGN_OR_RETURN(*req.add_matchers(), ParseMatcher(m));
  }
  if (c.Get("metric").empty() && !NamesMetrics(req)) {
    return absl::InvalidArgumentError(
        "metrics needs --metric NAME or --match '__name__=~REGEX', or --list to see the names");
  }
  const absl::Duration since = c.Duration("since");
  req.set_metric(c.Get("metric"));
  absl::Time now = absl::Now();
  req.set_start_ms(absl::ToUnixMillis(now - since));
  req.set_end_ms(absl::ToUnixMillis(now));
  req.set_agg(c.Get("agg"));
  if (c.Has("step")) {
    const absl::Duration step = c.Duration("step");
    req.set_step_ms(absl::ToInt64Milliseconds(step));
  }
  for (absl::string_view by : absl::StrSplit(c.Get("by"), ',', absl::SkipEmpty())) req.add_group_by(std::string(by));
  if (!c.Get("top").empty()) {
    uint32_t top = 0;
    if (!absl::SimpleAtoi(c.Get("top"), &top) || top == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--top '", c.Get("top"), "' must be a whole number above 0"));
    }
    req.set_top_k(top);
  }
  req.set_last_point(c.Bool("last"));
  req.set_value_filter(c.Get("filter"));
  // Everything above is checked without a round trip; the host last.
  ASSIGN_OR_RETURN(std::string host, c.HostFlag());
  req.set_agent_id(host);
  v1::QueryMetricsResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::QueryMetrics, req, &resp));
  const bool aggregated = !c.Get("agg").empty() && c.Get("agg") != "none";
  PrintMetrics(resp, c.Get("metric"), aggregated, c.json(), now, c.out());
  return absl::OkStatus();
}


}  // namespace

CommandNoun MetricsNoun() {
  return {"metrics", "time series the agents report",
          {
              {.path = "metrics",
               .summary = "samples of one metric, or aggregates per group and step",
               .details = "Without --host: every host (label 'agent'). --match also takes != =~ !~;\n"
                          "--match '__name__=~RE' instead of --metric selects several metrics, --by __name__\n"
                          "groups per metric. --list: the metric names of one host. --compact: persist the\n"
                          "in-memory samples, compact, show the sizes.",
               .flags = {HostFlagSpec(), TextFlag("metric", "NAME", "the metric"),
                         DurationFlag("since", "how far back", "15m"),
                         RepeatedFlag("label", "KEY=VALUE", "only series with this label"),
                         RepeatedFlag("match", "MATCHER", "label matcher: k=v, k!=v, k=~re, k!~re"),
                         ChoiceFlag("agg", {"none", "avg", "min", "max", "sum", "count", "last", "p50", "p90", "p99",
                                            "rate", "increase"},
                                    "aggregate per group and step"),
                         DurationFlag("step", "bucket width (default: the whole range)"),
                         TextFlag("by", "LABEL,...", "group by these labels"),
                         TextFlag("top", "K", "keep the K largest groups"),
                         TextFlag("filter", "OP VALUE", "keep groups whose value passes, e.g. '> 90'"),
                         BoolFlag("last", "only the latest sample of each series"),
                         BoolFlag("list", "list the metric names a host reports (needs --host)"),
                         BoolFlag("compact", "persist and compact the time series, show sizes")},
               .examples = {"metrics --metric cpu_usage_percent --agg avg --step 5m --by agent --top 5"},
               .run = Metrics},
          }};
}

}  // namespace steward::ctl
