// Store: what operators do to agent identities (disable, remove, labels,
// certificate renewals) and to enrollment tokens (list, revoke), and the
// artifact check of FetchArtifact. Every read-modify-write of an agent
// record holds that agent's lock, like the envelope path.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/storage/keys.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace steward::collector {
using internal_store::FromRocks;
using internal_store::ParseRecord;
using internal_store::SyncWrite;

namespace {
bool Final(v1::JobStatus s) {
  return s == v1::JOB_SUCCEEDED || s == v1::JOB_SKIPPED || s == v1::JOB_FAILED || s == v1::JOB_ROLLED_BACK;
}
}  // namespace

absl::StatusOr<std::vector<internal::TokenRecord>> Store::ListTokens() {
  std::vector<internal::TokenRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), tokens_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    internal::TokenRecord t;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "token", &t));
    out.push_back(std::move(t));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list tokens"));
  return out;
}

absl::StatusOr<internal::TokenRecord> Store::RevokeToken(const std::string& token_id, int64_t now_unix,
                                                         const std::string& enrolled_as) {
  // token_mu_ orders this against an enrollment counting a use: a revoke
  // that returned is seen by every later enrollment.
  absl::MutexLock lock(&token_mu_);
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), tokens_, token_id, &bytes);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("no enrollment token with id '", token_id, "'"));
  }
  RETURN_IF_ERROR(FromRocks(s, "cannot read token"));
  internal::TokenRecord token;
  RETURN_IF_ERROR(ParseRecord(bytes, "token", &token));
  if (token.revoked() && (enrolled_as.empty() || token.enrolled_as() == enrolled_as)) return token;
  if (!enrolled_as.empty()) token.set_enrolled_as(enrolled_as);
  if (!token.revoked()) token.set_revoked_unix(now_unix);
  token.set_revoked(true);
  RETURN_IF_ERROR(FromRocks(db_->Put(SyncWrite(), tokens_, token_id, token.SerializeAsString()), "cannot revoke token"));
  return token;
}

absl::Status Store::RecordTokenFetch(const std::string& token_id, int64_t now_unix, const std::string& from,
                                     const std::string& hostname) {
  absl::MutexLock lock(&token_mu_);  // not to undo a use counted meanwhile
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), tokens_, token_id, &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no enrollment token with id '", token_id, "'"));
  RETURN_IF_ERROR(FromRocks(s, "cannot read token"));
  internal::TokenRecord token;
  RETURN_IF_ERROR(ParseRecord(bytes, "token", &token));
  token.set_fetched_unix(now_unix);
  token.set_fetched_from(from);
  token.set_fetched_hostname(hostname);
  token.set_fetches(token.fetches() + 1);
  // Not synced: losing the last download's note in a crash loses nothing
  // that matters.
  return FromRocks(db_->Put(rocksdb::WriteOptions(), tokens_, token_id, token.SerializeAsString()),
                   "cannot record a download");
}

absl::StatusOr<bool> Store::SetAgentDisabled(const std::string& agent_id, bool disabled, const std::string& by,
                                             int64_t now_ms) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  if (rec.disabled() == disabled) return false;
  rec.set_disabled(disabled);
  if (disabled) {
    rec.set_disabled_ms(now_ms);
    rec.set_disabled_by(by);
  } else {
    rec.clear_disabled_ms();
    rec.clear_disabled_by();
  }
  RETURN_IF_ERROR(
      FromRocks(db_->Put(SyncWrite(), agents_, agent_id, rec.SerializeAsString()), "cannot update agent"));
  return true;
}

absl::StatusOr<internal::AgentRecord> Store::RemoveAgent(const std::string& agent_id) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  const std::string prefix = keys::AgentPrefix(agent_id);
  const std::string end = keys::PrefixEnd(prefix);
  rocksdb::WriteBatch batch;
  // The index by name is keyed by name first: its entries go one by one.
  ASSIGN_OR_RETURN(std::vector<v1::SoftwareItem> items, ListSoftware(agent_id));
  for (const v1::SoftwareItem& item : items) {
    RETURN_IF_ERROR(FromRocks(batch.Delete(inventory_names_, keys::InventoryNameKey(agent_id, item)), "batch"));
  }
  for (rocksdb::ColumnFamilyHandle* cf : {inventory_, inventory_log_, health_, services_, jobs_}) {
    RETURN_IF_ERROR(FromRocks(batch.DeleteRange(cf, prefix, end), "batch"));
  }
  RETURN_IF_ERROR(FromRocks(batch.Delete(agents_, agent_id), "batch"));
  RETURN_IF_ERROR(FromRocks(db_->Write(SyncWrite(), &batch), "cannot remove agent"));
  return rec;
}

absl::StatusOr<internal::AgentRecord> Store::UpdateAgentLabels(const std::string& agent_id,
                                                               const std::vector<v1::Label>& set,
                                                               const std::vector<std::string>& remove) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  std::vector<v1::Label> labels(rec.labels().begin(), rec.labels().end());
  for (const v1::Label& l : set) {
    auto it = std::find_if(labels.begin(), labels.end(), [&](const v1::Label& x) { return x.name() == l.name(); });
    if (it != labels.end()) {
      it->set_value(l.value());
    } else {
      labels.push_back(l);
    }
  }
  for (const std::string& name : remove) {
    auto it = std::find_if(labels.begin(), labels.end(), [&](const v1::Label& x) { return x.name() == name; });
    if (it == labels.end()) {
      return absl::NotFoundError(absl::StrCat("host ", agent_id, " has no label '", name, "'"));
    }
    labels.erase(it);
  }
  std::sort(labels.begin(), labels.end(), [](const v1::Label& a, const v1::Label& b) { return a.name() < b.name(); });
  rec.clear_labels();
  for (v1::Label& l : labels) *rec.add_labels() = std::move(l);
  RETURN_IF_ERROR(
      FromRocks(db_->Put(SyncWrite(), agents_, agent_id, rec.SerializeAsString()), "cannot update agent"));
  return rec;
}

absl::Status Store::RecordRenewedCert(const std::string& agent_id, const std::string& old_serial,
                                      const std::string& serial, int64_t not_after_unix) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  if (rec.cert_serial() != old_serial) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", agent_id, " has another current certificate now; reconnect with it"));
  }
  rec.set_previous_cert_serial(old_serial);
  rec.set_cert_serial(serial);
  rec.set_cert_not_after_unix(not_after_unix);
  return FromRocks(db_->Put(SyncWrite(), agents_, agent_id, rec.SerializeAsString()), "cannot record certificate");
}

absl::Status Store::NoteSessionReplaced(const std::string& agent_id, int64_t now_ms) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(internal::AgentRecord rec, GetAgent(agent_id));
  rec.set_session_replaced_ms(now_ms);
  return FromRocks(db_->Put(SyncWrite(), agents_, agent_id, rec.SerializeAsString()), "cannot update agent");
}

absl::StatusOr<bool> Store::AgentHasArtifactJob(const std::string& agent_id, const std::string& sha256,
                                                int64_t since_ms) {
  ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, ListJobs(agent_id));
  return std::any_of(jobs.begin(), jobs.end(), [&](const v1::Job& j) {
    if (!j.spec().has_install_artifact() || j.spec().install_artifact().sha256() != sha256) return false;
    return !Final(j.result().status()) || j.created_ms() >= since_ms || j.result().finished_ms() >= since_ms;
  });
}

}  // namespace steward::collector
