// ReleaseResidentCode drops the mapped pages of read-only segments and
// nothing else: the code keeps running and written data keeps its values.

#include "agent/session/resident_code.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

// Rss (kB) summed over this test binary's read-only mappings and over its
// writable ones, from /proc/self/smaps.
struct OwnRss {
  long read_only_kb = 0;
  long writable_kb = 0;
};

OwnRss ReadOwnRss() {
  std::string self;
  {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) self.assign(buf, static_cast<size_t>(n));
  }
  std::ifstream in("/proc/self/smaps");
  std::string line;
  OwnRss rss;
  bool ours = false;
  bool writable = false;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 5 && f[0].find('-') != std::string::npos && f[1].size() == 4) {
      ours = f.size() >= 6 && f.back() == self;
      writable = f[1][1] == 'w';
      continue;
    }
    long kb = 0;
    if (ours && f.size() >= 2 && f[0] == "Rss:" && absl::SimpleAtoi(f[1], &kb)) {
      (writable ? rss.writable_kb : rss.read_only_kb) += kb;
    }
  }
  return rss;
}

// Lives in a writable segment (.data): must keep the value written at run time.
int written_at_run_time = 1;
// A vtable and a function-pointer table: relocated by the loader into RELRO,
// which is read-only afterwards and must not be reset to the file's bytes.
struct Shape {
  virtual ~Shape() = default;
  virtual int Sides() const { return 0; }
};
struct Square : Shape {
  int Sides() const override { return 4; }
};
int Three() { return 3; }
int (*const kTable[])() = {&Three};

TEST(ResidentCode, DropsReadOnlyMappingsAndKeepsWrittenData) {
  written_at_run_time = 41 + static_cast<int>(ReadOwnRss().read_only_kb > 0);
  OwnRss before = ReadOwnRss();
  ASSERT_GT(before.read_only_kb, 64) << "this test binary has no resident read-only mapping to drop";

  ReleasedCode released = ReleaseResidentCode();
  OwnRss after = ReadOwnRss();

  EXPECT_GT(released.segments, 2);  // at least the binary's, libc's and libstdc++'s
  EXPECT_GT(released.bytes, 1u << 20);
  EXPECT_EQ(released.failures, 0);
  // Reading smaps ran code again, so some pages came back; most did not.
  EXPECT_LT(after.read_only_kb, before.read_only_kb / 2)
      << "before " << before.read_only_kb << " kB, after " << after.read_only_kb << " kB";
  // Written pages are not released: their Rss stays.
  EXPECT_GE(after.writable_kb, before.writable_kb);

  EXPECT_EQ(written_at_run_time, 42);
  std::unique_ptr<Shape> shape = std::make_unique<Square>();
  EXPECT_EQ(shape->Sides(), 4);
  EXPECT_EQ(kTable[0](), 3);
}

TEST(ResidentCode, RepeatedReleasesKeepWorking) {
  for (int i = 0; i < 20; ++i) {
    ReleasedCode released = ReleaseResidentCode();
    ASSERT_EQ(released.failures, 0) << "round " << i;
    std::ostringstream out;
    out << "round " << i;  // libstdc++ code, refaulted after each release
    ASSERT_EQ(out.str(), "round " + std::to_string(i));
  }
}

}  // namespace
}  // namespace steward::agent
