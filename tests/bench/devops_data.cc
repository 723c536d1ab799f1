#include "tests/bench/devops_data.h"

#include <algorithm>
#include <cmath>

namespace steward::bench {
namespace {

// TSBS's tag vocabularies (devops use case).
constexpr const char* kRegions[] = {"us-east-1", "us-west-1", "us-west-2", "eu-west-1",
                                    "eu-central-1", "ap-southeast-1", "ap-southeast-2",
                                    "ap-northeast-1", "sa-east-1"};
constexpr const char* kOs[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
constexpr const char* kArch[] = {"x64", "x86"};
constexpr const char* kTeams[] = {"SF", "NYC", "LON", "CHI"};
constexpr const char* kEnvs[] = {"production", "staging", "test"};
constexpr int64_t kGiB = int64_t{1} << 30;

template <size_t N>
const char* Pick(const char* const (&options)[N], std::mt19937_64& rng) {
  return options[rng() % N];
}

double Round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

DevopsHost::DevopsHost(int index, const DevopsOptions& options)
    : rng_(options.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index)),
      next_ms_(options.start_ms),
      interval_ms_(options.interval_ms) {
  const std::string region = Pick(kRegions, rng_);
  tags_ = {
      {"arch", Pick(kArch, rng_)},
      {"datacenter", region + static_cast<char>('a' + rng_() % 3)},
      {"hostname", "host_" + std::to_string(index)},
      {"os", Pick(kOs, rng_)},
      {"rack", std::to_string(rng_() % 100)},
      {"region", region},
      {"service", std::to_string(rng_() % 20)},
      {"service_environment", Pick(kEnvs, rng_)},
      {"service_version", std::to_string(rng_() % 2)},
      {"team", Pick(kTeams, rng_)},
  };
  std::uniform_real_distribution<double> pct(0.0, 100.0);
  for (double& v : cpu_) v = Round2(pct(rng_));
  const int64_t total = kGiB * (int64_t{8} << (rng_() % 4));  // 8, 16, 32 or 64 GiB
  for (size_t i = 0; i < mem_.size(); ++i) {
    mem_[i] = i == 0 ? static_cast<double>(total)
                     : static_cast<double>((static_cast<int64_t>(rng_() % total) / 4096) * 4096);
  }
}

void DevopsHost::Next(int64_t* time_ms, std::array<double, 10>* cpu, std::array<double, 10>* mem) {
  *time_ms = next_ms_;
  next_ms_ += interval_ms_;
  std::uniform_real_distribution<double> step(-1.0, 1.0);
  for (double& v : cpu_) v = Round2(std::clamp(v + step(rng_), 0.0, 100.0));
  const double total = mem_[0];
  for (size_t i = 1; i < mem_.size(); ++i) {
    // Byte gauges move by whole pages, up to 1 MiB a step.
    const double delta = static_cast<double>(static_cast<int64_t>(rng_() % 513) - 256) * 4096.0;
    mem_[i] = std::clamp(mem_[i] + delta, 0.0, total);
  }
  *cpu = cpu_;
  *mem = mem_;
}

}  // namespace steward::bench
