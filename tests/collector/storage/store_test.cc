#include "collector/storage/store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/inventory/inventory_diff.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // Unix seconds

v1::Hello HelloOf(const std::string& agent_version) {
  v1::Hello hello;
  hello.set_agent_version(agent_version);
  return hello;
}

v1::Label MakeLabel(const std::string& name, const std::string& value) {
  v1::Label l;
  l.set_name(name);
  l.set_value(value);
  return l;
}

internal::TokenRecord MakeToken(const std::string& id, const std::string& secret,
                                int64_t expires_unix, uint32_t max_uses) {
  internal::TokenRecord t;
  t.set_token_id(id);
  t.set_secret_sha256(Sha256Hex(secret));
  t.set_created_unix(kNow - 10);
  t.set_expires_unix(expires_unix);
  t.set_max_uses(max_uses);
  return t;
}

internal::AgentRecord MakeAgent(const std::string& id) {
  internal::AgentRecord a;
  a.set_agent_id(id);
  a.mutable_facts()->set_hostname("host-" + id);
  a.set_enrolled_ms(kNow * 1000);
  return a;
}

v1::SoftwareItem Item(const std::string& name, const std::string& version,
                      const std::string& arch = "amd64") {
  v1::SoftwareItem i;
  i.set_source("dpkg");
  i.set_name(name);
  i.set_version(version);
  i.set_arch(arch);
  return i;
}

v1::Envelope Snapshot(uint64_t seq, const std::vector<v1::SoftwareItem>& items,
                      const std::string& digest) {
  v1::Envelope env;
  env.set_seq(seq);
  auto* snap = env.mutable_inventory_snapshot();
  snap->mutable_facts()->set_hostname("snap-host");
  for (const auto& i : items) *snap->add_items() = i;
  snap->set_digest(digest);
  return env;
}

struct SeriesSpec {
  std::string name;
  std::vector<v1::Label> labels;
  std::vector<std::pair<int64_t, double>> points;
  bool counter = false;
};

v1::Envelope Metrics(uint64_t seq, const std::vector<SeriesSpec>& specs) {
  v1::Envelope env;
  env.set_seq(seq);
  auto* batch = env.mutable_metric_batch();
  for (const auto& spec : specs) {
    auto* s = batch->add_series();
    s->set_name(spec.name);
    s->set_counter(spec.counter);
    for (const auto& l : spec.labels) *s->add_labels() = l;
    for (const auto& [t, v] : spec.points) {
      auto* p = s->add_points();
      p->set_time_ms(t);
      p->set_value(v);
    }
  }
  return env;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    auto s = Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  void Enroll(const std::string& agent_id) {
    std::string token_id = "tok-" + agent_id;
    ASSERT_TRUE(store_->PutToken(MakeToken(token_id, "secret", kNow + 3600, 1)).ok());
    ASSERT_TRUE(store_->EnrollWithToken(token_id, "secret", kNow, MakeAgent(agent_id)).ok());
  }

  ApplyOutcome Apply(const std::string& agent_id, const v1::Envelope& env) {
    auto r = store_->ApplyEnvelope(agent_id, env, kNow * 1000);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyOutcome::kDuplicate;
  }


  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- enrollment tokens ---

TEST_F(StoreTest, EnrollWithValidTokenCreatesAgentWithTokenLabels) {
  auto token = MakeToken("t1", "s3cret", kNow + 60, 1);
  *token.add_labels() = MakeLabel("env", "prod");
  *token.add_labels() = MakeLabel("role", "db");
  ASSERT_TRUE(store_->PutToken(token).ok());
  auto agent = MakeAgent("agent-1");
  *agent.add_labels() = MakeLabel("ignored", "by-token");  // token labels replace these
  ASSERT_TRUE(store_->EnrollWithToken("t1", "s3cret", kNow, agent).ok());

  auto rec = store_->GetAgent("agent-1");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->token_id(), "t1");
  EXPECT_EQ(rec->facts().hostname(), "host-agent-1");
  ASSERT_EQ(rec->labels_size(), 2);
  EXPECT_EQ(rec->labels(0).name(), "env");
  EXPECT_EQ(rec->labels(0).value(), "prod");
  EXPECT_EQ(rec->labels(1).name(), "role");
  EXPECT_EQ(rec->labels(1).value(), "db");
  EXPECT_EQ(rec->last_applied_seq(), 0u);
}

absl::Status EnrollStatus(Store& store, const std::string& id, const std::string& secret,
                          int64_t now, const std::string& agent_id) {
  return store.EnrollWithToken(id, secret, now, MakeAgent(agent_id));
}

TEST_F(StoreTest, EnrollRefusesUnknownWrongExpiredAndUsedUpTokensDistinctly) {
  ASSERT_TRUE(store_->PutToken(MakeToken("good", "s", kNow + 60, 1)).ok());
  ASSERT_TRUE(store_->PutToken(MakeToken("old", "s", kNow, 5)).ok());

  absl::Status unknown = EnrollStatus(*store_, "nope", "s", kNow, "x1");
  absl::Status wrong = EnrollStatus(*store_, "good", "S", kNow, "x2");
  absl::Status expired = EnrollStatus(*store_, "old", "s", kNow, "x3");  // expiry is exclusive
  ASSERT_TRUE(EnrollStatus(*store_, "good", "s", kNow, "x4").ok());
  absl::Status used_up = EnrollStatus(*store_, "good", "s", kNow, "x5");

  for (const auto* s : {&unknown, &wrong, &expired, &used_up}) {
    EXPECT_EQ(s->code(), absl::StatusCode::kUnauthenticated) << *s;
  }
  EXPECT_TRUE(absl::StrContains(unknown.message(), "not known")) << unknown;
  // A wrong secret reads like an unknown token on purpose (docs/security.md
  // names only unknown, expired and used up): no oracle for valid token ids.
  EXPECT_EQ(wrong.message(), unknown.message());
  EXPECT_TRUE(absl::StrContains(expired.message(), "expired")) << expired;
  EXPECT_TRUE(absl::StrContains(used_up.message(), "used up")) << used_up;
  EXPECT_NE(expired.message(), unknown.message());
  EXPECT_NE(used_up.message(), unknown.message());
  EXPECT_NE(used_up.message(), expired.message());

  // No refused attempt created an agent.
  for (const char* id : {"x1", "x2", "x3", "x5"}) {
    EXPECT_EQ(store_->GetAgent(id).status().code(), absl::StatusCode::kNotFound) << id;
  }
  EXPECT_TRUE(store_->GetAgent("x4").ok());
}

TEST_F(StoreTest, EnrollHonoursMaxUsesExactly) {
  ASSERT_TRUE(store_->PutToken(MakeToken("t3", "s", kNow + 60, 3)).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(EnrollStatus(*store_, "t3", "s", kNow, "agent" + std::to_string(i)).ok()) << i;
  }
  absl::Status fourth = EnrollStatus(*store_, "t3", "s", kNow, "agent3");
  EXPECT_EQ(fourth.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(fourth.message(), "(3 use(s))")) << fourth;
  // A refused attempt does not count as a use, and the count survives reopening.
  Reopen();
  EXPECT_EQ(EnrollStatus(*store_, "t3", "s", kNow, "agent4").code(),
            absl::StatusCode::kUnauthenticated);
  auto agents = store_->ListAgents();
  ASSERT_TRUE(agents.ok());
  EXPECT_EQ(agents->size(), 3u);
}

TEST_F(StoreTest, EnrollJustBeforeExpiryWorks) {
  ASSERT_TRUE(store_->PutToken(MakeToken("t", "s", kNow + 1, 1)).ok());
  EXPECT_TRUE(EnrollStatus(*store_, "t", "s", kNow, "a").ok());
}

TEST_F(StoreTest, GetUnknownAgentIsNotFoundNamingIt) {
  auto r = store_->GetAgent("ghost");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'ghost'"));
}

TEST_F(StoreTest, TouchAgentRecordsVersionAndTime) {
  Enroll("a1");
  ASSERT_TRUE(store_->TouchAgent("a1", HelloOf("9.9.9"), 12345).ok());
  auto rec = store_->GetAgent("a1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->agent_version(), "9.9.9");
  EXPECT_EQ(rec->last_seen_ms(), 12345);
  EXPECT_EQ(store_->TouchAgent("ghost", HelloOf("1"), 1).code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, TouchAgentRecordsTrustedKeysAndReportIntervalFromEachHello) {
  Enroll("a1");
  v1::Hello hello = HelloOf("2.0");
  hello.mutable_trusted_keys()->add_key_ids("00112233445566aa");
  hello.set_health_report_interval_ms(60000);
  ASSERT_TRUE(store_->TouchAgent("a1", hello, 1).ok());
  auto rec = store_->GetAgent("a1");
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_trusted_keys());
  EXPECT_EQ(rec->trusted_keys().key_ids_size(), 1);
  EXPECT_EQ(rec->health_report_interval_ms(), 60000);
  // An older agent's Hello says nothing: what it trusts is unknown again.
  ASSERT_TRUE(store_->TouchAgent("a1", HelloOf("1.0"), 2).ok());
  rec = store_->GetAgent("a1");
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_trusted_keys());
  EXPECT_EQ(rec->health_report_interval_ms(), 0);
}

// --- envelopes ---

TEST_F(StoreTest, ApplyEnvelopeForUnknownAgentFails) {
  auto r = store_->ApplyEnvelope("ghost", Snapshot(1, {}, "d"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, InventorySnapshotReplacesPreviousInventoryEntirely) {
  Enroll("a1");
  EXPECT_EQ(
      Apply("a1",
            Snapshot(1, {Item("bash", "5.1"), Item("curl", "7.88"), Item("zlib", "1.2")}, "d1")),
      ApplyOutcome::kApplied);
  auto first = store_->ListSoftware("a1");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);

  EXPECT_EQ(Apply("a1", Snapshot(2, {Item("curl", "8.0"), Item("vim", "9.0", "arm64")}, "d2")),
            ApplyOutcome::kApplied);
  auto second = store_->ListSoftware("a1");
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].name(), "curl");
  EXPECT_EQ((*second)[0].version(), "8.0");
  EXPECT_EQ((*second)[1].name(), "vim");
  EXPECT_EQ((*second)[1].arch(), "arm64");

  auto rec = store_->GetAgent("a1");
  ASSERT_TRUE(rec.ok());
  // The collector computes the digest from what it stores.
  EXPECT_EQ(rec->inventory_digest(), InventoryDigest(std::vector<v1::SoftwareItem>{Item("curl", "8.0"), Item("vim", "9.0", "arm64")}));
  EXPECT_EQ(rec->software_count(), 2u);
  EXPECT_EQ(rec->facts().hostname(), "snap-host");
  EXPECT_EQ(rec->last_applied_seq(), 2u);

  EXPECT_EQ(Apply("a1", Snapshot(3, {}, "empty")), ApplyOutcome::kApplied);
  EXPECT_TRUE(store_->ListSoftware("a1")->empty());
}

TEST_F(StoreTest, DuplicateEnvelopeChangesNothing) {
  Enroll("a1");
  ASSERT_EQ(Apply("a1", Snapshot(1, {Item("bash", "5.1")}, "d1")), ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a1", Metrics(2, {{"host_load1", {}, {{1000, 0.5}}}})), ApplyOutcome::kApplied);

  // Same seqs again, different content: skipped.
  EXPECT_EQ(Apply("a1", Snapshot(1, {Item("evil", "1")}, "dx")), ApplyOutcome::kDuplicate);
  EXPECT_EQ(Apply("a1", Metrics(2, {{"host_load1", {}, {{1000, 9.0}, {2000, 9.0}}}})),
            ApplyOutcome::kDuplicate);
  EXPECT_EQ(Apply("a1", Metrics(1, {{"other", {}, {{1000, 1}}}})), ApplyOutcome::kDuplicate);

  auto sw = store_->ListSoftware("a1");
  ASSERT_TRUE(sw.ok());
  ASSERT_EQ(sw->size(), 1u);
  EXPECT_EQ((*sw)[0].name(), "bash");
  auto rec = store_->GetAgent("a1");
  EXPECT_EQ(rec->last_applied_seq(), 2u);
  EXPECT_EQ(rec->inventory_digest(), InventoryDigest(std::vector<v1::SoftwareItem>{Item("bash", "5.1")}));
}

TEST_F(StoreTest, SequenceGapIsAppliedAndAdvances) {
  Enroll("a1");
  EXPECT_EQ(Apply("a1", Metrics(5, {{"m", {}, {{1, 1}}}})), ApplyOutcome::kApplied);
  EXPECT_EQ(store_->GetAgent("a1")->last_applied_seq(), 5u);
  EXPECT_EQ(Apply("a1", Metrics(4, {{"m", {}, {{2, 2}}}})), ApplyOutcome::kDuplicate);
  EXPECT_EQ(Apply("a1", Metrics(6, {{"m", {}, {{3, 3}}}})), ApplyOutcome::kApplied);
}

TEST_F(StoreTest, HeartbeatAdvancesSequenceAndLastSeen) {
  Enroll("a1");
  v1::Envelope hb;
  hb.set_seq(1);
  hb.mutable_heartbeat();
  ASSERT_TRUE(store_->ApplyEnvelope("a1", hb, 777).ok());
  auto rec = store_->GetAgent("a1");
  EXPECT_EQ(rec->last_applied_seq(), 1u);
  EXPECT_EQ(rec->last_seen_ms(), 777);
}

TEST_F(StoreTest, LastAppliedSeqPersistsAcrossReopen) {
  Enroll("a1");
  ASSERT_EQ(Apply("a1", Snapshot(1, {Item("bash", "5.1")}, "d1")), ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a1", Metrics(2, {{"m", {}, {{10, 1.5}}}})), ApplyOutcome::kApplied);
  Reopen();
  auto rec = store_->GetAgent("a1");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->last_applied_seq(), 2u);
  EXPECT_EQ(Apply("a1", Metrics(2, {{"m", {}, {{10, 99}}}})), ApplyOutcome::kDuplicate);
  EXPECT_EQ(store_->ListSoftware("a1")->size(), 1u);
}

TEST_F(StoreTest, OpenFailsOnAFileNamingThePath) {
  std::string path = dir_.path() + "/not-a-dir";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto s = Store::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.status().message(), path)) << s.status();
}

// --- metric queries ---

// --- isolation between agents whose ids share a prefix ---

TEST_F(StoreTest, ListSoftwareIsPerAgentAndSnapshotsDoNotTouchOtherAgents) {
  Enroll("a1");
  Enroll("a10");
  Enroll("a");
  ASSERT_EQ(Apply("a1", Snapshot(1, {Item("one", "1")}, "d")), ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a10", Snapshot(1, {Item("ten", "10"), Item("ten2", "10")}, "d")),
            ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a", Snapshot(1, {Item("bare", "0")}, "d")), ApplyOutcome::kApplied);

  auto names = [&](const std::string& agent) {
    std::vector<std::string> out;
    auto items = store_->ListSoftware(agent);
    EXPECT_TRUE(items.ok()) << items.status();
    if (items.ok()) {
      for (const auto& i : *items) out.push_back(i.name());
    }
    return out;
  };
  EXPECT_EQ(names("a1"), std::vector<std::string>{"one"});
  EXPECT_EQ(names("a10"), (std::vector<std::string>{"ten", "ten2"}));
  EXPECT_EQ(names("a"), std::vector<std::string>{"bare"});

  // Replacing a1's inventory (range delete) leaves a10 and a alone.
  ASSERT_EQ(Apply("a1", Snapshot(2, {}, "e")), ApplyOutcome::kApplied);
  EXPECT_TRUE(names("a1").empty());
  EXPECT_EQ(names("a10"), (std::vector<std::string>{"ten", "ten2"}));
  EXPECT_EQ(names("a"), std::vector<std::string>{"bare"});
  EXPECT_TRUE(names("ghost").empty());
}

// A host's items of one package (what a deployment reads per host) are its
// items of exactly that source and name, every arch, nothing that merely
// starts with the name, and nothing of another host.
TEST_F(StoreTest, ListSoftwareNamedIsExactlyOnePackageOfOneHost) {
  Enroll("a1");
  Enroll("a10");
  v1::SoftwareItem pip = Item("ten", "3");
  pip.set_source("pip");
  ASSERT_EQ(Apply("a1", Snapshot(1, {Item("ten", "1"), Item("ten", "1", "i386"), Item("ten2", "2"), pip,
                                     Item("te", "0")}, "d")),
            ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a10", Snapshot(1, {Item("ten", "10")}, "d")), ApplyOutcome::kApplied);
  auto named = [&](const std::string& agent, const std::string& source, const std::string& name) {
    std::vector<std::string> out;
    auto items = store_->ListSoftwareNamed(agent, source, name);
    EXPECT_TRUE(items.ok()) << items.status();
    if (items.ok()) {
      for (const auto& i : *items) out.push_back(absl::StrCat(i.source(), ":", i.name(), "=", i.version(), "/", i.arch()));
    }
    return out;
  };
  EXPECT_EQ(named("a1", "dpkg", "ten"), (std::vector<std::string>{"dpkg:ten=1/amd64", "dpkg:ten=1/i386"}));
  EXPECT_EQ(named("a1", "pip", "ten"), std::vector<std::string>{"pip:ten=3/amd64"});
  EXPECT_EQ(named("a10", "dpkg", "ten"), std::vector<std::string>{"dpkg:ten=10/amd64"});
  EXPECT_TRUE(named("a1", "dpkg", "t").empty());
  EXPECT_TRUE(named("a1", "rpm", "ten").empty());
  EXPECT_TRUE(named("a", "dpkg", "ten").empty());
}

TEST_F(StoreTest, ListAgentsReturnsEveryEnrolledAgent) {
  Enroll("b");
  Enroll("a");
  auto agents = store_->ListAgents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 2u);
  EXPECT_EQ((*agents)[0].agent_id(), "a");
  EXPECT_EQ((*agents)[1].agent_id(), "b");
}


// --- inventory deltas and the change log ---

v1::Envelope Delta(uint64_t seq, const std::vector<v1::SoftwareItem>& base, const std::vector<v1::SoftwareItem>& after,
                   int64_t created_ms) {
  v1::Envelope env;
  env.set_seq(seq);
  env.set_created_ms(created_ms);
  auto diff = DiffInventories(base, after);
  auto* d = env.mutable_inventory_delta();
  d->set_base_digest(InventoryDigest(base));
  d->set_digest(InventoryDigest(after));
  for (const auto& i : diff.added) *d->add_added() = i;
  for (const auto& i : diff.removed) *d->add_removed() = i;
  for (const auto& i : diff.changed) *d->add_changed() = i;
  return env;
}

std::vector<std::string> ChangeLines(Store* store, const std::string& agent, int64_t since_ms = 0) {
  bool truncated = false;
  auto changes = store->ListChanges(agent, since_ms, 1000, &truncated);
  EXPECT_TRUE(changes.ok()) << changes.status();
  std::vector<std::string> out;
  for (const auto& c : *changes) {
    out.push_back(absl::StrCat(c.time_ms(), " ", c.name(), " ", ChangeKindName(c.kind()), " ", c.old_version(), ">",
                               c.new_version()));
  }
  return out;
}

TEST_F(StoreTest, FirstSnapshotIsABaselineLaterOnesAreLoggedAsChanges) {
  Enroll("a1");
  std::vector<v1::SoftwareItem> v1_items = {Item("bash", "5.1"), Item("curl", "7.88")};
  auto first = Snapshot(1, v1_items, "");
  first.set_created_ms(1000);
  ASSERT_EQ(Apply("a1", first), ApplyOutcome::kApplied);
  EXPECT_TRUE(ChangeLines(store_.get(), "a1").empty());
  auto second = Snapshot(2, {Item("bash", "5.2"), Item("vim", "9.0")}, "");
  second.set_created_ms(2000);
  ASSERT_EQ(Apply("a1", second), ApplyOutcome::kApplied);
  EXPECT_EQ(ChangeLines(store_.get(), "a1"),
            (std::vector<std::string>{"2000 vim added >9.0", "2000 curl removed 7.88>", "2000 bash upgraded 5.1>5.2"}));
}

TEST_F(StoreTest, DeltaAppliesAndLogsWhenItsBaseMatches) {
  Enroll("a1");
  std::vector<v1::SoftwareItem> base = {Item("bash", "5.1"), Item("openssl", "3.0.13-1")};
  ASSERT_EQ(Apply("a1", Snapshot(1, base, "")), ApplyOutcome::kApplied);
  std::vector<v1::SoftwareItem> after = {Item("bash", "5.1"), Item("openssl", "3.0.11-1"), Item("jq", "1.6")};
  ASSERT_EQ(Apply("a1", Delta(2, base, after, 5000)), ApplyOutcome::kApplied);
  auto sw = store_->ListSoftware("a1");
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(InventoryDigest(*sw), InventoryDigest(after));
  EXPECT_EQ(store_->GetAgent("a1")->software_count(), 3u);
  EXPECT_EQ(ChangeLines(store_.get(), "a1"),
            (std::vector<std::string>{"5000 jq added >1.6", "5000 openssl downgraded 3.0.13-1>3.0.11-1"}));
  // --since filters by change time; a resent delta is a duplicate and logs nothing.
  EXPECT_TRUE(ChangeLines(store_.get(), "a1", 5001).empty());
  EXPECT_EQ(Apply("a1", Delta(2, base, after, 5000)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(ChangeLines(store_.get(), "a1").size(), 2u);
  // Survives a restart.
  Reopen();
  EXPECT_EQ(ChangeLines(store_.get(), "a1").size(), 2u);
}

TEST_F(StoreTest, DeltaOnAStaleBaseAsksForAResyncAndChangesNothing) {
  Enroll("a1");
  std::vector<v1::SoftwareItem> stored = {Item("bash", "5.1")};
  ASSERT_EQ(Apply("a1", Snapshot(1, stored, "")), ApplyOutcome::kApplied);
  std::vector<v1::SoftwareItem> other_base = {Item("bash", "5.0")};
  EXPECT_EQ(Apply("a1", Delta(2, other_base, {Item("bash", "5.0"), Item("jq", "1.6")}, 1)),
            ApplyOutcome::kResyncNeeded);
  // A delta whose result digest lies is refused too.
  auto lying = Delta(3, stored, {Item("bash", "5.1"), Item("jq", "1.6")}, 1);
  lying.mutable_inventory_delta()->set_digest("0000");
  EXPECT_EQ(Apply("a1", lying), ApplyOutcome::kResyncNeeded);
  auto sw = store_->ListSoftware("a1");
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(InventoryDigest(*sw), InventoryDigest(stored));
  EXPECT_TRUE(ChangeLines(store_.get(), "a1").empty());
  // The seq still advanced: the agent does not resend it.
  EXPECT_EQ(store_->GetAgent("a1")->last_applied_seq(), 3u);
}

TEST_F(StoreTest, ChangeLogsOfAgentsWithPrefixIdsStayApart) {
  Enroll("a1");
  Enroll("a10");
  for (const char* id : {"a1", "a10"}) {
    ASSERT_EQ(Apply(id, Snapshot(1, {}, "")), ApplyOutcome::kApplied);
    ASSERT_EQ(Apply(id, Delta(2, {}, {Item(std::string("pkg-") + id, "1")}, 10)), ApplyOutcome::kApplied);
  }
  EXPECT_EQ(ChangeLines(store_.get(), "a1"), std::vector<std::string>{"10 pkg-a1 added >1"});
  EXPECT_EQ(ChangeLines(store_.get(), "a10"), std::vector<std::string>{"10 pkg-a10 added >1"});
}

// --- change causes: which changes a job made (change_causes.h) ---

v1::Envelope JobResultEnvelope(uint64_t seq, const v1::JobResult& result) {
  v1::Envelope env;
  env.set_seq(seq);
  env.set_created_ms(result.finished_ms());
  *env.mutable_job_result() = result;
  return env;
}

std::vector<std::string> CauseLines(Store* store, const std::string& agent, v1::ChangeCause cause) {
  bool truncated = false;
  auto changes = store->ListChanges(agent, 0, 1000, &truncated, cause);
  EXPECT_TRUE(changes.ok()) << changes.status();
  std::vector<std::string> out;
  for (const auto& c : *changes) {
    out.push_back(absl::StrCat(c.time_ms(), " ", c.name(), " ", ChangeKindName(c.kind()), " ", c.old_version(), ">",
                               c.new_version(), c.attempted_version().empty() ? "" : " tried ",
                               c.attempted_version(), " by ", c.job_id().empty() ? "-" : c.job_id(), "/",
                               c.deployment_id().empty() ? "-" : c.deployment_id()));
  }
  return out;
}

// A file a job wrote is in the change history with the job as its cause
// (the inventory does not watch files); a result sent again adds nothing;
// the rollback that restored it is a change too.
TEST_F(StoreTest, AFileAJobWroteIsAChangeCausedByTheJob) {
  Enroll("a1");
  v1::Job job;
  job.set_agent_id("a1");
  job.set_created_ms(1000);
  job.mutable_spec()->set_job_id("d2-1");
  job.mutable_spec()->set_deployment_id("d2");
  job.mutable_spec()->mutable_write_config()->set_path("/etc/app.conf");
  job.mutable_spec()->mutable_write_config()->set_content("port = 8080\n");
  ASSERT_TRUE(store_->CreateJob(job).ok());
  v1::JobResult r;
  r.set_job_id("d2-1");
  r.set_status(v1::JOB_SUCCEEDED);
  r.set_package("/etc/app.conf");
  r.set_finished_ms(2000);
  ASSERT_EQ(Apply("a1", JobResultEnvelope(1, r)), ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a1", JobResultEnvelope(2, r)), ApplyOutcome::kApplied);  // answered again
  const std::string sha = Sha256Hex("port = 8080\n").substr(0, 12);
  EXPECT_EQ(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_JOB),
            std::vector<std::string>{absl::StrCat("2000 /etc/app.conf changed >sha256:", sha, " by d2-1/d2")});
  EXPECT_TRUE(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_OTHER).empty());
  v1::Job rb;
  rb.set_agent_id("a1");
  rb.set_created_ms(3000);
  rb.mutable_spec()->set_job_id("d2-1-rb");
  rb.mutable_spec()->set_deployment_id("d2");
  rb.mutable_spec()->mutable_rollback()->set_of_job_id("d2-1");
  ASSERT_TRUE(store_->CreateJob(rb).ok());
  r.set_job_id("d2-1-rb");
  r.set_status(v1::JOB_ROLLED_BACK);
  r.set_finished_ms(4000);
  ASSERT_EQ(Apply("a1", JobResultEnvelope(3, r)), ApplyOutcome::kApplied);
  EXPECT_EQ(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_JOB),
            (std::vector<std::string>{absl::StrCat("2000 /etc/app.conf changed >sha256:", sha, " by d2-1/d2"),
                                      "4000 /etc/app.conf changed >as before d2-1 by d2-1-rb/d2"}));
}

TEST_F(StoreTest, ChangesAJobMadeCarryItAndARolledBackUpgradeIsOneChange) {
  Enroll("a1");
  std::vector<v1::SoftwareItem> base = {Item("web", "1.0"), Item("curl", "7.88")};
  ASSERT_EQ(Apply("a1", Snapshot(1, base, "")), ApplyOutcome::kApplied);
  v1::Job job;
  job.set_agent_id("a1");
  job.set_created_ms(1000);
  job.mutable_spec()->set_job_id("d1-1");
  job.mutable_spec()->set_deployment_id("d1");
  job.mutable_spec()->mutable_apt_package()->set_name("web");
  job.mutable_spec()->mutable_apt_package()->set_version("2.0");
  ASSERT_TRUE(store_->CreateJob(job).ok());
  // The upgrade's postinst fails: dpkg leaves web half-configured, which
  // the inventory does not list, while the job is still running...
  std::vector<v1::SoftwareItem> half = {Item("curl", "7.88")};
  ASSERT_EQ(Apply("a1", Delta(2, base, half, 2000)), ApplyOutcome::kApplied);
  // ...then the job puts 1.0 back and reports it; the agent's next scan
  // sees 1.0 again.
  v1::JobResult result;
  result.set_job_id("d1-1");
  result.set_status(v1::JOB_ROLLED_BACK);
  result.set_package("web");
  result.set_old_version("1.0");
  result.set_new_version("1.0");
  result.set_started_ms(1500);
  result.set_finished_ms(2500);
  ASSERT_EQ(Apply("a1", JobResultEnvelope(3, result)), ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a1", Delta(4, half, base, 3000)), ApplyOutcome::kApplied);
  // Out of band: someone upgrades curl, and web long after the job.
  std::vector<v1::SoftwareItem> by_hand = {Item("web", "1.0"), Item("curl", "8.0")};
  ASSERT_EQ(Apply("a1", Delta(5, base, by_hand, 4000)), ApplyOutcome::kApplied);
  std::vector<v1::SoftwareItem> later = {Item("web", "1.1"), Item("curl", "8.0")};
  const int64_t after_window = 2500 + absl::ToInt64Milliseconds(kJobAttributionWindow) + 1;
  ASSERT_EQ(Apply("a1", Delta(6, by_hand, later, after_window)), ApplyOutcome::kApplied);

  const std::string late = absl::StrCat(after_window, " web upgraded 1.0>1.1 by -/-");
  EXPECT_EQ(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_ANY),
            (std::vector<std::string>{"2000 web rolled_back 1.0>1.0 tried 2.0 by d1-1/d1",
                                      "4000 curl upgraded 7.88>8.0 by -/-", late}));
  EXPECT_EQ(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_JOB),
            (std::vector<std::string>{"2000 web rolled_back 1.0>1.0 tried 2.0 by d1-1/d1"}));
  EXPECT_EQ(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_OTHER),
            (std::vector<std::string>{"4000 curl upgraded 7.88>8.0 by -/-", late}));
  // The causes are in the log, not in memory.
  Reopen();
  EXPECT_EQ(CauseLines(store_.get(), "a1", v1::CHANGE_CAUSE_JOB).size(), 1u);
}

// --- health and pushed checks ---

TEST_F(StoreTest, HealthReportReplacesPreviousStates) {
  Enroll("a1");
  auto report = [](uint64_t seq, std::vector<std::pair<std::string, v1::CheckState::Status>> checks) {
    v1::Envelope env;
    env.set_seq(seq);
    for (const auto& [name, status] : checks) {
      auto* c = env.mutable_health_report()->add_checks();
      c->set_name(name);
      c->set_status(status);
    }
    return env;
  };
  ASSERT_EQ(Apply("a1", report(1, {{"web", v1::CheckState::OK}, {"db", v1::CheckState::DOWN}})), ApplyOutcome::kApplied);
  auto h = store_->ListHealth("a1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].name(), "db");
  EXPECT_EQ((*h)[0].status(), v1::CheckState::DOWN);
  ASSERT_EQ(Apply("a1", report(2, {{"web", v1::CheckState::DEGRADED}})), ApplyOutcome::kApplied);
  h = store_->ListHealth("a1");
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].status(), v1::CheckState::DEGRADED);
}

TEST_F(StoreTest, PushedChecksPutListDelete) {
  v1::CheckAssignment c;
  c.mutable_spec()->set_name("web");
  c.mutable_spec()->set_type("http");
  (*c.mutable_spec()->mutable_params())["url"] = "http://127.0.0.1:8080/";
  *c.add_selector() = MakeLabel("env", "prod");
  ASSERT_TRUE(store_->PutCheck(c).ok());
  Reopen();
  auto list = store_->ListChecks();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].spec().params().at("url"), "http://127.0.0.1:8080/");
  EXPECT_EQ((*list)[0].selector(0).value(), "prod");
  EXPECT_TRUE(store_->DeleteCheck("web").ok());
  EXPECT_EQ(store_->DeleteCheck("web").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListChecks()->empty());
}


// --- services ---

v1::Envelope ServiceReport(uint64_t seq, bool systemd,
                           std::vector<std::pair<std::string, std::string>> units_and_states) {
  v1::Envelope env;
  env.set_seq(seq);
  auto* r = env.mutable_service_report();
  r->set_systemd_present(systemd);
  for (const auto& [name, active] : units_and_states) {
    auto* u = r->add_units();
    u->set_name(name);
    u->set_load_state("loaded");
    u->set_active_state(active);
    u->set_sub_state(active == "active" ? "running" : "dead");
    u->set_description("unit " + name);
  }
  return env;
}

std::vector<std::string> UnitLines(Store* store, const std::string& agent) {
  auto units = store->ListServices(agent);
  EXPECT_TRUE(units.ok()) << units.status();
  std::vector<std::string> out;
  if (!units.ok()) return out;
  for (const auto& u : *units) out.push_back(u.name() + " " + u.active_state() + "/" + u.sub_state());
  return out;
}

TEST_F(StoreTest, ServiceReportReplacesTheAgentsUnitsOnly) {
  Enroll("a1");
  Enroll("a10");
  ASSERT_EQ(Apply("a1", ServiceReport(1, true, {{"nginx.service", "active"}, {"cron.service", "active"}})),
            ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a10", ServiceReport(1, true, {{"ssh.service", "active"}})), ApplyOutcome::kApplied);
  EXPECT_EQ(UnitLines(store_.get(), "a1"),
            (std::vector<std::string>{"cron.service active/running", "nginx.service active/running"}));

  // The next report replaces the list: nginx failed, cron is gone.
  ASSERT_EQ(Apply("a1", ServiceReport(2, true, {{"nginx.service", "failed"}})), ApplyOutcome::kApplied);
  Reopen();
  EXPECT_EQ(UnitLines(store_.get(), "a1"), std::vector<std::string>{"nginx.service failed/dead"});
  EXPECT_EQ(UnitLines(store_.get(), "a10"), std::vector<std::string>{"ssh.service active/running"});
  auto rec = store_->GetAgent("a1");
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->systemd_present());
  EXPECT_EQ(rec->services_reported_ms(), kNow * 1000);
  EXPECT_EQ(rec->last_applied_seq(), 2u);

  // A resent (duplicate) report changes nothing.
  EXPECT_EQ(Apply("a1", ServiceReport(2, true, {{"evil.service", "active"}})), ApplyOutcome::kDuplicate);
  EXPECT_EQ(UnitLines(store_.get(), "a1"), std::vector<std::string>{"nginx.service failed/dead"});
}

TEST_F(StoreTest, ServiceReportWithoutSystemdClearsUnits) {
  Enroll("a1");
  auto rec = store_->GetAgent("a1");
  EXPECT_EQ(rec->services_reported_ms(), 0);
  ASSERT_EQ(Apply("a1", ServiceReport(1, true, {{"nginx.service", "active"}})), ApplyOutcome::kApplied);
  ASSERT_EQ(Apply("a1", ServiceReport(2, false, {})), ApplyOutcome::kApplied);
  EXPECT_TRUE(UnitLines(store_.get(), "a1").empty());
  rec = store_->GetAgent("a1");
  EXPECT_FALSE(rec->systemd_present());
  EXPECT_GT(rec->services_reported_ms(), 0);
}

// One deployment record that no longer parses does not hide the others:
// ListDeployments leaves it out and names it; reading it alone is DATA_LOSS.
TEST_F(StoreTest, ListDeploymentsSkipsAndNamesAnUnreadableRecord) {
  v1::Deployment older, newer;
  older.set_id("dep-older");
  older.set_created_ms(1000);
  newer.set_id("dep-newer");
  newer.set_created_ms(2000);
  ASSERT_TRUE(store_->PutDeployment(older).ok());
  ASSERT_TRUE(store_->PutDeployment(newer).ok());
  store_.reset();
  {  // Damage: a record that is not a protobuf, written past the Store.
    const std::string path = dir_.path() + "/db";
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const auto at = std::find(names.begin(), names.end(), "deployments");
    ASSERT_NE(at, names.end());
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[static_cast<size_t>(at - names.begin())], "dep-damaged",
                        std::string(11, '\xff'))
                    .ok());
    for (rocksdb::ColumnFamilyHandle* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  Reopen();
  std::vector<std::string> unreadable;
  auto listed = store_->ListDeployments(&unreadable);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id(), "dep-newer");
  EXPECT_EQ((*listed)[1].id(), "dep-older");
  EXPECT_EQ(unreadable, std::vector<std::string>{"dep-damaged"});
  EXPECT_EQ(store_->GetDeployment("dep-damaged").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(store_->ListDeployments().ok());  // without the out-parameter too
}

}  // namespace
}  // namespace steward::collector
