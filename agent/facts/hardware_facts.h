#pragma once
// Hardware facts: DMI vendor/model/serial, block devices and network
// interfaces with their addresses. Best effort: what cannot be read (the
// DMI serial is root-only; VMs and containers lack some of it) stays empty.

#include <cstdint>
#include <string>
#include <vector>

#include "agent/parse_report.h"

namespace steward::agent {

// One network interface (getifaddrs + /sys/class/net).
struct NetworkInterface {
  std::string name;
  std::string mac;                     // "52:54:00:12:34:56"; empty for lo and tunnels
  std::vector<std::string> addresses;  // "10.0.0.5/24", "fe80::1/64"
  bool up = false;
  friend bool operator==(const NetworkInterface&, const NetworkInterface&) = default;
};

// One whole disk from /sys/block (loop, ram and zram devices left out).
struct BlockDevice {
  std::string name;   // "vda", "nvme0n1"
  std::string model;  // device/model, trimmed; empty for virtio
  uint64_t size_bytes = 0;
  bool rotational = false;
  friend bool operator==(const BlockDevice&, const BlockDevice&) = default;
};

struct HardwareFacts {
  std::string dmi_vendor;  // /sys/class/dmi/id/sys_vendor
  std::string dmi_model;   // product_name
  std::string dmi_serial;  // product_serial (readable by root only)
  std::vector<BlockDevice> disks;
  std::vector<NetworkInterface> interfaces;
  friend bool operator==(const HardwareFacts&, const HardwareFacts&) = default;
};

// Reads DMI and disks under `sys_root` (tests pass a fake tree); interfaces
// come from getifaddrs (the real host) with MACs from `sys_root`/class/net.
HardwareFacts CollectHardwareFacts(const std::string& sys_root, bool read_interfaces, ParseReport* report);

}  // namespace steward::agent
