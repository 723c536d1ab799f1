// The replay guard's durable ledger: entries survive a new ledger on the
// same directory, expire a day after their statement, and a damaged entry
// refuses rather than forgets.
#include "agent/jobs/statement_ledger.h"

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using steward::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kDay = int64_t{24} * 3600 * 1000;

AuthorizedJob Statement(const std::string& id, int64_t expires_ms, uint32_t attempts = 1) {
  AuthorizedJob a;
  a.statement.id = id;
  a.statement.expires_ms = expires_ms;
  a.statement.attempts = attempts;
  a.use = StatementUse::kChange;
  return a;
}

v1::JobSpec Job(const std::string& id) {
  v1::JobSpec s;
  s.set_job_id(id);
  return s;
}

TEST(StatementLedger, AdmitsAttemptsDistinctJobsAndTheSameJobAgain) {
  TempDir dir;
  StatementLedger ledger(dir.path() + "/statements");
  const AuthorizedJob s = Statement(std::string(32, 'a'), 10 * kDay, 2);
  EXPECT_TRUE(ledger.Admit(s, Job("j1")).ok());
  EXPECT_TRUE(ledger.Admit(s, Job("j1")).ok());
  EXPECT_TRUE(ledger.Admit(s, Job("j2")).ok());
  absl::Status third = StatementLedger(dir.path() + "/statements").Admit(s, Job("j3"));
  EXPECT_EQ(third.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(third.message()),
              HasSubstr("for job(s) j1, j2 and allows 2 job(s) per agent"));
}

TEST(StatementLedger, PrunesADayAfterExpiryAndKeepsDamagedEntries) {
  TempDir dir;
  const std::string d = dir.path() + "/statements";
  StatementLedger ledger(d);
  const std::string old_id(32, 'b'), new_id(32, 'c'), bad_id(32, 'd');
  ASSERT_TRUE(ledger.Admit(Statement(old_id, 10 * kDay), Job("j1")).ok());
  ASSERT_TRUE(ledger.Admit(Statement(new_id, 12 * kDay), Job("j2")).ok());
  ASSERT_TRUE(WriteFileAtomic(d + "/" + bad_id, "\xff\xff garbage", 0600).ok());
  EXPECT_EQ(ledger.Prune(11 * kDay), 0u);  // expired, but less than a day ago
  EXPECT_EQ(ledger.Prune(11 * kDay + 1), 1u);
  EXPECT_FALSE(FileExists(d + "/" + old_id));
  EXPECT_TRUE(FileExists(d + "/" + new_id));
  EXPECT_TRUE(FileExists(d + "/" + bad_id));
  absl::Status damaged = ledger.Admit(Statement(bad_id, 20 * kDay), Job("j3"));
  EXPECT_EQ(damaged.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(damaged.message()), HasSubstr("a replay cannot be ruled out"));
}

}  // namespace
}  // namespace steward::agent
