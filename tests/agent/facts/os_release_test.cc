#include "agent/facts/os_release.h"

#include <unistd.h>

#include <map>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Fields = std::map<std::string, std::string>;

constexpr char kBookworm[] = R"os(PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
)os";

TEST(OsReleaseParser, ParsesCapturedDebianFile) {
  ParseReport report;
  OsRelease os = ParseOsRelease(kBookworm, "/etc/os-release", &report);
  EXPECT_EQ(os.id, "debian");
  EXPECT_EQ(os.name, "Debian GNU/Linux");
  EXPECT_EQ(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(os.version_id, "12");
  EXPECT_EQ(os.fields, (Fields{{"PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)"},
                               {"NAME", "Debian GNU/Linux"},
                               {"VERSION_ID", "12"},
                               {"VERSION", "12 (bookworm)"},
                               {"VERSION_CODENAME", "bookworm"},
                               {"ID", "debian"},
                               {"HOME_URL", "https://www.debian.org/"},
                               {"SUPPORT_URL", "https://www.debian.org/support"},
                               {"BUG_REPORT_URL", "https://bugs.debian.org/"}}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

// Shell-valid quoting; the same text is also checked against /bin/sh below.
constexpr char kQuoting[] =
    "# a comment\n"
    "\n"
    "   # indented comment\n"
    "DQ=\"a \\\"quoted\\\" \\$HOME \\`x\\` back\\\\slash \\n kept\"\n"
    "SQ='single $HOME \\n \"as is\"'\n"
    "CAT=\"x\"'y'z\n"
    "UNQ=plain\\ word\n"
    "EMPTY=\n"
    "EMPTY2=\"\"\n"
    "_UNDER_9=ok\n"
    "ID_LIKE=\"ubuntu debian\"\n"
    "DUP=first\n"
    "DUP=second\n";

TEST(OsReleaseParser, DecodesQuotesEscapesAndComments) {
  ParseReport report;
  OsRelease os = ParseOsRelease(kQuoting, "f", &report);
  EXPECT_EQ(os.fields, (Fields{{"DQ", "a \"quoted\" $HOME `x` back\\slash \\n kept"},
                               {"SQ", "single $HOME \\n \"as is\""},
                               {"CAT", "xyz"},
                               {"UNQ", "plain word"},
                               {"EMPTY", ""},
                               {"EMPTY2", ""},
                               {"_UNDER_9", "ok"},
                               {"ID_LIKE", "ubuntu debian"},
                               {"DUP", "second"}}));
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(os.id, "");  // os-release(5) defaults are not invented.
}

TEST(OsReleaseParser, AgreesWithShellOnQuoting) {
  testing::TempDir dir;
  std::string path = dir.Write("os-release", kQuoting);
  OsRelease os = ParseOsRelease(kQuoting, path, nullptr);
  for (const auto& [key, value] : os.fields) {
    std::optional<testing::ProcessResult> shell =
        testing::RunShell("sh -c '. \"$0\" && printf %s \"$" + key + "\"' '" + path + "'");
    ASSERT_TRUE(shell.has_value() && shell->exit_code == 0) << key;
    EXPECT_EQ(value, shell->out) << key;
  }
}

TEST(OsReleaseParser, AcceptsCrlfAndSurroundingBlanks) {
  ParseReport report;
  OsRelease os = ParseOsRelease("ID=debian\r\n  VERSION_ID=\"12\"  \r\n\r\n", "f", &report);
  EXPECT_EQ(os.fields, (Fields{{"ID", "debian"}, {"VERSION_ID", "12"}}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(OsReleaseParser, WarnsAndSkipsInvalidLines) {
  ParseReport report;
  OsRelease os = ParseOsRelease(
      "ID=debian\n"
      "no equals sign\n"
      "1ABC=x\n"
      "A-B=x\n"
      "A B=x\n"
      "=x\n"
      "DQ=\"unterminated\n"
      "SQ='unterminated\n"
      "ESC=\"ends in escaped quote\\\"\n"
      "BS=trailing\\\n"
      "NAME=\"Good\"\n",
      "/etc/os-release", &report);
  EXPECT_EQ(os.fields, (Fields{{"ID", "debian"}, {"NAME", "Good"}}));
  EXPECT_THAT(report.warnings,
              ElementsAre("/etc/os-release line 2: no '=' in 'no equals sign'; skipped",
                          "/etc/os-release line 3: invalid key '1ABC'; skipped",
                          "/etc/os-release line 4: invalid key 'A-B'; skipped",
                          "/etc/os-release line 5: invalid key 'A B'; skipped",
                          "/etc/os-release line 6: invalid key ''; skipped",
                          "/etc/os-release line 7: unterminated double quote in value of 'DQ'; "
                          "skipped",
                          "/etc/os-release line 8: unterminated single quote in value of 'SQ'; "
                          "skipped",
                          "/etc/os-release line 9: unterminated double quote in value of 'ESC'; "
                          "skipped",
                          "/etc/os-release line 10: value ends in a lone backslash in value of "
                          "'BS'; skipped"));
}

TEST(OsReleaseParser, EmptyAndGarbageInputs) {
  ParseReport report;
  EXPECT_EQ(ParseOsRelease("", "f", &report), OsRelease());
  EXPECT_EQ(ParseOsRelease("\n\n# only comments\n", "f", &report), OsRelease());
  EXPECT_THAT(report.warnings, IsEmpty());
  OsRelease os = ParseOsRelease(std::string("\xff\x00\x01=\x02\nID=x\x00y\n", 13), "f", &report);
  EXPECT_EQ(os.fields, (Fields{{"ID", std::string("x\0y", 3)}}));
  EXPECT_THAT(report.warnings, ElementsAre("f line 1: invalid key '\\xff\\x00\\x01'; skipped"));
}

TEST(OsReleaseParser, HugeValueIsKept) {
  std::string big(1 << 20, 'v');
  OsRelease os = ParseOsRelease("PRETTY_NAME=\"" + big + "\"", "f", nullptr);
  EXPECT_EQ(os.pretty_name, big);
}

TEST(OsReleaseReader, MissingFileIsNotFound) {
  testing::TempDir dir;
  EXPECT_EQ(ReadOsRelease(dir.path() + "/os-release", nullptr).status().code(),
            absl::StatusCode::kNotFound);
}

// This machine's file, checked field by field against the shell.
TEST(OsReleaseReader, RealFileAgreesWithShell) {
  std::string path = kOsReleasePath;
  if (::access(path.c_str(), R_OK) != 0) path = kOsReleaseFallbackPath;
  if (::access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "no os-release";
  ParseReport report;
  absl::StatusOr<OsRelease> os = ReadOsRelease(path, &report);
  ASSERT_TRUE(os.ok()) << os.status();
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_FALSE(os->id.empty());
  ASSERT_FALSE(os->fields.empty());
  for (const auto& [key, value] : os->fields) {
    std::optional<testing::ProcessResult> shell =
        testing::RunShell("sh -c '. \"$0\" && printf %s \"$" + key + "\"' '" + path + "'");
    ASSERT_TRUE(shell.has_value() && shell->exit_code == 0) << key;
    EXPECT_EQ(value, shell->out) << key;
  }
}

}  // namespace
}  // namespace steward::agent
