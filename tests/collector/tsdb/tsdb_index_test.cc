// TsdbStore's label index: series ids and Select's matchers.

#include <memory>
#include <string>
#include <vector>

#include "collector/tsdb/label_matchers.h"
#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector::tsdb {
namespace {

using Op = LabelMatcher::Op;

std::unique_ptr<TsdbStore> OpenStore(const std::string& dir) {
  auto store = TsdbStore::Open(dir, TsdbOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

IngestSeries Series(std::string metric, Labels labels, int64_t t = 1000) {
  return IngestSeries{std::move(metric), std::move(labels), false, {{t, 1.0}}};
}

std::vector<std::string> HostsOf(const std::vector<SeriesRef>& refs) {
  std::vector<std::string> out;
  for (const SeriesRef& r : refs) {
    std::string host = "-";
    for (const auto& [n, v] : r.labels) {
      if (n == "host") host = v;
    }
    out.push_back(host);
  }
  return out;
}

TEST(TsdbIndex, SameLabelsInAnotherOrderAreOneSeries) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Append({Series("cpu", {{"host", "a"}, {"core", "0"}}, 1000)}).ok());
  ASSERT_TRUE(store->Append({Series("cpu", {{"core", "0"}, {"host", "a"}}, 2000)}).ok());
  auto refs = store->Select("cpu", {});
  ASSERT_TRUE(refs.ok()) << refs.status();
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].labels, (Labels{{"core", "0"}, {"host", "a"}}));
  std::vector<Sample> samples;
  ASSERT_TRUE(store->ReadSamples((*refs)[0].id, 0, 5000, &samples).ok());
  EXPECT_EQ(samples.size(), 2u);
  // The id survives a reopen, and the series is found again, not recreated.
  uint64_t id = (*refs)[0].id;
  store.reset();
  store = OpenStore(dir.path());
  ASSERT_TRUE(store->Append({Series("cpu", {{"host", "a"}, {"core", "0"}}, 3000)}).ok());
  refs = store->Select("cpu", {});
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].id, id);
}

// What `stewardctl metrics --host ID --list` shows: per host, sorted,
// unique, and no leak between hosts whose ids share a prefix.
TEST(TsdbIndex, MetricNamesWithLabelAreSortedUniqueAndPerValue) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Append({Series("zeta", {{"agent", "a1"}}), Series("cpu", {{"agent", "a1"}, {"cpu", "1"}}),
                             Series("cpu", {{"agent", "a1"}, {"cpu", "0"}}), Series("Alpha", {{"agent", "a1"}}),
                             Series("only_a10", {{"agent", "a10"}}), Series("cpu", {{"agent", "a10"}})})
                  .ok());
  auto a1 = store->MetricNamesWithLabel("agent", "a1");
  ASSERT_TRUE(a1.ok()) << a1.status();
  EXPECT_EQ(*a1, (std::vector<std::string>{"Alpha", "cpu", "zeta"}));
  EXPECT_EQ(*store->MetricNamesWithLabel("agent", "a10"), (std::vector<std::string>{"cpu", "only_a10"}));
  EXPECT_TRUE(store->MetricNamesWithLabel("agent", "a")->empty());
  EXPECT_TRUE(store->MetricNamesWithLabel("nobody", "")->empty());
}

TEST(TsdbIndex, RejectsBadSeriesAndStoresNothingOfTheBatch) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  absl::Status s =
      store->Append({Series("cpu", {{"host", "a"}}), Series("cpu", {{"x", "1"}, {"x", "2"}})});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'x'"), std::string::npos) << s;
  EXPECT_EQ(store->Append({Series("", {})}).code(), absl::StatusCode::kInvalidArgument);
  auto refs = store->Select("cpu", {});
  ASSERT_TRUE(refs.ok());
  EXPECT_TRUE(refs->empty());
}

class TsdbMatchers : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_
                    ->Append({Series("cpu", {{"host", "a"}, {"team", "web"}, {"core", "cpu1"}}),
                              Series("cpu", {{"host", "b"}, {"team", "db"}, {"core", "cpu10"}}),
                              Series("cpu", {{"host", "c"}, {"core", "cpu2"}}),
                              // An empty value is no label at all.
                              Series("cpu", {{"host", "d"}, {"team", ""}}),
                              Series("mem", {{"host", "a"}, {"team", "web"}})})
                    .ok());
  }
  std::vector<std::string> Hosts(std::vector<LabelMatcher> matchers) {
    auto refs = store_->Select("cpu", matchers);
    EXPECT_TRUE(refs.ok()) << refs.status();
    return refs.ok() ? HostsOf(*refs) : std::vector<std::string>{"error"};
  }
  testing::TempDir dir_;
  std::unique_ptr<TsdbStore> store_;
};

TEST_F(TsdbMatchers, Equality) {
  EXPECT_EQ(Hosts({}), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Hosts({{"team", Op::kEq, "web"}}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Hosts({{"team", Op::kEq, "web"}, {"host", Op::kEq, "b"}}), std::vector<std::string>{});
  EXPECT_EQ(Hosts({{"team", Op::kEq, "nope"}}), std::vector<std::string>{});
  // Only the metric's series: mem{host=a} is not returned.
  EXPECT_EQ(Hosts({{"host", Op::kEq, "a"}}), (std::vector<std::string>{"a"}));
  auto none = store_->Select("disk", {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(TsdbMatchers, MissingLabelMatchesAsEmpty) {
  EXPECT_EQ(Hosts({{"team", Op::kEq, ""}}), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(Hosts({{"team", Op::kNe, ""}}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Hosts({{"team", Op::kNe, "web"}}), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(Hosts({{"team", Op::kRe, "web|"}}), (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(Hosts({{"team", Op::kNotRe, ".+"}}), (std::vector<std::string>{"c", "d"}));
}

TEST_F(TsdbMatchers, RegexesAreFullyAnchored) {
  EXPECT_EQ(Hosts({{"core", Op::kRe, "cpu[0-3]"}}), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(Hosts({{"core", Op::kRe, "cpu1"}}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Hosts({{"core", Op::kRe, "pu1"}}), std::vector<std::string>{});
  EXPECT_EQ(Hosts({{"core", Op::kNotRe, "cpu1.*"}}), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(Hosts({{"core", Op::kRe, "cpu1.*"}, {"team", Op::kNe, "db"}}),
            (std::vector<std::string>{"a"}));
}

// Alternations of literals are answered from postings; the result must be
// the regex's, anchoring and all.
TEST_F(TsdbMatchers, LiteralAlternationsEqualTheRegex) {
  EXPECT_EQ(Hosts({{"core", Op::kRe, "cpu1|cpu2"}}), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(Hosts({{"core", Op::kRe, "cpu1|nothing"}}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Hosts({{"core", Op::kRe, "pu1|pu3"}}), std::vector<std::string>{});
  // An empty alternative also matches series without the label: not from postings.
  EXPECT_EQ(Hosts({{"core", Op::kRe, "cpu1|"}}), Hosts({{"core", Op::kRe, "(cpu1)?"}}));
  CompiledMatchers m = *CompiledMatchers::Compile({{"h", Op::kRe, "a|b-1|c_2"}, {"h", Op::kRe, "a.b|c"},
                                                   {"h", Op::kRe, "a|"}, {"h", Op::kNotRe, "a|b"}});
  EXPECT_EQ(m.LiteralAlternatives(0), (std::vector<std::string>{"a", "b-1", "c_2"}));
  EXPECT_FALSE(m.LiteralAlternatives(1).has_value());
  EXPECT_FALSE(m.LiteralAlternatives(2).has_value());
  EXPECT_FALSE(m.LiteralAlternatives(3).has_value());
}

TEST_F(TsdbMatchers, InvalidRegexIsInvalidArgumentNamingIt) {
  auto refs = store_->Select("cpu", {{"core", Op::kRe, "cpu[0-"}});
  ASSERT_EQ(refs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refs.status().message().find("cpu[0-"), std::string::npos) << refs.status();
  EXPECT_NE(refs.status().message().find("core"), std::string::npos) << refs.status();
}

}  // namespace
}  // namespace steward::collector::tsdb
