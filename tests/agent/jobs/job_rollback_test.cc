// What a failed job and its rollback leave on the host and report, on real
// dpkg, apt and rpm in a throwaway root: apt never takes other packages
// along, forward or back; a zero epoch does not lose the kept package; a
// resumed rpm install does not hide a failed %post; write_config keeps a
// symlink, owner and group; the failing command's exit code is reported;
// a failed apt job that changed the host can be rolled back.
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "agent/jobs/job_executor.h"
#include "agent/jobs/rpm_backend.h"
#include "common/exec/tool_runner.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/dpkg_test_root.h"
#include "tests/agent/jobs/job_test_fixture.h"
#include "tests/agent/jobs/signed_job.h"

namespace steward::agent {
namespace {

using testing::AptJob;
using testing::BuildDeb;
using testing::BuildRpm;
using testing::ConfigJob;
using ::testing::HasSubstr;
using testing::InstallJob;
using testing::JobExecutorTest;
using testing::RollbackJob;

class AptRollbackTest : public JobExecutorTest {
 protected:
  // A repository with demo 1.0 and 2.0, `user` that needs demo >= 2.0 and
  // `any` that needs any demo; apt confined to the test root.
  void SetUp() override {
    JobExecutorTest::SetUp();
    testing::MakeAptRepo(
        dir_.path() + "/repo",
        {BuildDeb(dir_.path(), {.version = "1.0"}), BuildDeb(dir_.path(), {.version = "2.0"}),
         BuildDeb(dir_.path(), {.version = "3.0", .postinst = "exit 1"}),
         BuildDeb(dir_.path(), {.name = "user", .version = "1.0", .depends = "demo (>= 2.0)"}),
         BuildDeb(dir_.path(), {.name = "any", .version = "1.0", .depends = "demo"})},
        root_);
  }
  JobExecutor AptExecutor() {
    JobExecutor exec = Executor();
    exec.set_apt(&apt_);
    return exec;
  }
  AptBackend apt_{root_};
};

// Rolling back an upgrade would take `user` (needs the new version) along:
// refused, nothing removed, and the job says so.
TEST_F(AptRollbackTest, RollingBackAnUpgradeNeverRemovesAPackageThatNeedsTheNewVersion) {
  JobExecutor exec = AptExecutor();
  ASSERT_EQ(exec.Run(AptJob("a1", "demo", "1.0")).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(exec.Run(AptJob("a2", "demo", "2.0")).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(exec.Run(AptJob("a3", "user", "")).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = exec.Run(RollbackJob("a2-rb", "a2"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED) << r.message() << r.output();
  EXPECT_THAT(r.message(), HasSubstr("would remove other packages (user); not done"));
  EXPECT_THAT(r.message(), HasSubstr("demo stays at 2.0"));
  EXPECT_THAT(r.output(), HasSubstr("Remv user"));  // the simulation that showed it
  EXPECT_EQ(Installed(), "2.0");
  EXPECT_EQ(Installed("user"), "1.0");
}

// Rolling back a new install removes the package; not when `any` came to
// depend on it since.
TEST_F(AptRollbackTest, RollingBackAnInstallNeverRemovesADependentPackage) {
  JobExecutor exec = AptExecutor();
  ASSERT_EQ(exec.Run(AptJob("a1", "demo", "1.0")).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(exec.Run(AptJob("a2", "any", "")).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = exec.Run(RollbackJob("a1-rb", "a1"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED) << r.message() << r.output();
  EXPECT_THAT(r.message(), HasSubstr("would remove other packages (any); not done"));
  EXPECT_EQ(Installed(), "1.0");
  EXPECT_EQ(Installed("any"), "1.0");
  // Without a dependent, the same rollback removes it.
  ASSERT_EQ(exec.Run(AptJob("a3", "any", "", true)).status(), v1::JOB_SUCCEEDED);
  r = exec.Run(RollbackJob("a1-rb2", "a1"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "(none)");
}

// rollback_on_failure goes through the same check, which lets a rollback
// that removes nothing else through: the failed 3.0 goes back to 2.0 and
// `any` stays.
TEST_F(AptRollbackTest, RollbackOnFailureKeepsOtherPackages) {
  JobExecutor exec = AptExecutor();
  ASSERT_EQ(exec.Run(AptJob("a1", "demo", "2.0")).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(exec.Run(AptJob("a2", "any", "")).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = exec.Run(AptJob("a3", "demo", "3.0"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "2.0");
  EXPECT_EQ(Installed("any"), "1.0");
}

// A failed apt job (no rollback_on_failure) leaves 3.0 half-configured: a
// rollback job puts 2.0 back instead of saying "nothing to undo".
TEST_F(AptRollbackTest, AFailedAptJobThatChangedTheHostCanBeRolledBack) {
  JobExecutor exec = AptExecutor();
  ASSERT_EQ(exec.Run(AptJob("a1", "demo", "2.0")).status(), v1::JOB_SUCCEEDED);
  v1::JobSpec failing = AptJob("a2", "demo", "3.0");
  failing.set_rollback_on_failure(false);
  v1::JobResult r = exec.Run(testing::Signed(failing));
  ASSERT_EQ(r.status(), v1::JOB_FAILED) << r.message();
  EXPECT_THAT(r.message(), HasSubstr("dpkg now shows 3.0 'install ok half-configured'"));
  EXPECT_GT(r.exit_code(), 0);
  r = exec.Run(RollbackJob("a2-rb", "a2"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(r.old_version(), "3.0");
  EXPECT_EQ(r.new_version(), "2.0");
  EXPECT_EQ(Installed(), "2.0");
  // A failed job that never ran apt-get changed nothing: nothing to undo.
  ASSERT_EQ(exec.Run(AptJob("a3", "demo", "9.9")).status(), v1::JOB_FAILED);
  r = exec.Run(RollbackJob("a3-rb", "a3"));
  EXPECT_EQ(r.status(), v1::JOB_SKIPPED) << r.message();
  EXPECT_THAT(r.message(), HasSubstr("left nothing to undo"));
}

// The control file says 0:1.0, dpkg shows 1.0: the kept package is found
// (and not pruned) under the version dpkg shows.
TEST_F(JobExecutorTest, AZeroEpochVersionCanBeRolledBack) {
  JobExecutor exec = Executor();
  ASSERT_EQ(exec.Run(InstallJob("a", Add({.version = "0:1.0"}))).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(Installed(), "1.0");
  EXPECT_EQ(exec.PruneKept(), 0u);  // the installed version's package stays
  ASSERT_EQ(exec.Run(InstallJob("b", Add({.version = "2.0"}))).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = exec.Run(RollbackJob("b-rb", "b"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "1.0");
  // And a failing upgrade from it rolls back by itself.
  r = exec.Run(InstallJob("c", Add({.version = "3.0", .postinst = "exit 1"}), true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "1.0");
}

// The failing dpkg exited 1: a rolled-back job and a failed one say 1, not
// the exit of the dpkg that ran after it.
TEST_F(JobExecutorTest, AFailedJobReportsTheExitCodeOfTheCommandThatFailed) {
  JobExecutor exec = Executor();
  ASSERT_EQ(exec.Run(InstallJob("a", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = exec.Run(InstallJob("b", Add({.version = "3.0", .postinst = "exit 1"}), true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_THAT(r.message(), HasSubstr("(exit 1)"));
  // The rollback fails too (its kept package was removed by hand): FAILED,
  // exit 1 (the install), the rollback's reason in the message.
  ASSERT_EQ(exec.Run(InstallJob("c", Add({.version = "2.0"}))).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(unlink((dir_.path() + "/state/kept/demo_2.0.deb").c_str()), 0);
  r = exec.Run(InstallJob("d", Add({.version = "4.0", .postinst = "exit 1"}), true));
  EXPECT_EQ(r.status(), v1::JOB_FAILED) << r.message();
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_THAT(r.message(), HasSubstr("rollback failed"));
  // A new install whose postinst fails is rolled back by dpkg --remove (exit 0).
  r = exec.Run(
      InstallJob("e", Add({.name = "fresh", .version = "1.0", .postinst = "exit 1"}), true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
  EXPECT_EQ(r.exit_code(), 1);
}

// rpm leaves a package installed when its %post fails; a crash right after
// rpm ran leaves the job CHANGING with rpm showing the new version. The
// resumed job runs the install again and sees %post fail: rolled back, not
// SUCCEEDED.
TEST_F(JobExecutorTest, AResumedRpmInstallWhosePostFailedIsNotASuccess) {
  ASSERT_FALSE(FindTool("rpm").empty() || FindTool("rpmbuild").empty())
      << "rpm and rpmbuild are needed (deploy/install-deps.sh installs them)";
  RpmBackend rpm(root_);
  auto base = rpm.Install(BuildRpm(dir_.path(), "base", "1", "", "/bin/sh"));
  ASSERT_TRUE(base.ok() && base->exit_code == 0) << (base.ok() ? base->output : "");
  JobExecutor exec = Executor();
  exec.set_rpm(&rpm);
  const std::string v1 = "00000000000000000000000000000000000000000000000000000000000000a1";
  const std::string v2 = "00000000000000000000000000000000000000000000000000000000000000a2";
  debs_[v1] = BuildRpm(dir_.path(), "demo", "1.0");
  debs_[v2] = BuildRpm(dir_.path(), "demo", "2.0", "echo 'demo 2.0: cannot start' >&2; exit 1");
  ASSERT_EQ(exec.Run(InstallJob("r1", v1, true)).status(), v1::JOB_SUCCEEDED);
  // The kill: 2.0 installed by rpm (its %post failed), the record CHANGING.
  auto ran = rpm.Install(debs_[v2]);
  ASSERT_TRUE(ran.ok() && ran->exit_code == 1) << (ran.ok() ? ran->output : "");
  internal::AgentJobRecord rec;
  *rec.mutable_spec() = InstallJob("r2", v2, true);
  rec.set_phase(internal::AgentJobRecord::CHANGING);
  rec.set_package_kind("rpm");
  rec.mutable_result()->set_job_id("r2");
  rec.mutable_result()->set_package("demo");
  rec.mutable_result()->set_old_version("1.0-1");
  rec.mutable_result()->set_new_version("2.0-1");
  rec.mutable_result()->set_exit_code(-1);
  rec.set_target_deb(debs_[v2]);
  rec.set_kept_deb(dir_.path() + "/state/kept/demo_1.0-1.rpm");
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/r2", rec.SerializeAsString()).ok());
  JobExecutor resumed = Executor();  // the agent restarted
  resumed.set_rpm(&rpm);
  v1::JobResult r = resumed.Run(InstallJob("r2", v2, true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_THAT(r.output(), HasSubstr("demo 2.0: cannot start"));
  EXPECT_EQ(r.exit_code(), 1);
  auto st = rpm.State("demo");
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->version, "1.0-1");
}

// A symlink at the path stays one (the file it points to is written), and
// the file keeps its owner and group; the rollback puts back content and
// mode the same way.
TEST_F(JobExecutorTest, WriteConfigWritesThroughASymlinkKeepingOwnerAndGroup) {
  const uid_t uid = geteuid() == 0 ? 1234 : geteuid();
  const gid_t gid = geteuid() == 0 ? 2345 : getegid();
  const std::string real = dir_.path() + "/srv-app.conf";
  const std::string link = dir_.path() + "/etc-app.conf";
  ASSERT_TRUE(WriteFileAtomic(real, "port = 80\n", 0600).ok());
  ASSERT_EQ(chown(real.c_str(), uid, gid), 0);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  auto check = [&](const std::string& content, mode_t mode) {
    struct stat st;
    ASSERT_EQ(lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)) << link << " is no longer a symlink";
    ASSERT_EQ(stat(real.c_str(), &st), 0);
    EXPECT_EQ(ReadFile(real).value_or("(unreadable)"), content);
    EXPECT_EQ(st.st_mode & 07777, mode);
    EXPECT_EQ(st.st_uid, uid);
    EXPECT_EQ(st.st_gid, gid);
  };
  v1::JobResult r = Executor().Run(ConfigJob("c1", link, "port = 8080\n"));
  ASSERT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message();
  check("port = 8080\n", 0640);
  r = Executor().Run(RollbackJob("c1-rb", "c1"));
  ASSERT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
  check("port = 80\n", 0600);
  // A link to nothing is refused, and nothing is created.
  const std::string dangling = dir_.path() + "/dangling.conf";
  ASSERT_EQ(symlink((dir_.path() + "/nowhere/x.conf").c_str(), dangling.c_str()), 0);
  r = Executor().Run(ConfigJob("c2", dangling, "x\n"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("is a symlink to a file that does not exist"));
}

}  // namespace
}  // namespace steward::agent
