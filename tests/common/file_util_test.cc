#include "common/file_util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/steward-file-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static int Mode(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return -1;
    return st.st_mode & 07777;
  }
  std::string dir_;
};

// Restores the process umask when it goes out of scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : old_(::umask(m)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST_F(FileUtilTest, WriteFileAtomicThenReadFileRoundTrips) {
  std::string path = dir_ + "/data.bin";
  std::string data("binary\0data\xff\n", 13);
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
}

TEST_F(FileUtilTest, WriteFileAtomicHandlesLargeAndEmptyFiles) {
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i);
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/big", big).ok());
  EXPECT_EQ(ReadFile(dir_ + "/big").value(), big);
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/empty", "").ok());
  EXPECT_EQ(ReadFile(dir_ + "/empty").value(), "");
}

TEST_F(FileUtilTest, WriteFileAtomicSetsExactModeDespiteUmask) {
  ScopedUmask umask(022);
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/secret", "k", 0600).ok());
  EXPECT_EQ(Mode(dir_ + "/secret"), 0600);
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/public", "p", 0644).ok());
  EXPECT_EQ(Mode(dir_ + "/public"), 0644);
  // A umask would strip group write; the mode is still exact.
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/group", "g", 0664).ok());
  EXPECT_EQ(Mode(dir_ + "/group"), 0664);
}

TEST_F(FileUtilTest, WriteFileAtomicOverwritesAndTakesTheNewMode) {
  std::string path = dir_ + "/conf";
  ASSERT_TRUE(WriteFileAtomic(path, "first version, longer", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600).ok());
  EXPECT_EQ(ReadFile(path).value(), "second");
  EXPECT_EQ(Mode(path), 0600);
}

TEST_F(FileUtilTest, WriteFileAtomicLeavesNoTempFile) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/f", "x").ok());
  std::string tmp = dir_ + "/f.tmp." + std::to_string(::getpid());
  EXPECT_FALSE(FileExists(tmp));
}

TEST_F(FileUtilTest, WriteFileAtomicIntoMissingDirectoryNamesThePath) {
  std::string path = dir_ + "/no/such/dir/file";
  absl::Status s = WriteFileAtomic(path, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), dir_ + "/no/such/dir/file")) << s;
  EXPECT_FALSE(FileExists(path));
}

TEST_F(FileUtilTest, ReadFileMissingIsNotFoundAndNamesPath) {
  auto r = ReadFile(dir_ + "/absent");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), dir_ + "/absent")) << r.status();
}

TEST_F(FileUtilTest, ReadFileOfDirectoryFails) {
  auto r = ReadFile(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), dir_)) << r.status();
}

TEST_F(FileUtilTest, MakeDirsCreatesNestedDirectoriesWithMode) {
  ScopedUmask umask(0);
  std::string path = dir_ + "/a/b/c";
  ASSERT_TRUE(MakeDirs(path, 0700).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(Mode(dir_ + "/a"), 0700);
  EXPECT_EQ(Mode(path), 0700);
  // Existing directories are fine, also with a trailing slash.
  EXPECT_TRUE(MakeDirs(path).ok());
  EXPECT_TRUE(MakeDirs(path + "/").ok());
}

TEST_F(FileUtilTest, MakeDirsThroughAFileFails) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/file", "x").ok());
  absl::Status s = MakeDirs(dir_ + "/file");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), dir_ + "/file")) << s;
  absl::Status below = MakeDirs(dir_ + "/file/sub");
  ASSERT_FALSE(below.ok());
  EXPECT_TRUE(absl::StrContains(below.message(), dir_ + "/file")) << below;
}

TEST_F(FileUtilTest, MakeDirsRejectsEmptyPath) {
  EXPECT_EQ(MakeDirs("").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FileUtilTest, FileExistsReportsPresence) {
  EXPECT_TRUE(FileExists(dir_));
  EXPECT_FALSE(FileExists(dir_ + "/nope"));
}

}  // namespace
}  // namespace steward
