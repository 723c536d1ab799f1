// Feeds arbitrary bytes to the TSDB chunk decoder: no crash, no read past
// the input, no allocation beyond the header's capped sample count. When the
// bytes decode, the samples must satisfy the chunk invariants (strictly
// increasing times) and survive a round trip through the encoder bit for
// bit, with either value policy; the lazy iterator must agree with
// DecodeChunk.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_iterator.h"

namespace {

using steward::collector::tsdb::ChunkEncoder;
using steward::collector::tsdb::ChunkIterator;
using steward::collector::tsdb::DecodeChunk;
using steward::collector::tsdb::Sample;
using steward::collector::tsdb::ValuePolicy;

bool Same(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].time_ms != b[i].time_ms ||
        std::bit_cast<uint64_t>(a[i].value) != std::bit_cast<uint64_t>(b[i].value)) {
      return false;
    }
  }
  return true;
}

void CheckRoundTrip(const std::vector<Sample>& samples, ValuePolicy policy) {
  ChunkEncoder encoder(policy);
  for (const Sample& s : samples) {
    if (!encoder.Append(s.time_ms, s.value).ok()) abort();  // decoded times increase
  }
  std::string bytes = encoder.Finish();
  auto again = DecodeChunk(bytes);
  if (!again.ok() || !Same(samples, *again)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = DecodeChunk(bytes);

  // The iterator fails to open exactly on header errors, and then yields
  // the same samples and the same verdict.
  bool header_error =
      !decoded.ok() && absl::StartsWith(decoded.status().message(), "chunk: header:");
  auto it = ChunkIterator::Open(bytes);
  if (it.ok() == header_error) abort();
  if (it.ok()) {
    std::vector<Sample> lazy;
    while (it->Next()) lazy.push_back(it->sample());
    if (it->status().ok() != decoded.ok()) abort();
    if (decoded.ok() && !Same(*decoded, lazy)) abort();
    // Range reads (AppendSpan and its fast path) yield the same samples,
    // up to the same error, with the same message; also over two spans cut
    // at a time picked from the input.
    auto ranged = ChunkIterator::Open(bytes);
    std::vector<Sample> spans;
    const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
    if (ranged->AppendSpan(lo, hi, &spans)) abort();
    if (!Same(lazy, spans) || ranged->status().ToString() != it->status().ToString()) abort();
    if (!lazy.empty()) {
      const int64_t cut = lazy[lazy.size() / 2].time_ms;
      auto split = ChunkIterator::Open(bytes);
      spans.clear();
      split->AppendSpan(lo, cut, &spans);
      if (cut < hi) split->AppendSpan(cut + 1, hi, &spans);
      if (!Same(lazy, spans) || split->status().ToString() != it->status().ToString()) abort();
    }
  }
  if (!decoded.ok()) return 0;

  for (size_t i = 1; i < decoded->size(); ++i) {
    if ((*decoded)[i - 1].time_ms >= (*decoded)[i].time_ms) abort();
  }
  CheckRoundTrip(*decoded, ValuePolicy::kSmallest);
  CheckRoundTrip(*decoded, ValuePolicy::kGorillaOnly);
  return 0;
}
