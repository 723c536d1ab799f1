// AdminService: check states (stewardctl health). Each host's states are
// what its latest health report said; they are stale when the host is not
// connected, or when that report is older than kStaleAfterReportIntervals
// of the host's report interval (common/health/report_interval.h).
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/service/admin_service.h"
#include "collector/service/session_registry.h"
#include "collector/storage/store.h"
#include "common/duration.h"
#include "common/health/report_interval.h"
#include "common/status_macros.h"

namespace steward::collector {
namespace {

// ListHealthRequest.state: the accepted names and what each selects.
struct StateFilter {
  const char* name;
  v1::CheckState::Status status;  // for the status names
  bool stale;                     // "stale": stale results, any status
};
constexpr StateFilter kStateFilters[] = {
    {"ok", v1::CheckState::OK, false},
    {"degraded", v1::CheckState::DEGRADED, false},
    {"down", v1::CheckState::DOWN, false},
    {"unknown", v1::CheckState::STATUS_UNSPECIFIED, false},
    {"stale", v1::CheckState::STATUS_UNSPECIFIED, true},
};

absl::StatusOr<std::optional<StateFilter>> StateFilterOf(const std::string& state) {
  if (state.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const StateFilter& f : kStateFilters) {
    if (state == f.name) return f;
    names.push_back(f.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown check state '", state.substr(0, 40), "'; use one of ", absl::StrJoin(names, ", ")));
}

// Why the host's check states may no longer hold; empty when they do.
std::string StaleReason(const internal::AgentRecord& rec, bool connected, absl::Time now) {
  if (!connected) {
    if (rec.last_seen_ms() == 0) return "host has not connected since it enrolled";
    return absl::StrCat("host offline since ", FormatRfc3339(absl::FromUnixMillis(rec.last_seen_ms())));
  }
  const absl::Duration interval = rec.health_report_interval_ms() > 0
                                      ? absl::Milliseconds(rec.health_report_interval_ms())
                                      : kDefaultHealthReportInterval;
  if (rec.health_reported_ms() == 0) return "no health report from this host since the collector was upgraded";
  const absl::Duration age = now - absl::FromUnixMillis(rec.health_reported_ms());
  if (age <= kStaleAfterReportIntervals * interval) return "";
  return absl::StrCat("last health report ", absl::FormatDuration(absl::Trunc(age, absl::Seconds(1))),
                      " ago (expected every ", absl::FormatDuration(interval), ")");
}

}  // namespace

absl::Status AdminServiceImpl::DoListHealth(const v1::ListHealthRequest& req, v1::ListHealthResponse* resp) {
  ASSIGN_OR_RETURN(const std::optional<StateFilter> state, StateFilterOf(req.state()));
  ASSIGN_OR_RETURN(const std::optional<Glob> name, NameFilter(req.name()));
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, SelectAgents(req.agent_id()));
  const absl::Time now = deps_.now();
  for (const auto& rec : agents) {
    ASSIGN_OR_RETURN(auto states, deps_.store->ListHealth(rec.agent_id()));
    if (states.empty()) continue;
    const std::string stale_reason = StaleReason(rec, deps_.sessions->IsConnected(rec.agent_id()), now);
    const bool stale = !stale_reason.empty();
    for (auto& s : states) {
      if (name && !name->Matches(s.name())) continue;
      if (state && (state->stale ? !stale : s.status() != state->status)) continue;
      v1::HostCheck* hc = resp->add_checks();
      hc->set_agent_id(rec.agent_id());
      hc->set_hostname(rec.facts().hostname());
      hc->set_stale(stale);
      hc->set_stale_reason(stale_reason);
      *hc->mutable_state() = std::move(s);
    }
  }
  return absl::OkStatus();
}

}  // namespace steward::collector
