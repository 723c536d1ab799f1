// TsdbStore durability: a child process appends batches and reports each
// acknowledged one; the parent SIGKILLs it at a random moment, reopens the
// store and checks that every acknowledged sample is there, once.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/tsdb_store_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector::tsdb {
namespace {

using store_test::HostSeries;
using store_test::IdOf;
using store_test::ReadAll;
using store_test::SameSamples;

constexpr int kHosts = 5;
constexpr int kSamplesPerBatch = 3;

// Small heads and a small memory bound, so chunks are persisted and the WAL
// truncated while the child runs.
TsdbOptions CrashOptions() {
  TsdbOptions options;
  options.max_head_samples = 7;
  options.max_head_bytes = 1500;
  // The times are milliseconds after the epoch: without this, compactions
  // rightly drop them as older than the default retention.
  options.retention_ms = 0;
  return options;
}

double ValueOf(int batch, int host, int j) { return batch * 100.0 + host * 10 + j + 0.25; }

// Batch b: kSamplesPerBatch samples of every host at times 3b, 3b+1, 3b+2.
std::vector<IngestSeries> BatchOf(int b) {
  std::vector<IngestSeries> batch;
  for (int h = 0; h < kHosts; ++h) {
    std::vector<Sample> samples;
    for (int j = 0; j < kSamplesPerBatch; ++j) {
      samples.push_back({int64_t{b} * kSamplesPerBatch + j, ValueOf(b, h, j)});
    }
    batch.push_back(HostSeries("h" + std::to_string(h), std::move(samples)));
  }
  return batch;
}

std::vector<Sample> ExpectedOf(int host, int batches) {
  std::vector<Sample> out;
  for (int b = 0; b < batches; ++b) {
    for (int j = 0; j < kSamplesPerBatch; ++j)
      out.push_back({int64_t{b} * kSamplesPerBatch + j, ValueOf(b, host, j)});
  }
  return out;
}

// The child: opens the store, appends batches from `first` on, writing
// "acked N" (N batches acknowledged in all) after each Append returns.
[[noreturn]] void RunWriter(const std::string& dir, int first, int out_fd) {
  auto store = TsdbStore::Open(dir, CrashOptions());
  if (!store.ok()) _exit(2);
  for (int b = first;; ++b) {
    if (!(*store)->Append(BatchOf(b)).ok()) _exit(3);
    std::string line = "acked " + std::to_string(b + 1) + "\n";
    if (write(out_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
  }
}

// Runs a writer from batch `first` and kills it after about `kill_after`
// acknowledgements; returns the acknowledged count (at least `first`).
int RunAndKill(const std::string& dir, int first, int kill_after, int delay_us) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return first;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    RunWriter(dir, first, fds[1]);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  int acked = first;
  char line[64];
  bool killed = false;
  while (fgets(line, sizeof line, in) != nullptr) {
    acked = std::max(acked, std::atoi(line + 6));
    if (!killed && acked >= first + kill_after) {
      usleep(delay_us);  // somewhere inside a later Append
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended by itself, status " << status;
  return acked;
}

TEST(TsdbCrash, AcknowledgedSamplesSurviveSigkill) {
  testing::TempDir dir;
  std::mt19937 rng(42);
  int acked = 0;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    // Each round starts from the last acknowledged batch: a batch written
    // but not acknowledged before the kill comes again and is dropped.
    acked = RunAndKill(dir.path(), acked, 5 + static_cast<int>(rng() % 60),
                       static_cast<int>(rng() % 3000));
    auto store = TsdbStore::Open(dir.path(), CrashOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    for (int h = 0; h < kHosts; ++h) {
      uint64_t id = IdOf(**store, "h" + std::to_string(h));
      ASSERT_NE(id, 0u);
      std::vector<Sample> got = ReadAll(**store, id, INT64_MIN, INT64_MAX);
      // Every acknowledged batch, and at most the one being written.
      if (got.size() == static_cast<size_t>((acked + 1) * kSamplesPerBatch)) {
        EXPECT_TRUE(SameSamples(got, ExpectedOf(h, acked + 1))) << "h" << h;
      } else {
        EXPECT_TRUE(SameSamples(got, ExpectedOf(h, acked))) << "h" << h << ", acked " << acked;
      }
    }
  }
  EXPECT_GT(acked, 25);
}

}  // namespace
}  // namespace steward::collector::tsdb
