// A JobSpec as the agent receives it (protobuf bytes from the collector)
// through ValidateJobSpec (common/jobs/job_spec.h): no crash; what passes
// names only clean absolute paths, absolute programs and sane unit names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/jobs/job_spec.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  steward::v1::JobSpec spec;
  if (!spec.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (!steward::ValidateJobSpec(spec).ok()) return 0;
  Check(!spec.job_id().empty() && spec.job_id()[0] != '.' && spec.job_id().find('/') == std::string::npos);
  switch (spec.action_case()) {
    case steward::v1::JobSpec::kRunScript:
      Check(!spec.run_script().argv().empty() && spec.run_script().argv(0)[0] == '/');
      break;
    case steward::v1::JobSpec::kWriteConfig:
      Check(steward::IsCleanAbsolutePath(spec.write_config().path()));
      Check(spec.write_config().path().find("/../") == std::string::npos);
      break;
    case steward::v1::JobSpec::kRestartService:
      Check(spec.restart_service().unit()[0] != '-');
      break;
    default:
      break;
  }
  return 0;
}
