#include "agent/inventory/dpkg_source.h"

#include <sys/stat.h>
#include <utime.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::IsEmpty;

void SetMtime(const std::string& path, time_t t) {
  struct utimbuf times = {t, t};
  ASSERT_EQ(::utime(path.c_str(), &times), 0) << path;
}

TEST(DpkgSource, AddsInstallTimeFromListFiles) {
  testing::TempDir dir;
  dir.Write("var/lib/dpkg/status",
            "Package: adduser\nStatus: install ok installed\nArchitecture: all\nVersion: 3.134\n"
            "Maintainer: Debian Adduser Developers <adduser@packages.debian.org>\n"
            "Installed-Size: 849\n\n"
            "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
            "Version: 2.36-9+deb12u4\nInstalled-Size: 12986\n\n"
            "Package: nolist\nStatus: install ok installed\nVersion: 1\n");
  SetMtime(dir.Write("var/lib/dpkg/info/adduser.list", "/usr/sbin/adduser\n"), 1700000000);
  SetMtime(dir.Write("var/lib/dpkg/info/libc6:amd64.list", "/lib\n"), 1700000100);
  InventoryOptions opt;
  opt.root = dir.path();
  DpkgSource source(opt);
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].install_time_unix, 1700000000);
  EXPECT_EQ((*got)[0].size_bytes, 849u * 1024);
  EXPECT_EQ((*got)[0].vendor, "Debian Adduser Developers <adduser@packages.debian.org>");
  EXPECT_EQ((*got)[1].install_time_unix, 1700000100);
  EXPECT_EQ((*got)[2].install_time_unix, 0);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_NE(source.Fingerprint(), "");
}

TEST(DpkgSource, AbsentIsEmptyUnreadableIsError) {
  testing::TempDir dir;
  InventoryOptions opt;
  opt.root = dir.path();
  DpkgSource source(opt);
  EXPECT_EQ(source.Fingerprint(), "");
  auto got = source.Scan(nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, IsEmpty());
  ::mkdir((dir.path() + "/var").c_str(), 0755);
  ::mkdir((dir.path() + "/var/lib").c_str(), 0755);
  ::mkdir((dir.path() + "/var/lib/dpkg").c_str(), 0755);
  ::mkdir((dir.path() + "/var/lib/dpkg/status").c_str(), 0755);  // A directory: unreadable.
  EXPECT_FALSE(source.Scan(nullptr).ok());
}

}  // namespace
}  // namespace steward::agent
