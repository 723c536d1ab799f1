#include "collector/tsdb/wal_record.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "collector/tsdb/chunk_format.h"
#include "collector/tsdb/tsdb_keys.h"

namespace steward::collector::tsdb {

namespace {
uint64_t GetBE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

constexpr char kVersion2[] = {'\x00', '\x02'};

char* PutVarintTo(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
}  // namespace

void EncodeWalRecord(const WalRecord& record, std::string* out) {
  out->clear();
  // Upper bound: header, per run two varints, per sample a varint and 8 bytes.
  out->resize(2 + 10 + 10 + record.runs.size() * 20 + record.samples.size() * 18);
  char* p = out->data();
  *p++ = kVersion2[0];
  *p++ = kVersion2[1];
  uint64_t prev = record.samples.empty() ? 0 : static_cast<uint64_t>(record.samples.front().time_ms);
  p = PutVarintTo(ZigZag(prev), p);
  p = PutVarintTo(record.runs.size(), p);
  for (const WalRecord::Run& run : record.runs) {
    p = PutVarintTo(run.id, p);
    p = PutVarintTo(run.count, p);
    for (uint32_t i = 0; i < run.count; ++i) {
      const Sample& sample = record.samples[run.begin + i];
      const auto t = static_cast<uint64_t>(sample.time_ms);
      p = PutVarintTo(ZigZag(t - prev), p);
      prev = t;
      const uint64_t bits = std::bit_cast<uint64_t>(sample.value);
      for (int b = 0; b < 8; ++b) *p++ = static_cast<char>(bits >> (8 * b));
    }
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

namespace {

absl::Status DecodeVersion1(uint64_t record_id, absl::string_view in, WalRecord* out) {
  auto corrupt = [record_id](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("tsdb WAL record ", record_id, ": ", what));
  };
  uint64_t count = 0;
  // Each run takes at least 9 bytes, which bounds what a bad count allocates.
  if (!keys::GetVarint(&in, &count) || count == 0 || count > in.size() / 9) {
    return corrupt("bad series count");
  }
  out->runs.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    WalRecord::Run run;
    uint64_t n = 0;
    if (!keys::GetFixed64BE(&in, &run.id) || !keys::GetVarint(&in, &n) || n > in.size() / 16) {
      return corrupt(absl::StrCat("series ", i, " is truncated"));
    }
    run.begin = static_cast<uint32_t>(out->samples.size());
    run.count = static_cast<uint32_t>(n);
    for (uint64_t j = 0; j < n; ++j) {
      out->samples.push_back(Sample{static_cast<int64_t>(GetBE(in.data())),
                                    std::bit_cast<double>(GetBE(in.data() + 8))});
      in.remove_prefix(16);
    }
    out->runs.push_back(run);
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return absl::OkStatus();
}

absl::Status DecodeVersion2(uint64_t record_id, absl::string_view in, WalRecord* out) {
  auto corrupt = [record_id](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("tsdb WAL record ", record_id, ": ", what));
  };
  uint64_t base = 0, count = 0;
  if (!keys::GetVarint(&in, &base)) return corrupt("truncated base time");
  uint64_t prev = UnZigZag(base);
  // Each run takes at least 2 bytes, which bounds what a bad count allocates.
  if (!keys::GetVarint(&in, &count) || count > in.size() / 2) return corrupt("bad series count");
  out->runs.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    WalRecord::Run run;
    uint64_t n = 0;
    // Each sample takes at least 9 bytes.
    if (!keys::GetVarint(&in, &run.id) || !keys::GetVarint(&in, &n) || n > in.size() / 9) {
      return corrupt(absl::StrCat("series ", i, " is truncated"));
    }
    run.begin = static_cast<uint32_t>(out->samples.size());
    run.count = static_cast<uint32_t>(n);
    for (uint64_t j = 0; j < n; ++j) {
      uint64_t delta = 0;
      if (!keys::GetVarint(&in, &delta) || in.size() < 8) {
        return corrupt(absl::StrCat("series ", i, " sample ", j, " is truncated"));
      }
      prev += UnZigZag(delta);
      uint64_t bits = 0;
      for (int b = 0; b < 8; ++b) bits |= uint64_t{static_cast<unsigned char>(in[static_cast<size_t>(b)])} << (8 * b);
      in.remove_prefix(8);
      out->samples.push_back(Sample{static_cast<int64_t>(prev), std::bit_cast<double>(bits)});
    }
    out->runs.push_back(run);
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeWalRecord(uint64_t record_id, absl::string_view bytes, WalRecord* out) {
  out->clear();
  // Version 1 starts with its run count, never 0.
  if (!bytes.empty() && bytes[0] == kVersion2[0]) {
    if (bytes.size() < 2 || bytes[1] != kVersion2[1]) {
      return absl::DataLossError(absl::StrCat(
          "tsdb WAL record ", record_id, ": unknown version ",
          bytes.size() < 2 ? -1 : static_cast<int>(static_cast<unsigned char>(bytes[1]))));
    }
    return DecodeVersion2(record_id, bytes.substr(2), out);
  }
  return DecodeVersion1(record_id, bytes, out);
}

}  // namespace steward::collector::tsdb
