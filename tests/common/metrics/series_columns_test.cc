#include "common/metrics/series_columns.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::metrics {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;
using ::testing::HasSubstr;

absl::Status Decode(const v1::SeriesColumns& in, DecodedColumns* out = nullptr,
                    ColumnLimits limits = ColumnLimits()) {
  DecodedColumns local;
  return DecodeSeriesColumns(in, limits, out != nullptr ? out : &local);
}

// One series "m" with labels `labels` and one point, built by hand.
v1::SeriesColumns OneSeries(std::vector<std::string> symbols, std::vector<uint32_t> series) {
  v1::SeriesColumns msg;
  for (auto& s : symbols) msg.add_symbols(s);
  for (uint32_t v : series) msg.add_series(v);
  msg.add_time_deltas(1000);
  msg.add_values(1.5);
  return msg;
}

TEST(SeriesColumnsTest, RoundTripKeepsEverySeriesLabelTimeAndValue) {
  v1::SeriesColumns msg;
  SeriesColumnsBuilder b(&msg);
  const int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  const double kNaN = std::bit_cast<double>(uint64_t{0x7ff8000000000abcULL});
  b.AddSeries("host_load1", Labels{}, false);
  b.AddPoint(1763892000000, 0.25);
  b.AddSeries("net_bytes_total", Labels{{"dev", "eth0"}, {"dir", "rx"}}, true);
  b.AddPoint(kMin, -0.0);
  b.AddPoint(kMax, std::numeric_limits<double>::infinity());
  b.AddPoint(-7, kNaN);
  b.AddSeries("net_bytes_total", Labels{{"dev", "eth0"}, {"dir", "tx"}}, true);
  b.AddSeries("no_points", Labels{{"a", ""}}, false);
  // Each string once: host_load1 net_bytes_total dev eth0 dir rx tx no_points a "".
  EXPECT_EQ(msg.symbols_size(), 10);

  DecodedColumns out;
  ASSERT_TRUE(Decode(msg, &out).ok());
  ASSERT_EQ(out.series.size(), 4u);
  EXPECT_EQ(out.series[0].metric, "host_load1");
  EXPECT_FALSE(out.series[0].counter);
  EXPECT_EQ(out.series[0].label_count, 0u);
  EXPECT_EQ(out.series[1].metric, "net_bytes_total");
  EXPECT_TRUE(out.series[1].counter);
  ASSERT_EQ(out.series[1].label_count, 2u);
  EXPECT_EQ(out.label(out.series[1], 0), (LabelView{"dev", "eth0"}));
  EXPECT_EQ(out.label(out.series[1], 1), (LabelView{"dir", "rx"}));
  EXPECT_EQ(out.label(out.series[2], 1), (LabelView{"dir", "tx"}));
  EXPECT_EQ(out.label(out.series[3], 0), (LabelView{"a", ""}));
  EXPECT_EQ(out.series[2].point_count, 0u);
  EXPECT_EQ(out.series[3].point_count, 0u);
  ASSERT_EQ(out.series[1].point_begin, 1u);
  ASSERT_EQ(out.series[1].point_count, 3u);
  EXPECT_EQ(out.times, (std::vector<int64_t>{1763892000000, kMin, kMax, -7}));
  EXPECT_EQ(std::bit_cast<uint64_t>(msg.values(1)), std::bit_cast<uint64_t>(-0.0));
  EXPECT_EQ(std::bit_cast<uint64_t>(msg.values(3)), std::bit_cast<uint64_t>(kNaN));
  // The column entries of a series start where column_begin says.
  EXPECT_EQ(msg.series(static_cast<int>(out.series[1].column_begin)), (2u << 1) | 1u);
}

TEST(SeriesColumnsTest, EmptyMessageIsAnEmptyBatch) {
  DecodedColumns out;
  ASSERT_TRUE(Decode(v1::SeriesColumns(), &out).ok());
  EXPECT_TRUE(out.series.empty());
}

TEST(SeriesColumnsTest, DecodeReusesTheOutputAndClearsIt) {
  v1::SeriesColumns msg;
  SeriesColumnsBuilder b(&msg);
  b.AddSeries("m", Labels{{"a", "b"}}, false);
  b.AddPoint(5, 1);
  DecodedColumns out;
  ASSERT_TRUE(Decode(msg, &out).ok());
  ASSERT_TRUE(Decode(msg, &out).ok());
  EXPECT_EQ(out.series.size(), 1u);
  ASSERT_EQ(out.series[0].label_count, 1u);
  EXPECT_EQ(out.label(out.series[0], 0), (LabelView{"a", "b"}));
  EXPECT_EQ(out.times.size(), 1u);
}

struct BadCase {
  const char* name;
  v1::SeriesColumns msg;
  const char* error;
};

TEST(SeriesColumnsTest, BrokenColumnsAreRefusedWithWhatIsWrong) {
  // Symbols: 0 "m", 1 "host", 2 "a", 3 "bad name", 4 "x\0y", 5 "9m", 6 "zone".
  std::vector<std::string> sym = {"m", "host", "a", "bad name", std::string("x\0y", 3), "9m", "zone"};
  std::vector<BadCase> cases = {
      {"metric symbol out of range", OneSeries(sym, {0, 99, 1}), "metric name refers to symbol 99"},
      {"label name out of range", OneSeries(sym, {2, 0, 42, 2, 1}), "label name refers to symbol 42"},
      {"label value out of range", OneSeries(sym, {2, 0, 1, 42, 1}), "label value refers to symbol 42"},
      {"metric name invalid", OneSeries(sym, {0, 5, 1}), "metric name must match"},
      {"metric name with a space", OneSeries(sym, {0, 3, 1}), "metric name must match"},
      {"label name invalid", OneSeries(sym, {2, 0, 3, 2, 1}), "label name 'bad name' is invalid"},
      {"label value with NUL", OneSeries(sym, {2, 0, 1, 4, 1}), "value has a NUL/0x1f byte"},
      {"labels unsorted", OneSeries(sym, {4, 0, 6, 2, 1, 2, 1}), "sorted by name and unique"},
      {"labels repeated", OneSeries(sym, {4, 0, 1, 2, 1, 2, 1}), "sorted by name and unique"},
      {"series column ends early", OneSeries(sym, {4, 0, 1, 2}), "ends inside this series"},
      {"more points than the columns hold", OneSeries(sym, {0, 0, 2}), "only 1 are left"},
      {"points left over", OneSeries(sym, {0, 0, 0}), "the series hold 0 points, but the columns have 1"},
      {"too many labels", OneSeries(sym, {33u << 1, 0}), "more than 32 labels"},
  };
  v1::SeriesColumns lengths = OneSeries(sym, {0, 0, 1});
  lengths.add_values(2);
  cases.push_back({"columns of different lengths", lengths, "1 time deltas but 2 values"});
  for (const BadCase& c : cases) {
    absl::Status s = Decode(c.msg);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.name << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(c.error)) << c.name;
  }
}

TEST(SeriesColumnsTest, LabelNamesStartingWithTwoUnderscoresAreReserved) {
  v1::SeriesColumns msg = OneSeries({"m", "__name__", "x"}, {2, 0, 1, 2, 1});
  absl::Status s = Decode(msg);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("label name '__name__' is reserved"));
  // A single underscore is fine, and "__" in a value too.
  EXPECT_TRUE(Decode(OneSeries({"m", "_a", "__x"}, {2, 0, 1, 2, 1})).ok());
}

TEST(SeriesColumnsTest, ASymbolIsCheckedForEachRoleItPlays) {
  // "x:y" is a fine metric name and label value but not a label name.
  v1::SeriesColumns ok = OneSeries({"x:y", "a"}, {2, 0, 1, 0, 1});
  ASSERT_TRUE(Decode(ok).ok());
  v1::SeriesColumns bad = OneSeries({"x:y", "a"}, {2, 0, 0, 1, 1});
  EXPECT_THAT(Decode(bad).message(), HasSubstr("label name 'x:y' is invalid"));
  // Too long as a name, fine as a value.
  ColumnLimits limits;
  limits.max_name_bytes = 3;
  EXPECT_TRUE(Decode(OneSeries({"m", "a", "long"}, {2, 0, 1, 2, 1}), nullptr, limits).ok());
  EXPECT_FALSE(Decode(OneSeries({"m", "long", "a"}, {2, 0, 1, 2, 1}), nullptr, limits).ok());
}

TEST(SeriesColumnsTest, LimitsOnSeriesAndPoints) {
  v1::SeriesColumns msg;
  SeriesColumnsBuilder b(&msg);
  for (int i = 0; i < 3; ++i) {
    b.AddSeries("m", Labels{{"i", std::to_string(i)}}, false);
    b.AddPoint(i, i);
    b.AddPoint(i + 10, i);
  }
  ColumnLimits limits;
  limits.max_series = 2;
  EXPECT_THAT(Decode(msg, nullptr, limits).message(), HasSubstr("more than 2 series"));
  limits = ColumnLimits();
  limits.max_points = 5;
  EXPECT_THAT(Decode(msg, nullptr, limits).message(), HasSubstr("has 6 points; the limit is 5"));
  limits.max_points = 6;
  EXPECT_TRUE(Decode(msg, nullptr, limits).ok());
}

TEST(SeriesColumnsTest, BuilderWithInternedSymbolsMatchesTheStringForm) {
  v1::SeriesColumns by_strings, by_symbols;
  SeriesColumnsBuilder a(&by_strings), b(&by_symbols);
  const Labels tags = {{"host", "h1"}, {"zone", "z"}};
  std::vector<std::pair<uint32_t, uint32_t>> syms;
  const uint32_t metric = b.Symbol("cpu");
  for (const auto& [k, v] : tags) {
    const uint32_t name = b.Symbol(k);  // names first, as the string form interns them
    syms.emplace_back(name, b.Symbol(v));
  }
  for (int i = 0; i < 3; ++i) {
    a.AddSeries("cpu", tags, i == 1);
    a.AddPoint(1000 + i, i);
    b.AddSeries(metric, syms, i == 1);
    b.AddPoint(1000 + i, i);
  }
  EXPECT_EQ(by_strings.SerializeAsString(), by_symbols.SerializeAsString());
}

TEST(SeriesColumnsTest, LabelOrderIsCheckedWheneverTheNamesChange) {
  // Symbols: 0 "m", 1 "a", 2 "b", 3 "x".
  auto batch = [](std::vector<uint32_t> series, int points) {
    v1::SeriesColumns msg;
    for (const char* s : {"m", "a", "b", "x"}) msg.add_symbols(s);
    for (uint32_t v : series) msg.add_series(v);
    for (int i = 0; i < points; ++i) {
      msg.add_time_deltas(1);
      msg.add_values(0);
    }
    return msg;
  };
  // (a, b) three times: the later two repeat the checked names.
  EXPECT_TRUE(Decode(batch({4, 0, 1, 3, 2, 3, 1, 4, 0, 1, 3, 2, 3, 1, 4, 0, 1, 3, 2, 3, 1}, 3)).ok());
  // (a, b) then (b, a): other names, checked, refused.
  EXPECT_THAT(Decode(batch({4, 0, 1, 3, 2, 3, 1, 4, 0, 2, 3, 1, 3, 1}, 2)).message(),
              HasSubstr("series 1 ('m'): labels must be sorted by name and unique"));
  // (b, a) first: refused.
  EXPECT_THAT(Decode(batch({4, 0, 2, 3, 1, 3, 1}, 1)).message(), HasSubstr("sorted by name"));
  // (a, b) then (a, a): refused though the first name repeats.
  EXPECT_THAT(Decode(batch({4, 0, 1, 3, 2, 3, 1, 4, 0, 1, 3, 1, 3, 1}, 2)).message(),
              HasSubstr("series 1 ('m')"));
}

}  // namespace
}  // namespace steward::metrics
