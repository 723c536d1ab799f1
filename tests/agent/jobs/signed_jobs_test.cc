// Only an operator's key allows a job that changes the host: the executor
// refuses an unsigned job, one signed by a key it does not trust, an expired
// one, one for another agent, one whose action or parameters were changed
// after signing, and a replay (also after a restart), each without running
// or recording anything; a correctly signed job runs, and a deployment's
// statement covers the rollback the collector starts on its own. Real dpkg
// in a throwaway root; scripts leave markers in the test's directory.
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/jobs/job_executor.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/dpkg_test_root.h"
#include "tests/agent/jobs/job_test_fixture.h"
#include "tests/agent/jobs/signed_job.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using steward::testing::TempDir;
using testing::BuildDeb;
using ::testing::HasSubstr;
using testing::kTestAgentId;
using testing::kTestNowMs;
using testing::MakeDpkgRoot;
using testing::Signed;
using testing::StatementOf;
using testing::TestOperatorKey;

constexpr int64_t kDay = int64_t{24} * 3600 * 1000;

class SignedJobsTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDpkgRoot(root_); }

  JobExecutor Executor(std::vector<Ed25519PublicKey> trusted = {TestOperatorKey().public_key()},
                       int64_t now_ms = kTestNowMs) {
    return testing::TestExecutor(&dpkg_, dir_.path() + "/state", &debs_, now_ms, 0, std::move(trusted));
  }

  std::string Add(const testing::TestDeb& deb) {
    const std::string sha = Sha(debs_.size() + 1);
    debs_[sha] = BuildDeb(dir_.path(), deb);
    return sha;
  }
  static std::string Sha(size_t n) {
    std::string s(64, '0');
    const std::string d = absl::StrCat(n);
    return s.replace(64 - d.size(), d.size(), d);
  }

  // A script that appends a line to the marker file: how many times it ran.
  v1::JobSpec Script(const std::string& id, const std::string& line = "ran") {
    v1::JobSpec s;
    s.set_job_id(id);
    s.mutable_run_script()->add_argv("/bin/sh");
    s.mutable_run_script()->add_argv("-c");
    s.mutable_run_script()->add_argv("echo " + line + " >> " + marker_);
    return s;
  }
  v1::JobSpec Config(const std::string& id, const std::string& path, const std::string& content) {
    v1::JobSpec s;
    s.set_job_id(id);
    s.mutable_write_config()->set_path(path);
    s.mutable_write_config()->set_content(content);
    return s;
  }
  v1::JobSpec Install(const std::string& id, const std::string& sha, bool rollback = false) {
    v1::JobSpec s;
    s.set_job_id(id);
    s.mutable_install_artifact()->set_sha256(sha);
    s.set_rollback_on_failure(rollback);
    return s;
  }

  std::string Installed() {
    auto s = dpkg_.State("demo");
    if (!s.ok() || !s->has_value()) return "(none)";
    return (*s)->version;
  }
  std::string Marker() {
    absl::StatusOr<std::string> m = ReadFile(marker_);
    return m.ok() ? *m : "";
  }
  bool Recorded(const std::string& job_id) {
    return FileExists(dir_.path() + "/state/jobs/" + job_id);
  }

  // Expects `r` refused saying `why`, with nothing run or recorded.
  void ExpectRefused(const v1::JobResult& r, const std::string& why) {
    EXPECT_EQ(r.status(), v1::JOB_FAILED);
    EXPECT_THAT(r.message(), HasSubstr("refused"));
    EXPECT_THAT(r.message(), HasSubstr(why));
    EXPECT_EQ(r.exit_code(), -1);
    EXPECT_FALSE(Recorded(r.job_id())) << r.job_id();
  }

  TempDir dir_;
  const std::string root_ = dir_.path() + "/root";
  const std::string marker_ = dir_.path() + "/marker";
  DpkgBackend dpkg_{root_};
  std::map<std::string, std::string> debs_;
};

TEST_F(SignedJobsTest, AnUnsignedJobIsRefusedAndNothingRuns) {
  ExpectRefused(Executor().Run(Script("s1")), "carries no signed statement");
  ExpectRefused(Executor().Run(Install("i1", Add({.version = "1.0"}))),
                "carries no signed statement");
  v1::JobSpec rb;
  rb.set_job_id("rb");
  rb.mutable_rollback()->set_of_job_id("i1");
  ExpectRefused(Executor().Run(rb), "carries no signed statement");
  EXPECT_EQ(Marker(), "");
  EXPECT_EQ(Installed(), "(none)");
}

TEST_F(SignedJobsTest, ASignatureByAKeyTheAgentDoesNotTrustIsRefused) {
  const Ed25519PrivateKey stranger = Ed25519PrivateKey::Generate();
  ExpectRefused(Executor().Run(Signed(Script("s1"), kTestNowMs, kTestAgentId, stranger)),
                "signed only by keys this agent does not trust: " + stranger.public_key().key_id());
  // No trusted key at all: no host-changing job, however it is signed.
  ExpectRefused(Executor({}).Run(Signed(Script("s2"))), "trusts no publisher key");
  EXPECT_EQ(Marker(), "");
}

TEST_F(SignedJobsTest, AnExpiredStatementIsRefused) {
  ExpectRefused(Executor().Run(Signed(Script("s1"), kTestNowMs - 2 * kDay)), "expired at");
  // Valid up to its expiry (a day after `at`), not at it.
  ExpectRefused(Executor().Run(Signed(Script("s2"), kTestNowMs - kDay)), "expired at");
  EXPECT_EQ(Executor().Run(Signed(Script("s3"), kTestNowMs - kDay + 1)).status(),
            v1::JOB_SUCCEEDED);
  EXPECT_EQ(Marker(), "ran\n");
}

TEST_F(SignedJobsTest, AStatementForOtherAgentsIsRefused) {
  ExpectRefused(Executor().Run(Signed(Script("s1"), kTestNowMs, "agent-elsewhere")),
                "is not for this agent (agent-under-test)");
  EXPECT_EQ(Marker(), "");
}

// What a compromised collector would try: keep the signed statement, change
// the job it delivers with it.
TEST_F(SignedJobsTest, ActionOrParametersChangedAfterSigningAreRefused) {
  const std::string conf = dir_.path() + "/app.conf";
  struct Case {
    v1::JobSpec signed_spec;
    std::function<void(v1::JobSpec*)> tamper;
    std::string says;
  };
  const Case cases[] = {
      {Signed(Script("s1")),
       [&](v1::JobSpec* s) { s->mutable_run_script()->set_argv(2, "touch " + marker_); },
       "is not what was signed"},
      {Signed(Script("s2")), [](v1::JobSpec* s) { s->mutable_run_script()->add_argv("extra"); },
       "is not what was signed"},
      {Signed(Config("c1", conf, "a = 1\n")),
       [&](v1::JobSpec* s) { s->mutable_write_config()->set_path(dir_.path() + "/other.conf"); },
       "is not what was signed"},
      {Signed(Config("c2", conf, "a = 1\n")),
       [](v1::JobSpec* s) { s->mutable_write_config()->set_content("a = 2\n"); },
       "content_sha256="},
      {Signed(Config("c3", conf, "a = 1\n")),
       [](v1::JobSpec* s) { s->mutable_write_config()->set_mode(04755); }, "mode="},
      // The action swapped, the signed statement kept.
      {Signed(Config("c4", conf, "a = 1\n")),
       [](v1::JobSpec* s) { s->mutable_restart_service()->set_unit("sshd.service"); },
       "(restart_service(unit=sshd.service)) is not what was signed (write_config("},
      {Signed(Install("i1", Sha(7))),
       [](v1::JobSpec* s) { s->mutable_install_artifact()->set_sha256(Sha(8)); },
       "is not what was signed"},
      // Undoing asked for, a statement that does not allow it.
      {Signed(Install("i2", Sha(7))), [](v1::JobSpec* s) { s->set_rollback_on_failure(true); },
       "does not allow (rollback=no)"},
      // The statement's bytes edited (for this agent instead of another).
      {Signed(Script("s3"), kTestNowMs, "agent-elsewhere"),
       [](v1::JobSpec* s) {
         std::string* text = s->mutable_authorization()->mutable_statement();
         text->replace(text->find("agent-elsewhere"), 15, "agent-under-test");
       },
       "does not verify"},
  };
  for (const Case& c : cases) {
    v1::JobSpec spec = c.signed_spec;
    c.tamper(&spec);
    ExpectRefused(Executor().Run(spec), c.says);
  }
  EXPECT_EQ(Marker(), "");
  EXPECT_FALSE(FileExists(conf));
  EXPECT_FALSE(FileExists(dir_.path() + "/other.conf"));
}

TEST_F(SignedJobsTest, AReplayedStatementIsRefusedAlsoAfterARestart) {
  const v1::JobSpec first = Signed(Script("s1"));
  EXPECT_EQ(Executor().Run(first).status(), v1::JOB_SUCCEEDED);
  EXPECT_EQ(Marker(), "ran\n");
  // The same job again (the collector resends until it has the result):
  // answered from its record, not run again.
  EXPECT_EQ(Executor().Run(first).status(), v1::JOB_SUCCEEDED);
  // The statement under another job id: a replay.
  v1::JobSpec replay = first;
  replay.set_job_id("s1-again");
  ExpectRefused(Executor().Run(replay), "replay refused");
  // Even when the job's record is gone, the statement ledger remembers.
  ASSERT_EQ(unlink((dir_.path() + "/state/jobs/s1").c_str()), 0);
  JobExecutor restarted = Executor();
  EXPECT_TRUE(restarted.Unfinished().empty());  // at start: the ledger is pruned, this entry stays
  replay.set_job_id("s1-third");
  ExpectRefused(restarted.Run(replay), "was already used on this agent for job(s) s1");
  EXPECT_EQ(Marker(), "ran\n");
  // A new statement for the same script runs it.
  EXPECT_EQ(Executor().Run(Signed(Script("s2"))).status(), v1::JOB_SUCCEEDED);
  EXPECT_EQ(Marker(), "ran\nran\n");
}

// The ledger keeps a statement until a day after its expiry, also in an
// agent that is never restarted: a later job prunes it.
TEST_F(SignedJobsTest, ALongRunningAgentForgetsStatementsLongExpired) {
  const v1::JobSpec old_job = Signed(Script("old"), kTestNowMs - 3 * kDay);
  ASSERT_EQ(Executor({TestOperatorKey().public_key()}, kTestNowMs - 3 * kDay).Run(old_job).status(),
            v1::JOB_SUCCEEDED);
  const std::string ledger = dir_.path() + "/state/statements/";
  EXPECT_TRUE(FileExists(ledger + StatementOf(old_job).id));
  const v1::JobSpec new_job = Signed(Script("new"));
  ASSERT_EQ(Executor().Run(new_job).status(), v1::JOB_SUCCEEDED);
  EXPECT_FALSE(FileExists(ledger + StatementOf(old_job).id));
  EXPECT_TRUE(FileExists(ledger + StatementOf(new_job).id));
}

TEST_F(SignedJobsTest, ACorrectlySignedJobRuns) {
  v1::JobResult r = Executor().Run(Signed(Install("i1", Add({.version = "1.0"}))));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message() << r.output();
  EXPECT_EQ(Installed(), "1.0");
  const std::string conf = dir_.path() + "/app.conf";
  r = Executor().Run(Signed(Config("c1", conf, "port = 80\n")));
  EXPECT_EQ(r.status(), v1::JOB_SUCCEEDED) << r.message();
  EXPECT_EQ(ReadFile(conf).value(), "port = 80\n");
}

// A deployment signs once for all its hosts, allowing rollbacks: the
// collector's own rollback job (failed health gate) carries that statement
// and undoes the job that ran under it, once; it covers no other job.
TEST_F(SignedJobsTest, ADeploymentStatementCoversTheRollbacksTheCollectorStarts) {
  ASSERT_EQ(Executor().Run(Signed(Install("base", Add({.version = "1.0"})))).status(),
            v1::JOB_SUCCEEDED);
  const std::string v2 = Add({.version = "2.0"});
  JobStatement s = StatementOf(Signed(Install("x", v2, true)));
  s.agents = {"agent-a", kTestAgentId, "agent-z"};
  s.attempts = 3;
  const v1::JobAuthorization auth = SignJobStatement(s, TestOperatorKey());
  v1::JobSpec job = Install("d-1234abcd-1", v2, true);
  *job.mutable_authorization() = auth;
  ASSERT_EQ(Executor().Run(job).status(), v1::JOB_SUCCEEDED);
  ASSERT_EQ(Installed(), "2.0");

  auto rollback = [&](const std::string& id, const std::string& of) {
    v1::JobSpec rb;
    rb.set_job_id(id);
    rb.mutable_rollback()->set_of_job_id(of);
    *rb.mutable_authorization() = auth;
    return rb;
  };
  // Not a job of this deployment: not covered.
  ExpectRefused(Executor().Run(rollback("base-rb", "base")),
                "job base did not run under signed statement");
  EXPECT_EQ(Installed(), "2.0");
  v1::JobResult r = Executor().Run(rollback("d-1234abcd-1-rb", "d-1234abcd-1"));
  EXPECT_EQ(r.status(), v1::JOB_ROLLED_BACK) << r.message();
  EXPECT_EQ(Installed(), "1.0");
  // Once: a second rollback of it is a replay.
  ExpectRefused(Executor().Run(rollback("d-1234abcd-1-rb2", "d-1234abcd-1")),
                "rolled back under signed statement");
  // A retry (attempt 2) is within the statement's attempts.
  job.set_job_id("d-1234abcd-2");
  EXPECT_EQ(Executor().Run(job).status(), v1::JOB_SUCCEEDED);
  EXPECT_EQ(Installed(), "2.0");

  // A statement that does not allow rollbacks covers none.
  JobStatement strict = StatementOf(Signed(Script("s1")));
  const v1::JobAuthorization strict_auth = SignJobStatement(strict, TestOperatorKey());
  v1::JobSpec script = Script("s1");
  *script.mutable_authorization() = strict_auth;
  ASSERT_EQ(Executor().Run(script).status(), v1::JOB_SUCCEEDED);
  v1::JobSpec undo = rollback("s1-rb", "s1");
  *undo.mutable_authorization() = strict_auth;
  ExpectRefused(Executor().Run(undo), "does not allow rollbacks");
}

}  // namespace
}  // namespace steward::agent
