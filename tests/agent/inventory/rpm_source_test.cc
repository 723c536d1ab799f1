#include "agent/inventory/rpm_source.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Captured `rpm -qa --qf ...` output from a Rocky Linux 9 container.
constexpr char kCaptured[] =
    "bash\t0:5.1.8-9.el9\tx86_64\tRocky Enterprise Software Foundation\t7738839\t1715251200\n"
    "gpg-pubkey\t0:350d275d-6279464b\t(none)\t(none)\t0\t1715251300\n"
    "tzdata\t0:2024a-1.el9\tnoarch\tRocky Enterprise Software Foundation\t1729311\t1715251201\n"
    "openssl-libs\t1:3.0.7-27.el9\tx86_64\tRocky Enterprise Software "
    "Foundation\t6410745\t1715251202\n"
    "kernel-core\t0:5.14.0-362.24.1.el9_3\tx86_64\tRocky\t100\t1715251203\n"
    "kernel-core\t0:5.14.0-427.13.1.el9_4\tx86_64\tRocky\t200\t1715251204\n";

Package Rpm(std::string name, std::string version, std::string arch, std::string vendor,
            uint64_t size, int64_t time, std::string location = "") {
  Package p;
  p.source = "rpm";
  p.name = std::move(name);
  p.version = std::move(version);
  p.arch = std::move(arch);
  p.vendor = std::move(vendor);
  p.size_bytes = size;
  p.install_time_unix = time;
  p.status = "installed";
  p.location = std::move(location);
  return p;
}

TEST(RpmQueryParser, ParsesCapturedOutput) {
  ParseReport report;
  auto got = ParseRpmQueryOutput(kCaptured, "rpm -qa", &report);
  const std::string rocky = "Rocky Enterprise Software Foundation";
  EXPECT_THAT(
      got, ElementsAre(Rpm("bash", "5.1.8-9.el9", "x86_64", rocky, 7738839, 1715251200),
                       Rpm("gpg-pubkey", "350d275d-6279464b", "", "", 0, 1715251300),
                       Rpm("tzdata", "2024a-1.el9", "noarch", rocky, 1729311, 1715251201),
                       Rpm("openssl-libs", "1:3.0.7-27.el9", "x86_64", rocky, 6410745, 1715251202),
                       Rpm("kernel-core", "5.14.0-362.24.1.el9_3", "x86_64", "Rocky", 100,
                           1715251203, "5.14.0-362.24.1.el9_3"),
                       Rpm("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64", "Rocky", 200,
                           1715251204, "5.14.0-427.13.1.el9_4")));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(RpmQueryParser, SkipsBrokenLines) {
  ParseReport report;
  auto got = ParseRpmQueryOutput(
      "ok\t0:1-1\tx86_64\tV\t10\t20\n"
      "truncated\t0:1-1\tx86\n"
      "\t0:1-1\tx86_64\tV\t1\t2\n"
      "noversion\t0:-\tx86_64\tV\t1\t2\n"
      "ctl\x1b[31m\t0:1-1\tx86_64\tV\t1\t2\n"
      "badnum\t0:2-1\tx86_64\tV\tlots\t-5\r\n"
      "extra\t0:1-1\tx86_64\tV\t1\t2\t3\n"
      "error: rpmdb: BDB0113 Thread/process 1234 failed\n"
      "cut\t0:1",
      "rpm -qa", &report);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], Rpm("ok", "1-1", "x86_64", "V", 10, 20));
  EXPECT_EQ(got[1], Rpm("badnum", "2-1", "x86_64", "V", 0, 0));
  EXPECT_THAT(
      report.warnings,
      ElementsAre("rpm -qa line 2: expected 6 tab-separated fields, got 3 "
                  "('truncated\\t0:1-1\\tx86'), skipped",
                  "rpm -qa line 3: empty name or control characters "
                  "('\\t0:1-1\\tx86_64\\tV\\t1\\t2'), skipped",
                  "rpm -qa line 4: package 'noversion' has no version, skipped",
                  "rpm -qa line 5: empty name or control characters "
                  "('ctl\\x1b[31m\\t0:1-1\\tx86_64\\tV\\t1\\t2'), skipped",
                  "rpm -qa line 6: size 'lots' of 'badnum' is not a number, using 0",
                  "rpm -qa line 6: install time '-5' of 'badnum' is not a number, using 0",
                  "rpm -qa line 7: expected 6 tab-separated fields, got 7 "
                  "('extra\\t0:1-1\\tx86_64\\tV\\t1\\t2\\t3'), skipped",
                  "rpm -qa line 8: expected 6 tab-separated fields, got 1 ('error: rpmdb: BDB0113 "
                  "Thread/process 123'...), skipped",
                  "rpm -qa line 9: expected 6 tab-separated fields, got 2 ('cut\\t0:1'), skipped"));
}

// A fake root with an rpm database directory and a stand-in rpm binary.
std::string FakeRpm(const testing::TempDir& dir, const std::string& body) {
  std::string bin = dir.Write("usr/bin/rpm", "#!/bin/sh\n" + body);
  ::chmod(bin.c_str(), 0755);
  return bin;
}

TEST(RpmSource, AbsentWithoutDatabaseOrBinary) {
  testing::TempDir dir;
  InventoryOptions opt;
  opt.root = dir.path();
  FakeRpm(dir, "exit 3\n");  // Binary without a database: not run.
  RpmSource source(opt);
  EXPECT_EQ(source.Fingerprint(), "");
  auto got = source.Scan(nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, IsEmpty());

  testing::TempDir db_only;
  db_only.Write("var/lib/rpm/rpmdb.sqlite", "x");
  opt.root = db_only.path();
  RpmSource no_binary(opt);
  EXPECT_NE(no_binary.Fingerprint(), "");
  got = no_binary.Scan(nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, IsEmpty());
}

TEST(RpmSource, RunsBinaryAndParses) {
  testing::TempDir dir;
  dir.Write("usr/lib/sysimage/rpm/rpmdb.sqlite", "db");
  dir.Write("usr/lib/sysimage/rpm/rpmdb.sqlite-shm", "shm");
  // Check the arguments, then print captured output.
  FakeRpm(dir, absl::StrCat(
                   "[ \"$1 $2 $4 $5\" = \"-qa --qf --root ", dir.path(),
                   "\" ] || exit 9\n[ \"$LC_ALL\" = C ] || exit 8\n",
                   "printf 'bash\\t0:5.1.8-9.el9\\tx86_64\\tRocky\\t7738839\\t1715251200\\n'\n"));
  InventoryOptions opt;
  opt.root = dir.path();
  RpmSource source(opt);
  EXPECT_THAT(source.Fingerprint(), HasSubstr("/usr/lib/sysimage/rpm/rpmdb.sqlite "));
  EXPECT_THAT(source.Fingerprint(), ::testing::Not(HasSubstr("-shm")));
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got,
              ElementsAre(Rpm("bash", "5.1.8-9.el9", "x86_64", "Rocky", 7738839, 1715251200)));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(RpmSource, FailingOrHangingBinaryIsAnError) {
  testing::TempDir dir;
  dir.Write("var/lib/rpm/Packages", "db");
  FakeRpm(dir, "echo 'error: cannot open Packages index' >&2\nexit 1\n");
  InventoryOptions opt;
  opt.root = dir.path();
  auto got = RpmSource(opt).Scan(nullptr);
  EXPECT_THAT(got.status().message(), HasSubstr("exited with status 1"));

  FakeRpm(dir, "exec sleep 30\n");
  opt.rpm_timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  got = RpmSource(opt).Scan(nullptr);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded) << got.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace steward::agent
