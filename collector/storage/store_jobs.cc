// Store: jobs (the `jobs` column family): what was asked of each host and
// the result it reported. A result is applied in the envelope's write
// batch, so it is recorded exactly when the envelope is acked.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/status_macros.h"
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

absl::Status Store::PutJob(const v1::Job& job) {
  return FromRocks(db_->Put(SyncWrite(), jobs_, JobKey(job.agent_id(), job.spec().job_id()), job.SerializeAsString()),
                   "cannot store job");
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

absl::StatusOr<bool> Store::FinishJobIfPending(const std::string& agent_id, const v1::JobResult& result) {
  absl::MutexLock lock(&AgentLock(agent_id));
  ASSIGN_OR_RETURN(v1::Job job, GetJob(agent_id, result.job_id()));
  if (Final(job.result().status())) return false;
  *job.mutable_result() = result;
  RETURN_IF_ERROR(PutJob(job));
  return true;
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
  ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, ListJobs(agent_id));
  std::vector<v1::JobSpec> out;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    if (!Final(it->result().status())) out.push_back(it->spec());
  }
  return out;
}

absl::Status Store::ApplyJobResult(const std::string& agent_id, const v1::JobResult& result,
                                   rocksdb::WriteBatch* batch) {
  absl::StatusOr<v1::Job> job = GetJob(agent_id, result.job_id());
  if (absl::IsNotFound(job.status())) {
    // Not ours (a wiped collector, another collector's job): keep nothing.
    spdlog::warn("agent {} reported job {}, which this collector does not know; ignored", agent_id, result.job_id());
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(job.status());
  *job->mutable_result() = result;
  return FromRocks(batch->Put(jobs_, JobKey(agent_id, result.job_id()), job->SerializeAsString()), "batch");
}

}  // namespace steward::collector
