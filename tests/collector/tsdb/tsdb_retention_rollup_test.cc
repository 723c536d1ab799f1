// TsdbStore retention (compaction filters, controllable clock) and rollups
// (against buckets computed by brute force from the raw samples).

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/rollup.h"
#include "collector/tsdb/tsdb_keys.h"
#include "collector/tsdb/tsdb_store.h"
#include "rocksdb/db.h"
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

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

std::vector<RollupBucket> ReadBuckets(TsdbStore& store, uint64_t id, int64_t resolution,
                                      int64_t start, int64_t end) {
  std::vector<RollupBucket> out;
  absl::Status s = store.ReadRollups(id, resolution, start, end, kAllRollupFields, &out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(TsdbRetention, CompactionDropsChunksAndRollupsPastTheirRetention) {
  testing::TempDir dir;
  FakeClock clock;
  TsdbOptions options;
  options.now_ms = clock.Fn();
  options.max_head_samples = 10;
  options.max_head_span_ms = 100 * kDay;
  options.max_head_age_ms = 100 * kDay;
  options.retention_ms = kDay;
  options.rollup_retention_ms = 2 * kDay;
  auto opened = TsdbStore::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  TsdbStore& store = **opened;
  std::vector<Sample> hourly;
  for (int64_t h = 0; h < 96; ++h) hourly.push_back({h * kHour, static_cast<double>(h)});
  ASSERT_TRUE(store.Append({HostSeries("a", hourly)}).ok());
  ASSERT_TRUE(store.Flush().ok());
  uint64_t id = IdOf(store, "a");
  EXPECT_EQ(*store.CountChunks(id), 10u);
  clock.now_ms = 4 * kDay;
  EXPECT_TRUE(SameSamples(ReadAll(store, id, INT64_MIN, INT64_MAX), hourly)) << "before compaction";

  ASSERT_TRUE(store.CompactAll().ok());
  // Cutoff 72 h: the chunks of hours 70-79, 80-89 and 90-95 end after it.
  EXPECT_EQ(*store.CountChunks(id), 3u);
  EXPECT_TRUE(SameSamples(ReadAll(store, id, INT64_MIN, INT64_MAX),
                          std::vector<Sample>(hourly.begin() + 70, hourly.end())));
  // Rollups: cutoff 48 h. A block's record (a day of 5 min buckets) goes
  // whole when its last bucket ends before the cutoff: day 0's goes, day
  // 1's (ending at the cutoff) stays. 1 h buckets are merged from them.
  std::vector<RollupBucket> fives = ReadBuckets(store, id, 300'000, INT64_MIN, INT64_MAX);
  ASSERT_FALSE(fives.empty());
  EXPECT_EQ(fives.front().start_ms, kDay);
  EXPECT_EQ(fives.size(), 96u - 24);
  std::vector<RollupBucket> hours = ReadBuckets(store, id, kHour, INT64_MIN, INT64_MAX);
  ASSERT_FALSE(hours.empty());
  EXPECT_EQ(hours.front().start_ms, kDay);
  EXPECT_EQ(hours.size(), 96u - 24);
}

// Buckets by brute force: every sample of the bucket, aggregated directly.
std::vector<RollupBucket> BruteForceBuckets(const std::vector<Sample>& samples, int64_t resolution,
                                            int64_t start, int64_t end) {
  std::map<int64_t, std::vector<Sample>> by_bucket;
  for (const Sample& s : samples) {
    int64_t b = s.time_ms >= 0 ? s.time_ms / resolution * resolution
                               : -((-s.time_ms + resolution - 1) / resolution) * resolution;
    if (b >= start && b <= end) by_bucket[b].push_back(s);
  }
  std::vector<RollupBucket> out;
  for (const auto& [b, in] : by_bucket) {
    RollupBucket r;
    r.start_ms = b;
    r.count = in.size();
    r.min = r.max = in[0].value;
    for (const Sample& s : in) {
      r.min = std::min(r.min, s.value);
      r.max = std::max(r.max, s.value);
      r.sum += s.value;
    }
    r.last = in.back().value;
    r.last_ms = in.back().time_ms;
    out.push_back(r);
  }
  return out;
}

void ExpectSameBuckets(const std::vector<RollupBucket>& got,
                       const std::vector<RollupBucket>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].start_ms, want[i].start_ms);
    EXPECT_EQ(got[i].count, want[i].count);
    EXPECT_EQ(got[i].min, want[i].min);
    EXPECT_EQ(got[i].max, want[i].max);
    EXPECT_NEAR(got[i].sum, want[i].sum, 1e-9 * std::max(1.0, std::abs(want[i].sum)));
    EXPECT_EQ(got[i].last, want[i].last);
    EXPECT_EQ(got[i].last_ms, want[i].last_ms);
  }
}

void CheckRollups(TsdbStore& store, const Oracle& oracle, std::mt19937_64& rng) {
  for (const auto& [key, samples] : oracle.series()) {
    uint64_t id = IdOf(store, key.substr(2));
    for (int64_t resolution : store.RollupResolutions()) {
      SCOPED_TRACE(key + " at " + std::to_string(resolution));
      ExpectSameBuckets(ReadBuckets(store, id, resolution, INT64_MIN, INT64_MAX),
                        BruteForceBuckets(samples, resolution, INT64_MIN, INT64_MAX));
      int64_t a =
          samples[rng() % samples.size()].time_ms - static_cast<int64_t>(rng() % resolution);
      int64_t b = a + static_cast<int64_t>(rng() % (20 * resolution));
      ExpectSameBuckets(ReadBuckets(store, id, resolution, a, b),
                        BruteForceBuckets(samples, resolution, a, b));
    }
  }
}

TEST(TsdbRollups, EqualBruteForceAcrossChunksHeadsReopenAndCompaction) {
  testing::TempDir dir;
  std::mt19937_64 rng(11);
  TsdbOptions options;
  options.retention_ms = 0;
  options.rollup_retention_ms = 0;
  options.max_head_samples = 17;  // buckets straddle chunks
  auto store = TsdbStore::Open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->RollupResolutions(), (std::vector<int64_t>{300'000, 3'600'000}));
  Oracle oracle;
  std::vector<int64_t> t(4, -2 * kHour - 123);  // negative times too
  for (int b = 0; b < 60; ++b) {
    std::vector<IngestSeries> batch;
    for (size_t h = 0; h < t.size(); ++h) {
      std::vector<Sample> samples;
      for (int i = 0; i < 5; ++i) {
        t[h] += 1 + static_cast<int64_t>(rng() % 90'000);
        samples.push_back(
            {t[h], static_cast<double>(static_cast<int64_t>(rng() % 20001) - 10000) / 100});
      }
      batch.push_back(HostSeries("h" + std::to_string(h), std::move(samples)));
    }
    ASSERT_TRUE((*store)->Append(batch).ok());
    oracle.Append(batch);
  }
  ASSERT_GT((*store)->active_series(), 0u) << "some samples should still be in heads";
  CheckRollups(**store, oracle, rng);
  store->reset();  // without a flush: the WAL replay must not roll anything up twice
  store = TsdbStore::Open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  CheckRollups(**store, oracle, rng);
  ASSERT_TRUE((*store)->Flush().ok());
  ASSERT_TRUE((*store)->CompactAll().ok());  // merge operands folded
  CheckRollups(**store, oracle, rng);
  std::vector<RollupBucket> none;
  EXPECT_EQ((*store)->ReadRollups(1, 120'000, 0, 1, kAllRollupFields, &none).code(),
            absl::StatusCode::kInvalidArgument);
}


// The rollups CF of a closed store, opened with RocksDB directly: `fn`
// gets the DB and the tsdb_rollups handle.
void WithRollupsCf(const std::string& dir,
                   const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
  rocksdb::Options options;
  rocksdb::ColumnFamilyOptions rollups;
  rollups.merge_operator = NewRollupMergeOperator();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"tsdb_series", {}}, {"tsdb_postings", {}},
      {"tsdb_chunks", {}}, {"tsdb_wal", {}}, {"tsdb_rollups", rollups}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(options, dir, cfs, &handles, &db);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  fn(db, handles[5]);
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

// A store written before 2026-12-08 holds a record per chunk and resolution
// (version 1; 1 min, 5 min and 1 h): after the upgrade its 5 min records
// are read next to the new blocks (a bucket straddling the two merged; 1 h
// buckets merged from them), and its 1 min and 1 h records are dropped by
// the next compaction.
TEST(TsdbRollups, RecordsOfEarlierStoresAreReadAndOthersDropped) {
  testing::TempDir dir;
  TsdbOptions options;
  options.retention_ms = 0;
  options.rollup_retention_ms = 0;
  options.max_head_samples = 50;
  std::vector<Sample> old_samples, new_samples;
  for (int i = 0; i < 100; ++i) old_samples.push_back({i * 7'000, 10 + (i % 9) * 0.5});
  for (int i = 100; i < 300; ++i) new_samples.push_back({i * 7'000, 20 - (i % 5) * 0.25});
  uint64_t id = 0;
  {
    TsdbOptions no_rollups = options;
    no_rollups.rollups = false;
    auto store = TsdbStore::Open(dir.path(), no_rollups);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Append({HostSeries("a", old_samples)}).ok());
    ASSERT_TRUE((*store)->Flush().ok());
    id = IdOf(**store, "a");
  }
  // What the earlier version wrote for those two chunks of 50 samples.
  WithRollupsCf(dir.path(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    for (size_t c = 0; c < 2; ++c) {
      std::vector<Sample> chunk(old_samples.begin() + c * 50, old_samples.begin() + (c + 1) * 50);
      for (int64_t resolution : {60'000, 300'000, 3'600'000}) {
        std::vector<RollupBucket> buckets = BucketsOf(chunk, resolution);
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf,
                            keys::RollupRecordKey(id, resolution, buckets.back().start_ms,
                                                  chunk.front().time_ms),
                            EncodeRollupRecordV1(buckets))
                        .ok());
      }
    }
  });
  std::vector<Sample> all = old_samples;
  all.insert(all.end(), new_samples.begin(), new_samples.end());
  {
    auto store = TsdbStore::Open(dir.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Append({HostSeries("a", new_samples)}).ok());
    ASSERT_TRUE((*store)->Flush().ok());
    // 693 s, the last old sample, and 700 s share the bucket at 600 s.
    for (int pass = 0; pass < 2; ++pass) {
      SCOPED_TRACE(pass);
      for (int64_t resolution : {300'000, 3'600'000}) {
        ExpectSameBuckets(ReadBuckets(**store, id, resolution, INT64_MIN, INT64_MAX),
                          BruteForceBuckets(all, resolution, INT64_MIN, INT64_MAX));
      }
      std::vector<RollupBucket> none;
      EXPECT_EQ((*store)->ReadRollups(id, 60'000, 0, kHour, kAllRollupFields, &none).code(),
                absl::StatusCode::kInvalidArgument);
      ASSERT_TRUE((*store)->CompactAll().ok());
    }
  }
  WithRollupsCf(dir.path(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
    int by_resolution[3] = {0, 0, 0};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint64_t key_id = 0;
      int64_t resolution = 0, time = 0;
      ASSERT_TRUE(keys::ParseRollupKey(absl::string_view(it->key().data(), it->key().size()),
                                       &key_id, &resolution, &time));
      by_resolution[resolution == 60'000 ? 0 : resolution == 300'000 ? 1 : 2]++;
    }
    EXPECT_EQ(by_resolution[0], 0) << "1 min records outlive a compaction";
    EXPECT_EQ(by_resolution[1], 3) << "two old 5 min records and the new block";
    EXPECT_EQ(by_resolution[2], 0) << "1 h records outlive a compaction";
  });
}

}  // namespace
}  // namespace steward::collector::tsdb
