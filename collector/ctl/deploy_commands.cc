#include "collector/ctl/deploy_commands.h"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/ctl/admin_client.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/ctl/artifact_commands.h"
#include "collector/ctl/command.h"
#include "collector/ctl/table.h"
#include "common/wire/agent_text.h"
#include "common/jobs/deployment_names.h"
#include "common/duration.h"
#include "common/jobs/deployment_change.h"
#include "common/jobs/job_statement.h"
#include "common/signing/ed25519.h"
#include "common/grpc/status_convert.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

std::string Time(int64_t ms) { return ms > 0 ? FormatRfc3339(absl::FromUnixMillis(ms)) : ""; }

// Hosts of wave `i` by outcome: each host in exactly one.
struct WaveCount {
  int succeeded = 0, skipped = 0, failed = 0;  // failed includes rolled back
};
WaveCount WaveCounts(const v1::Deployment& d, int i) {
  WaveCount c;
  for (const v1::DeploymentHost& h : d.hosts()) {
    if (h.wave() != static_cast<uint32_t>(i)) continue;
    c.succeeded += h.status() == v1::HOST_SUCCEEDED ? 1 : 0;
    c.skipped += h.status() == v1::HOST_SKIPPED ? 1 : 0;
    c.failed += (h.status() == v1::HOST_FAILED || h.status() == v1::HOST_ROLLED_BACK) ? 1 : 0;
  }
  return c;
}

std::string GateText(int64_t ms) {
  return ms <= 0 ? "none" : absl::FormatDuration(absl::Milliseconds(ms));
}

// "demo 2.0", or for `--package NAME` before its canary ran: the newest,
// pinned then.
std::string What(const v1::Deployment& d) {
  if (!d.version().empty()) return absl::StrCat(d.package(), " ", d.version());
  return absl::StrCat(d.package(), " (the newest the canary's repositories offer; later waves get that version)");
}

// The plan and its safety limits in one line, for people.
std::string PlanLine(const v1::Deployment& d) {
  const v1::DeploymentSpec& s = d.spec();
  return absl::StrCat("plan: waves ", absl::StrJoin(s.waves(), ","), " · max parallel ",
                      s.max_parallel() == 0 ? "unlimited" : absl::StrCat(s.max_parallel()), " · health gate ",
                      GateText(s.health_gate_ms()), s.require_checks() ? " (checks required)" : "",
                      " · error threshold ", s.error_threshold_pct(), "% · on failure ",
                      s.on_failure() == v1::DeploymentSpec::ABORT ? "abort" : "pause",
                      s.window().empty() ? "" : absl::StrCat(" · window ", s.window()),
                      s.deadline_ms() == 0 ? "" : absl::StrCat(" · deadline ", Time(s.deadline_ms())));
}

void DeploymentJson(JsonWriter& w, const v1::Deployment& d) {
  w.BeginObject()
      .Key("id").String(d.id())
      .Key("state").String(DeploymentStateName(d.state()))
      .Key("package").String(d.package())
      .Key("version").String(d.version())
      .Key("artifact").String(d.spec().artifact_sha256())
      .Key("apt_package").String(d.spec().apt_package())
      .Key("target").String(d.spec().target())
      .Key("on_failure").String(d.spec().on_failure() == v1::DeploymentSpec::ABORT ? "abort" : "pause")
      .Key("message").String(d.message())
      .Key("created").String(Time(d.created_ms()))
      .Key("created_by").String(d.created_by())
      .Key("current_wave").Uint(d.current_wave() + 1);
  w.Key("plan").BeginObject()
      .Key("waves").BeginArray();
  for (const std::string& wave : d.spec().waves()) w.String(wave);
  w.EndArray()
      .Key("max_parallel").Uint(d.spec().max_parallel())
      .Key("health_gate_s").Int(d.spec().health_gate_ms() / 1000)
      .Key("require_checks").Bool(d.spec().require_checks())
      .Key("error_threshold_pct").Double(d.spec().error_threshold_pct())
      .Key("window").String(d.spec().window())
      .Key("deadline").String(Time(d.spec().deadline_ms()))
      .EndObject();
  w.Key("waves").BeginArray();
  for (int i = 0; i < d.waves_size(); ++i) {
    const v1::DeploymentWave& wave = d.waves(i);
    const WaveCount c = WaveCounts(d, i);
    w.BeginObject()
        .Key("wave").Uint(static_cast<uint64_t>(i) + 1)
        .Key("hosts").Uint(wave.hosts())
        .Key("succeeded").Int(c.succeeded)
        .Key("skipped").Int(c.skipped)
        .Key("failed").Int(c.failed)
        .Key("started").String(Time(wave.started_ms()))
        .Key("gate_until").String(Time(wave.gate_until_ms()))
        .Key("done").String(Time(wave.done_ms()))
        .EndObject();
  }
  w.EndArray();
  w.Key("hosts").BeginArray();
  for (const v1::DeploymentHost& h : d.hosts()) {
    w.BeginObject()
        .Key("agent_id").String(h.agent_id())
        .Key("hostname").String(h.hostname())
        .Key("wave").Uint(h.wave() + 1)
        .Key("status").String(DeploymentHostStatusName(h.status()))
        .Key("old_version").String(h.old_version())
        .Key("new_version").String(h.new_version())
        .Key("message").String(h.message())
        .Key("gate").String(h.gate())
        .Key("job_id").String(h.job_id())
        .Key("rollback_job_id").String(h.rollback_job_id())
        .EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void PrintDeployment(const v1::Deployment& d, std::ostream& out) {
  out << "deployment " << d.id() << ": " << DeploymentStateName(d.state()) << " — " << What(d) << " to '"
      << d.spec().target() << "'\n";
  out << "  " << PlanLine(d) << "\n";
  if (!d.message().empty()) out << "  " << EscapeForDisplay(d.message(), /*multiline=*/true) << "\n";
  Table waves({"WAVE", "HOSTS", "SUCCEEDED", "SKIPPED", "FAILED", "STARTED", "GATE UNTIL", "STATE"});
  for (int i = 0; i < d.waves_size(); ++i) {
    const v1::DeploymentWave& wave = d.waves(i);
    const WaveCount c = WaveCounts(d, i);
    std::string state = wave.done_ms() > 0                                  ? "done"
                        : wave.gate_until_ms() > 0                          ? "health gate"
                        : wave.started_ms() > 0                             ? "running"
                                                                            : "waiting";
    waves.AddRow({absl::StrCat(i + 1, i == 0 ? " (canary)" : ""), absl::StrCat(wave.hosts()),
                  absl::StrCat(c.succeeded), absl::StrCat(c.skipped), absl::StrCat(c.failed), Time(wave.started_ms()),
                  Time(wave.gate_until_ms()), state});
  }
  out << waves.Render();
  Table hosts({"HOST", "AGENT", "WAVE", "STATUS", "FROM", "TO", "GATE", "MESSAGE"});
  for (const v1::DeploymentHost& h : d.hosts()) {
    hosts.AddRow({h.hostname(), h.agent_id(), absl::StrCat(h.wave() + 1),
                  DeploymentHostStatusName(h.status()), h.old_version(), h.new_version(),
                  h.gate().substr(0, 40), h.message().substr(0, 100)});
  }
  out << "\n" << hosts.Render();
}

absl::StatusOr<v1::Deployment> Get(v1::AdminService::Stub& stub, const DeployOptions& o) {
  v1::GetDeploymentRequest req;
  req.set_id(o.id);
  grpc::ClientContext ctx;
  v1::GetDeploymentResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.GetDeployment(WithDeadline(&ctx, o.timeout), req, &resp)));
  return resp.deployment();
}

// Usage error (before any call) when a deployment to create has no key.
absl::Status NeedSignKey(const DeployOptions& o) {
  if (o.dry_run) return absl::OkStatus();
  if (o.sign_key.empty()) {
    return absl::InvalidArgumentError(
        "deploy create changes hosts: it needs --sign-key PREFIX.key, a publisher key the agents trust "
        "(stewardctl keys generate; agents --trusted-key PREFIX.pub). Agents refuse unsigned jobs. "
        "(--dry-run needs no key.)");
  }
  return absl::OkStatus();
}

// Resolves the target (a dry run), then signs the change for exactly those
// hosts into req->spec().authorization().
absl::Status SignDeployment(v1::AdminService::Stub& stub, const DeployOptions& o, v1::CreateDeploymentRequest* req) {
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, ReadPrivateKeyFile(o.sign_key));
  ASSIGN_OR_RETURN(v1::JobSpec change, DeploymentChangeJob(req->spec()));
  v1::CreateDeploymentRequest plan_req = *req;
  plan_req.set_dry_run(true);
  grpc::ClientContext ctx;
  v1::CreateDeploymentResponse plan;
  RETURN_IF_ERROR(FromGrpcStatus(stub.CreateDeployment(WithDeadline(&ctx, o.timeout), plan_req, &plan)));
  ASSIGN_OR_RETURN(JobStatement s, StatementForAction(change));
  for (const v1::DeploymentHost& h : plan.deployment().hosts()) s.agents.push_back(h.agent_id());
  std::sort(s.agents.begin(), s.agents.end());
  s.agents.erase(std::unique(s.agents.begin(), s.agents.end()), s.agents.end());
  s.issued_ms = absl::ToUnixMillis(absl::Now());
  const int64_t deadline = req->spec().deadline_ms();
  s.expires_ms = deadline != 0 ? deadline : s.issued_ms + absl::ToInt64Milliseconds(kDeploymentStatementLifetime);
  if (s.expires_ms - s.issued_ms > kMaxStatementLifetimeMs) {
    return absl::InvalidArgumentError("--deadline: a signed deployment is valid for at most 31 days");
  }
  s.may_roll_back = true;
  s.attempts = kDeploymentAttempts;
  *req->mutable_spec()->mutable_authorization() = SignJobStatement(s, key);
  // The host list comes from the collector's resolution of the target:
  // say what was signed, so a list wider than expected is seen.
  *o.notes << "signed with key " << key.public_key().key_id() << " for " << s.agents.size()
            << " host(s) (statement " << s.id << ", valid until "
            << FormatRfc3339(absl::FromUnixMillis(s.expires_ms)) << ")\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status DeployCreate(v1::AdminService::Stub& stub, const DeployOptions& o, std::ostream& out) {
  if (o.artifact.empty() == o.package.empty()) {
    return absl::InvalidArgumentError(
        "deploy create needs --artifact SHA256 ('stewardctl artifact list') or --package NAME=VERSION (from the "
        "hosts' apt repositories), not both");
  }
  if (o.target.empty()) {
    return absl::InvalidArgumentError(
        "deploy create needs --target EXPR (e.g. 'label:role=web'; check it with stewardctl hosts --where)");
  }
  v1::CreateDeploymentRequest req;
  v1::DeploymentSpec* spec = req.mutable_spec();
  spec->set_target(o.target);
  if (!o.waves.empty()) spec->add_waves(o.waves);
  if (!o.max_parallel.empty()) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(o.max_parallel, &n)) {
      return absl::InvalidArgumentError(absl::StrCat("--max-parallel '", o.max_parallel, "' is not a count"));
    }
    spec->set_max_parallel(n);
  }
  if (!o.error_threshold.empty()) {
    double pct = 0;
    absl::string_view t = absl::StripSuffix(o.error_threshold, "%");
    if (!absl::SimpleAtod(t, &pct) || !(pct >= 0 && pct <= 100)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--error-threshold '", o.error_threshold, "' must be a percentage from 0% to 100%"));
    }
    spec->set_error_threshold_pct(pct);
  }
  if (!o.health_gate.empty()) {
    absl::StatusOr<absl::Duration> gate = ParseHumanDuration(o.health_gate);
    if (!gate.ok()) return absl::InvalidArgumentError(absl::StrCat("--health-gate: ", gate.status().message()));
    spec->set_health_gate_ms(absl::ToInt64Milliseconds(*gate));
  }
  spec->set_window(o.window);
  if (!o.deadline.empty()) {
    absl::StatusOr<absl::Duration> d = ParseHumanDuration(o.deadline);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("--deadline '", o.deadline, "' must be a duration such as 24h"));
    }
    spec->set_deadline_ms(absl::ToUnixMillis(absl::Now() + *d));
  }
  if (o.on_failure == "abort") {
    spec->set_on_failure(v1::DeploymentSpec::ABORT);
  } else if (!o.on_failure.empty() && o.on_failure != "pause") {
    return absl::InvalidArgumentError(absl::StrCat("--on-failure '", o.on_failure, "' must be pause or abort"));
  }
  spec->set_require_checks(o.require_checks);
  req.set_dry_run(o.dry_run);
  RETURN_IF_ERROR(NeedSignKey(o));
  // Flags first (no call for a typo), then the artifact prefix.
  if (!o.package.empty()) {
    spec->set_apt_package(o.package);
  } else {
    ASSIGN_OR_RETURN(std::string sha, ResolveArtifact(stub, o.artifact, "--artifact", o.timeout));
    spec->set_artifact_sha256(sha);
  }
  if (!o.dry_run) RETURN_IF_ERROR(SignDeployment(stub, o, &req));
  grpc::ClientContext ctx;
  v1::CreateDeploymentResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.CreateDeployment(WithDeadline(&ctx, o.timeout), req, &resp)));
  for (const std::string& warning : resp.warnings()) *o.notes << "warning: " << warning << "\n";
  const v1::Deployment& d = resp.deployment();
  if (o.json) {
    JsonWriter w;
    DeploymentJson(w, d);
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  if (o.dry_run) {
    out << "dry run: nothing was started. " << What(d) << " would go to "
        << d.hosts_size() << " hosts in " << d.waves_size() << " waves\n"
        << PlanLine(d) << "\n";
    Table t({"WAVE", "HOST", "AGENT", "NOTE"});
    int warned = 0;
    for (const v1::DeploymentHost& h : d.hosts()) {
      warned += h.message().empty() ? 0 : 1;
      t.AddRow({absl::StrCat(h.wave() + 1, h.wave() == 0 ? " (canary)" : ""), h.hostname(), h.agent_id(),
                EscapeForDisplay(h.message())});
    }
    out << t.Render();
    if (warned > 0) {
      *o.notes << "warning: " << warned << " host(s) could not be rolled back by a failed health gate (see NOTE): "
                << "a rollback reinstalls a package Steward kept when it installed it\n";
    }
    return absl::OkStatus();
  }
  out << "deployment " << d.id() << " created: " << What(d) << " to " << d.hosts_size()
      << " hosts in " << d.waves_size() << " waves; follow it with: stewardctl deploy status " << d.id()
      << " --watch\n";
  return absl::OkStatus();
}

absl::Status DeployStatus(v1::AdminService::Stub& stub, const DeployOptions& o, std::ostream& out, bool terminal) {
  if (o.id.empty()) return absl::InvalidArgumentError("deploy status needs a deployment ID ('stewardctl deploy list')");
  std::string last;
  v1::Deployment d;
  for (;;) {
    ASSIGN_OR_RETURN(d, Get(stub, o));
    if (!o.host.empty()) {
      // --host: only that host's row.
      auto* hosts = d.mutable_hosts();
      for (int i = hosts->size() - 1; i >= 0; --i) {
        if (hosts->Get(i).agent_id() != o.host) hosts->DeleteSubrange(i, 1);
      }
    }
    std::string text;
    if (o.json) {
      // --watch: one compact object per line, for scripts reading a stream.
      JsonWriter w(o.watch ? 0 : 2);
      DeploymentJson(w, d);
      text = w.str() + "\n";
    } else {
      std::ostringstream s;
      PrintDeployment(d, s);
      text = s.str();
    }
    if (text != last) {
      if (o.watch && terminal && !o.json) out << "\033[H\033[2J";
      out << text << std::flush;
      last = text;
    }
    if (!o.watch || DeploymentFinished(d.state()) || d.state() == v1::DEPLOYMENT_PAUSED) break;
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(o.watch_every));
  }
  // A script waiting with --watch learns the outcome from the exit status.
  if (o.watch && (d.state() == v1::DEPLOYMENT_FAILED || d.state() == v1::DEPLOYMENT_ROLLED_BACK ||
                  d.state() == v1::DEPLOYMENT_ABORTED)) {
    return absl::FailedPreconditionError(absl::StrCat("deployment ", d.id(), " ended ",
                                                      DeploymentStateName(d.state()),
                                                      " (see its hosts' messages above)"));
  }
  return absl::OkStatus();
}

absl::Status DeployList(v1::AdminService::Stub& stub, const DeployOptions& o, std::ostream& out) {
  grpc::ClientContext ctx;
  v1::ListDeploymentsResponse resp;
  RETURN_IF_ERROR(
      FromGrpcStatus(stub.ListDeployments(WithDeadline(&ctx, o.timeout), v1::ListDeploymentsRequest(), &resp)));
  if (resp.unreadable_ids_size() > 0) {
    // On stderr, so that --json output stays one array.
    *o.notes << "warning: " << resp.unreadable_ids_size()
              << " stored deployment record(s) could not be read and are not listed: "
              << absl::StrJoin(resp.unreadable_ids(), ", ")
              << " (the collector's disk may be damaged; see its log)\n";
  }
  if (o.json) {
    JsonWriter w;
    w.BeginArray();
    for (const v1::Deployment& d : resp.deployments()) DeploymentJson(w, d);
    w.EndArray();
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"ID", "STATE", "PACKAGE", "VERSION", "HOSTS", "WAVE", "CREATED", "TARGET"});
  for (const v1::Deployment& d : resp.deployments()) {
    t.AddRow({d.id(), DeploymentStateName(d.state()), d.package(), d.version(),
              absl::StrCat(d.hosts_size()), absl::StrCat(d.current_wave() + 1, "/", d.waves_size()),
              Time(d.created_ms()), d.spec().target().substr(0, 60)});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no deployments)\n";
  return absl::OkStatus();
}

absl::Status DeployControl(v1::AdminService::Stub& stub, const DeployOptions& o,
                           v1::ControlDeploymentRequest::Action action, std::ostream& out) {
  if (o.id.empty()) return absl::InvalidArgumentError("this deploy command needs a deployment ID");
  v1::ControlDeploymentRequest req;
  req.set_id(o.id);
  req.set_action(action);
  grpc::ClientContext ctx;
  v1::ControlDeploymentResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ControlDeployment(WithDeadline(&ctx, o.timeout), req, &resp)));
  if (o.json) {
    JsonWriter w;
    DeploymentJson(w, resp.deployment());
    out << w.str() << "\n";
  } else {
    out << "deployment " << o.id << ": " << DeploymentStateName(resp.deployment().state())
        << (resp.deployment().message().empty() ? "" : " — " + EscapeForDisplay(resp.deployment().message()))
        << "\n";
  }
  return absl::OkStatus();
}

namespace {

DeployOptions DeployOptionsOf(CommandContext& c) {
  DeployOptions o;
  o.notes = &c.err();
  if (!c.args().empty()) o.id = c.args()[0];
  o.json = c.json();
  o.timeout = c.timeout();
  return o;
}

absl::Status RunDeployCreate(CommandContext& c) {
  DeployOptions o = DeployOptionsOf(c);
  o.artifact = c.Get("artifact");
  o.package = c.Get("package");
  o.target = c.Get("target");
  o.waves = c.Given("waves");
  o.max_parallel = c.Given("max-parallel");
  o.error_threshold = c.Given("error-threshold");
  o.health_gate = c.Given("health-gate");
  o.window = c.Get("window");
  o.deadline = c.Get("deadline");
  o.on_failure = c.Given("on-failure");
  o.sign_key = c.Get("sign-key");
  o.dry_run = c.Bool("dry-run");
  o.require_checks = c.Bool("require-checks");
  o.notes = &c.err();
  return DeployCreate(c.stub(), o, c.out());
}

absl::Status RunDeployStatus(CommandContext& c) {
  DeployOptions o = DeployOptionsOf(c);
  o.watch = c.Bool("watch");
  ASSIGN_OR_RETURN(o.host, c.HostFlag());
  return DeployStatus(c.stub(), o, c.out(), c.out_is_terminal());
}

CommandSpec Control(const std::string& verb, v1::ControlDeploymentRequest::Action action, std::string summary) {
  return {.path = "deploy " + verb,
          .args_usage = "ID",
          .min_args = 1,
          .max_args = 1,
          .summary = std::move(summary),
          .examples = {"deploy " + verb + " 7c1e9a"},
          .json_keys = {"id", "state"},
          .run = [action](CommandContext& c) {
            return DeployControl(c.stub(), DeployOptionsOf(c), action, c.out());
          }};
}

}  // namespace

CommandNoun DeployNoun() {
  return {"deploy", "staged rollouts to the hosts a target selects, with health gates and rollback",
          {
              {.path = "deploy create",
               .summary = "staged rollout to the hosts a target selects, signed for exactly those hosts",
               .details = "Give --artifact (a pushed package) or --package (from the hosts' apt repositories).\n"
                          "The plan is resolved first (what --dry-run prints), then signed with --sign-key for\n"
                          "exactly those hosts, valid until the deadline (or 7 days). See docs/deployments.md.",
               .flags = {TextFlag("artifact", "SHA256", "the artifact to install (a unique prefix of 6+ digits)"),
                         TextFlag("package", "NAME[=VERSION]", "a package from the hosts' apt repositories "
                                  "(without a version: the newest, pinned by the canary)"),
                         TextFlag("target", "EXPR", "target expression: which hosts ('stewardctl hosts --where')"),
                         TextFlag("sign-key", "PREFIX.key", "publisher key the agents trust (not for --dry-run)"),
                         TextFlag("waves", "LIST", "cumulative wave sizes, hosts or percentages", "1,10%,100%"),
                         TextFlag("max-parallel", "N", "hosts changing at once; 0: no limit", "10"),
                         TextFlag("error-threshold", "PERCENT", "failed share of a wave that stops the rollout", "0%"),
                         DurationFlag("health-gate", "how long a wave must stay healthy before the next", "5m"),
                         TextFlag("window", "WINDOWS", "maintenance windows, UTC: \"Sat 01:00-05:00,Sun 01:00-05:00\""),
                         TextFlag("deadline", "DURATION", "no job starts after this long from now"),
                         ChoiceFlag("on-failure", {"pause", "abort"}, "what a stopped rollout does", "pause"),
                         BoolFlag("require-checks", "a changed host without health checks fails its gate"),
                         BoolFlag("dry-run", "print the plan (hosts per wave); change nothing")},
               .examples = {"deploy create --artifact 3f2a9c --target 'label:role=web' --sign-key ops.key "
                            "--waves 1,25%,100% --health-gate 2m"},
               .json_keys = {"id", "state", "hosts"},
               .run = RunDeployCreate},
              {.path = "deploy status",
               .args_usage = "ID",
               .min_args = 1,
               .max_args = 1,
               .summary = "progress per wave and host",
               .details = "--watch prints again on every change until the rollout finishes or pauses (with\n"
                          "--json one compact object per line) and exits 1 when it ends failed, rolled_back or\n"
                          "aborted.",
               .flags = {BoolFlag("watch", "follow until finished or paused"),
                         HostFlagSpec("only this host's row (agent id, 4+ character id prefix, or hostname)")},
               .examples = {"deploy status 7c1e9a --watch"},
               .json_keys = {"id", "state", "waves", "hosts"},
               .run = RunDeployStatus},
              {.path = "deploy list",
               .summary = "every deployment, newest first",
               .examples = {"deploy list --json"},
               .json_keys = {"id", "state"},
               .run = [](CommandContext& c) { return DeployList(c.stub(), DeployOptionsOf(c), c.out()); }},
              Control("pause", v1::ControlDeploymentRequest::PAUSE, "stop starting jobs; running ones finish"),
              Control("resume", v1::ControlDeploymentRequest::RESUME, "continue a paused rollout"),
              Control("abort", v1::ControlDeploymentRequest::ABORT, "stop for good; pending jobs are withdrawn"),
              Control("retry", v1::ControlDeploymentRequest::RETRY, "run the failed hosts again"),
          }};
}

}  // namespace steward::ctl
