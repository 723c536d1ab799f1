#include "collector/deploy/rollout_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/artifacts/artifact_repository.h"
#include "collector/deploy/job_dispatch.h"
#include "collector/deploy/rollout_plan.h"
#include "collector/service/session_registry.h"
#include "common/wire/agent_text.h"
#include "collector/storage/store.h"
#include "collector/targeting/host_selection.h"
#include "common/targeting/target_expr.h"
#include "common/crypto.h"
#include "common/jobs/deployment_change.h"
#include "common/jobs/job_statement.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

constexpr int64_t kMaxGateMs = int64_t{24} * 3600 * 1000;
// How long a finished deployment keeps watching hosts whose jobs were
// withdrawn while offline, for a result they report late.
constexpr int64_t kWithdrawnWatchMs = int64_t{7} * 24 * 3600 * 1000;
constexpr char kWaitingToConnect[] = "waiting for the host to connect";
// The plan of a deployment created without one (docs/deployments.md).
constexpr const char* kDefaultWaves[] = {"1", "10%", "100%"};
constexpr int64_t kDefaultGateMs = 5 * 60 * 1000;
constexpr uint32_t kDefaultMaxParallel = 10;

bool HostFailed(v1::DeploymentHostStatus s) { return s == v1::HOST_FAILED || s == v1::HOST_ROLLED_BACK; }
bool JobFinal(v1::JobStatus s) {
  return s == v1::JOB_SUCCEEDED || s == v1::JOB_SKIPPED || s == v1::JOB_FAILED || s == v1::JOB_ROLLED_BACK;
}
bool RollbackPending(const v1::DeploymentHost& h) { return !h.rollback_job_id().empty() && !h.rollback_done(); }
bool PastDeadline(const v1::Deployment& d, int64_t now_ms) {
  return d.spec().deadline_ms() != 0 && now_ms >= d.spec().deadline_ms();
}
// Skipped before it got a job (the rollout stopped): retry runs it.
bool NeverStarted(const v1::DeploymentHost& h) {
  return h.status() == v1::HOST_SKIPPED && !h.withdrawn() && h.finished_ms() == 0;
}
// Its job's result says it is at the deployment's version now (changed, or
// already there): its health gate judges it.
bool Gated(const v1::DeploymentHost& h) {
  return h.status() == v1::HOST_SUCCEEDED ||
         (h.status() == v1::HOST_SKIPPED && !h.job_id().empty() && h.finished_ms() != 0 && !h.withdrawn());
}
// What became of a host is not known yet: its job or rollback has no
// result, or its job was withdrawn and the host has not said whether it
// ran it.
bool Unknown(const v1::DeploymentHost& h) {
  return h.status() == v1::HOST_RUNNING || h.withdrawn() || RollbackPending(h);
}
// The deployment's change is on the host and stays there: its last
// result (job or rollback) left another version than it had before the
// deployment (a retry's skipped job included: an earlier attempt changed it).
bool LeftChanged(const v1::DeploymentHost& h) {
  if (h.status() == v1::HOST_SUCCEEDED) return true;
  return h.status() != v1::HOST_PENDING && h.status() != v1::HOST_RUNNING && h.new_version() != h.old_version();
}
// A deployment a failure stopped (or finished with failed hosts):
// ROLLED_BACK once every host it changed is known to be restored, FAILED
// while any is changed or not known.
v1::DeploymentState StoppedState(const v1::Deployment& d) {
  bool rolled_back = false;
  for (const v1::DeploymentHost& h : d.hosts()) {
    if (Unknown(h) || LeftChanged(h)) return v1::DEPLOYMENT_FAILED;
    rolled_back |= h.status() == v1::HOST_ROLLED_BACK;
  }
  return rolled_back ? v1::DEPLOYMENT_ROLLED_BACK : v1::DEPLOYMENT_FAILED;
}
// A deployment's job id ("<deployment>-<attempt>") that is really this
// deployment's (people cannot create one: RunJob refuses the form).
bool OwnJob(const v1::Deployment& d, const v1::Job& job) { return job.spec().deployment_id() == d.id(); }

std::string WaveName(uint32_t w) { return w == 0 ? "wave 1 (canary)" : absl::StrCat("wave ", w + 1); }

std::string Utc(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone()); }

// The deployment's signed statement covers what it will do: the change
// with rollbacks, exactly the hosts the target resolves to now, not
// expired, and its signature verifies with its own key (whether agents
// trust that key only they know). Signed after a dry run, so a host that
// joined or left the target since makes the statement stale.
absl::Status CheckDeploymentStatement(const v1::DeploymentSpec& spec, const v1::JobSpec& change,
                                      const std::vector<internal::AgentRecord>& hosts, int64_t now_ms) {
  std::vector<std::string> ids;
  for (const internal::AgentRecord& h : hosts) ids.push_back(h.agent_id());
  std::sort(ids.begin(), ids.end());
  absl::StatusOr<JobStatement> s = ParseJobStatement(spec.authorization().statement());
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("the deployment's signed statement: ", s.status().message()));
  if (s->agents != ids) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the target now resolves to ", ids.size(), " host(s), not the ", s->agents.size(),
        " the signed statement names (hosts joined or left it since): create the deployment again"));
  }
  // The same statement for every host: one check covers them all.
  v1::JobSpec job = change;
  job.set_job_id("statement-check");
  *job.mutable_authorization() = spec.authorization();
  if (absl::Status st = CheckJobSignedFor(job, ids.front(), now_ms); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the deployment's signed statement: ", st.message()));
  }
  if (!s->may_roll_back) return absl::InvalidArgumentError("the deployment's signed statement must allow rollbacks");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Deployment> RolloutEngine::Create(const v1::DeploymentSpec& in, const std::string& by,
                                                     bool dry_run) {
  v1::DeploymentSpec spec = in;
  const absl::Time now = deps_.now();
  ASSIGN_OR_RETURN(const v1::JobSpec change, DeploymentChangeJob(spec));
  v1::Artifact artifact;
  if (change.has_apt_package()) {
    artifact.set_name(change.apt_package().name());
    artifact.set_version(change.apt_package().version());
  } else {
    if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
    ASSIGN_OR_RETURN(artifact, deps_.artifacts->Get(spec.artifact_sha256()));
  }
  if (spec.target().empty()) return absl::InvalidArgumentError("a deployment needs a target expression");
  // The safe defaults (docs/deployments.md): a canary, then 10%, then the
  // rest, a health gate and a bound on hosts changing at once.
  if (spec.waves().empty()) {
    for (const char* w : kDefaultWaves) spec.add_waves(w);
  }
  if (!spec.has_health_gate_ms()) spec.set_health_gate_ms(kDefaultGateMs);
  if (!spec.has_max_parallel()) spec.set_max_parallel(kDefaultMaxParallel);
  absl::StatusOr<TargetExpr> target = TargetExpr::Parse(spec.target());
  if (!target.ok()) return absl::InvalidArgumentError(absl::StrCat("target: ", target.status().message()));
  ASSIGN_OR_RETURN(std::vector<WaveSize> waves, ParseWaves({spec.waves().begin(), spec.waves().end()}));
  ASSIGN_OR_RETURN(const MaintenanceWindows window, MaintenanceWindows::Parse(spec.window()));
  if (!(spec.error_threshold_pct() >= 0 && spec.error_threshold_pct() <= 100)) {
    return absl::InvalidArgumentError("the error threshold is a percentage from 0 to 100");
  }
  if (spec.health_gate_ms() < 0 || spec.health_gate_ms() > kMaxGateMs) {
    return absl::InvalidArgumentError("the health gate is from 0 to 24h");
  }
  if (spec.deadline_ms() != 0 && spec.deadline_ms() <= absl::ToUnixMillis(now)) {
    return absl::InvalidArgumentError("the deadline has passed already");
  }
  if (spec.deadline_ms() != 0 && absl::ToUnixMillis(window.NextOpen(now)) >= spec.deadline_ms()) {
    return absl::InvalidArgumentError(absl::StrCat("the deadline comes before the maintenance window first opens (",
                                                   Utc(window.NextOpen(now)),
                                                   "): no host could start; move the deadline or the window"));
  }
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> hosts, SelectHosts(*deps_.store, *target));
  if (hosts.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("the target '", spec.target(),
                                                      "' matches no host (check it with stewardctl hosts --where)"));
  }

  if (spec.has_authorization()) RETURN_IF_ERROR(CheckDeploymentStatement(spec, change, hosts, absl::ToUnixMillis(now)));

  v1::Deployment d;
  d.set_id(absl::StrCat("d-", deps_.new_id ? deps_.new_id() : RandomHex(4)));
  // Stable shuffle: the canary is whichever host hashes first.
  std::vector<std::pair<std::string, const internal::AgentRecord*>> order;
  for (const auto& h : hosts) order.emplace_back(Sha256Hex(d.id() + h.agent_id()), &h);
  std::sort(order.begin(), order.end());
  const std::vector<uint32_t> plan = PlanWaves(static_cast<uint32_t>(order.size()), waves);
  size_t next = 0;
  for (uint32_t w = 0; w < plan.size(); ++w) {
    d.add_waves()->set_hosts(plan[w]);
    for (uint32_t i = 0; i < plan[w]; ++i, ++next) {
      v1::DeploymentHost* h = d.add_hosts();
      h->set_agent_id(order[next].second->agent_id());
      h->set_hostname(order[next].second->facts().hostname());
      h->set_wave(w);
      h->set_status(v1::HOST_PENDING);
    }
  }
  spec.clear_waves();
  for (const WaveSize& w : waves) {
    spec.add_waves(w.percent_form ? absl::StrCat(w.percent, "%") : absl::StrCat(w.count));
  }
  *d.mutable_spec() = spec;
  d.set_state(v1::DEPLOYMENT_PENDING);
  d.set_created_ms(absl::ToUnixMillis(now));
  d.set_updated_ms(d.created_ms());
  d.set_created_by(by);
  d.set_package(artifact.name());
  d.set_version(artifact.version());
  if (dry_run) {
    if (!spec.artifact_sha256().empty()) {
      for (v1::DeploymentHost& h : *d.mutable_hosts()) h.set_message(RollbackNote(h.agent_id(), artifact));
    }
    return d;
  }
  absl::MutexLock lock(&mu_);
  if (absl::StatusOr<v1::Deployment> taken = deps_.store->GetDeployment(d.id()); !absl::IsNotFound(taken.status())) {
    return taken.ok() ? absl::AbortedError(absl::StrCat("deployment id ", d.id(), " is taken; create it again"))
                      : taken.status();
  }
  // Again under the lock DeleteArtifactUnlessInUse takes: an `artifact rm`
  // since the first look either removed it (refused here) or waits for
  // this deployment and then finds it in use.
  if (!spec.artifact_sha256().empty()) {
    if (absl::Status st = deps_.artifacts->Get(spec.artifact_sha256()).status(); !st.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("the artifact was removed meanwhile: ", st.message()));
    }
  }
  RETURN_IF_ERROR(deps_.store->PutDeployment(d));
  if (active_.has_value()) active_->insert(d.id());
  spdlog::info("deployment {} created by {}: {} {} to {} hosts in {} waves ({})", d.id(), by, d.package(),
               d.version(), d.hosts_size(), d.waves_size(), spec.target());
  return d;
}

absl::Status RolloutEngine::DeleteArtifactUnlessInUse(const std::string& sha256,
                                                      const std::function<absl::Status()>& remove) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<v1::Deployment> all, deps_.store->ListDeployments());
  for (const v1::Deployment& d : all) {
    if (!DeploymentFinished(d.state()) && d.spec().artifact_sha256() == sha256) {
      return absl::FailedPreconditionError(absl::StrCat("artifact ", sha256.substr(0, 12),
                                                        " is used by a deployment that has not finished (", d.id(),
                                                        "; see stewardctl deploy list; abort it first)"));
    }
  }
  // A one-host job (job run --artifact) that has not finished downloads it
  // yet: its host may be offline now. Rare enough to walk every agent.
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, deps_.store->ListAgents());
  for (const internal::AgentRecord& a : agents) {
    ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, deps_.store->ListJobs(a.agent_id()));
    for (const v1::Job& j : jobs) {
      const v1::JobStatus st = j.result().status();
      const bool open = st == v1::JOB_STATUS_UNSPECIFIED || st == v1::JOB_PENDING || st == v1::JOB_RUNNING;
      if (open && !j.withdrawn() && j.spec().install_artifact().sha256() == sha256) {
        return absl::FailedPreconditionError(absl::StrCat(
            "artifact ", sha256.substr(0, 12), " is used by job ", j.spec().job_id(), " on host ", a.agent_id(),
            " that has not finished (see stewardctl job list --host ", a.agent_id(), ")"));
      }
    }
  }
  return remove();
}

std::string RolloutEngine::RollbackNote(const std::string& agent_id, const v1::Artifact& artifact) {
  // The package's own items only (one seek per source, as for every host
  // of a fleet-wide deployment), the last in key order as before: rpm's
  // after dpkg's.
  std::vector<v1::SoftwareItem> items;
  for (absl::string_view source : {"dpkg", "rpm"}) {
    absl::StatusOr<std::vector<v1::SoftwareItem>> named = deps_.store->ListSoftwareNamed(agent_id, source, artifact.name());
    if (!named.ok()) return "";
    for (v1::SoftwareItem& item : *named) items.push_back(std::move(item));
  }
  const v1::SoftwareItem* installed = items.empty() ? nullptr : &items.back();
  // Not installed (a rollback removes it) or at the version already.
  if (installed == nullptr || installed->version() == artifact.version()) return "";
  absl::StatusOr<std::vector<v1::Job>> jobs = deps_.store->ListJobs(agent_id);
  if (jobs.ok()) {
    for (const v1::Job& j : *jobs) {
      const v1::JobResult& r = j.result();
      const bool installed_it = r.status() == v1::JOB_SUCCEEDED || r.status() == v1::JOB_ROLLED_BACK;
      if (installed_it && r.package() == artifact.name() && r.new_version() == installed->version()) return "";
    }
  }
  return absl::StrCat("no gate rollback: ", artifact.name(), " ", installed->version(),
                      " was not installed by Steward here, so no package of it is kept to go back to");
}

std::vector<std::string> RolloutEngine::Unhealthy(const std::string& agent_id) {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<v1::CheckState>> checks = deps_.store->ListHealth(agent_id);
  if (!checks.ok()) return out;
  for (const v1::CheckState& c : *checks) {
    if (c.status() != v1::CheckState::OK) out.push_back(c.name());
  }
  return out;
}

bool RolloutEngine::AdoptCreatedJob(const v1::Deployment& d, v1::DeploymentHost* h) {
  absl::StatusOr<v1::Job> job = deps_.store->GetJob(h->agent_id(), absl::StrCat(d.id(), "-", h->attempt() + 1));
  if (!job.ok() || !OwnJob(d, *job)) return false;
  spdlog::info("deployment {}: {} has job {} from before a restart; it counts as started", d.id(), h->agent_id(),
               job->spec().job_id());
  h->set_attempt(h->attempt() + 1);
  h->set_job_id(job->spec().job_id());
  h->set_status(v1::HOST_RUNNING);
  h->set_started_ms(job->created_ms());
  h->clear_message();
  // Taken when the job was created, before it could run.
  h->mutable_unhealthy_before()->Assign(job->unhealthy_before().begin(), job->unhealthy_before().end());
  return true;
}

bool RolloutEngine::AdoptGateRollback(v1::DeploymentHost* h) {
  absl::StatusOr<v1::Job> rb = deps_.store->GetJob(h->agent_id(), absl::StrCat(h->job_id(), "-rb"));
  if (!rb.ok()) return false;
  h->set_status(v1::HOST_FAILED);
  h->set_message("health gate: failed before a collector restart; rolling back");
  h->set_gate("failed before a collector restart");
  h->set_rollback_job_id(rb->spec().job_id());
  h->set_rollback_done(false);
  return true;
}

bool RolloutEngine::Withdraw(v1::DeploymentHost* h, const std::string& why, v1::DeploymentHostStatus as) {
  const int64_t now = absl::ToUnixMillis(deps_.now());
  v1::JobResult r;
  r.set_job_id(h->job_id());
  r.set_status(v1::JOB_FAILED);
  r.set_exit_code(-1);
  r.set_message(why);
  r.set_finished_ms(now);
  absl::StatusOr<bool> marked = deps_.store->WithdrawJobIfPending(h->agent_id(), r);
  if (!marked.ok() || !*marked) return false;
  // After the write: a session that registered before it may have read the
  // job as pending and gets this; one registering after it reads the
  // cancel from the store itself (Store::OpenJobs).
  v1::CancelJob cancel;
  cancel.set_job_id(h->job_id());
  cancel.set_reason(why);
  deps_.sessions->PushCancel(h->agent_id(), cancel);
  h->set_status(as);
  h->set_message(why);
  h->set_finished_ms(now);
  h->set_withdrawn(true);
  return true;
}

void RolloutEngine::TakeResult(const v1::Deployment& d, v1::DeploymentHost* h, const v1::JobResult& r) {
  switch (r.status()) {
    case v1::JOB_SUCCEEDED: h->set_status(v1::HOST_SUCCEEDED); break;
    case v1::JOB_SKIPPED: h->set_status(v1::HOST_SKIPPED); break;
    case v1::JOB_ROLLED_BACK: h->set_status(v1::HOST_ROLLED_BACK); break;
    default: h->set_status(v1::HOST_FAILED);
  }
  if (h->withdrawn()) spdlog::info("deployment {}: {} reported its withdrawn job late", d.id(), h->agent_id());
  h->set_withdrawn(false);
  // A cancelled job says nothing about versions. The version before the
  // deployment: a retry's job finds the host as the earlier attempt left it.
  if (!r.cancelled()) {
    if (h->old_version().empty() || h->attempt() <= 1) h->set_old_version(r.old_version());
    h->set_new_version(r.new_version());
  }
  h->set_message(r.message());
  // Cancelled before it started: it never ran (retry runs it; no gate).
  h->set_finished_ms(r.cancelled() ? 0 : r.finished_ms() != 0 ? r.finished_ms() : absl::ToUnixMillis(deps_.now()));
  if (HostFailed(h->status())) {
    spdlog::warn("deployment {}: {} {}: {}", d.id(), h->agent_id(), DeploymentHostStatusName(h->status()),
                 EscapeForDisplay(r.message()));
  }
}

void RolloutEngine::PinCanaryVersion(v1::Deployment* d, const v1::DeploymentHost& h) {
  const bool unpinned = !d->spec().apt_package().empty() && d->version().empty() &&
                        d->spec().apt_package().find('=') == std::string::npos;
  if (!unpinned || h.wave() != 0 || h.new_version().empty()) return;
  if (h.status() != v1::HOST_SUCCEEDED && h.status() != v1::HOST_SKIPPED) return;
  d->set_version(h.new_version());
  spdlog::info("deployment {}: {} {} from the canary {}; later waves install that version", d->id(), d->package(),
               d->version(), h.agent_id());
}

void RolloutEngine::StartJob(v1::Deployment* d, v1::DeploymentHost* h) {
  const uint32_t attempt = h->attempt() + 1;
  absl::StatusOr<v1::JobSpec> change = DeploymentChangeJob(d->spec());
  if (!change.ok()) {  // checked at Create: a stored record that changed since
    spdlog::error("deployment {}: no job for {}: {}", d->id(), h->agent_id(), change.status().ToString());
    return;
  }
  v1::Job job;
  job.set_agent_id(h->agent_id());
  *job.mutable_spec() = *std::move(change);
  job.mutable_spec()->set_job_id(absl::StrCat(d->id(), "-", attempt));
  job.mutable_spec()->set_deployment_id(d->id());
  // `--package NAME` (the newest): after the canary, the version it got.
  if (job.spec().has_apt_package() && job.spec().apt_package().version().empty() && !d->version().empty()) {
    job.mutable_spec()->mutable_apt_package()->set_version(d->version());
  }
  *job.mutable_spec()->mutable_authorization() = d->spec().authorization();
  job.set_created_ms(absl::ToUnixMillis(deps_.now()));
  job.set_created_by(d->created_by());
  // Before the job exists, so before it can run; kept with the job. A
  // retry keeps the first attempt's: a check the earlier attempt broke is
  // not "unhealthy before".
  if (h->attempt() == 0) {
    for (std::string& name : Unhealthy(h->agent_id())) job.add_unhealthy_before(std::move(name));
  } else {
    *job.mutable_unhealthy_before() = h->unhealthy_before();
  }
  absl::StatusOr<v1::Job> created = DispatchJob(*deps_.store, *deps_.sessions, job);
  if (absl::IsAlreadyExists(created.status())) {  // created before a restart that lost the step's record
    if (AdoptCreatedJob(*d, h)) return;
    h->set_status(v1::HOST_FAILED);
    h->set_message(absl::StrCat("job id ", job.spec().job_id(), " is taken by a job that is not this deployment's"));
    h->set_finished_ms(job.created_ms());
    return;
  }
  if (!created.ok()) {
    spdlog::error("deployment {}: cannot create the job for {}: {}", d->id(), h->agent_id(),
                  created.status().ToString());
    return;
  }
  h->set_attempt(attempt);
  h->set_job_id(job.spec().job_id());
  h->set_status(v1::HOST_RUNNING);
  h->set_started_ms(job.created_ms());
  h->clear_message();
  h->clear_gate();
  h->mutable_unhealthy_before()->Assign(job.unhealthy_before().begin(), job.unhealthy_before().end());
}

void RolloutEngine::FailGate(v1::Deployment* d, v1::DeploymentHost* h, const std::string& why) {
  h->set_gate(absl::StrCat("failed: ", why));
  if (h->status() == v1::HOST_SKIPPED) {
    // The job found the host at the version already: nothing of this
    // deployment to undo there.
    spdlog::warn("deployment {}: {} failed its health gate ({}); it was at the version before", d->id(),
                 h->agent_id(), EscapeForDisplay(why));
    h->set_status(v1::HOST_FAILED);
    h->set_message(absl::StrCat("health gate: ", why, " (its job found it at the version already: nothing to roll back)"));
    return;
  }
  v1::Job job;
  job.set_agent_id(h->agent_id());
  job.mutable_spec()->set_job_id(absl::StrCat(h->job_id(), "-rb"));
  job.mutable_spec()->set_deployment_id(d->id());
  job.mutable_spec()->mutable_rollback()->set_of_job_id(h->job_id());
  // The deployment's statement allows undoing the jobs it ran.
  *job.mutable_spec()->mutable_authorization() = d->spec().authorization();
  job.set_created_ms(absl::ToUnixMillis(deps_.now()));
  job.set_created_by(d->created_by());
  absl::StatusOr<v1::Job> created = DispatchJob(*deps_.store, *deps_.sessions, job);
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
    spdlog::error("deployment {}: cannot create the rollback job for {}: {}", d->id(), h->agent_id(),
                  created.status().ToString());
    return;
  }
  spdlog::warn("deployment {}: {} failed its health gate ({}); rolling it back", d->id(), h->agent_id(),
               EscapeForDisplay(why));
  h->set_status(v1::HOST_FAILED);
  h->set_message(absl::StrCat("health gate: ", why, "; rolling back"));
  h->set_rollback_job_id(job.spec().job_id());
  h->set_rollback_done(false);
}

void RolloutEngine::RefreshHosts(v1::Deployment* d) {
  const int64_t now = absl::ToUnixMillis(deps_.now());
  const bool past_deadline = PastDeadline(*d, now);
  const bool aborted = d->state() == v1::DEPLOYMENT_ABORTED;
  for (v1::DeploymentHost& h : *d->mutable_hosts()) {
    if (h.status() == v1::HOST_RUNNING || h.withdrawn()) {
      absl::StatusOr<v1::Job> job = deps_.store->GetJobOutcome(h.agent_id(), h.job_id());
      if (job.ok() && job->withdrawn()) {
        // Withdrawn before a restart that lost the step's record: the host
        // takes the withdrawal (the job record says so, not the result).
        if (h.status() == v1::HOST_RUNNING) {
          h.set_status(aborted ? v1::HOST_SKIPPED : v1::HOST_FAILED);
          h.set_message(job->result().message());
          h.set_finished_ms(job->result().finished_ms());
          h.set_withdrawn(true);
        }
      } else if (job.ok() && JobFinal(job->result().status())) {
        TakeResult(*d, &h, job->result());
        PinCanaryVersion(d, h);
      } else if (h.status() == v1::HOST_RUNNING && job.ok()) {
        const bool connected = deps_.sessions->IsConnected(h.agent_id());
        if (aborted) {
          // Abort stored first, then withdrew: a restart in between ends it here.
          Withdraw(&h, "the deployment was aborted before the host ran the job", v1::HOST_SKIPPED);
        } else if (past_deadline && !connected) {
          // A connected host is running the job and will report; an offline
          // one must not get it later.
          Withdraw(&h, "the deployment's deadline passed before the host reported (offline)", v1::HOST_FAILED);
        } else if (h.message() == kWaitingToConnect && connected) {
          h.clear_message();
        }
      }
    } else if (h.status() == v1::HOST_PENDING && past_deadline && !AdoptCreatedJob(*d, &h)) {
      h.set_status(v1::HOST_FAILED);
      h.set_message(deps_.sessions->IsConnected(h.agent_id())
                        ? "the deployment's deadline passed before the host's turn"
                        : "the deployment's deadline passed before the host connected");
      h.set_finished_ms(now);
    }
    if (RollbackPending(h)) {
      absl::StatusOr<v1::Job> rb = deps_.store->GetJobOutcome(h.agent_id(), h.rollback_job_id());
      if (rb.ok() && JobFinal(rb->result().status())) {
        const v1::JobResult& r = rb->result();
        h.set_rollback_done(true);
        const std::string gate = h.message().substr(0, h.message().rfind("; rolling back"));
        if (r.status() == v1::JOB_ROLLED_BACK || r.status() == v1::JOB_SKIPPED) {
          h.set_status(v1::HOST_ROLLED_BACK);
          h.set_new_version(r.new_version());
          h.set_message(absl::StrCat(gate, "; rolled back to ",
                                     r.new_version().empty() ? "not installed" : r.new_version()));
        } else {
          h.set_message(absl::StrCat(gate, "; rollback failed: ", r.message()));
        }
        h.set_finished_ms(r.finished_ms() != 0 ? r.finished_ms() : now);
        spdlog::warn("deployment {}: {}: {}", d->id(), h.agent_id(), EscapeForDisplay(h.message()));
      }
    }
  }
}

void RolloutEngine::StopPendingHosts(v1::Deployment* d, const std::string& why) {
  for (v1::DeploymentHost& h : *d->mutable_hosts()) {
    if (h.status() != v1::HOST_PENDING || AdoptCreatedJob(*d, &h)) continue;
    h.set_status(v1::HOST_SKIPPED);
    h.set_message(why);
  }
}

void RolloutEngine::WaveFailed(v1::Deployment* d, int failed, int total) {
  const uint32_t w = d->current_wave();
  std::string first;
  for (const v1::DeploymentHost& h : d->hosts()) {
    if (h.wave() == w && HostFailed(h.status())) {
      first = absl::StrCat(h.hostname().empty() ? h.agent_id() : h.hostname(), ": ", h.message());
      break;
    }
  }
  const std::string what = absl::StrCat(WaveName(w), ": ", failed, " of ", total, " hosts failed (threshold ",
                                        d->spec().error_threshold_pct(), "%); ", first);
  d->mutable_waves(static_cast<int>(w))->set_done_ms(absl::ToUnixMillis(deps_.now()));
  // Past the deadline nothing can start any more: pausing would only wait
  // for people to resume into waves that fail the same way.
  const bool past_deadline = PastDeadline(*d, absl::ToUnixMillis(deps_.now()));
  if (d->spec().on_failure() == v1::DeploymentSpec::ABORT || past_deadline) {
    StopPendingHosts(d, past_deadline ? "not started: the deployment's deadline passed"
                                      : absl::StrCat("not started: ", WaveName(w), " failed"));
    // FAILED until every host it changed is known to be restored (an
    // offline host's rollback may still come): re-judged on late results.
    d->set_state(StoppedState(*d));
    d->set_message(what);
  } else {
    d->set_state(v1::DEPLOYMENT_PAUSED);
    d->set_paused_on_failure(true);
    d->set_message(absl::StrCat(what, " — paused: resume runs the wave's remaining hosts and goes on, "
                                      "retry runs the failed hosts again, abort stops"));
  }
  spdlog::warn("deployment {} {}: {}", d->id(), DeploymentStateName(d->state()), EscapeForDisplay(what));
}

void RolloutEngine::NextWave(v1::Deployment* d) {
  const int64_t now = absl::ToUnixMillis(deps_.now());
  const uint32_t w = d->current_wave();
  if (d->waves(static_cast<int>(w)).done_ms() == 0) d->mutable_waves(static_cast<int>(w))->set_done_ms(now);
  if (static_cast<int>(w) + 1 < d->waves_size()) {
    d->set_current_wave(w + 1);
    d->mutable_waves(static_cast<int>(w) + 1)->set_started_ms(now);
    d->clear_message();
    spdlog::info("deployment {}: {} done, {} starts", d->id(), WaveName(w), WaveName(w + 1));
    return;
  }
  int failed = 0;
  for (const v1::DeploymentHost& h : d->hosts()) failed += HostFailed(h.status()) ? 1 : 0;
  d->set_state(failed == 0 ? v1::DEPLOYMENT_SUCCEEDED : StoppedState(*d));
  d->set_message(failed == 0 ? "" : absl::StrCat(failed, " hosts failed"));
  spdlog::info("deployment {} {}", d->id(), DeploymentStateName(d->state()));
}

bool RolloutEngine::AskAgain(const std::string& agent_id) {
  auto it = asked_.find(agent_id);
  return it == asked_.end() || deps_.now() - it->second >= absl::Seconds(10);
}

bool RolloutEngine::GatePassed(v1::Deployment* d) {
  const uint32_t w = d->current_wave();
  if (d->spec().health_gate_ms() <= 0) {
    for (v1::DeploymentHost& h : *d->mutable_hosts()) {
      if (h.wave() == w && Gated(h) && h.gate().empty()) h.set_gate("none (the deployment has no health gate)");
    }
    return true;
  }
  const int64_t now = absl::ToUnixMillis(deps_.now());
  v1::DeploymentWave* wave = d->mutable_waves(static_cast<int>(w));
  const bool starts = wave->gate_until_ms() == 0;
  if (starts) {
    wave->set_gate_until_ms(now + d->spec().health_gate_ms());
    d->set_message(absl::StrCat(WaveName(w), ": health gate until ",
                                absl::FormatTime("%H:%M:%S UTC", absl::FromUnixMillis(wave->gate_until_ms()),
                                                 absl::UTCTimeZone())));
  }
  const bool over = now >= wave->gate_until_ms();
  bool failed = false;
  int waiting = 0;
  for (v1::DeploymentHost& h : *d->mutable_hosts()) {
    if (h.wave() != w || !Gated(h)) continue;
    absl::StatusOr<std::vector<v1::CheckState>> checks = deps_.store->ListHealth(h.agent_id());
    if (!checks.ok()) {  // cannot judge it: hold the wave
      spdlog::error("deployment {}: health of {}: {}", d->id(), h.agent_id(), checks.status().ToString());
      ++waiting;
      continue;
    }
    const bool connected = deps_.sessions->IsConnected(h.agent_id());
    // The agent reports at once and watches its checks every second for
    // the gate, instead of at its interval: the gate takes about its length.
    const bool has_fresh = std::any_of(checks->begin(), checks->end(),
                                       [&](const v1::CheckState& c) { return c.time_ms() >= h.finished_ms(); });
    if (connected && (starts || (!has_fresh && AskAgain(h.agent_id())))) {
      const int64_t left = std::max<int64_t>(wave->gate_until_ms() - now, 1000);
      deps_.sessions->RequestHealthReport(h.agent_id(), absl::Milliseconds(left),
                                          absl::StrCat("deployment ", d->id(), ": health gate of ", WaveName(w)));
      asked_[h.agent_id()] = deps_.now();
    }
    bool fresh = connected;
    std::string why;
    for (const v1::CheckState& c : *checks) {
      // A report from before the job's result (a check that failed while
      // the package's scripts restarted the service) says nothing about
      // the change: only fresh ones are judged.
      if (c.time_ms() < h.finished_ms()) {
        fresh = false;
        continue;
      }
      const auto& before = h.unhealthy_before();
      if (c.status() == v1::CheckState::OK || std::find(before.begin(), before.end(), c.name()) != before.end()) {
        continue;
      }
      why = absl::StrCat("check ", c.name(), " is ", absl::AsciiStrToLower(v1::CheckState::Status_Name(c.status())),
                         c.reason().empty() ? "" : ": ", c.reason());
      break;
    }
    if (why.empty() && over && !connected) why = "the host stopped reporting after the change (offline at the gate's end)";
    if (why.empty() && over && connected && checks->empty() && d->spec().require_checks()) {
      why = "the host has no health checks and the deployment requires them";
    }
    if (!why.empty()) {
      FailGate(d, &h, why);
      failed = true;
    } else if (over && AdoptGateRollback(&h)) {  // before passing it: a rollback sent before a restart
      failed = true;
    } else if (over && !fresh) {
      ++waiting;  // connected, but its checks have not run since the change
    } else if (over) {
      h.set_gate(checks->empty() ? "passed: no checks to judge" : "passed");
    }
  }
  if (failed || !over) return false;
  if (waiting > 0) {
    d->set_message(absl::StrCat(WaveName(w), ": health gate over; waiting for fresh health reports from ", waiting,
                                waiting == 1 ? " host" : " hosts"));
    return false;
  }
  return true;
}

absl::Status RolloutEngine::Advance(v1::Deployment* d) {
  if (adopted_.insert(d->id()).second) {
    // First visit since this engine started: a job created just before a
    // restart (the step's record lost) is this host's, whether or not the
    // host is connected now.
    for (v1::DeploymentHost& h : *d->mutable_hosts()) {
      if (h.status() == v1::HOST_PENDING && h.wave() == d->current_wave()) AdoptCreatedJob(*d, &h);
    }
  }
  RefreshHosts(d);
  if (d->state() == v1::DEPLOYMENT_FAILED || d->state() == v1::DEPLOYMENT_ROLLED_BACK) {
    // A late result (an offline host's rollback, a withdrawn job the host
    // ran after all) changes what the stopped deployment left behind.
    const v1::DeploymentState now_state = StoppedState(*d);
    if (now_state != d->state()) {
      spdlog::info("deployment {}: {} -> {} on a late result", d->id(), DeploymentStateName(d->state()),
                   DeploymentStateName(now_state));
      d->set_state(now_state);
    }
  }
  if (DeploymentFinished(d->state()) || d->state() == v1::DEPLOYMENT_PAUSED) return absl::OkStatus();
  const absl::Time now = deps_.now();
  ASSIGN_OR_RETURN(MaintenanceWindows window, MaintenanceWindows::Parse(d->spec().window()));
  const bool open = window.Contains(now);
  const bool before_deadline = !PastDeadline(*d, absl::ToUnixMillis(now));
  if (d->state() == v1::DEPLOYMENT_PENDING) {
    if (!open && before_deadline) {
      d->set_message(absl::StrCat("waiting for the maintenance window (opens ", Utc(window.NextOpen(now)), ")"));
      return absl::OkStatus();
    }
    d->set_state(v1::DEPLOYMENT_RUNNING);
    d->mutable_waves(0)->set_started_ms(absl::ToUnixMillis(now));
    d->clear_message();
  }
  const uint32_t w = d->current_wave();
  int total = 0, failed = 0, running = 0, pending = 0, rolling_back = 0, in_flight = 0;
  for (const v1::DeploymentHost& h : d->hosts()) {
    // Jobs on connected hosts hold max_parallel's slots; an offline host's
    // job waits for it without blocking the others.
    in_flight += h.status() == v1::HOST_RUNNING && deps_.sessions->IsConnected(h.agent_id()) ? 1 : 0;
    if (h.wave() != w) continue;
    ++total;
    failed += HostFailed(h.status()) ? 1 : 0;
    running += h.status() == v1::HOST_RUNNING ? 1 : 0;
    pending += h.status() == v1::HOST_PENDING ? 1 : 0;
    // An offline host's rollback runs when it returns; the wave does not wait.
    rolling_back += RollbackPending(h) && deps_.sessions->IsConnected(h.agent_id()) ? 1 : 0;
  }
  const bool wave_failed = !d->waves(static_cast<int>(w)).failure_accepted() &&
                           failed * 100.0 > d->spec().error_threshold_pct() * total;
  if (!wave_failed && pending > 0) {
    if (open && before_deadline) {
      int offline = 0;
      for (v1::DeploymentHost& h : *d->mutable_hosts()) {
        if (h.wave() != w || h.status() != v1::HOST_PENDING) continue;
        // A job is created only for a connected host: one waiting for an
        // offline host would hold a slot, and could run after a deadline.
        if (!deps_.sessions->IsConnected(h.agent_id())) {
          ++offline;
          continue;
        }
        if (d->spec().max_parallel() != 0 && in_flight >= static_cast<int>(d->spec().max_parallel())) continue;
        StartJob(d, &h);
        if (h.status() == v1::HOST_RUNNING) ++in_flight;
      }
      if (offline > 0 && running == 0 && offline == pending) {
        d->set_message(absl::StrCat(WaveName(w), ": waiting for ", offline, offline == 1 ? " host" : " hosts",
                                    " to connect"));
      } else if (d->message().starts_with("waiting for the maintenance window") ||
                 absl::StrContains(d->message(), " to connect")) {
        d->clear_message();
      }
    } else if (!open) {
      d->set_message(absl::StrCat("waiting for the maintenance window (opens ", Utc(window.NextOpen(now)), ")"));
    }
  }
  if (running > 0 || rolling_back > 0 || (!wave_failed && pending > 0)) return absl::OkStatus();
  if (wave_failed) {
    WaveFailed(d, failed, total);
    return absl::OkStatus();
  }
  if (!GatePassed(d)) return absl::OkStatus();
  NextWave(d);
  return absl::OkStatus();
}

bool RolloutEngine::NeedsTick(const v1::Deployment& d) const {
  if (!DeploymentFinished(d.state())) return true;
  const int64_t now = absl::ToUnixMillis(deps_.now());
  return std::any_of(d.hosts().begin(), d.hosts().end(), [&](const v1::DeploymentHost& h) {
    return h.status() == v1::HOST_RUNNING || RollbackPending(h) ||
           (h.withdrawn() && now - d.updated_ms() < kWithdrawnWatchMs);
  });
}

absl::StatusOr<size_t> RolloutEngine::PruneJobs() {
  absl::MutexLock lock(&mu_);
  return PruneJobsLocked();
}

absl::StatusOr<size_t> RolloutEngine::PruneJobsLocked() {
  last_prune_ = deps_.now();
  // The jobs of unfinished deployments stay whatever their age (a paused
  // deployment's gate rollback names its host's job).
  std::set<std::pair<std::string, std::string>> in_use;
  ASSIGN_OR_RETURN(std::vector<v1::Deployment> all, deps_.store->ListDeployments());
  for (const v1::Deployment& d : all) {
    if (DeploymentFinished(d.state())) continue;
    for (const v1::DeploymentHost& h : d.hosts()) {
      in_use.emplace(h.agent_id(), h.job_id());
      in_use.emplace(h.agent_id(), h.rollback_job_id());
    }
  }
  ASSIGN_OR_RETURN(size_t pruned,
                   deps_.store->PruneJobs(absl::ToUnixMillis(deps_.now() - deps_.job_retention),
                                          [&](const std::string& agent, const std::string& job) {
                                            return in_use.count({agent, job}) > 0;
                                          }));
  if (pruned > 0) {
    spdlog::info("jobs: {} finished more than {} ago deleted", pruned, absl::FormatDuration(deps_.job_retention));
  }
  return pruned;
}

void RolloutEngine::Tick() {
  absl::MutexLock lock(&mu_);
  // Hourly, the first an hour after start: nothing added to start-up.
  if (last_prune_ == absl::InfinitePast()) last_prune_ = deps_.now();
  if (deps_.now() - last_prune_ >= absl::Hours(1)) {
    if (absl::StatusOr<size_t> pruned = PruneJobsLocked(); !pruned.ok()) {
      spdlog::error("jobs: pruning: {}", pruned.status().ToString());
    }
  }
  if (!active_.has_value()) {
    absl::StatusOr<std::vector<std::string>> ids = deps_.store->ListDeploymentIds();
    if (!ids.ok()) {
      spdlog::error("rollouts: {}", ids.status().ToString());
      return;
    }
    active_.emplace(ids->begin(), ids->end());
  }
  for (auto it = active_->begin(); it != active_->end();) {
    absl::StatusOr<v1::Deployment> got = deps_.store->GetDeployment(*it);
    if (!got.ok()) {
      spdlog::error("rollouts: {}", got.status().ToString());
      // A record that is gone or does not parse never will; others retry.
      const bool drop = absl::IsNotFound(got.status()) || absl::IsDataLoss(got.status());
      it = drop ? active_->erase(it) : std::next(it);
      continue;
    }
    v1::Deployment& d = *got;
    if (d.waves_size() == 0 || d.current_wave() >= static_cast<uint32_t>(d.waves_size())) {
      spdlog::error("deployment {}: the stored record has no wave {}; left alone", d.id(), d.current_wave() + 1);
      it = active_->erase(it);
      continue;
    }
    if (NeedsTick(d)) {
      const std::string before = d.SerializeAsString();
      if (absl::Status st = Advance(&d); !st.ok()) {
        spdlog::error("deployment {}: {}", d.id(), st.ToString());
      } else if (d.SerializeAsString() != before) {
        d.set_updated_ms(absl::ToUnixMillis(deps_.now()));
        if (absl::Status put = deps_.store->PutDeployment(d); !put.ok()) {
          spdlog::error("deployment {}: cannot store its progress: {}", d.id(), put.ToString());
        }
      }
    }
    it = NeedsTick(d) ? std::next(it) : active_->erase(it);
  }
}

absl::StatusOr<v1::Deployment> RolloutEngine::Control(const std::string& id,
                                                      v1::ControlDeploymentRequest::Action action,
                                                      const std::string& by) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(v1::Deployment d, deps_.store->GetDeployment(id));
  const std::string state = DeploymentStateName(d.state());
  const int64_t now = absl::ToUnixMillis(deps_.now());
  switch (action) {
    case v1::ControlDeploymentRequest::PAUSE:
      if (d.state() != v1::DEPLOYMENT_RUNNING && d.state() != v1::DEPLOYMENT_PENDING) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " is ", state, "; only a pending or "
                                                          "running one can be paused"));
      }
      d.set_state(v1::DEPLOYMENT_PAUSED);
      d.set_paused_on_failure(false);
      d.set_message(absl::StrCat("paused by ", by.empty() ? "an admin" : by,
                                 "; jobs already started finish (resume to go on)"));
      break;
    case v1::ControlDeploymentRequest::RESUME:
      if (d.state() != v1::DEPLOYMENT_PAUSED) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " is ", state, ", not paused"));
      }
      d.set_state(d.waves(0).started_ms() == 0 ? v1::DEPLOYMENT_PENDING : v1::DEPLOYMENT_RUNNING);
      d.clear_message();
      if (d.paused_on_failure()) {  // the failed wave's remaining hosts run, then the next wave
        d.set_paused_on_failure(false);
        d.mutable_waves(static_cast<int>(d.current_wave()))->set_failure_accepted(true);
        d.mutable_waves(static_cast<int>(d.current_wave()))->set_done_ms(0);
      }
      break;
    case v1::ControlDeploymentRequest::ABORT: {
      if (DeploymentFinished(d.state())) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " is ", state, " already"));
      }
      StopPendingHosts(&d, "not started: the deployment was aborted");
      d.set_state(v1::DEPLOYMENT_ABORTED);
      d.set_message(absl::StrCat("aborted by ", by.empty() ? "an admin" : by));
      d.set_updated_ms(now);
      // Stored before its jobs are withdrawn: a restart in between finds an
      // aborted deployment with running hosts, and Tick withdraws them.
      RETURN_IF_ERROR(deps_.store->PutDeployment(d));
      // No running host's job may start from now on: an offline host must
      // not get it later, a connected one gets a cancel (a host that has
      // started it reports its real result, which counts).
      for (v1::DeploymentHost& h : *d.mutable_hosts()) {
        if (h.status() == v1::HOST_RUNNING) {
          Withdraw(&h, "the deployment was aborted before the host ran the job", v1::HOST_SKIPPED);
        }
      }
      break;
    }
    case v1::ControlDeploymentRequest::RETRY: {
      if (d.state() == v1::DEPLOYMENT_ABORTED) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " was aborted; create a new one"));
      }
      uint32_t first_wave = UINT32_MAX;
      for (v1::DeploymentHost& h : *d.mutable_hosts()) {
        // Not while what became of it is unknown: its rollback, or the job
        // withdrawn from it while offline, may still report (and count).
        if (!(HostFailed(h.status()) || NeverStarted(h)) || RollbackPending(h) || h.withdrawn()) continue;
        h.set_status(v1::HOST_PENDING);
        h.clear_rollback_job_id();
        h.set_rollback_done(false);
        h.set_withdrawn(false);
        // As a host that has not run yet: if the rollout stops before its
        // turn, it is "never started" again (the next retry runs it).
        h.set_finished_ms(0);
        h.clear_gate();
        h.set_message(absl::StrCat("retry (attempt ", h.attempt() + 1, ")"));
        first_wave = std::min(first_wave, h.wave());
      }
      if (first_wave == UINT32_MAX) {
        return absl::FailedPreconditionError(
            absl::StrCat("deployment ", id, " has no failed or rolled-back host to retry"));
      }
      first_wave = std::min(first_wave, d.current_wave());
      d.set_current_wave(first_wave);
      for (int w = static_cast<int>(first_wave); w < d.waves_size(); ++w) {
        d.mutable_waves(w)->set_gate_until_ms(0);
        d.mutable_waves(w)->set_done_ms(0);
        d.mutable_waves(w)->set_failure_accepted(false);
      }
      if (d.waves(static_cast<int>(first_wave)).started_ms() == 0) {
        d.mutable_waves(static_cast<int>(first_wave))->set_started_ms(now);
      }
      d.set_state(v1::DEPLOYMENT_RUNNING);
      d.set_paused_on_failure(false);
      d.clear_message();
      break;
    }
    default:
      return absl::InvalidArgumentError("action must be pause, resume, abort or retry");
  }
  d.set_updated_ms(now);
  RETURN_IF_ERROR(deps_.store->PutDeployment(d));
  if (active_.has_value()) active_->insert(d.id());
  spdlog::info("deployment {}: {} by {} -> {}", id, v1::ControlDeploymentRequest::Action_Name(action), by,
               DeploymentStateName(d.state()));
  return d;
}

RolloutScheduler::RolloutScheduler(RolloutEngine* engine, absl::Duration every) {
  thread_ = std::thread([this, engine, every] {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), every)) {
      mu_.Unlock();
      engine->Tick();
      mu_.Lock();
    }
  });
}

RolloutScheduler::~RolloutScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

}  // namespace steward::collector
