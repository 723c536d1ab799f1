// The binary's build facts, and the generated commit file: from git, from a
// tarball without .git ("unknown"), from -DSTEWARD_GIT_COMMIT, and rewritten
// only when the commit changes (so a new commit recompiles one file).

#include "common/build_info/build_info.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward {
namespace {

using ::testing::MatchesRegex;
using testing::RunProcess;
using testing::RunShell;
using testing::StderrMode;

TEST(BuildInfo, CarriesTheProjectVersionBuildTypeAndProtocol) {
  const BuildInfo& info = GetBuildInfo();
  EXPECT_EQ(info.version, STEWARD_EXPECTED_VERSION);
  EXPECT_EQ(info.build_type, STEWARD_EXPECTED_BUILD_TYPE);
  EXPECT_EQ(info.protocol_version, kProtocolVersion);
  EXPECT_EQ(info.protocol_version, 1u);
  EXPECT_THAT(info.git_commit, MatchesRegex("([0-9a-f]{7,}(-dirty)?|unknown)"));
  EXPECT_EQ(&GetBuildInfo(), &info);
}

TEST(BuildInfo, VersionTextIsOneLineWithTheFourFacts) {
  const BuildInfo& info = GetBuildInfo();
  EXPECT_EQ(VersionText("steward-agent"), "steward-agent " + info.version + " (commit " +
                                              info.git_commit + ", " + info.build_type +
                                              ", protocol 1)");
  EXPECT_EQ(VersionText("x").find('\n'), std::string::npos);
}

// Runs build_commit.cmake for `source_dir` into `output`; the file's text.
std::string GenerateCommitFile(const std::string& source_dir, const std::string& output,
                               const std::string& commit = "") {
  auto run = RunProcess({STEWARD_CMAKE_COMMAND, "-DSOURCE_DIR=" + source_dir, "-DOUTPUT=" + output,
                         "-DCOMMIT=" + commit, "-P", STEWARD_BUILD_COMMIT_SCRIPT},
                        StderrMode::kMerge);
  EXPECT_TRUE(run.has_value());
  if (run.has_value()) EXPECT_EQ(run->exit_code, 0) << run->out;
  std::ifstream in(output);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

TEST(BuildCommitScript, ATarballWithoutGitSaysUnknownAndAGivenCommitWins) {
  testing::TempDir dir;
  const std::string src = dir.path() + "/steward-0.1.0";  // as unpacked from a tarball
  ASSERT_EQ(RunShell("mkdir -p '" + src + "'")->exit_code, 0);
  const std::string out = dir.path() + "/build_commit.cc";
  EXPECT_THAT(GenerateCommitFile(src, out),
              ::testing::HasSubstr("kStewardGitCommit[] = \"unknown\";"));
  EXPECT_THAT(GenerateCommitFile(src, out, "1a2b3c4"),
              ::testing::HasSubstr("kStewardGitCommit[] = \"1a2b3c4\";"));
  // Whatever a packager passes stays a C string literal.
  EXPECT_THAT(GenerateCommitFile(src, out, "x\";evil"),
              ::testing::HasSubstr("kStewardGitCommit[] = \"xevil\";"));
}

TEST(BuildCommitScript, TakesTheCommitOfItsOwnWorkTreeAndRewritesOnlyOnChange) {
  if (RunShell("git --version")->exit_code != 0) GTEST_SKIP() << "no git";
  testing::TempDir dir;
  const std::string repo = dir.path() + "/repo";
  const std::string git = "git -C '" + repo + "' -c user.name=t -c user.email=t@example.com ";
  ASSERT_EQ(RunShell("mkdir -p '" + repo + "/sub' && git init -q '" + repo + "' && echo a > '" +
                     repo + "/f' && " + git + "add f && " + git + "commit -qm one")
                ->exit_code,
            0);
  const std::string hash = RunShell(git + "rev-parse --short=7 HEAD")->out.substr(0, 7);
  const std::string out = dir.path() + "/build_commit.cc";
  EXPECT_THAT(GenerateCommitFile(repo, out), ::testing::HasSubstr("\"" + hash + "\""));
  // The same commit again: the file is left alone (nothing recompiles).
  const int64_t before = MtimeNs(out);
  ASSERT_EQ(RunShell("sleep 0.05")->exit_code, 0);
  GenerateCommitFile(repo, out);
  EXPECT_EQ(MtimeNs(out), before);
  // A local change marks the commit dirty; a new commit changes it.
  ASSERT_EQ(RunShell("echo b > '" + repo + "/f'")->exit_code, 0);
  EXPECT_THAT(GenerateCommitFile(repo, out), ::testing::HasSubstr("\"" + hash + "-dirty\""));
  ASSERT_EQ(RunShell(git + "commit -qam two")->exit_code, 0);
  const std::string text = GenerateCommitFile(repo, out);
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr(hash)));
  EXPECT_THAT(text, ::testing::MatchesRegex("(.|\n)*\"[0-9a-f]{7}\";\n"));
  // A tarball unpacked inside another repository does not take its commit.
  EXPECT_THAT(GenerateCommitFile(repo + "/sub", out), ::testing::HasSubstr("\"unknown\""));
}

}  // namespace
}  // namespace steward
