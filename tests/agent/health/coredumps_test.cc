#include "agent/health/coredumps.h"

#include <sys/stat.h>
#include <utime.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr char kBoot[] = "0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c";

// The name systemd-coredump gives a dump of `comm` (already escaped).
std::string DumpName(const std::string& comm, int64_t pid, absl::Time t,
                     const std::string& suffix = ".zst") {
  return absl::StrCat("core.", comm, ".1000.", kBoot, ".", pid, ".", absl::ToUnixMicros(t), suffix);
}

TEST(ParseCoredumpFileName, ReadsWhatSystemdWrites) {
  // A real name from a Debian 12 host (nginx worker, zstd-compressed).
  std::string why;
  auto r = ParseCoredumpFileName(
      "core.nginx.33.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c.4242.1763892000123456.zst", &why);
  ASSERT_TRUE(r.has_value()) << why;
  EXPECT_EQ(r->comm, "nginx");
  EXPECT_EQ(r->uid, 33u);
  EXPECT_EQ(r->boot_id, kBoot);
  EXPECT_EQ(r->pid, 4242);
  EXPECT_EQ(r->time, absl::FromUnixMicros(1763892000123456));
}

TEST(ParseCoredumpFileName, UnescapesTheProcessName) {
  // systemd escapes '.', '/' and ' ' (and unprintable bytes) as \xNN.
  std::string why;
  auto r = ParseCoredumpFileName(
      "core.my\\x2eapp\\x20w\\x2f1.0.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c.7.1763892000000000", &why);
  ASSERT_TRUE(r.has_value()) << why;
  EXPECT_EQ(r->comm, "my.app w/1");
  EXPECT_EQ(r->uid, 0u);
  for (const char* suffix : {".xz", ".lz4", ""}) {
    EXPECT_TRUE(ParseCoredumpFileName(
                    absl::StrCat("core.a.0.", kBoot, ".7.1763892000000000", suffix), &why)
                    .has_value())
        << suffix << ": " << why;
  }
}

TEST(ParseCoredumpFileName, RefusesBrokenNamesSayingWhy) {
  struct Case {
    std::string name;
    std::string why;
  };
  const Case cases[] = {
      {"", "not a core dump file name"},
      {"notes.txt", "not a core dump file name"},
      {"core", "not a core dump file name"},
      {"core.", "found 2 dot-separated fields"},
      {absl::StrCat("core.a.b.c.0.1000.", kBoot, ".7.1"), "found 9 dot-separated fields"},
      {absl::StrCat("core..0.", kBoot, ".7.1"), "empty process name"},
      {absl::StrCat("core.a.x.", kBoot, ".7.1"), "uid 'x' is not a number"},
      {absl::StrCat("core.a.-1.", kBoot, ".7.1"), "uid '-1' is not a number"},
      {"core.a.0.0c1f.7.1", "boot id '0c1f' is not 32 hex digits"},
      {"core.a.0.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9bzz.7.1", "is not 32 hex digits"},
      {absl::StrCat("core.a.0.", kBoot, ".0.1"), "pid '0' is not a positive number"},
      {absl::StrCat("core.a.0.", kBoot, ".99999999999999999999.1"), "is not a positive number"},
      {absl::StrCat("core.a.0.", kBoot, ".7.-5"), "time '-5' is not a positive number"},
      {absl::StrCat("core.a.0.", kBoot, ".7.\x1b[31m"), "time '\\x1b[31m'"},
  };
  for (const Case& c : cases) {
    std::string why;
    EXPECT_FALSE(ParseCoredumpFileName(c.name, &why).has_value()) << c.name;
    EXPECT_THAT(why, HasSubstr(c.why)) << c.name;
  }
  // A trailing unfinished escape is kept as it is, not read past the end.
  std::string why;
  auto r = ParseCoredumpFileName(absl::StrCat("core.a\\x2.0.", kBoot, ".7.1"), &why);
  ASSERT_TRUE(r.has_value()) << why;
  EXPECT_EQ(r->comm, "a\\x2");
}

TEST(CommOf, CutsLikeTheKernel) {
  EXPECT_EQ(CommOf("postgres"), "postgres");
  EXPECT_EQ(CommOf("a-very-long-daemon-name"), "a-very-long-dae");
}

TEST(CoredumpStore, MissingDirectoryIsEmpty) {
  CoredumpStore store("/nonexistent/steward/coredump");
  EXPECT_THAT(store.DumpsOf("nginx", absl::InfinitePast()), IsEmpty());
  EXPECT_EQ(store.skipped_names(), 0u);
}

TEST(CoredumpStore, ListsDumpsOfOneProgramAndSeesNewOnes) {
  steward::testing::TempDir dir;
  const absl::Time t0 = absl::FromUnixSeconds(1763892000);
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/" + DumpName("nginx", 10, t0), "x").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/" + DumpName("redis-server", 11, t0), "x").ok());
  // Long names are cut to 15 bytes by the kernel before systemd sees them.
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/" + DumpName("a-very-long-dae", 12, t0), "x").ok());
  // Malformed names are skipped and counted once; temporary files ignored.
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/core.broken", "x").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/.#core.nginx.tmp", "x").ok());

  CoredumpStore store(dir.path());
  EXPECT_THAT(store.DumpsOf("nginx", absl::InfinitePast()),
              ElementsAre(Field(&CoredumpRecord::pid, 10)));
  EXPECT_THAT(store.DumpsOf("a-very-long-daemon", absl::InfinitePast()),
              ElementsAre(Field(&CoredumpRecord::pid, 12)));
  EXPECT_THAT(store.DumpsOf("nginx", t0 + absl::Seconds(1)), IsEmpty());
  EXPECT_EQ(store.skipped_names(), 1u);

  // A new dump shows at the next call: the directory changed.
  ASSERT_TRUE(
      WriteFileAtomic(dir.path() + "/" + DumpName("nginx", 13, t0 + absl::Minutes(1)), "x").ok());
  EXPECT_THAT(store.DumpsOf("nginx", absl::InfinitePast()),
              ElementsAre(Field(&CoredumpRecord::pid, 10), Field(&CoredumpRecord::pid, 13)));
  EXPECT_EQ(store.skipped_names(), 1u) << "a bad name is counted once";
  // Vacuumed by systemd: gone.
  ASSERT_EQ(::unlink((dir.path() + "/" + DumpName("nginx", 10, t0)).c_str()), 0);
  EXPECT_THAT(store.DumpsOf("nginx", absl::InfinitePast()),
              ElementsAre(Field(&CoredumpRecord::pid, 13)));
}

TEST(CoredumpTracker, CountsNewDumpsWithinTheWindowOnce) {
  steward::testing::TempDir dir;
  auto store = std::make_shared<CoredumpStore>(dir.path());
  const absl::Time created = absl::FromUnixSeconds(1763892000);
  // A dump from before the check existed is recent, but not counted as new.
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/" +
                                  DumpName("nginx", 9, created - absl::Minutes(1)), "x").ok());
  CoredumpTracker tracker(store, created);
  const std::set<std::string> comms = {"nginx"};
  auto recent = tracker.Recent(comms, created + absl::Seconds(10), absl::Minutes(10));
  EXPECT_THAT(recent, ElementsAre(Field(&CoredumpRecord::pid, 9)));
  EXPECT_EQ(tracker.total(), 0u);
  EXPECT_EQ(DescribeRecentDumps(recent, absl::Minutes(10)),
            "dumped core 1 time in the last 10m (latest: pid 9 at 2025-11-23T09:59:00Z)");

  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/" +
                                  DumpName("nginx", 20, created + absl::Seconds(30)), "x").ok());
  recent = tracker.Recent(comms, created + absl::Seconds(40), absl::Minutes(10));
  EXPECT_EQ(recent.size(), 2u);
  EXPECT_EQ(tracker.total(), 1u);
  recent = tracker.Recent(comms, created + absl::Seconds(50), absl::Minutes(10));
  EXPECT_EQ(tracker.total(), 1u) << "the same dump is counted once";
  // Both age out of the window; the counter stays.
  recent = tracker.Recent(comms, created + absl::Minutes(20), absl::Minutes(10));
  EXPECT_THAT(recent, IsEmpty());
  EXPECT_EQ(tracker.total(), 1u);

  CoredumpTracker without_store(nullptr, created);
  EXPECT_THAT(without_store.Recent(comms, created, absl::Minutes(10)), IsEmpty());
}

}  // namespace
}  // namespace steward::agent
