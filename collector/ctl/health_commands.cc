// stewardctl health: application check states per host.
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

const char* StatusName(v1::CheckState::Status s) {
  switch (s) {
    case v1::CheckState::OK: return "ok";
    case v1::CheckState::DEGRADED: return "degraded";
    case v1::CheckState::DOWN: return "down";
    default: return "unknown";
  }
}

absl::Status Health(CommandContext& c) {
  v1::ListHealthRequest req;
  ASSIGN_OR_RETURN(std::string host, c.HostFlag());
  req.set_agent_id(host);
  req.set_state(c.Get("state"));
  req.set_name(c.Get("name"));
  v1::ListHealthResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListHealth, req, &resp));
  absl::Time now = absl::Now();
  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& hc : resp.checks()) {
      const auto& s = hc.state();
      w.BeginObject()
          .Key("agent_id").String(hc.agent_id())
          .Key("hostname").String(hc.hostname())
          .Key("check").String(s.name())
          .Key("type").String(s.type())
          .Key("status").String(StatusName(s.status()))
          .Key("reason").String(s.reason())
          .Key("since").String(FormatRfc3339(absl::FromUnixMillis(s.since_ms())))
          .Key("checked").String(FormatRfc3339(absl::FromUnixMillis(s.time_ms())))
          .Key("origin").String(s.origin())
          .Key("stale").Bool(hc.stale())
          .Key("stale_reason").String(hc.stale_reason())
          .EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"HOSTNAME", "CHECK", "TYPE", "STATUS", "SINCE", "CHECKED", "REASON"});
  // Why each stale host's results may no longer hold, once per host.
  std::map<std::string, std::string> stale_hosts;
  for (const auto& hc : resp.checks()) {
    const auto& s = hc.state();
    std::string status = StatusName(s.status());
    if (hc.stale()) {
      absl::StrAppend(&status, " (stale)");
      stale_hosts.emplace(hc.hostname().empty() ? hc.agent_id() : hc.hostname(), hc.stale_reason());
    }
    t.AddRow({hc.hostname(), s.name(), s.type(), status, HumanAge(s.since_ms(), now), HumanAge(s.time_ms(), now),
              s.reason().empty() ? "-" : s.reason()});
  }
  c.out() << t.Render();
  for (const auto& [name, reason] : stale_hosts) c.out() << "stale: " << name << ": " << reason << "\n";
  if (t.size() == 0) {
    if (c.Has("state") || c.Has("name")) {
      c.out() << "(no check results match)\n";
    } else {
      c.out() << "(no checks reported; configure check.NAME.* in the agent config or 'stewardctl checks set')\n";
    }
  }
  return absl::OkStatus();
}


}  // namespace

CommandNoun HealthNoun() {
  return {"health", "application checks: ok, degraded, down",
          {
              {.path = "health",
               .summary = "application check states (ok, degraded, down) per host",
               .details = "A result is stale when its host is offline or its latest health report is older than 3\n"
                          "of its report intervals: the state shown may no longer hold (STATUS says '(stale)').",
               .flags = {HostFlagSpec(),
                         ChoiceFlag("state", {"ok", "degraded", "down", "unknown", "stale"},
                                    "only results in this state (stale: only results that may no longer hold)"),
                         TextFlag("name", "GLOB", "only checks whose name matches this glob")},
               .examples = {"health --state down", "health --host web1 --name 'http*' --json"},
               .json_keys = {"agent_id", "hostname", "check", "type", "status", "reason", "since", "checked",
                             "origin", "stale", "stale_reason"},
               .run = Health},
          }};
}

}  // namespace steward::ctl
