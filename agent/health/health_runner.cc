#include "agent/health/health_runner.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/health/check_spec.h"
#include "common/log_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace steward::agent {

// One active check. `spec`, `origin` and `check` are fixed at creation; the
// run state is touched only by RunAll under run_mu_.
struct HealthRunner::Slot {
  v1::CheckSpec spec;
  std::string origin;
  std::unique_ptr<Check> check;
  bool has_run = false;
  v1::CheckState::Status status = v1::CheckState::STATUS_UNSPECIFIED;
  int64_t since_ms = 0;
};

HealthRunner::HealthRunner(CheckEnv env) : env_(std::move(env)) {}
HealthRunner::~HealthRunner() = default;

absl::Status HealthRunner::SetChecks(std::vector<v1::CheckSpec> config_checks,
                                     std::vector<v1::CheckSpec> pushed_checks) {
  std::map<std::string, std::pair<v1::CheckSpec, std::string>> wanted;  // name -> spec, origin
  for (v1::CheckSpec& spec : config_checks) {
    if (auto s = ValidateCheckSpec(spec); !s.ok()) return s;
    std::string name = spec.name();
    if (!wanted.emplace(name, std::make_pair(std::move(spec), "config")).second) {
      return absl::InvalidArgumentError(absl::StrCat("check '", name, "' is defined twice"));
    }
  }
  std::vector<std::string> errors;
  std::map<std::string, bool> pushed_seen;
  for (v1::CheckSpec& spec : pushed_checks) {
    if (auto s = ValidateCheckSpec(spec); !s.ok()) {
      errors.push_back(absl::StrCat("pushed check skipped: ", s.message()));
      continue;
    }
    auto it = wanted.find(spec.name());
    if (it != wanted.end()) {
      errors.push_back(absl::StrCat("pushed check '", spec.name(), "' skipped: ",
                                    it->second.second == "config"
                                        ? "the agent config defines a check of that name"
                                        : "pushed twice; the first one is used"));
      continue;
    }
    std::string name = spec.name();
    wanted.emplace(name, std::make_pair(std::move(spec), "collector"));
  }

  // Reuse unchanged slots so their state survives; build the others.
  std::map<std::string, std::shared_ptr<Slot>> current;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& slot : slots_) current.emplace(slot->spec.name(), slot);
  }
  std::vector<std::shared_ptr<Slot>> next;
  for (auto& [name, entry] : wanted) {
    auto& [spec, origin] = entry;
    auto it = current.find(name);
    if (it != current.end() && it->second->origin == origin &&
        google::protobuf::util::MessageDifferencer::Equals(it->second->spec, spec)) {
      next.push_back(it->second);
      continue;
    }
    auto check = MakeCheck(spec, env_);
    if (!check.ok()) {
      if (origin == "config") return check.status();
      errors.push_back(absl::StrCat("pushed check skipped: ", check.status().message()));
      continue;
    }
    auto slot = std::make_shared<Slot>();
    slot->spec = std::move(spec);
    slot->origin = origin;
    slot->check = std::move(*check);
    next.push_back(std::move(slot));
  }
  for (const std::string& e : errors) spdlog::warn("{}", e);
  absl::MutexLock lock(&mu_);
  slots_ = std::move(next);
  last_errors_ = std::move(errors);
  return absl::OkStatus();
}

RunResult HealthRunner::RunAll(absl::Time now) {
  absl::MutexLock run_lock(&run_mu_);
  std::vector<std::shared_ptr<Slot>> slots;
  {
    absl::MutexLock lock(&mu_);
    slots = slots_;
  }
  RunResult result;
  const int64_t now_ms = absl::ToUnixMillis(now);
  for (const auto& slot : slots) {
    CheckOutcome outcome = slot->check->Run(now);
    if (!slot->has_run || slot->status != outcome.status) {
      slot->since_ms = now_ms;
      slot->status = outcome.status;
      slot->has_run = true;
    }
    v1::CheckState* state = result.report.add_checks();
    state->set_name(slot->spec.name());
    state->set_type(slot->spec.type());
    state->set_status(outcome.status);
    state->set_reason(outcome.reason);
    state->set_time_ms(now_ms);
    state->set_since_ms(slot->since_ms);
    state->set_origin(slot->origin);
    for (MetricSample& m : outcome.metrics) result.metrics.push_back(std::move(m));
    const bool up =
        outcome.status == v1::CheckState::OK || outcome.status == v1::CheckState::DEGRADED;
    result.metrics.push_back(
        {"app_check_up", CheckLabels(slot->spec.name()), up ? 1.0 : 0.0, false});
  }
  return result;
}

std::vector<std::string> HealthRunner::last_errors() const {
  absl::MutexLock lock(&mu_);
  return last_errors_;
}

}  // namespace steward::agent
