#include "agent/facts/host_facts.h"

#include <algorithm>

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct utsname Uname() {
  struct utsname u;
  EXPECT_EQ(::uname(&u), 0);
  return u;
}

constexpr char kCpuinfo[] =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n\n"
    "processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n";
constexpr char kStat[] =
    "cpu  1912 0 2800 1345763 388 0 55 1686 0 0\n"
    "cpu0 610 0 1580 672988 13 0 8 899 0 0\n"
    "cpu1 1302 0 1219 672775 375 0 47 786 0 0\n"
    "intr 1 2 3\nctxt 42\nbtime 1795417752\nprocesses 3191\nprocs_running 1\n";
constexpr char kMeminfo[] = "MemTotal:       24682416 kB\nMemFree:        24503880 kB\n";

TEST(HostFacts, CollectsFromFakeRoot) {
  testing::TempDir dir;
  FactsPaths paths;
  paths.os_release = dir.Write("etc/os-release",
                               "ID=debian\nNAME=\"Debian GNU/Linux\"\n"
                               "PRETTY_NAME=\"Debian 12\"\nVERSION_ID=\"12\"\n");
  paths.os_release_fallback = dir.path() + "/usr/lib/os-release";
  paths.proc_root = dir.path() + "/proc";
  paths.sys_root = dir.path() + "/sys";
  paths.read_interfaces = false;
  dir.Write("proc/cpuinfo", kCpuinfo);
  dir.Write("proc/stat", kStat);
  dir.Write("proc/meminfo", kMeminfo);

  ParseReport report;
  HostFacts facts = CollectHostFacts(paths, &report);
  struct utsname u = Uname();
  HostFacts want;
  want.hostname = u.nodename;
  want.os_id = "debian";
  want.os_name = "Debian 12";
  want.os_version = "12";
  want.kernel = u.release;
  want.arch = u.machine;
  want.cpu_model = "AMD EPYC 7B13";
  want.cpu_count = 2;
  want.memory_total_bytes = 24682416ull * 1024;
  want.boot_time_unix = 1795417752;
  EXPECT_EQ(facts, want);
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(HardwareFacts, ReadsDmiAndDisksFromSysAndSkipsPseudoDisks) {
  testing::TempDir dir;
  dir.Write("sys/class/dmi/id/sys_vendor", "QEMU\n");
  dir.Write("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
  dir.Write("sys/block/vda/size", "104857600\n");
  dir.Write("sys/block/vda/queue/rotational", "0\n");
  dir.Write("sys/block/sda/size", "1953525168\n");
  dir.Write("sys/block/sda/queue/rotational", "1\n");
  dir.Write("sys/block/sda/device/model", "WDC WD10EZEX-00B  \n");
  dir.Write("sys/block/loop0/size", "8\n");
  dir.Write("sys/block/zram0/size", "8\n");
  dir.Write("sys/block/sdb/size", "lots\n");
  ParseReport report;
  HardwareFacts hw = CollectHardwareFacts(dir.path() + "/sys", false, &report);
  EXPECT_EQ(hw.dmi_vendor, "QEMU");
  EXPECT_EQ(hw.dmi_model, "Standard PC (Q35 + ICH9, 2009)");
  EXPECT_EQ(hw.dmi_serial, "") << "not readable here: empty, not an error";
  ASSERT_EQ(hw.disks.size(), 3u);
  EXPECT_EQ(hw.disks[0], (BlockDevice{"sda", "WDC WD10EZEX-00B", 1953525168ull * 512, true}));
  EXPECT_EQ(hw.disks[1], (BlockDevice{"sdb", "", 0, false}));
  EXPECT_EQ(hw.disks[2], (BlockDevice{"vda", "", 104857600ull * 512, false}));
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("sdb/size line 1: not a sector count: 'lots'"), std::string::npos)
      << report.warnings[0];
  EXPECT_TRUE(hw.interfaces.empty());
}

TEST(HardwareFacts, RealInterfacesIncludeLoopback) {
  ParseReport report;
  HardwareFacts hw = CollectHardwareFacts("/sys", true, &report);
  auto lo = std::find_if(hw.interfaces.begin(), hw.interfaces.end(), [](const auto& n) { return n.name == "lo"; });
  ASSERT_NE(lo, hw.interfaces.end());
  EXPECT_TRUE(lo->up);
  EXPECT_EQ(lo->mac, "") << "loopback has no hardware address";
  EXPECT_THAT(lo->addresses, ::testing::Contains("127.0.0.1/8"));
}

TEST(HostFacts, FallsBackToUsrLibOsReleaseAndName) {
  testing::TempDir dir;
  FactsPaths paths;
  paths.os_release = dir.path() + "/etc/os-release";  // Missing.
  paths.os_release_fallback = dir.Write("usr/lib/os-release", "ID=alpine\nNAME=\"Alpine\"\n");
  paths.proc_root = dir.path() + "/proc";
  dir.Write("proc/cpuinfo", "processor\t: 0\nProcessor\t: ARMv7 rev 4 (v7l)\n");
  dir.Write("proc/stat", kStat);
  dir.Write("proc/meminfo", kMeminfo);
  ParseReport report;
  HostFacts facts = CollectHostFacts(paths, &report);
  EXPECT_EQ(facts.os_id, "alpine");
  EXPECT_EQ(facts.os_name, "Alpine");  // No PRETTY_NAME: NAME is used.
  EXPECT_EQ(facts.os_version, "");
  EXPECT_EQ(facts.cpu_model, "ARMv7 rev 4 (v7l)");
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(HostFacts, MissingAndBrokenFilesAreBestEffort) {
  testing::TempDir dir;
  FactsPaths paths;
  paths.os_release = dir.path() + "/none";
  paths.os_release_fallback = dir.path() + "/none2";
  paths.proc_root = dir.path() + "/proc";
  paths.sys_root = dir.path() + "/sys";
  paths.read_interfaces = false;
  dir.Write("proc/stat", "cpu0 1 2\nbtime soon\n");
  ParseReport report;
  HostFacts facts = CollectHostFacts(paths, &report);
  struct utsname u = Uname();
  HostFacts want;
  want.hostname = u.nodename;
  want.kernel = u.release;
  want.arch = u.machine;
  EXPECT_EQ(facts, want);
  const std::string p = dir.path();
  EXPECT_THAT(report.warnings,
              ElementsAre("cannot open " + p + "/none: No such file or directory; cannot open " +
                              p + "/none2: No such file or directory",
                          "cannot open " + p + "/proc/cpuinfo: No such file or directory",
                          p + "/proc/stat line 1: 'cpu0' has 2 time columns, want at least 8; "
                              "skipped",
                          p + "/proc/stat line 2: 'btime' is not followed by one number "
                              "('btime soon'); skipped",
                          "cannot open " + p + "/proc/meminfo: No such file or directory"));
}

TEST(HostFacts, RealHostIsConsistentWithLibc) {
  ParseReport report;
  HostFacts facts = CollectHostFacts(FactsPaths(), &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_FALSE(facts.os_id.empty());
  EXPECT_FALSE(facts.os_name.empty());
  EXPECT_EQ(facts.cpu_count, ::sysconf(_SC_NPROCESSORS_ONLN));
  struct sysinfo si;
  ASSERT_EQ(::sysinfo(&si), 0);
  EXPECT_EQ(facts.memory_total_bytes, static_cast<uint64_t>(si.totalram) * si.mem_unit);
  // btime is now minus uptime, give or take clock adjustments.
  EXPECT_NEAR(static_cast<double>(facts.boot_time_unix),
              static_cast<double>(::time(nullptr) - si.uptime), 5);
  EXPECT_FALSE(facts.cpu_model.empty());
}

}  // namespace
}  // namespace steward::agent
