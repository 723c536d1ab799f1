#include "agent/facts/hardware_facts.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

std::string ReadTrimmed(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? std::string(absl::StripAsciiWhitespace(*text)) : "";
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int PrefixLength(const sockaddr* mask) {
  if (mask == nullptr) return -1;
  const unsigned char* p = nullptr;
  size_t n = 0;
  if (mask->sa_family == AF_INET) {
    p = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else if (mask->sa_family == AF_INET6) {
    p = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  } else {
    return -1;
  }
  int bits = 0;
  for (size_t i = 0; i < n; ++i) bits += __builtin_popcount(p[i]);
  return bits;
}

}  // namespace

HardwareFacts CollectHardwareFacts(const std::string& sys_root, bool read_interfaces, ParseReport* report) {
  HardwareFacts hw;
  std::string dmi = sys_root + "/class/dmi/id/";
  hw.dmi_vendor = ReadTrimmed(dmi + "sys_vendor");
  hw.dmi_model = ReadTrimmed(dmi + "product_name");
  hw.dmi_serial = ReadTrimmed(dmi + "product_serial");

  for (const std::string& name : ListDir(sys_root + "/block")) {
    if (absl::StartsWith(name, "loop") || absl::StartsWith(name, "ram") || absl::StartsWith(name, "zram")) continue;
    std::string base = absl::StrCat(sys_root, "/block/", name, "/");
    BlockDevice disk;
    disk.name = name;
    uint64_t sectors = 0;
    std::string size_text = ReadTrimmed(base + "size");
    if (!size_text.empty() && !absl::SimpleAtoi(size_text, &sectors)) {
      AddLineWarning(report, base + "size", 1, absl::StrCat("not a sector count: ", QuoteInput(size_text)));
    }
    disk.size_bytes = sectors * 512;  // /sys/block sizes are in 512-byte units whatever the device's
    disk.model = ReadTrimmed(base + "device/model");
    disk.rotational = ReadTrimmed(base + "queue/rotational") == "1";
    hw.disks.push_back(std::move(disk));
  }

  if (read_interfaces) {
    struct ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
      std::map<std::string, NetworkInterface> by_name;
      for (struct ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        NetworkInterface& nic = by_name[a->ifa_name];
        nic.name = a->ifa_name;
        nic.up = nic.up || (a->ifa_flags & IFF_UP);
        if (a->ifa_addr == nullptr) continue;
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw = nullptr;
        if (a->ifa_addr->sa_family == AF_INET) {
          raw = &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr;
        } else if (a->ifa_addr->sa_family == AF_INET6) {
          raw = &reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr;
        }
        if (raw && ::inet_ntop(a->ifa_addr->sa_family, raw, text, sizeof text)) {
          int prefix = PrefixLength(a->ifa_netmask);
          nic.addresses.push_back(prefix >= 0 ? absl::StrCat(text, "/", prefix) : std::string(text));
        }
      }
      ::freeifaddrs(list);
      for (auto& [name, nic] : by_name) {
        std::string mac = ReadTrimmed(absl::StrCat(sys_root, "/class/net/", name, "/address"));
        if (mac != "00:00:00:00:00:00") nic.mac = mac;
        hw.interfaces.push_back(std::move(nic));
      }
    } else {
      AddWarning(report, "getifaddrs failed: network interfaces not reported");
    }
  }
  return hw;
}

}  // namespace steward::agent
