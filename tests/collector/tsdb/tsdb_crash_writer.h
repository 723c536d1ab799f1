#pragma once
// The data of the TSDB crash test (tsdb_crash_test.cc), shared with its
// writer process (tsdb_crash_writer.cc).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "collector/tsdb/tsdb_store.h"
#include "tests/collector/tsdb/tsdb_store_test_util.h"

namespace steward::collector::tsdb::crash_test {

constexpr int kHosts = 5;
constexpr int kSamplesPerBatch = 3;
constexpr int kThreads = 2;

// Host h of writer thread t.
inline std::string HostName(int thread, int h) { return "t" + std::to_string(thread) + "h" + std::to_string(h); }

// Small heads and a small memory bound, so chunks are persisted and the WAL
// truncated while the child runs.
inline TsdbOptions CrashOptions() {
  TsdbOptions options;
  options.max_head_samples = 7;
  options.max_head_bytes = 1500;
  // The times are milliseconds after the epoch: without this, compactions
  // rightly drop them as older than the default retention.
  options.retention_ms = 0;
  return options;
}

inline double ValueOf(int batch, int host, int j) { return batch * 100.0 + host * 10 + j + 0.25; }

// Batch b of thread t: kSamplesPerBatch samples of each of its hosts at
// times 3b, 3b+1, 3b+2.
inline std::vector<IngestSeries> BatchOf(int thread, int b) {
  std::vector<IngestSeries> batch;
  for (int h = 0; h < kHosts; ++h) {
    std::vector<Sample> samples;
    for (int j = 0; j < kSamplesPerBatch; ++j) {
      samples.push_back({int64_t{b} * kSamplesPerBatch + j, ValueOf(b, h, j)});
    }
    batch.push_back(store_test::HostSeries(HostName(thread, h), std::move(samples)));
  }
  return batch;
}

}  // namespace steward::collector::tsdb::crash_test
