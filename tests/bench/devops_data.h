#pragma once
// TSBS-like "devops" data for the TSDB benchmark (tests/bench/run tsdb): per
// host 10 `cpu` fields (percentages with 2 decimals, a random walk in
// [0, 100]) and 10 `mem` fields (byte gauges), one sample of each every
// interval, with TSBS's host tags (hostname, region, datacenter, rack, os,
// arch, team, service, service_version, service_environment).
//
// Deterministic: host i's tags and values depend only on (seed, i), so any
// subset of hosts can be generated on its own and every system under test
// gets exactly the same samples.

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace steward::bench {

inline constexpr std::array<const char*, 10> kCpuFields = {
    "usage_user",   "usage_system", "usage_idle",  "usage_nice",  "usage_iowait",
    "usage_irq",    "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"};
inline constexpr std::array<const char*, 10> kMemFields = {
    "total",      "available", "used",     "free",   "cached",
    "buffered",   "slab",      "shared",   "mapped", "swap_used"};

struct DevopsOptions {
  int hosts = 1000;
  int steps = 500;
  int64_t start_ms = 0;
  int64_t interval_ms = 10000;
  uint64_t seed = 1;
};

// One host's series: its tags and the walk of its 20 fields.
// Not thread-safe; one generator per host (cheap).
class DevopsHost {
 public:
  DevopsHost(int index, const DevopsOptions& options);

  // Tags, sorted by name.
  const std::vector<std::pair<std::string, std::string>>& tags() const { return tags_; }
  // Tags sort as arch, datacenter, hostname, ...
  const std::string& hostname() const { return tags_[2].second; }

  // Advances one step: the time and the 10 cpu and 10 mem values.
  void Next(int64_t* time_ms, std::array<double, 10>* cpu, std::array<double, 10>* mem);

 private:
  std::vector<std::pair<std::string, std::string>> tags_;
  std::mt19937_64 rng_;
  int64_t next_ms_;
  int64_t interval_ms_;
  std::array<double, 10> cpu_{};
  std::array<double, 10> mem_{};
};

}  // namespace steward::bench
