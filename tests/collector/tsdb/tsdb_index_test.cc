// TsdbStore's label index: series ids and Select's matchers, on labels and
// on the metric name (`__name__`), the latter also against the naive
// in-memory source on random series.

#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/tsdb/label_matchers.h"
#include "collector/tsdb/tsdb_keys.h"
#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/memory_series_source.h"
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

// `metric/host` of each series, in the order Select returned them.
std::vector<std::string> MetricHosts(const std::vector<SeriesRef>& refs) {
  std::vector<std::string> out;
  for (size_t i = 0; i < refs.size(); ++i) out.push_back(refs[i].metric + "/" + HostsOf(refs)[i]);
  return out;
}

constexpr char kName[] = "__name__";

// Several metrics, created interleaved so id order is not name order, and
// names that share prefixes (cpu_user, cpu_user_extra).
class TsdbNameMatchers : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_
                    ->Append({Series("cpu_user", {{"host", "a"}, {"team", "web"}}),    // 1
                              Series("mem_free", {{"host", "a"}, {"team", "web"}}),    // 2
                              Series("cpu_system", {{"host", "a"}, {"team", "web"}}),  // 3
                              Series("cpu_user", {{"host", "b"}, {"team", "db"}}),     // 4
                              Series("cpu_idle", {{"host", "c"}}),                     // 5
                              Series("cpu_user_extra", {{"host", "a"}}),               // 6
                              Series("cpu_system", {{"host", "b"}, {"team", "db"}})})  // 7
                    .ok());
  }
  std::vector<std::string> Select(const std::string& metric, std::vector<LabelMatcher> matchers) {
    auto refs = store_->Select(metric, matchers);
    EXPECT_TRUE(refs.ok()) << refs.status();
    return refs.ok() ? MetricHosts(*refs) : std::vector<std::string>{"error"};
  }
  testing::TempDir dir_;
  std::unique_ptr<TsdbStore> store_;
};

TEST_F(TsdbNameMatchers, EqualityNamesOneMetric) {
  EXPECT_EQ(Select("", {{kName, Op::kEq, "cpu_system"}}),
            (std::vector<std::string>{"cpu_system/a", "cpu_system/b"}));
  EXPECT_EQ(Select("", {{kName, Op::kEq, "cpu_use"}}), std::vector<std::string>{});
  EXPECT_EQ(Select("", {{kName, Op::kEq, ""}}), std::vector<std::string>{});
}

TEST_F(TsdbNameMatchers, LiteralAlternationsSelectSeveralMetricsInIdOrder) {
  const std::vector<std::string> user_system = {"cpu_user/a", "cpu_system/a", "cpu_user/b",
                                                "cpu_system/b"};
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_(user|system)"}}), user_system);
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_(?:system|user)"}}), user_system);
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_user|cpu_system|cpu_nothing"}}), user_system);
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_user|mem_free"}}),
            (std::vector<std::string>{"cpu_user/a", "mem_free/a", "cpu_user/b"}));
  // Anchored: neither cpu_user_extra nor a part of a name.
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_(user)"}}),
            (std::vector<std::string>{"cpu_user/a", "cpu_user/b"}));
  EXPECT_EQ(Select("", {{kName, Op::kRe, "pu_(user|idle)"}}), std::vector<std::string>{});
}

TEST_F(TsdbNameMatchers, RegexesListTheMetricNames) {
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_.*"}}),
            (std::vector<std::string>{"cpu_user/a", "cpu_system/a", "cpu_user/b", "cpu_idle/c",
                                      "cpu_user_extra/a", "cpu_system/b"}));
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_u.*"}}),
            (std::vector<std::string>{"cpu_user/a", "cpu_user/b", "cpu_user_extra/a"}));
  EXPECT_EQ(Select("", {{kName, Op::kRe, ".*_free"}}), (std::vector<std::string>{"mem_free/a"}));
  EXPECT_EQ(Select("", {{kName, Op::kRe, "[a-z]+_[a-z]+"}}),
            (std::vector<std::string>{"cpu_user/a", "mem_free/a", "cpu_system/a", "cpu_user/b",
                                      "cpu_idle/c", "cpu_system/b"}));
  EXPECT_EQ(Select("", {{kName, Op::kRe, "disk.*"}}), std::vector<std::string>{});
}

TEST_F(TsdbNameMatchers, NegativeNameMatchersCombineWithLabelMatchers) {
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_.*"},
                        {kName, Op::kNe, "cpu_idle"},
                        {kName, Op::kNotRe, ".*_extra"},
                        {"team", Op::kEq, "web"}}),
            (std::vector<std::string>{"cpu_user/a", "cpu_system/a"}));
  EXPECT_EQ(
      Select("", {{kName, Op::kRe, ".+"}, {kName, Op::kNotRe, "cpu_.*"}, {"host", Op::kEq, "a"}}),
      (std::vector<std::string>{"mem_free/a"}));
  EXPECT_EQ(Select("", {{kName, Op::kRe, "cpu_(user|system|idle)"},
                        {kName, Op::kNe, "cpu_user"},
                        {"team", Op::kNe, "web"}}),
            (std::vector<std::string>{"cpu_idle/c", "cpu_system/b"}));
  EXPECT_EQ(
      Select("", {{kName, Op::kRe, "cpu_.*"}, {"host", Op::kRe, "b|c"}, {"team", Op::kEq, ""}}),
      (std::vector<std::string>{"cpu_idle/c"}));
}

TEST_F(TsdbNameMatchers, MetricAndNameMatchersBothApply) {
  EXPECT_EQ(Select("cpu_user", {{kName, Op::kRe, "cpu_.*"}}),
            (std::vector<std::string>{"cpu_user/a", "cpu_user/b"}));
  EXPECT_EQ(Select("cpu_user", {{kName, Op::kRe, "cpu_(user|system)"}, {"host", Op::kEq, "b"}}),
            (std::vector<std::string>{"cpu_user/b"}));
  EXPECT_EQ(Select("cpu_user", {{kName, Op::kEq, "mem_free"}}), std::vector<std::string>{});
  EXPECT_EQ(Select("cpu_user", {{kName, Op::kNe, "cpu_user"}}), std::vector<std::string>{});
  EXPECT_EQ(Select("cpu_user", {{kName, Op::kNotRe, "mem.*"}}),
            (std::vector<std::string>{"cpu_user/a", "cpu_user/b"}));
}

TEST_F(TsdbNameMatchers, WithoutAMetricANameMatcherWithEqOrReIsRequired) {
  for (const std::vector<LabelMatcher>& matchers :
       {std::vector<LabelMatcher>{}, std::vector<LabelMatcher>{{"host", Op::kEq, "a"}},
        std::vector<LabelMatcher>{{kName, Op::kNe, "cpu_user"}, {kName, Op::kNotRe, "mem.*"}}}) {
    auto refs = store_->Select("", matchers);
    EXPECT_EQ(refs.status().code(), absl::StatusCode::kInvalidArgument) << refs.status();
    EXPECT_NE(refs.status().message().find("__name__ matcher with = or =~"), std::string::npos)
        << refs.status();
  }
  auto bad = store_->Select("", {{kName, Op::kRe, "cpu_(user"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("__name__=~\"cpu_(user\""), std::string::npos)
      << bad.status();
}

TEST(TsdbIndex, NameListingSkipsEachMetricsPostingsWhateverItsBytes) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  // Names that prefix one another, one whose length takes a 2-byte varint,
  // and names ending in 0xff bytes (the successor of their prefix carries).
  const std::vector<std::string> names = {"b",  "a",    std::string(130, 'x'), "a\xff", "a\xff\xff",
                                          "ab", "a\xfe"};
  std::vector<IngestSeries> batch;
  for (int host = 0; host < 3; ++host) {
    for (const std::string& name : names)
      batch.push_back(Series(name, {{"host", std::to_string(host)}}));
  }
  ASSERT_TRUE(store->Append(batch).ok());
  // The listing walks over every name; the regex keeps the plain ones
  // (whatever RE2 makes of 0xff bytes), in id order: host 1, batch order.
  auto plain = store->Select("", {{kName, Op::kRe, "[abx]+"}, {"host", Op::kEq, "1"}});
  ASSERT_TRUE(plain.ok()) << plain.status();
  std::vector<std::string> got;
  for (const SeriesRef& r : *plain) got.push_back(r.metric);
  EXPECT_EQ(got, (std::vector<std::string>{"b", "a", std::string(130, 'x'), "ab"}));

  EXPECT_EQ(keys::PrefixSuccessor("m\1a"), "m\1b");  // \1: a length byte
  EXPECT_EQ(keys::PrefixSuccessor("m\2a\xff"), "m\2b");
  EXPECT_EQ(keys::PrefixSuccessor("\xff\xff"), "");
  absl::string_view metric;
  EXPECT_TRUE(
      keys::ParseMetricPostingKey(keys::PostingKey(keys::MetricPostingPrefix("cpu"), 7), &metric));
  EXPECT_EQ(metric, "cpu");
  EXPECT_FALSE(keys::ParseMetricPostingKey(keys::MetricPostingPrefix("cpu"), &metric));
  EXPECT_FALSE(keys::ParseMetricPostingKey(keys::PostingKey(keys::LabelPostingPrefix("a", "b"), 7),
                                           &metric));
}

TEST(TsdbIndex, GroupedLiteralAlternationsExpandToTheirValues) {
  CompiledMatchers m = *CompiledMatchers::Compile({{"h", Op::kRe, "cpu_(user|system)"},
                                                   {"h", Op::kRe, "x(?:a|b)y"},
                                                   {"h", Op::kRe, "c(a|)"},
                                                   {"h", Op::kRe, "(a|)"},
                                                   {"h", Op::kRe, "(?i)cpu"},
                                                   {"h", Op::kRe, "a(b|c)(d|e)"},
                                                   {"h", Op::kRe, "a|(b|c)"},
                                                   {"h", Op::kEq, "v"}});
  EXPECT_EQ(m.LiteralAlternatives(0), (std::vector<std::string>{"cpu_user", "cpu_system"}));
  EXPECT_EQ(m.LiteralAlternatives(1), (std::vector<std::string>{"xay", "xby"}));
  EXPECT_EQ(m.LiteralAlternatives(2), (std::vector<std::string>{"ca", "c"}));
  for (size_t i : {3, 4, 5, 6}) EXPECT_FALSE(m.LiteralAlternatives(i).has_value()) << i;
  EXPECT_EQ(m.PostingValues(7), (std::vector<std::string>{"v"}));
  EXPECT_EQ(m.PostingValues(0), m.LiteralAlternatives(0));
}

// The store's Select (postings, name listing, literal shortcuts) against the
// in-memory source's naive one, on random series and matchers.
TEST(TsdbIndex, NameAndLabelSelectEqualsNaiveSelectOnRandomSeries) {
  const std::vector<std::string> metrics = {"cpu_user", "cpu_system", "cpu_idle",
                                            "mem",      "mem_free",   "disk_io"};
  const std::vector<std::string> name_values = {"cpu_user", "mem", "nothing", ""};
  const std::vector<std::string> name_regexes = {
      "cpu_(user|system)", "cpu_.*",      "mem|disk_io",       "mem.*",        ".*",
      "(cpu|mem)_[a-z]+",  "cpu_(user|)", "mem_(?:free|used)", "m.*|cpu_idle", "",
      "(cpu|mem)_free"};
  std::mt19937_64 rng(4242);
  auto pick = [&rng](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  int non_empty = 0, refused = 0;
  for (int round = 0; round < 20; ++round) {
    testing::TempDir dir;
    auto store = OpenStore(dir.path());
    query_test::MemorySeriesSource naive;
    std::set<std::pair<std::string, Labels>> seen;
    for (int i = 0; i < 30; ++i) {
      std::string metric = pick(metrics);
      Labels labels = {{"host", pick({"a", "b", "c"})}};
      if (rng() % 2) labels.push_back({"team", pick({"web", "db"})});
      std::sort(labels.begin(), labels.end());
      if (!seen.insert({metric, labels}).second) continue;
      // One at a time, so both give the same ids in the same order.
      ASSERT_TRUE(store->Append({Series(metric, labels)}).ok());
      naive.Add(metric, labels, false, {{1000, 1.0}});
    }
    for (int q = 0; q < 50; ++q) {
      std::string metric = rng() % 3 == 0 ? pick(metrics) : "";
      std::vector<LabelMatcher> matchers;
      // Mostly a selection that names its metrics; the rest may be refused.
      if (metric.empty() && rng() % 5 != 0) {
        matchers.push_back(rng() % 2 ? LabelMatcher{kName, Op::kRe, pick(name_regexes)}
                                     : LabelMatcher{kName, Op::kEq, pick(name_values)});
      }
      int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        LabelMatcher m;
        m.op = static_cast<Op>(rng() % 4);
        const bool regex = m.op == Op::kRe || m.op == Op::kNotRe;
        if (rng() % 2) {
          m.name = kName;
          m.value = regex ? pick(name_regexes) : pick(name_values);
        } else {
          m.name = pick({"host", "team"});
          m.value = regex ? pick({"a|b", "w.*", "", ".+", "db"}) : pick({"a", "web", ""});
        }
        matchers.push_back(m);
      }
      SCOPED_TRACE(::testing::Message() << "round " << round << " query " << q << ": metric '"
                                        << metric << "', " << matchers.size() << " matchers");
      auto want = naive.Select(metric, matchers);
      auto got = store->Select(metric, matchers);
      ASSERT_EQ(got.ok(), want.ok()) << got.status() << " vs " << want.status();
      if (!want.ok()) {
        EXPECT_EQ(got.status().code(), want.status().code());
        ++refused;
        continue;
      }
      std::vector<std::pair<std::string, Labels>> a, b;
      for (const SeriesRef& r : *got) a.push_back({r.metric, r.labels});
      for (const SeriesRef& r : *want) b.push_back({r.metric, r.labels});
      ASSERT_EQ(a, b);
      non_empty += b.empty() ? 0 : 1;
    }
  }
  // Meaningful only if many selections found series and some were refused.
  std::printf("1000 selections, %d non-empty, %d refused\n", non_empty, refused);
  EXPECT_GT(non_empty, 300);
  EXPECT_GT(refused, 20);
}

// Select's record cache is bounded: with room for 3 records, selections of
// 1, 10 and 2 series (over and over) still return exactly their series.
TEST(TsdbIndex, SmallRecordCacheKeepsSelectsExact) {
  testing::TempDir dir;
  TsdbOptions options;
  options.series_record_cache = 3;
  auto opened = TsdbStore::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  TsdbStore& store = **opened;
  std::vector<IngestSeries> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Series("m", {{"host", "h" + std::to_string(i)}}));
  ASSERT_TRUE(store.Append(batch).ok());
  for (int round = 0; round < 3; ++round) {
    auto one = store.Select("m", {{"host", LabelMatcher::Op::kEq, "h4"}});
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(HostsOf(*one), (std::vector<std::string>{"h4"}));
    auto all = store.Select("m", {});
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(all->size(), 10u);
    auto two = store.Select("m", {{"host", LabelMatcher::Op::kRe, "h1|h7"}});
    ASSERT_TRUE(two.ok()) << two.status();
    EXPECT_EQ(HostsOf(*two), (std::vector<std::string>{"h1", "h7"}));
  }
}

}  // namespace
}  // namespace steward::collector::tsdb
