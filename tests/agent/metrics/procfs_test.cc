#include "agent/metrics/procfs.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <string>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

std::string ReadOrDie(const std::string& path) {
  absl::StatusOr<std::string> text = steward::ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

CpuTimes Cpu(std::string name, uint64_t user, uint64_t nice, uint64_t system, uint64_t idle,
             uint64_t iowait, uint64_t irq, uint64_t softirq, uint64_t steal) {
  return CpuTimes{std::move(name), user, nice, system, idle, iowait, irq, softirq, steal};
}

// ---------------------------------------------------------------- /proc/stat

constexpr char kStat[] =
    "cpu  1912 3 2800 1345763 388 1 55 1686 0 0\n"
    "cpu0 610 1 1580 672988 13 0 8 899 0 0\n"
    "cpu1 1302 2 1219 672775 375 1 47 786 0 0\n"
    "intr 160817 0 9 0 0\n"
    "ctxt 342341\n"
    "btime 1795417752\n"
    "processes 3191\n"
    "procs_running 2\n"
    "procs_blocked 0\n"
    "softirq 52034 0 1 2 3 4 5 6 7 8 9\n";

TEST(ProcStatParser, ParsesCapturedFile) {
  ParseReport report;
  ProcStat st = ParseProcStat(kStat, "/proc/stat", &report);
  EXPECT_THAT(st.total, Optional(Cpu("cpu", 1912, 3, 2800, 1345763, 388, 1, 55, 1686)));
  EXPECT_THAT(st.per_cpu, ElementsAre(Cpu("cpu0", 610, 1, 1580, 672988, 13, 0, 8, 899),
                                      Cpu("cpu1", 1302, 2, 1219, 672775, 375, 1, 47, 786)));
  EXPECT_THAT(st.boot_time, Optional(1795417752));
  EXPECT_THAT(st.processes, Optional(3191u));
  EXPECT_THAT(st.procs_running, Optional(2u));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(ProcStatParser, SkipsShortAndNonNumericLines) {
  ParseReport report;
  ProcStat st = ParseProcStat(
      "cpu  1 2 3 4\n"
      "cpu0 1 2 3 4 5 6 7 x8\n"
      "cpu1 1 2 3 4 5 6 7 99999999999999999999999\n"
      "cpu2 1 2 3 4 5 6 7 8\n"
      "cpuX 1 2 3 4 5 6 7 8\n"
      "btime\n"
      "processes -1\n"
      "procs_running 1 2\n",
      "/proc/stat", &report);
  EXPECT_FALSE(st.total.has_value());
  EXPECT_THAT(st.per_cpu, ElementsAre(Cpu("cpu2", 1, 2, 3, 4, 5, 6, 7, 8)));
  EXPECT_FALSE(st.boot_time.has_value());
  EXPECT_FALSE(st.processes.has_value());
  EXPECT_FALSE(st.procs_running.has_value());
  EXPECT_THAT(
      report.warnings,
      ElementsAre(
          "/proc/stat line 1: 'cpu' has 4 time columns, want at least 8; skipped",
          "/proc/stat line 2: 'cpu0' has non-numeric value 'x8'; skipped",
          "/proc/stat line 3: 'cpu1' has non-numeric value '99999999999999999999999'; skipped",
          "/proc/stat line 6: 'btime' is not followed by one number ('btime'); skipped",
          "/proc/stat line 7: 'processes' is not followed by one number ('processes -1'); skipped",
          "/proc/stat line 8: 'procs_running' is not followed by one number ('procs_running 1 "
          "2'); skipped"));
}

TEST(ProcStatParser, RealFile) {
  ParseReport report;
  ProcStat st = ParseProcStat(ReadOrDie("/proc/stat"), "/proc/stat", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  ASSERT_TRUE(st.total.has_value());
  EXPECT_GT(st.total->idle, 0u);
  EXPECT_EQ(static_cast<long>(st.per_cpu.size()), ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_TRUE(st.boot_time.has_value());
  EXPECT_THAT(st.procs_running, Optional(::testing::Ge(1u)));  // This test is running.
}

// ------------------------------------------------------------- /proc/meminfo

TEST(MeminfoParser, ParsesCapturedFile) {
  ParseReport report;
  MemInfo m = ParseMeminfo(
      "MemTotal:       24682416 kB\n"
      "MemFree:        24503880 kB\n"
      "MemAvailable:   24433920 kB\n"
      "Active(anon):       1234 kB\n"
      "HugePages_Total:       0\n"
      "Hugepagesize:       2048 kB\n",
      "/proc/meminfo", &report);
  EXPECT_EQ(m, (MemInfo{{"MemTotal", 24682416ull * 1024},
                        {"MemFree", 24503880ull * 1024},
                        {"MemAvailable", 24433920ull * 1024},
                        {"Active(anon)", 1234ull * 1024},
                        {"HugePages_Total", 0},
                        {"Hugepagesize", 2048ull * 1024}}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(MeminfoParser, SkipsMalformedLines) {
  ParseReport report;
  MemInfo m = ParseMeminfo(
      "MemTotal: 100 kB\n"
      "no colon here\n"
      ":  5 kB\n"
      "Empty:\n"
      "Text: lots kB\n"
      "Unit: 5 MB\n"
      "Extra: 5 kB x\n"
      "Overflow: 18014398509481984 kB\n"
      "Max: 18014398509481983 kB\n"
      "\n",
      "/proc/meminfo", &report);
  EXPECT_EQ(m, (MemInfo{{"MemTotal", 102400}, {"Max", 18014398509481983ull * 1024}}));
  EXPECT_THAT(
      report.warnings,
      ElementsAre(
          "/proc/meminfo line 2: no 'Key:' in 'no colon here'; skipped",
          "/proc/meminfo line 3: no 'Key:' in ':  5 kB'; skipped",
          "/proc/meminfo line 4: 'Empty' value is not a number with an optional unit "
          "('Empty:'); skipped",
          "/proc/meminfo line 5: 'Text' value is not a number with an optional unit ('Text: lots "
          "kB'); skipped",
          "/proc/meminfo line 6: 'Unit' has unknown unit 'MB'; skipped",
          "/proc/meminfo line 7: 'Extra' value is not a number with an optional unit ('Extra: 5 "
          "kB x'); skipped",
          "/proc/meminfo line 8: 'Overflow' overflows 64 bits in bytes; skipped"));
}

TEST(MeminfoParser, RealFileMatchesSysinfo) {
  ParseReport report;
  MemInfo m = ParseMeminfo(ReadOrDie("/proc/meminfo"), "/proc/meminfo", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  struct sysinfo si;
  ASSERT_EQ(::sysinfo(&si), 0);
  ASSERT_EQ(m.count("MemTotal"), 1u);
  EXPECT_EQ(m["MemTotal"], static_cast<uint64_t>(si.totalram) * si.mem_unit);
  EXPECT_EQ(m["SwapTotal"], static_cast<uint64_t>(si.totalswap) * si.mem_unit);
}

// ------------------------------------------------------ /proc/loadavg, uptime

TEST(LoadavgParser, ParsesCapturedFile) {
  ParseReport report;
  EXPECT_THAT(ParseLoadavg("0.05 1.50 12.01 3/82 3194\n", "/proc/loadavg", &report),
              Optional(LoadAvg{0.05, 1.50, 12.01, 3, 82}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(LoadavgParser, RejectsMalformedLine) {
  const char* bad[] = {"0.05 0.05 0.01\n",
                       "0.05 0.05 0.01 182 3194\n",
                       "a b c 1/2 3\n",
                       "0.05 0.05 -0.01 1/2 3\n",
                       "0.05 0.05 inf 1/2 3\n",
                       "0.05 0.05 0.01 1/ 3\n",
                       "\n"};
  for (const char* text : bad) {
    ParseReport report;
    EXPECT_EQ(ParseLoadavg(text, "/proc/loadavg", &report), std::nullopt) << text;
    ASSERT_EQ(report.warnings.size(), 1u) << text;
    EXPECT_THAT(report.warnings[0], ::testing::StartsWith("/proc/loadavg line 1: want "));
  }
  ParseReport report;
  EXPECT_EQ(ParseLoadavg("", "/proc/loadavg", &report), std::nullopt);
  EXPECT_THAT(report.warnings, ElementsAre("/proc/loadavg: file is empty"));
}

TEST(LoadavgParser, RealFile) {
  ParseReport report;
  std::optional<LoadAvg> l = ParseLoadavg(ReadOrDie("/proc/loadavg"), "/proc/loadavg", &report);
  ASSERT_TRUE(l.has_value());
  EXPECT_GE(l->total, l->running);
  EXPECT_GE(l->running, 1u);
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(UptimeParser, ParsesAndRejects) {
  ParseReport report;
  EXPECT_THAT(ParseUptime("6767.42 13457.64\n", "/proc/uptime", &report),
              Optional(Uptime{6767.42, 13457.64}));
  EXPECT_EQ(ParseUptime("6767.42\n", "/proc/uptime", &report), std::nullopt);
  EXPECT_EQ(ParseUptime("x 1\n", "/proc/uptime", &report), std::nullopt);
  EXPECT_THAT(report.warnings, ElementsAre("/proc/uptime line 1: want 'UPTIME IDLE', got '6767.42'",
                                           "/proc/uptime line 1: want 'UPTIME IDLE', got 'x 1'"));
  struct sysinfo si;
  ASSERT_EQ(::sysinfo(&si), 0);
  std::optional<Uptime> real = ParseUptime(ReadOrDie("/proc/uptime"), "/proc/uptime", nullptr);
  ASSERT_TRUE(real.has_value());
  EXPECT_NEAR(real->uptime_seconds, static_cast<double>(si.uptime), 2);
}

// ------------------------------------------------------------ /proc/net/dev

constexpr char kNetDev[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:    3267      29    0    0    0     0          0         0     3267      29    0    "
    "0    0     0       0          0\n"
    "  eth0: 24632043     647    1    2    3     4          5         6    33296     415    7    "
    "8    9    10      11         12\n"
    "wlan0:18446744073709551615 1 0 0 0 0 0 0 2 3 0 0 0 0 0 0\n";

TEST(NetDevParser, ParsesCapturedFile) {
  ParseReport report;
  EXPECT_THAT(ParseNetDev(kNetDev, "/proc/net/dev", &report),
              ElementsAre(NetDevCounters{"lo", 3267, 29, 0, 0, 3267, 29, 0, 0},
                          NetDevCounters{"eth0", 24632043, 647, 1, 2, 33296, 415, 7, 8},
                          NetDevCounters{"wlan0", 18446744073709551615ull, 1, 0, 0, 2, 3, 0, 0}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(NetDevParser, SkipsMalformedLines) {
  ParseReport report;
  std::vector<NetDevCounters> got = ParseNetDev(
      "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
      "eth1: 1 2 3\n"
      "eth2: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"
      "a b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
      ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
      "eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
      "/proc/net/dev", &report);
  EXPECT_THAT(got, ElementsAre(NetDevCounters{"eth3", 1, 2, 3, 4, 9, 10, 11, 12}));
  EXPECT_THAT(
      report.warnings,
      ElementsAre("/proc/net/dev line 1: no 'interface:' in 'eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 "
                  "14 15'...; skipped",
                  "/proc/net/dev line 2: interface 'eth1' has 3 counters, want 16; skipped",
                  "/proc/net/dev line 3: interface 'eth2' has non-numeric counter 'x'; skipped",
                  "/proc/net/dev line 4: no 'interface:' in 'a b: 1 2 3 4 5 6 7 8 9 10 11 12 13 "
                  "14 15'...; skipped",
                  // Exactly 40 bytes: quoted whole, no ellipsis.
                  "/proc/net/dev line 5: no 'interface:' in ': 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                  "15 16'; skipped"));
}

TEST(NetDevParser, RealFileHasLoopback) {
  ParseReport report;
  std::vector<NetDevCounters> got =
      ParseNetDev(ReadOrDie("/proc/net/dev"), "/proc/net/dev", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_THAT(got, ::testing::Contains(::testing::Field(&NetDevCounters::interface, "lo")));
}

// ----------------------------------------------------------- /proc/diskstats

TEST(DiskstatsParser, ParsesCapturedLinesOfEveryKernelGeneration) {
  ParseReport report;
  std::vector<DiskStats> got = ParseDiskstats(
      // Linux 5.5+: 20 columns.
      " 254       0 vda 27507 8830 2123974 7493 60351 44032 2497842 44711 0 41316 55436 3039 0 "
      "5345264 1198 6048 2033\n"
      // Linux 2.6-4.18: 14 columns.
      "   8       1 sda1 10 0 80 5 20 0 160 9 0 12 14\n"
      "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
      "/proc/diskstats", &report);
  EXPECT_THAT(got, ElementsAre(DiskStats{254, 0, "vda", 27507, 2123974, 60351, 2497842, 41316},
                               DiskStats{8, 1, "sda1", 10, 80, 20, 160, 12},
                               DiskStats{7, 0, "loop0", 0, 0, 0, 0, 0}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(DiskstatsParser, SkipsMalformedLines) {
  ParseReport report;
  std::vector<DiskStats> got = ParseDiskstats(
      "   8       0 sda 1 2 3\n"
      "   x       0 sdb 1 2 3 4 5 6 7 8 9 10 11\n"
      "   8       0 sdc 1 2 3 4 5 6 7 8 9 10 1.5\n"
      "   8      99999999999 sdd 1 2 3 4 5 6 7 8 9 10 11\n",
      "/proc/diskstats", &report);
  EXPECT_THAT(got, IsEmpty());
  EXPECT_THAT(report.warnings,
              ElementsAre("/proc/diskstats line 1: has 6 columns, want at least 14 ('   8       "
                          "0 sda 1 2 3'); skipped",
                          "/proc/diskstats line 2: bad device number in '   x       0 sdb 1 2 3 "
                          "4 5 6 7 8 9 10 11'; skipped",
                          "/proc/diskstats line 3: device 'sdc' has non-numeric counter '1.5'; "
                          "skipped",
                          "/proc/diskstats line 4: bad device number in '   8      99999999999 "
                          "sdd 1 2 3 4 5 6 7 '...; skipped"));
}

TEST(DiskstatsParser, RealFile) {
  ParseReport report;
  ParseDiskstats(ReadOrDie("/proc/diskstats"), "/proc/diskstats", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
}

// -------------------------------------------------------------- /proc/mounts

TEST(MountsParser, DecodesOctalEscapes) {
  ParseReport report;
  std::vector<MountEntry> got = ParseMounts(
      "/dev/vda / ext4 rw,relatime 0 0\n"
      "/dev/sdb1 /media/My\\040Disk\\011tab vfat rw 0 0\n"
      "//srv/share\\134x /mnt/back\\134slash cifs rw 0 0\n"
      "none /odd\\04 tmpfs rw 0 0\n"
      "none /big\\777 tmpfs rw 0 0\n"
      "short /line\n",
      "/proc/mounts", &report);
  EXPECT_THAT(got, ElementsAre(MountEntry{"/dev/vda", "/", "ext4", "rw,relatime"},
                               MountEntry{"/dev/sdb1", "/media/My Disk\ttab", "vfat", "rw"},
                               MountEntry{"//srv/share\\x", "/mnt/back\\slash", "cifs", "rw"},
                               MountEntry{"none", "/odd\\04", "tmpfs", "rw"},
                               MountEntry{"none", "/big\\777", "tmpfs", "rw"}));
  EXPECT_THAT(report.warnings, ElementsAre("/proc/mounts line 6: has 2 columns, want at least 4 "
                                           "('short /line'); skipped"));
  EXPECT_EQ(DecodeMountEscapes("\\"), "\\");
  EXPECT_EQ(DecodeMountEscapes("a\\0"), "a\\0");
  EXPECT_EQ(DecodeMountEscapes("\\012\\000"), std::string("\n\0", 2));
}

TEST(MountsParser, RealFileHasRoot) {
  ParseReport report;
  std::vector<MountEntry> got = ParseMounts(ReadOrDie("/proc/mounts"), "/proc/mounts", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_THAT(got, ::testing::Contains(::testing::Field(&MountEntry::mount_point, "/")));
}

// -------------------------------------------------------------- everything

TEST(ProcfsParsers, EmptyAndGarbageInputsNeverCrash) {
  const std::string inputs[] = {"",
                                "\n",
                                std::string("\0\0\0", 3),
                                "\xff\xfe garbage: 1 2\n",
                                std::string(100000, ':'),
                                std::string(100000, ' ') + "1\n"};
  for (const std::string& in : inputs) {
    ParseReport report;
    ParseProcStat(in, "s", &report);
    ParseMeminfo(in, "m", &report);
    ParseLoadavg(in, "l", &report);
    ParseUptime(in, "u", &report);
    ParseNetDev(in, "n", &report);
    ParseDiskstats(in, "d", &report);
    ParseMounts(in, "p", &report);
    for (const std::string& w : report.warnings) {
      EXPECT_THAT(w, ::testing::MatchesRegex("[smlundp]( line [0-9]+)?: .*")) << w;
    }
  }
}

}  // namespace
}  // namespace steward::agent
