#include "collector/ctl/job_commands.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/artifact_commands.h"
#include "collector/ctl/command.h"
#include "collector/ctl/table.h"
#include "common/crypto.h"
#include "common/duration.h"
#include "common/file_util.h"
#include "common/jobs/job_kinds.h"
#include "common/jobs/job_spec.h"
#include "common/jobs/job_statement.h"
#include "common/signing/ed25519.h"
#include "common/grpc/status_convert.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

void JobJson(JsonWriter& w, const v1::Job& j, const std::string* hostname = nullptr) {
  const v1::JobResult& r = j.result();
  w.BeginObject()
      .Key("job_id").String(j.spec().job_id())
      .Key("agent_id").String(j.agent_id());
  if (hostname != nullptr) w.Key("hostname").String(*hostname);
  w
      .Key("action").String(JobKindName(j.spec()))
      .Key("artifact").String(j.spec().install_artifact().sha256())
      .Key("status").String(JobStatusName(r.status()))
      .Key("package").String(r.package())
      .Key("old_version").String(r.old_version())
      .Key("new_version").String(r.new_version())
      .Key("exit_code").Int(r.exit_code())
      .Key("message").String(r.message())
      .Key("output").String(r.output())
      .Key("created").String(FormatRfc3339(absl::FromUnixMillis(j.created_ms())))
      .Key("finished").String(r.finished_ms() > 0 ? FormatRfc3339(absl::FromUnixMillis(r.finished_ms())) : "")
      .EndObject();
}

// The host name ListJobs gave for `agent_id`; empty when the host was removed.
std::string HostnameOf(const v1::ListJobsResponse& resp, const std::string& agent_id) {
  auto it = resp.hostnames().find(agent_id);
  return it == resp.hostnames().end() ? "" : it->second;
}

absl::Status Print(const v1::Job& j, bool json, std::ostream& out) {
  if (json) {
    JsonWriter w;
    JobJson(w, j);
    out << w.str() << "\n";
  } else {
    out << "job " << j.spec().job_id() << " for " << j.agent_id() << ": " << JobStatusName(j.result().status())
        << "\n";
  }
  return absl::OkStatus();
}

// Usage error (before any call) without --sign-key.
absl::Status NeedSignKey(const JobOptions& o, absl::string_view command) {
  if (o.sign_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        command, " changes the host: it needs --sign-key PREFIX.key, a publisher key the agent trusts "
                 "(stewardctl keys generate; agents --trusted-key PREFIX.pub). Agents refuse unsigned jobs."));
  }
  return absl::OkStatus();
}

// Signs `spec` for the one host `o.host`: its action and parameters, valid
// kOneHostStatementLifetime, for one job, allowing rollback_on_failure when
// the job asks for it.
absl::Status SignForHost(const JobOptions& o, v1::JobSpec* spec) {
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, ReadPrivateKeyFile(o.sign_key));
  ASSIGN_OR_RETURN(JobStatement s, StatementForAction(*spec));
  s.agents = {o.host};
  s.issued_ms = absl::ToUnixMillis(absl::Now());
  s.expires_ms = s.issued_ms + absl::ToInt64Milliseconds(kOneHostStatementLifetime);
  s.may_roll_back = spec->rollback_on_failure();
  s.attempts = 1;
  *spec->mutable_authorization() = SignJobStatement(s, key);
  return absl::OkStatus();
}

}  // namespace

std::string JobStatusName(int status) {
  std::string name = v1::JobStatus_Name(static_cast<v1::JobStatus>(status));
  if (absl::StartsWith(name, "JOB_")) name = name.substr(4);
  return absl::AsciiStrToLower(name);
}

absl::Status JobRun(v1::AdminService::Stub& stub, JobOptions o, std::ostream& out) {
  if (o.host.empty()) return absl::InvalidArgumentError("job run needs --host HOST ('stewardctl hosts' lists them)");
  const int actions = !o.artifact.empty() + !o.remove.empty() + !o.script.empty() + !o.write_config.empty() +
                      (!o.restart.empty() && o.write_config.empty());
  if (actions != 1) {
    return absl::InvalidArgumentError(
        "job run needs exactly one of --artifact SHA256, --remove NAME, --write-config PATH --from FILE, "
        "--restart UNIT, or -- /absolute/program [ARG...] (a script)");
  }
  RETURN_IF_ERROR(NeedSignKey(o, "job run"));
  v1::RunJobRequest req;
  req.set_agent_id(o.host);
  v1::JobSpec* spec = req.mutable_spec();
  spec->set_rollback_on_failure(o.rollback_on_failure);
  if (!o.remove.empty()) {
    spec->mutable_remove_package()->set_name(o.remove);
  } else if (!o.script.empty()) {
    for (const std::string& a : o.script) spec->mutable_run_script()->add_argv(a);
    if (!o.script_timeout.empty()) {
      absl::StatusOr<absl::Duration> t = ParseHumanDuration(o.script_timeout);
      if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("--script-timeout: ", t.status().message()));
      spec->mutable_run_script()->set_timeout_ms(absl::ToInt64Milliseconds(*t));
    }
  } else if (!o.write_config.empty()) {
    if (o.from.empty()) return absl::InvalidArgumentError("--write-config PATH needs --from FILE (the new content)");
    absl::StatusOr<std::string> content = ReadFile(o.from);
    if (!content.ok()) return absl::InvalidArgumentError(absl::StrCat("--from: ", content.status().message()));
    v1::WriteConfigAction* w = spec->mutable_write_config();
    w->set_path(o.write_config);
    w->set_content(*std::move(content));
    w->set_restart_unit(o.restart);
    if (!o.mode.empty()) {
      uint32_t mode = 0;
      if (o.mode.find_first_not_of("01234567") != std::string::npos || o.mode.size() > 5) {
        return absl::InvalidArgumentError(absl::StrCat("--mode '", o.mode, "' must be octal permission bits like 0640"));
      }
      for (char c : o.mode) mode = mode * 8 + static_cast<uint32_t>(c - '0');
      w->set_mode(mode);
    }
  } else if (!o.restart.empty()) {
    spec->mutable_restart_service()->set_unit(o.restart);
  } else {
    ASSIGN_OR_RETURN(std::string sha, ResolveArtifact(stub, o.artifact, "--artifact", o.timeout));
    spec->mutable_install_artifact()->set_sha256(sha);
  }
  spec->set_job_id(absl::StrCat("job-", RandomHex(6)));
  // The agent checks the same rules; a bad path or argv fails here, before any call.
  if (absl::Status valid = ValidateJobSpec(*spec); !valid.ok()) return valid;
  spec->clear_job_id();
  if (o.resolve_host) {
    ASSIGN_OR_RETURN(o.host, o.resolve_host(o.host));
    req.set_agent_id(o.host);
  }
  RETURN_IF_ERROR(SignForHost(o, spec));
  grpc::ClientContext ctx;
  v1::RunJobResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.RunJob(WithDeadline(&ctx, o.timeout), req, &resp)));
  for (const std::string& warning : resp.warnings()) *o.notes << "warning: " << warning << "\n";
  return Print(resp.job(), o.json, out);
}

absl::Status JobRollback(v1::AdminService::Stub& stub, JobOptions o, std::ostream& out) {
  if (o.host.empty() || o.of_job.empty()) {
    return absl::InvalidArgumentError("job rollback needs --host HOST and --of JOB_ID");
  }
  RETURN_IF_ERROR(NeedSignKey(o, "job rollback"));
  if (o.resolve_host) {
    ASSIGN_OR_RETURN(o.host, o.resolve_host(o.host));
  }
  v1::RunJobRequest req;
  req.set_agent_id(o.host);
  req.mutable_spec()->mutable_rollback()->set_of_job_id(o.of_job);
  RETURN_IF_ERROR(SignForHost(o, req.mutable_spec()));
  grpc::ClientContext ctx;
  v1::RunJobResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.RunJob(WithDeadline(&ctx, o.timeout), req, &resp)));
  return Print(resp.job(), o.json, out);
}

absl::Status JobList(v1::AdminService::Stub& stub, const JobOptions& o, std::ostream& out) {
  v1::ListJobsRequest req;
  req.set_agent_id(o.host);
  req.set_job_id(o.job_id);
  grpc::ClientContext ctx;
  v1::ListJobsResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ListJobs(WithDeadline(&ctx, o.timeout), req, &resp)));
  if (o.json) {
    JsonWriter w;
    w.BeginArray();
    for (const v1::Job& j : resp.jobs()) {
      const std::string hostname = HostnameOf(resp, j.agent_id());
      JobJson(w, j, &hostname);
    }
    w.EndArray();
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"JOB", "HOSTNAME", "AGENT ID", "STATUS", "PACKAGE", "FROM", "TO", "MESSAGE"});
  for (const v1::Job& j : resp.jobs()) {
    const v1::JobResult& r = j.result();
    std::string hostname = HostnameOf(resp, j.agent_id());
    t.AddRow({j.spec().job_id(), hostname.empty() ? "-" : hostname, j.agent_id(), JobStatusName(r.status()),
              r.package(), r.old_version(), r.new_version(), r.message().substr(0, 80)});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no jobs)\n";
  return absl::OkStatus();
}

namespace {

JobOptions JobOptionsOf(CommandContext& c) {
  JobOptions o;
  o.host = c.Get("host");
  o.json = c.json();
  o.timeout = c.timeout();
  o.resolve_host = [&c](const std::string& ref) { return c.ResolveHost(ref); };
  o.notes = &c.err();
  return o;
}

const char kHostHelp[] = "the host (agent id, 4+ character id prefix, or hostname)";
const char kSignKeyHelp[] = "publisher key the agent trusts; signs the job for this host (24 hours, once)";

absl::Status RunJobRun(CommandContext& c) {
  JobOptions o = JobOptionsOf(c);
  o.sign_key = c.Get("sign-key");
  o.artifact = c.Get("artifact");
  o.remove = c.Get("remove");
  o.script = c.args();
  o.script_timeout = c.Given("script-timeout");
  o.write_config = c.Get("write-config");
  o.from = c.Get("from");
  o.mode = c.Get("mode");
  o.restart = c.Get("restart");
  o.rollback_on_failure = c.Bool("rollback-on-failure");
  return JobRun(c.stub(), std::move(o), c.out());
}

absl::Status RunJobRollback(CommandContext& c) {
  JobOptions o = JobOptionsOf(c);
  o.sign_key = c.Get("sign-key");
  o.of_job = c.Get("of");
  return JobRollback(c.stub(), std::move(o), c.out());
}

absl::Status RunJobList(CommandContext& c) {
  JobOptions o = JobOptionsOf(c);
  ASSIGN_OR_RETURN(o.host, c.HostFlag());
  o.job_id = c.Get("job");
  return JobList(c.stub(), o, c.out());
}

}  // namespace

CommandNoun JobNoun() {
  return {"job", "one change on one host, signed for it",
          {
              {.path = "job run",
               .args_usage = "[-- /abs/program ARG...]",
               .max_args = kAnyNumber,
               .summary = "install an artifact, remove a package, run a program, write a file or restart a unit",
               .details = "Exactly one of: --artifact SHA256 (install), --remove NAME (dpkg --remove),\n"
                          "--write-config PATH --from FILE [--mode 0644] [--restart UNIT], --restart UNIT, or a\n"
                          "program after -- (no shell; output captured). The job waits for an offline host.",
               .flags = {TextFlag("host", "HOST", kHostHelp), TextFlag("sign-key", "PREFIX.key", kSignKeyHelp),
                         TextFlag("artifact", "SHA256", "install this artifact (a unique prefix of 6+ digits)"),
                         TextFlag("remove", "NAME", "remove this package"),
                         TextFlag("write-config", "PATH", "write this file (content from --from)"),
                         TextFlag("from", "FILE", "local file with the new content (--write-config)"),
                         TextFlag("mode", "OCTAL", "permission bits of the written file, e.g. 0640"),
                         TextFlag("restart", "UNIT", "systemctl restart UNIT (after --write-config, or alone)"),
                         DurationFlag("script-timeout", "kill the program after this long", "5m"),
                         BoolFlag("rollback-on-failure", "restore the previous state when the job fails")},
               .examples = {"job run --host web1 --sign-key ops.key --artifact 3f2a9c --rollback-on-failure",
                            "job run --host web1 --sign-key ops.key -- /usr/bin/systemctl is-active nginx"},
               .json_keys = {"job_id", "agent_id", "status"},
               .run = RunJobRun},
              {.path = "job rollback",
               .summary = "undo a job on its host (restore the version or file it replaced)",
               .flags = {TextFlag("host", "HOST", kHostHelp), TextFlag("sign-key", "PREFIX.key", kSignKeyHelp),
                         TextFlag("of", "JOB_ID", "the job to undo")},
               .examples = {"job rollback --host web1 --sign-key ops.key --of job-4be1c2"},
               .json_keys = {"job_id", "agent_id", "status"},
               .run = RunJobRollback},
              {.path = "job list",
               .summary = "jobs with their results",
               .flags = {HostFlagSpec(), TextFlag("job", "JOB_ID", "only this job")},
               .examples = {"job list --host web1"},
               .json_keys = {"job_id", "agent_id", "hostname", "status"},
               .run = RunJobList},
          }};
}

}  // namespace steward::ctl
