// Wave lists and maintenance windows (collector/deploy/rollout_plan.h) from
// fuzzed bytes: no crash; what parses plans every host into exactly one
// wave, and a window answers Contains/NextOpen consistently.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string>

#include "collector/deploy/rollout_plan.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::collector;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto waves = ParseWaves({text});
  if (waves.ok()) {
    for (uint32_t hosts : {1u, 7u, 100u, 100000u}) {
      std::vector<uint32_t> plan = PlanWaves(hosts, *waves);
      Check(std::accumulate(plan.begin(), plan.end(), uint64_t{0}) == hosts);
      for (uint32_t n : plan) Check(n > 0);
    }
  }
  auto window = MaintenanceWindows::Parse(text);
  if (window.ok()) {
    const absl::Time t = absl::FromUnixSeconds(1'780'000'000 + static_cast<int64_t>(size) * 7919);
    const absl::Time next = window->NextOpen(t);
    Check(next >= t);
    if (next != absl::InfiniteFuture()) Check(window->Contains(next));
    Check(window->Contains(t) == (next == t));
  }
  return 0;
}
