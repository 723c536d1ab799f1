// The relationship parser with good and broken fields, and DpkgBackend on
// real dpkg in a throwaway root with packages built by dpkg-deb.
#include "agent/jobs/dpkg_backend.h"

#include <string>

#include "agent/jobs/deb_relations.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/dpkg_test_root.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using steward::testing::TempDir;
using testing::BuildDeb;
using testing::MakeDpkgRoot;
using testing::TestDeb;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

TEST(ParseDebRelations, ReadsWhatDpkgWrites) {
  auto r = ParseDebRelations("libc6 (>= 2.36), libssl3 (>= 3.0.0) | libssl1.1, perl:any,"
                             "  foo (<< 2:1.0~rc1-1) [amd64] <!nocheck>, bar (= 1.0), old (< 2), new (> 1)",
                             "Depends");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 7u);
  EXPECT_EQ((*r)[0][0].name, "libc6");
  EXPECT_EQ((*r)[0][0].op, DebRelation::Op::kGreaterEq);
  EXPECT_EQ((*r)[0][0].version, "2.36");
  ASSERT_EQ((*r)[1].size(), 2u);
  EXPECT_EQ((*r)[1][1].name, "libssl1.1");
  EXPECT_EQ((*r)[1][1].op, DebRelation::Op::kAny);
  EXPECT_EQ((*r)[2][0].arch, "any");
  EXPECT_EQ((*r)[3][0].op, DebRelation::Op::kLess);
  EXPECT_EQ((*r)[3][0].version, "2:1.0~rc1-1");
  EXPECT_EQ((*r)[5][0].op, DebRelation::Op::kLessEq);     // legacy '<'
  EXPECT_EQ((*r)[6][0].op, DebRelation::Op::kGreaterEq);  // legacy '>'
  EXPECT_TRUE(ParseDebRelations("  ", "Depends")->empty());
}

TEST(ParseDebRelations, RefusesBrokenFieldsNamingTheClause) {
  const std::pair<const char*, const char*> cases[] = {
      {"libc6 (>= 2.36", "clause 1 ('libc6 (>= 2.36'): ')' missing"},
      {"a1, , b1", "clause 2"},
      {"a1 | | b1", "an empty relation"},
      {"a1, b1 (~ 2)", "clause 2 ('b1 (~ 2)'): expected one of << <= = >= >>"},
      {"a1 (>= )", "no version before ')'"},
      {"a1 (>= 1 0)", "version '1 0' is invalid"},
      {"Libc6", "does not start with a package name"},
      {"x", "does not start with a package name"},
      {"a1:", "an empty architecture"},
      {"a1 [amd64", "']' missing"},
      {"a1 (>= 1) junk", "unexpected 'junk' after a1 (>= 1)"},
  };
  for (const auto& [text, says] : cases) {
    auto r = ParseDebRelations(text, "Depends");
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_THAT(Msg(r.status()), HasSubstr(says)) << text;
  }
}

TEST(UnmetRelations, DependsConflictsAndProvides) {
  DebInstalledSet installed;
  installed.packages = {{"libc6", "2.36-9"}, {"oldlib", "1.0"}, {"app", "1.0"}, {"exim4", "4.96"}};
  installed.provides.emplace("mail-transport-agent", std::make_pair("exim4", ""));
  installed.provides.emplace("libfoo-abi", std::make_pair("oldlib", "3"));
  DebPackageRelations pkg;
  pkg.package = "app";
  pkg.depends = *ParseDebRelations(
      "libc6 (>= 2.36), oldlib (>= 2) | newlib, mail-transport-agent, libfoo-abi (>= 3), app (>= 1)", "Depends");
  pkg.conflicts = *ParseDebRelations("exim4 (<< 5), app, mail-transport-agent", "Conflicts");
  EXPECT_THAT(UnmetRelations(pkg, installed),
              ElementsAre("depends on oldlib (>= 2) | newlib, but oldlib 1.0 is installed",
                          "depends on app (>= 1), which is not installed",  // not itself
                          "conflicts with exim4 (<< 5) (installed: 4.96)",
                          "conflicts with mail-transport-agent (installed: provided by exim4)"));
  pkg.depends = *ParseDebRelations("libc6 (>= 2.36)", "Depends");
  pkg.conflicts = *ParseDebRelations("exim4 (>= 5), app", "Conflicts");
  EXPECT_TRUE(UnmetRelations(pkg, installed).empty());
}

class DpkgBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDpkgRoot(root_); }
  TempDir dir_;
  const std::string root_ = dir_.path() + "/root";
  DpkgBackend dpkg_{root_};
};

TEST_F(DpkgBackendTest, InspectsInstallsUpgradesAndRemoves) {
  const std::string v1 = BuildDeb(dir_.path(), {.version = "1.0-1"});
  const std::string v2 = BuildDeb(dir_.path(), {.version = "2.0-1"});
  auto info = dpkg_.Inspect(BuildDeb(dir_.path(), {.name = "needy", .depends = "libc6 (>= 2.36) | musl"}));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->package, "needy");
  EXPECT_EQ(info->version, "1.0");
  EXPECT_EQ(info->architecture, "all");
  EXPECT_EQ(info->installed_size_bytes, 4096u);
  ASSERT_EQ(info->relations.depends.size(), 1u);
  EXPECT_EQ(info->relations.depends[0].size(), 2u);

  EXPECT_FALSE(dpkg_.State("demo")->has_value());
  auto r = dpkg_.Install(v1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->output;
  auto state = dpkg_.State("demo");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_TRUE((*state)->installed());
  EXPECT_EQ((*state)->version, "1.0-1");
  EXPECT_EQ(ReadFile(root_ + "/usr/share/demo/version").value(), "1.0-1\n");
  ASSERT_EQ(dpkg_.Install(v2)->exit_code, 0);
  EXPECT_EQ((*dpkg_.State("demo"))->version, "2.0-1");
  auto set = dpkg_.Installed();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->packages.at("demo"), "2.0-1");
  ASSERT_EQ(dpkg_.Remove("demo")->exit_code, 0);
  EXPECT_FALSE(dpkg_.State("demo")->has_value());
  // The host's own dpkg database was not touched.
  EXPECT_FALSE(DpkgBackend().State("demo")->has_value());
}

TEST_F(DpkgBackendTest, AFailingPostinstLeavesItHalfConfiguredWithTheOutput) {
  ASSERT_EQ(dpkg_.Install(BuildDeb(dir_.path(), {.version = "1.0"}))->exit_code, 0);
  auto r = dpkg_.Install(BuildDeb(dir_.path(), {.version = "3.0", .postinst = "echo 'v3 cannot start' >&2; exit 1"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_THAT(r->output, HasSubstr("v3 cannot start"));
  auto state = dpkg_.State("demo");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_FALSE((*state)->installed());
  EXPECT_EQ((*state)->status, "install ok half-configured");
}

TEST_F(DpkgBackendTest, BrokenDebIsRefusedNamingTheFile) {
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/junk.deb", "not an archive").ok());
  auto info = dpkg_.Inspect(dir_.path() + "/junk.deb");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(info.status()), HasSubstr("junk.deb is not a readable .deb"));
}

}  // namespace
}  // namespace steward::agent
