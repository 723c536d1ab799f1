// A signed job statement as the agent reads it (common/jobs/job_statement.h),
// whatever bytes a collector puts there: no crash, and what parses has one
// spelling (encoding it again gives the input back), well-formed fields and
// agents in order. Seeds: a valid statement of each job kind is easy to
// write by hand (see tests/common/jobs/job_statement_test.cc).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/jobs/job_statement.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<steward::JobStatement> s = steward::ParseJobStatement(text);
  if (!s.ok()) return 0;
  Check(steward::EncodeJobStatement(*s) == text);
  Check(steward::CheckJobStatementFields(*s).ok());
  Check(std::is_sorted(s->agents.begin(), s->agents.end()));
  Check(std::adjacent_find(s->agents.begin(), s->agents.end()) == s->agents.end());
  Check(s->expires_ms > s->issued_ms);
  Check(steward::FindJobKind(s->action) != nullptr);
  return 0;
}
