// stewardctl services: systemd units per host with their states.
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
#include "collector/ctl/services_view.h"

namespace steward::ctl {
namespace {

absl::Status Services(CommandContext& c) {
  RETURN_IF_ERROR(CheckActiveStateFilter(c.Get("state")));
  v1::ListServicesRequest req;
  ASSIGN_OR_RETURN(std::string host, c.HostFlag());
  req.set_agent_id(host);
  req.set_active_state(c.Get("state"));
  req.set_name_contains(c.Get("name"));
  v1::ListServicesResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListServices, req, &resp));
  PrintServices(resp, c.json(), c.out());
  return absl::OkStatus();
}


}  // namespace

CommandNoun ServicesNoun() {
  return {"services", "systemd units on the hosts",
          {
              {.path = "services",
               .summary = "systemd units with their load/active/sub states",
               .flags = {HostFlagSpec(), TextFlag("state", "STATE", "only units in this active state (failed, active, ...)"),
                         TextFlag("name", "PART", "only units whose name contains PART")},
               .examples = {"services --state failed"},
               .json_keys = {"agent_id", "hostname", "unit", "load_state", "active_state", "sub_state"},
               .run = Services},
          }};
}

}  // namespace steward::ctl
