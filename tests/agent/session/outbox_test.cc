#include "agent/session/outbox.h"

#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

v1::Envelope MetricEnv(double value, int series = 1) {
  v1::Envelope env;
  for (int i = 0; i < series; ++i) {
    auto* s = env.mutable_metric_batch()->add_series();
    s->set_name("host_load1");
    auto* p = s->add_points();
    p->set_time_ms(1000 + i);
    p->set_value(value);
  }
  return env;
}

v1::Envelope SnapshotEnv(const std::string& digest) {
  v1::Envelope env;
  env.mutable_inventory_snapshot()->set_digest(digest);
  return env;
}

class OutboxTest : public ::testing::Test {
 protected:
  std::unique_ptr<Outbox> Open(size_t max_bytes = 64 << 20) {
    OutboxLogOptions opts;
    opts.max_bytes = max_bytes;
    opts.segment_bytes = 4096;
    auto box = Outbox::Open(dir_.path() + "/outbox", opts);
    EXPECT_TRUE(box.ok()) << box.status();
    return box.ok() ? std::move(*box) : nullptr;
  }
  // Drains what NextToSend gives right now: (seq, value or digest).
  static std::vector<std::pair<uint64_t, std::string>> Drain(Outbox& box) {
    std::vector<std::pair<uint64_t, std::string>> out;
    while (auto env = box.NextToSend(absl::Milliseconds(10))) {
      out.emplace_back(env->seq(),
                       env->has_metric_batch()
                           ? std::to_string(static_cast<int>(env->metric_batch().series(0).points(0).value()))
                       : env->has_service_report() ? "services:" + env->service_report().digest()
                                                   : env->inventory_snapshot().digest());
    }
    return out;
  }
  using Sent = std::vector<std::pair<uint64_t, std::string>>;
  testing::TempDir dir_;
};

TEST_F(OutboxTest, SendsNothingBeforeTheFirstWelcome) {
  auto box = Open();
  ASSERT_TRUE(box->Push(MetricEnv(1)).ok());
  EXPECT_FALSE(box->NextToSend(absl::Milliseconds(20)).has_value());
  box->OnWelcome(0);
  EXPECT_EQ(Drain(*box), (Sent{{1, "1"}}));
}

TEST_F(OutboxTest, KeepsEverythingUnackedAcrossRestartsAndResendsIt) {
  {
    auto box = Open();
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(box->Push(MetricEnv(i)).ok());
    box->OnWelcome(0);
    EXPECT_EQ(Drain(*box), (Sent{{1, "1"}, {2, "2"}, {3, "3"}}));
    box->Ack(1);
    EXPECT_EQ(box->pending(), 2u);
  }
  auto box = Open();  // a restart: what was not acked is still there
  EXPECT_EQ(box->pending(), 2u);
  EXPECT_EQ(box->last_acked(), 1u);
  ASSERT_TRUE(box->Push(MetricEnv(4)).ok());
  box->OnWelcome(2);  // the collector applied 2, but its ack was lost
  EXPECT_EQ(Drain(*box), (Sent{{3, "3"}, {4, "4"}}));
  EXPECT_EQ(box->pending(), 2u);
  // A reconnect rewinds to the first unacked envelope.
  box->OnWelcome(3);
  EXPECT_EQ(Drain(*box), (Sent{{4, "4"}}));
}

TEST_F(OutboxTest, NumbersAfterACollectorThatIsAhead) {
  {
    auto box = Open();
    ASSERT_TRUE(box->Push(MetricEnv(1)).ok());
    ASSERT_TRUE(box->Push(MetricEnv(2)).ok());
    box->OnWelcome(500);  // e.g. the agent's outbox was wiped, the collector kept seq 500
    EXPECT_EQ(Drain(*box), (Sent{{501, "1"}, {502, "2"}}));
    box->Ack(501);
  }
  auto box = Open();  // the offset is persisted
  EXPECT_EQ(box->last_acked(), 501u);
  ASSERT_TRUE(box->Push(MetricEnv(3)).ok());
  box->OnWelcome(501);
  EXPECT_EQ(Drain(*box), (Sent{{502, "2"}, {503, "3"}}));
}

TEST_F(OutboxTest, WhenFullDropsOldestMetricsButNeverInventory) {
  auto box = Open(16 << 10);
  ASSERT_TRUE(box->Push(SnapshotEnv("first")).ok());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(box->Push(MetricEnv(i, 20)).ok());
  ASSERT_TRUE(box->Push(SnapshotEnv("second")).ok());
  EXPECT_GT(box->dropped_batches(), 0u);
  EXPECT_LE(box->pending_bytes(), 16u << 10);
  box->OnWelcome(0);
  auto sent = Drain(*box);
  std::vector<std::string> digests;
  int last_metric = -1;
  for (const auto& [seq, what] : sent) {
    if (what == "first" || what == "second") {
      digests.push_back(what);
    } else {
      EXPECT_GT(std::stoi(what), last_metric) << "order kept";
      last_metric = std::stoi(what);
    }
  }
  EXPECT_EQ(digests, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(last_metric, 59) << "the newest metrics survive";
  // Seqs are ascending (gaps where batches were dropped).
  for (size_t i = 1; i < sent.size(); ++i) EXPECT_GT(sent[i].first, sent[i - 1].first);
}

TEST_F(OutboxTest, WhenFullNeverDropsServiceReports) {
  auto box = Open(16 << 10);
  auto services = [](const std::string& digest) {
    v1::Envelope env;
    env.mutable_service_report()->set_systemd_present(true);
    env.mutable_service_report()->set_digest(digest);
    return env;
  };
  ASSERT_TRUE(box->Push(services("s1")).ok());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(box->Push(MetricEnv(i, 20)).ok());
  ASSERT_TRUE(box->Push(services("s2")).ok());
  EXPECT_GT(box->dropped_batches(), 0u);
  box->OnWelcome(0);
  std::vector<std::string> reports;
  for (const auto& [seq, what] : Drain(*box)) {
    if (what.rfind("services:", 0) == 0) reports.push_back(what);
  }
  EXPECT_EQ(reports, (std::vector<std::string>{"services:s1", "services:s2"}));
}

TEST_F(OutboxTest, AckedInventoryDigestFollowsAcksAndSurvivesRestart) {
  {
    auto box = Open();
    ASSERT_TRUE(box->Push(SnapshotEnv("d1")).ok());
    ASSERT_TRUE(box->Push(MetricEnv(1)).ok());
    ASSERT_TRUE(box->Push(SnapshotEnv("d2")).ok());
    box->OnWelcome(0);
    EXPECT_EQ(box->acked_inventory_digest(), "");
    box->Ack(2);
    EXPECT_EQ(box->acked_inventory_digest(), "d1");
  }
  auto box = Open();
  box->OnWelcome(3);
  EXPECT_EQ(box->acked_inventory_digest(), "d2");
  EXPECT_EQ(box->pending(), 0u);
}

TEST_F(OutboxTest, NextToSendWakesOnPushAndStopsOnStop) {
  auto box = Open();
  box->OnWelcome(0);
  std::thread pusher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(box->Push(MetricEnv(7)).ok());
  });
  auto env = box->NextToSend(absl::Seconds(10));
  pusher.join();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->seq(), 1u);
  box->Stop();
  ASSERT_TRUE(box->Push(MetricEnv(8)).ok());
  EXPECT_FALSE(box->NextToSend(absl::Seconds(1)).has_value());
}

// The session's sender waits without a timeout; the end of the session
// (the reader thread) wakes it, once, and nothing is lost by that.
TEST_F(OutboxTest, WakeSenderEndsOneWaitWithoutLosingAnything) {
  auto box = Open();
  box->OnWelcome(0);
  std::thread reader_end([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    box->WakeSender();
  });
  absl::Time start = absl::Now();
  EXPECT_FALSE(box->NextToSend(absl::InfiniteDuration()).has_value());
  reader_end.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(box->Push(MetricEnv(1)).ok());
  // One wake is consumed once: the envelope comes next.
  auto env = box->NextToSend(absl::Seconds(1));
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->seq(), 1u);
  // A wake left over from an ended session does not reach the next one.
  box->WakeSender();
  box->OnWelcome(0);
  env = box->NextToSend(absl::Seconds(1));
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->seq(), 1u) << "resent after the new Welcome";
}

TEST_F(OutboxTest, CorruptOffsetFileIsAClearError) {
  { Open(); }
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/outbox.seq_offset", "banana\n").ok());
  OutboxLogOptions opts;
  auto box = Outbox::Open(dir_.path() + "/outbox", opts);
  ASSERT_FALSE(box.ok());
  EXPECT_NE(box.status().message().find("seq_offset"), std::string::npos) << box.status();
}

}  // namespace
}  // namespace steward::agent
