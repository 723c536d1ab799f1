// stewardctl changes: what was added, removed, upgraded or rolled back, on
// which host, when, and by which job (or out of band).
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
#include "common/inventory/inventory_diff.h"

namespace steward::ctl {
namespace {

absl::Status Changes(CommandContext& c) {
  const absl::Duration since = c.Duration("since");
  v1::ListChangesRequest req;
  ASSIGN_OR_RETURN(std::string host, c.HostFlag());
  req.set_agent_id(host);
  req.set_since_ms(absl::ToUnixMillis(absl::Now() - since));
  req.set_name(c.Get("name"));
  req.set_source(c.Get("source"));
  if (c.Get("cause") == "job") req.set_cause(v1::CHANGE_CAUSE_JOB);
  if (c.Get("cause") == "other") req.set_cause(v1::CHANGE_CAUSE_OTHER);
  v1::ListChangesResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListChanges, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& hc : resp.changes()) {
      const auto& ch = hc.change();
      w.BeginObject()
          .Key("agent_id").String(hc.agent_id())
          .Key("hostname").String(hc.hostname())
          .Key("time").String(FormatRfc3339(absl::FromUnixMillis(ch.time_ms())))
          .Key("source").String(ch.source())
          .Key("name").String(ch.name())
          .Key("arch").String(ch.arch())
          .Key("change").String(ChangeKindName(ch.kind()))
          .Key("old_version").String(ch.old_version())
          .Key("new_version").String(ch.new_version())
          .Key("cause").String(ch.job_id().empty() ? "other" : "job")
          .Key("job_id").String(ch.job_id())
          .Key("deployment_id").String(ch.deployment_id());
      if (!ch.attempted_version().empty()) w.Key("attempted_version").String(ch.attempted_version());
      if (!ch.location().empty()) w.Key("location").String(ch.location());
      w.EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"TIME", "HOSTNAME", "SOURCE", "NAME", "CHANGE", "OLD VERSION", "NEW VERSION", "CAUSE"});
  for (const auto& hc : resp.changes()) {
    const auto& ch = hc.change();
    std::string change = ChangeKindName(ch.kind());
    if (!ch.attempted_version().empty()) absl::StrAppend(&change, " (tried ", ch.attempted_version(), ")");
    std::string cause = "other";
    if (!ch.job_id().empty()) {
      cause = absl::StrCat("job ", ch.job_id(), ch.deployment_id().empty() ? "" : " (deployment ",
                           ch.deployment_id(), ch.deployment_id().empty() ? "" : ")");
    }
    t.AddRow({FormatRfc3339(absl::FromUnixMillis(ch.time_ms())), hc.hostname(), ch.source(), ch.name(), change,
              ch.old_version().empty() ? "-" : ch.old_version(), ch.new_version().empty() ? "-" : ch.new_version(),
              cause});
  }
  c.out() << t.Render();
  if (t.size() == 0) c.out() << "(no changes in the last " << c.Get("since") << ")\n";
  if (resp.truncated()) c.out() << "(older changes were cut off; narrow with --since or --host)\n";
  return absl::OkStatus();
}


}  // namespace

CommandNoun ChangesNoun() {
  return {"changes", "inventory change history",
          {
              {.path = "changes",
               .summary = "inventory changes (added, removed, upgraded, rolled back) with the job that made each",
               .flags = {HostFlagSpec(), DurationFlag("since", "how far back", "24h"),
                         ChoiceFlag("cause", {"job", "other"},
                                    "job: only changes Steward's jobs made; other: only out-of-band ones"),
                         TextFlag("name", "GLOB", "only changes of packages whose name matches this glob"),
                         SourceFlagSpec()},
               .examples = {"changes --since 7d --cause other", "changes --name 'openssl*' --host web1"},
               .json_keys = {"agent_id", "hostname", "time", "source", "name", "change", "old_version",
                             "new_version", "cause", "job_id", "deployment_id"},
               .run = Changes},
          }};
}

}  // namespace steward::ctl
