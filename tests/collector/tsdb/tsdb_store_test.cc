// TsdbStore ingest and reads: round trips across heads and persisted chunks
// against a brute-force copy, drops, reopen, WAL truncation, head bounds.

#include "collector/tsdb/tsdb_store.h"

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/collector/tsdb/tsdb_store_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector::tsdb {
namespace {

using store_test::FakeClock;
using store_test::HostSeries;
using store_test::IdOf;
using store_test::Oracle;
using store_test::ReadAll;
using store_test::SameSamples;

// Test times are near the epoch: retention is off unless a test sets it.
std::unique_ptr<TsdbStore> OpenStore(const std::string& dir, TsdbOptions options) {
  if (options.retention_ms == TsdbOptions().retention_ms) options.retention_ms = 0;
  auto store = TsdbStore::Open(dir, std::move(options));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Random batches: some hosts per batch, times mostly increasing with
// jitter, some out of order or repeated; values with 2 decimals or raw.
std::vector<IngestSeries> RandomBatch(std::mt19937_64& rng, std::vector<int64_t>& clock_of_host) {
  std::vector<IngestSeries> batch;
  for (size_t h = 0; h < clock_of_host.size(); ++h) {
    if (rng() % 3 == 0) continue;
    std::vector<Sample> samples;
    int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      int64_t& t = clock_of_host[h];
      switch (rng() % 10) {
        case 0:
          samples.push_back({t - static_cast<int64_t>(rng() % 50000), 1.5});  // out of order
          break;
        case 1:
          samples.push_back({t, -2.0});  // duplicate time
          break;
        default:
          t += 1 + static_cast<int64_t>(rng() % 20000);
          double v = rng() % 2 ? static_cast<double>(static_cast<int64_t>(rng() % 100000)) / 100
                               : std::ldexp(static_cast<double>(rng() % 1000000), -7);
          samples.push_back({t, v});
      }
    }
    batch.push_back(HostSeries("h" + std::to_string(h), std::move(samples)));
  }
  return batch;
}

// Every host's samples, whole and in random ranges, equal the oracle's,
// read from the store directly and through a query view (`view`, or one
// made here), which shares one snapshot and iterators across series.
void CheckAgainstOracle(TsdbStore& direct, const Oracle& oracle, std::mt19937_64& rng,
                        SeriesSource* view = nullptr) {
  std::unique_ptr<SeriesSource> own;
  if (view == nullptr) {
    own = direct.ForOneQuery();
    ASSERT_NE(own, nullptr);
    view = own.get();
  }
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "direct reads" : "query view");
    SeriesSource& store = pass == 0 ? static_cast<SeriesSource&>(direct) : *view;
  for (const auto& [key, samples] : oracle.series()) {
    std::string host = key.substr(2);
    uint64_t id = IdOf(direct, host);
    ASSERT_NE(id, 0u) << host;
    EXPECT_TRUE(SameSamples(ReadAll(store, id, INT64_MIN, INT64_MAX), samples)) << host;
    std::optional<Sample> newest;
    ASSERT_TRUE(store.ReadLastSample(id, INT64_MIN, INT64_MAX, &newest).ok());
    ASSERT_EQ(newest.has_value(), !samples.empty()) << host;
    if (newest) {
      EXPECT_TRUE(SameSamples({*newest}, {samples.back()})) << host;
    }
    if (samples.empty()) continue;
    for (int i = 0; i < 5; ++i) {
      int64_t a = samples[rng() % samples.size()].time_ms + static_cast<int64_t>(rng() % 3) - 1;
      int64_t b = samples[rng() % samples.size()].time_ms + static_cast<int64_t>(rng() % 3) - 1;
      if (a > b) std::swap(a, b);
      EXPECT_TRUE(SameSamples(ReadAll(store, id, a, b), oracle.Read(key, a, b)))
          << host << " [" << a << ", " << b << "]";
      // Three disjoint spans in one read (raw edges of a rollup query).
      {
        std::vector<int64_t> t;
        for (int k = 0; k < 6; ++k) {
          t.push_back(samples[rng() % samples.size()].time_ms + static_cast<int64_t>(rng() % 3) - 1);
        }
        std::sort(t.begin(), t.end());
        std::vector<TimeSpan> spans;
        std::vector<Sample> want;
        for (int k = 0; k < 3; ++k) {
          int64_t from = t[2 * k] + (k > 0 && t[2 * k] <= t[2 * k - 1] ? t[2 * k - 1] - t[2 * k] + 1 : 0);
          if (from > t[2 * k + 1]) continue;
          spans.push_back({from, t[2 * k + 1]});
          std::vector<Sample> part = oracle.Read(key, from, t[2 * k + 1]);
          want.insert(want.end(), part.begin(), part.end());
        }
        std::vector<Sample> got;
        ASSERT_TRUE(store.ReadSampleSpans(id, spans, &got).ok());
        EXPECT_TRUE(SameSamples(got, want)) << host << ": " << spans.size() << " spans";
      }
      // The latest sample in the range, as lastpoint queries read it.
      std::vector<Sample> want = oracle.Read(key, a, b);
      std::optional<Sample> last;
      ASSERT_TRUE(store.ReadLastSample(id, a, b, &last).ok());
      ASSERT_EQ(last.has_value(), !want.empty()) << host << " [" << a << ", " << b << "]";
      if (last) {
        EXPECT_TRUE(SameSamples({*last}, {want.back()})) << host << " [" << a << ", " << b << "]";
      }
    }
  }
  }
}

TEST(TsdbStore, RandomRoundTripAcrossHeadsChunksAndReopens) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    testing::TempDir dir;
    std::mt19937_64 rng(seed);
    TsdbOptions options;
    options.max_head_samples = 5 + static_cast<int>(rng() % 30);
    options.max_head_span_ms = 60'000 + static_cast<int64_t>(rng() % 200'000);
    auto store = OpenStore(dir.path(), options);
    Oracle oracle;
    std::vector<int64_t> clock_of_host(8, -1'000'000);  // negative times too
    uint64_t dropped = 0;
    for (int b = 0; b < 80; ++b) {
      std::vector<IngestSeries> batch = RandomBatch(rng, clock_of_host);
      AppendStats stats;
      ASSERT_TRUE(store->Append(batch, &stats).ok());
      uint64_t want_dropped = oracle.Append(batch);
      EXPECT_EQ(stats.dropped, want_dropped);
      dropped += want_dropped;
      if (b % 20 == 19) CheckAgainstOracle(*store, oracle, rng);
      if (b % 20 == 9) {
        // A view made before more appends, which persist heads meanwhile,
        // still reads what the store holds now.
        std::unique_ptr<SeriesSource> view = store->ForOneQuery();
        for (int more = 0; more < 3; ++more) {
          std::vector<IngestSeries> later = RandomBatch(rng, clock_of_host);
          ASSERT_TRUE(store->Append(later).ok());
          dropped += oracle.Append(later);
          ++b;
        }
        CheckAgainstOracle(*store, oracle, rng, view.get());
      }
    }
    EXPECT_EQ(store->dropped_samples(), dropped);
    EXPECT_GT(dropped, 0u);
    uint64_t chunks = 0;
    for (int h = 0; h < 8; ++h)
      chunks += *store->CountChunks(IdOf(*store, "h" + std::to_string(h)));
    EXPECT_GT(chunks, 8u) << "the data should span heads and persisted chunks";

    // Closed without a flush: the heads come back from the WAL.
    store.reset();
    store = OpenStore(dir.path(), options);
    CheckAgainstOracle(*store, oracle, rng);
    std::vector<IngestSeries> batch = RandomBatch(rng, clock_of_host);
    ASSERT_TRUE(store->Append(batch).ok());
    oracle.Append(batch);
    CheckAgainstOracle(*store, oracle, rng);

    // Flushed: everything in chunks, the WAL empty, nothing in memory.
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_EQ(*store->CountWalRecords(), 0u);
    EXPECT_EQ(store->active_series(), 0u);
    EXPECT_EQ(store->head_bytes(), 0u);
    store.reset();
    store = OpenStore(dir.path(), options);
    EXPECT_EQ(store->active_series(), 0u);
    CheckAgainstOracle(*store, oracle, rng);
  }
}

TEST(TsdbStore, OutOfOrderAndDuplicateSamplesAreDroppedAndCounted) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path(), TsdbOptions());
  AppendStats stats;
  ASSERT_TRUE(
      store->Append({HostSeries("a", {{10, 1}, {20, 2}, {20, 3}, {15, 4}, {30, 5}})}, &stats).ok());
  EXPECT_EQ(stats.accepted, 3u);
  EXPECT_EQ(stats.dropped, 2u);
  // The same series twice in one batch: the second continues the first.
  ASSERT_TRUE(
      store
          ->Append({HostSeries("a", {{30, 6}, {40, 7}}), HostSeries("a", {{35, 8}, {50, 9}})},
                   &stats)
          .ok());
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.dropped, 2u);
  EXPECT_EQ(store->dropped_samples(), 4u);
  uint64_t id = IdOf(*store, "a");
  EXPECT_TRUE(
      SameSamples(ReadAll(*store, id, 0, 100), {{10, 1}, {20, 2}, {30, 5}, {40, 7}, {50, 9}}));

  // After a flush and a reopen the persisted end still decides.
  ASSERT_TRUE(store->Flush().ok());
  store.reset();
  store = OpenStore(dir.path(), TsdbOptions());
  ASSERT_TRUE(store->Append({HostSeries("a", {{45, 10}, {50, 11}, {51, 12}})}, &stats).ok());
  EXPECT_EQ(stats.accepted, 1u);
  EXPECT_EQ(stats.dropped, 2u);
  EXPECT_TRUE(SameSamples(ReadAll(*store, id, 0, 100),
                          {{10, 1}, {20, 2}, {30, 5}, {40, 7}, {50, 9}, {51, 12}}));
}

TEST(TsdbStore, WalIsTruncatedOnceEveryHeadIsPersisted) {
  testing::TempDir dir;
  TsdbOptions options;
  options.max_head_samples = 4;
  auto store = OpenStore(dir.path(), options);
  // Four batches fill the heads of a and b exactly: the WAL empties.
  for (int64_t t = 1; t <= 4; ++t) {
    ASSERT_TRUE(store->Append({HostSeries("a", {{t, 1}}), HostSeries("b", {{t, 2}})}).ok());
    EXPECT_EQ(*store->CountWalRecords(), t < 4 ? static_cast<size_t>(t) : 0u);
  }
  EXPECT_EQ(store->active_series(), 0u);
  // c's head pins its record and every later one, even when a fills up.
  ASSERT_TRUE(store->Append({HostSeries("c", {{1, 3}})}).ok());
  for (int64_t t = 5; t <= 8; ++t) ASSERT_TRUE(store->Append({HostSeries("a", {{t, 1}})}).ok());
  EXPECT_EQ(*store->CountWalRecords(), 5u);
  EXPECT_EQ(store->active_series(), 1u);
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(*store->CountWalRecords(), 0u);
  EXPECT_EQ(*store->CountChunks(IdOf(*store, "a")), 2u);
  EXPECT_EQ(*store->CountChunks(IdOf(*store, "c")), 1u);
}

TEST(TsdbStore, HeadsAreCutBySpan) {
  testing::TempDir dir;
  TsdbOptions options;
  options.max_head_span_ms = 1000;
  auto store = OpenStore(dir.path(), options);
  ASSERT_TRUE(
      store->Append({HostSeries("a", {{0, 1}, {500, 2}, {1000, 3}, {1001, 4}, {2002, 5}})}).ok());
  uint64_t id = IdOf(*store, "a");
  EXPECT_EQ(*store->CountChunks(id), 2u);  // [0, 1000] and [1001]; 2002 is in the head
  EXPECT_EQ(store->active_series(), 1u);
  EXPECT_EQ(ReadAll(*store, id, 0, 5000).size(), 5u);
  EXPECT_EQ(ReadAll(*store, id, 999, 1001).size(), 2u);
}

TEST(TsdbStore, IdleHeadsAreFlushedAfterMaxAge) {
  testing::TempDir dir;
  FakeClock clock;
  TsdbOptions options;
  options.now_ms = clock.Fn();
  options.max_head_age_ms = 30 * 60 * 1000;
  auto store = OpenStore(dir.path(), options);
  ASSERT_TRUE(store->Append({HostSeries("idle", {{1, 1}})}).ok());
  clock.now_ms = 20 * 60 * 1000;
  ASSERT_TRUE(store->Append({HostSeries("busy", {{2, 1}})}).ok());
  clock.now_ms = 31 * 60 * 1000;
  ASSERT_TRUE(store->Maintain().ok());
  EXPECT_EQ(store->active_series(), 1u);  // only "busy" is left in memory
  EXPECT_EQ(*store->CountChunks(IdOf(*store, "idle")), 1u);
  EXPECT_EQ(*store->CountWalRecords(), 1u);
  clock.now_ms = 51 * 60 * 1000;
  ASSERT_TRUE(store->Maintain().ok());
  EXPECT_EQ(store->active_series(), 0u);
  EXPECT_EQ(*store->CountWalRecords(), 0u);
}

// Restart time does not grow with uptime: what a restart replays is the
// WAL, and heads are persisted (and the WAL truncated behind them) at most
// max_head_age after their first sample, so the WAL holds at most that
// long of appends however long the store has run. Four hosts every 30 s
// (heads fill in 60 min, so age seals them) for 4 hours.
TEST(TsdbStore, TheWalHoldsAtMostMaxHeadAgeOfAppendsHoweverLongTheUptime) {
  testing::TempDir dir;
  FakeClock clock;
  TsdbOptions options;
  options.now_ms = clock.Fn();
  options.max_head_age_ms = 30 * 60 * 1000;
  auto store = OpenStore(dir.path(), options);
  const int64_t kStep = 30'000;
  size_t appended = 0, most_first_hour = 0, most_later = 0;
  for (int64_t t = kStep; t <= 4 * 3600'000; t += kStep) {
    clock.now_ms = t;
    for (int h = 0; h < 4; ++h) {  // one append per host, as agents send
      ASSERT_TRUE(store->Append({HostSeries("h" + std::to_string(h), {{t + h, 1.0 * t}})}).ok());
      ++appended;
    }
    if (t % 60'000 == 0) ASSERT_TRUE(store->Maintain().ok());  // the collector's minute
    const size_t wal = *store->CountWalRecords();
    (t <= 3600'000 ? most_first_hour : most_later) =
        std::max(t <= 3600'000 ? most_first_hour : most_later, wal);
  }
  // 4 records every 30 s for at most 31 minutes (the age, plus the minute
  // between maintenance runs).
  EXPECT_LE(most_later, 4u * 62u);
  EXPECT_LE(most_later, most_first_hour);
  EXPECT_EQ(appended, 4u * 480u);
  const size_t left = *store->CountWalRecords();
  store.reset();
  store = OpenStore(dir.path(), options);  // replays `left` records, not `appended`
  EXPECT_EQ(*store->CountWalRecords(), left);
  for (int h = 0; h < 4; ++h) {
    auto points = ReadAll(*store, IdOf(*store, "h" + std::to_string(h)), 0, 5 * 3600'000);
    EXPECT_EQ(points.size(), 480u) << h;
  }
}

TEST(TsdbStore, HeadMemoryIsBounded) {
  testing::TempDir dir;
  TsdbOptions options;
  options.max_head_bytes = 2 << 10;  // about 18 one-sample heads
  auto store = OpenStore(dir.path(), options);
  Oracle oracle;
  size_t max_active = 0;
  for (int64_t t = 1; t <= 50; ++t) {
    std::vector<IngestSeries> batch;
    for (int h = 0; h < 40; ++h)
      batch.push_back(HostSeries("h" + std::to_string(h), {{t * 1000, t * 0.5}}));
    ASSERT_TRUE(store->Append(batch).ok());
    oracle.Append(batch);
    EXPECT_LE(store->head_bytes(), options.max_head_bytes);
    max_active = std::max(max_active, store->active_series());
  }
  EXPECT_GT(store->head_bytes(), 0u);
  EXPECT_LT(max_active, 40u);
  std::mt19937_64 rng(7);
  CheckAgainstOracle(*store, oracle, rng);
}

// Ranges at the very edges of a series' data (which reads may answer from
// the series' known first and last times without RocksDB): fresh, after
// persisting, and after reopening.
TEST(TsdbStore, RangesAtTheEdgesOfTheData) {
  testing::TempDir dir;
  TsdbOptions options;
  options.max_head_samples = 2;  // the first two samples go to a chunk
  options.retention_ms = 0;
  options.rollup_retention_ms = 0;
  const std::vector<Sample> data = {{300'000, 1}, {600'000, 2}, {900'000, 3}};
  for (int phase = 0; phase < 3; ++phase) {
    SCOPED_TRACE(phase);
    auto opened = TsdbStore::Open(dir.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    TsdbStore& store = **opened;
    if (phase == 0) {
      ASSERT_TRUE(store.Append({HostSeries("a", data)}).ok());
    }
    if (phase == 1) {
      ASSERT_TRUE(store.Flush().ok());
    }
    const uint64_t id = IdOf(store, "a");
    EXPECT_TRUE(SameSamples(ReadAll(store, id, 0, 300'000), {data[0]}));
    EXPECT_TRUE(SameSamples(ReadAll(store, id, 0, 299'999), {}));
    EXPECT_TRUE(SameSamples(ReadAll(store, id, 900'000, 1'000'000), {data[2]}));
    EXPECT_TRUE(SameSamples(ReadAll(store, id, 900'001, 1'000'000), {}));
    std::vector<RollupBucket> buckets;
    // The bucket starting at 0 holds nothing; at 5 min the first sample.
    ASSERT_TRUE(store.ReadRollups(id, 300'000, 0, 0, kAllRollupFields, &buckets).ok());
    EXPECT_TRUE(buckets.empty());
    if (phase > 0) {  // rollups exist once the chunk is persisted
      ASSERT_TRUE(store.ReadRollups(id, 300'000, 300'000, 300'000, kRollupMin, &buckets).ok());
      ASSERT_EQ(buckets.size(), 1u);
      EXPECT_EQ(buckets[0].count, 1u);
      buckets.clear();
      ASSERT_TRUE(store.ReadRollups(id, 3'600'000, 0, 0, kAllRollupFields, &buckets).ok());
      ASSERT_EQ(buckets.size(), 1u);
      EXPECT_EQ(buckets[0].count, 3u);
    }
  }
}

}  // namespace
}  // namespace steward::collector::tsdb

namespace steward::collector::tsdb {
namespace {

// HeadSamples keeps every sample bit for bit (NaN, -0, infinities, any
// times), read as it grows and after a move, and costs far less than 16 bytes a sample.
TEST(HeadSamples, KeepsEverySampleAndIsSmall) {
  std::mt19937_64 rng(5);
  std::vector<Sample> want;
  HeadSamples head;
  EXPECT_EQ(head.bytes(), 0u);
  int64_t t = -5'000'000;
  for (int i = 0; i < 120; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 20'000);
    double v = static_cast<double>(static_cast<int64_t>(rng() % 10'000)) / 100;
    if (i == 7) v = std::numeric_limits<double>::quiet_NaN();
    if (i == 8) v = -0.0;
    if (i == 40) v = std::numeric_limits<double>::infinity();
    want.push_back({t, v});
    head.push_back(want.back());
    ASSERT_EQ(head.size(), want.size());
    EXPECT_EQ(head.front_time_ms(), want.front().time_ms);
    if (i % 13 == 0) {
      std::vector<Sample> got = {{1, 1}};  // appended after what is there
      head.AppendTo(&got);
      got.erase(got.begin());
      ASSERT_TRUE(SameSamples(got, want)) << i;
    }
  }
  // A 2-decimal gauge at 10 s: segments of about 2 bytes a sample.
  HeadSamples gauge;
  for (int i = 0; i < 120; ++i) gauge.push_back({i * 10'000, 40 + (i % 17) * 0.25});
  EXPECT_LT(gauge.bytes(), 120u * 6) << "16 bytes a sample raw: " << 120 * 16;
  HeadSamples moved = std::move(head);
  std::vector<Sample> all;
  moved.AppendTo(&all);
  EXPECT_TRUE(SameSamples(all, want));
  head = HeadSamples();
  EXPECT_TRUE(head.empty());
  EXPECT_EQ(head.bytes(), 0u);
  head.push_back({1, 2});
  all.clear();
  head.AppendTo(&all);
  EXPECT_TRUE(SameSamples(all, {{1, 2}}));
}

// Maintain drops heads that are empty at two sweeps idle_head_ms apart (a
// series that stopped), never one an append is using; the series reads
// the same afterwards and takes samples again, out-of-order ones still
// refused; a query view made before the drop still sees the chunk written
// after it.
TEST(TsdbStore, IdleHeadsAreDroppedAndTheirSeriesReadTheSame) {
  testing::TempDir dir;
  FakeClock clock;
  TsdbOptions options;
  options.now_ms = clock.Fn();
  options.max_head_samples = 4;
  options.idle_head_ms = 10 * 60 * 1000;
  auto store = OpenStore(dir.path(), options);
  std::vector<Sample> gone = {{1'000, 1}, {2'000, 2}, {3'000, 3}};
  ASSERT_TRUE(store->Append({HostSeries("gone", gone), HostSeries("busy", {{1'000, 5}})}).ok());
  const uint64_t gone_id = IdOf(*store, "gone");
  // A view made now, before "gone"'s fourth sample fills its head.
  std::unique_ptr<SeriesSource> view = store->ForOneQuery();
  gone.push_back({4'000, 4});
  ASSERT_TRUE(store->Append({HostSeries("gone", {gone.back()})}).ok());  // sealed and written
  EXPECT_EQ(store->head_count(), 2u);
  clock.now_ms = 20 * 60 * 1000;
  ASSERT_TRUE(store->Maintain().ok());  // first sweep: "gone" is empty
  EXPECT_EQ(store->head_count(), 2u);
  clock.now_ms = 25 * 60 * 1000;
  ASSERT_TRUE(store->Append({HostSeries("busy", {{2'000, 6}})}).ok());
  ASSERT_TRUE(store->Maintain().ok());  // too soon for a second sweep
  EXPECT_EQ(store->head_count(), 2u);
  clock.now_ms = 31 * 60 * 1000;
  ASSERT_TRUE(store->Maintain().ok());  // second sweep: "gone" dropped, "busy" holds samples
  EXPECT_EQ(store->head_count(), 1u);
  EXPECT_TRUE(SameSamples(ReadAll(*view, gone_id, 0, 10'000), gone)) << "the view made before";
  EXPECT_TRUE(SameSamples(ReadAll(*store, gone_id, 0, 10'000), gone));
  std::optional<Sample> last;
  ASSERT_TRUE(store->ReadLastSample(gone_id, 0, 10'000, &last).ok());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->time_ms, 4'000);
  AppendStats stats;
  ASSERT_TRUE(store->Append({HostSeries("gone", {{4'000, 9}, {5'000, 5}})}, &stats).ok());
  EXPECT_EQ(stats.dropped, 1u) << "its persisted end still refuses older samples";
  gone.push_back({5'000, 5});
  EXPECT_TRUE(SameSamples(ReadAll(*store, gone_id, 0, 10'000), gone));
  EXPECT_EQ(store->head_count(), 2u);
}

}  // namespace
}  // namespace steward::collector::tsdb

namespace steward::collector::tsdb {
namespace {

// The series key -> id cache is bounded (cleared when full): series it
// forgot are found in the index, never created twice.
TEST(TsdbStore, SeriesIdCacheIsBoundedAndMissesReadTheIndex) {
  testing::TempDir dir;
  TsdbOptions options;
  options.series_id_cache = 2;
  auto store = OpenStore(dir.path(), options);
  std::vector<uint64_t> first;
  for (int round = 0; round < 3; ++round) {
    std::vector<uint64_t> ids;
    for (int h = 0; h < 5; ++h) {
      AppendStats stats;
      std::vector<uint64_t> got;
      const std::vector<Sample> sample = {{1'000 * (round + 1), 1.0 * h}};
      const std::string host = "h" + std::to_string(h);
      const std::vector<LabelView> labels = {{"host", host}};
      IngestSeriesView view{"m", labels, false, sample};
      ASSERT_TRUE(store->Append(absl::MakeConstSpan(&view, 1), &stats, &got).ok());
      EXPECT_EQ(stats.new_series, round == 0 ? 1u : 0u) << round << " " << h;
      ASSERT_EQ(got.size(), 1u);
      ids.push_back(got[0]);
    }
    if (round == 0) first = ids;
    EXPECT_EQ(ids, first) << round;
  }
  for (int h = 0; h < 5; ++h) {
    EXPECT_EQ(ReadAll(*store, IdOf(*store, "h" + std::to_string(h)), 0, 10'000).size(), 3u);
  }
}

}  // namespace
}  // namespace steward::collector::tsdb
