#include "collector/service/agent_message_decode.h"

#include <string>

#include "gtest/gtest.h"

namespace steward::collector {
namespace {

// The peek must agree with a full parse, whatever order or repetition the
// fields come in (it decides the size limit and, for an oversized
// envelope, the seq that is acked).
void ExpectAgreesWithParse(const std::string& bytes) {
  auto peek = PeekAgentMessage(bytes);
  ASSERT_TRUE(peek.ok()) << peek.status();
  v1::AgentMessage msg;
  ASSERT_TRUE(msg.ParseFromString(bytes));
  EXPECT_EQ(peek->hello, msg.has_hello());
  EXPECT_EQ(peek->envelope, msg.has_envelope());
  EXPECT_EQ(peek->seq, msg.envelope().seq());
  EXPECT_EQ(peek->created_ms, msg.envelope().created_ms());
  EXPECT_EQ(peek->payload, msg.envelope().payload_case());
}

TEST(PeekAgentMessage, AgreesWithAParse) {
  v1::AgentMessage m;
  m.mutable_envelope()->set_seq(7);
  m.mutable_envelope()->set_created_ms(1234);
  m.mutable_envelope()->mutable_metric_batch();
  ExpectAgreesWithParse(m.SerializeAsString());
  m.Clear();
  m.mutable_hello()->set_agent_version("1.0");
  ExpectAgreesWithParse(m.SerializeAsString());
}

TEST(PeekAgentMessage, MergesARepeatedEnvelopeAsAParseDoes) {
  // Found by agent_message_fuzz: envelope{seq 1, health_report{}} then an
  // empty envelope: a parse merges the two (seq 1, health report).
  ExpectAgreesWithParse(std::string("\x12\x04\x08\x01\x72\x00\x12\x00", 8));
  // An envelope, then a hello: the hello wins; then an envelope again.
  ExpectAgreesWithParse(std::string("\x12\x02\x08\x05\x0a\x00", 6));
  ExpectAgreesWithParse(std::string("\x0a\x00\x12\x02\x08\x05", 6));
  // Two different payloads: the last one counts.
  ExpectAgreesWithParse(std::string("\x12\x06\x08\x02\x62\x00\x72\x00", 8));
  // A known field with the wrong wire type is an unknown field to both.
  ExpectAgreesWithParse(std::string("\x12\x04\x08\x03\x60\x01", 6));
  // Found by agent_message_fuzz: a payload field with the wrong wire type,
  // then an unknown top-level field.
  ExpectAgreesWithParse(std::string("\x12\x04\x50\x01\x72\x00\x1a\x04\x08\x01\x52\x00", 12));
}

TEST(PeekAgentMessage, RefusesWhatIsNotProtobuf) {
  EXPECT_FALSE(PeekAgentMessage(std::string("\x12\x05\x08", 3)).ok());   // truncated
  EXPECT_FALSE(PeekAgentMessage(std::string("\x0c", 1)).ok());           // end group without start
  EXPECT_FALSE(PeekAgentMessage(std::string("\x12\x02\x0f\x00", 4)).ok());  // wire type 7
}

TEST(AgentMessageLimit, IsSmallForSmallKinds) {
  AgentMessagePeek heartbeat;
  heartbeat.envelope = true;
  heartbeat.payload = v1::Envelope::kHeartbeat;
  EXPECT_EQ(AgentMessageLimit(heartbeat), 1024u);
  AgentMessagePeek hello;
  hello.hello = true;
  EXPECT_EQ(AgentMessageLimit(hello), 64u << 10);
  AgentMessagePeek snapshot;
  snapshot.envelope = true;
  snapshot.payload = v1::Envelope::kInventorySnapshot;
  EXPECT_EQ(AgentMessageLimit(snapshot), kMaxAgentMessageBytes);
}

}  // namespace
}  // namespace steward::collector
