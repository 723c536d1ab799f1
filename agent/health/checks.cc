// The registration list of check types: one line per type.
#include "absl/strings/str_cat.h"
#include "agent/health/check.h"
#include "agent/health/coredumps.h"
#include "agent/health/http_check.h"
#include "agent/health/process_check.h"
#include "agent/health/systemctl_show.h"
#include "agent/health/systemd_check.h"
#include "agent/health/tcp_check.h"
#include "common/health/check_spec.h"
#include "common/status_macros.h"

namespace steward::agent {
namespace {

using CheckFactory = absl::StatusOr<std::unique_ptr<Check>> (*)(const v1::CheckSpec&,
                                                                const CheckEnv&);
struct CheckType {
  const char* type;
  CheckFactory make;
};

constexpr CheckType kCheckTypes[] = {
    {"process", &MakeProcessCheck},
    {"systemd", &MakeSystemdCheck},
    {"tcp", &MakeTcpCheck},
    {"http", &MakeHttpCheck},
};

}  // namespace

Check::~Check() = default;

CheckEnv::CheckEnv()
    : coredumps(std::make_shared<CoredumpStore>()), systemctl_show(&RunSystemctlShow) {}

std::vector<std::pair<std::string, std::string>> CheckLabels(const std::string& check_name) {
  return {{"check", check_name}};
}

absl::StatusOr<std::unique_ptr<Check>> MakeCheck(const v1::CheckSpec& spec, const CheckEnv& env) {
  RETURN_IF_ERROR(ValidateCheckSpec(spec));
  for (const CheckType& t : kCheckTypes) {
    if (spec.type() == t.type) return t.make(spec, env);
  }
  // ValidateCheckSpec knows a type that has no registration line here.
  return absl::InvalidArgumentError(absl::StrCat("check '", spec.name(), "': type '", spec.type(),
                                                 "' is not supported by this agent"));
}

}  // namespace steward::agent
