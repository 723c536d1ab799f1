#include "collector/ctl/services_view.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/json_writer.h"

namespace steward::ctl {
namespace {

// systemd's ActiveState values (systemd.unit(5), "ActiveState").
constexpr const char* kActiveStates[] = {"active",     "reloading",    "inactive",   "failed",
                                         "activating", "deactivating", "maintenance"};

void Note(std::ostream& out, const google::protobuf::RepeatedPtrField<std::string>& hosts, absl::string_view what) {
  if (hosts.empty()) return;
  out << "(" << hosts.size() << " host(s) " << what << ": " << absl::StrJoin(hosts, ", ") << ")\n";
}

}  // namespace

absl::Status CheckActiveStateFilter(const std::string& state) {
  if (state.empty() || std::find(std::begin(kActiveStates), std::end(kActiveStates), state) != std::end(kActiveStates)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("--state '", state, "' is not a systemd active state; use one of ",
                                                 absl::StrJoin(kActiveStates, ", ")));
}

void PrintServices(const v1::ListServicesResponse& resp, bool json, std::ostream& out) {
  if (json) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& hs : resp.services()) {
      const auto& u = hs.unit();
      w.BeginObject()
          .Key("agent_id").String(hs.agent_id())
          .Key("hostname").String(hs.hostname())
          .Key("unit").String(u.name())
          .Key("load_state").String(u.load_state())
          .Key("active_state").String(u.active_state())
          .Key("sub_state").String(u.sub_state())
          .Key("unit_file_state").String(u.unit_file_state())
          .Key("description").String(u.description())
          .Key("reported").String(FormatRfc3339(absl::FromUnixMillis(hs.reported_ms())))
          .EndObject();
    }
    w.EndArray();
    out << w.str() << "\n";
    return;
  }
  Table t({"HOST", "UNIT", "LOAD", "ACTIVE", "SUB", "ENABLED", "DESCRIPTION"});
  for (const auto& hs : resp.services()) {
    const auto& u = hs.unit();
    t.AddRow({hs.hostname().empty() ? hs.agent_id() : hs.hostname(), u.name(), u.load_state(), u.active_state(),
              u.sub_state(), u.unit_file_state().empty() ? "-" : u.unit_file_state(),
              u.description().empty() ? "-" : u.description()});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no units match)\n";
  Note(out, resp.hosts_without_systemd(), "without systemd");
  Note(out, resp.hosts_not_reporting(),
       "with no service report yet (agent older than the services inventory, or services.enabled = false)");
}

}  // namespace steward::ctl
