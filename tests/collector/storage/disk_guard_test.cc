#include "collector/storage/disk_guard.h"

#include <atomic>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

TEST(DiskGuard, RefusesBelowTheReserveAndResumesWhenSpaceIsBack) {
  std::atomic<uint64_t> tsdb_free{1u << 30};
  DiskGuard guard({"/data/db", "/data/tsdb"}, 8u << 20, [&](const std::string& dir) -> absl::StatusOr<uint64_t> {
    return dir == "/data/tsdb" ? tsdb_free.load() : uint64_t{1} << 30;
  });
  EXPECT_TRUE(guard.CheckIngest().ok());
  EXPECT_FALSE(guard.full());

  tsdb_free = 2u << 20;
  absl::Status full = guard.CheckIngest();
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_TRUE(absl::StrContains(full.message(), "collector disk full: 2.0 MiB free on /data/tsdb")) << full;
  EXPECT_TRUE(absl::StrContains(full.message(), "below the reserve of 8.0 MiB (--min-free-disk)")) << full;
  EXPECT_TRUE(guard.full());
  EXPECT_FALSE(guard.CheckIngest().ok());  // still full: every call looks again

  tsdb_free = 8u << 20;  // exactly the reserve is enough
  EXPECT_TRUE(guard.CheckIngest().ok());
  EXPECT_FALSE(guard.full());
}

TEST(DiskGuard, ZeroTurnsItOff) {
  DiskGuard guard({"/data"}, 0, [](const std::string&) -> absl::StatusOr<uint64_t> { return 0; });
  EXPECT_TRUE(guard.CheckIngest().ok());
}

TEST(DiskGuard, AFilesystemThatCannotBeAskedIsNotCalledFull) {
  testing::TempDir dir;
  DiskGuard guard({dir.path() + "/missing"}, 1);
  EXPECT_FALSE(DiskGuard::StatvfsFreeBytes(dir.path() + "/missing").ok());
  EXPECT_TRUE(guard.CheckIngest().ok());
}

TEST(DiskGuard, StatvfsSeesTheRealFilesystem) {
  testing::TempDir dir;
  auto free = DiskGuard::StatvfsFreeBytes(dir.path());
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_GT(*free, 0u);
  // A reserve larger than any disk here is never met.
  DiskGuard guard({dir.path()}, ~uint64_t{0});
  EXPECT_TRUE(absl::IsResourceExhausted(guard.CheckIngest()));
}

TEST(HumanBytes, PicksTheUnit) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(256u << 20), "256 MiB");
  EXPECT_EQ(HumanBytes(uint64_t{3} << 40), "3.0 TiB");
}

}  // namespace
}  // namespace steward::collector
