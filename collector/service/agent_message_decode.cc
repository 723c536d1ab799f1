#include "collector/service/agent_message_decode.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace steward::collector {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

absl::Status NotProtobuf(absl::string_view where) {
  return absl::InvalidArgumentError(
      absl::StrCat("message is not a valid AgentMessage (", where, ")"));
}

// Reads the envelope's header fields; `in` is limited to the envelope.
absl::Status PeekEnvelope(CodedInputStream* in, AgentMessagePeek* peek) {
  while (uint32_t tag = in->ReadTag()) {
    int field = WireFormatLite::GetTagFieldNumber(tag);
    auto wire = WireFormatLite::GetTagWireType(tag);
    if (field == v1::Envelope::kSeqFieldNumber && wire == WireFormatLite::WIRETYPE_VARINT) {
      if (!in->ReadVarint64(&peek->seq)) return NotProtobuf("envelope seq");
    } else if (field == v1::Envelope::kCreatedMsFieldNumber && wire == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in->ReadVarint64(&v)) return NotProtobuf("envelope created_ms");
      peek->created_ms = static_cast<int64_t>(v);
    } else {
      const auto* d = v1::Envelope::descriptor()->FindFieldByNumber(field);
      if (d != nullptr && d->containing_oneof() != nullptr && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        peek->payload = static_cast<v1::Envelope::PayloadCase>(field);  // the last one wins, as in a parse
      }
      if (!WireFormatLite::SkipField(in, tag)) return NotProtobuf("envelope field");
    }
  }
  if (!in->ConsumedEntireMessage()) return NotProtobuf("envelope end");
  return absl::OkStatus();
}

absl::StatusOr<AgentMessagePeek> Peek(CodedInputStream* in) {
  in->SetTotalBytesLimit(static_cast<int>(kMaxAgentMessageBytes) + 1024);
  AgentMessagePeek peek;
  while (uint32_t tag = in->ReadTag()) {
    int field = WireFormatLite::GetTagFieldNumber(tag);
    auto wire = WireFormatLite::GetTagWireType(tag);
    if (field == v1::AgentMessage::kEnvelopeFieldNumber && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in->ReadVarint32(&length)) return NotProtobuf("envelope length");
      auto limit = in->PushLimit(static_cast<int>(length));
      // As a parse does: an envelope after a hello replaces it; a second
      // envelope is merged into the first (its fields, where set, win).
      if (!peek.envelope) peek = AgentMessagePeek{};
      peek.envelope = true;
      if (auto s = PeekEnvelope(in, &peek); !s.ok()) return s;
      in->PopLimit(limit);
    } else {
      const auto* d = v1::AgentMessage::descriptor()->FindFieldByNumber(field);
      if (d != nullptr && d->containing_oneof() != nullptr && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        // Another kind (a hello, a certificate renewal) replaces an
        // envelope before it, as in a parse.
        peek = AgentMessagePeek{};
        peek.hello = field == v1::AgentMessage::kHelloFieldNumber;
      }
      if (!WireFormatLite::SkipField(in, tag)) return NotProtobuf("field");
    }
  }
  if (!in->ConsumedEntireMessage()) return NotProtobuf("end group without start");
  return peek;
}

}  // namespace

absl::StatusOr<AgentMessagePeek> PeekAgentMessage(google::protobuf::io::ZeroCopyInputStream* in) {
  CodedInputStream coded(in);
  return Peek(&coded);
}

absl::StatusOr<AgentMessagePeek> PeekAgentMessage(absl::string_view bytes) {
  if (bytes.size() > kMaxAgentMessageBytes) return NotProtobuf("too large");
  CodedInputStream coded(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  return Peek(&coded);
}

size_t AgentMessageLimit(const AgentMessagePeek& peek) {
  if (peek.hello) return 64 << 10;
  if (!peek.envelope) return 64 << 10;
  switch (peek.payload) {
    case v1::Envelope::kHeartbeat:
      return 1 << 10;
    case v1::Envelope::kJobResult:
      return 128 << 10;  // output 64 KiB, message 8 KiB
    case v1::Envelope::kHealthReport:
      return 8 << 20;  // 1,000 checks with 4 KiB reasons
    case v1::Envelope::kMetricBatch:
      return 16 << 20;  // 20,000 series, 200,000 points
    case v1::Envelope::kServiceReport:
      return 16 << 20;  // 20,000 units
    case v1::Envelope::kInventorySnapshot:
    case v1::Envelope::kInventoryDelta:
      return kMaxAgentMessageBytes;  // 200,000 items
    case v1::Envelope::PAYLOAD_NOT_SET:
      // A newer agent's payload: refused after parsing (acked as such).
      return kMaxAgentMessageBytes;
  }
  return kMaxAgentMessageBytes;
}

absl::string_view PayloadName(v1::Envelope::PayloadCase payload) {
  switch (payload) {
    case v1::Envelope::kInventorySnapshot:
      return "inventory snapshot";
    case v1::Envelope::kMetricBatch:
      return "metric batch";
    case v1::Envelope::kHeartbeat:
      return "heartbeat";
    case v1::Envelope::kInventoryDelta:
      return "inventory delta";
    case v1::Envelope::kHealthReport:
      return "health report";
    case v1::Envelope::kServiceReport:
      return "service report";
    case v1::Envelope::kJobResult:
      return "job result";
    case v1::Envelope::PAYLOAD_NOT_SET:
      break;
  }
  return "unknown payload";
}

}  // namespace steward::collector
