#pragma once
// Static facts about the host (name, OS, kernel, CPU, memory, boot time)
// that the agent reports when it registers.

#include <cstdint>
#include <string>

#include "agent/facts/os_release.h"
#include "agent/facts/hardware_facts.h"
#include "agent/parse_report.h"

namespace steward::agent {

// What the agent tells the collector about the machine. Plain value type;
// a fact that could not be determined is left empty / zero.
struct HostFacts {
  std::string hostname;             // uname(2) nodename.
  std::string os_id;                // os-release ID.
  std::string os_name;              // os-release PRETTY_NAME, else NAME.
  std::string os_version;           // os-release VERSION_ID.
  std::string kernel;               // uname(2) release.
  std::string arch;                 // uname(2) machine.
  std::string cpu_model;            // First "model name" (or equivalent) in cpuinfo.
  int cpu_count = 0;                // Online CPUs: "cpuN" lines in /proc/stat.
  uint64_t memory_total_bytes = 0;  // MemTotal from /proc/meminfo.
  int64_t boot_time_unix = 0;       // btime from /proc/stat.
  HardwareFacts hardware;           // DMI, disks, network interfaces.

  friend bool operator==(const HostFacts&, const HostFacts&) = default;
};

// Where CollectHostFacts reads from; tests point these at temporary files.
// Plain value type.
struct FactsPaths {
  std::string os_release = kOsReleasePath;
  // Read when `os_release` does not exist (os-release(5)); empty disables.
  std::string os_release_fallback = kOsReleaseFallbackPath;
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  bool read_interfaces = true;  // getifaddrs (the real host only)
};

// Gathers host facts, best effort: never fails; whatever cannot be read or
// parsed is left empty and explained in `report` (which may be null).
// hostname, kernel and arch come from uname(2), not from `proc_root`.
HostFacts CollectHostFacts(const FactsPaths& paths, ParseReport* report);

}  // namespace steward::agent
