#include "collector/tsdb/retention.h"

#include <limits>

#include "absl/strings/string_view.h"
#include "collector/tsdb/rollup.h"
#include "collector/tsdb/tsdb_keys.h"

namespace steward::collector::tsdb {
namespace {

absl::string_view View(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// One compaction's filter: `cutoff_ms` is fixed when the compaction starts.
class ChunkRetentionFilter : public rocksdb::CompactionFilter {
 public:
  explicit ChunkRetentionFilter(int64_t cutoff_ms) : cutoff_ms_(cutoff_ms) {}
  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override {
    int64_t end_ms = 0;
    absl::string_view chunk;
    return keys::ParseChunkValue(View(value), &end_ms, &chunk) && end_ms < cutoff_ms_;
  }
  const char* Name() const override { return "steward.tsdb.ChunkRetentionFilter"; }

 private:
  int64_t cutoff_ms_;
};

class RollupRetentionFilter : public rocksdb::CompactionFilter {
 public:
  explicit RollupRetentionFilter(int64_t cutoff_ms) : cutoff_ms_(cutoff_ms) {}
  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override {
    return Expired(key);
  }
  bool FilterMergeOperand(int level, const rocksdb::Slice& key,
                          const rocksdb::Slice& operand) const override {
    return Expired(key);
  }
  const char* Name() const override { return "steward.tsdb.RollupRetentionFilter"; }

 private:
  bool Expired(const rocksdb::Slice& key) const {
    uint64_t id = 0;
    int64_t resolution = 0, start = 0;
    if (!keys::ParseRollupKey(View(key), &id, &resolution, &start)) return false;
    // A resolution no longer stored (1 min and 1 h, before 2026-12-08).
    if (!IsStoredRollupResolution(resolution)) return true;
    // The (last) bucket ends before the cutoff: start + resolution < cutoff,
    // written so it cannot overflow (the difference of two int64 fits a
    // uint64).
    return start < cutoff_ms_ &&
           static_cast<uint64_t>(cutoff_ms_) - static_cast<uint64_t>(start) >
               static_cast<uint64_t>(resolution);
  }
  int64_t cutoff_ms_;
};

// Creates Filter(cutoff) per compaction, cutoff = now_ms() - retention_ms.
template <typename Filter>
class RetentionFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  // `always`: a filter even when nothing expires by time (retention_ms <=
  // 0), with the earliest cutoff.
  RetentionFilterFactory(std::function<int64_t()> now_ms, int64_t retention_ms, const char* name,
                         bool always = false)
      : now_ms_(std::move(now_ms)), retention_ms_(retention_ms), name_(name), always_(always) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override {
    if (retention_ms_ <= 0) {
      if (!always_) return nullptr;
      return std::make_unique<Filter>(std::numeric_limits<int64_t>::min());
    }
    int64_t now = now_ms_();
    int64_t cutoff = now < std::numeric_limits<int64_t>::min() + retention_ms_
                         ? std::numeric_limits<int64_t>::min()
                         : now - retention_ms_;
    return std::make_unique<Filter>(cutoff);
  }
  const char* Name() const override { return name_; }

 private:
  std::function<int64_t()> now_ms_;
  int64_t retention_ms_;
  const char* name_;
  bool always_;
};

}  // namespace

std::shared_ptr<rocksdb::CompactionFilterFactory> NewChunkRetentionFilterFactory(
    std::function<int64_t()> now_ms, int64_t retention_ms) {
  return std::make_shared<RetentionFilterFactory<ChunkRetentionFilter>>(
      std::move(now_ms), retention_ms, "steward.tsdb.ChunkRetentionFilterFactory");
}

std::shared_ptr<rocksdb::CompactionFilterFactory> NewRollupRetentionFilterFactory(
    std::function<int64_t()> now_ms, int64_t retention_ms) {
  return std::make_shared<RetentionFilterFactory<RollupRetentionFilter>>(
      std::move(now_ms), retention_ms, "steward.tsdb.RollupRetentionFilterFactory",
      /*always=*/true);
}

}  // namespace steward::collector::tsdb
