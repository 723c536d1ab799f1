// Every kind of Connect message, as the collector handles it before
// storing anything (SessionReactor::Handle): the pre-parse peek and the
// kind's size limit, the parse, unknown fields discarded, then the text
// rules, the envelope checks and the time window. No crash; what passes
// every check holds only printable UTF-8 text within its limits, and the
// peek agrees with the parse about the message's kind and seq.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collector/service/agent_message_decode.h"
#include "collector/service/envelope_validation.h"
#include "common/wire/agent_text.h"
#include "steward/v1/agent.pb.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto peek = collector::PeekAgentMessage(bytes);
  v1::AgentMessage msg;
  bool parsed = msg.ParseFromArray(data, static_cast<int>(size));
  if (!peek.ok()) return 0;
  if (size > collector::AgentMessageLimit(*peek)) return 0;
  if (!parsed) return 0;
  msg.DiscardUnknownFields();
  Check(msg.has_hello() == peek->hello);
  Check(msg.has_envelope() == peek->envelope);
  if (!msg.has_envelope()) {
    if (msg.has_hello() && CheckAgentText(msg.hello()).ok()) {
      Check(msg.hello().agent_version().size() <= kDefaultTextBytes);
    }
    return 0;
  }
  const v1::Envelope& env = msg.envelope();
  Check(env.seq() == peek->seq);
  Check(static_cast<int>(env.payload_case()) == static_cast<int>(peek->payload));
  metrics::DecodedColumns columns;
  if (!collector::ValidateEnvelope(env, &columns).ok()) return 0;
  Check(CheckAgentText(env).ok());
  Check(env.seq() >= 1);
  if (env.has_inventory_snapshot()) {
    Check(env.inventory_snapshot().facts().hostname().size() <= 255);
    for (const auto& item : env.inventory_snapshot().items()) {
      Check(IsDisplaySafe(item.name()) && IsDisplaySafe(item.vendor()) && !item.source().empty());
    }
  }
  (void)collector::ValidateEnvelopeTimes(env, columns, 4102444800000);  // 2100-01-01
  return 0;
}
