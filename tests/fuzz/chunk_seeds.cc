// Writes a seed corpus for chunk_decode_fuzz: valid chunks of every value
// encoding (2-decimal walks, byte gauges, counters, constants, random and
// special doubles) with regular, jittered and extreme timestamps.
//
// Usage: chunk_seeds DIR
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/chunk_encoder.h"

namespace {

using steward::collector::tsdb::ChunkEncoder;
using steward::collector::tsdb::ValuePolicy;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: chunk_seeds DIR\n");
    return 2;
  }
  std::mt19937_64 rng(1);
  int written = 0;
  auto emit = [&](ChunkEncoder& encoder) {
    std::ofstream(std::string(argv[1]) + "/seed-" + std::to_string(written++), std::ios::binary)
        << encoder.Finish();
  };
  for (int kind = 0; kind < 6; ++kind) {
    for (ValuePolicy policy : {ValuePolicy::kSmallest, ValuePolicy::kGorillaOnly}) {
      ChunkEncoder encoder(policy);
      int64_t t = kind == 5 ? std::numeric_limits<int64_t>::min() : 1'700'000'000'000;
      double walk = 50, counter = 1e9;
      for (int i = 0; i < 40; ++i) {
        t += kind == 5 ? int64_t{1} << 58 : 10'000 + static_cast<int64_t>(rng() % 9) - 4;
        walk = std::round((walk + static_cast<double>(rng() % 201) / 100.0 - 1.0) * 100) / 100;
        counter += static_cast<double>(rng() % 5000);
        double values[] = {walk,
                           static_cast<double>((rng() % (1 << 24)) * 1024),
                           counter,
                           42.0,
                           std::bit_cast<double>(static_cast<uint64_t>(rng())),
                           i % 2 ? -0.0 : std::numeric_limits<double>::quiet_NaN()};
        if (!encoder.Append(t, values[kind]).ok()) return 1;
      }
      emit(encoder);
    }
  }
  ChunkEncoder single;
  if (!single.Append(-1, 0.5).ok()) return 1;
  emit(single);
  ChunkEncoder empty;
  emit(empty);
  return 0;
}
