#include "agent/jobs/job_executor.h"

#include "agent/jobs/self_update.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/file_util.h"
#include "common/job_id.h"
#include "common/jobs/job_kinds.h"
#include "common/jobs/job_spec.h"
#include "common/jobs/job_statement.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

constexpr int64_t kLedgerPruneEveryMs = int64_t{3600} * 1000;

}  // namespace

JobExecutor::JobExecutor(const DpkgBackend* dpkg, FetchFn fetch, JobExecutorOptions options,
                         std::function<int64_t()> now_ms)
    : ledger_(options.state_dir + "/statements") {
  ctx_.dpkg = dpkg;
  ctx_.fetch = std::move(fetch);
  ctx_.options = std::move(options);
  ctx_.now_ms = std::move(now_ms);
}

absl::Status JobExecutor::Authorize(const v1::JobSpec& spec) {
  const JobKind* kind = FindJobKind(spec.action_case());
  if (kind != nullptr && !kind->changes_host) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      AuthorizedJob allowed,
      CheckJobAuthorization(spec, ctx_.options.agent_id, ctx_.options.trusted_keys, ctx_.now_ms()));
  // A long-running agent forgets expired statements now and then, not only
  // at start (Unfinished).
  if (const int64_t now = ctx_.now_ms(); now - last_ledger_prune_ms_ > kLedgerPruneEveryMs) {
    ledger_.Prune(now);
    last_ledger_prune_ms_ = now;
  }
  ctx_.CrashPoint("statement ledger");
  if (absl::Status admitted = ledger_.Admit(allowed, spec); !admitted.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("job ", spec.job_id(), " refused: ", admitted.message()));
  }
  spdlog::info("job {}: {} signed by key {} (statement {}{})", spec.job_id(), JobKindName(spec),
               allowed.key_id, allowed.statement.id,
               allowed.use == StatementUse::kRollbackOfChange ? ", a rollback it allows" : "");
  return absl::OkStatus();
}

v1::JobResult JobExecutor::Run(const v1::JobSpec& spec) {
  if (!IsValidJobId(spec.job_id())) {
    v1::JobResult r;
    r.set_job_id(spec.job_id());
    r.set_status(v1::JOB_FAILED);
    r.set_exit_code(-1);
    r.set_message(absl::StrCat("job id must be ", kJobIdRule));
    return r;
  }
  internal::AgentJobRecord rec;
  absl::StatusOr<internal::AgentJobRecord> loaded = ctx_.Load(spec.job_id());
  if (loaded.ok()) {
    rec = *std::move(loaded);
    if (rec.phase() == internal::AgentJobRecord::DONE) return rec.result();
    spdlog::info("job {}: resuming ({})", spec.job_id(),
                 internal::AgentJobRecord::Phase_Name(rec.phase()));
  } else if (!absl::IsNotFound(loaded.status())) {
    // A record we cannot read may be a job that already changed the host:
    // running it again could repeat a step. Report, and leave it to people.
    v1::JobResult failed;
    failed.set_job_id(spec.job_id());
    failed.set_status(v1::JOB_FAILED);
    failed.set_exit_code(-1);
    failed.set_message(absl::StrCat("this host's record of the job cannot be read (",
                                    loaded.status().message(),
                                    "); check it, remove it and run a new job"));
    return failed;
  } else {
    // A new job: nothing is recorded, let alone run, before an operator's
    // signed statement allows it here (a resumed job was allowed when it
    // was first recorded).
    if (absl::Status allowed = Authorize(spec); !allowed.ok()) {
      spdlog::warn("{}", std::string(allowed.message()));
      v1::JobResult refused;
      refused.set_job_id(spec.job_id());
      refused.set_status(v1::JOB_FAILED);
      refused.set_exit_code(-1);
      refused.set_message(std::string(allowed.message()));
      refused.set_started_ms(ctx_.now_ms());
      refused.set_finished_ms(refused.started_ms());
      return refused;
    }
    *rec.mutable_spec() = spec;
    rec.set_phase(internal::AgentJobRecord::RECEIVED);
    v1::JobResult* r = rec.mutable_result();
    r->set_job_id(spec.job_id());
    r->set_status(v1::JOB_RUNNING);
    r->set_exit_code(-1);
    r->set_started_ms(ctx_.now_ms());
    if (absl::Status st = ctx_.Save(rec); !st.ok()) {
      // Without a record the job could run twice after a crash: refuse it.
      v1::JobResult failed = rec.result();
      failed.set_status(v1::JOB_FAILED);
      failed.set_message(absl::StrCat("cannot record the job before running it: ", st.message()));
      return failed;
    }
  }
  if (absl::Status valid = ValidateJobSpec(rec.spec()); !valid.ok()) {
    ctx_.Finish(&rec, v1::JOB_FAILED, std::string(valid.message()));
    return rec.result();
  }
  const AgentJobKind* kind = FindAgentJobKind(rec.spec().action_case());
  if (kind == nullptr) {
    ctx_.Finish(&rec, v1::JOB_FAILED,
                "the job has no action this agent knows (a newer collector?)");
    return rec.result();
  }
  kind->run(ctx_, &rec);
  if (rec.phase() == internal::AgentJobRecord::DONE && kind->keeps_packages) PruneKept();
  return rec.result();
}

std::optional<v1::JobResult> JobExecutor::Cancel(const std::string& job_id, const std::string& reason) {
  if (!IsValidJobId(job_id)) {
    spdlog::warn("a cancel for a job id that is not one ignored ({})", kJobIdRule);
    return std::nullopt;
  }
  absl::StatusOr<internal::AgentJobRecord> loaded = ctx_.Load(job_id);
  if (loaded.ok()) {
    if (loaded->phase() == internal::AgentJobRecord::DONE) return loaded->result();
    spdlog::info("job {}: the collector withdrew it, but it has started here; it finishes and reports", job_id);
    return std::nullopt;
  }
  if (!absl::IsNotFound(loaded.status())) {
    spdlog::error("job {}: cancel: {}", job_id, loaded.status().ToString());
    return std::nullopt;
  }
  internal::AgentJobRecord rec;
  rec.mutable_spec()->set_job_id(job_id);
  rec.set_phase(internal::AgentJobRecord::DONE);
  v1::JobResult* r = rec.mutable_result();
  r->set_job_id(job_id);
  r->set_status(v1::JOB_SKIPPED);
  r->set_cancelled(true);
  r->set_exit_code(-1);
  r->set_message(absl::StrCat("cancelled by the collector before it started: ", reason));
  r->set_started_ms(ctx_.now_ms());
  r->set_finished_ms(r->started_ms());
  if (absl::Status st = ctx_.Save(rec); !st.ok()) {
    spdlog::error("job {}: cannot record its cancel ({}); the collector does not send it again", job_id,
                  std::string(st.message()));
  }
  spdlog::info("job {} cancelled before it started: {}", job_id, reason);
  return rec.result();
}

absl::StatusOr<std::vector<std::string>> JobExecutor::JobIds() const {
  absl::StatusOr<std::vector<std::string>> names = ListDir(ctx_.options.state_dir + "/jobs");
  if (absl::IsNotFound(names.status())) return std::vector<std::string>();
  if (!names.ok()) return names.status();
  // Skip hidden names and WriteFileAtomic's leftovers (<id>.tmp.<pid>).
  std::erase_if(*names, [](const std::string& n) {
    return n.starts_with('.') || absl::StrContains(n, ".tmp.");
  });
  return names;
}

std::vector<v1::JobSpec> JobExecutor::Unfinished() const {
  std::vector<v1::JobSpec> out;
  const int64_t now = ctx_.now_ms();
  absl::StatusOr<std::vector<std::string>> ids = JobIds();
  if (!ids.ok()) {
    spdlog::error("jobs: nothing resumed: {}", ids.status().ToString());
    return out;
  }
  for (const std::string& id : *ids) {
    auto rec = ctx_.Load(id);
    if (!rec.ok()) continue;
    if (rec->phase() != internal::AgentJobRecord::DONE) {
      out.push_back(rec->spec());
    } else if (ctx_.options.compact_after_ms > 0 && !rec->compacted() &&
               rec->result().finished_ms() > 0 &&
               now - rec->result().finished_ms() > ctx_.options.compact_after_ms) {
      rec->mutable_result()->clear_output();
      rec->clear_previous_content();
      if (rec->spec().has_write_config())
        rec->mutable_spec()->mutable_write_config()->clear_content();
      rec->set_compacted(true);
      if (absl::Status st = ctx_.Save(*rec); !st.ok())
        spdlog::warn("job {}: cannot compact its record: {}", id, st.ToString());
    }
  }
  PruneKept();
  if (size_t pruned = ledger_.Prune(now); pruned > 0) {
    spdlog::info("signed statements: forgot {} that expired more than a day ago", pruned);
  }
  return out;
}

size_t JobExecutor::PruneKept() const {
  const std::string kept_dir = ctx_.options.state_dir + "/kept";
  absl::StatusOr<std::vector<std::string>> files = ListDir(kept_dir);
  if (!files.ok() || files->empty()) return 0;  // nothing kept (or nothing that can be listed)
  absl::StatusOr<std::vector<std::string>> ids = JobIds();
  if (!ids.ok()) {
    spdlog::warn("kept packages: not pruned: {}", ids.status().ToString());
    return 0;
  }
  auto base = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };
  std::set<std::string> needed;                            // file names in kept/
  std::set<std::pair<std::string, std::string>> packages;  // (name, kind) jobs changed
  for (const std::string& id : *ids) {
    absl::StatusOr<internal::AgentJobRecord> rec = ctx_.Load(id);
    if (!rec.ok()) {
      spdlog::warn("kept packages: not pruned, job record {} cannot be read: {}", id,
                   rec.status().ToString());
      return 0;
    }
    if (!rec->compacted() && !rec->kept_deb().empty()) needed.insert(base(rec->kept_deb()));
    const v1::JobSpec::ActionCase kind = rec->spec().action_case();
    if (kind == v1::JobSpec::kRollback && rec->phase() != internal::AgentJobRecord::DONE &&
        IsValidJobId(rec->spec().rollback().of_job_id())) {
      // An accepted rollback not finished yet (resumes at start): its
      // target's package stays, compacted or not.
      absl::StatusOr<internal::AgentJobRecord> target =
          ctx_.Load(rec->spec().rollback().of_job_id());
      if (target.ok() && !target->kept_deb().empty()) needed.insert(base(target->kept_deb()));
    }
    const AgentJobKind* changes = FindAgentJobKind(kind);
    if (changes != nullptr && changes->keeps_packages && !rec->result().package().empty()) {
      packages.emplace(rec->result().package(),
                       rec->package_kind().empty() ? "deb" : rec->package_kind());
    }
  }
  // The agent's own package at its installed version stays even when no job
  // installed it (install-agent.sh keeps it): a self-update restores it.
  if (ctx_.options.self_update != nullptr) packages.emplace(kAgentPackage, "deb");
  std::vector<std::string> unclear;  // "NAME_" of packages whose state is unclear
  for (const auto& [name, kind] : packages) {
    absl::StatusOr<const PackageManager*> pm = ctx_.ForKind(kind);
    if (!pm.ok()) {
      spdlog::warn("kept packages: not pruned, cannot see what is installed of {}: {}", name,
                   pm.status().ToString());
      return 0;
    }
    absl::StatusOr<std::optional<DebState>> state = (*pm)->State(name);
    if (!state.ok() || (state->has_value() && !(*state)->installed())) {
      spdlog::warn("kept packages: those of {} not pruned, its state is unclear ({})", name,
                   state.ok() ? (*state)->status : state.status().ToString());
      unclear.push_back(name + "_");
      continue;
    }
    if (state->has_value()) needed.insert(KeptFileName(name, (*state)->version, (*pm)->Kind()));
  }
  size_t removed = 0;
  for (const std::string& f : *files) {
    if (f.starts_with('.') || needed.count(f) != 0) continue;
    // FileName's "NAME_": a package name may hold '_' (rpm), so this may
    // keep more than that package's files, never fewer.
    if (std::any_of(unclear.begin(), unclear.end(),
                    [&](const std::string& p) { return f.starts_with(p); }))
      continue;
    if (unlink((kept_dir + "/" + f).c_str()) == 0) {
      spdlog::info("kept packages: removed {} (no job can restore it any more)", f);
      ++removed;
    } else if (errno != ENOENT) {
      spdlog::warn("kept packages: cannot remove {}: {}", f, std::strerror(errno));
    }
  }
  return removed;
}

}  // namespace steward::agent
