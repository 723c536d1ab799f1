#include "agent/inventory/dpkg_status.h"

#include <unistd.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Captured from a Debian 12 host, trimmed; plus two non-installed states.
constexpr char kCaptured[] = R"(Package: adduser
Status: install ok installed
Priority: important
Section: admin
Installed-Size: 849
Maintainer: Debian Adduser Developers <adduser@packages.debian.org>
Architecture: all
Multi-Arch: foreign
Version: 3.134
Depends: passwd
Conffiles:
 /etc/adduser.conf cc3493ecd2d09837ffdcc3e25fdfff18
 /etc/deluser.conf 11a06baf8245fd8d690b99024d228c1f
Description: add and remove users and groups
 This package includes the 'adduser' and 'deluser' commands for creating
 and removing users.
 .
 Continuation lines may contain colons: like this one.

Package: libc6
Status: hold ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

Package: oldpkg
Status: deinstall ok config-files
Priority: optional
Architecture: amd64
Version: 1:0.9-1
Conffiles:
 /etc/oldpkg.conf 0123

Package: removing
Status: deinstall ok installed
Architecture: arm64
Maintainer: Someone <s@example.org>
Version: 2:1.0~rc1-3ubuntu0.1

Package: halfway
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0
)";

Package Pkg(std::string name, std::string version, std::string arch, std::string vendor,
            uint64_t size_kb, std::string status) {
  Package p;
  p.source = "dpkg";
  p.name = std::move(name);
  p.version = std::move(version);
  p.arch = std::move(arch);
  p.vendor = std::move(vendor);
  p.size_bytes = size_kb * 1024;
  p.status = std::move(status);
  return p;
}

TEST(DpkgStatusParser, ParsesCapturedStanzas) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(kCaptured, "status", &report);
  EXPECT_THAT(got, ElementsAre(Pkg("adduser", "3.134", "all",
                                   "Debian Adduser Developers <adduser@packages.debian.org>", 849,
                                   "install ok installed"),
                               Pkg("libc6", "2.36-9+deb12u4", "amd64",
                                   "GNU Libc Maintainers <debian-glibc@lists.debian.org>", 12986,
                                   "hold ok installed"),
                               Pkg("removing", "2:1.0~rc1-3ubuntu0.1", "arm64",
                                   "Someone <s@example.org>", 0, "deinstall ok installed")));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(DpkgStatusParser, FieldNamesAreCaseInsensitiveAndValuesTrimmed) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "PACKAGE:   foo  \nstatus:install ok installed\nvErSiOn:\t1.2-3\t\n"
      "architecture: amd64\ninstalled-size: 7\n",
      "status", &report);
  EXPECT_THAT(got, ElementsAre(Pkg("foo", "1.2-3", "amd64", "", 7, "install ok installed")));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(DpkgStatusParser, SkipsStanzaWithoutVersion) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
      "Package: noversion\nStatus: install ok installed\nArchitecture: all\n\n"
      "Package: emptyversion\nStatus: install ok installed\nVersion:\n\n"
      "Package: c\nStatus: install ok installed\nVersion: 3\n",
      "/var/lib/dpkg/status", &report);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "a");
  EXPECT_EQ(got[1].name, "c");
  EXPECT_THAT(report.warnings,
              ElementsAre("/var/lib/dpkg/status line 5: installed package 'noversion' has no "
                          "Version field, skipped",
                          "/var/lib/dpkg/status line 9: installed package 'emptyversion' has no "
                          "Version field, skipped"));
}

TEST(DpkgStatusParser, NotInstalledStanzaWithoutVersionIsSilentlyIgnored) {
  ParseReport report;
  EXPECT_THAT(ParseDpkgStatus("Package: gone\nStatus: purge ok not-installed\n", "s", &report),
              IsEmpty());
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(DpkgStatusParser, SkipsStanzaWithoutPackage) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "Status: install ok installed\nVersion: 1\n\n\n"
      "Package:\nStatus: install ok installed\nVersion: 1\n\n"
      "Package: ok\nStatus: install ok installed\nVersion: 2\n",
      "st", &report);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "ok");
  EXPECT_THAT(report.warnings, ElementsAre("st line 1: stanza has no Package field, skipped",
                                           "st line 5: stanza has no Package field, skipped"));
}

TEST(DpkgStatusParser, SkipsStanzaWithLineWithoutColon) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "Package: bad\nStatus: install ok installed\nthis line has no colon\nVersion: 1\n"
      "another bad line\n\n"
      "Package: good\nStatus: install ok installed\nVersion: 2\n",
      "st", &report);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "good");
  // One warning per bad stanza, at its first bad line.
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 3: line has no ':' ('this line has no colon'), stanza skipped"));
}

TEST(DpkgStatusParser, SkipsStanzaWithEmptyFieldName) {
  ParseReport report;
  EXPECT_THAT(ParseDpkgStatus("Package: x\n: value\nStatus: install ok installed\nVersion: 1\n",
                              "st", &report),
              IsEmpty());
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 2: line has an empty field name (': value'), stanza skipped"));
}

TEST(DpkgStatusParser, ContinuationLineOutsideFieldSkipsStanza) {
  ParseReport report;
  EXPECT_THAT(ParseDpkgStatus(" leading continuation\nPackage: x\nStatus: install ok "
                              "installed\nVersion: 1\n",
                              "st", &report),
              IsEmpty());
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 1: continuation line outside any field, stanza skipped"));
}

TEST(DpkgStatusParser, StatusMustHaveThreeWords) {
  ParseReport report;
  EXPECT_THAT(ParseDpkgStatus("Package: a\nStatus: installed\nVersion: 1\n\n"
                              "Package: b\nStatus: install ok installed extra\nVersion: 1\n\n"
                              "Package: c\nVersion: 1\n",
                              "st", &report),
              IsEmpty());
  EXPECT_THAT(
      report.warnings,
      ElementsAre("st line 2: Status 'installed' of package 'a' is not three words, skipped",
                  "st line 6: Status 'install ok installed extra' of package 'b' is not "
                  "three words, skipped",
                  "st line 9: package 'c' has no Status field, skipped"));
}

TEST(DpkgStatusParser, TruncatedFileKeepsCompleteStanzas) {
  const std::string full =
      "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n"
      "Package: b\nStatus: install ok installed\nVersion: 2.0\n";
  ParseReport report;
  // Cut in the middle of b's Version value: b keeps the truncated value.
  std::vector<Package> got = ParseDpkgStatus(full.substr(0, full.size() - 3), "st", &report);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].version, "2");
  EXPECT_THAT(report.warnings, IsEmpty());

  // Cut before b's Version line: b is dropped with a warning.
  report = ParseReport();
  got = ParseDpkgStatus(full.substr(0, full.find("Version: 2.0")), "st", &report);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "a");
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 5: installed package 'b' has no Version field, skipped"));

  // Every prefix parses without crashing and yields at most two packages.
  for (size_t n = 0; n <= full.size(); ++n) {
    ParseReport r;
    EXPECT_LE(ParseDpkgStatus(full.substr(0, n), "st", &r).size(), 2u) << n;
  }
}

TEST(DpkgStatusParser, AcceptsCrlfAndBlanksOnlySeparator) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n \t \r\n"
      "Package: b\r\nStatus: install ok installed\r\nVersion: 2\r\n",
      "st", &report);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].version, "1");
  EXPECT_EQ(got[1].name, "b");
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(DpkgStatusParser, InvalidInstalledSizeKeepsPackageWithZero) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "Package: huge\nStatus: install ok installed\nVersion: 1\n"
      "Installed-Size: 99999999999999999999999\n\n"
      "Package: neg\nStatus: install ok installed\nVersion: 1\nInstalled-Size: -5\n\n"
      "Package: max\nStatus: install ok installed\nVersion: 1\n"
      "Installed-Size: 18446744073709551615\n",
      "st", &report);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].size_bytes, 0u);
  EXPECT_EQ(got[1].size_bytes, 0u);
  EXPECT_EQ(got[2].size_bytes, 18446744073709551615ull);  // Saturates.
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 4: Installed-Size '99999999999999999999999' of package 'huge' "
                          "is not a number of kB, using 0",
                          "st line 9: Installed-Size '-5' of package 'neg' is not a number of kB, "
                          "using 0"));
}

TEST(DpkgStatusParser, DuplicateFieldKeepsFirstValue) {
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(
      "Package: a\nVersion: 1\nStatus: install ok installed\nversion: 2\n", "st", &report);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].version, "1");
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 4: duplicate field 'version', first value kept"));
}

TEST(DpkgStatusParser, EmptyAndBlankInputs) {
  ParseReport report;
  EXPECT_THAT(ParseDpkgStatus("", "st", &report), IsEmpty());
  EXPECT_THAT(ParseDpkgStatus("\n\n \n\t\n", "st", &report), IsEmpty());
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_THAT(
      ParseDpkgStatus("Package: a\nStatus: install ok installed\nVersion: 1", "st", nullptr),
      ElementsAre(Pkg("a", "1", "", "", 0, "install ok installed")));
}

TEST(DpkgStatusParser, GarbageBytesAreWarnedAndEscaped) {
  std::string garbage = "Package: a\nStatus: install ok installed\nVersion: 1\n\n";
  garbage += std::string("\x01\xff\x00\x1b[31mjunk\n", 13);
  garbage += "Package: b\nStatus: install ok installed\nVersion: 2\n";
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(garbage, "st", &report);
  // The garbage line joins b's stanza (no blank line between), so b is lost.
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "a");
  EXPECT_THAT(report.warnings,
              ElementsAre("st line 5: line has no ':' ('\\x01\\xff\\x00\\x1b[31mjunk'), stanza "
                          "skipped"));
}

TEST(DpkgStatusParser, HugeValuesAreKept) {
  std::string version(100000, '9');
  std::string text =
      "Package: big\nStatus: install ok installed\nVersion: " + version + "\nDescription: x\n";
  for (int i = 0; i < 100000; ++i) text += " a long description line\n";
  ParseReport report;
  std::vector<Package> got = ParseDpkgStatus(text, "st", &report);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].version, version);
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(DpkgStatusParser, WarningsAreBounded) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "nocolon\n\n";
  ParseReport report;
  EXPECT_THAT(ParseDpkgStatus(text, "st", &report), IsEmpty());
  EXPECT_EQ(report.warnings.size(), ParseReport::kMaxWarnings);
  EXPECT_EQ(report.suppressed_warnings, 2000u);
  EXPECT_EQ(report.total_warnings(), 3000u);
  EXPECT_EQ(report.warnings[999], "st line 1999: line has no ':' ('nocolon'), stanza skipped");
}

TEST(DpkgStatusReader, MissingFileIsNotFound) {
  testing::TempDir dir;
  absl::StatusOr<std::vector<Package>> got = ReadDpkgStatus(dir.path() + "/nope", nullptr);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
}

TEST(DpkgStatusReader, WarningsNameTheFile) {
  testing::TempDir dir;
  std::string path = dir.Write("status", "Package: x\nStatus: install ok installed\n");
  ParseReport report;
  absl::StatusOr<std::vector<Package>> got = ReadDpkgStatus(path, &report);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, IsEmpty());
  EXPECT_THAT(report.warnings,
              ElementsAre(path + " line 1: installed package 'x' has no Version field, skipped"));
}

// The real database of this machine against dpkg's own reading of it.
TEST(DpkgStatusReader, RealStatusMatchesDpkgQuery) {
  if (::access(kDpkgStatusPath, R_OK) != 0) GTEST_SKIP() << "no " << kDpkgStatusPath;
  std::optional<testing::ProcessResult> r = testing::RunShell(
      "dpkg-query -W -f='${db:Status-Status}\\t${Package}\\t${Version}\\t${Architecture}\\n' "
      "2>/dev/null");
  if (!r.has_value() || r->exit_code != 0) GTEST_SKIP() << "dpkg-query unavailable";
  const std::string& query = r->out;
  using Key = std::tuple<std::string, std::string, std::string>;
  std::set<Key> want;
  for (absl::string_view line : absl::StrSplit(query, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ASSERT_EQ(f.size(), 4u) << line;
    if (f[0] == "installed") want.emplace(f[1], f[2], f[3]);
  }
  ASSERT_GT(want.size(), 10u);

  ParseReport report;
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<Package>> got = ReadDpkgStatus(kDpkgStatusPath, &report);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(got.ok()) << got.status();
  std::set<Key> have;
  for (const Package& p : *got) {
    EXPECT_EQ(p.source, "dpkg");
    EXPECT_FALSE(p.vendor.empty()) << p.name;
    have.emplace(p.name, p.version, p.arch);
  }
  EXPECT_EQ(have.size(), got->size()) << "duplicate packages";
  EXPECT_EQ(have, want);
  EXPECT_THAT(report.warnings, IsEmpty());
  // Generous bound (debug build, shared machine); a release build takes ~1 ms.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 500);
  std::printf("parsed %zu packages in %.2f ms\n", got->size(),
              std::chrono::duration<double, std::milli>(elapsed).count());
}

}  // namespace
}  // namespace steward::agent
