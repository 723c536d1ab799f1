#include "agent/metrics/host_metrics.h"

#include <cstring>

#include <dirent.h>

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/metrics/procfs.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Filesystems that hold data on a device; everything else (proc, sysfs,
// cgroup, tmpfs, devtmpfs, nfs, fuse, ...) is not reported.
bool IsOnDiskFilesystem(absl::string_view fstype) {
  static constexpr absl::string_view kOnDisk[] = {"ext2", "ext3", "ext4", "xfs",    "btrfs",
                                                  "vfat", "zfs",  "f2fs", "overlay"};
  return std::find(std::begin(kOnDisk), std::end(kOnDisk), fstype) != std::end(kOnDisk);
}

// Accumulates samples; keeps each sample's labels sorted by key.
class SampleSink {
 public:
  void Gauge(std::string name, double value, Labels labels = {}) {
    Add(std::move(name), value, false, std::move(labels));
  }
  void Counter(std::string name, double value, Labels labels = {}) {
    Add(std::move(name), value, true, std::move(labels));
  }
  std::vector<MetricSample> Take() { return std::move(samples_); }

 private:
  void Add(std::string name, double value, bool counter, Labels labels) {
    std::sort(labels.begin(), labels.end());
    samples_.push_back(MetricSample{std::move(name), std::move(labels), value, counter});
  }
  std::vector<MetricSample> samples_;
};

}  // namespace

HostMetricsSampler::HostMetricsSampler(std::string proc_root) : proc_root_(std::move(proc_root)) {
  long ticks = ::sysconf(_SC_CLK_TCK);
  // USER_HZ is 100 on every Linux architecture; sysconf never fails for it in
  // practice, but a zero divisor must not be possible.
  ticks_per_second_ = ticks > 0 ? static_cast<double>(ticks) : 100.0;
}

absl::StatusOr<std::vector<MetricSample>> HostMetricsSampler::Collect(ParseReport* report) {
  SampleSink sink;
  int files_read = 0;
  auto read = [&](absl::string_view name) -> std::optional<std::pair<std::string, std::string>> {
    std::string path = absl::StrCat(proc_root_, "/", name);
    absl::StatusOr<std::string> text = steward::ReadFile(path);
    if (!text.ok()) {
      AddWarning(report, std::string(text.status().message()));
      return std::nullopt;
    }
    ++files_read;
    return std::make_pair(std::move(path), *std::move(text));
  };

  if (auto f = read("stat")) {
    ProcStat st = ParseProcStat(f->second, f->first, report);
    if (st.total.has_value()) {
      const CpuTimes& t = *st.total;
      const std::pair<const char*, uint64_t> modes[] = {
          {"user", t.user},     {"nice", t.nice}, {"system", t.system},   {"idle", t.idle},
          {"iowait", t.iowait}, {"irq", t.irq},   {"softirq", t.softirq}, {"steal", t.steal}};
      for (const auto& [mode, jiffies] : modes) {
        sink.Counter("host_cpu_seconds_total", static_cast<double>(jiffies) / ticks_per_second_,
                     {{"mode", mode}});
      }
    }
    if (!st.per_cpu.empty()) {
      sink.Gauge("host_cpu_count", static_cast<double>(st.per_cpu.size()));
    }
    if (st.procs_running.has_value()) {
      sink.Gauge("host_processes_running", static_cast<double>(*st.procs_running));
    }
    if (st.procs_blocked.has_value()) {
      sink.Gauge("host_processes_blocked", static_cast<double>(*st.procs_blocked));
    }
    if (st.processes.has_value()) {
      sink.Counter("host_forks_total", static_cast<double>(*st.processes));
    }
    if (st.boot_time.has_value()) {
      sink.Gauge("host_boot_time_seconds", static_cast<double>(*st.boot_time));
    }
  }

  if (auto f = read("loadavg")) {
    if (std::optional<LoadAvg> l = ParseLoadavg(f->second, f->first, report)) {
      sink.Gauge("host_load1", l->load1);
      sink.Gauge("host_load5", l->load5);
      sink.Gauge("host_load15", l->load15);
      sink.Gauge("host_threads", static_cast<double>(l->total));
    }
  }

  // Processes: one numeric directory per process.
  if (DIR* d = ::opendir(proc_root_.c_str())) {
    uint64_t n = 0;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
          std::all_of(e->d_name, e->d_name + std::strlen(e->d_name), [](char c) { return c >= '0' && c <= '9'; })) {
        ++n;
      }
    }
    ::closedir(d);
    sink.Gauge("host_processes", static_cast<double>(n));
  }

  // Open file handles: "allocated  unused  max" (the kernel's whole-system view).
  if (auto f = read("sys/fs/file-nr")) {
    std::vector<absl::string_view> parts = absl::StrSplit(f->second, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    uint64_t allocated = 0, unused = 0, max = 0;
    if (parts.size() == 3 && absl::SimpleAtoi(parts[0], &allocated) && absl::SimpleAtoi(parts[1], &unused) &&
        absl::SimpleAtoi(parts[2], &max)) {
      sink.Gauge("host_open_fds", static_cast<double>(allocated >= unused ? allocated - unused : 0));
      sink.Gauge("host_max_fds", static_cast<double>(max));
    } else {
      AddLineWarning(report, f->first, 1, absl::StrCat("expected 3 numbers, found ", QuoteInput(f->second)));
    }
  }

  if (auto f = read("meminfo")) {
    MemInfo m = ParseMeminfo(f->second, f->first, report);
    auto get = [&m](absl::string_view key) -> std::optional<uint64_t> {
      auto it = m.find(key);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
    auto emit = [&](const char* metric, std::optional<uint64_t> v) {
      if (v.has_value()) sink.Gauge(metric, static_cast<double>(*v));
    };
    std::optional<uint64_t> total = get("MemTotal");
    std::optional<uint64_t> available = get("MemAvailable");
    emit("host_memory_total_bytes", total);
    emit("host_memory_available_bytes", available);
    emit("host_memory_free_bytes", get("MemFree"));
    if (total.has_value() && available.has_value()) {
      // Available can exceed total in a racy read; never report negative use.
      emit("host_memory_used_bytes", *total > *available ? *total - *available : 0);
    }
    emit("host_swap_total_bytes", get("SwapTotal"));
    emit("host_swap_free_bytes", get("SwapFree"));
  }

  if (auto f = read("mounts")) {
    std::set<std::string> seen_devices;
    for (const MountEntry& m : ParseMounts(f->second, f->first, report)) {
      if (!IsOnDiskFilesystem(m.fstype) || seen_devices.count(m.device) > 0) continue;
      struct statvfs vfs;
      if (::statvfs(m.mount_point.c_str(), &vfs) != 0) {
        AddWarning(report, absl::StrCat("statvfs ", m.mount_point, ": ", strerror(errno)));
        continue;
      }
      seen_devices.insert(m.device);
      const double frsize = static_cast<double>(vfs.f_frsize);
      Labels labels = {{"device", m.device}, {"fstype", m.fstype}, {"mount", m.mount_point}};
      sink.Gauge("host_filesystem_size_bytes", static_cast<double>(vfs.f_blocks) * frsize, labels);
      sink.Gauge("host_filesystem_free_bytes", static_cast<double>(vfs.f_bfree) * frsize, labels);
      sink.Gauge("host_filesystem_avail_bytes", static_cast<double>(vfs.f_bavail) * frsize, labels);
    }
  }

  if (auto f = read("diskstats")) {
    for (const DiskStats& d : ParseDiskstats(f->second, f->first, report)) {
      if (absl::StartsWith(d.device, "loop") || absl::StartsWith(d.device, "ram")) continue;
      // /proc/diskstats counts 512-byte sectors regardless of the device.
      sink.Counter("host_disk_read_bytes_total", static_cast<double>(d.sectors_read) * 512,
                   {{"device", d.device}});
      sink.Counter("host_disk_written_bytes_total", static_cast<double>(d.sectors_written) * 512,
                   {{"device", d.device}});
      sink.Counter("host_disk_io_seconds_total", static_cast<double>(d.io_time_ms) / 1000,
                   {{"device", d.device}});
    }
  }

  if (auto f = read("net/dev")) {
    for (const NetDevCounters& n : ParseNetDev(f->second, f->first, report)) {
      const std::pair<const char*, uint64_t> counters[] = {
          {"host_network_receive_bytes_total", n.rx_bytes},
          {"host_network_transmit_bytes_total", n.tx_bytes},
          {"host_network_receive_packets_total", n.rx_packets},
          {"host_network_transmit_packets_total", n.tx_packets},
          {"host_network_receive_errors_total", n.rx_errs},
          {"host_network_transmit_errors_total", n.tx_errs},
          {"host_network_receive_drop_total", n.rx_drop},
          {"host_network_transmit_drop_total", n.tx_drop}};
      for (const auto& [metric, value] : counters) {
        sink.Counter(metric, static_cast<double>(value), {{"interface", n.interface}});
      }
    }
  }

  if (auto f = read("uptime")) {
    if (std::optional<Uptime> u = ParseUptime(f->second, f->first, report)) {
      sink.Gauge("host_uptime_seconds", u->uptime_seconds);
    }
  }

  if (files_read == 0) {
    return absl::UnavailableError(absl::StrCat("no host metrics: none of the procfs files under ",
                                               proc_root_, " could be read"));
  }
  return sink.Take();
}

}  // namespace steward::agent
