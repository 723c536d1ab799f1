#pragma once
// Pure parsers for the /proc files the agent samples. Each takes the file's
// text and the path it came from (for warnings), skips malformed lines with
// a warning naming the file and line, never fails and never crashes.
// `report` may be null.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/parse_report.h"

namespace steward::agent {

// CPU time of one "cpu"/"cpuN" line of /proc/stat, in jiffies
// (USER_HZ, see sysconf(_SC_CLK_TCK)). Plain value type.
struct CpuTimes {
  std::string cpu;  // "cpu" for the aggregate line, "cpu0", "cpu1", ...
  uint64_t user = 0;
  uint64_t nice = 0;
  uint64_t system = 0;
  uint64_t idle = 0;
  uint64_t iowait = 0;
  uint64_t irq = 0;
  uint64_t softirq = 0;
  uint64_t steal = 0;

  friend bool operator==(const CpuTimes&, const CpuTimes&) = default;
};

// The parts of /proc/stat the agent uses. Plain value type; a missing or
// malformed line leaves its member empty (nullopt) or absent from per_cpu.
struct ProcStat {
  std::optional<CpuTimes> total;      // The aggregate "cpu" line.
  std::vector<CpuTimes> per_cpu;      // "cpuN" lines in file order (online CPUs).
  std::optional<int64_t> boot_time;   // btime, seconds since the epoch.
  std::optional<uint64_t> processes;  // Forks since boot.
  std::optional<uint64_t> procs_running;
  std::optional<uint64_t> procs_blocked;
};

// Parses /proc/stat. CPU lines need at least the eight columns user..steal.
ProcStat ParseProcStat(absl::string_view text, absl::string_view origin, ParseReport* report);

// /proc/meminfo as key -> value. Values with a "kB" unit are converted to
// bytes (x1024); unit-less values (HugePages_Total, ...) are kept as counts.
using MemInfo = std::map<std::string, uint64_t, std::less<>>;
MemInfo ParseMeminfo(absl::string_view text, absl::string_view origin, ParseReport* report);

// /proc/loadavg: "0.20 0.18 0.12 1/80 11206". Plain value type.
struct LoadAvg {
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;
  uint64_t running = 0;  // Runnable scheduling entities (threads).
  uint64_t total = 0;    // All scheduling entities (threads).

  friend bool operator==(const LoadAvg&, const LoadAvg&) = default;
};
// nullopt (with a warning) when the first line is malformed.
std::optional<LoadAvg> ParseLoadavg(absl::string_view text, absl::string_view origin,
                                    ParseReport* report);

// /proc/uptime: seconds since boot, and idle seconds summed over CPUs.
struct Uptime {
  double uptime_seconds = 0;
  double idle_seconds = 0;

  friend bool operator==(const Uptime&, const Uptime&) = default;
};
std::optional<Uptime> ParseUptime(absl::string_view text, absl::string_view origin,
                                  ParseReport* report);

// Counters of one interface from /proc/net/dev. Plain value type.
struct NetDevCounters {
  std::string interface;
  uint64_t rx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_errs = 0;
  uint64_t rx_drop = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_errs = 0;
  uint64_t tx_drop = 0;

  friend bool operator==(const NetDevCounters&, const NetDevCounters&) = default;
};
// Parses /proc/net/dev; the two header lines (they contain '|') are skipped.
std::vector<NetDevCounters> ParseNetDev(absl::string_view text, absl::string_view origin,
                                        ParseReport* report);

// Counters of one block device from /proc/diskstats. Plain value type.
struct DiskStats {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string device;
  uint64_t reads_completed = 0;
  uint64_t sectors_read = 0;  // 512-byte sectors, whatever the device's sector size.
  uint64_t writes_completed = 0;
  uint64_t sectors_written = 0;
  uint64_t io_time_ms = 0;  // Time the device had I/O in flight.

  friend bool operator==(const DiskStats&, const DiskStats&) = default;
};
// Parses /proc/diskstats; lines need at least the 14 columns of Linux 2.6.
std::vector<DiskStats> ParseDiskstats(absl::string_view text, absl::string_view origin,
                                      ParseReport* report);

// One line of /proc/mounts (or /proc/self/mounts). Plain value type.
struct MountEntry {
  std::string device;       // Octal escapes (\040 ...) decoded.
  std::string mount_point;  // Octal escapes (\040 ...) decoded.
  std::string fstype;
  std::string options;

  friend bool operator==(const MountEntry&, const MountEntry&) = default;
};
std::vector<MountEntry> ParseMounts(absl::string_view text, absl::string_view origin,
                                    ParseReport* report);

// Decodes the kernel's mount-table escapes: a backslash followed by three
// octal digits (\040 space, \011 tab, \012 newline, \134 backslash). Other
// backslashes are kept as they are.
std::string DecodeMountEscapes(absl::string_view s);

}  // namespace steward::agent
