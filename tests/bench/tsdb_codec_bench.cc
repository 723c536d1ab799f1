// Micro-benchmark of the TSDB chunk codec on TSBS-devops-like data: per host
// 10 cpu fields (percentages with 2 decimals, clamped random walks in
// 0..100) and 10 mem fields (byte gauges at KiB granularity, as
// /proc/meminfo reports them, random walks; the first one constant like
// mem total), one sample every 10 s with a few ms of jitter shared by the
// host's fields, cut into chunks of --chunk samples. Every series is encoded
// twice: with the encoder's choice of value encoding ("auto") and with
// Gorilla XOR forced ("gorilla"), so the gain of scaled integers shows.
// Prints RESULT lines (bytes per sample, encode and decode ns per sample),
// then the mix of value encodings chosen. Seeded: the same flags give the
// same bytes. It times, it never asserts a time.
//
// Usage: tsdb_codec_bench [--hosts N] [--steps S] [--chunk C] [--jitter-ms J] [--seed X]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_format.h"
#include "collector/tsdb/chunk_iterator.h"

namespace {

using steward::collector::tsdb::ChunkEncoder;
using steward::collector::tsdb::ChunkIterator;
using steward::collector::tsdb::kMaxValueEncoding;
using steward::collector::tsdb::Sample;
using steward::collector::tsdb::ValueEncoding;
using steward::collector::tsdb::ValueEncodingName;
using steward::collector::tsdb::ValuePolicy;
using Clock = std::chrono::steady_clock;

constexpr int kCpuFields = 10;
constexpr int kMemFields = 10;

// What one (policy, kind) cell accumulates.
struct Cell {
  std::vector<std::string> chunks;
  size_t samples = 0;
  size_t bytes = 0;
  double encode_ns = 0;
  double decode_ns = 0;
  size_t by_encoding[kMaxValueEncoding + 1] = {};
};

double Ns(Clock::duration d) { return std::chrono::duration<double, std::nano>(d).count(); }

// Encodes `times`/`values` into chunks of `chunk` samples, timing only the
// encoder. Returns false if the encoder refused a sample (a generator bug).
bool EncodeSeries(const std::vector<int64_t>& times, const std::vector<double>& values,
                  ValuePolicy policy, size_t chunk, Cell* cell) {
  ChunkEncoder encoder(policy);
  auto start = Clock::now();
  size_t first_chunk = cell->chunks.size();
  for (size_t i = 0; i < times.size(); i += chunk) {
    size_t end = std::min(times.size(), i + chunk);
    for (size_t j = i; j < end; ++j) {
      if (!encoder.Append(times[j], values[j]).ok()) return false;
    }
    cell->chunks.push_back(encoder.Finish());
  }
  cell->encode_ns += Ns(Clock::now() - start);
  for (size_t c = first_chunk; c < cell->chunks.size(); ++c) {
    cell->bytes += cell->chunks[c].size();
    cell->by_encoding[static_cast<uint8_t>(cell->chunks[c][1])]++;
  }
  cell->samples += times.size();
  return true;
}

// Decodes every chunk of the cell into a reused buffer, as a range query
// does (ChunkIterator::AppendSpan); returns a checksum so the work cannot be
// optimized away, or -1 on a decode error.
double DecodeCell(Cell* cell) {
  double sum = 0;
  size_t seen = 0;
  std::vector<Sample> buffer;
  auto start = Clock::now();
  for (const std::string& chunk : cell->chunks) {
    auto it = ChunkIterator::Open(chunk);
    if (!it.ok()) return -1;
    buffer.clear();
    it->AppendSpan(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &buffer);
    if (!it->status().ok()) return -1;
    for (const Sample& s : buffer) sum += s.value + static_cast<double>(s.time_ms & 0xff);
    seen += buffer.size();
  }
  cell->decode_ns += Ns(Clock::now() - start);
  return seen == cell->samples ? sum : -1;
}

void PrintResult(const char* values, const char* kind, const Cell& c) {
  double n = static_cast<double>(c.samples);
  std::printf(
      "RESULT bench=tsdb_codec values=%s kind=%s samples=%zu chunks=%zu bytes_per_sample=%.3f "
      "encode_ns_per_sample=%.1f decode_ns_per_sample=%.1f\n",
      values, kind, c.samples, c.chunks.size(), static_cast<double>(c.bytes) / n, c.encode_ns / n,
      c.decode_ns / n);
}

Cell Merge(const Cell& a, const Cell& b) {
  Cell m;
  m.samples = a.samples + b.samples;
  m.bytes = a.bytes + b.bytes;
  m.encode_ns = a.encode_ns + b.encode_ns;
  m.decode_ns = a.decode_ns + b.decode_ns;
  m.chunks.resize(a.chunks.size() + b.chunks.size());  // only the count is printed
  for (int e = 0; e <= kMaxValueEncoding; ++e)
    m.by_encoding[e] = a.by_encoding[e] + b.by_encoding[e];
  return m;
}

int Usage() {
  std::fprintf(stderr,
               "usage: tsdb_codec_bench [--hosts N] [--steps S] [--chunk C] [--jitter-ms J] "
               "[--seed X]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long hosts = 1000, steps = 500, chunk = 120, jitter_ms = 3, seed = 1;
  for (int i = 1; i < argc; i += 2) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    long v = std::atol(argv[i + 1]);
    if (arg == "--hosts") {
      hosts = v;
    } else if (arg == "--steps") {
      steps = v;
    } else if (arg == "--chunk") {
      chunk = v;
    } else if (arg == "--jitter-ms") {
      jitter_ms = v;
    } else if (arg == "--seed") {
      seed = v;
    } else {
      return Usage();
    }
  }
  if (hosts < 1 || steps < 1 || chunk < 1 || chunk > steward::collector::tsdb::kMaxChunkSamples ||
      jitter_ms < 0) {
    return Usage();
  }

  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::normal_distribution<double> cpu_step(0.0, 1.0);
  std::normal_distribution<double> mem_step_kib(0.0, 2048.0);
  std::uniform_int_distribution<int64_t> jitter(-jitter_ms, jitter_ms);
  // cells[policy][kind]: policy 0 auto, 1 gorilla; kind 0 cpu, 1 mem.
  Cell cells[2][2];
  const ValuePolicy policies[2] = {ValuePolicy::kSmallest, ValuePolicy::kGorillaOnly};
  std::vector<int64_t> times(static_cast<size_t>(steps));
  std::vector<double> values(static_cast<size_t>(steps));
  const int64_t start_ms = 1'700'000'000'000;
  for (long h = 0; h < hosts; ++h) {
    for (long s = 0; s < steps; ++s)
      times[static_cast<size_t>(s)] = start_ms + s * 10'000 + jitter(rng);
    for (int f = 0; f < kCpuFields + kMemFields; ++f) {
      bool cpu = f < kCpuFields;
      if (cpu) {
        double v = std::round(std::uniform_real_distribution<double>(0, 100)(rng) * 100);
        for (double& x : values) {
          v = std::clamp(v + std::round(cpu_step(rng) * 100), 0.0, 10'000.0);
          x = v / 100.0;  // the double nearest k/100, as parsing "12.34" gives
        }
      } else {
        double kib = std::round(std::uniform_real_distribution<double>(1 << 20, 32 << 20)(rng));
        for (double& x : values) {
          if (f != kCpuFields) kib = std::max(0.0, kib + std::round(mem_step_kib(rng)));
          x = kib * 1024;
        }
      }
      for (int p = 0; p < 2; ++p) {
        if (!EncodeSeries(times, values, policies[p], static_cast<size_t>(chunk),
                          &cells[p][cpu ? 0 : 1])) {
          std::fprintf(stderr, "encoder refused a sample\n");
          return 1;
        }
      }
    }
  }
  for (auto& row : cells) {
    for (Cell& cell : row) {
      if (DecodeCell(&cell) < 0) {
        std::fprintf(stderr, "a chunk failed to decode\n");
        return 1;
      }
    }
  }

  const char* kinds[2] = {"cpu", "mem"};
  const char* names[2] = {"auto", "gorilla"};
  for (int p = 0; p < 2; ++p) {
    for (int k = 0; k < 2; ++k) PrintResult(names[p], kinds[k], cells[p][k]);
    PrintResult(names[p], "all", Merge(cells[p][0], cells[p][1]));
  }
  std::printf("# %ld hosts x %d fields x %ld steps, chunks of %ld, jitter +-%ld ms, seed %ld\n",
              hosts, kCpuFields + kMemFields, steps, chunk, jitter_ms, seed);
  for (int k = 0; k < 2; ++k) {
    std::printf("# value encodings chosen for %s chunks:", kinds[k]);
    for (int e = 0; e <= kMaxValueEncoding; ++e) {
      if (cells[0][k].by_encoding[e] == 0) continue;
      std::printf(" %s=%zu", ValueEncodingName(static_cast<ValueEncoding>(e)),
                  cells[0][k].by_encoding[e]);
    }
    std::printf("\n");
  }
  return 0;
}
