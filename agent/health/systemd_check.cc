#include "agent/health/systemd_check.h"

#include "absl/strings/str_cat.h"
#include "agent/health/systemctl_show.h"
#include "common/health/check_spec.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

// "status 1", "signal 9" (ExecMainCode CLD_KILLED / CLD_DUMPED), or "".
std::string MainExit(const SystemdUnitState& st) {
  if (!st.exec_main_status) return "";
  if (st.exec_main_code == 2 || st.exec_main_code == 3) {
    return absl::StrCat("signal ", *st.exec_main_status,
                        st.exec_main_code == 3 ? " (core dumped)" : "");
  }
  return absl::StrCat("status ", *st.exec_main_status);
}

}  // namespace

SystemdCheck::SystemdCheck(
    std::string check_name, std::string unit, absl::Duration restart_window,
    std::function<absl::StatusOr<std::string>(const std::string&)> systemctl_show,
    std::shared_ptr<CoredumpStore> coredumps, std::string coredump_comm)
    : check_name_(std::move(check_name)),
      unit_(std::move(unit)),
      restart_window_(restart_window),
      systemctl_show_(std::move(systemctl_show)),
      dumps_(std::move(coredumps), absl::Now()) {
  if (!systemctl_show_) systemctl_show_ = &RunSystemctlShow;
  if (coredump_comm.empty()) {
    // "nginx.service" -> "nginx": right for most daemons; the param covers
    // the rest (ssh.service runs sshd).
    coredump_comm = unit_.substr(0, unit_.rfind('.'));
  }
  dump_comms_.insert(CommOf(coredump_comm));
}

uint64_t SystemdCheck::RestartsInWindow(absl::Time now, uint64_t n_restarts) {
  // A counter that went down (unit reset, systemd re-executed) starts over.
  if (!restarts_seen_.empty() && n_restarts < restarts_seen_.back().second) restarts_seen_.clear();
  restarts_seen_.emplace_back(now, n_restarts);
  while (!restarts_seen_.empty() && restarts_seen_.front().first < now - restart_window_) {
    restarts_seen_.pop_front();
  }
  return n_restarts - restarts_seen_.front().second;
}

CheckOutcome SystemdCheck::Run(absl::Time now) {
  CheckOutcome out;
  auto labels = CheckLabels(check_name_);
  auto text = systemctl_show_(unit_);
  if (!text.ok()) {
    out.status = v1::CheckState::DOWN;
    out.reason = absl::IsFailedPrecondition(text.status()) ? "systemd is not running on this host"
                                                           : std::string(text.status().message());
    return out;
  }
  ParseReport report;
  SystemdUnitState st = ParseSystemctlShow(*text, absl::StrCat("systemctl show ", unit_), &report);
  for (const std::string& w : report.warnings) spdlog::warn("check '{}': {}", check_name_, w);

  uint64_t restarts = 0;
  if (st.n_restarts) {
    restarts = RestartsInWindow(now, *st.n_restarts);
    out.metrics.push_back(
        {"app_unit_restarts_total", labels, static_cast<double>(*st.n_restarts), true});
  }
  const bool active = st.active_state == "active";
  out.metrics.push_back({"app_unit_active", labels, active ? 1.0 : 0.0, false});
  const std::vector<CoredumpRecord> dumps = dumps_.Recent(dump_comms_, now, restart_window_);
  out.metrics.push_back({"app_coredumps_total", labels, static_cast<double>(dumps_.total()), true});
  const std::string dumped =
      dumps.empty() ? "" : absl::StrCat("'", dumps.back().comm, "' ", DescribeRecentDumps(dumps, restart_window_));

  const std::string state =
      st.sub_state.empty() ? st.active_state : absl::StrCat(st.active_state, "/", st.sub_state);
  if (st.load_state == "not-found") {
    out.status = v1::CheckState::DOWN;
    out.reason = absl::StrCat("unit ", unit_, " not found");
  } else if (st.active_state == "failed" || st.active_state == "inactive") {
    out.status = v1::CheckState::DOWN;
    std::string detail;
    if (!st.result.empty()) detail = absl::StrCat("result ", st.result);
    if (std::string exit = MainExit(st); !exit.empty() && st.result != "success") {
      absl::StrAppend(&detail, detail.empty() ? "" : ", ", exit);
    }
    out.reason = absl::StrCat(st.active_state == "failed" ? "unit failed" : "unit inactive",
                              detail.empty() ? "" : ": ", detail);
    if (!dumped.empty()) absl::StrAppend(&out.reason, "; ", dumped);
  } else if (restarts > 0 || !dumped.empty()) {
    out.status = v1::CheckState::DEGRADED;
    if (restarts > 0) {
      out.reason =
          absl::StrCat("restarted ", restarts, restarts == 1 ? " time" : " times", " in the last ",
                       absl::FormatDuration(restart_window_), " (", state, ")");
    }
    if (!dumped.empty()) absl::StrAppend(&out.reason, out.reason.empty() ? "" : "; ", dumped);
  } else if (st.active_state == "activating" || st.active_state == "reloading" ||
             st.active_state == "deactivating") {
    out.status = v1::CheckState::DEGRADED;
    out.reason = absl::StrCat("unit ", state);
  } else if (active) {
    out.status = v1::CheckState::OK;
  } else {
    out.status = v1::CheckState::DOWN;
    out.reason = st.active_state.empty()
                     ? "systemctl show gave no ActiveState"
                     : absl::StrCat("unit in unknown state ", QuoteInput(st.active_state));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Check>> MakeSystemdCheck(const v1::CheckSpec& spec,
                                                        const CheckEnv& env) {
  std::string coredump_comm;
  if (auto it = spec.params().find("coredump_comm"); it != spec.params().end()) {
    coredump_comm = it->second;
  }
  return std::make_unique<SystemdCheck>(
      spec.name(), spec.params().at("unit"),
      CheckDurationParam(spec, "restart_window", kDefaultRestartWindow), env.systemctl_show,
      env.coredumps, std::move(coredump_comm));
}

}  // namespace steward::agent
