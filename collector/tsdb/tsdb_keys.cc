#include "collector/tsdb/tsdb_keys.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace steward::collector::tsdb::keys {
namespace {
constexpr uint64_t kSignBit = uint64_t{1} << 63;
}  // namespace

void PutFixed64BE(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutTime(int64_t t, std::string* out) {
  PutFixed64BE(static_cast<uint64_t>(t) ^ kSignBit, out);
}

int64_t DecodeTime(const char* p) { return static_cast<int64_t>(DecodeFixed64BE(p) ^ kSignBit); }

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutLengthPrefixed(absl::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s.data(), s.size());
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // bits beyond the 64th
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetLengthPrefixed(absl::string_view* in, absl::string_view* s) {
  uint64_t len = 0;
  if (!GetVarint(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

bool GetFixed64BE(absl::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64BE(in->data());
  in->remove_prefix(8);
  return true;
}

namespace {
template <typename LabelVector>
void SeriesKeyOf(absl::string_view metric, const LabelVector& labels, std::string* out) {
  out->assign(1, kSeriesKeyTag);
  PutLengthPrefixed(metric, out);
  for (const auto& [name, value] : labels) {
    PutLengthPrefixed(name, out);
    PutLengthPrefixed(value, out);
  }
}
}  // namespace

std::string SeriesKey(absl::string_view metric, const Labels& labels) {
  std::string key;
  SeriesKeyOf(metric, labels, &key);
  return key;
}

void SeriesKeyTo(absl::string_view metric,
                 const std::vector<std::pair<absl::string_view, absl::string_view>>& labels,
                 std::string* out) {
  SeriesKeyOf(metric, labels, out);
}

std::string SeriesRecordKey(uint64_t id) {
  std::string key(1, kSeriesRecordTag);
  PutFixed64BE(id, &key);
  return key;
}

namespace {
template <typename LabelVector>
absl::Status Canonical(LabelVector* labels) {
  auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(labels->begin(), labels->end(), by_name)) {
    std::sort(labels->begin(), labels->end(), by_name);
  }
  for (size_t i = 0; i < labels->size(); ++i) {
    if ((*labels)[i].first.empty()) return absl::InvalidArgumentError("label with an empty name");
    if (i > 0 && (*labels)[i].first == (*labels)[i - 1].first) {
      return absl::InvalidArgumentError(
          absl::StrCat("label '", (*labels)[i].first, "' occurs twice in one series"));
    }
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status CanonicalLabels(Labels* labels) { return Canonical(labels); }
absl::Status CanonicalLabels(std::vector<std::pair<absl::string_view, absl::string_view>>* labels) {
  return Canonical(labels);
}

std::string EncodeSeriesRecord(const SeriesRef& ref) {
  std::string out;
  PutLengthPrefixed(ref.metric, &out);
  out.push_back(ref.counter ? 1 : 0);
  PutVarint(ref.labels.size(), &out);
  for (const auto& [name, value] : ref.labels) {
    PutLengthPrefixed(name, &out);
    PutLengthPrefixed(value, &out);
  }
  return out;
}

absl::StatusOr<SeriesRef> DecodeSeriesRecord(uint64_t id, absl::string_view bytes) {
  auto corrupt = [id](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("series record ", id, ": ", what));
  };
  SeriesRef ref;
  ref.id = id;
  absl::string_view in = bytes, s;
  if (!GetLengthPrefixed(&in, &s)) return corrupt("truncated metric name");
  ref.metric = std::string(s);
  if (in.empty()) return corrupt("no counter flag");
  ref.counter = in.front() != 0;
  in.remove_prefix(1);
  uint64_t n = 0;
  if (!GetVarint(&in, &n) || n > in.size()) return corrupt("bad label count");
  for (uint64_t i = 0; i < n; ++i) {
    absl::string_view name, value;
    if (!GetLengthPrefixed(&in, &name) || !GetLengthPrefixed(&in, &value)) {
      return corrupt(absl::StrCat("truncated label ", i));
    }
    ref.labels.emplace_back(std::string(name), std::string(value));
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return ref;
}

std::string MetricPostingPrefix(absl::string_view metric) {
  std::string key(1, kMetricPostingTag);
  PutLengthPrefixed(metric, &key);
  return key;
}

std::string LabelPostingPrefix(absl::string_view name, absl::string_view value) {
  std::string key(1, kLabelPostingTag);
  PutLengthPrefixed(name, &key);
  PutLengthPrefixed(value, &key);
  return key;
}

std::string PostingKey(absl::string_view prefix, uint64_t id) {
  std::string key(prefix);
  PutFixed64BE(id, &key);
  return key;
}

bool ParseMetricPostingKey(absl::string_view key, absl::string_view* metric) {
  if (key.empty() || key.front() != kMetricPostingTag) return false;
  key.remove_prefix(1);
  return GetLengthPrefixed(&key, metric) && key.size() == kIdBytes;
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string next(prefix);
  while (!next.empty() && static_cast<uint8_t>(next.back()) == 0xff) next.pop_back();
  if (!next.empty()) next.back() = static_cast<char>(static_cast<uint8_t>(next.back()) + 1);
  return next;
}

std::string IdPrefix(uint64_t id) {
  std::string key;
  PutFixed64BE(id, &key);
  return key;
}

std::string ChunkKey(uint64_t id, int64_t start_ms) {
  std::string key = IdPrefix(id);
  PutTime(start_ms, &key);
  return key;
}

bool ParseChunkKey(absl::string_view key, uint64_t* id, int64_t* start_ms) {
  if (key.size() != 16) return false;
  *id = DecodeFixed64BE(key.data());
  *start_ms = DecodeTime(key.data() + 8);
  return true;
}

std::string ChunkValue(int64_t end_ms, absl::string_view chunk) {
  std::string value;
  value.reserve(8 + chunk.size());
  PutTime(end_ms, &value);
  value.append(chunk.data(), chunk.size());
  return value;
}

bool ParseChunkValue(absl::string_view value, int64_t* end_ms, absl::string_view* chunk) {
  if (value.size() < 8) return false;
  *end_ms = DecodeTime(value.data());
  *chunk = value.substr(8);
  return true;
}

std::string WalKey(uint64_t record_id) { return IdPrefix(record_id); }

std::string RollupKey(uint64_t id, int64_t resolution_ms, int64_t time_ms) {
  std::string key = IdPrefix(id);
  PutFixed64BE(static_cast<uint64_t>(resolution_ms), &key);
  PutTime(time_ms, &key);
  return key;
}

std::string RollupRecordKey(uint64_t id, int64_t resolution_ms, int64_t last_bucket_start_ms,
                            int64_t first_ms) {
  std::string key = RollupKey(id, resolution_ms, last_bucket_start_ms);
  PutTime(first_ms, &key);
  return key;
}

bool ParseRollupKey(absl::string_view key, uint64_t* id, int64_t* resolution_ms, int64_t* time_ms,
                    bool* record) {
  if (key.size() != 24 && key.size() != 32) return false;
  *id = DecodeFixed64BE(key.data());
  *resolution_ms = static_cast<int64_t>(DecodeFixed64BE(key.data() + 8));
  *time_ms = DecodeTime(key.data() + 16);
  if (record != nullptr) *record = key.size() == 32;
  return true;
}

}  // namespace steward::collector::tsdb::keys
