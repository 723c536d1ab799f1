// JobExecutor on real dpkg in a throwaway root: the whole chain with a real
// collector (push signed v1, v2 and a v3 whose postinst fails; fetch,
// verify, install, roll back), pre-checks that must leave the host alone,
// and the records a kill -9 leaves behind.
#include "agent/jobs/job_executor.h"

#include <sys/stat.h>

#include <map>
#include <sstream>
#include <string>

#include "agent/jobs/kinds/kinds.h"
#include "agent/jobs/rpm_backend.h"
#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/artifact_commands.h"
#include "collector/service/collector_server.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/exec/tool_runner.h"
#include "common/file_util.h"
#include "common/jobs/job_kinds.h"
#include "common/signing/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/dpkg_test_root.h"
#include "tests/agent/jobs/job_test_fixture.h"
#include "tests/agent/jobs/signed_job.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::HasSubstr;
using testing::AptJob;
using testing::BuildDeb;
using testing::BuildRpm;
using testing::ConfigJob;
using testing::InstallJob;
using testing::JobExecutorTest;
using testing::MakeDpkgRoot;
using testing::RemoveJob;
using testing::RollbackJob;
using testing::ScriptJob;
using testing::Signed;
using testing::TestDeb;
using testing::TestOperatorKey;
using testing::kTestAgentId;

TEST_F(JobExecutorTest, WholeChainWithARealCollector) {
  collector::CollectorOptions opts;
  opts.data_dir = dir_.path() + "/data";
  opts.listen = "127.0.0.1:0";
  opts.worker_threads = 2;
  auto server = collector::CollectorServer::Start(opts);
  ASSERT_TRUE(server.ok()) << server.status();
  auto cred = ctl::LoadAdminCredential(opts.data_dir + "/admin.conf");
  ASSERT_TRUE(cred.ok());
  auto admin = ctl::MakeAdminStub(*cred);
  Ed25519PrivateKey publisher = Ed25519PrivateKey::Generate();
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/pub.key", publisher.ToPem(), 0600).ok());
  auto push = [&](const TestDeb& deb) {
    ctl::PushOptions o;
    o.file = BuildDeb(dir_.path(), deb);
    o.sign_key = dir_.path() + "/pub.key";
    o.json = true;
    std::ostringstream out;
    EXPECT_TRUE(ctl::ArtifactPush(*admin, o, out).ok());
    size_t at = out.str().find("\"sha256\": \"");
    return out.str().substr(at + 11, 64);
  };
  const std::string v1 = push({.version = "1.0"});
  const std::string v2 = push({.version = "2.0"});
  const std::string v3 = push({.version = "3.0", .postinst = "echo 'v3: cannot open /etc/demo.conf' >&2; exit 1"});
  // An enrolled agent that trusts the publisher.
  grpc::ClientContext ctx;
  v1::CreateEnrollmentTokenRequest treq;
  treq.set_ttl_seconds(600);
  treq.set_max_uses(1);
  v1::CreateEnrollmentTokenResponse token;
  ASSERT_TRUE(admin->CreateEnrollmentToken(&ctx, treq, &token).ok());
  const std::string ca = ReadFile(opts.data_dir + "/ca.pem").value();
  auto id = EnrollAgent((*server)->address(), ca, token.token(), dir_.path() + "/state", v1::HostFacts(),
                        absl::Seconds(10));
  ASSERT_TRUE(id.ok()) << id.status();
  // The collector serves an artifact only to an agent with a job for it.
  for (const std::string& sha : {v1, v2, v3}) {
    grpc::ClientContext job_ctx;
    v1::RunJobRequest job;
    job.set_agent_id(id->agent_id);
    v1::JobSpec spec;
    spec.mutable_install_artifact()->set_sha256(sha);
    *job.mutable_spec() = testing::Signed(spec, absl::ToUnixMillis(absl::Now()), id->agent_id);
    v1::RunJobResponse job_resp;
    ASSERT_TRUE(admin->RunJob(&job_ctx, job, &job_resp).ok());
  }
  FetchOptions fo;
  fo.dir = dir_.path() + "/state/artifacts";
  ArtifactFetcher fetcher(v1::AgentService::NewStub(MakeCollectorChannel((*server)->address(), ca, &*id)),
                          {publisher.public_key()}, fo);
  JobExecutorOptions eo;
  eo.state_dir = dir_.path() + "/state";
  eo.reserve_bytes = 0;
  eo.agent_id = kTestAgentId;
  eo.trusted_keys = {TestOperatorKey().public_key()};
  JobExecutor exec(&dpkg_, [&](const std::string& sha) { return fetcher.Fetch(sha); }, eo,
                   [] { return int64_t{1'800'000'000'000}; });

  v1::JobResult r = exec.Run(InstallJob("d1-h1-1", v1));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(r.package(), "demo");
  EXPECT_EQ(r.old_version(), "");
  EXPECT_EQ(r.new_version(), "1.0");
  EXPECT_EQ(r.exit_code(), 0);
  r = exec.Run(InstallJob("d2-h1-1", v2, true));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(r.new_version(), "2.0");
  EXPECT_EQ(ReadFile(root_ + "/usr/share/demo/version").value(), "2.0\n");
  // The bad release: its postinst fails, the host goes back to 2.0.
  r = exec.Run(InstallJob("d3-h1-1", v3, true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(r.old_version(), "2.0");
  EXPECT_EQ(r.new_version(), "2.0");
  EXPECT_THAT(r.message(), HasSubstr("dpkg could not install demo 3.0 (exit 1)"));
  EXPECT_THAT(r.message(), HasSubstr("rolled back to 2.0"));
  EXPECT_THAT(r.output(), HasSubstr("v3: cannot open /etc/demo.conf"));
  EXPECT_EQ(Installed(), "2.0");
  EXPECT_EQ(ReadFile(root_ + "/usr/share/demo/version").value(), "2.0\n");
  // A finished job id is answered from its record, not run again.
  const std::string status_before = ReadFile(root_ + "/var/lib/dpkg/status").value();
  r = exec.Run(InstallJob("d2-h1-1", v2, true));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED);
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(ReadFile(root_ + "/var/lib/dpkg/status").value(), status_before);
  // Undo a successful change: back to the version it replaced.
  r = exec.Run(RollbackJob("d2-h1-rb", "d2-h1-1"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(r.old_version(), "2.0");
  EXPECT_EQ(r.new_version(), "1.0");
  EXPECT_EQ(Installed(), "1.0");
}

TEST_F(JobExecutorTest, FailureWithoutRollbackLeavesTheHostAsDpkgLeftIt) {
  ASSERT_EQ(Executor().Run(InstallJob("a", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = Executor().Run(InstallJob("b", Add({.version = "3.0", .postinst = "exit 1"})));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(r.new_version(), "3.0");
  EXPECT_THAT(r.message(), HasSubstr("dpkg now shows 3.0 'install ok half-configured'"));
  // A later rollback job restores the kept 1.0.
  r = Executor().Run(RollbackJob("b-rb", "b"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "1.0");
}

TEST_F(JobExecutorTest, RollbackOfANewInstallRemovesIt) {
  v1::JobResult r = Executor().Run(InstallJob("new", Add({.version = "3.0", .postinst = "exit 1"}), true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(r.new_version(), "");
  EXPECT_EQ(Installed(), "(none)");
}

TEST_F(JobExecutorTest, RollbackImpossibleWithoutAKeptPackageIsReported) {
  // 1.0 installed outside Steward: nothing kept to go back to.
  ASSERT_EQ(dpkg_.Install(BuildDeb(dir_.path(), {.version = "1.0"}))->exit_code, 0);
  v1::JobResult r = Executor().Run(InstallJob("x", Add({.version = "3.0", .postinst = "exit 1"}), true));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("rollback failed: no package of demo 1.0 is kept on this host"));
}

TEST_F(JobExecutorTest, AlreadyAtTheVersionIsSkipped) {
  const std::string v1 = Add({.version = "1.0"});
  ASSERT_EQ(Executor().Run(InstallJob("a", v1)).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = Executor().Run(InstallJob("b", v1));
  EXPECT_EQ(r.status(), v1::JOB_SKIPPED);
  EXPECT_EQ(r.message(), "already at 1.0");
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(r.exit_code(), -1);  // dpkg did not run
}

// The collector withdrew a job: one not received yet is recorded as
// cancelled and never runs when it arrives after all; one already done
// answers with its result.
TEST_F(JobExecutorTest, ACancelledJobNeverRunsAndADoneOneKeepsItsResult) {
  const std::string v1 = Add({.version = "1.0"});
  std::optional<v1::JobResult> answer = Executor().Cancel("c", "the deployment was aborted");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status(), v1::JOB_SKIPPED);
  EXPECT_TRUE(answer->cancelled());
  EXPECT_THAT(answer->message(), HasSubstr("cancelled by the collector before it started: the deployment was"));
  v1::JobResult late = Executor().Run(InstallJob("c", v1));  // delivered after all
  EXPECT_TRUE(late.cancelled());
  EXPECT_EQ(Installed(), "(none)");
  ASSERT_EQ(Executor().Run(InstallJob("d", v1)).status(), v1::JOB_SUCCEEDED);
  answer = Executor().Cancel("d", "too late");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status(), v1::JOB_SUCCEEDED);
  EXPECT_FALSE(answer->cancelled());
  EXPECT_EQ(Installed(), "1.0");
}

TEST_F(JobExecutorTest, PreChecksRefuseBeforeAnyChange) {
  ASSERT_EQ(Executor().Run(InstallJob("base", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(Executor().Run(InstallJob("mta", Add({.name = "mta", .version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  const std::string status_before = ReadFile(root_ + "/var/lib/dpkg/status").value();
  struct Case {
    TestDeb deb;
    uint64_t reserve;
    const char* says;
  };
  const Case cases[] = {
      {{.version = "2.0", .architecture = "arm64"}, 0, "the package is for arm64; this host is amd64"},
      {{.version = "2.0", .depends = "libnothere (>= 2)"}, 0,
       "dependency problems: depends on libnothere (>= 2), which is not installed"},
      {{.version = "2.0", .depends = "mta (>= 2)"}, 0, "depends on mta (>= 2), but mta 1.0 is installed"},
      {{.version = "2.0", .conflicts = "mta"}, 0, "conflicts with mta (installed: 1.0)"},
      {{.version = "2.0"}, uint64_t{1} << 62, "not enough disk space"},
  };
  int n = 0;
  for (const Case& c : cases) {
    v1::JobResult r = Executor(c.reserve).Run(InstallJob("pre-" + std::to_string(n++), Add(c.deb), true));
    EXPECT_EQ(r.status(), v1::JOB_FAILED) << c.says;
    EXPECT_THAT(r.message(), HasSubstr(c.says));
    EXPECT_EQ(r.exit_code(), -1) << c.says;  // dpkg never ran
  }
  EXPECT_EQ(ReadFile(root_ + "/var/lib/dpkg/status").value(), status_before);
  v1::JobResult missing = Executor().Run(InstallJob("gone", std::string(64, 'f')));
  EXPECT_EQ(missing.status(), v1::JOB_FAILED);
  EXPECT_THAT(missing.message(), HasSubstr("artifact: no artifact"));
  v1::JobResult bad_id = Executor().Run(InstallJob("../etc/passwd", std::string(64, 'f')));
  EXPECT_EQ(bad_id.status(), v1::JOB_FAILED);
  EXPECT_THAT(bad_id.message(), HasSubstr("job id must be"));
}

// kill -9 between dpkg and the record of its result: the job resumes
// without running dpkg again and keeps the true old version.
TEST_F(JobExecutorTest, ResumesAfterAKillBetweenDpkgAndItsRecord) {
  ASSERT_EQ(Executor().Run(InstallJob("a", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  const std::string v2 = Add({.version = "2.0"});
  ASSERT_EQ(Executor().Run(InstallJob("b", v2)).status(), v1::JOB_SUCCEEDED);
  // Rewrite b's record as the kill left it: CHANGING, no result yet.
  const std::string path = dir_.path() + "/state/jobs/b";
  internal::AgentJobRecord rec;
  ASSERT_TRUE(rec.ParseFromString(ReadFile(path).value()));
  rec.set_phase(internal::AgentJobRecord::CHANGING);
  rec.mutable_result()->set_status(v1::JOB_RUNNING);
  rec.mutable_result()->clear_output();
  rec.mutable_result()->set_exit_code(-1);
  ASSERT_TRUE(WriteFileAtomic(path, rec.SerializeAsString()).ok());
  JobExecutor exec = Executor();
  ASSERT_EQ(exec.Unfinished().size(), 1u);
  EXPECT_EQ(exec.Unfinished()[0].job_id(), "b");
  const std::string status_before = ReadFile(root_ + "/var/lib/dpkg/status").value();
  v1::JobResult r = exec.Run(InstallJob("b", v2));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED);
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(r.exit_code(), -1);  // not run again
  EXPECT_EQ(ReadFile(root_ + "/var/lib/dpkg/status").value(), status_before);
  EXPECT_TRUE(exec.Unfinished().empty());
}

// kill -9 after the record of CHANGING but before dpkg ran: dpkg runs on
// resume, and the recorded old version stays the one before the change.
TEST_F(JobExecutorTest, ResumesAfterAKillBeforeDpkgRan) {
  ASSERT_EQ(Executor().Run(InstallJob("a", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  const std::string v2 = Add({.version = "2.0"});
  internal::AgentJobRecord rec;
  *rec.mutable_spec() = InstallJob("b", v2, true);
  rec.set_phase(internal::AgentJobRecord::CHANGING);
  rec.mutable_result()->set_job_id("b");
  rec.mutable_result()->set_package("demo");
  rec.mutable_result()->set_old_version("1.0");
  rec.mutable_result()->set_new_version("2.0");
  rec.mutable_result()->set_exit_code(-1);
  rec.set_target_deb(debs_[v2]);
  rec.set_kept_deb(dir_.path() + "/state/kept/demo_1.0.deb");
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/b", rec.SerializeAsString()).ok());
  v1::JobResult r = Executor().Run(InstallJob("b", v2, true));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message();
  EXPECT_EQ(r.exit_code(), 0);
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(Installed(), "2.0");
}

// kill -9 during rollback_on_failure: the resume finishes the rollback and
// never installs the failing version again.
TEST_F(JobExecutorTest, ResumesARollbackInterruptedByAKill) {
  ASSERT_EQ(Executor().Run(InstallJob("a", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  // The failing 3.0 ran its postinst once (the marker counts runs), then the
  // agent died while restoring: the record says ROLLING_BACK.
  const std::string marker = "/postinst-runs";
  const std::string v3 = Add({.version = "3.0", .postinst = "echo x >> " + marker + "; exit 1"});
  ASSERT_NE(dpkg_.Install(debs_[v3])->exit_code, 0);
  ASSERT_EQ(Installed(), "3.0 install ok half-configured");
  internal::AgentJobRecord rec;
  *rec.mutable_spec() = InstallJob("b", v3, true);
  rec.set_phase(internal::AgentJobRecord::ROLLING_BACK);
  rec.mutable_result()->set_job_id("b");
  rec.mutable_result()->set_package("demo");
  rec.mutable_result()->set_old_version("1.0");
  rec.mutable_result()->set_new_version("3.0");
  rec.mutable_result()->set_message("dpkg could not install demo 3.0 (exit 1)");
  rec.set_target_deb(debs_[v3]);
  rec.set_kept_deb(dir_.path() + "/state/kept/demo_1.0.deb");
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/b", rec.SerializeAsString()).ok());
  v1::JobResult r = Executor().Run(InstallJob("b", v3, true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_THAT(r.message(), HasSubstr("dpkg could not install demo 3.0 (exit 1); rolled back to 1.0"));
  EXPECT_EQ(r.new_version(), "1.0");
  EXPECT_EQ(Installed(), "1.0");
  EXPECT_EQ(ReadFile(root_ + marker).value(), "x\n");  // 3.0's postinst did not run again
}

TEST_F(JobExecutorTest, AHalfInstalledPackageIsRefusedNotTakenAsTheOldVersion) {
  ASSERT_NE(dpkg_.Install(BuildDeb(dir_.path(), {.version = "3.0", .postinst = "exit 1"}))->exit_code, 0);
  v1::JobResult r = Executor().Run(InstallJob("b", Add({.version = "2.0"}), true));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("demo 3.0 is in dpkg state 'install ok half-configured'; repair it first"));
  EXPECT_EQ(r.exit_code(), -1);
  EXPECT_EQ(Installed(), "3.0 install ok half-configured");
}

TEST_F(JobExecutorTest, AnUnreadableRecordFailsTheJobInsteadOfRunningItAgain) {
  const std::string v1 = Add({.version = "1.0"});
  ASSERT_TRUE(MakeDirs(dir_.path() + "/state/jobs", 0700).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/a", "\xff\xff not a record").ok());
  // A leftover of an interrupted atomic write is no job.
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/c.tmp.123", "partial").ok());
  JobExecutor exec = Executor();
  v1::JobResult r = exec.Run(InstallJob("a", v1));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("record of the job cannot be read"));
  EXPECT_EQ(Installed(), "(none)");
  EXPECT_TRUE(exec.Unfinished().empty());
}

TEST_F(JobExecutorTest, RemovesAPackageAndARollbackReinstallsIt) {
  ASSERT_EQ(Executor().Run(InstallJob("a", Add({.version = "1.0"}))).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = Executor().Run(RemoveJob("rm", "demo"));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(r.old_version(), "1.0");
  EXPECT_EQ(r.new_version(), "");
  EXPECT_EQ(Installed(), "(none)");
  EXPECT_EQ(Executor().Run(RemoveJob("rm2", "demo")).status(), v1::JOB_SKIPPED);  // not installed
  r = Executor().Run(RollbackJob("rm-rb", "rm"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "1.0");
  // dpkg refuses to remove what another package depends on: failed, nothing changed.
  ASSERT_EQ(Executor().Run(InstallJob("b", Add({.name = "user", .version = "1.0", .depends = "demo"}))).status(),
            v1::JOB_SUCCEEDED);
  r = Executor().Run(RemoveJob("rm3", "demo"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("dpkg would not remove demo: installed packages depend on it"));
  EXPECT_THAT(r.output(), HasSubstr("user depends on demo"));
  EXPECT_EQ(Installed(), "1.0");
  EXPECT_EQ(dpkg_.State("demo").value()->status, "install ok installed");  // not left marked "deinstall"
}

TEST_F(JobExecutorTest, RunsAProgramWithItsArgumentsVerbatimAndBoundsIt) {
  // The argument is text for the program, never for a shell.
  v1::JobResult r = Executor().Run(ScriptJob("s1", {"/bin/echo", "$(touch /tmp/steward-pwned)", ";", "done"}));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message();
  EXPECT_EQ(r.exit_code(), 0);
  EXPECT_EQ(r.output(), "$(touch /tmp/steward-pwned) ; done\n");
  EXPECT_NE(access("/tmp/steward-pwned", F_OK), 0);
  r = Executor().Run(ScriptJob("s2", {"/bin/sh", "-c", "echo to-stderr >&2; exit 3"}));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_EQ(r.exit_code(), 3);
  EXPECT_EQ(r.message(), "/bin/sh exited 3");
  EXPECT_THAT(r.output(), HasSubstr("to-stderr"));
  const absl::Time start = absl::Now();
  r = Executor().Run(ScriptJob("s3", {"/bin/sleep", "30"}, 300));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(r.message(), HasSubstr("/bin/sleep"));
  // Output beyond 64 KiB keeps its end.
  r = Executor().Run(ScriptJob("s4", {"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; echo END"}));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message();
  EXPECT_EQ(r.output().size(), 64u << 10);
  EXPECT_TRUE(absl::EndsWith(r.output(), "aaaEND\n"));
  // A bad argv is refused before anything runs.
  r = Executor().Run(ScriptJob("s5", {"echo", "x"}));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("must be an absolute path"));
}

TEST_F(JobExecutorTest, AScriptInterruptedByACrashIsNotRunAgain) {
  const std::string marker = dir_.path() + "/runs";
  v1::JobSpec spec = ScriptJob("s", {"/bin/sh", "-c", "echo x >> " + marker});
  internal::AgentJobRecord rec;
  *rec.mutable_spec() = spec;
  rec.set_phase(internal::AgentJobRecord::CHANGING);
  rec.mutable_result()->set_job_id("s");
  ASSERT_TRUE(MakeDirs(dir_.path() + "/state/jobs", 0700).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/s", rec.SerializeAsString()).ok());
  v1::JobResult r = Executor().Run(spec);
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("it is not run again"));
  EXPECT_NE(access(marker.c_str(), F_OK), 0);
}

TEST_F(JobExecutorTest, WritesAConfigFileAndRollsItBack) {
  const std::string path = dir_.path() + "/etc-app.conf";
  ASSERT_TRUE(WriteFileAtomic(path, "port = 80\n", 0600).ok());
  v1::JobResult r = Executor().Run(ConfigJob("c1", path, "port = 8080\n"));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message();
  EXPECT_EQ(ReadFile(path).value(), "port = 8080\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(Executor().Run(ConfigJob("c2", path, "port = 8080\n")).status(), v1::JOB_SKIPPED);
  r = Executor().Run(RollbackJob("c1-rb", "c1"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
  EXPECT_EQ(ReadFile(path).value(), "port = 80\n");
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // A new file's rollback removes it.
  const std::string fresh = dir_.path() + "/new.conf";
  ASSERT_EQ(Executor().Run(ConfigJob("c3", fresh, "x\n")).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(Executor().Run(RollbackJob("c3-rb", "c3")).status(), v1::JOB_ROLLED_BACK);
  EXPECT_NE(access(fresh.c_str(), F_OK), 0);
  // A job refused before it wrote anything (here: a mode no file has)
  // recorded no previous file; its rollback must not delete the one there.
  v1::JobSpec bad = ConfigJob("c4", path, "port = 9090\n");
  bad.mutable_write_config()->set_mode(070000);
  ASSERT_EQ(Executor().Run(Signed(bad)).status(), v1::JOB_FAILED);  // signed as it is: the agent's own checks refuse it
  r = Executor().Run(RollbackJob("c4-rb", "c4"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
  EXPECT_THAT(r.message(), HasSubstr("left " + path + " alone"));
  EXPECT_EQ(ReadFile(path).value(), "port = 80\n");
}

TEST_F(JobExecutorTest, OldFinishedRecordsAreCompacted) {
  const std::string path = dir_.path() + "/app.conf";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100000, 'o'), 0644).ok());
  const int64_t day = int64_t{24} * 3600 * 1000;
  // Written 40 days before "now", and one written yesterday.
  ASSERT_EQ(Executor(0, 1'800'000'000'000 - 40 * day).Run(Signed(ConfigJob("old", path, std::string(100000, 'n')), 1'800'000'000'000 - 40 * day)).status(),
            v1::JOB_SUCCEEDED);
  const std::string other = dir_.path() + "/other.conf";
  ASSERT_EQ(Executor(0, 1'800'000'000'000 - day).Run(Signed(ConfigJob("new", other, std::string(100000, 'x')), 1'800'000'000'000 - day)).status(),
            v1::JOB_SUCCEEDED);
  const std::string jobs = dir_.path() + "/state/jobs/";
  ASSERT_GT(ReadFile(jobs + "old").value().size(), 200000u);
  EXPECT_TRUE(Executor().Unfinished().empty());  // at start: nothing to resume, old records compacted
  EXPECT_LT(ReadFile(jobs + "old").value().size(), 1000u);
  EXPECT_GT(ReadFile(jobs + "new").value().size(), 100000u);  // recent: kept whole
  // A finished job is still answered from its record, never run again.
  EXPECT_EQ(Executor().Run(ConfigJob("old", path, std::string(100000, 'n'))).status(), v1::JOB_SUCCEEDED);
  v1::JobResult r = Executor().Run(RollbackJob("old-rb", "old"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("finished too long ago"));
  EXPECT_EQ(ReadFile(path).value(), std::string(100000, 'n'));  // untouched
  EXPECT_EQ(Executor().Run(RollbackJob("new-rb", "new")).status(), v1::JOB_ROLLED_BACK);
}

// Kept packages go once nothing can restore them: the one a record younger
// than compact_after_ms would roll back to stays, and so does the installed
// version's (the next change's rollback); an unreadable record stops pruning.
TEST_F(JobExecutorTest, KeptPackagesNothingCanRestoreArePruned) {
  const int64_t now = 1'800'000'000'000, day = int64_t{24} * 3600 * 1000;
  const std::string kept = dir_.path() + "/state/kept/";
  auto present = [&](const std::string& version) {
    return FileExists(kept + "demo_" + version + ".deb");
  };
  ASSERT_EQ(Executor(0, now - 40 * day).Run(Signed(InstallJob("i1", Add({.version = "1.0"})), now - 40 * day)).status(),
            v1::JOB_SUCCEEDED);
  ASSERT_EQ(Executor(0, now - 39 * day).Run(Signed(InstallJob("i2", Add({.version = "2.0"})), now - 39 * day)).status(),
            v1::JOB_SUCCEEDED);
  ASSERT_EQ(Executor(0, now - day).Run(Signed(InstallJob("i3", Add({.version = "3.0"})), now - day)).status(),
            v1::JOB_SUCCEEDED);
  // Each is still needed then: i2 and i3 roll back to 1.0 and 2.0, 3.0 is installed.
  EXPECT_TRUE(present("1.0") && present("2.0") && present("3.0"));

  // At start 40 days on, i1 and i2 are compacted; a record that cannot be
  // read might still need one, so nothing goes.
  ASSERT_TRUE(
      WriteFileAtomic(dir_.path() + "/state/jobs/garbled", "\xff\xff not a record", 0600).ok());
  EXPECT_TRUE(Executor().Unfinished().empty());
  EXPECT_TRUE(present("1.0") && present("2.0") && present("3.0"));
  ASSERT_EQ(unlink((dir_.path() + "/state/jobs/garbled").c_str()), 0);
  // A rollback of i2 accepted before a crash (RECEIVED) resumes at start:
  // what it restores stays.
  internal::AgentJobRecord early;
  *early.mutable_spec() = RollbackJob("i2-rb-early", "i2");
  early.set_phase(internal::AgentJobRecord::RECEIVED);
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/i2-rb-early", early.SerializeAsString(), 0600).ok());
  EXPECT_EQ(Executor().Unfinished().size(), 1u);
  EXPECT_TRUE(present("1.0") && present("2.0") && present("3.0"));
  ASSERT_EQ(unlink((dir_.path() + "/state/jobs/i2-rb-early").c_str()), 0);
  EXPECT_TRUE(Executor().Unfinished().empty());
  EXPECT_FALSE(present("1.0"));  // only i2's rollback needed it
  EXPECT_TRUE(present("2.0"));   // i3's rollback
  EXPECT_TRUE(present("3.0"));   // installed

  v1::JobResult r = Executor().Run(RollbackJob("i2-rb", "i2"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("finished too long ago"));
  EXPECT_EQ(Installed(), "3.0");
  ASSERT_EQ(Executor().Run(RollbackJob("i3-rb", "i3")).status(), v1::JOB_ROLLED_BACK);
  EXPECT_EQ(Installed(), "2.0");
  // 3.0 is neither installed nor what a rollback restores: a new install of
  // it fetches it again.
  EXPECT_EQ(Executor().PruneKept(), 1u);
  EXPECT_FALSE(present("3.0"));
  EXPECT_TRUE(present("2.0"));
  EXPECT_EQ(Executor().PruneKept(), 0u);

  // A package in an unclear state (a failed install left it half-configured)
  // keeps all its files; the others are still pruned.
  ASSERT_EQ(Executor().Run(InstallJob("i4", Add({.version = "4.0", .postinst = "exit 1"}))).status(),
            v1::JOB_FAILED);
  ASSERT_THAT(Installed(), HasSubstr("half-configured"));
  ASSERT_TRUE(WriteFileAtomic(kept + "demo_0.9.deb", "stray", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(kept + "stray_1.0.deb", "stray", 0600).ok());
  EXPECT_EQ(Executor().PruneKept(), 1u);
  EXPECT_TRUE(present("0.9"));
  EXPECT_FALSE(FileExists(kept + "stray_1.0.deb"));
}

// This machine runs no systemd: the restart after the write fails, and
// with rollback_on_failure the previous file comes back.
TEST_F(JobExecutorTest, AFailedRestartAfterAConfigWriteRestoresThePreviousFile) {
  const std::string path = dir_.path() + "/app.conf";
  ASSERT_TRUE(WriteFileAtomic(path, "old\n", 0644).ok());
  v1::JobResult r = Executor().Run(ConfigJob("c", path, "new\n", "steward-test-app.service", true));
  if (FindTool("systemctl").empty()) {
    EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
    EXPECT_THAT(r.message(), HasSubstr("systemctl is not installed"));
  } else {
    EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
    EXPECT_THAT(r.message(), HasSubstr("systemctl restart steward-test-app.service exited"));
  }
  EXPECT_THAT(r.message(), HasSubstr("; restored the previous " + path));
  EXPECT_EQ(ReadFile(path).value(), "old\n");
  v1::JobSpec restart;
  restart.set_job_id("r");
  restart.mutable_restart_service()->set_unit("steward-test-app.service");
  r = Executor().Run(Signed(restart));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("steward-test-app.service"));
  // Scripts and restarts cannot be undone: a rollback job says so.
  r = Executor().Run(RollbackJob("r-rb", "r"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("cannot be undone"));
}

// apt with a file: repository, confined to the test root (AptBackend root).
TEST_F(JobExecutorTest, InstallsUpgradesAndRemovesFromTheRepositoriesWithRollback) {
  const std::string repo = dir_.path() + "/repo";
  testing::MakeAptRepo(repo,
                       {BuildDeb(dir_.path(), {.version = "1.0"}), BuildDeb(dir_.path(), {.version = "2.0"}),
                        BuildDeb(dir_.path(), {.version = "3.0", .postinst = "exit 1"}),
                        BuildDeb(dir_.path(), {.name = "user", .version = "1.0", .depends = "demo"})},
                       root_);
  AptBackend apt(root_);
  JobExecutor exec = Executor();
  exec.set_apt(&apt);
  v1::JobResult r = exec.Run(AptJob("a1", "demo", "1.0"));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ((r.old_version() + "->" + r.new_version()), "->1.0");
  EXPECT_EQ(Installed(), "1.0");
  r = exec.Run(AptJob("a2", "demo", "2.0"));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(Installed(), "2.0");
  EXPECT_EQ(exec.Run(AptJob("a3", "demo", "2.0")).status(), v1::JOB_SKIPPED);
  // A version the repositories do not have: refused before any change.
  r = exec.Run(AptJob("a4", "demo", "9.9"));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("apt-get refuses: Version '9.9' for 'demo' was not found"));
  // The bad 3.0 (its postinst fails): rolled back to 2.0 from the repository.
  r = exec.Run(AptJob("a5", "demo", "3.0"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_THAT(r.message(), HasSubstr("apt-get could not install demo 3.0"));
  EXPECT_THAT(r.message(), HasSubstr("rolled back to 2.0"));
  EXPECT_EQ(Installed(), "2.0");
  // Removing what another package needs would remove that one too: refused.
  ASSERT_EQ(exec.Run(AptJob("a6", "user", "")).status(), v1::JOB_SUCCEEDED);
  r = exec.Run(AptJob("a7", "demo", "", true));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("the change would remove other packages (user); not done"));
  EXPECT_EQ(Installed(), "2.0");
  r = exec.Run(AptJob("a8", "user", "", true));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(Installed("user"), "(none)");
  // A rollback job of the upgrade puts 1.0 back from the repository.
  r = exec.Run(RollbackJob("a2-rb", "a2"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(Installed(), "1.0");
  // The agent killed while apt ran dpkg: 2.0 unpacked, never configured,
  // and the job's record says CHANGING. On restart it finishes the change
  // (apt-get alone refuses: "dpkg was interrupted").
  auto unpacked = RunCommand({FindTool("dpkg"), "--root=" + root_, "--unpack",
                              BuildDeb(dir_.path(), {.version = "2.0"})}, absl::Minutes(1));
  ASSERT_TRUE(unpacked.ok() && unpacked->exit_code == 0) << (unpacked.ok() ? unpacked->output : "");
  ASSERT_NE(dpkg_.State("demo").value()->status, "install ok installed");
  // dpkg's journal of an operation it did not finish.
  ASSERT_TRUE(WriteFileAtomic(root_ + "/var/lib/dpkg/updates/0001", "").ok());
  internal::AgentJobRecord rec;
  *rec.mutable_spec() = AptJob("k", "demo", "2.0");
  rec.set_phase(internal::AgentJobRecord::CHANGING);
  rec.mutable_result()->set_job_id("k");
  rec.mutable_result()->set_package("demo");
  rec.mutable_result()->set_old_version("1.0");
  rec.mutable_result()->set_new_version("2.0");
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/state/jobs/k", rec.SerializeAsString()).ok());
  r = exec.Run(AptJob("k", "demo", "2.0"));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(Installed(), "2.0");
}

// .rpm artifacts through rpm --root, in the same throwaway root (its /bin/sh
// runs the scriptlets): install, upgrade, a failing %post rolled back, and
// a rollback job.
TEST_F(JobExecutorTest, RpmArtifactsInstallUpgradeAndRollBack) {
  if (FindTool("rpm").empty() || FindTool("rpmbuild").empty()) {
    FAIL() << "rpm and rpmbuild are needed (deploy/install-deps.sh installs them)";
  }
  RpmBackend rpm(root_);
  // The root's /bin/sh (MakeDpkgRoot) as rpm sees it: scriptlets require it.
  auto base = rpm.Install(BuildRpm(dir_.path(), "base", "1", "", "/bin/sh"));
  ASSERT_TRUE(base.ok() && base->exit_code == 0) << (base.ok() ? base->output : base.status().ToString());
  JobExecutor exec = Executor();
  exec.set_rpm(&rpm);
  auto add = [&](const std::string& version, const std::string& post = "") {
    const std::string sha = absl::StrFormat("%064x", 1000 + debs_.size());
    debs_[sha] = BuildRpm(dir_.path(), "demo", version, post);
    return sha;
  };
  auto rpm_version = [&] {
    auto st = rpm.State("demo");
    return st.ok() && st->has_value() ? (*st)->version : std::string("(none)");
  };
  v1::JobResult r = exec.Run(InstallJob("r1", add("1.0"), true));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(r.new_version(), "1.0-1");
  EXPECT_EQ(rpm_version(), "1.0-1");
  r = exec.Run(InstallJob("r2", add("2.0"), true));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(r.old_version(), "1.0-1");
  EXPECT_EQ(rpm_version(), "2.0-1");
  EXPECT_EQ(exec.Run(InstallJob("r2b", add("2.0"))).status(), v1::JOB_SKIPPED);
  // rpm keeps 3.0 installed when its %post fails; the job does not call that success.
  r = exec.Run(InstallJob("r3", add("3.0", "echo 'demo 3.0: cannot start' >&2; exit 1"), true));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_THAT(r.output(), HasSubstr("demo 3.0: cannot start"));
  EXPECT_EQ(r.new_version(), "2.0-1");
  EXPECT_EQ(rpm_version(), "2.0-1");
  r = exec.Run(RollbackJob("r2-rb", "r2"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message() << r.output();
  EXPECT_EQ(rpm_version(), "1.0-1");
  // Without an rpm backend the agent refuses .rpm artifacts.
  JobExecutor plain = Executor();
  r = plain.Run(InstallJob("r4", add("4.0")));
  EXPECT_EQ(r.status(), v1::JOB_FAILED);
  EXPECT_THAT(r.message(), HasSubstr("does not manage rpm packages"));
}

// The agent's registration list covers the common table of kinds: a kind
// the collector accepts is one this agent runs.
TEST(AgentJobKinds, EveryKindOfTheCommonTableHasItsFileHere) {
  for (const JobKind& k : JobKinds()) {
    const AgentJobKind* mine = FindAgentJobKind(k.action);
    ASSERT_NE(mine, nullptr) << k.name << " has no line in agent/jobs/kinds/kinds.cc";
    EXPECT_NE(mine->run, nullptr) << k.name;
    EXPECT_NE(mine->changed, nullptr) << k.name;
  }
}

TEST(ParseAptSimulation, ReadsInstAndRemvLines) {
  AptPlan p = ParseAptSimulation(
      "Reading package lists...\nInst demo [1.0] (2.0 localhost [all])\nInst libx (3:1.2-1 Debian:12/stable [amd64])\n"
      "Remv user [1.0]\nConf demo (2.0 localhost [all])\nInst\n");
  ASSERT_EQ(p.installs.size(), 2u);
  EXPECT_EQ(p.installs[0], std::make_pair(std::string("demo"), std::string("2.0")));
  EXPECT_EQ(p.installs[1], std::make_pair(std::string("libx"), std::string("3:1.2-1")));
  EXPECT_EQ(p.removals, std::vector<std::string>{"user"});
}

TEST(DpkgStatusInstalled, CountsTriggerStatesAndHoldsAsInstalled) {
  EXPECT_TRUE(DpkgStatusInstalled("install ok installed"));
  EXPECT_TRUE(DpkgStatusInstalled("hold ok installed"));
  EXPECT_TRUE(DpkgStatusInstalled("install ok triggers-pending"));
  EXPECT_TRUE(DpkgStatusInstalled("install ok triggers-awaited"));
  EXPECT_FALSE(DpkgStatusInstalled("install ok half-configured"));
  EXPECT_FALSE(DpkgStatusInstalled("install ok unpacked"));
  EXPECT_FALSE(DpkgStatusInstalled("install reinstreq half-installed"));
  EXPECT_FALSE(DpkgStatusInstalled("deinstall ok config-files"));
  EXPECT_FALSE(DpkgStatusInstalled(""));
  EXPECT_FALSE(DpkgStatusInstalled("install ok installed extra"));
}

}  // namespace
}  // namespace steward::agent
