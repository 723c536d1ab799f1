// Signed job statements: one canonical spelling (what is parsed is what was
// signed), every malformed or non-canonical text refused naming the line,
// and the checks an agent makes before it runs a job.
#include "common/jobs/job_statement.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000'000;

v1::JobSpec ScriptJob() {
  v1::JobSpec s;
  s.set_job_id("job-1");
  s.mutable_run_script()->add_argv("/bin/sh");
  s.mutable_run_script()->add_argv("-c");
  s.mutable_run_script()->add_argv("printf 'a=b\\n%s' \"100%\"\n# two lines");
  return s;
}

JobStatement StatementFor(const v1::JobSpec& spec) {
  JobStatement s = StatementForAction(spec).value();
  s.agents = {"0123456789abcdef", "fedcba9876543210"};
  s.issued_ms = kNow - 1000;
  s.expires_ms = kNow + 3600 * 1000;
  return s;
}

TEST(JobStatement, EncodesOneFieldPerLineWithEscapesAndParsesBack) {
  JobStatement s = StatementFor(ScriptJob());
  s.id = std::string(32, 'a');
  const std::string text = EncodeJobStatement(s);
  EXPECT_EQ(text,
            "steward-job-v1\n"
            "id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
            "issued=1799999999000\n"
            "expires=1800003600000\n"
            "agent=0123456789abcdef\n"
            "agent=fedcba9876543210\n"
            "action=run_script\n"
            "param.argv=/bin/sh\n"
            "param.argv=-c\n"
            "param.argv=printf%20'a=b\\n%25s'%20\"100%25\"%0A#%20two%20lines\n"
            "param.timeout_ms=0\n"
            "rollback=no\n"
            "attempts=1\n");
  absl::StatusOr<JobStatement> back = ParseJobStatement(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->params, s.params);
  EXPECT_EQ(back->agents, s.agents);
  EXPECT_EQ(EncodeJobStatement(*back), text);
}

TEST(JobStatement, RefusesMalformedAndNonCanonicalText) {
  JobStatement s = StatementFor(ScriptJob());
  s.id = std::string(32, 'a');
  const std::string good = EncodeJobStatement(s);
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const std::pair<std::string, std::string> cases[] = {
      {"", "does not end with a line break"},
      {good.substr(0, good.size() - 1), "does not end with a line break"},
      {edited("steward-job-v1", "steward-job-v2"), "does not start with steward-job-v1"},
      {edited("id=aaaa", "id=AAAA"), "id must be 32 lower-case hex digits"},
      {edited("issued=1799999999000", "issued=01799999999000"), "not in canonical form"},
      {edited("expires=1800003600000", "expires=1799999999000"), "expires must be after issued"},
      {edited("expires=1800003600000", "expires=1899999999000"), "at most 31 days"},
      {edited("agent=0123456789abcdef\nagent=fedcba9876543210",
              "agent=fedcba9876543210\nagent=0123456789abcdef"),
       "sorted"},
      {edited("agent=0123456789abcdef\nagent=fedcba9876543210\n", ""), "names at least one agent"},
      {edited("action=run_script", "action=format_disk"), "is no job kind"},
      {edited("%25s", "%25S%2"), "escape"},
      {edited("%0A", "%0a"), "two upper-case hex digits"},
      {edited("%20two", " two"), "not in canonical form"},
      {edited("rollback=no", "rollback=maybe"), "expected rollback=yes or rollback=no"},
      {edited("attempts=1", "attempts=0"), "attempts must be from 1"},
      {good + "extra=1\n", "unexpected line after attempts="},
      {edited("param.timeout_ms=0\n", "param.=0\n"), "parameter name"},
  };
  for (const auto& [text, says] : cases) {
    absl::StatusOr<JobStatement> parsed = ParseJobStatement(text);
    EXPECT_FALSE(parsed.ok()) << says;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(says)) << text;
  }
}

// "apt_package openssl, the newest" covers a job naming one version (a
// rollout pins the canary's for later waves), not another package, not a
// removal, and a statement naming a version covers only that one.
TEST(CheckJobAuthorization, AnAptStatementWithoutAVersionCoversAPinnedVersion) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  const std::vector<Ed25519PublicKey> trusted = {key.public_key()};
  v1::JobSpec newest;
  newest.set_job_id("job-1");
  newest.mutable_apt_package()->set_name("openssl");
  const v1::JobAuthorization auth = SignJobStatement(StatementFor(newest), key);
  v1::JobSpec pinned = newest;
  pinned.mutable_apt_package()->set_version("3.0.15-1~deb12u1");
  *pinned.mutable_authorization() = auth;
  EXPECT_TRUE(CheckJobAuthorization(pinned, "fedcba9876543210", trusted, kNow).ok());
  v1::JobSpec other = pinned;
  other.mutable_apt_package()->set_name("openssh-server");
  EXPECT_FALSE(CheckJobAuthorization(other, "fedcba9876543210", trusted, kNow).ok());
  other = newest;
  other.mutable_apt_package()->set_remove(true);
  *other.mutable_authorization() = auth;
  EXPECT_FALSE(CheckJobAuthorization(other, "fedcba9876543210", trusted, kNow).ok());
  v1::JobSpec exact = pinned;
  *exact.mutable_authorization() = SignJobStatement(StatementFor(pinned), key);
  exact.mutable_apt_package()->set_version("3.0.16-1");
  EXPECT_THAT(std::string(CheckJobAuthorization(exact, "fedcba9876543210", trusted, kNow).status().message()),
              HasSubstr("is not what was signed"));
}

TEST(CheckJobAuthorization, AcceptsWhatWasSignedAndRefusesEachDifference) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  const std::vector<Ed25519PublicKey> trusted = {key.public_key()};
  v1::JobSpec spec = ScriptJob();
  *spec.mutable_authorization() = SignJobStatement(StatementFor(spec), key);
  absl::StatusOr<AuthorizedJob> ok = CheckJobAuthorization(spec, "fedcba9876543210", trusted, kNow);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->use, StatementUse::kChange);
  EXPECT_EQ(ok->key_id, key.public_key().key_id());

  auto refused = [&](const v1::JobSpec& s, const std::string& agent, int64_t now) {
    absl::StatusOr<AuthorizedJob> r = CheckJobAuthorization(s, agent, trusted, now);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
    return std::string(r.status().message());
  };
  EXPECT_THAT(refused(spec, "1111111111111111", kNow), HasSubstr("not for this agent"));
  EXPECT_THAT(refused(spec, "fedcba9876543210", kNow + 3600 * 1000),
              HasSubstr("expired at 2027-01-15"));
  v1::JobSpec other = spec;
  other.mutable_run_script()->set_argv(0, "/bin/bash");
  EXPECT_THAT(refused(other, "fedcba9876543210", kNow), HasSubstr("is not what was signed"));
  other = spec;
  other.mutable_authorization()->mutable_signatures(0)->mutable_signature()->at(5) ^= 1;
  EXPECT_THAT(refused(other, "fedcba9876543210", kNow), HasSubstr("does not verify"));
  other = spec;
  other.clear_authorization();
  EXPECT_THAT(refused(other, "fedcba9876543210", kNow), HasSubstr("carries no signed statement"));
  EXPECT_THAT(
      std::string(CheckJobAuthorization(spec, "fedcba9876543210", {}, kNow).status().message()),
      HasSubstr("trusts no publisher key"));
  // The collector's early check: no statement is a precondition failure.
  EXPECT_EQ(CheckJobSignedFor(other, "fedcba9876543210", kNow).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckJobSignedFor(spec, "fedcba9876543210", kNow).ok());
  EXPECT_EQ(CheckJobSignedFor(spec, "1111111111111111", kNow).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward
