// Store: agent identity records (disable, remove, labels, certificate
// renewals) and token revocation, on a real RocksDB in a temporary
// directory. Each test asserts the refusal and that stored state is
// unchanged by it.
#include <memory>
#include <string>
#include <vector>

#include "collector/storage/store.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // Unix seconds

v1::Hello HelloOf(const std::string& agent_version) {
  v1::Hello hello;
  hello.set_agent_version(agent_version);
  return hello;
}

class StoreIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  absl::Status PutToken(const std::string& id, const std::string& bound_agent = "", uint32_t uses = 1) {
    internal::TokenRecord t;
    t.set_token_id(id);
    t.set_secret_sha256(Sha256Hex("s"));
    t.set_created_unix(kNow - 10);
    t.set_expires_unix(kNow + 3600);
    t.set_max_uses(uses);
    t.set_agent_id(bound_agent);
    return store_->PutToken(t);
  }

  void Enroll(const std::string& agent_id, const std::string& serial = "aa") {
    ASSERT_TRUE(PutToken("tok-" + agent_id).ok());
    internal::AgentRecord a;
    a.set_agent_id(agent_id);
    a.mutable_facts()->set_hostname("host-" + agent_id);
    a.set_cert_serial(serial);
    ASSERT_TRUE(store_->EnrollWithToken("tok-" + agent_id, "s", kNow, a).ok());
  }

  v1::Envelope JobResult(uint64_t seq, const std::string& job_id) {
    v1::Envelope env;
    env.set_seq(seq);
    env.mutable_job_result()->set_job_id(job_id);
    env.mutable_job_result()->set_status(v1::JOB_SUCCEEDED);
    return env;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreIdentityTest, ADisabledAgentsEnvelopeIsRefusedAndNothingChanges) {
  Enroll("a1");
  v1::Job job;
  job.set_agent_id("a1");
  job.mutable_spec()->set_job_id("j1");
  job.mutable_spec()->mutable_install_artifact()->set_sha256(std::string(64, 'b'));
  ASSERT_TRUE(store_->CreateJob(job).ok());
  EXPECT_TRUE(store_->SetAgentDisabled("a1", true, "admin/ops", kNow * 1000).value());
  EXPECT_FALSE(store_->SetAgentDisabled("a1", true, "admin/ops", kNow * 1000).value());  // already

  auto refused = store_->ApplyEnvelope("a1", JobResult(1, "j1"), kNow * 1000);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->GetJob("a1", "j1")->result().status(), v1::JOB_STATUS_UNSPECIFIED);
  EXPECT_EQ(store_->GetAgent("a1")->last_applied_seq(), 0u);
  EXPECT_EQ(store_->GetAgent("a1")->disabled_by(), "admin/ops");

  EXPECT_TRUE(store_->SetAgentDisabled("a1", false, "admin/ops", kNow * 1000).value());
  ASSERT_TRUE(store_->ApplyEnvelope("a1", JobResult(1, "j1"), kNow * 1000).ok());
  EXPECT_EQ(store_->GetJob("a1", "j1")->result().status(), v1::JOB_SUCCEEDED);
  EXPECT_EQ(store_->SetAgentDisabled("nobody", true, "", 0).status().code(), absl::StatusCode::kNotFound);
}

// What a rollout reads every second per running host: the result and
// `withdrawn`, equal to the whole record's, without the spec.
TEST_F(StoreIdentityTest, GetJobOutcomeIsTheJobsResultWithoutItsSpec) {
  Enroll("a1");
  v1::Job job;
  job.set_agent_id("a1");
  job.mutable_spec()->set_job_id("j1");
  job.mutable_spec()->mutable_install_artifact()->set_sha256(std::string(64, 'b'));
  job.mutable_spec()->mutable_authorization()->set_statement(std::string(1 << 20, 'x'));  // a fleet's statement
  job.mutable_result()->set_job_id("j1");
  job.mutable_result()->set_status(v1::JOB_PENDING);
  ASSERT_TRUE(store_->CreateJob(job).ok());
  auto pending = store_->GetJobOutcome("a1", "j1");
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_FALSE(pending->has_spec());
  EXPECT_EQ(pending->agent_id(), "a1");
  EXPECT_EQ(pending->result().status(), v1::JOB_PENDING);
  EXPECT_FALSE(pending->withdrawn());

  ASSERT_TRUE(store_->ApplyEnvelope("a1", JobResult(1, "j1"), kNow * 1000).ok());
  auto done = store_->GetJobOutcome("a1", "j1");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->result().SerializeAsString(), store_->GetJob("a1", "j1")->result().SerializeAsString());
  EXPECT_EQ(done->result().status(), v1::JOB_SUCCEEDED);

  v1::Job withdrawn = store_->GetJob("a1", "j1").value();
  withdrawn.set_withdrawn(true);
  ASSERT_TRUE(store_->PutJob(withdrawn).ok());
  EXPECT_TRUE(store_->GetJobOutcome("a1", "j1")->withdrawn());
  EXPECT_EQ(store_->GetJobOutcome("a1", "nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetJobOutcome("a10", "j1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreIdentityTest, RemoveDeletesEverythingOfOneAgentOnly) {
  Enroll("a1");
  Enroll("a10");  // shares a prefix of the id, not of the keys
  for (const char* id : {"a1", "a10"}) {
    v1::Envelope snap;
    snap.set_seq(1);
    snap.mutable_inventory_snapshot()->mutable_facts()->set_hostname(std::string("host-") + id);
    auto* item = snap.mutable_inventory_snapshot()->add_items();
    item->set_source("dpkg");
    item->set_name("openssl");
    item->set_version("3.0");
    ASSERT_TRUE(store_->ApplyEnvelope(id, snap, kNow * 1000).ok());
    v1::Job job;
    job.set_agent_id(id);
    job.mutable_spec()->set_job_id("j");
    ASSERT_TRUE(store_->CreateJob(job).ok());
  }
  auto removed = store_->RemoveAgent("a1");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->facts().hostname(), "host-a1");
  EXPECT_EQ(store_->GetAgent("a1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListSoftware("a1")->empty());
  EXPECT_TRUE(store_->ListJobs("a1")->empty());
  EXPECT_EQ(store_->ListSoftware("a10")->size(), 1u);
  EXPECT_EQ(store_->ListJobs("a10")->size(), 1u);
  EXPECT_EQ(store_->RemoveAgent("a1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreIdentityTest, LabelsAreSetByNameRemovedAndKeptSorted) {
  Enroll("a1");
  v1::Label env, team;
  env.set_name("env");
  env.set_value("prod");
  team.set_name("team");
  team.set_value("web");
  auto rec = store_->UpdateAgentLabels("a1", {team, env}, {});
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->labels_size(), 2);
  EXPECT_EQ(rec->labels(0).name(), "env");
  env.set_value("staging");
  rec = store_->UpdateAgentLabels("a1", {env}, {"team"});
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->labels_size(), 1);
  EXPECT_EQ(rec->labels(0).value(), "staging");
  auto missing = store_->UpdateAgentLabels("a1", {}, {"nope"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetAgent("a1")->labels_size(), 1);  // unchanged by the refusal
}

TEST_F(StoreIdentityTest, RenewalKeepsThePreviousSerialUntilTheNewOneIsSeen) {
  Enroll("a1", "aa");
  ASSERT_TRUE(store_->RecordRenewedCert("a1", "aa", "bb", kNow + 7 * 86400).ok());
  auto rec = store_->GetAgent("a1");
  EXPECT_EQ(rec->cert_serial(), "bb");
  EXPECT_EQ(rec->previous_cert_serial(), "aa");
  EXPECT_EQ(rec->cert_not_after_unix(), kNow + 7 * 86400);
  // A second renewal from the old certificate loses.
  EXPECT_EQ(store_->RecordRenewedCert("a1", "aa", "cc", kNow).code(), absl::StatusCode::kFailedPrecondition);
  // A Hello with the old one keeps it; with the new one forgets it.
  ASSERT_TRUE(store_->TouchAgent("a1", HelloOf("1.0"), kNow * 1000, "aa").ok());
  EXPECT_EQ(store_->GetAgent("a1")->previous_cert_serial(), "aa");
  ASSERT_TRUE(store_->TouchAgent("a1", HelloOf("1.0"), kNow * 1000, "bb").ok());
  EXPECT_EQ(store_->GetAgent("a1")->previous_cert_serial(), "");
}

TEST_F(StoreIdentityTest, RevokedTokenIsRefusedAndListedAsRevoked) {
  ASSERT_TRUE(PutToken("t1", "", 5).ok());
  auto revoked = store_->RevokeToken("t1", kNow);
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->revoked());
  internal::AgentRecord a;
  a.set_agent_id("x");
  auto s = store_->EnrollWithToken("t1", "s", kNow, a);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(std::string(s.message()).find("revoked"), std::string::npos) << s;
  EXPECT_EQ(store_->GetAgent("x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ListTokens()->at(0).used(), 0u);
  EXPECT_EQ(store_->RevokeToken("t1", kNow + 5)->revoked_unix(), kNow);  // first time kept
  EXPECT_EQ(store_->RevokeToken("t2", kNow).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreIdentityTest, ARenewalTokenKeepsTheAgentsIdLabelsAndData) {
  Enroll("a1", "aa");
  v1::Label l;
  l.set_name("env");
  l.set_value("prod");
  ASSERT_TRUE(store_->UpdateAgentLabels("a1", {l}, {}).ok());
  ASSERT_TRUE(PutToken("renew", "a1").ok());
  internal::AgentRecord again;
  again.set_agent_id("a1");
  again.mutable_facts()->set_hostname("renamed");
  again.set_cert_serial("dd");
  ASSERT_TRUE(store_->EnrollWithToken("renew", "s", kNow, again).ok());
  auto rec = store_->GetAgent("a1");
  EXPECT_EQ(rec->cert_serial(), "dd");
  EXPECT_EQ(rec->facts().hostname(), "renamed");
  EXPECT_EQ(rec->token_id(), "tok-a1");
  ASSERT_EQ(rec->labels_size(), 1);
  // For a removed agent it is refused.
  ASSERT_TRUE(store_->RemoveAgent("a1").ok());
  ASSERT_TRUE(PutToken("renew2", "a1").ok());
  EXPECT_EQ(store_->EnrollWithToken("renew2", "s", kNow, again).code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreIdentityTest, ArtifactJobsAreThoseOfTheAgentPendingOrRecent) {
  Enroll("a1");
  const std::string sha(64, 'c');
  EXPECT_FALSE(store_->AgentHasArtifactJob("a1", sha, 0).value());
  v1::Job job;
  job.set_agent_id("a1");
  job.set_created_ms(1000);
  job.mutable_spec()->set_job_id("j");
  job.mutable_spec()->mutable_install_artifact()->set_sha256(sha);
  ASSERT_TRUE(store_->CreateJob(job).ok());
  EXPECT_TRUE(store_->AgentHasArtifactJob("a1", sha, 5000).value());  // pending
  EXPECT_FALSE(store_->AgentHasArtifactJob("a2", sha, 0).value());
  job.mutable_result()->set_status(v1::JOB_SUCCEEDED);
  job.mutable_result()->set_finished_ms(3000);
  ASSERT_TRUE(store_->PutJob(job).ok());
  EXPECT_TRUE(store_->AgentHasArtifactJob("a1", sha, 2000).value());   // finished recently
  EXPECT_FALSE(store_->AgentHasArtifactJob("a1", sha, 5000).value());  // long ago
}

}  // namespace
}  // namespace steward::collector
