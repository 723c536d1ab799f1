// The query engine over a real TsdbStore (query views, rollup records read
// field by field, raw edges, heads and persisted chunks) answers random
// aggregate queries exactly as over the in-memory source holding the same
// samples.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "collector/tsdb/query/query_engine.h"
#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/memory_series_source.h"
#include "tests/collector/tsdb/query_test_util.h"
#include "tests/collector/tsdb/tsdb_store_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector::tsdb {
namespace {

using query_test::Describe;
using query_test::MemorySeriesSource;
using query_test::MakeRequest;
using query_test::SameResult;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

// Options keeping everything forever, with heads of `head_samples`; with
// `short_rollups`, rollups serve ranges of any length (to compare them).
TsdbOptions KeepAll(int head_samples, bool short_rollups) {
  TsdbOptions options;
  options.max_head_samples = head_samples;
  options.retention_ms = 0;
  options.rollup_retention_ms = 0;
  if (short_rollups) options.min_rollup_span_ms = 0;
  return options;
}

TEST(QueryOverStore, RandomAggregatesEqualTheInMemorySource) {
  testing::TempDir dir;
  // Most samples in persisted chunks, some in heads.
  auto opened = TsdbStore::Open(dir.path(), KeepAll(50, /*short_rollups=*/true));
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

// Queries over many series run on several threads, each with its own
// view, and big groups in merged parts: the same answers as on one thread;
// so do queries prepared on one thread and run on another (as the admin
// service hands a selection from its gRPC thread to its WorkQueue).
TEST(QueryOverStore, ThreadedQueriesEqualOneThread) {
  testing::TempDir dir;
  auto opened = TsdbStore::Open(dir.path(), KeepAll(30, /*short_rollups=*/true));
  ASSERT_TRUE(opened.ok()) << opened.status();
  TsdbStore& store = **opened;
  std::mt19937_64 rng(5);
  constexpr int kHosts = 40, kSteps = 200;
  for (int h = 0; h < kHosts; ++h) {
    std::vector<Sample> samples;
    double v = 50;
    for (int s = 0; s < kSteps; ++s) {
      v += static_cast<double>(static_cast<int>(rng() % 201) - 100) / 100.0;
      samples.push_back({int64_t{s} * 10'000 + static_cast<int64_t>(rng() % 3000), v});
    }
    const Labels labels = {{"host", "h" + std::to_string(h)}, {"zone", "z" + std::to_string(h % 3)}};
    ASSERT_TRUE(store.Append({IngestSeries{"cpu", labels, false, samples}}).ok());
  }
  QueryEngine one(&store);
  QueryEngine four(&store, QueryThreads{.max = 4, .min_series = 3});
  const Aggregation aggs[] = {Aggregation::kAvg, Aggregation::kMax, Aggregation::kSum,
                              Aggregation::kCount, Aggregation::kLast, Aggregation::kP90,
                              Aggregation::kNone};
  const int64_t span = int64_t{kSteps} * 10'000;
  for (int q = 0; q < 120; ++q) {
    int64_t a = static_cast<int64_t>(rng() % static_cast<uint64_t>(span)) - 20'000;
    int64_t b = a + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    QueryRequest r = MakeRequest("cpu", aggs[rng() % 7], a, b, (rng() % 2) ? kMinute : 0);
    switch (rng() % 4) {
      case 0: r.group_by = {"zone"}; break;  // 3 groups of about 13: split in parts
      case 1: r.group_by = {"host"}; break;  // 40 groups of one
      case 2: r.last_point = true; r.agg = Aggregation::kNone; r.step_ms = 0; break;
      default: break;                         // one group of 40
    }
    if (r.agg == Aggregation::kNone) {
      r.step_ms = 0;  // raw points and last points are per series, no step
      r.group_by.clear();
    } else if (rng() % 3 == 0) {
      r.top_k = 2;
    }
    SCOPED_TRACE(Describe(r));
    auto got = four.Run(r);
    auto want = one.Run(r);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_TRUE(SameResult(*got, *want, r.agg)) << Describe(*got) << "\nvs\n" << Describe(*want);

    absl::StatusOr<PreparedQuery> prepared = four.Prepare(r);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    EXPECT_EQ(prepared->series_count(), static_cast<size_t>(kHosts));
    absl::StatusOr<QueryResult> elsewhere = absl::InternalError("not run");
    std::thread([&] { elsewhere = four.Run(*std::move(prepared)); }).join();
    ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
    EXPECT_TRUE(SameResult(*elsewhere, *want, r.agg)) << Describe(*elsewhere) << "\nvs\n" << Describe(*want);
  }
  // Prepare finds a malformed request and a selection over the limit.
  QueryRequest reversed = MakeRequest("cpu", Aggregation::kAvg, 100, 1, 0);
  EXPECT_EQ(four.Prepare(reversed).status().code(), absl::StatusCode::kInvalidArgument);
  QueryRequest too_many = MakeRequest("cpu", Aggregation::kAvg, 0, 1000, 0);
  too_many.max_series = kHosts - 1;
  EXPECT_EQ(four.Prepare(too_many).status().code(), absl::StatusCode::kResourceExhausted);
}

// A series whose samples all lie in the range is answered from rollups
// alone (partial buckets at the ends included); one with a sample just
// outside is not: the answers equal the in-memory source's either way.
TEST(QueryOverStore, WholeSeriesRollupsOnlyWhenEverySampleIsInTheRange) {
  testing::TempDir dir;
  auto opened = TsdbStore::Open(dir.path(), KeepAll(40, /*short_rollups=*/false));
  ASSERT_TRUE(opened.ok()) << opened.status();
  TsdbStore& store = **opened;
  MemorySeriesSource memory;
  memory.set_rollup_resolutions({kMinute, 5 * kMinute, 60 * kMinute});
  // 10 s apart from 00:20:05 to 02:39:55: chunks, and the last ones in a head.
  std::vector<Sample> samples;
  for (int64_t t = 20 * kMinute + 5'000; t < 160 * kMinute; t += 10'000) {
    samples.push_back({t, static_cast<double>(t % 7'000) / 100});
  }
  const Labels labels = {{"host", "a"}};
  memory.Add("cpu", labels, false, samples);
  ASSERT_TRUE(store.Append({IngestSeries{"cpu", labels, false, samples}}).ok());

  // Every sample in the range: the store reads its hourly buckets only.
  std::vector<RollupBucket> got;
  bool used = false;
  const uint64_t series = store.Select("cpu", {})->front().id;
  ASSERT_TRUE(store.ReadRollupsWithin(series, kHour, 20 * kMinute, 3 * kHour, kAllRollupFields, &got, &used).ok());
  EXPECT_TRUE(used);
  ASSERT_EQ(got.size(), 3u);  // 00:00 (from 00:20:05), 01:00, 02:00 (to 02:39:55)
  EXPECT_EQ(got[0].count, 240u);
  EXPECT_EQ(got[2].count, 240u);
  // The last sample 1 ms after the range: not every sample is in it.
  got.clear();
  ASSERT_TRUE(store.ReadRollupsWithin(series, kHour, 20 * kMinute, samples.back().time_ms - 1,
                                      kAllRollupFields, &got, &used).ok());
  EXPECT_FALSE(used);
  EXPECT_TRUE(got.empty());
  got.clear();
  ASSERT_TRUE(store.ReadRollupsWithin(series, kHour, samples.front().time_ms + 1, 3 * kHour,
                                      kAllRollupFields, &got, &used).ok());
  EXPECT_FALSE(used);

  QueryEngine over_store(&store), over_memory(&memory);
  for (int64_t start : {int64_t{0}, samples.front().time_ms, samples.front().time_ms + 1}) {
    for (int64_t end : {samples.back().time_ms - 1, samples.back().time_ms, 4 * kHour}) {
      for (Aggregation agg : {Aggregation::kAvg, Aggregation::kCount, Aggregation::kMax}) {
        QueryRequest r = MakeRequest("cpu", agg, start, end, kHour);
        SCOPED_TRACE(Describe(r));
        auto a = over_store.Run(r);
        auto b = over_memory.Run(r);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_TRUE(SameResult(*a, *b, agg)) << Describe(*a) << "\nvs\n" << Describe(*b);
      }
    }
  }
}

// A short range is read raw, except where retention may have dropped the
// raw samples: there rollups answer.
TEST(QueryOverStore, ShortRangesPastRawRetentionComeFromRollups) {
  testing::TempDir dir;
  store_test::FakeClock clock;
  TsdbOptions options;
  options.now_ms = clock.Fn();
  options.retention_ms = 24 * kHour;
  options.rollup_retention_ms = 10 * 24 * kHour;
  options.max_head_span_ms = 100 * 24 * kHour;
  options.max_head_age_ms = 100 * 24 * kHour;
  auto opened = TsdbStore::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  TsdbStore& store = **opened;
  std::vector<Sample> minutely;
  for (int64_t t = 0; t < 96 * kHour; t += kMinute) minutely.push_back({t, 2});
  ASSERT_TRUE(store.Append({store_test::HostSeries("a", minutely)}).ok());
  ASSERT_TRUE(store.Flush().ok());
  clock.now_ms = 4 * 24 * kHour;
  ASSERT_TRUE(store.CompactAll().ok());  // raw chunks before 72 h are gone
  EXPECT_EQ(store.MinRollupSpanMs(10 * kHour), 0);
  EXPECT_EQ(store.MinRollupSpanMs(80 * kHour), options.min_rollup_span_ms);

  QueryEngine engine(&store);
  auto counts = [&](int64_t start) {
    auto result = engine.Run(MakeRequest("m", Aggregation::kCount, start, start + kHour - 1, 5 * kMinute));
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<double> out;
    if (result.ok() && result->groups.size() == 1) {
      for (const Point& p : result->groups[0].points) out.push_back(p.value);
    }
    return out;
  };
  // One hour at 5 minutes: 12 buckets of 5 samples, from rollups at 10 h
  // (no raw samples left) and raw at 80 h.
  EXPECT_EQ(counts(10 * kHour), std::vector<double>(12, 5));
  EXPECT_EQ(counts(80 * kHour), std::vector<double>(12, 5));
  std::vector<Sample> raw;
  ASSERT_TRUE(store.ReadSamples(1, 10 * kHour, 11 * kHour, &raw).ok());
  EXPECT_TRUE(raw.empty()) << "the raw samples at 10 h should be gone";
}

}  // namespace
}  // namespace steward::collector::tsdb
