#pragma once
// A brute-force copy of what a TsdbStore should hold, for the store tests.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"

namespace steward::collector::tsdb::store_test {

// A controllable clock for TsdbOptions::now_ms (thread-safe: compactions
// read it from RocksDB's threads).
struct FakeClock {
  std::atomic<int64_t> now_ms{0};
  std::function<int64_t()> Fn() {
    return [this] { return now_ms.load(); };
  }
};

// The accepted samples of every series, by series key (metric + labels as
// given), applying the store's rule: a sample at or before the series'
// latest one is dropped.
class Oracle {
 public:
  // Returns the number of samples dropped.
  uint64_t Append(const std::vector<IngestSeries>& batch) {
    uint64_t dropped = 0;
    for (const IngestSeries& s : batch) {
      std::vector<Sample>& kept =
          series_[s.labels.empty() ? s.metric : s.metric + "/" + s.labels[0].second];
      for (const Sample& x : s.samples) {
        if (!kept.empty() && x.time_ms <= kept.back().time_ms) {
          ++dropped;
        } else {
          kept.push_back(x);
        }
      }
    }
    return dropped;
  }
  // Samples of `key` in [start, end].
  std::vector<Sample> Read(const std::string& key, int64_t start, int64_t end) const {
    std::vector<Sample> out;
    auto it = series_.find(key);
    if (it == series_.end()) return out;
    for (const Sample& s : it->second) {
      if (s.time_ms >= start && s.time_ms <= end) out.push_back(s);
    }
    return out;
  }
  const std::map<std::string, std::vector<Sample>>& series() const { return series_; }

 private:
  std::map<std::string, std::vector<Sample>> series_;
};

// Series "m" with one label host=<name>: the oracle's key is "m/<name>".
inline IngestSeries HostSeries(const std::string& host, std::vector<Sample> samples) {
  return IngestSeries{"m", {{"host", host}}, false, std::move(samples)};
}

// The id of series m{host=<host>}, or 0.
inline uint64_t IdOf(TsdbStore& store, const std::string& host) {
  auto refs = store.Select("m", {{"host", LabelMatcher::Op::kEq, host}});
  EXPECT_TRUE(refs.ok()) << refs.status();
  return refs.ok() && refs->size() == 1 ? (*refs)[0].id : 0;
}

inline std::vector<Sample> ReadAll(SeriesSource& store, uint64_t id, int64_t start, int64_t end) {
  std::vector<Sample> out;
  absl::Status s = store.ReadSamples(id, start, end, &out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// Bit-exact comparison of sample lists, reporting the first difference.
inline ::testing::AssertionResult SameSamples(const std::vector<Sample>& got,
                                              const std::vector<Sample>& want) {
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (got[i].time_ms != want[i].time_ms ||
        std::memcmp(&got[i].value, &want[i].value, sizeof(double)) != 0) {
      return ::testing::AssertionFailure()
             << "sample " << i << ": got (" << got[i].time_ms << ", " << got[i].value << "), want ("
             << want[i].time_ms << ", " << want[i].value << ")";
    }
  }
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << "got " << got.size() << " samples, want " << want.size();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace steward::collector::tsdb::store_test
