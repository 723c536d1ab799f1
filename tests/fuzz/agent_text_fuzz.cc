// The text rules both sides share (common/wire/agent_text.h): any bytes
// parsed as an Envelope or an EnrollRequest, sanitized as the agent does,
// pass the collector's check and survive a serialize/parse round trip;
// EscapeForDisplay of any string is display-safe.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/wire/agent_text.h"
#include "steward/v1/agent.pb.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward;
  std::string raw(reinterpret_cast<const char*>(data), size);
  Check(IsDisplaySafe(EscapeForDisplay(raw)));
  // Strings with any bytes, as the agent's sources may produce them.
  v1::Envelope env;
  env.mutable_job_result()->set_output(raw);
  env.mutable_job_result()->set_message(raw);
  env.mutable_inventory_snapshot()->mutable_facts()->set_hostname(raw);
  SanitizeAgentText(&env);
  Check(CheckAgentText(env).ok());
  v1::Envelope back;
  Check(back.ParseFromString(env.SerializeAsString()));
  Check(SanitizeAgentText(&back) == 0);
  v1::EnrollRequest req;
  if (req.ParsePartialFromArray(data, static_cast<int>(size))) {
    SanitizeAgentText(&req);
    Check(CheckAgentText(req).ok());
  }
  return 0;
}
