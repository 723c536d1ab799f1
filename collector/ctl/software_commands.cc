// stewardctl software: installed software on every host (or one), by name.
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
#include "common/inventory/package_names.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

absl::Status Software(CommandContext& c) {
  v1::ListSoftwareRequest req;
  ASSIGN_OR_RETURN(std::string host, c.HostFlag());
  req.set_agent_id(host);
  req.set_name(c.Get("name"));
  req.set_source(c.Get("source"));
  v1::ListSoftwareResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListSoftware, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& hs : resp.items()) {
      const auto& i = hs.item();
      w.BeginObject()
          .Key("agent_id").String(hs.agent_id())
          .Key("hostname").String(hs.hostname())
          .Key("source").String(i.source())
          .Key("name").String(i.name())
          .Key("version").String(i.version())
          .Key("arch").String(i.arch())
          .Key("vendor").String(i.vendor())
          .Key("size_bytes").Uint(i.size_bytes())
          .EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"HOSTNAME", "AGENT ID", "SOURCE", "NAME", "VERSION", "ARCH"});
  for (const auto& hs : resp.items()) {
    const auto& i = hs.item();
    t.AddRow({hs.hostname(), hs.agent_id(), i.source(), i.name(), i.version(), i.arch()});
  }
  c.out() << t.Render();
  if (t.size() == 0) c.out() << "(no software matches)\n";
  return absl::OkStatus();
}


}  // namespace

CommandNoun SoftwareNoun() {
  return {"software", "installed software, from every package source",
          {
              {.path = "software",
               .summary = "list installed software",
               .details = "--name is a glob ('libssl*', 'python3-?', '[a-c]*'); a name without *, ? or [ matches only\n"
                          "itself. pip and npm names match without regard to case, the other sources' exactly.",
               .flags = {HostFlagSpec(), TextFlag("name", "GLOB", "only packages whose name matches this glob"),
                         SourceFlagSpec()},
               .examples = {"software --name 'libssl*'", "software --source pip --name django --json",
                            "software --host web1"},
               .json_keys = {"agent_id", "hostname", "source", "name", "version", "arch"},
               .run = Software},
          }};
}

}  // namespace steward::ctl
