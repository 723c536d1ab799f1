// The query engine over a real TsdbStore (query views, rollup records read
// field by field, raw edges, heads and persisted chunks) answers random
// aggregate queries exactly as over the in-memory source holding the same
// samples.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/query/query_engine.h"
#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/memory_series_source.h"
#include "tests/collector/tsdb/query_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector::tsdb {
namespace {

using query_test::Describe;
using query_test::MemorySeriesSource;
using query_test::MakeRequest;
using query_test::SameResult;

constexpr int64_t kMinute = 60'000;

TEST(QueryOverStore, RandomAggregatesEqualTheInMemorySource) {
  testing::TempDir dir;
  TsdbOptions options;
  options.max_head_samples = 50;  // most samples in persisted chunks, some in heads
  options.retention_ms = 0;
  options.rollup_retention_ms = 0;
  auto opened = TsdbStore::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  TsdbStore& store = **opened;
  MemorySeriesSource memory;
  memory.set_rollup_resolutions({kMinute, 5 * kMinute, 60 * kMinute});

  std::mt19937_64 rng(77);
  constexpr int kHosts = 6, kSteps = 700;
  std::vector<std::vector<Sample>> data(kHosts);
  for (int h = 0; h < kHosts; ++h) {
    double v = 50;
    for (int s = 0; s < kSteps; ++s) {
      v += static_cast<double>(static_cast<int>(rng() % 201) - 100) / 100.0;
      // 10 s apart with jitter, a gap now and then.
      if (rng() % 50 == 0) continue;
      data[h].push_back({int64_t{s} * 10'000 + static_cast<int64_t>(rng() % 3000), v});
    }
    const Labels labels = {{"host", "h" + std::to_string(h)}, {"zone", h % 2 ? "a" : "b"}};
    memory.Add("cpu", labels, false, data[h]);
    // In batches of 40 samples, as agents would send them over time.
    for (size_t at = 0; at < data[h].size(); at += 40) {
      std::vector<Sample> part(data[h].begin() + static_cast<ptrdiff_t>(at),
                               data[h].begin() + static_cast<ptrdiff_t>(std::min(at + 40, data[h].size())));
      ASSERT_TRUE(store.Append({IngestSeries{"cpu", labels, false, part}}).ok());
    }
  }
  QueryEngine over_store(&store), over_memory(&memory);
  const Aggregation aggs[] = {Aggregation::kAvg, Aggregation::kMin, Aggregation::kMax,
                              Aggregation::kSum, Aggregation::kCount, Aggregation::kLast};
  const int64_t steps[] = {0, kMinute, 5 * kMinute, 10 * kMinute, 60 * kMinute};
  const int64_t span = int64_t{kSteps} * 10'000;
  int non_empty = 0;
  for (int q = 0; q < 400; ++q) {
    int64_t a = static_cast<int64_t>(rng() % static_cast<uint64_t>(span)) - 30'000;
    int64_t b = a + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    QueryRequest r = MakeRequest("cpu", aggs[rng() % 6], a, b, steps[rng() % 5]);
    if (rng() % 2) r.group_by = {"zone"};
    if (r.step_ms > 0 && (b - a) / r.step_ms > 5000) continue;
    SCOPED_TRACE(Describe(r));
    auto got = over_store.Run(r);
    auto want = over_memory.Run(r);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_TRUE(SameResult(*got, *want, r.agg)) << Describe(*got) << "\nvs\n" << Describe(*want);
    non_empty += got->groups.empty() ? 0 : 1;
  }
  EXPECT_GT(non_empty, 300);
}

}  // namespace
}  // namespace steward::collector::tsdb
