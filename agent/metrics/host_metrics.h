#pragma once
// Host-level metrics (CPU, memory, load, filesystems, disks, network) read
// from procfs and statvfs, as flat samples ready for export.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/parse_report.h"

namespace steward::agent {

// One value of one metric series. Plain value type.
// Invariant: `labels` is sorted by key, with unique keys. `counter` is true
// for monotonically increasing totals (names ending in "_total").
struct MetricSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // Sorted by key.
  double value = 0;
  bool counter = false;

  friend bool operator==(const MetricSample&, const MetricSample&) = default;
};

// Samples the host: reads stat, meminfo, loadavg, uptime, net/dev, diskstats
// and mounts under `proc_root`, and calls statvfs(3) on mounted on-disk
// filesystems (ext2/3/4, xfs, btrfs, vfat, zfs, f2fs, overlay; one sample
// set per device, the first mount listed wins). Network filesystems are
// never statvfs'd, so a dead NFS server cannot block a collection.
//
// Emitted metrics (labels in braces): host_cpu_seconds_total{mode},
// host_cpu_count, host_load1/5/15, host_memory_{total,available,free,used}_bytes,
// host_swap_{total,free}_bytes, host_filesystem_{size,free,avail}_bytes
// {device,fstype,mount}, host_disk_{read,written}_bytes_total{device},
// host_disk_io_seconds_total{device} (loop* and ram* devices skipped),
// host_network_{receive,transmit}_{bytes,packets,errors,drop}_total{interface},
// host_processes_running, host_threads_total, host_boot_time_seconds,
// host_uptime_seconds. A metric whose source is missing or malformed is
// left out and the reason goes to the ParseReport.
//
// Thread safety: the sampler keeps no state between calls beyond its
// constant configuration, but it is not designed for concurrent use; give
// each thread its own sampler or serialize calls.
class HostMetricsSampler {
 public:
  explicit HostMetricsSampler(std::string proc_root = "/proc");

  // Samples everything it can. Fails (Unavailable) only when none of the
  // procfs files could be read; partial failures are warnings in `report`
  // (which may be null).
  absl::StatusOr<std::vector<MetricSample>> Collect(ParseReport* report);

 private:
  std::string proc_root_;
  double ticks_per_second_;  // sysconf(_SC_CLK_TCK): the unit of /proc/stat.
};

}  // namespace steward::agent
