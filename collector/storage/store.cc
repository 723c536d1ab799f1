#include "collector/storage/store.h"

#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/keys.h"
#include "collector/storage/store_internal.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
using internal_store::FromRocks;
using internal_store::ParseRecord;
using internal_store::SyncWrite;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir, OpenOptions open_options) {
  rocksdb::Options options;
  options.allow_fallocate = open_options.preallocate_wal;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.keep_log_file_num = 5;
  options.max_total_wal_size = 64 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : {"default", "agents", "tokens", "inventory", "series", "samples", "inventory_log", "health", "checks",
                           "services", "artifacts", "jobs", "deployments", "users", "audit", "jobs_open",
                           "inventory_names"}) {
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  rocksdb::DB* raw = nullptr;
  std::unique_ptr<Store> store(new Store());
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, cfs, &store->handles_, &raw),
                            absl::StrCat("cannot open RocksDB at ", dir)));
  store->db_.reset(raw);
  store->agents_ = store->handles_[1];
  store->tokens_ = store->handles_[2];
  store->inventory_ = store->handles_[3];
  store->inventory_log_ = store->handles_[6];
  store->health_ = store->handles_[7];
  store->checks_ = store->handles_[8];
  store->services_ = store->handles_[9];
  store->artifacts_ = store->handles_[10];
  store->jobs_ = store->handles_[11];
  store->deployments_ = store->handles_[12];
  store->users_ = store->handles_[13];
  store->audit_ = store->handles_[14];
  store->jobs_open_ = store->handles_[15];
  store->inventory_names_ = store->handles_[16];
  RETURN_IF_ERROR(store->CheckStorageFormat(dir));
  RETURN_IF_ERROR(store->BuildOpenJobsIndex());
  return store;
}

absl::Status Store::Commit(rocksdb::WriteBatch* batch, absl::string_view what) {
  if (write_hook_ && !write_hook_(what)) return absl::OkStatus();
  return FromRocks(db_->Write(SyncWrite(), batch), absl::StrCat("cannot write ", what));
}

Store::~Store() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
}

absl::Status Store::PutToken(const internal::TokenRecord& token) {
  return FromRocks(db_->Put(SyncWrite(), tokens_, token.token_id(), token.SerializeAsString()),
                   "cannot store token");
}

absl::StatusOr<internal::TokenRecord> Store::ReadValidToken(const std::string& token_id,
                                                            const std::string& secret, int64_t now_unix) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), tokens_, token_id, &bytes);
  if (s.IsNotFound()) return absl::UnauthenticatedError("enrollment token is not known");
  RETURN_IF_ERROR(FromRocks(s, "cannot read token"));
  internal::TokenRecord token;
  RETURN_IF_ERROR(ParseRecord(bytes, "token", &token));
  if (!SecretEquals(Sha256Hex(secret), token.secret_sha256())) {
    return absl::UnauthenticatedError("enrollment token is not known");
  }
  if (token.revoked()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "enrollment token ", token_id, " was revoked; create a new one with 'stewardctl token create'"));
  }
  if (now_unix >= token.expires_unix()) {
    return absl::UnauthenticatedError(
        "enrollment token has expired; create a new one with 'stewardctl token create'");
  }
  if (token.used() >= token.max_uses()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "enrollment token is used up (", token.max_uses(),
        " use(s)); create a new one with 'stewardctl token create --uses N'"));
  }
  return token;
}

absl::StatusOr<internal::TokenRecord> Store::CheckToken(const std::string& token_id, const std::string& secret,
                                                        int64_t now_unix) {
  return ReadValidToken(token_id, secret, now_unix);
}

absl::Mutex& Store::AgentLock(const std::string& agent_id) {
  return agent_mu_[absl::Hash<std::string>()(agent_id) % kAgentStripes];
}

absl::Status Store::EnrollWithToken(const std::string& token_id, const std::string& secret,
                                    int64_t now_unix, internal::AgentRecord agent) {
  absl::MutexLock token_lock(&token_mu_);
  absl::MutexLock lock(&AgentLock(agent.agent_id()));
  ASSIGN_OR_RETURN(internal::TokenRecord token, ReadValidToken(token_id, secret, now_unix));
  token.set_used(token.used() + 1);
  if (!token.agent_id().empty()) {
    // A renewal token: the same agent, its data kept, a new certificate
    // (the old one is no longer accepted).
    if (token.agent_id() != agent.agent_id()) {
      return absl::InternalError("renewal token used for another agent id");
    }
    ASSIGN_OR_RETURN(internal::AgentRecord existing, GetAgent(agent.agent_id()));
    *existing.mutable_facts() = agent.facts();
    existing.set_agent_version(agent.agent_version());
    existing.set_last_seen_ms(agent.last_seen_ms());
    existing.set_cert_serial(agent.cert_serial());
    existing.set_cert_not_after_unix(agent.cert_not_after_unix());
    existing.clear_previous_cert_serial();
    agent = std::move(existing);
  } else {
    *agent.mutable_labels() = token.labels();
    agent.set_token_id(token_id);
  }
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(tokens_, token_id, token.SerializeAsString()), "batch"));
  RETURN_IF_ERROR(FromRocks(batch.Put(agents_, agent.agent_id(), agent.SerializeAsString()), "batch"));
  return FromRocks(db_->Write(SyncWrite(), &batch), "cannot record enrollment");
}

absl::StatusOr<internal::AgentRecord> Store::GetAgent(const std::string& agent_id) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), agents_, agent_id, &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no agent with id '", agent_id, "'"));
  RETURN_IF_ERROR(FromRocks(s, "cannot read agent"));
  internal::AgentRecord rec;
  RETURN_IF_ERROR(ParseRecord(bytes, "agent", &rec));
  return rec;
}

absl::StatusOr<std::vector<internal::AgentRecord>> Store::ListAgents() {
  std::vector<internal::AgentRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), agents_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    internal::AgentRecord rec;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "agent", &rec));
    out.push_back(std::move(rec));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list agents"));
  return out;
}

absl::Status Store::TouchAgent(const std::string& agent_id, const v1::Hello& hello, int64_t now_ms,
                               const std::string& confirmed_serial) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  rec.set_agent_version(hello.agent_version());
  if (hello.has_trusted_keys()) {
    *rec.mutable_trusted_keys() = hello.trusted_keys();
  } else {
    rec.clear_trusted_keys();
  }
  rec.set_health_report_interval_ms(std::max<int64_t>(0, hello.health_report_interval_ms()));
  rec.set_last_seen_ms(now_ms);
  const bool confirmed = !confirmed_serial.empty() && confirmed_serial == rec.cert_serial() &&
                         !rec.previous_cert_serial().empty();
  if (confirmed) rec.clear_previous_cert_serial();
  // Synced when it forgets a certificate, so a crash cannot bring it back.
  return FromRocks(db_->Put(confirmed ? SyncWrite() : rocksdb::WriteOptions(), agents_, agent_id,
                            rec.SerializeAsString()),
                   "cannot update agent");
}

absl::StatusOr<ApplyOutcome> Store::ApplyEnvelope(const std::string& agent_id,
                                                  const v1::Envelope& env, int64_t now_ms) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  // Checked under the agent's lock: nothing of a disabled agent (a job
  // result, an inventory) is applied, even from a stream still closing.
  if (rec.disabled()) return absl::PermissionDeniedError(absl::StrCat("agent ", agent_id, " is disabled"));
  if (env.seq() <= rec.last_applied_seq()) return ApplyOutcome::kDuplicate;
  if (env.seq() != rec.last_applied_seq() + 1) {
    spdlog::warn("agent {}: sequence jumps from {} to {} (envelopes lost on the agent side)",
                 agent_id, rec.last_applied_seq(), env.seq());
  }
  rocksdb::WriteBatch batch;
  ApplyOutcome outcome = ApplyOutcome::kApplied;
  switch (env.payload_case()) {
    case v1::Envelope::kInventorySnapshot: {
      ASSIGN_OR_RETURN(outcome, ApplySnapshot(agent_id, env, &rec, &batch));
      break;
    }
    case v1::Envelope::kInventoryDelta: {
      ASSIGN_OR_RETURN(outcome, ApplyDelta(agent_id, env, &rec, &batch));
      break;
    }
    case v1::Envelope::kMetricBatch:
      // The samples and the series index live in the TSDB (collector/tsdb),
      // which the session writes first; here only the seq advances.
      break;
    case v1::Envelope::kHealthReport: {
      // The report replaces every state the host had: a check it no longer
      // runs (deleted on the collector, dropped from its config) goes.
      rec.set_health_reported_ms(now_ms);
      std::string prefix = keys::AgentPrefix(agent_id);
      RETURN_IF_ERROR(FromRocks(batch.DeleteRange(health_, prefix, keys::PrefixEnd(prefix)), "batch"));
      for (const auto& c : env.health_report().checks()) {
        RETURN_IF_ERROR(FromRocks(batch.Put(health_, prefix + c.name(), c.SerializeAsString()), "batch"));
      }
      break;
    }
    case v1::Envelope::kServiceReport:
      RETURN_IF_ERROR(ApplyServiceReport(agent_id, env.service_report(), now_ms, &rec, &batch));
      break;
    case v1::Envelope::kJobResult:
      RETURN_IF_ERROR(ApplyJobResult(agent_id, env.job_result(), env.seq(), &batch));
      break;
    case v1::Envelope::kHeartbeat:
    case v1::Envelope::PAYLOAD_NOT_SET:
      break;
  }
  rec.set_last_applied_seq(env.seq());
  rec.set_last_seen_ms(now_ms);
  RETURN_IF_ERROR(FromRocks(batch.Put(agents_, agent_id, rec.SerializeAsString()), "batch"));
  RETURN_IF_ERROR(Commit(&batch, "envelope"));
  return outcome;
}

template <typename Msg>
absl::StatusOr<std::vector<Msg>> Store::ListAgentRecords(rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                                                         absl::string_view what) {
  std::vector<Msg> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Msg msg;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), what, &msg));
    out.push_back(std::move(msg));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("cannot read ", what, " records")));
  return out;
}

absl::StatusOr<std::vector<v1::SoftwareItem>> Store::ListSoftware(const std::string& agent_id) {
  return ListAgentRecords<v1::SoftwareItem>(inventory_, keys::AgentPrefix(agent_id), "inventory");
}

absl::StatusOr<std::vector<v1::SoftwareItem>> Store::ListSoftwareNamed(const std::string& agent_id,
                                                                       absl::string_view source,
                                                                       absl::string_view name) {
  return ListAgentRecords<v1::SoftwareItem>(inventory_, keys::InventoryNamePrefix(agent_id, source, name),
                                            "inventory");
}

absl::StatusOr<std::vector<v1::ServiceUnit>> Store::ListServices(const std::string& agent_id) {
  return ListAgentRecords<v1::ServiceUnit>(services_, keys::AgentPrefix(agent_id), "service unit");
}

absl::StatusOr<std::vector<v1::CheckState>> Store::ListHealth(const std::string& agent_id) {
  return ListAgentRecords<v1::CheckState>(health_, keys::AgentPrefix(agent_id), "check state");
}

absl::Status Store::PutCheck(const v1::CheckAssignment& check) {
  return FromRocks(db_->Put(SyncWrite(), checks_, check.spec().name(), check.SerializeAsString()),
                   "cannot store check");
}

absl::StatusOr<std::vector<v1::CheckAssignment>> Store::ListChecks() {
  std::vector<v1::CheckAssignment> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), checks_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::CheckAssignment c;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "check", &c));
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list checks"));
  return out;
}

absl::Status Store::DeleteCheck(const std::string& name) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), checks_, name, &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no pushed check named '", name, "'"));
  RETURN_IF_ERROR(FromRocks(s, "cannot read check"));
  return FromRocks(db_->Delete(SyncWrite(), checks_, name), "cannot delete check");
}

}  // namespace steward::collector
