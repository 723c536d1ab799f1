#include "agent/metrics/host_metrics.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// name{k=v,...} -> sample, for lookups.
std::string Key(const MetricSample& s) {
  std::string k = s.name + "{";
  for (const auto& [name, value] : s.labels) absl::StrAppend(&k, name, "=", value, ",");
  return k + "}";
}

std::map<std::string, MetricSample> ByKey(const std::vector<MetricSample>& samples) {
  std::map<std::string, MetricSample> out;
  for (const MetricSample& s : samples) {
    EXPECT_TRUE(out.emplace(Key(s), s).second) << "duplicate series " << Key(s);
  }
  return out;
}

MetricSample G(std::string name, double value,
               std::vector<std::pair<std::string, std::string>> labels = {}) {
  return MetricSample{std::move(name), std::move(labels), value, false};
}
MetricSample C(std::string name, double value,
               std::vector<std::pair<std::string, std::string>> labels = {}) {
  return MetricSample{std::move(name), std::move(labels), value, true};
}

// Writes a complete fake /proc; `fs_dir` is mounted twice as ext4 (same
// device) and once as tmpfs, so dedupe and type filtering show.
void WriteFakeProc(testing::TempDir& dir, const std::string& fs_dir) {
  dir.Write("proc/stat",
            "cpu  100 200 300 400 500 600 700 800 0 0\n"
            "cpu0 50 100 150 200 250 300 350 400 0 0\n"
            "cpu1 50 100 150 200 250 300 350 400 0 0\n"
            "cpu2 0 0 0 0 0 0 0 0 0 0\n"
            "btime 1700000000\nprocesses 1234\nprocs_running 3\nprocs_blocked 0\n");
  dir.Write("proc/meminfo",
            "MemTotal:        1000 kB\nMemFree:          200 kB\nMemAvailable:     600 kB\n"
            "SwapTotal:        300 kB\nSwapFree:         100 kB\nHugePages_Total:       0\n");
  dir.Write("proc/loadavg", "0.50 0.25 0.125 4/321 999\n");
  dir.Write("proc/uptime", "12345.5 999.25\n");
  dir.Write("proc/sys/fs/file-nr", "1024\t24\t9223372036854775807\n");
  dir.Write("proc/1/stat", "1 (init) S 0\n");
  dir.Write("proc/4242/stat", "4242 (sshd) S 1\n");
  dir.Write("proc/net/dev",
            "Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
            "errs drop fifo colls carrier compressed\n"
            "  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n");
  dir.Write("proc/diskstats",
            " 254 0 vda 1 0 100 0 2 0 200 0 0 1500 0 0 0 0 0 0 0\n"
            "   7 0 loop0 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
            "   1 0 ram0 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  dir.Write("proc/mounts",
            absl::StrCat("proc /proc proc rw 0 0\n", "/dev/fake ", fs_dir, " ext4 rw 0 0\n",
                         "/dev/fake ", fs_dir, "/. ext4 rw 0 0\n", "tmpfs ", fs_dir,
                         " tmpfs rw 0 0\n", "/dev/gone /nonexistent/steward/mount xfs rw 0 0\n"));
}

TEST(HostMetricsSampler, CollectsExactValuesFromFakeProc) {
  testing::TempDir dir;
  WriteFakeProc(dir, dir.path());
  HostMetricsSampler sampler(dir.path() + "/proc");
  ParseReport report;
  absl::StatusOr<std::vector<MetricSample>> got = sampler.Collect(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  const double tck = static_cast<double>(::sysconf(_SC_CLK_TCK));

  struct statvfs vfs;
  ASSERT_EQ(::statvfs(dir.path().c_str(), &vfs), 0);
  const std::vector<std::pair<std::string, std::string>> fs = {
      {"device", "/dev/fake"}, {"fstype", "ext4"}, {"mount", dir.path()}};

  std::map<std::string, MetricSample> by_key = ByKey(*got);
  // Free space may move while the test runs; check it separately.
  for (const char* name : {"host_filesystem_free_bytes", "host_filesystem_avail_bytes"}) {
    auto it = by_key.find(Key(G(name, 0, fs)));
    ASSERT_NE(it, by_key.end()) << name;
    EXPECT_GT(it->second.value, 0) << name;
    EXPECT_LE(it->second.value, static_cast<double>(vfs.f_blocks) * vfs.f_frsize) << name;
    by_key.erase(it);
  }
  std::vector<MetricSample> rest;
  for (auto& [k, s] : by_key) rest.push_back(s);

  std::vector<MetricSample> want = {
      C("host_cpu_seconds_total", 100 / tck, {{"mode", "user"}}),
      C("host_cpu_seconds_total", 200 / tck, {{"mode", "nice"}}),
      C("host_cpu_seconds_total", 300 / tck, {{"mode", "system"}}),
      C("host_cpu_seconds_total", 400 / tck, {{"mode", "idle"}}),
      C("host_cpu_seconds_total", 500 / tck, {{"mode", "iowait"}}),
      C("host_cpu_seconds_total", 600 / tck, {{"mode", "irq"}}),
      C("host_cpu_seconds_total", 700 / tck, {{"mode", "softirq"}}),
      C("host_cpu_seconds_total", 800 / tck, {{"mode", "steal"}}),
      G("host_cpu_count", 3),
      G("host_processes_running", 3),
      G("host_boot_time_seconds", 1700000000),
      G("host_load1", 0.5),
      G("host_load5", 0.25),
      G("host_load15", 0.125),
      G("host_threads", 321),
      G("host_processes_blocked", 0),
      C("host_forks_total", 1234),
      G("host_processes", 2),
      G("host_open_fds", 1024 - 24),
      G("host_max_fds", 9223372036854775807.0),
      G("host_memory_total_bytes", 1000 * 1024),
      G("host_memory_available_bytes", 600 * 1024),
      G("host_memory_free_bytes", 200 * 1024),
      G("host_memory_used_bytes", 400 * 1024),
      G("host_swap_total_bytes", 300 * 1024),
      G("host_swap_free_bytes", 100 * 1024),
      G("host_filesystem_size_bytes", static_cast<double>(vfs.f_blocks) * vfs.f_frsize, fs),
      C("host_disk_read_bytes_total", 100 * 512, {{"device", "vda"}}),
      C("host_disk_written_bytes_total", 200 * 512, {{"device", "vda"}}),
      C("host_disk_io_seconds_total", 1.5, {{"device", "vda"}}),
      C("host_network_receive_bytes_total", 1000, {{"interface", "eth0"}}),
      C("host_network_transmit_bytes_total", 2000, {{"interface", "eth0"}}),
      C("host_network_receive_packets_total", 10, {{"interface", "eth0"}}),
      C("host_network_transmit_packets_total", 20, {{"interface", "eth0"}}),
      C("host_network_receive_errors_total", 1, {{"interface", "eth0"}}),
      C("host_network_transmit_errors_total", 3, {{"interface", "eth0"}}),
      C("host_network_receive_drop_total", 2, {{"interface", "eth0"}}),
      C("host_network_transmit_drop_total", 4, {{"interface", "eth0"}}),
      G("host_uptime_seconds", 12345.5),
  };
  EXPECT_THAT(rest, ::testing::UnorderedElementsAreArray(want));
  EXPECT_THAT(report.warnings,
              ElementsAre("statvfs /nonexistent/steward/mount: No such file or directory"));
}

TEST(HostMetricsSampler, LabelsAreSortedByKey) {
  testing::TempDir dir;
  WriteFakeProc(dir, dir.path());
  absl::StatusOr<std::vector<MetricSample>> got =
      HostMetricsSampler(dir.path() + "/proc").Collect(nullptr);
  ASSERT_TRUE(got.ok());
  for (const MetricSample& s : *got) {
    EXPECT_TRUE(std::is_sorted(s.labels.begin(), s.labels.end())) << Key(s);
    // Counters, and only counters, end in _total.
    const bool total_suffix = s.name.size() > 6 && s.name.substr(s.name.size() - 6) == "_total";
    EXPECT_EQ(s.counter, total_suffix) << s.name;
  }
}

TEST(HostMetricsSampler, PartialProcStillReportsWhatItCan) {
  testing::TempDir dir;
  dir.Write("proc/loadavg", "1.00 2.00 3.00 1/10 5\n");
  dir.Write("proc/meminfo", "MemTotal: 10 kB\nMemFree: lots\n");
  dir.Write("proc/uptime", "garbage\n");
  ParseReport report;
  absl::StatusOr<std::vector<MetricSample>> got =
      HostMetricsSampler(dir.path() + "/proc").Collect(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAre(G("host_load1", 1), G("host_load5", 2), G("host_load15", 3),
                                G("host_threads", 10), G("host_processes", 0),
                                G("host_memory_total_bytes", 10240)));
  const std::string p = dir.path() + "/proc";
  EXPECT_THAT(report.warnings,
              ElementsAre("cannot open " + p + "/stat: No such file or directory",
                          "cannot open " + p + "/sys/fs/file-nr: No such file or directory",
                          p + "/meminfo line 2: 'MemFree' value is not a number with an optional "
                              "unit ('MemFree: lots'); skipped",
                          "cannot open " + p + "/mounts: No such file or directory",
                          "cannot open " + p + "/diskstats: No such file or directory",
                          "cannot open " + p + "/net/dev: No such file or directory",
                          p + "/uptime line 1: want 'UPTIME IDLE', got 'garbage'"));
}

TEST(HostMetricsSampler, FailsOnlyWhenNothingIsReadable) {
  testing::TempDir dir;
  ParseReport report;
  absl::StatusOr<std::vector<MetricSample>> got =
      HostMetricsSampler(dir.path() + "/missing").Collect(&report);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_EQ(report.warnings.size(), 8u);
}

TEST(HostMetricsSampler, RealProc) {
  ParseReport report;
  absl::StatusOr<std::vector<MetricSample>> got = HostMetricsSampler().Collect(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(report.warnings, IsEmpty());
  std::map<std::string, MetricSample> by_key = ByKey(*got);
  for (const char* mode : {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}) {
    EXPECT_EQ(by_key.count(Key(C("host_cpu_seconds_total", 0, {{"mode", mode}}))), 1u) << mode;
  }
  ASSERT_EQ(by_key.count("host_cpu_count{}"), 1u);
  EXPECT_EQ(by_key["host_cpu_count{}"].value, ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_GT(by_key["host_memory_total_bytes{}"].value, 0);
  EXPECT_GT(by_key["host_uptime_seconds{}"].value, 0);
  EXPECT_EQ(by_key.count("host_network_receive_bytes_total{interface=lo,}"), 1u);
  // The root filesystem is on disk everywhere this test runs except in
  // containers with an overlay root, which is also reported.
  bool root_reported = false;
  for (const MetricSample& s : *got) {
    if (s.name != "host_filesystem_size_bytes") continue;
    for (const auto& [k, v] : s.labels) root_reported |= (k == "mount" && v == "/");
  }
  EXPECT_TRUE(root_reported);
}

}  // namespace
}  // namespace steward::agent
