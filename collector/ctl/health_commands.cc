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
          .EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"HOSTNAME", "CHECK", "TYPE", "STATUS", "SINCE", "CHECKED", "REASON"});
  for (const auto& hc : resp.checks()) {
    const auto& s = hc.state();
    t.AddRow({hc.hostname(), s.name(), s.type(), StatusName(s.status()), HumanAge(s.since_ms(), now),
              HumanAge(s.time_ms(), now), s.reason().empty() ? "-" : s.reason()});
  }
  c.out() << t.Render();
  if (t.size() == 0) c.out() << "(no checks reported; configure check.NAME.* in the agent config or 'stewardctl checks set')\n";
  return absl::OkStatus();
}


}  // namespace

CommandNoun HealthNoun() {
  return {"health", "application checks: ok, degraded, down",
          {
              {.path = "health",
               .summary = "application check states (ok, degraded, down) per host",
               .flags = {HostFlagSpec()},
               .examples = {"health --host web1"},
               .json_keys = {"agent_id", "hostname", "check", "type", "status", "reason", "since", "checked",
                             "origin"},
               .run = Health},
          }};
}

}  // namespace steward::ctl
