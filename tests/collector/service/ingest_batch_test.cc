// IngestBatch: an agent's metric batch (both forms) as TSDB series with the
// collector's `agent` label, and the per-session id cache, against a real
// TsdbStore on disk.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collector/service/envelope_validation.h"
#include "collector/service/metrics_query.h"
#include "collector/tsdb/tsdb_store.h"
#include "common/metrics/series_columns.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A batch like an agent's: metric "m" per host in `hosts`, one point at t.
v1::MetricBatch Batch(const std::vector<std::string>& hosts, int64_t t) {
  v1::MetricBatch batch;
  metrics::SeriesColumnsBuilder b(batch.mutable_columns());
  for (size_t i = 0; i < hosts.size(); ++i) {
    // "agent" here is the agent's own label: the collector's replaces it.
    b.AddSeries("m", Labels{{"agent", "forged"}, {"host", hosts[i]}, {"zone", "z1"}}, false);
    b.AddPoint(t, static_cast<double>(t + static_cast<int64_t>(i)));
  }
  return batch;
}

class IngestBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = tsdb::TsdbStore::Open(dir_.path(), tsdb::TsdbOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // Validates and ingests `batch` as the session does; returns the views'
  // ids before the append (0 = looked up by labels).
  std::vector<uint64_t> Ingest(const v1::MetricBatch& batch) {
    v1::Envelope env;
    env.set_seq(1);
    *env.mutable_metric_batch() = batch;
    metrics::DecodedColumns columns;
    EXPECT_TRUE(ValidateEnvelope(env, &columns).ok());
    ingest_.Build("agent-1", env.metric_batch(), columns);
    std::vector<uint64_t> hinted;
    for (const auto& v : ingest_.views()) hinted.push_back(v.id);
    std::vector<uint64_t> ids;
    absl::Status s = store_->Append(ingest_.views(), nullptr, &ids);
    EXPECT_TRUE(s.ok()) << s;
    if (s.ok()) ingest_.Remember(env.metric_batch(), columns, ids);
    return hinted;
  }

  // Times of series m{host=HOST, agent=agent-1, zone=z1}; the series must exist once.
  std::vector<int64_t> TimesOf(const std::string& host) {
    auto refs = store_->Select("m", {{"host", tsdb::LabelMatcher::Op::kEq, host},
                                     {kAgentLabel, tsdb::LabelMatcher::Op::kEq, "agent-1"},
                                     {"zone", tsdb::LabelMatcher::Op::kEq, "z1"}});
    EXPECT_TRUE(refs.ok()) << refs.status();
    if (!refs.ok() || refs->size() != 1) {
      ADD_FAILURE() << host << ": " << (refs.ok() ? refs->size() : 0) << " series";
      return {};
    }
    std::vector<tsdb::Sample> samples;
    EXPECT_TRUE(store_->ReadSamples((*refs)[0].id, 0, 1 << 30, &samples).ok());
    std::vector<int64_t> times;
    for (const auto& s : samples) times.push_back(s.time_ms);
    return times;
  }

  testing::TempDir dir_;
  std::unique_ptr<tsdb::TsdbStore> store_;
  IngestBatch ingest_;
};

TEST_F(IngestBatchTest, AgentLabelIsTheCollectorsAndSortedInPlace) {
  v1::MetricBatch batch = Batch({"a"}, 1000);
  // Plus a plain series, which comes first.
  v1::Series* plain = batch.add_series();
  plain->set_name("p");
  plain->add_labels()->set_name("b");
  plain->mutable_labels(0)->set_value("1");
  plain->add_points()->set_time_ms(5);
  v1::Envelope env;
  env.set_seq(1);
  *env.mutable_metric_batch() = batch;
  metrics::DecodedColumns columns;
  ASSERT_TRUE(ValidateEnvelope(env, &columns).ok());
  ingest_.Build("agent-1", env.metric_batch(), columns);
  ASSERT_EQ(ingest_.views().size(), 2u);
  const auto& p = ingest_.views()[0];
  EXPECT_EQ(p.metric, "p");
  ASSERT_EQ(p.labels.size(), 2u);
  EXPECT_EQ(p.labels[0], (tsdb::LabelView{"agent", "agent-1"}));
  EXPECT_EQ(p.labels[1], (tsdb::LabelView{"b", "1"}));
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.samples[0].time_ms, 5);
  const auto& m = ingest_.views()[1];
  ASSERT_EQ(m.labels.size(), 3u);
  EXPECT_EQ(m.labels[0], (tsdb::LabelView{"agent", "agent-1"}));  // not "forged"
  EXPECT_EQ(m.labels[1], (tsdb::LabelView{"host", "a"}));
  EXPECT_EQ(m.labels[2], (tsdb::LabelView{"zone", "z1"}));
  EXPECT_EQ(m.id, 0u);
}

TEST_F(IngestBatchTest, RepeatedSeriesGoWithTheirIdsAndLandInTheSameSeries) {
  EXPECT_EQ(Ingest(Batch({"a", "b"}, 1000)), (std::vector<uint64_t>{0, 0}));
  std::vector<uint64_t> second = Ingest(Batch({"a", "b"}, 2000));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_NE(second[0], 0u);
  EXPECT_NE(second[1], 0u);
  EXPECT_NE(second[0], second[1]);
  EXPECT_EQ(TimesOf("a"), (std::vector<int64_t>{1000, 2000}));
  EXPECT_EQ(TimesOf("b"), (std::vector<int64_t>{1000, 2000}));
}

TEST_F(IngestBatchTest, ChangedSymbolsOrSeriesTakeTheFullPath) {
  Ingest(Batch({"a", "b"}, 1000));
  // A new host in the middle shifts the symbols: nothing is trusted.
  EXPECT_EQ(Ingest(Batch({"a", "c", "b"}, 2000)), (std::vector<uint64_t>{0, 0, 0}));
  // The same three again: all known.
  std::vector<uint64_t> third = Ingest(Batch({"a", "c", "b"}, 3000));
  EXPECT_EQ(std::count(third.begin(), third.end(), 0u), 0);
  // The hosts in another order intern the symbols in another order too.
  EXPECT_EQ(Ingest(Batch({"c", "a", "b"}, 4000)), (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(TimesOf("a"), (std::vector<int64_t>{1000, 2000, 3000, 4000}));
  EXPECT_EQ(TimesOf("b"), (std::vector<int64_t>{1000, 2000, 3000, 4000}));
  EXPECT_EQ(TimesOf("c"), (std::vector<int64_t>{2000, 3000, 4000}));
}

TEST_F(IngestBatchTest, SameSymbolsOtherSeriesAreLookedUp) {
  // Both batches intern the same symbols in the same order, but the second
  // drops host b's series: series 1 is then a different one.
  v1::MetricBatch first;
  metrics::SeriesColumnsBuilder b1(first.mutable_columns());
  b1.AddSeries("m", Labels{{"host", "a"}, {"zone", "z1"}}, false);
  b1.AddPoint(1000, 1);
  b1.AddSeries("m", Labels{{"host", "b"}, {"zone", "z1"}}, false);
  b1.AddPoint(1000, 2);
  v1::MetricBatch second = first;
  // Series 1 now says host=a, zone=z1 too (a duplicate of series 0, whose
  // time is later): same symbols, different column entries.
  // Series column: [4 m host a zone z1 1] [4 m host b zone z1 1]; entry 10
  // is the second series' host value.
  ASSERT_EQ(second.columns().symbols(second.columns().series(10)), "b");
  second.mutable_columns()->set_series(10, second.columns().series(3));
  second.mutable_columns()->set_time_deltas(0, 2000);
  second.mutable_columns()->set_time_deltas(1, 1000);
  Ingest(first);
  std::vector<uint64_t> hinted = Ingest(second);
  ASSERT_EQ(hinted.size(), 2u);
  EXPECT_NE(hinted[0], 0u);
  EXPECT_EQ(hinted[1], 0u);
  EXPECT_EQ(TimesOf("a"), (std::vector<int64_t>{1000, 2000, 3000}));
  EXPECT_EQ(TimesOf("b"), (std::vector<int64_t>{1000}));
}

}  // namespace
}  // namespace steward::collector
