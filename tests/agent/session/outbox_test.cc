#include "agent/session/outbox.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

// A metric batch whose one series is named `tag`, so tests can tell
// envelopes apart after renumbering.
v1::Envelope Metric(const std::string& tag) {
  v1::Envelope env;
  env.set_created_ms(1);
  env.mutable_metric_batch()->add_series()->set_name(tag);
  return env;
}

v1::Envelope Snapshot(const std::string& digest, int items = 0) {
  v1::Envelope env;
  auto* snap = env.mutable_inventory_snapshot();
  snap->set_digest(digest);
  for (int i = 0; i < items; ++i) snap->add_items()->set_name("package-" + std::to_string(i));
  return env;
}

std::string Tag(const v1::Envelope& env) {
  if (env.has_metric_batch()) return env.metric_batch().series(0).name();
  if (env.has_inventory_snapshot()) return "snap:" + env.inventory_snapshot().digest();
  return "?";
}

// Size of `env` once it carries sequence number `seq`.
size_t SizeAt(v1::Envelope env, uint64_t seq) {
  env.set_seq(seq);
  return env.ByteSizeLong();
}

// Sends everything currently sendable; returns (seq, tag) pairs.
std::vector<std::pair<uint64_t, std::string>> SendAll(Outbox& box) {
  std::vector<std::pair<uint64_t, std::string>> out;
  while (auto env = box.NextToSend(absl::ZeroDuration())) out.emplace_back(env->seq(), Tag(*env));
  return out;
}

using Sent = std::vector<std::pair<uint64_t, std::string>>;

TEST(Outbox, NothingIsSentBeforeTheFirstWelcome) {
  Outbox box(1 << 20);
  box.Push(Metric("a"));
  box.Push(Metric("b"));
  EXPECT_EQ(box.pending(), 2u);
  EXPECT_FALSE(box.NextToSend(absl::ZeroDuration()).has_value());
  EXPECT_FALSE(box.NextToSend(absl::Milliseconds(5)).has_value());
}

TEST(Outbox, AssignsConsecutiveSequenceNumbers) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  box.Push(Metric("a"));
  box.Push(Snapshot("d"));
  box.Push(Metric("c"));
  EXPECT_EQ(SendAll(box), (Sent{{1, "a"}, {2, "snap:d"}, {3, "c"}}));
}

TEST(Outbox, FirstWelcomeRenumbersQueuedEnvelopesAfterCollectorSequence) {
  Outbox box(1 << 20);
  box.Push(Metric("a"));
  box.Push(Metric("b"));
  box.OnWelcome(41);  // the collector applied 41 envelopes of an earlier life of this agent
  EXPECT_EQ(box.last_acked(), 41u);
  box.Push(Metric("c"));
  EXPECT_EQ(SendAll(box), (Sent{{42, "a"}, {43, "b"}, {44, "c"}}));
  EXPECT_EQ(box.pending(), 3u);  // sent is not acked
}

TEST(Outbox, FirstWelcomeWithZeroKeepsNumbering) {
  Outbox box(1 << 20);
  box.Push(Metric("a"));
  box.OnWelcome(0);
  box.Push(Metric("b"));
  EXPECT_EQ(SendAll(box), (Sent{{1, "a"}, {2, "b"}}));
}

TEST(Outbox, LaterWelcomeDropsAppliedAndResendsTheRestFromTheStart) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  for (const char* t : {"a", "b", "c", "d"}) box.Push(Metric(t));
  EXPECT_EQ(SendAll(box).size(), 4u);
  EXPECT_FALSE(box.NextToSend(absl::ZeroDuration()).has_value());  // all on the wire

  // Reconnect: the collector applied up to 2 but its acks were lost.
  box.OnWelcome(2);
  EXPECT_EQ(box.pending(), 2u);
  EXPECT_EQ(box.last_acked(), 2u);
  EXPECT_EQ(SendAll(box), (Sent{{3, "c"}, {4, "d"}}));

  // Reconnect again with nothing new applied: everything unacked again.
  box.OnWelcome(2);
  EXPECT_EQ(SendAll(box), (Sent{{3, "c"}, {4, "d"}}));
  // No renumbering on later welcomes: new envelopes continue the sequence.
  box.Push(Metric("e"));
  EXPECT_EQ(SendAll(box), (Sent{{5, "e"}}));
}

TEST(Outbox, LaterWelcomeAheadOfTheAgentMovesTheSequenceOn) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  box.Push(Metric("a"));
  box.OnWelcome(100);  // e.g. a restored collector database
  EXPECT_EQ(box.pending(), 0u);
  box.Push(Metric("b"));
  EXPECT_EQ(SendAll(box), (Sent{{101, "b"}}));
}

TEST(Outbox, AckDropsUpToAndIncludingSeq) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  for (const char* t : {"a", "b", "c"}) box.Push(Metric(t));
  ASSERT_EQ(SendAll(box).size(), 3u);
  box.Ack(2);
  EXPECT_EQ(box.pending(), 1u);
  EXPECT_EQ(box.last_acked(), 2u);
  // An older (reordered) ack changes nothing.
  box.Ack(1);
  EXPECT_EQ(box.pending(), 1u);
  EXPECT_EQ(box.last_acked(), 2u);
  // Acking does not make anything resendable.
  EXPECT_FALSE(box.NextToSend(absl::ZeroDuration()).has_value());
  box.Push(Metric("d"));
  EXPECT_EQ(SendAll(box), (Sent{{4, "d"}}));
  box.Ack(4);
  EXPECT_EQ(box.pending(), 0u);
  EXPECT_EQ(box.last_acked(), 4u);
}

TEST(Outbox, AckOfPartOfTheSentWindowKeepsTheRestInFlight) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  for (const char* t : {"a", "b", "c"}) box.Push(Metric(t));
  ASSERT_EQ(box.NextToSend(absl::ZeroDuration())->seq(), 1u);
  ASSERT_EQ(box.NextToSend(absl::ZeroDuration())->seq(), 2u);
  box.Ack(1);
  // 2 is still on the wire; 3 is next.
  EXPECT_EQ(SendAll(box), (Sent{{3, "c"}}));
}

TEST(Outbox, WhenFullDropsOldestUnsentMetricBatchesFirstAndCountsThem) {
  size_t one = SizeAt(Metric("a"), 1);
  ASSERT_EQ(SizeAt(Metric("b"), 9), one);
  Outbox box(3 * one);
  for (const char* t : {"a", "b", "c"}) box.Push(Metric(t));
  EXPECT_EQ(box.dropped_batches(), 0u);  // exactly at the bound is fine
  box.Push(Metric("d"));
  EXPECT_EQ(box.dropped_batches(), 1u);
  EXPECT_EQ(box.pending(), 3u);
  box.Push(Metric("e"));
  EXPECT_EQ(box.dropped_batches(), 2u);
  box.OnWelcome(0);
  EXPECT_EQ(SendAll(box), (Sent{{1, "c"}, {2, "d"}, {3, "e"}}));
}

TEST(Outbox, NeverDropsSnapshotsButDropsMetricsAroundThem) {
  const size_t m = SizeAt(Metric("m1"), 1), snap = SizeAt(Snapshot("s1", 3), 1);
  ASSERT_GT(snap, 2 * m);
  Outbox box(snap + 2 * m);
  box.Push(Metric("m1"));
  box.Push(Snapshot("s1", 3));
  box.Push(Metric("m2"));  // exactly at the bound
  EXPECT_EQ(box.dropped_batches(), 0u);
  box.Push(Metric("m3"));  // over: m1, the oldest metric (before the snapshot), goes
  EXPECT_EQ(box.dropped_batches(), 1u);
  EXPECT_EQ(box.pending(), 3u);
  box.Push(Snapshot("s2", 3));  // over: every metric goes, both snapshots stay
  EXPECT_EQ(box.dropped_batches(), 3u);
  box.Push(Snapshot("s3", 3));  // still over, nothing droppable: kept anyway
  EXPECT_EQ(box.dropped_batches(), 3u);
  EXPECT_EQ(box.pending(), 3u);
  box.Push(Metric("m4"));  // nothing older to drop but itself
  EXPECT_EQ(box.dropped_batches(), 4u);
  box.OnWelcome(0);
  EXPECT_EQ(SendAll(box), (Sent{{1, "snap:s1"}, {2, "snap:s2"}, {3, "snap:s3"}}));
}

TEST(Outbox, NeverDropsEnvelopesAlreadyOnTheWire) {
  size_t one = SizeAt(Metric("a"), 1);
  Outbox box(2 * one);
  box.OnWelcome(0);
  box.Push(Metric("a"));
  box.Push(Metric("b"));
  ASSERT_EQ(SendAll(box).size(), 2u);  // both sent, not acked
  box.Push(Metric("c"));               // over the bound: only c is unsent
  EXPECT_EQ(box.dropped_batches(), 1u);
  EXPECT_EQ(box.pending(), 2u);
  // After a reconnect the unacked ones are resent.
  box.OnWelcome(0);
  EXPECT_EQ(SendAll(box), (Sent{{1, "a"}, {2, "b"}}));
}

TEST(Outbox, RenumberingDoesNotCorruptTheByteBound) {
  Outbox box(1 << 20);
  for (int i = 0; i < 50; ++i) box.Push(Metric("m"));
  box.OnWelcome(100000);
  ASSERT_EQ(SendAll(box).size(), 50u);
  box.Ack(100050);
  ASSERT_EQ(box.pending(), 0u);
  box.Push(Metric("after"));
  EXPECT_EQ(box.dropped_batches(), 0u);
  EXPECT_EQ(box.pending(), 1u);
  EXPECT_EQ(SendAll(box), (Sent{{100051, "after"}}));
}

TEST(Outbox, AckedInventoryDigestIsTheNewestAckedSnapshot) {
  Outbox box(1 << 20);
  EXPECT_EQ(box.acked_inventory_digest(), "");
  box.OnWelcome(0);
  box.Push(Snapshot("d1"));
  box.Push(Metric("m"));
  box.Push(Snapshot("d2"));
  box.Push(Metric("n"));
  ASSERT_EQ(SendAll(box).size(), 4u);
  EXPECT_EQ(box.acked_inventory_digest(), "");  // sent is not acked
  box.Ack(2);
  EXPECT_EQ(box.acked_inventory_digest(), "d1");
  box.Ack(4);
  EXPECT_EQ(box.acked_inventory_digest(), "d2");
  box.Push(Snapshot("d3"));
  EXPECT_EQ(box.acked_inventory_digest(), "d2");
}

TEST(Outbox, NextToSendTimesOutWhenEmpty) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  absl::Time start = absl::Now();
  EXPECT_FALSE(box.NextToSend(absl::Milliseconds(50)).has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
}

TEST(Outbox, NextToSendWakesUpForAPushFromAnotherThread) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  std::thread pusher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    box.Push(Metric("late"));
  });
  absl::Time start = absl::Now();
  auto env = box.NextToSend(absl::Seconds(10));
  pusher.join();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(Tag(*env), "late");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(Outbox, StopWakesAWaitingSenderAndEndsSending) {
  Outbox box(1 << 20);
  box.OnWelcome(0);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    box.Stop();
  });
  absl::Time start = absl::Now();
  EXPECT_FALSE(box.NextToSend(absl::Seconds(10)).has_value());
  stopper.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // After Stop nothing is handed out, even with work queued.
  box.Push(Metric("x"));
  EXPECT_FALSE(box.NextToSend(absl::Seconds(1)).has_value());
  EXPECT_EQ(box.pending(), 1u);
}

}  // namespace
}  // namespace steward::agent
