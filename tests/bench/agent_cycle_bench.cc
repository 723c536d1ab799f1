// Micro-benchmark of the agent's two periodic costs: one host metrics
// collection (HostMetricsSampler::Collect) and one full read + parse of the
// dpkg status database (ReadDpkgStatus). Prints median and p90 over N runs as
// RESULT lines for tests/bench/run agent. It times, it never asserts a time.
//
// Usage: agent_cycle_bench [--runs N] [--dpkg-status PATH] [--proc-root DIR]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/inventory/dpkg_status.h"
#include "agent/metrics/host_metrics.h"
#include "agent/parse_report.h"

namespace {

using Clock = std::chrono::steady_clock;

// Nearest-rank percentile of `v` (sorted in place); p in [0, 100].
double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
  if (rank == 0) rank = 1;
  if (rank > v.size()) rank = v.size();
  return v[rank - 1];
}

int Usage() {
  std::fprintf(stderr, "usage: agent_cycle_bench [--runs N] [--dpkg-status PATH] [--proc-root DIR]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 50;
  std::string dpkg_status = steward::agent::kDpkgStatusPath;
  std::string proc_root = "/proc";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    if (arg == "--runs") {
      runs = std::atoi(argv[++i]);
      if (runs < 1) return Usage();
    } else if (arg == "--dpkg-status") {
      dpkg_status = argv[++i];
    } else if (arg == "--proc-root") {
      proc_root = argv[++i];
    } else {
      return Usage();
    }
  }

  // One host metrics collection, as the agent does every interval.
  steward::agent::HostMetricsSampler sampler(proc_root);
  std::vector<double> metrics_us;
  size_t samples = 0;
  for (int i = 0; i < runs + 1; ++i) {  // The first run warms caches and is dropped.
    steward::agent::ParseReport report;
    auto start = Clock::now();
    auto got = sampler.Collect(&report);
    auto took = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (!got.ok()) {
      std::fprintf(stderr, "Collect failed: %s\n", std::string(got.status().message()).c_str());
      return 1;
    }
    samples = got->size();
    if (i > 0) metrics_us.push_back(took);
  }
  std::printf("RESULT bench=agent_metrics_cycle samples=%zu runs=%d median_us=%.1f p90_us=%.1f\n",
              samples, runs, Percentile(metrics_us, 50), Percentile(metrics_us, 90));

  // A full dpkg scan: read the whole status file and parse every stanza.
  std::vector<double> dpkg_ms;
  size_t packages = 0;
  size_t warnings = 0;
  for (int i = 0; i < runs + 1; ++i) {
    steward::agent::ParseReport report;
    auto start = Clock::now();
    auto got = steward::agent::ReadDpkgStatus(dpkg_status, &report);
    auto took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!got.ok()) {
      std::fprintf(stderr, "ReadDpkgStatus(%s) failed: %s\n", dpkg_status.c_str(),
                   std::string(got.status().message()).c_str());
      return 1;
    }
    packages = got->size();
    warnings = report.total_warnings();
    if (i > 0) dpkg_ms.push_back(took);
  }
  std::printf("RESULT bench=dpkg_full_scan packages=%zu warnings=%zu runs=%d median_ms=%.2f p90_ms=%.2f\n",
              packages, warnings, runs, Percentile(dpkg_ms, 50), Percentile(dpkg_ms, 90));
  return 0;
}
