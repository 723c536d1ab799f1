// Store: the services inventory (latest systemd units per agent).
#include <map>

#include "collector/storage/keys.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/log_format.h"
#include "common/wire/agent_text.h"
#include "common/status_macros.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
using internal_store::FromRocks;

absl::Status Store::ApplyServiceReport(const std::string& agent_id, const v1::ServiceReport& report, int64_t now_ms,
                                       internal::AgentRecord* rec, rocksdb::WriteBatch* batch) {
  // The stored units before this report, to log the units that just failed
  // or recovered (ops want those in the collector's log too).
  ASSIGN_OR_RETURN(std::vector<v1::ServiceUnit> before, ListServices(agent_id));
  std::map<std::string, std::string> was;
  for (auto& u : before) was.emplace(u.name(), u.active_state());

  std::string prefix = keys::AgentPrefix(agent_id);
  RETURN_IF_ERROR(FromRocks(batch->DeleteRange(services_, prefix, keys::PrefixEnd(prefix)), "batch"));
  for (const auto& u : report.units()) {
    RETURN_IF_ERROR(FromRocks(batch->Put(services_, prefix + u.name(), u.SerializeAsString()), "batch"));
    auto it = was.find(u.name());
    if (it == was.end() || it->second == u.active_state()) continue;
    if (u.active_state() == "failed" || it->second == "failed") {
      spdlog::info("agent {} ({}): unit {} {} -> {} ({})", agent_id, EscapeForDisplay(rec->facts().hostname()),
                   EscapeForDisplay(u.name()), it->second, u.active_state(), u.sub_state());
    }
  }
  if (rec->services_reported_ms() > 0 && rec->systemd_present() != report.systemd_present()) {
    spdlog::info("agent {}: systemd is {} running", agent_id, report.systemd_present() ? "now" : "no longer");
  }
  rec->set_systemd_present(report.systemd_present());
  rec->set_services_reported_ms(now_ms);
  return absl::OkStatus();
}

}  // namespace steward::collector
