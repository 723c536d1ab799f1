// Store: jobs (the `jobs` column family): what was asked of each host and
// the result it reported. A result is applied in the envelope's write
// batch, so it is recorded exactly when the envelope is acked.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/keys.h"
#include "common/crypto.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
using internal_store::FromRocks;
using internal_store::ParseRecord;
using internal_store::SyncWrite;

namespace {
std::string JobKey(const std::string& agent_id, const std::string& job_id) {
  return absl::StrCat(agent_id, std::string(1, '\0'), job_id);
}
bool Final(v1::JobStatus s) {
  return s == v1::JOB_SUCCEEDED || s == v1::JOB_SKIPPED || s == v1::JOB_FAILED || s == v1::JOB_ROLLED_BACK;
}
}  // namespace

absl::Status Store::PutJobInBatch(const v1::Job& job, rocksdb::WriteBatch* batch) {
  const std::string key = JobKey(job.agent_id(), job.spec().job_id());
  RETURN_IF_ERROR(FromRocks(batch->Put(jobs_, key, job.SerializeAsString()), "batch"));
  const bool open = !Final(job.result().status()) || job.withdrawn();
  return FromRocks(open ? batch->Put(jobs_open_, key, "") : batch->Delete(jobs_open_, key), "batch");
}

absl::Status Store::PutJob(const v1::Job& job) {
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(PutJobInBatch(job, &batch));
  return Commit(&batch, "job");
}

absl::Status Store::CreateJob(const v1::Job& job) {
  absl::MutexLock lock(&AgentLock(job.agent_id()));
  absl::StatusOr<v1::Job> existing = GetJob(job.agent_id(), job.spec().job_id());
  if (existing.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("host ", job.agent_id(), " already has job ", job.spec().job_id()));
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  return PutJob(job);
}

absl::StatusOr<bool> Store::WithdrawJobIfPending(const std::string& agent_id, const v1::JobResult& result) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(v1::Job job, GetJob(agent_id, result.job_id()));
  if (Final(job.result().status())) return false;
  *job.mutable_result() = result;
  job.set_withdrawn(true);
  RETURN_IF_ERROR(PutJob(job));
  return true;
}

absl::StatusOr<size_t> Store::PruneJobs(
    int64_t cutoff_ms, const std::function<bool(const std::string&, const std::string&)>& keep) {
  size_t pruned = 0;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), jobs_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Job job;
    if (!job.ParseFromString(it->value().ToString())) continue;  // left for people to look at
    const int64_t at = job.result().finished_ms() != 0 ? job.result().finished_ms() : job.created_ms();
    if (!Final(job.result().status()) || job.withdrawn() || at >= cutoff_ms) continue;
    if (keep && keep(job.agent_id(), job.spec().job_id())) continue;
    RETURN_IF_ERROR(FromRocks(batch.Delete(jobs_, it->key()), "batch"));
    ++pruned;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list jobs"));
  if (pruned > 0) RETURN_IF_ERROR(Commit(&batch, "job pruning"));
  return pruned;
}

absl::Status Store::BuildOpenJobsIndex() {
  static constexpr char kBuilt[] = "jobs_open_built";
  std::string marker;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), kBuilt, &marker);
  if (got.ok()) return absl::OkStatus();
  if (!got.IsNotFound()) return FromRocks(got, "cannot read the jobs index marker");
  rocksdb::WriteBatch batch;
  size_t open = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), jobs_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Job job;
    if (!job.ParseFromString(it->value().ToString())) continue;  // reported when read
    if (!Final(job.result().status()) || job.withdrawn()) {
      RETURN_IF_ERROR(FromRocks(batch.Put(jobs_open_, it->key(), ""), "batch"));
      ++open;
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list jobs"));
  RETURN_IF_ERROR(FromRocks(batch.Put(db_->DefaultColumnFamily(), kBuilt, "1"), "batch"));
  RETURN_IF_ERROR(FromRocks(db_->Write(SyncWrite(), &batch), "cannot write the jobs index"));
  if (open > 0) spdlog::info("jobs index built: {} jobs still to send", open);
  return absl::OkStatus();
}

absl::StatusOr<v1::Job> Store::GetJob(const std::string& agent_id, const std::string& job_id) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), jobs_, JobKey(agent_id, job_id), &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("host ", agent_id, " has no job ", job_id));
  RETURN_IF_ERROR(FromRocks(s, "cannot read job"));
  v1::Job job;
  RETURN_IF_ERROR(ParseRecord(bytes, "job", &job));
  return job;
}

absl::StatusOr<v1::Job> Store::GetJobOutcome(const std::string& agent_id, const std::string& job_id) {
  rocksdb::PinnableSlice bytes;  // no copy of the record
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), jobs_, JobKey(agent_id, job_id), &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("host ", agent_id, " has no job ", job_id));
  RETURN_IF_ERROR(FromRocks(s, "cannot read job"));
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  v1::Job job;
  job.set_agent_id(agent_id);
  const auto broken = [&] { return absl::DataLossError(absl::StrCat("stored job record ", job_id, " does not parse")); };
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto wire = WireFormatLite::GetTagWireType(tag);
    if (field == v1::Job::kResultFieldNumber && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string result;
      uint32_t length = 0;
      if (!in.ReadVarint32(&length) || !in.ReadString(&result, static_cast<int>(length))) return broken();
      v1::JobResult r;
      if (!r.ParseFromString(result)) return broken();
      job.mutable_result()->MergeFrom(r);  // as a parse merges repeated occurrences
    } else if (field == v1::Job::kWithdrawnFieldNumber && wire == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return broken();
      job.set_withdrawn(v != 0);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return broken();
    }
  }
  if (!in.ConsumedEntireMessage()) return broken();
  return job;
}

absl::StatusOr<std::vector<v1::Job>> Store::ListJobs(const std::string& agent_id) {
  std::vector<v1::Job> out;
  const std::string prefix = agent_id.empty() ? "" : agent_id + std::string(1, '\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), jobs_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    v1::Job job;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "job", &job));
    out.push_back(std::move(job));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list jobs"));
  std::stable_sort(out.begin(), out.end(),
                   [](const v1::Job& a, const v1::Job& b) { return a.created_ms() > b.created_ms(); });
  return out;
}

absl::StatusOr<std::vector<v1::JobSpec>> Store::PendingJobs(const std::string& agent_id) {
  ASSIGN_OR_RETURN(JobsToSend open, OpenJobs(agent_id));
  return std::move(open.pending);
}

absl::StatusOr<Store::JobsToSend> Store::OpenJobs(const std::string& agent_id) {
  std::vector<v1::Job> jobs;
  const std::string prefix = agent_id + std::string(1, '\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), jobs_open_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    absl::StatusOr<v1::Job> job = GetJob(agent_id, it->key().ToString().substr(prefix.size()));
    if (absl::IsNotFound(job.status())) continue;
    RETURN_IF_ERROR(job.status());
    jobs.push_back(*std::move(job));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list open jobs"));
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const v1::Job& a, const v1::Job& b) { return a.created_ms() < b.created_ms(); });
  JobsToSend out;
  for (v1::Job& job : jobs) {
    if (job.withdrawn()) {
      v1::CancelJob& c = out.cancels.emplace_back();
      c.set_job_id(job.spec().job_id());
      c.set_reason(job.result().message());
    } else if (!Final(job.result().status())) {
      out.pending.push_back(std::move(*job.mutable_spec()));
    }
  }
  return out;
}

namespace {

// The change a file job's first final result records (the inventory does
// not watch files): write_config that wrote its file (CHANGED, new_version
// "sha256:" and 12 digits of the content) or put it back (ROLLED_BACK), a
// rollback job that restored one (CHANGED to "as before <job>").
std::optional<v1::InventoryChange> FileChange(const v1::Job& job, const v1::JobResult& r) {
  const bool restores = job.spec().has_rollback() && absl::StartsWith(r.package(), "/");
  if (!job.spec().has_write_config() && !restores) return std::nullopt;
  v1::InventoryChange c;
  c.set_time_ms(r.finished_ms());
  c.set_source("file");
  c.set_name(r.package().empty() ? job.spec().write_config().path() : r.package());
  c.set_job_id(job.spec().job_id());
  c.set_deployment_id(job.spec().deployment_id());
  if (restores) {
    if (r.status() != v1::JOB_ROLLED_BACK && r.status() != v1::JOB_SUCCEEDED) return std::nullopt;
    c.set_kind(v1::InventoryChange::CHANGED);
    c.set_new_version(absl::StrCat("as before ", job.spec().rollback().of_job_id()));
    return c;
  }
  const std::string written = absl::StrCat("sha256:", Sha256Hex(job.spec().write_config().content()).substr(0, 12));
  if (r.status() == v1::JOB_SUCCEEDED) {
    c.set_kind(v1::InventoryChange::CHANGED);
    c.set_new_version(written);
  } else if (r.status() == v1::JOB_ROLLED_BACK) {
    c.set_kind(v1::InventoryChange::ROLLED_BACK);
    c.set_attempted_version(written);
  } else {
    return std::nullopt;  // skipped (already so) or failed before writing
  }
  return c;
}

}  // namespace

absl::Status Store::ApplyJobResult(const std::string& agent_id, const v1::JobResult& result, uint64_t seq,
                                   rocksdb::WriteBatch* batch) {
  absl::StatusOr<v1::Job> job = GetJob(agent_id, result.job_id());
  if (absl::IsNotFound(job.status())) {
    // Not ours (a wiped collector, another collector's job): keep nothing.
    spdlog::warn("agent {} reported job {}, which this collector does not know; ignored", agent_id, result.job_id());
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(job.status());
  // Once: an agent answers a job sent again with the result it sent before.
  const bool first = !Final(job->result().status()) || job->withdrawn();
  if (std::optional<v1::InventoryChange> file = FileChange(*job, result); first && file.has_value()) {
    RETURN_IF_ERROR(FromRocks(
        batch->Put(inventory_log_, keys::ChangeKey(agent_id, file->time_ms(), seq, 0), file->SerializeAsString()),
        "batch"));
  }
  *job->mutable_result() = result;
  // The host's own result replaces a withdrawal: it ran (or cancelled) it.
  job->set_withdrawn(false);
  return PutJobInBatch(*job, batch);
}

}  // namespace steward::collector
