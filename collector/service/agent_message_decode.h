#pragma once
// What the collector reads of an agent's Connect message before parsing it.
// Connect is a raw method (bytes in, bytes out), so that a message is
// judged by its size against a limit for its kind before protobuf builds
// anything from it, and so that one that does not parse ends the stream
// with an error instead of looking like the agent's half-close.
//
// PeekAgentMessage walks the top-level fields of AgentMessage and, for an
// envelope, of Envelope, skipping the payload's bytes: its cost is bounded
// by the number of top-level fields, not by what the payload holds.

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/agent.pb.h"

namespace google::protobuf::io {
class ZeroCopyInputStream;
}

namespace steward::collector {

struct AgentMessagePeek {
  bool hello = false;
  bool envelope = false;
  // The envelope's payload (PAYLOAD_NOT_SET when it has none, or one this
  // collector does not know: a newer agent's).
  v1::Envelope::PayloadCase payload = v1::Envelope::PAYLOAD_NOT_SET;
  uint64_t seq = 0;
  int64_t created_ms = 0;
};

// Largest AgentMessage accepted, any kind (the server's receive limit).
inline constexpr size_t kMaxAgentMessageBytes = 32 << 20;

// INVALID_ARGUMENT when the bytes are not a protobuf message at all.
absl::StatusOr<AgentMessagePeek> PeekAgentMessage(google::protobuf::io::ZeroCopyInputStream* in);
absl::StatusOr<AgentMessagePeek> PeekAgentMessage(absl::string_view bytes);

// The most bytes a message of this kind may have (docs/protocol.md).
size_t AgentMessageLimit(const AgentMessagePeek& peek);

// "inventory snapshot", "metric batch", ... for messages and logs.
absl::string_view PayloadName(v1::Envelope::PayloadCase payload);

}  // namespace steward::collector
