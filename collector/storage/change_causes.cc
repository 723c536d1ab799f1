#include "collector/storage/change_causes.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace steward::collector {
namespace {

bool Finished(const v1::Job& job) {
  const v1::JobStatus s = job.result().status();
  return s == v1::JOB_SUCCEEDED || s == v1::JOB_SKIPPED || s == v1::JOB_FAILED ||
         s == v1::JOB_ROLLED_BACK;
}

const v1::Job* FindJob(const std::vector<v1::Job>& jobs, const std::string& job_id) {
  for (const v1::Job& j : jobs) {
    if (j.spec().job_id() == job_id) return &j;
  }
  return nullptr;
}

// Jobs install and remove system packages only (dpkg, apt, rpm): a pip or
// npm item of the same name is never theirs.
bool SystemPackage(const v1::InventoryChange& c) {
  return c.source() == "dpkg" || c.source() == "rpm";
}

// Whether `job` made `change` (of its package), by the header's time rules.
bool WithinJob(const v1::Job& job, const v1::InventoryChange& change) {
  if (!Finished(job)) return true;
  const v1::JobResult& r = job.result();
  return change.time_ms() >= r.started_ms() &&
         change.time_ms() <= r.finished_ms() + absl::ToInt64Milliseconds(kJobAttributionWindow);
}

// Steps of one attempt share this key; empty for steps no job made.
std::string AttemptOf(const v1::InventoryChange& c, const std::vector<v1::Job>& jobs) {
  if (c.job_id().empty()) return "";
  if (!c.deployment_id().empty()) return absl::StrCat("deployment ", c.deployment_id());
  const v1::Job* job = FindJob(jobs, c.job_id());
  if (job != nullptr && job->spec().has_rollback())
    return absl::StrCat("job ", job->spec().rollback().of_job_id());
  return absl::StrCat("job ", c.job_id());
}

std::string ItemOf(const v1::InventoryChange& c) {
  return absl::StrCat(c.source(), std::string(1, '\0'), c.name(), std::string(1, '\0'), c.arch(),
                      std::string(1, '\0'), c.location());
}

}  // namespace

JobTarget TargetOf(const v1::Job& job, const std::vector<v1::Job>& jobs,
                   const ArtifactLookup& artifacts) {
  const v1::JobSpec& spec = job.spec();
  JobTarget t;
  switch (spec.action_case()) {
    case v1::JobSpec::kAptPackage:
      t.package = spec.apt_package().name();
      if (!spec.apt_package().remove()) t.version = spec.apt_package().version();
      break;
    case v1::JobSpec::kRemovePackage:
      t.package = spec.remove_package().name();
      break;
    case v1::JobSpec::kInstallArtifact: {
      const v1::Artifact a = artifacts(spec.install_artifact().sha256());
      t.package = a.name();
      t.version = a.version();
      break;
    }
    case v1::JobSpec::kRollback:
      // The undone job's result names the package and the version it found
      // (a rollback is only accepted for a job with a result); a rollback
      // of a rollback is not followed further.
      if (const v1::Job* undone = FindJob(jobs, spec.rollback().of_job_id()); undone != nullptr) {
        t.package = undone->result().package();
        if (t.package.empty() && !undone->spec().has_rollback())
          t.package = TargetOf(*undone, jobs, artifacts).package;
        t.version = undone->result().old_version();
      }
      break;
    default:
      break;
  }
  if (!job.result().package().empty()) t.package = job.result().package();
  return t;
}

void AttributeChanges(const std::vector<v1::Job>& jobs, const ArtifactLookup& artifacts,
                      std::vector<v1::InventoryChange>* changes) {
  if (jobs.empty()) return;
  std::vector<std::string> packages;
  packages.reserve(jobs.size());
  for (const v1::Job& j : jobs) packages.push_back(TargetOf(j, jobs, artifacts).package);
  for (v1::InventoryChange& c : *changes) {
    if (!SystemPackage(c)) continue;
    const v1::Job* best = nullptr;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const v1::Job& j = jobs[i];
      if (packages[i] != c.name() || !WithinJob(j, c)) continue;
      const bool better = best == nullptr || (!Finished(j) && Finished(*best)) ||
                          (Finished(j) == Finished(*best) && j.created_ms() > best->created_ms());
      if (better) best = &j;
    }
    if (best == nullptr) continue;
    c.set_job_id(best->spec().job_id());
    c.set_deployment_id(best->spec().deployment_id());
  }
}

std::vector<v1::InventoryChange> FoldRolledBack(const std::vector<v1::InventoryChange>& changes,
                                                const std::vector<v1::Job>& jobs,
                                                const ArtifactLookup& artifacts) {
  std::map<std::string, std::vector<size_t>> steps_of_item;
  std::vector<std::string> attempt(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    steps_of_item[ItemOf(changes[i])].push_back(i);
    attempt[i] = AttemptOf(changes[i], jobs);
  }
  std::vector<bool> dropped(changes.size(), false);
  std::map<size_t, v1::InventoryChange> folded;  // by the index of the run's first step
  for (const auto& [item, steps] : steps_of_item) {
    size_t i = 0;
    while (i < steps.size()) {
      const v1::InventoryChange& first = changes[steps[i]];
      const std::string& key = attempt[steps[i]];
      std::string version = first.new_version();
      std::string tried = version != first.old_version() ? version : "";
      size_t end = 0;  // one past the run's last step, once it is back where it started
      for (size_t j = i + 1; !key.empty() && j < steps.size(); ++j) {
        const v1::InventoryChange& next = changes[steps[j]];
        if (attempt[steps[j]] != key || next.old_version() != version) break;
        version = next.new_version();
        if (version == first.old_version()) {
          end = j + 1;
          break;
        }
        if (tried.empty()) tried = version;
      }
      if (end == 0) {
        ++i;
        continue;
      }
      if (tried.empty()) {
        if (const v1::Job* job = FindJob(jobs, first.job_id()); job != nullptr) {
          tried = TargetOf(*job, jobs, artifacts).version;
        }
      }
      v1::InventoryChange one = first;
      one.set_kind(v1::InventoryChange::ROLLED_BACK);
      one.set_new_version(version);
      one.set_attempted_version(tried == version ? "" : tried);
      folded.emplace(steps[i], std::move(one));
      for (size_t k = i + 1; k < end; ++k) dropped[steps[k]] = true;
      i = end;
    }
  }
  std::vector<v1::InventoryChange> out;
  out.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    if (dropped[i]) continue;
    auto it = folded.find(i);
    out.push_back(it != folded.end() ? std::move(it->second) : changes[i]);
  }
  return out;
}

std::vector<v1::InventoryChange> UnseenRollbacks(const std::vector<v1::InventoryChange>& shown,
                                                 const std::vector<v1::Job>& jobs,
                                                 const ArtifactLookup& artifacts,
                                                 int64_t since_ms) {
  std::vector<v1::InventoryChange> out;
  for (const v1::Job& job : jobs) {
    const v1::JobResult& r = job.result();
    if (r.status() != v1::JOB_ROLLED_BACK || r.package().empty() || r.finished_ms() < since_ms)
      continue;
    const bool seen = std::any_of(shown.begin(), shown.end(), [&](const v1::InventoryChange& c) {
      return c.job_id() == job.spec().job_id();
    });
    if (seen) continue;
    v1::InventoryChange c;
    c.set_time_ms(r.started_ms());
    const bool rpm = job.spec().has_install_artifact() &&
                     artifacts(job.spec().install_artifact().sha256()).kind() == "rpm";
    c.set_source(rpm ? "rpm" : "dpkg");
    c.set_name(r.package());
    c.set_kind(v1::InventoryChange::ROLLED_BACK);
    c.set_old_version(r.old_version());
    c.set_new_version(r.new_version());
    const std::string tried = TargetOf(job, jobs, artifacts).version;
    if (tried != r.new_version()) c.set_attempted_version(tried);
    c.set_job_id(job.spec().job_id());
    c.set_deployment_id(job.spec().deployment_id());
    out.push_back(std::move(c));
  }
  return out;
}

bool MatchesCause(const v1::InventoryChange& change, v1::ChangeCause cause) {
  switch (cause) {
    case v1::CHANGE_CAUSE_JOB:
      return !change.job_id().empty();
    case v1::CHANGE_CAUSE_OTHER:
      return change.job_id().empty();
    default:
      return true;
  }
}

}  // namespace steward::collector
