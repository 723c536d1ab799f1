#include "agent/inventory/pip_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/inventory/pip_metadata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Captured from /usr/lib/python3/dist-packages/PyYAML-6.0.dist-info (Debian 12).
constexpr char kPyYamlMetadata[] =
    "Metadata-Version: 2.1\n"
    "Name: PyYAML\n"
    "Version: 6.0\n"
    "Summary: YAML parser and emitter for Python\n"
    "Home-page: https://pyyaml.org/\n"
    "Author: Kirill Simonov\n"
    "Author-email: xi@resolvent.net\n"
    "License: MIT\n"
    "Platform: Any\n"
    "Classifier: Development Status :: 5 - Production/Stable\n"
    "Requires-Python: >=3.6\n"
    "License-File: LICENSE\n"
    "\n"
    "YAML is a data serialization format designed for human readability\n"
    "Name: not-a-header\n";

// Captured from a pip-installed wheel's RECORD.
constexpr char kRecord[] =
    "six-1.16.0.dist-info/INSTALLER,sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg,4\n"
    "six-1.16.0.dist-info/LICENSE,sha256=i7hQxWWqOJ_cFvOkaWWtI9gq3_YPI5P8J2K2MYXo5sk,1066\n"
    "six-1.16.0.dist-info/RECORD,,\n"
    "__pycache__/six.cpython-311.pyc,,\n"
    "\"odd,name.py\",sha256=abc,100\n"
    "six.py,sha256=TOOfQi7nFGfMrIvtdr6wX4wyHH8M7aknmuLfo2cBBrM,34549\n";

TEST(PythonMetadataParser, ReadsCapturedMetadataAndStopsAtBody) {
  ParseReport report;
  auto m = ParsePythonMetadata(kPyYamlMetadata, "METADATA", &report);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m, (PythonMetadata{"PyYAML", "6.0", "Kirill Simonov"}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(PythonMetadataParser, CaseInsensitiveCrlfContinuationFirstWins) {
  ParseReport report;
  auto m = ParsePythonMetadata(
      "metadata-version: 1.0\r\nname: foo_bar\r\nDescription: x\r\n  more\r\n"
      "VERSION: 1.0.post1\r\nVersion: 2\r\n",
      "PKG-INFO", &report);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->name, "foo_bar");
  EXPECT_EQ(m->version, "1.0.post1");
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(PythonMetadataParser, SkipsTruncatedOrVersionless) {
  ParseReport report;
  EXPECT_FALSE(ParsePythonMetadata("Metadata-Version: 2.1\nName: fo", "a/METADATA", &report));
  EXPECT_FALSE(ParsePythonMetadata("Metadata-Version: 2.1\nVersion: 1\n", "b/METADATA", &report));
  EXPECT_FALSE(ParsePythonMetadata("Name: x\nVersion:\n", "c/METADATA", &report));
  EXPECT_FALSE(ParsePythonMetadata("", "d/METADATA", &report));
  EXPECT_FALSE(ParsePythonMetadata("\nName: x\nVersion: 1\n", "e/METADATA", &report));
  EXPECT_THAT(report.warnings,
              ElementsAre("a/METADATA: distribution 'fo' has no Version field, skipped",
                          "b/METADATA: no Name field, distribution skipped",
                          "c/METADATA: distribution 'x' has no Version field, skipped",
                          "d/METADATA: no Name field, distribution skipped",
                          "e/METADATA: no Name field, distribution skipped"));
}

TEST(PythonMetadataParser, BinaryGarbageNeverAccepted) {
  ParseReport report;
  constexpr char kGarbage[] =
      "\x7f"
      "ELF\x02\x01\x01\0\0\0Name: a\nVersion: 1\n";
  EXPECT_FALSE(ParsePythonMetadata(std::string(kGarbage, sizeof(kGarbage) - 1), "g", &report));
  EXPECT_FALSE(
      ParsePythonMetadata("Name: a\x01"
                          "b\nVersion: 1\n",
                          "h", &report));
  EXPECT_FALSE(ParsePythonMetadata("Name: a b\nVersion: 1\n", "i", &report));
  EXPECT_FALSE(ParsePythonMetadata("Name: ab\nVersion: 1\x1b[2J\n", "j", &report));
  EXPECT_THAT(
      report.warnings,
      ElementsAre("g line 1: header line without a valid field name ('\\x7f\\x45LF\\x02"
                  "\\x01\\x01\\x00\\x00\\x00Name: a'), ignored",
                  "g: no Name field, distribution skipped",
                  "h: Name 'a\\x01\\x62' has control characters or blanks, distribution skipped",
                  "i: Name 'a b' has control characters or blanks, distribution skipped",
                  "j: Version '1\\x1b[2J' of 'ab' has control characters or blanks, "
                  "distribution skipped"));
}

TEST(PythonName, NormalisesLikePep503) {
  EXPECT_EQ(NormalizePythonName("PyYAML"), "pyyaml");
  EXPECT_EQ(NormalizePythonName("lazr.restfulclient"), "lazr-restfulclient");
  EXPECT_EQ(NormalizePythonName("Foo__Bar-.-baz"), "foo-bar-baz");
  EXPECT_EQ(NormalizePythonName("python_apt"), "python-apt");
  EXPECT_EQ(NormalizePythonName(""), "");
}

TEST(RecordSizes, SumsSizeColumn) {
  ParseReport report;
  EXPECT_EQ(SumRecordSizes(kRecord, "RECORD", &report), 4u + 1066 + 100 + 34549);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(SumRecordSizes("a,b,x\nnocomma\nc,d,18446744073709551615\ne,f,5\n", "R", &report),
            18446744073709551615ull);
  EXPECT_THAT(report.warnings,
              ElementsAre("R line 1: RECORD size 'x' is not a number, ignored",
                          "R line 2: RECORD line without ',' ('nocomma'), ignored"));
}

// A fake root with a Debian-style system Python, a pyenv interpreter and
// broken entries.
class PipSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string deb = "usr/lib/python3/dist-packages/";
    dir_.Write(deb + "PyYAML-6.0.dist-info/METADATA", kPyYamlMetadata);
    dir_.Write(deb + "six-1.16.0.egg-info", "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n");
    // Debian ships both for cryptography: reported once, from the dist-info.
    dir_.Write(deb + "cryptography-38.0.4.dist-info/METADATA",
               "Metadata-Version: 2.1\nName: cryptography\nVersion: 38.0.4\n");
    dir_.Write(deb + "cryptography.egg-info/PKG-INFO",
               "Metadata-Version: 2.1\nName: cryptography\nVersion: 38.0.4\n");
    dir_.Write(deb + "lazr.uri-1.0.6.egg-info/PKG-INFO",
               "Metadata-Version: 1.1\nName: lazr.uri\nVersion: 1.0.6\n");
    dir_.Write(deb + "truncated-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: trunc");
    dir_.Write(deb + "nometa-1.0.dist-info/RECORD", "");
    dir_.Write(deb + "garbage-1.dist-info/METADATA", std::string("\0\1\2\3\xff\xfe", 6));
    dir_.Write(deb + "not_a_dist/__init__.py", "");
    const std::string py = "root/.pyenv/versions/3.12.1/lib/python3.12/site-packages/";
    dir_.Write(py + "pip-23.2.1.dist-info/METADATA",
               "Metadata-Version: 2.1\nName: pip\nVersion: 23.2.1\n");
    dir_.Write(py + "pip-23.2.1.dist-info/RECORD", kRecord);
    dir_.Write(py + "Six-1.0.dist-info/METADATA", "Name: Six\nVersion: 1.0\n");
    dir_.Write(py + "six-2.0.dist-info/METADATA", "Name: six\nVersion: 2.0\n");
    dir_.Write("usr/local/lib/python3.11/dist-packages/x.pth", "");
    // A site-packages that is a file, and one behind a symlink loop.
    dir_.Write("opt/app/lib/python3.9/site-packages", "not a directory");
    std::filesystem::create_symlink(dir_.path() + "/usr/lib/python3/dist-packages",
                                    dir_.path() + "/usr/lib/python3/site-packages");
  }

  testing::TempDir dir_;
};

TEST_F(PipSourceTest, FindsSiteDirsOnceEach) {
  InventoryOptions opt;
  opt.root = dir_.path();
  PipSource source(opt);
  EXPECT_THAT(
      source.PythonSiteDirs(),
      ElementsAre("/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/dist-packages",
                  "/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages"));
}

TEST_F(PipSourceTest, ScansFakeRootExactly) {
  InventoryOptions opt;
  opt.root = dir_.path();
  PipSource source(opt);
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> summary;
  for (const Package& p : *got) {
    EXPECT_EQ(p.source, "pip");
    EXPECT_EQ(p.arch, "");
    EXPECT_GT(p.install_time_unix, 0);
    summary.push_back(p.location + " " + p.name + " " + p.version + " " +
                      std::to_string(p.size_bytes));
  }
  const std::string deb = "/usr/lib/python3/dist-packages";
  const std::string py = "/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages";
  EXPECT_THAT(summary, ElementsAre(deb + " PyYAML 6.0 0", deb + " cryptography 38.0.4 0",
                                   deb + " lazr.uri 1.0.6 0", deb + " six 1.16.0 0",
                                   py + " Six 1.0 0", py + " pip 23.2.1 35719"));
  EXPECT_EQ((*got)[0].vendor, "Kirill Simonov");
  EXPECT_THAT(
      report.warnings,
      ElementsAre(
          deb + "/garbage-1.dist-info/METADATA line 1: header line without a valid field name "
                "('\\x00\\x01\\x02\\x03\\xff\\xfe'), ignored",
          deb + "/garbage-1.dist-info/METADATA: no Name field, distribution skipped",
          ::testing::StartsWith(deb + "/nometa-1.0.dist-info/METADATA: cannot read ("),
          deb + "/truncated-1.0.dist-info/METADATA: distribution 'trunc' has no Version field, "
                "skipped",
          py + "/six-2.0.dist-info: another .dist-info of 'six' in " + py +
              " came first, this one ignored"));
}

TEST_F(PipSourceTest, ExtraPrefixesAndAbsentRoot) {
  dir_.Write("srv/venv/lib/python3.11/site-packages/req-2.0.dist-info/METADATA",
             "Name: requests\nVersion: 2.31.0\n");
  InventoryOptions opt;
  opt.root = dir_.path();
  opt.python_prefixes = {"/srv/venv/"};
  PipSource source(opt);
  auto got = source.Scan(nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->back().location, "/srv/venv/lib/python3.11/site-packages");
  EXPECT_EQ(got->back().name, "requests");

  InventoryOptions empty;
  empty.root = dir_.path() + "/nonexistent";
  PipSource none(empty);
  EXPECT_EQ(none.Fingerprint(), "");
  auto nothing = none.Scan(nullptr);
  ASSERT_TRUE(nothing.ok());
  EXPECT_THAT(*nothing, IsEmpty());
}

TEST_F(PipSourceTest, FingerprintFollowsInstalls) {
  InventoryOptions opt;
  opt.root = dir_.path();
  PipSource source(opt);
  std::string before = source.Fingerprint();
  EXPECT_THAT(before, HasSubstr("/usr/lib/python3/dist-packages "));
  EXPECT_EQ(source.Fingerprint(), before);
  dir_.Write("root/.pyenv/versions/3.12.1/lib/python3.12/site-packages/new-1.dist-info/METADATA",
             "Name: new\nVersion: 1\n");
  EXPECT_NE(source.Fingerprint(), before);
}

// --- Oracle: every interpreter on this machine against its own pip. ---

struct Interpreter {
  std::string path;
  std::vector<std::string> sys_path;
};

std::vector<Interpreter> FindInterpreters() {
  std::vector<std::string> candidates;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/root/.pyenv/versions", ec)) {
    candidates.push_back(e.path().string() + "/bin/python");
  }
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"}) candidates.push_back(p);
  std::sort(candidates.begin(), candidates.end());
  std::vector<Interpreter> out;
  for (const std::string& c : candidates) {
    if (::access(c.c_str(), X_OK) != 0) continue;
    auto r = testing::RunProcess({c, "-c", "import sys\nfor p in sys.path: print(p)"},
                                 testing::StderrMode::kDiscard);
    if (!r.has_value() || r->exit_code != 0) continue;
    Interpreter i{c, {}};
    for (absl::string_view l : absl::StrSplit(r->out, '\n', absl::SkipEmpty())) {
      i.sys_path.emplace_back(l);
    }
    out.push_back(std::move(i));
  }
  return out;
}

TEST(PipSourceOracle, MatchesPipListOfEveryInterpreter) {
  std::vector<Interpreter> interpreters = FindInterpreters();
  if (interpreters.empty()) GTEST_SKIP() << "no python interpreter on this machine";
  PipSource source{InventoryOptions{}};
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok()) << got.status();
  int compared = 0;
  for (const Interpreter& interp : interpreters) {
    // Run from / so a package in the current directory cannot shadow pip.
    auto r = testing::RunProcess({"/bin/sh", "-c",
                                  "cd / && PIP_DISABLE_PIP_VERSION_CHECK=1 exec \"$0\" -m pip list "
                                  "--format=freeze",
                                  interp.path},
                                 testing::StderrMode::kDiscard);
    if (!r.has_value() || r->exit_code != 0) {
      std::printf("%s: no working pip, skipped\n", interp.path.c_str());
      continue;
    }
    std::map<std::string, std::string> want;
    for (absl::string_view l : absl::StrSplit(r->out, '\n', absl::SkipEmpty())) {
      std::vector<std::string> nv = absl::StrSplit(l, absl::MaxSplits("==", 1));
      ASSERT_EQ(nv.size(), 2u) << interp.path << ": " << l;
      want[NormalizePythonName(nv[0])] = nv[1];
    }
    // What the source found in this interpreter's sys.path, first entry wins
    // (as for pip).
    std::map<std::string, std::string> have;
    for (const std::string& dir : interp.sys_path) {
      for (const Package& p : *got) {
        if (p.location == dir) have.emplace(NormalizePythonName(p.name), p.version);
      }
    }
    EXPECT_EQ(have, want) << interp.path;
    std::printf("%s: %zu distributions, pip list %zu\n", interp.path.c_str(), have.size(),
                want.size());
    ++compared;
  }
  EXPECT_GT(compared, 0);
  EXPECT_THAT(report.warnings, IsEmpty());
}

}  // namespace
}  // namespace steward::agent
