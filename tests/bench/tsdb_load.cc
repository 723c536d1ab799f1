// Generates the TSDB benchmark's devops data (tests/bench/devops_data.h) for
// the systems under test. For now one output: Influx line protocol files,
// one directory per client, a file per request, for VictoriaMetrics' /write
// (tests/bench/tsdb.sh posts them):
//
//   tsdb_load --influx-dir DIR [--hosts 1000] [--steps 500] [--start-ms T]
//             [--interval-ms 10000] [--seed 1] [--clients 2] [--lines-per-request 2000]
//
// Host i goes to client i % clients; each client's lines are in time order
// (every host of the client at step 0, then step 1, ...), as agents send.
// Prints "RESULT generated samples=N lines=N requests=N bytes=N".

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/bench/devops_data.h"

namespace {

using steward::bench::DevopsHost;
using steward::bench::DevopsOptions;

struct Args {
  DevopsOptions data;
  std::string influx_dir;
  int clients = 2;
  int lines_per_request = 2000;
};

bool ParseArgs(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", k.c_str());
      return false;
    }
    std::string v = argv[++i];
    char* end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    bool numeric = end != nullptr && *end == '\0' && !v.empty();
    if (k == "--influx-dir") {
      a->influx_dir = v;
      continue;
    }
    if (!numeric) {
      std::fprintf(stderr, "error: %s '%s' is not a number\n", k.c_str(), v.c_str());
      return false;
    }
    if (k == "--hosts") a->data.hosts = static_cast<int>(n);
    else if (k == "--steps") a->data.steps = static_cast<int>(n);
    else if (k == "--start-ms") a->data.start_ms = n;
    else if (k == "--interval-ms") a->data.interval_ms = n;
    else if (k == "--seed") a->data.seed = static_cast<uint64_t>(n);
    else if (k == "--clients") a->clients = static_cast<int>(n);
    else if (k == "--lines-per-request") a->lines_per_request = static_cast<int>(n);
    else {
      std::fprintf(stderr, "error: unknown argument %s\n", k.c_str());
      return false;
    }
  }
  if (a->influx_dir.empty() || a->data.hosts < 1 || a->data.steps < 1 || a->clients < 1 ||
      a->lines_per_request < 1 || a->data.interval_ms < 1) {
    std::fprintf(stderr,
                 "usage: tsdb_load --influx-dir DIR [--hosts N>0] [--steps N>0] [--start-ms T] "
                 "[--interval-ms N>0] [--seed N] [--clients N>0] [--lines-per-request N>0]\n");
    return false;
  }
  return true;
}

// "cpu,arch=x64,...,team=SF " once per host and measurement.
std::string SeriesPrefix(const char* measurement, const DevopsHost& host) {
  std::string s = measurement;
  for (const auto& [k, v] : host.tags()) s += "," + k + "=" + v;
  s += ' ';
  return s;
}

template <size_t N>
void AppendFields(std::string* line, const std::array<const char*, N>& names,
                  const std::array<double, N>& values, const char* format) {
  char buf[64];
  for (size_t i = 0; i < N; ++i) {
    std::snprintf(buf, sizeof buf, format, values[i]);
    if (i > 0) line->push_back(',');
    *line += names[i];
    line->push_back('=');
    *line += buf;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return 2;
  std::error_code ec;
  uint64_t samples = 0, lines = 0, requests = 0, bytes = 0;
  for (int c = 0; c < a.clients; ++c) {
    const std::string dir = a.influx_dir + "/client-" + std::to_string(c);
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::fprintf(stderr, "error: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
      return 1;
    }
    std::vector<std::unique_ptr<DevopsHost>> hosts;
    std::vector<std::string> cpu_prefix, mem_prefix;
    for (int h = c; h < a.data.hosts; h += a.clients) {
      hosts.push_back(std::make_unique<DevopsHost>(h, a.data));
      cpu_prefix.push_back(SeriesPrefix("cpu", *hosts.back()));
      mem_prefix.push_back(SeriesPrefix("mem", *hosts.back()));
    }
    std::string body;
    int in_body = 0;
    auto flush = [&]() -> bool {
      if (in_body == 0) return true;
      char name[64];
      std::snprintf(name, sizeof name, "/req-%06llu.lp", static_cast<unsigned long long>(requests));
      FILE* f = std::fopen((dir + name).c_str(), "wb");
      if (f == nullptr || std::fwrite(body.data(), 1, body.size(), f) != body.size() || std::fclose(f) != 0) {
        std::fprintf(stderr, "error: cannot write %s%s: %s\n", dir.c_str(), name, std::strerror(errno));
        return false;
      }
      ++requests;
      bytes += body.size();
      body.clear();
      in_body = 0;
      return true;
    };
    std::array<double, 10> cpu{}, mem{};
    int64_t t = 0;
    for (int s = 0; s < a.data.steps; ++s) {
      for (size_t i = 0; i < hosts.size(); ++i) {
        hosts[i]->Next(&t, &cpu, &mem);
        const std::string ts = " " + std::to_string(t) + "000000\n";  // nanoseconds
        body += cpu_prefix[i];
        AppendFields(&body, steward::bench::kCpuFields, cpu, "%.2f");
        body += ts;
        body += mem_prefix[i];
        AppendFields(&body, steward::bench::kMemFields, mem, "%.0f");
        body += ts;
        in_body += 2;
        lines += 2;
        samples += 20;
        if (in_body >= a.lines_per_request && !flush()) return 1;
      }
    }
    if (!flush()) return 1;
  }
  std::printf("RESULT generated samples=%llu lines=%llu requests=%llu bytes=%llu\n",
              static_cast<unsigned long long>(samples), static_cast<unsigned long long>(lines),
              static_cast<unsigned long long>(requests), static_cast<unsigned long long>(bytes));
  return 0;
}
