#pragma once
// The collector's storage: one RocksDB with a column family per kind of
// record (see ARCHITECTURE.md, "Collector storage"):
//
//   agents     agent id                                  -> AgentRecord
//   tokens     token id                                  -> TokenRecord
//   inventory  agent id \0 source \0 name \0 arch \0 location -> SoftwareItem
//   inventory_names  name folded to ASCII lower case \0 inventory key -> ""
//              (an index of `inventory` by package name: kept in the same
//              write batches, read by FindSoftwareByName)
//   inventory_log  agent id \0 time(BE8) seq(BE8) index(BE4) -> InventoryChange
//   health     agent id \0 check name                    -> CheckState (latest report)
//   services   agent id \0 unit name                     -> ServiceUnit (latest report)
//   checks     check name                                -> CheckAssignment (pushed checks)
//   jobs       agent id \0 job id                        -> Job (spec and latest result)
//   jobs_open  agent id \0 job id                        -> "" for each job still to send
//              (no final result) or to cancel (withdrawn, not reported):
//              what a session reads after Welcome, without parsing the
//              agent's past jobs
//   deployments  deployment id                          -> Deployment (rollout state)
//   artifacts  sha256 (hex)                              -> Artifact (metadata; content in
//              files, collector/artifacts/artifact_blobs.h)
//   users      user name                                 -> UserRecord (role, cert serial)
//   audit      seq (BE8)                                 -> AuditRecord, hash-chained
//              (store_audit.cc); the newest record's seq and hash are
//              also kept under "audit_head" in `default`
//   series, samples  (unused: the foundation's metric layout, still opened
//              so data directories of that version open; series and
//              samples now live in the TSDB, collector/tsdb/, DATA_DIR/tsdb)
//
// Thread-safe. Writes that read-modify-write an agent or token record are
// serialised by one mutex; every envelope's effects and the agent's new
// last-applied sequence go into one synced WriteBatch, so an ack means the
// data is on disk and a resent envelope is skipped, not applied twice.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/storage/change_causes.h"
#include "steward/internal/records.pb.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/agent.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace steward::collector {

// What ApplyEnvelope did with an envelope.
// kResyncNeeded: an inventory delta did not match the stored inventory; it
// was recorded as processed (its seq advanced) but nothing else changed, and
// the agent must send a full snapshot.
enum class ApplyOutcome { kApplied, kDuplicate, kResyncNeeded };

// An audit record as read back, with the SHA-256 (hex) of its stored bytes.
struct StoredAuditRecord {
  internal::AuditRecord record;
  std::string sha256_hex;
};

// What Store::VerifyAudit found.
struct AuditVerification {
  bool intact = true;
  // Records in the trail; when not intact, those before the first bad one.
  uint64_t records = 0;
  // The first bad record (missing, out of order, unreadable, altered); 0 if intact.
  uint64_t first_bad_seq = 0;
  std::string problem;
  // SHA-256 (hex) of the newest record; empty for an empty or broken trail.
  std::string head_sha256_hex;
};

class Store {
 public:
  struct OpenOptions {
    // RocksDB preallocates each WAL file (fallocate, tens of MB): cheap on a
    // disk, but on tmpfs it allocates the memory; tests that open thousands
    // of stores there turn it off.
    bool preallocate_wal = true;
  };
  // The layout version this binary writes, stored under "storage_format"
  // in `default` (decimal text) when a database is created. Open refuses a
  // database of a newer format, naming both, and migrates an older one:
  //   1  (no key) every release before the key existed
  //   2  the key itself; nothing else changed
  //   3  inventory_names, the index of inventory by package name (built
  //      from inventory when an older database is opened)
  static constexpr uint32_t kStorageFormat = 3;
  // Opens (creating if needed) the database under `dir`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir, OpenOptions open_options);
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir) { return Open(dir, OpenOptions()); }
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- tokens ---
  absl::Status PutToken(const internal::TokenRecord& token);
  // Read-only check of a token (same refusals as EnrollWithToken), so costly
  // work such as signing is done only for a plausible caller. Returns the
  // token (its agent_id says whether it renews an existing agent).
  absl::StatusOr<internal::TokenRecord> CheckToken(const std::string& token_id, const std::string& secret,
                                                   int64_t now_unix);
  // Checks `token_id`/`secret` and, when valid, atomically counts one use
  // and creates `agent`. UNAUTHENTICATED with the reason otherwise. With a
  // renewal token (TokenRecord.agent_id, which must equal agent.agent_id)
  // the existing record is kept and only its facts, version and
  // certificate (serial, expiry) are replaced; NOT_FOUND when that agent
  // was removed meanwhile.
  absl::Status EnrollWithToken(const std::string& token_id, const std::string& secret,
                               int64_t now_unix, internal::AgentRecord agent);
  // Counts one download from the install endpoints with a valid token:
  // when, from which address, and the host name the installer sent (shown
  // by `token list` and `hosts --pending`). NOT_FOUND for an unknown id.
  absl::Status RecordTokenFetch(const std::string& token_id, int64_t now_unix, const std::string& from,
                                const std::string& hostname);
  // Every token, by id (see store_identity.cc).
  absl::StatusOr<std::vector<internal::TokenRecord>> ListTokens();
  // Marks a token revoked (a second revoke keeps the first time).
  // NOT_FOUND for an unknown id.
  // `enrolled_as`: its machine is enrolled already as that agent.
  absl::StatusOr<internal::TokenRecord> RevokeToken(const std::string& token_id, int64_t now_unix,
                                                    const std::string& enrolled_as = "");

  // --- agents ---
  absl::StatusOr<internal::AgentRecord> GetAgent(const std::string& agent_id);
  absl::StatusOr<std::vector<internal::AgentRecord>> ListAgents();
  // Records a Hello: agent version, the publisher keys it trusts, its
  // health report interval, and the last-seen time. With
  // `confirmed_serial` equal to the record's current certificate serial,
  // the previous one (kept since a renewal) is forgotten: the agent has
  // shown it uses the new certificate.
  absl::Status TouchAgent(const std::string& agent_id, const v1::Hello& hello, int64_t now_ms,
                          const std::string& confirmed_serial = "");

  // --- agent identity (see store_identity.cc) ---
  // Sets or clears AgentRecord.disabled; false when it already had that
  // state. NOT_FOUND for an unknown agent.
  absl::StatusOr<bool> SetAgentDisabled(const std::string& agent_id, bool disabled, const std::string& by,
                                        int64_t now_ms);
  // Deletes the agent's record, inventory, change log, check states,
  // services and jobs in one synced write; returns the deleted record.
  // Its time series (collector/tsdb) are not touched.
  absl::StatusOr<internal::AgentRecord> RemoveAgent(const std::string& agent_id);
  // Sets (by name) then removes labels; the updated record. NOT_FOUND for an
  // unknown agent or a label to remove that it does not have.
  absl::StatusOr<internal::AgentRecord> UpdateAgentLabels(const std::string& agent_id,
                                                          const std::vector<v1::Label>& set,
                                                          const std::vector<std::string>& remove);
  // Records a renewed certificate: the current serial becomes the previous
  // one, `serial` the current. FAILED_PRECONDITION when the current serial
  // is no longer `old_serial` (a concurrent renewal or re-enrollment won).
  absl::Status RecordRenewedCert(const std::string& agent_id, const std::string& old_serial,
                                 const std::string& serial, int64_t not_after_unix);
  // Records that a session of the agent was replaced (session_replaced_ms).
  absl::Status NoteSessionReplaced(const std::string& agent_id, int64_t now_ms);
  // True when the agent has a job installing artifact `sha256` that is not
  // finished, or that finished (or was created) after `since_ms`.
  absl::StatusOr<bool> AgentHasArtifactJob(const std::string& agent_id, const std::string& sha256,
                                           int64_t since_ms);

  // --- envelopes ---
  // Applies one envelope and advances the agent's last-applied sequence in
  // one synced write. Envelopes at or below that sequence are duplicates.
  absl::StatusOr<ApplyOutcome> ApplyEnvelope(const std::string& agent_id,
                                             const v1::Envelope& envelope, int64_t now_ms);

  // --- queries ---
  absl::StatusOr<std::vector<v1::SoftwareItem>> ListSoftware(const std::string& agent_id);
  // One agent's items of one source and exact name (every arch and
  // location): a seek, not a read of its whole inventory.
  absl::StatusOr<std::vector<v1::SoftwareItem>> ListSoftwareNamed(const std::string& agent_id,
                                                                  absl::string_view source, absl::string_view name);
  // Every host's items whose name, folded to ASCII lower case, starts with
  // `folded_prefix` (lower case itself), from the index by name: a seek and
  // the matching rows, not a scan of every host's inventory. In no
  // particular order.
  struct HostItem {
    std::string agent_id;
    v1::SoftwareItem item;
  };
  absl::StatusOr<std::vector<HostItem>> FindSoftwareByName(absl::string_view folded_prefix);
  // Latest check states of one agent, by check name.
  absl::StatusOr<std::vector<v1::CheckState>> ListHealth(const std::string& agent_id);
  // Units of one agent's latest service report, by unit name (see
  // store_services.cc); whether systemd runs there is in its AgentRecord.
  absl::StatusOr<std::vector<v1::ServiceUnit>> ListServices(const std::string& agent_id);
  // Pushed checks.
  absl::Status PutCheck(const v1::CheckAssignment& check);
  absl::StatusOr<std::vector<v1::CheckAssignment>> ListChecks();
  // NotFound when there is no such check.
  absl::Status DeleteCheck(const std::string& name);

  // --- artifacts (metadata; see store_artifacts.cc) ---
  absl::Status PutArtifact(const v1::Artifact& artifact);
  // NotFound when there is none.
  absl::StatusOr<v1::Artifact> GetArtifact(const std::string& sha256);
  absl::StatusOr<std::vector<v1::Artifact>> ListArtifacts();
  // NotFound when there is none.
  absl::Status DeleteArtifact(const std::string& sha256);

  // --- jobs (see store_jobs.cc) ---
  absl::Status PutJob(const v1::Job& job);
  // NotFound when the agent has no such job.
  absl::StatusOr<v1::Job> GetJob(const std::string& agent_id, const std::string& job_id);
  // The same job with only its result and `withdrawn` read: the spec (a
  // deployment's job carries its signed statement, which lists every host)
  // is skipped, not parsed. What a rollout checks every second for each
  // running host.
  absl::StatusOr<v1::Job> GetJobOutcome(const std::string& agent_id, const std::string& job_id);
  // One agent's jobs (all agents' when empty), newest first.
  absl::StatusOr<std::vector<v1::Job>> ListJobs(const std::string& agent_id);
  // The agent's jobs without a final result, oldest first: sent again after
  // each Welcome.
  absl::StatusOr<std::vector<v1::JobSpec>> PendingJobs(const std::string& agent_id);
  // What a session sends after Welcome: the pending jobs (oldest first) and
  // the withdrawn jobs the agent has not reported (cancels). Reads only the
  // jobs_open index and those jobs.
  struct JobsToSend {
    std::vector<v1::JobSpec> pending;
    std::vector<v1::CancelJob> cancels;
  };
  absl::StatusOr<JobsToSend> OpenJobs(const std::string& agent_id);
  // Stores a new job; AlreadyExists when the agent has one with its id
  // (checked and written under the agent's lock).
  absl::Status CreateJob(const v1::Job& job);
  // Deletes the jobs that finished (a final result, not withdrawn) before
  // `cutoff_ms` — by result time, or creation time when the result has none
  // — except those `keep` names (agent id, job id). Returns how many went.
  // Their results stay in the deployments that ran them; the agents keep
  // their own records (a job id is never run twice there).
  absl::StatusOr<size_t> PruneJobs(int64_t cutoff_ms,
                                   const std::function<bool(const std::string&, const std::string&)>& keep);
  // Withdraws a job that has no final result yet (a deadline passed, a
  // deployment was aborted): gives it the final `result` and marks it
  // withdrawn, in one write, so it is no longer sent and a cancel is sent
  // instead until the agent reports (its result then replaces this one).
  // False when it already had a final result (the agent's stays).
  absl::StatusOr<bool> WithdrawJobIfPending(const std::string& agent_id, const v1::JobResult& result);

  // --- deployments (see store_deployments.cc) ---
  absl::Status PutDeployment(const v1::Deployment& deployment);
  // NotFound when there is none.
  absl::StatusOr<v1::Deployment> GetDeployment(const std::string& id);
  // Every deployment, newest first. A record that does not parse is left
  // out and its id added to `unreadable` (when given): one damaged record
  // does not hide the others.
  absl::StatusOr<std::vector<v1::Deployment>> ListDeployments(std::vector<std::string>* unreadable = nullptr);
  // Every deployment's id, without reading the records.
  absl::StatusOr<std::vector<std::string>> ListDeploymentIds();

  // Tests only: called before each write of a job, a deployment or an
  // envelope, with what is written; when it returns false the write is
  // dropped (and reported done): the simulation's "the process died here",
  // nothing after that point reaches the disk.
  void SetWriteHookForTesting(std::function<bool(absl::string_view what)> hook) { write_hook_ = std::move(hook); }

  // --- users (see store_users.cc) ---
  // AlreadyExists when the name is taken.
  absl::Status CreateUser(const internal::UserRecord& user);
  // Replaces a user's record; NotFound when there is none (a concurrent
  // RemoveUser wins: a removed user is not brought back).
  absl::Status ReplaceUser(const internal::UserRecord& user);
  // NotFound when there is none.
  absl::StatusOr<internal::UserRecord> GetUser(const std::string& name);
  // By name.
  absl::StatusOr<std::vector<internal::UserRecord>> ListUsers();
  // NotFound when there is none.
  absl::Status DeleteUser(const std::string& name);

  // --- audit trail (see store_audit.cc) ---
  // Appends `record` (its seq and prev_sha256 are set here) in one synced
  // write with the new head; returns it as stored. Appends are serialised,
  // so the chain is linear.
  absl::StatusOr<StoredAuditRecord> AppendAudit(internal::AuditRecord record);
  // Records at or after `since_ms` that `keep` accepts (all when null),
  // oldest first; at most `limit` (the newest), with *truncated set when
  // more matched. Reads newest first and stops at the first record older
  // than `since_ms` (records are appended in time order).
  absl::StatusOr<std::vector<StoredAuditRecord>> ListAudit(
      int64_t since_ms, const std::function<bool(const internal::AuditRecord&)>& keep, size_t limit,
      bool* truncated);
  // Walks the whole chain (see AuditVerification).
  absl::StatusOr<AuditVerification> VerifyAudit();

  // --- backup (see store_checkpoint.cc) ---
  // Writes a consistent RocksDB checkpoint of every column family into
  // `dir` (which must not exist): hard links to the SST files, a copy of
  // the rest. Runs alongside writes; *sequence receives the last sequence
  // number the checkpoint holds.
  absl::Status Checkpoint(const std::string& dir, uint64_t* sequence);

  // Inventory changes of one agent at or after `since_ms` that `cause`
  // and `keep` (when set) admit, oldest first; at most `limit` (the
  // newest), with *truncated set when more existed. A job's change carries
  // its job and deployment ids (attributed when it was logged), and the
  // steps of an attempt that was rolled back come as one ROLLED_BACK change
  // (change_causes.h).
  absl::StatusOr<std::vector<v1::InventoryChange>> ListChanges(
      const std::string& agent_id, int64_t since_ms, size_t limit, bool* truncated,
      v1::ChangeCause cause = v1::CHANGE_CAUSE_ANY,
      const std::function<bool(const v1::InventoryChange&)>& keep = nullptr);

 private:
  Store() = default;
  // Called with the agent's lock (AgentLock) held.
  // Adds the inventory part of an envelope to `batch`; see store_inventory.cc.
  absl::StatusOr<ApplyOutcome> ApplySnapshot(const std::string& agent_id, const v1::Envelope& env,
                                             internal::AgentRecord* rec, rocksdb::WriteBatch* batch);
  absl::StatusOr<ApplyOutcome> ApplyDelta(const std::string& agent_id, const v1::Envelope& env,
                                          internal::AgentRecord* rec, rocksdb::WriteBatch* batch);
  // Gives each change the job that made it, if any (change_causes.h).
  absl::Status AttributeToJobs(const std::string& agent_id, std::vector<v1::InventoryChange>* changes);
  // GetArtifact as change_causes.h wants it.
  ArtifactLookup Artifacts();
  // Records a job's result in `batch` (store_jobs.cc).
  // A file a job wrote (write_config, or a rollback of one) goes into the
  // change log with the job as its cause, the first time its result comes.
  absl::Status ApplyJobResult(const std::string& agent_id, const v1::JobResult& result, uint64_t seq,
                              rocksdb::WriteBatch* batch);
  // Replaces the agent's stored units with the report's; see store_services.cc.
  absl::Status ApplyServiceReport(const std::string& agent_id, const v1::ServiceReport& report, int64_t now_ms,
                                  internal::AgentRecord* rec, rocksdb::WriteBatch* batch);
  // Every value under `prefix` (an agent's, or narrower) in `cf`, parsed
  // as Msg, in key order.
  template <typename Msg>
  absl::StatusOr<std::vector<Msg>> ListAgentRecords(rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                                                    absl::string_view what);
  absl::Status LogChanges(const std::string& agent_id, const v1::Envelope& env,
                          const std::vector<v1::InventoryChange>& changes, rocksdb::WriteBatch* batch);
  // Reads the token and checks secret, expiry and uses.
  absl::StatusOr<internal::TokenRecord> ReadValidToken(const std::string& token_id, const std::string& secret,
                                                       int64_t now_unix);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* agents_ = nullptr;
  rocksdb::ColumnFamilyHandle* tokens_ = nullptr;
  rocksdb::ColumnFamilyHandle* inventory_ = nullptr;
  rocksdb::ColumnFamilyHandle* inventory_names_ = nullptr;
  rocksdb::ColumnFamilyHandle* inventory_log_ = nullptr;
  rocksdb::ColumnFamilyHandle* health_ = nullptr;
  rocksdb::ColumnFamilyHandle* checks_ = nullptr;
  rocksdb::ColumnFamilyHandle* services_ = nullptr;
  rocksdb::ColumnFamilyHandle* artifacts_ = nullptr;
  rocksdb::ColumnFamilyHandle* jobs_ = nullptr;
  rocksdb::ColumnFamilyHandle* deployments_ = nullptr;
  rocksdb::ColumnFamilyHandle* users_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;
  rocksdb::ColumnFamilyHandle* jobs_open_ = nullptr;
  std::function<bool(absl::string_view)> write_hook_;
  // Writes `batch` (synced) unless the test hook drops it.
  absl::Status Commit(rocksdb::WriteBatch* batch, absl::string_view what);
  // Adds `job` and its jobs_open entry (or its removal) to `batch`.
  absl::Status PutJobInBatch(const v1::Job& job, rocksdb::WriteBatch* batch);
  // Reads "storage_format": refuses a newer one, migrates an older one
  // (store_checkpoint.cc).
  absl::Status CheckStorageFormat(const std::string& dir);
  // Writes inventory_names from inventory (the migration to format 3).
  absl::Status BuildInventoryNamesIndex();
  // An item stored, or removed, with its index entry, in `batch`.
  absl::Status PutItemInBatch(const std::string& agent_id, const v1::SoftwareItem& item, rocksdb::WriteBatch* batch);
  absl::Status DeleteItemInBatch(const std::string& agent_id, const v1::SoftwareItem& item,
                                 rocksdb::WriteBatch* batch);
  // Builds jobs_open from the jobs once (a data directory from before it).
  absl::Status BuildOpenJobsIndex();
  // Writes of one agent's records (its AgentRecord read-modify-write with
  // the payload of an envelope) serialize on that agent's stripe; writes of
  // different agents run in parallel, their synced writes committed by
  // RocksDB as a group. Enrollment also takes token_mu_ (the token's use
  // count), before the stripe.
  static constexpr size_t kAgentStripes = 64;
  absl::Mutex& AgentLock(const std::string& agent_id);
  absl::Mutex agent_mu_[kAgentStripes];
  absl::Mutex token_mu_;
  // User records' read-modify-writes (create, rotate).
  absl::Mutex users_mu_;
  // The audit trail's append point: the newest record's seq and SHA-256
  // (raw), read from "audit_head" on the first append.
  absl::Mutex audit_mu_;
  bool audit_head_loaded_ ABSL_GUARDED_BY(audit_mu_) = false;
  uint64_t audit_seq_ ABSL_GUARDED_BY(audit_mu_) = 0;
  std::string audit_hash_ ABSL_GUARDED_BY(audit_mu_);
};

}  // namespace steward::collector
