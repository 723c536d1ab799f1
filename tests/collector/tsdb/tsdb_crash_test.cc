// TsdbStore durability: a child process (tsdb_crash_writer) appends batches
// from two threads (as two agents' sessions do, their synced writes
// overlapping) and reports each acknowledged one; the parent SIGKILLs it at a random moment, reopens
// the store and checks that every acknowledged sample is there, once.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/tsdb_crash_writer.h"
#include "tests/collector/tsdb/tsdb_store_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector::tsdb {
namespace {

using namespace crash_test;  // NOLINT: the test's data
using store_test::IdOf;
using store_test::ReadAll;
using store_test::SameSamples;

std::vector<Sample> ExpectedOf(int host, int batches) {
  std::vector<Sample> out;
  for (int b = 0; b < batches; ++b) {
    for (int j = 0; j < kSamplesPerBatch; ++j)
      out.push_back({int64_t{b} * kSamplesPerBatch + j, ValueOf(b, host, j)});
  }
  return out;
}

// Runs a writer from batches `first` and kills it once every thread has
// about `kill_after` more acknowledgements; returns the acknowledged counts.
std::vector<int> RunAndKill(const std::string& dir, std::vector<int> first, int kill_after, int delay_us) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return first;
  }
  // The writer is a program of its own (fork, then exec): a child only
  // forked from this multi-threaded process could hang on a lock another
  // thread held at the fork.
  const std::string a = std::to_string(first[0]), b = std::to_string(first[1]), fd = std::to_string(fds[1]);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    execl(STEWARD_TSDB_CRASH_WRITER, "tsdb_crash_writer", dir.c_str(), a.c_str(), b.c_str(), fd.c_str(),
          static_cast<char*>(nullptr));
    _exit(6);
  }
  close(fds[1]);
  std::vector<int> acked = first;
  bool killed = false;
  std::string pending;
  char buf[4096];
  for (;;) {
    // No progress for 60 s (a wedged writer): kill it there; the round
    // still checks what was acknowledged.
    struct pollfd pfd = {fds[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, 60000);
    if (ready == 0 && !killed) {
      std::fprintf(stderr, "writer made no progress for 60 s; killing it\n");
      kill(pid, SIGKILL);
      killed = true;
      continue;
    }
    if (ready < 0 && errno == EINTR) continue;
    const ssize_t n = ready > 0 ? read(fds[0], buf, sizeof buf) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      const std::string line = pending.substr(0, nl);
      int t = 0, count = 0;
      if (std::sscanf(line.c_str(), "acked %d %d", &t, &count) != 2 || t < 0 || t >= kThreads) {
        ADD_FAILURE() << "bad line from the writer: " << line;
        continue;
      }
      acked[static_cast<size_t>(t)] = std::max(acked[static_cast<size_t>(t)], count);
      bool all = true;
      for (int i = 0; i < kThreads; ++i) all = all && acked[static_cast<size_t>(i)] >= first[static_cast<size_t>(i)] + kill_after;
      if (!killed && all) {
        usleep(delay_us);  // somewhere inside later Appends
        kill(pid, SIGKILL);
        killed = true;
      }
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended by itself, status " << status;
  return acked;
}

TEST(TsdbCrash, AcknowledgedSamplesSurviveSigkill) {
  testing::TempDir dir;
  std::mt19937 rng(42);
  std::vector<int> acked(kThreads, 0);
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    // Each round starts from the last acknowledged batches: a batch written
    // but not acknowledged before the kill comes again and is dropped.
    acked = RunAndKill(dir.path(), acked, 5 + static_cast<int>(rng() % 60),
                       static_cast<int>(rng() % 3000));
    auto store = TsdbStore::Open(dir.path(), CrashOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    for (int t = 0; t < kThreads; ++t) {
      const int n = acked[static_cast<size_t>(t)];
      for (int h = 0; h < kHosts; ++h) {
        uint64_t id = IdOf(**store, HostName(t, h));
        ASSERT_NE(id, 0u) << HostName(t, h);
        std::vector<Sample> got = ReadAll(**store, id, INT64_MIN, INT64_MAX);
        // Every acknowledged batch, and at most the one being written.
        if (got.size() == static_cast<size_t>((n + 1) * kSamplesPerBatch)) {
          EXPECT_TRUE(SameSamples(got, ExpectedOf(h, n + 1))) << HostName(t, h);
        } else {
          EXPECT_TRUE(SameSamples(got, ExpectedOf(h, n))) << HostName(t, h) << ", acked " << n;
        }
      }
    }
  }
  EXPECT_GT(acked[0], 25);
  EXPECT_GT(acked[1], 25);
}

// Several writers (their synced writes overlapping), a maintenance loop and
// query views at once: afterwards, and after a reopen from the WAL, every
// host holds exactly its batches.
TEST(TsdbConcurrency, ParallelAppendsMaintenanceAndReads) {
  testing::TempDir dir;
  constexpr int kWriters = 4, kBatches = 150;
  {
    auto opened = TsdbStore::Open(dir.path(), CrashOptions());
    ASSERT_TRUE(opened.ok()) << opened.status();
    TsdbStore& store = **opened;
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};
    absl::Mutex first_mu;
    std::string first;  // the first failure, for the message
    auto fail = [&](const std::string& what) {
      if (failures.fetch_add(1) == 0) {
        absl::MutexLock lock(&first_mu);
        first = what;
      }
    };
    std::thread other([&] {
      while (!done.load()) {
        if (absl::Status s = store.Maintain(); !s.ok()) fail(absl::StrCat("Maintain: ", s.ToString()));
        std::unique_ptr<SeriesSource> view = store.ForOneQuery();
        std::vector<Sample> samples;
        if (absl::Status s = view->ReadSamples(1, INT64_MIN, INT64_MAX, &samples); !s.ok()) {
          fail(absl::StrCat("ReadSamples: ", s.ToString()));
        }
        // Series 1 (host 0 of the first writer to append) reads as a
        // prefix of all its batches: no sample twice, none missing, also
        // while a full head's chunk is encoded without the store's lock.
        const std::vector<Sample> all = ExpectedOf(0, kBatches);
        if (samples.size() > all.size() ||
            !std::equal(samples.begin(), samples.end(), all.begin(),
                        [](const Sample& a, const Sample& b) {
                          return a.time_ms == b.time_ms && a.value == b.value;
                        })) {
          size_t at = 0;
          while (at < samples.size() && at < all.size() && samples[at].time_ms == all[at].time_ms &&
                 samples[at].value == all[at].value) {
            ++at;
          }
          fail(absl::StrCat("series 1 read ", samples.size(), " samples, not a prefix of the ", all.size(),
                            " written: first difference at ", at,
                            at < samples.size() ? absl::StrCat(" (t=", samples[at].time_ms, ")") : ""));
        }
      }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kWriters; ++t) {
      writers.emplace_back([&, t] {
        for (int b = 0; b < kBatches; ++b) {
          if (absl::Status s = store.Append(BatchOf(t, b)); !s.ok()) fail(absl::StrCat("Append: ", s.ToString()));
        }
      });
    }
    for (auto& w : writers) w.join();
    done = true;
    other.join();
    EXPECT_EQ(failures.load(), 0) << "first: " << first;
    for (int t = 0; t < kWriters; ++t) {
      for (int h = 0; h < kHosts; ++h) {
        EXPECT_TRUE(SameSamples(ReadAll(store, IdOf(store, HostName(t, h)), INT64_MIN, INT64_MAX),
                                ExpectedOf(h, kBatches)))
            << HostName(t, h);
      }
    }
  }
  // Closed without a flush: what the heads held comes back from the WAL.
  auto reopened = TsdbStore::Open(dir.path(), CrashOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (int t = 0; t < kWriters; ++t) {
    for (int h = 0; h < kHosts; ++h) {
      EXPECT_TRUE(SameSamples(
          ReadAll(**reopened, IdOf(**reopened, HostName(t, h)), INT64_MIN, INT64_MAX),
          ExpectedOf(h, kBatches)))
          << HostName(t, h) << " after reopening";
    }
  }
}

}  // namespace
}  // namespace steward::collector::tsdb
