#include "common/outbox/outbox_log.h"

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/common/outbox/outbox_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward {
namespace {

using outbox_test::FileSize;
using outbox_test::PayloadFor;
using outbox_test::SegmentFiles;

constexpr OutboxRecordKind kInv = OutboxRecordKind::kInventory;
constexpr OutboxRecordKind kMet = OutboxRecordKind::kMetrics;

class OutboxLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<OutboxLog> OpenLog(OutboxOpenReport* report = nullptr) {
    absl::StatusOr<std::unique_ptr<OutboxLog>> log = OutboxLog::Open(dir(), options_, report);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  uint64_t MustAppend(OutboxLog& log, OutboxRecordKind kind, const std::string& payload) {
    absl::StatusOr<uint64_t> id = log.Append(kind, payload);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }
  std::string MustRead(const OutboxLog& log, uint64_t id) {
    absl::StatusOr<std::string> p = log.Read(id);
    EXPECT_TRUE(p.ok()) << "id " << id << ": " << p.status();
    return p.ok() ? *p : "";
  }
  std::string dir() const { return tmp_.path() + "/outbox"; }

  testing::TempDir tmp_{"outbox-test"};
  OutboxLogOptions options_;
};

TEST_F(OutboxLogTest, AppendReadAckAcrossReopen) {
  auto log = OpenLog();  // creates the missing directory
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->next_id(), 1u);
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_EQ(MustAppend(*log, kInv, PayloadFor(i)), i);
  EXPECT_EQ(MustRead(*log, 3), PayloadFor(3));
  ASSERT_TRUE(log->AckUpTo(2).ok());
  EXPECT_TRUE(absl::IsNotFound(log->Read(2).status()));
  EXPECT_TRUE(absl::IsNotFound(log->Read(6).status()));
  log.reset();

  OutboxOpenReport report;
  log = OpenLog(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.records_recovered, 3u);
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_EQ(log->acked_up_to(), 2u);
  EXPECT_EQ(log->next_id(), 6u);
  EXPECT_TRUE(absl::IsNotFound(log->Read(1).status()));
  for (uint64_t i = 3; i <= 5; ++i) EXPECT_EQ(MustRead(*log, i), PayloadFor(i));
  std::vector<OutboxRecordMeta> pending = log->Pending();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].id, 3u);
  EXPECT_EQ(pending[0].kind, kInv);
  EXPECT_EQ(pending[0].size, PayloadFor(3).size());
  EXPECT_EQ(log->live_bytes(),
            3 * 17 + PayloadFor(3).size() + PayloadFor(4).size() + PayloadFor(5).size());
}

TEST_F(OutboxLogTest, IdsContinueAfterReopenAndAfterEverythingAcked) {
  auto log = OpenLog();
  for (int i = 0; i < 4; ++i) MustAppend(*log, kInv, "x");
  log.reset();
  log = OpenLog();
  EXPECT_EQ(MustAppend(*log, kInv, "y"), 5u);
  ASSERT_TRUE(log->AckUpTo(5).ok());
  EXPECT_TRUE(SegmentFiles(dir()).empty());
  EXPECT_EQ(log->live_bytes(), 0u);
  log.reset();

  log = OpenLog();
  EXPECT_EQ(log->next_id(), 6u);
  EXPECT_EQ(log->acked_up_to(), 5u);
  EXPECT_EQ(MustAppend(*log, kInv, "z"), 6u);
  EXPECT_EQ(MustRead(*log, 6), "z");
}

TEST_F(OutboxLogTest, RotatesSegmentsAndDeletesFullyAckedOnes) {
  options_.segment_bytes = 1000;
  auto log = OpenLog();
  std::string payload(283, 'p');  // 300 bytes a record: 4 records a segment
  for (int i = 0; i < 10; ++i) MustAppend(*log, kInv, payload);
  EXPECT_EQ(SegmentFiles(dir()), (std::vector<std::string>{"seg-00000000000000000001.log",
                                                           "seg-00000000000000000005.log",
                                                           "seg-00000000000000000009.log"}));
  EXPECT_EQ(FileSize(dir() + "/seg-00000000000000000001.log"), 1200u);

  ASSERT_TRUE(log->AckUpTo(6).ok());  // first segment all acked, second half
  EXPECT_EQ(SegmentFiles(dir()), (std::vector<std::string>{"seg-00000000000000000005.log",
                                                           "seg-00000000000000000009.log"}));
  EXPECT_EQ(log->Pending().size(), 4u);
  ASSERT_TRUE(log->AckUpTo(10).ok());
  EXPECT_TRUE(SegmentFiles(dir()).empty());
  EXPECT_EQ(MustAppend(*log, kInv, "after"), 11u);
  EXPECT_EQ(SegmentFiles(dir()), (std::vector<std::string>{"seg-00000000000000000011.log"}));
}

TEST_F(OutboxLogTest, NextAfterWalksLiveRecordsAcrossSegments) {
  options_.segment_bytes = 100;
  auto log = OpenLog();
  for (uint64_t i = 1; i <= 6; ++i) MustAppend(*log, i % 2 ? kInv : kMet, std::string(50, 'a'));
  ASSERT_TRUE(log->AckUpTo(2).ok());
  std::vector<uint64_t> walked;
  for (auto m = log->NextAfter(0); m.has_value(); m = log->NextAfter(m->id))
    walked.push_back(m->id);
  EXPECT_EQ(walked, (std::vector<uint64_t>{3, 4, 5, 6}));
  EXPECT_EQ(log->NextAfter(4)->id, 5u);
  EXPECT_EQ(log->NextAfter(4)->kind, OutboxRecordKind::kInventory);
  EXPECT_FALSE(log->NextAfter(6).has_value());
  EXPECT_FALSE(log->NextAfter(1000).has_value());
}

TEST_F(OutboxLogTest, AckRejectsUnassignedIdsAndIgnoresOldOnes) {
  auto log = OpenLog();
  MustAppend(*log, kInv, "a");
  MustAppend(*log, kInv, "b");
  EXPECT_TRUE(absl::IsInvalidArgument(log->AckUpTo(3)));
  ASSERT_TRUE(log->AckUpTo(2).ok());
  EXPECT_TRUE(log->AckUpTo(1).ok());
  EXPECT_EQ(log->acked_up_to(), 2u);
}

TEST_F(OutboxLogTest, RejectsBadKindsAndOversizedPayloads) {
  options_.max_bytes = 1000;
  auto log = OpenLog();
  EXPECT_TRUE(absl::IsInvalidArgument(log->Append(static_cast<OutboxRecordKind>(9), "x").status()));
  absl::Status big = log->Append(kInv, std::string(1000, 'x')).status();
  EXPECT_TRUE(absl::IsInvalidArgument(big));
  EXPECT_NE(big.message().find("983"), absl::string_view::npos) << big;
  EXPECT_EQ(log->next_id(), 1u);
}

TEST_F(OutboxLogTest, SecondOpenOfTheSameDirectoryFails) {
  auto log = OpenLog();
  absl::StatusOr<std::unique_ptr<OutboxLog>> again = OutboxLog::Open(dir(), options_, nullptr);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  log.reset();
  EXPECT_TRUE(OutboxLog::Open(dir(), options_, nullptr).ok());
}

TEST_F(OutboxLogTest, FullOutboxDropsOldestMetricsFirstAndNeverInventory) {
  options_.segment_bytes = 400;
  options_.max_bytes = 2000;  // 20 records of 100 bytes
  auto log = OpenLog();
  std::string p(83, 'x');  // 100 bytes on disk
  // ids 1..20: inventory at every 4th id, metrics otherwise.
  for (uint64_t i = 1; i <= 20; ++i) MustAppend(*log, i % 4 == 0 ? kInv : kMet, p);
  EXPECT_EQ(log->dropped_records(), 0u);
  EXPECT_EQ(log->live_bytes(), 2000u);

  // One more: the oldest segment (ids 1-4) loses its three metric records.
  EXPECT_EQ(MustAppend(*log, kMet, p), 21u);
  EXPECT_EQ(log->dropped_records(), 3u);
  for (uint64_t id : {1, 2, 3}) EXPECT_TRUE(absl::IsNotFound(log->Read(id).status())) << id;
  EXPECT_EQ(MustRead(*log, 4), p);
  EXPECT_EQ(MustRead(*log, 5), p);
  EXPECT_LE(log->live_bytes(), 2000u);
  // The rewritten first segment holds only the inventory record.
  EXPECT_EQ(FileSize(dir() + "/seg-00000000000000000001.log"), 100u);

  // Inventory floods in: metrics go, oldest first, inventory all stays.
  for (int i = 0; i < 30; ++i) MustAppend(*log, kInv, p);
  EXPECT_EQ(log->dropped_records(), 16u);  // every metric among ids 1..21
  EXPECT_GT(log->live_bytes(), 2000u);     // the bound yields to inventory
  for (const OutboxRecordMeta& m : log->Pending()) EXPECT_EQ(m.kind, kInv) << m.id;
  EXPECT_EQ(log->Pending().size(), 5u + 30u);
  // A metric that cannot fit is dropped on arrival: counted, never stored.
  uint64_t id = MustAppend(*log, kMet, p);
  EXPECT_TRUE(absl::IsNotFound(log->Read(id).status()));
  EXPECT_EQ(log->dropped_records(), 17u);
  log.reset();

  OutboxOpenReport report;
  log = OpenLog(&report);
  EXPECT_EQ(log->dropped_records(), 17u);
  EXPECT_EQ(log->next_id(), id + 1);
  EXPECT_EQ(report.records_recovered, 35u);
  EXPECT_TRUE(report.warnings.empty());
  for (const OutboxRecordMeta& m : log->Pending()) EXPECT_EQ(MustRead(*log, m.id), p);
}

TEST_F(OutboxLogTest, HealthRecordsAreDroppableToo) {
  options_.segment_bytes = 250;
  options_.max_bytes = 500;
  auto log = OpenLog();
  std::string p(83, 'x');
  for (int i = 0; i < 5; ++i) MustAppend(*log, OutboxRecordKind::kHealth, p);
  MustAppend(*log, OutboxRecordKind::kJobEvent, p);
  EXPECT_GE(log->dropped_records(), 1u);
  EXPECT_EQ(log->Pending().back().kind, OutboxRecordKind::kJobEvent);
}

TEST_F(OutboxLogTest, DiskFullFailsTheAppendAndCorruptsNothing) {
  options_.segment_bytes = 1 << 20;
  auto log = OpenLog();
  for (uint64_t i = 1; i <= 5; ++i) MustAppend(*log, kInv, PayloadFor(i));
  std::string seg = dir() + "/seg-00000000000000000001.log";
  uint64_t size = FileSize(seg);

  // RLIMIT_FSIZE makes the write stop part-way, as a full disk does.
  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = size + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  absl::Status full = log->Append(kInv, std::string(1000, 'z')).status();
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);

  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_EQ(FileSize(seg), size);  // the partial record was taken back
  EXPECT_EQ(log->next_id(), 6u);   // and its id not used
  EXPECT_EQ(MustAppend(*log, kInv, PayloadFor(6)), 6u);
  log.reset();
  OutboxOpenReport report;
  log = OpenLog(&report);
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_EQ(report.records_recovered, 6u);
  for (uint64_t i = 1; i <= 6; ++i) EXPECT_EQ(MustRead(*log, i), PayloadFor(i));
}

TEST_F(OutboxLogTest, ConcurrentAppendsGetDistinctIds) {
  options_.sync = false;
  options_.segment_bytes = 4096;
  auto log = OpenLog();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<uint64_t> id = log->Append(kInv, "x");
        if (id.ok() && i % 50 == 0) (void)log->NextAfter(*id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log->next_id(), 801u);
  std::vector<OutboxRecordMeta> pending = log->Pending();
  ASSERT_EQ(pending.size(), 800u);
  for (size_t i = 0; i < pending.size(); ++i) EXPECT_EQ(pending[i].id, i + 1);
}

// Prints figures for docs/benchmarks; asserts nothing about speed.
TEST_F(OutboxLogTest, PrintsAppendThroughputAndIndexMemory) {
  std::string payload(1024, 'm');
  for (bool sync : {true, false}) {
    options_.sync = sync;
    std::string sub = absl::StrCat(dir(), sync ? "-sync" : "-nosync");
    auto log = OutboxLog::Open(sub, options_, nullptr);
    ASSERT_TRUE(log.ok()) << log.status();
    auto start = std::chrono::steady_clock::now();
    auto budget = std::chrono::milliseconds(sync ? 1000 : 500);
    int n = 0;
    while (std::chrono::steady_clock::now() - start < budget && n < 60000) {
      ASSERT_TRUE((*log)->Append(kMet, payload).ok());
      ++n;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ outbox   ] Append 1 KiB, sync=%s: %.0f records/s (%d in %.2f s)\n",
                sync ? "true" : "false", n / secs, n, secs);
  }

  options_.sync = false;
  auto log = OutboxLog::Open(dir() + "-mem", options_, nullptr);
  ASSERT_TRUE(log.ok());
  constexpr int kRecords = 50000;
  size_t before = ::mallinfo2().uordblks;
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE((*log)->Append(kInv, payload).ok());
  size_t after = ::mallinfo2().uordblks;
  std::printf(
      "[ outbox   ] heap per pending record: %.1f bytes (%d records of 1 KiB, %zu segments)\n",
      static_cast<double>(after - before) / kRecords, kRecords,
      SegmentFiles(dir() + "-mem").size());
}

}  // namespace
}  // namespace steward
