// Recovery: torn tails, flipped bytes, stray files, and kill -9 mid-append.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/outbox/outbox_log.h"
#include "gtest/gtest.h"
#include "tests/common/outbox/outbox_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward {
namespace {

using outbox_test::FileSize;
using outbox_test::FlipByte;
using outbox_test::PayloadFor;
using outbox_test::SegmentFiles;
using outbox_test::TruncateFile;

constexpr OutboxRecordKind kInv = OutboxRecordKind::kInventory;
constexpr uint64_t kHeader = 17;
const char kSeg1[] = "seg-00000000000000000001.log";

bool AnyWarningContains(const OutboxOpenReport& r, absl::string_view text) {
  for (const std::string& w : r.warnings) {
    if (absl::StrContains(w, text)) return true;
  }
  return false;
}

class OutboxRecoveryTest : public ::testing::Test {
 protected:
  std::unique_ptr<OutboxLog> OpenLog(OutboxOpenReport* report = nullptr) {
    absl::StatusOr<std::unique_ptr<OutboxLog>> log = OutboxLog::Open(dir(), options_, report);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Appends PayloadFor(1..n) as inventory; returns each record's offset.
  std::vector<uint64_t> Fill(uint64_t n) {
    auto log = OpenLog();
    std::vector<uint64_t> offsets{0};
    for (uint64_t id = 1; id <= n; ++id) {
      EXPECT_TRUE(log->Append(kInv, PayloadFor(id)).ok());
      offsets.push_back(offsets.back() + kHeader + PayloadFor(id).size());
    }
    return offsets;  // offsets[id - 1] is where record id starts
  }
  void ExpectIntact(const OutboxLog& log, uint64_t id) {
    absl::StatusOr<std::string> p = log.Read(id);
    ASSERT_TRUE(p.ok()) << "id " << id << ": " << p.status();
    EXPECT_EQ(*p, PayloadFor(id)) << "id " << id;
  }
  std::string dir() const { return tmp_.path() + "/outbox"; }
  std::string seg1() const { return dir() + "/" + kSeg1; }

  testing::TempDir tmp_{"outbox-recovery"};
  OutboxLogOptions options_;
};

TEST_F(OutboxRecoveryTest, TornTailIsTruncatedAndEverythingBeforeKept) {
  std::vector<uint64_t> off = Fill(10);
  TruncateFile(seg1(), off[9] + 5);  // record 10 cut 5 bytes into its header
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 9u);
  EXPECT_EQ(report.torn_tail_bytes, 5u);
  EXPECT_EQ(report.corrupt_records, 0u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(report.warnings[0], absl::StrCat(kSeg1, " offset ", off[9], ":")))
      << report.warnings[0];
  EXPECT_EQ(FileSize(seg1()), off[9]);
  for (uint64_t id = 1; id <= 9; ++id) ExpectIntact(*log, id);
  EXPECT_EQ(log->next_id(), 10u);  // the torn record's id was never handed out
  ASSERT_TRUE(log->Append(kInv, PayloadFor(10)).ok());
  log.reset();

  log = OpenLog(&report);
  EXPECT_TRUE(report.warnings.empty()) << absl::StrJoin(report.warnings, "\n");
  EXPECT_EQ(report.records_recovered, 10u);
  ExpectIntact(*log, 10);
}

TEST_F(OutboxRecoveryTest, TruncatedPayloadIsATornTail) {
  std::vector<uint64_t> off = Fill(4);
  TruncateFile(seg1(), off[4] - 1);
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 3u);
  EXPECT_EQ(report.torn_tail_bytes, off[4] - 1 - off[3]);
  EXPECT_TRUE(AnyWarningContains(report, "runs past the end")) << report.warnings[0];
}

TEST_F(OutboxRecoveryTest, FlippedPayloadByteLosesOnlyThatRecord) {
  std::vector<uint64_t> off = Fill(10);
  FlipByte(seg1(), off[4] + kHeader + 1);  // inside record 5's payload
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.corrupt_records, 1u);
  EXPECT_EQ(report.torn_tail_bytes, 0u);
  EXPECT_EQ(report.records_recovered, 9u);
  EXPECT_TRUE(
      AnyWarningContains(report, absl::StrCat(kSeg1, " offset ", off[4], ": checksum mismatch")))
      << absl::StrJoin(report.warnings, "\n");
  EXPECT_TRUE(absl::IsNotFound(log->Read(5).status()));
  for (uint64_t id : {1, 2, 3, 4, 6, 7, 8, 9, 10}) ExpectIntact(*log, id);
  EXPECT_EQ(log->next_id(), 11u);
  // Nothing is appended after damaged bytes: a new segment takes it.
  ASSERT_TRUE(log->Append(kInv, PayloadFor(11)).ok());
  EXPECT_EQ(SegmentFiles(dir()).size(), 2u);
  log.reset();
  log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 10u);
  ExpectIntact(*log, 11);
  // Once acked, the damaged segment is deleted and the warning stops.
  ASSERT_TRUE(log->AckUpTo(10).ok());
  log.reset();
  log = OpenLog(&report);
  EXPECT_TRUE(report.warnings.empty());
  ExpectIntact(*log, 11);
}

TEST_F(OutboxRecoveryTest, FlippedLengthByteResynchronises) {
  std::vector<uint64_t> off = Fill(6);
  FlipByte(seg1(), off[2] + 1);  // record 3's length field
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.corrupt_records, 1u);
  EXPECT_EQ(report.records_recovered, 5u);
  for (uint64_t id : {1, 2, 4, 5, 6}) ExpectIntact(*log, id);
}

TEST_F(OutboxRecoveryTest, CorruptionInTheLastRecordIsATornTail) {
  std::vector<uint64_t> off = Fill(3);
  FlipByte(seg1(), off[3] - 1);
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 2u);
  EXPECT_EQ(report.torn_tail_bytes, off[3] - off[2]);
  EXPECT_EQ(log->next_id(), 3u);
}

TEST_F(OutboxRecoveryTest, ReadReportsDataLossForBytesChangedAfterOpen) {
  std::vector<uint64_t> off = Fill(3);
  auto log = OpenLog();
  FlipByte(seg1(), off[1] + kHeader);
  absl::Status s = log->Read(2).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find(kSeg1), absl::string_view::npos) << s;
  ExpectIntact(*log, 3);
}

TEST_F(OutboxRecoveryTest, StrayFilesAreReportedAndLeftoversRemoved) {
  Fill(2);
  testing::TempDir& t = tmp_;
  t.Write("outbox/notes.txt", "hello");
  t.Write("outbox/seg-12.log", "short name");
  t.Write("outbox/seg-00000000000000000099.log.tmp", "interrupted rewrite");
  t.Write("outbox/state.tmp.4242", "interrupted state write");
  std::filesystem::create_directory(dir() + "/subdir");
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 2u);
  EXPECT_TRUE(AnyWarningContains(report, "notes.txt: not an outbox file"));
  EXPECT_TRUE(AnyWarningContains(report, "seg-12.log: not an outbox file"));
  EXPECT_TRUE(AnyWarningContains(report, "subdir: not an outbox file"));
  EXPECT_TRUE(AnyWarningContains(report, "seg-00000000000000000099.log.tmp: removed"));
  EXPECT_FALSE(std::filesystem::exists(dir() + "/seg-00000000000000000099.log.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir() + "/state.tmp.4242"));
  EXPECT_TRUE(std::filesystem::exists(dir() + "/notes.txt"));
  ExpectIntact(*log, 2);
}

TEST_F(OutboxRecoveryTest, ZeroByteSegmentsAreDeletedWithoutHarm) {
  Fill(3);
  // Empty segments, one named inside seg-1's id range: they hold nothing
  // and must not cut records 2 and 3 out of seg-1.
  tmp_.Write("outbox/seg-00000000000000000002.log", "");
  tmp_.Write("outbox/seg-00000000000000000050.log", "");
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 3u);
  EXPECT_TRUE(report.warnings.empty()) << absl::StrJoin(report.warnings, "\n");
  EXPECT_EQ(SegmentFiles(dir()), (std::vector<std::string>{kSeg1}));
  EXPECT_EQ(log->next_id(), 4u);
  for (uint64_t id = 1; id <= 3; ++id) ExpectIntact(*log, id);
}

TEST_F(OutboxRecoveryTest, SegmentThatOverlapsTheNextLosesTheOverlap) {
  Fill(3);
  // A (hand-made) segment starting at id 3 makes seg-1's record 3 invalid.
  auto log = OpenLog();
  log.reset();
  std::filesystem::copy_file(seg1(), dir() + "/seg-00000000000000000003.log");
  OutboxOpenReport report;
  log = OpenLog(&report);
  EXPECT_GT(report.torn_tail_bytes, 0u);
  EXPECT_TRUE(AnyWarningContains(report, "outside the expected range"));
  for (uint64_t id = 1; id <= 3; ++id) ExpectIntact(*log, id);
  EXPECT_EQ(log->Pending().size(), 3u);  // no duplicate ids
}

TEST_F(OutboxRecoveryTest, OnlyAnEmptySegment) {
  tmp_.Write(std::string("outbox/") + kSeg1, "");
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_EQ(report.records_recovered, 0u);
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_EQ(log->next_id(), 1u);
  ASSERT_TRUE(log->Append(kInv, PayloadFor(1)).ok());
  ExpectIntact(*log, 1);
}

TEST_F(OutboxRecoveryTest, CorruptStateFileIsReported) {
  Fill(3);
  tmp_.Write("outbox/state", "garbage\n");
  OutboxOpenReport report;
  auto log = OpenLog(&report);
  EXPECT_TRUE(AnyWarningContains(report, "state line 1")) << absl::StrJoin(report.warnings, "\n");
  EXPECT_EQ(log->next_id(), 4u);
  ExpectIntact(*log, 1);
}

// --- kill -9 -------------------------------------------------------------

// 64 KiB to 512 KiB: a write that spans many pages, so a kill can land
// in the middle of copying it.
std::string LargePayloadFor(uint64_t id) {
  std::string unit = PayloadFor(id);
  std::string out;
  size_t size = (1 + id % 8) * (64 << 10);
  while (out.size() < size) out += unit;
  out.resize(size);
  return out;
}

enum class KillMode { kSmallRecords, kDroppingMetrics, kLargeRecords };

std::string PayloadIn(KillMode mode, uint64_t id) {
  return mode == KillMode::kLargeRecords ? LargePayloadFor(id) : PayloadFor(id);
}

// Runs in the child: appends PayloadFor(id) forever, reporting each id that
// Append returned on `report_fd`, acking with a lag of 40.
[[noreturn]] void AppendUntilKilled(const std::string& dir, int report_fd, KillMode mode) {
  bool with_drops = mode == KillMode::kDroppingMetrics;
  OutboxLogOptions options;
  options.segment_bytes = mode == KillMode::kLargeRecords ? 1 << 20 : 8 << 10;
  options.max_bytes = with_drops ? 24 << 10 : 64 << 20;
  auto log = OutboxLog::Open(dir, options, nullptr);
  if (!log.ok()) ::_exit(3);
  while (true) {
    uint64_t id = (*log)->next_id();
    OutboxRecordKind kind =
        with_drops && id % 3 != 0 ? OutboxRecordKind::kMetrics : OutboxRecordKind::kInventory;
    absl::StatusOr<uint64_t> got = (*log)->Append(kind, PayloadIn(mode, id));
    if (!got.ok() || *got != id) ::_exit(4);
    if (::write(report_fd, &id, sizeof id) != sizeof id) ::_exit(5);
    if (mode == KillMode::kSmallRecords && id % 16 == 0 && id > 40 &&
        !(*log)->AckUpTo(id - 40).ok())
      ::_exit(6);
  }
}

void KillNineRounds(const std::string& dir, KillMode mode, int rounds) {
  bool with_drops = mode == KillMode::kDroppingMetrics;
  std::mt19937 rng(12345 + static_cast<int>(mode));
  uint64_t total_appends = 0;
  int torn_rounds = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      AppendUntilKilled(dir, fds[1], mode);
    }
    ::close(fds[1]);
    ::usleep(std::uniform_int_distribution<int>(2000, 40000)(rng));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    uint64_t id = 0, max_returned = 0;
    std::vector<uint64_t> returned;
    while (::read(fds[0], &id, sizeof id) == sizeof id) returned.push_back(id);
    ::close(fds[0]);
    for (uint64_t r : returned) max_returned = std::max(max_returned, r);
    total_appends += returned.size();

    OutboxOpenReport report;
    OutboxLogOptions options;
    auto log = OutboxLog::Open(dir, OutboxLogOptions(), &report);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(report.corrupt_records, 0u) << absl::StrJoin(report.warnings, "\n");
    if (report.torn_tail_bytes > 0) ++torn_rounds;
    // Every Append that returned survived.
    EXPECT_GT((*log)->next_id(), max_returned);
    uint64_t acked = (*log)->acked_up_to();
    std::vector<OutboxRecordMeta> pending = (*log)->Pending();
    if (!with_drops) {
      // Contiguous from the ack point to the end, every payload intact.
      ASSERT_EQ(pending.size(), (*log)->next_id() - 1 - acked);
      for (size_t i = 0; i < pending.size(); ++i) ASSERT_EQ(pending[i].id, acked + 1 + i);
    }
    for (const OutboxRecordMeta& m : pending) {
      absl::StatusOr<std::string> p = (*log)->Read(m.id);
      ASSERT_TRUE(p.ok()) << "id " << m.id << ": " << p.status();
      ASSERT_TRUE(*p == PayloadIn(mode, m.id)) << "id " << m.id;
    }
    // Inventory is never dropped.
    for (uint64_t r : returned) {
      if (r > acked && r % 3 == 0) {
        ASSERT_TRUE((*log)->Read(r).ok()) << "inventory id " << r;
      }
    }
  }
  std::printf(
      "[ outbox   ] %d kill -9 rounds (%d left a torn tail), %llu appends returned before the "
      "kills\n",
      rounds, torn_rounds, static_cast<unsigned long long>(total_appends));
  EXPECT_GT(total_appends, 0u);
}

TEST_F(OutboxRecoveryTest, KillNineMidAppendLosesNothingReturned) {
  KillNineRounds(dir(), KillMode::kSmallRecords, 20);
}

TEST_F(OutboxRecoveryTest, KillNineMidLargeAppendsLeavesOnlyATornTail) {
  KillNineRounds(dir(), KillMode::kLargeRecords, 10);
}

TEST_F(OutboxRecoveryTest, KillNineWhileDroppingMetricsKeepsInventory) {
  KillNineRounds(dir(), KillMode::kDroppingMetrics, 10);
}

}  // namespace
}  // namespace steward
