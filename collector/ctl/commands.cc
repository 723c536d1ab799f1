#include "collector/ctl/commands.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <ostream>

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/artifact_commands.h"
#include "collector/ctl/audit_commands.h"
#include "collector/ctl/deploy_commands.h"
#include "collector/ctl/host_commands.h"
#include "collector/ctl/job_commands.h"
#include "collector/ctl/metrics_view.h"
#include "collector/ctl/services_view.h"
#include "collector/ctl/table.h"
#include "collector/ctl/user_commands.h"
#include "common/targeting/target_expr.h"
#include "common/cli_args.h"
#include "common/duration.h"
#include "common/grpc/status_convert.h"
#include "common/inventory/inventory_diff.h"
#include "common/json_writer.h"
#include "common/status_macros.h"
#include "common/wire/agent_text.h"

namespace steward::ctl {
namespace {

constexpr char kUsage[] = R"(usage: stewardctl [--config FILE] [--json] COMMAND [flags]

Commands:
  token create [--ttl 1h] [--uses N] [--label k=v]...   create an enrollment token (printed alone)
  token list                                            tokens: id, created, expires, uses, state (no secrets)
  token revoke TOKEN_ID                                 refuse every later enrollment with a token
  hosts [--where EXPR]                                  list enrolled hosts, or those a target selects:
                                                        host:ID label:K=V os:NAME package:NAME[<VER]
                                                        with and/or/not and ( ) (docs/deployments.md)
  hosts disable HOST                                    close its session, refuse its connections, downloads
                                                        and job results (HOST: agent id or 4+ char prefix)
  hosts enable HOST                                     let a disabled host in again
  hosts rm HOST [--yes]                                 forget a host (inventory, checks, services, jobs) and
                                                        refuse its certificate; asks first unless --yes
  hosts renew HOST [--ttl 1d]                           one-use token that re-enrolls HOST keeping its id and
                                                        data (certificate expired or to be replaced)
  hosts label set HOST KEY=VALUE...                     set labels (targeting, pushed checks)
  hosts label rm HOST KEY...                            remove labels
  software [--host ID] [--name NAME]                    list installed software
  changes [--host ID] [--since 24h] [--cause job|other] inventory changes (added, removed, upgraded, rolled
                                                        back) with the job that made each; --cause job: only
                                                        Steward's, other: only out-of-band ones
  health [--host ID]                                    application check states (ok, degraded, down)
  services [--host ID] [--state failed] [--name PART]   systemd units with their load/active/sub states
  checks list                                           checks the collector pushes to agents
  checks set NAME --type T --param k=v... [--label k=v]...
                                                        push a check (process|systemd|tcp|http) to the
                                                        agents carrying all the labels (none: all agents)
  checks rm NAME                                        stop pushing a check
  keys generate --out PREFIX [--force]                  new Ed25519 publisher key: PREFIX.key (0600), PREFIX.pub
  artifact push FILE [--sign-key PREFIX.key] [--name N] [--version V]
                                                        upload a package (a .deb names itself), signed
  artifact list                                         stored artifacts with their signers
  artifact rm SHA256                                    remove one (or a unique prefix of 6+ digits)
  job run --host ID --sign-key KEY --artifact SHA [--rollback-on-failure]
                                                        install an artifact on one host (now, or when it connects)
  job run --host ID --sign-key KEY --remove NAME        remove a package (dpkg --remove)
  job run --host ID --sign-key KEY [--script-timeout 5m] -- /abs/program [ARG...]
                                                        run a program (no shell; output captured)
  job run --host ID --sign-key KEY --write-config PATH --from FILE [--mode 0644] [--restart UNIT]
          [--rollback-on-failure]                       write a file (then restart a unit)
  job run --host ID --sign-key KEY --restart UNIT       systemctl restart UNIT
  job rollback --host ID --sign-key KEY --of JOB_ID     undo a job on its host (restore the version it replaced)
                                                        (--sign-key PREFIX.key: a publisher key the agent trusts
                                                        signs the job for that host, valid 24 hours, once)
  job list [--host ID] [--job JOB_ID]                   jobs with their results
  deploy create --artifact SHA|--package NAME=VERSION --target EXPR --sign-key KEY [--waves 1,10%,50%,100%]
          [--max-parallel N] [--error-threshold 5%] [--health-gate 5m] [--window "Sat 01:00-05:00"]
          [--deadline 24h] [--on-failure pause|abort] [--require-checks] [--dry-run]
                                                        staged rollout to the hosts a target selects, signed
                                                        for exactly those hosts (until the deadline, or 7 days)
  deploy status ID [--watch]                            progress per wave and host
  deploy list                                           every deployment, newest first
  deploy pause|resume|abort|retry ID                    control a rollout (retry: failed hosts again)
  metrics --host ID --list                              list the metric names a host reports
  metrics --compact                                     persist in-memory samples, compact, show sizes
  metrics [--host ID] --metric NAME [--since 15m] [--label k=v]... [--match 'k=~re']...
          [--agg avg|min|max|sum|count|last|p50|p90|p99|rate|increase] [--step 5m]
          [--by label,...] [--top K] [--filter '> 90'] [--last]
                                                        samples of one metric, or aggregates per
                                                        group and step (without --host: every host,
                                                        label 'agent'); --match also takes != =~ !~;
                                                        --match '__name__=~re' instead of --metric
                                                        selects several metrics, --by __name__
                                                        groups per metric
  user add NAME --role viewer|operator|admin --out FILE [--force]
                                                        a person's credential file (like admin.conf, 0600);
                                                        the key is made here, the collector signs it
  user list                                             users with their roles
  user rm NAME                                          remove a user (their credential stops working at once)
  user rotate NAME --out FILE [--force]                 a new credential for a user; the old one stops working
  audit [--since 24h] [--user NAME] [--limit N]         audit trail: every change and every refusal (admin)
  audit verify                                          check the audit trail's hash chain (exit 1 if broken)

Global flags:
  --config FILE   credential (default: $STEWARD_CONFIG); the collector writes DATA_DIR/admin.conf (role
                  admin), 'stewardctl user add' writes one per person (viewer, operator or admin)
  --json          JSON output for scripts
  --timeout 30s   how long to wait for the collector
)";

struct Flags {
  std::string config, ttl = "1h", uses = "1", host, name, metric, since, timeout = "30s", state;
  std::string agg, step, by, top, filter;  // metrics queries
  std::string where;                       // hosts --where
  std::string out, sign_key, version;      // keys generate, artifact push
  bool force = false;
  std::string artifact, of, job;           // job run|rollback|list
  std::string remove, script_timeout, write_config, from, mode, restart;  // job run
  bool rollback_on_failure = false;
  std::string package;  // deploy create --package
  std::string target, waves, max_parallel, error_threshold, health_gate, window, deadline, on_failure;  // deploy
  bool dry_run = false, watch = false, require_checks = false;
  std::vector<std::string> matches;
  std::string since_changes;  // --since with the changes default (24h)
  std::string cause;          // changes --cause job|other
  std::vector<std::string> labels, params;
  std::string type;
  std::string role, user, limit;  // user add; audit
  std::string audit_since;        // audit --since (empty: from the start)
  std::vector<std::string> args;  // positional words after the command
  bool json = false, list = false, help = false, last = false, compact = false;
  bool yes = false;    // hosts rm
  bool ttl_set = false;  // --ttl given (hosts renew has its own default)
};

// A command's failure, already worded for the user.
struct Failure {
  int code;
  std::string message;
};

std::string Hint(const absl::Status& st, const std::string& collector) {
  switch (st.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("cannot reach the collector at ", collector, " (", st.message(),
                          "); is steward-collector running? check 'collector' in the admin config");
    case absl::StatusCode::kUnauthenticated:
      return absl::StrCat("the collector refused the credential: ", st.message(),
                          "; use the admin.conf of this collector's data directory or your own from "
                          "'stewardctl user add'");
    case absl::StatusCode::kPermissionDenied:
      if (absl::StrContains(st.message(), " needs role ")) {
        return absl::StrCat("the collector refused: ", st.message(),
                            "; ask an admin for a credential with that role");
      }
      return absl::StrCat("the collector refused the credential: ", st.message());
    case absl::StatusCode::kNotFound:
      // An unknown --host: say where the ids are.
      if (absl::StartsWith(st.message(), "no agent with id")) {
        return absl::StrCat(st.message(), "; 'stewardctl hosts' lists the agent ids");
      }
      return std::string(st.message());
    default:
      return std::string(st.message());
  }
}

// A target expression's error with the expression below it and a caret
// under the position the message names ("target expression, position N:").
absl::Status PointAt(const absl::Status& st, const std::string& expr) {
  std::string msg(st.message());
  size_t at = msg.find("position ");
  size_t pos = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(msg.substr(at + 9, msg.find(':', at) - at - 9), &pos) || pos == 0 ||
      pos > expr.size() + 1 || expr.find('\n') != std::string::npos) {
    return st;
  }
  return absl::Status(st.code(), absl::StrCat(msg, "\n  ", expr, "\n  ", std::string(pos - 1, ' '), "^"));
}

absl::StatusOr<std::vector<v1::Label>> ParseLabels(const std::vector<std::string>& raw) {
  std::vector<v1::Label> out;
  for (const auto& l : raw) {
    size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--label '", l, "' must look like key=value"));
    }
    v1::Label label;
    label.set_name(l.substr(0, eq));
    label.set_value(l.substr(eq + 1));
    out.push_back(std::move(label));
  }
  return out;
}

void LabelsJson(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Label>& labels) {
  w.BeginObject();
  for (const auto& l : labels) w.Key(l.name()).String(l.value());
  w.EndObject();
}

const char* StatusName(v1::CheckState::Status s) {
  switch (s) {
    case v1::CheckState::OK: return "ok";
    case v1::CheckState::DEGRADED: return "degraded";
    case v1::CheckState::DOWN: return "down";
    default: return "unknown";
  }
}

class Ctl {
 public:
  Ctl(const Flags& f, std::ostream& out) : f_(f), out_(out) {}

  absl::Status Connect() {
    ASSIGN_OR_RETURN(cred_, LoadAdminCredential(f_.config));
    ASSIGN_OR_RETURN(timeout_, ParseHumanDuration(f_.timeout));
    stub_ = MakeAdminStub(cred_);
    return absl::OkStatus();
  }
  const std::string& collector() const { return cred_.collector; }

  template <typename Req, typename Resp, typename Method>
  absl::Status Call(Method method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    ctx.set_wait_for_ready(false);
    return FromGrpcStatus(((*stub_).*method)(&ctx, req, resp));
  }

  absl::Status TokenCreate() {
    v1::CreateEnrollmentTokenRequest req;
    ASSIGN_OR_RETURN(absl::Duration ttl, ParseHumanDuration(f_.ttl));
    if (ttl < absl::Seconds(1)) return absl::InvalidArgumentError("--ttl must be at least 1s");
    req.set_ttl_seconds(absl::ToInt64Seconds(ttl));
    int uses = 0;
    if (!absl::SimpleAtoi(f_.uses, &uses) || uses < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--uses '", f_.uses, "' must be a whole number >= 1"));
    }
    req.set_max_uses(static_cast<uint32_t>(uses));
    ASSIGN_OR_RETURN(auto labels, ParseLabels(f_.labels));
    for (auto& l : labels) *req.add_labels() = std::move(l);
    v1::CreateEnrollmentTokenResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::CreateEnrollmentToken, req, &resp));
    if (f_.json) {
      JsonWriter w;
      w.BeginObject()
          .Key("token").String(resp.token())
          .Key("token_id").String(resp.token_id())
          .Key("expires").String(FormatRfc3339(absl::FromUnixSeconds(resp.expires_unix())))
          .EndObject();
      out_ << w.str() << "\n";
    } else {
      out_ << resp.token() << "\n";  // alone, so `$(stewardctl token create)` works
    }
    return absl::OkStatus();
  }

  absl::Status Hosts() {
    v1::ListHostsRequest req;
    if (!f_.where.empty()) {
      // Checked here first, so a typo is shown under the expression
      // without a round trip; the collector checks again.
      if (auto e = TargetExpr::Parse(f_.where); !e.ok()) return PointAt(e.status(), f_.where);
      req.set_where(f_.where);
    }
    v1::ListHostsResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListHosts, req, &resp));
    absl::Time now = absl::Now();
    if (f_.json) {
      JsonWriter w;
      w.BeginArray();
      for (const auto& h : resp.hosts()) {
        const auto& fa = h.facts();
        w.BeginObject()
            .Key("agent_id").String(h.agent_id())
            .Key("hostname").String(fa.hostname())
            .Key("os").String(fa.os_name())
            .Key("os_id").String(fa.os_id())
            .Key("os_version").String(fa.os_version())
            .Key("kernel").String(fa.kernel())
            .Key("arch").String(fa.arch())
            .Key("agent_version").String(h.agent_version())
            .Key("last_seen").String(h.last_seen_ms() > 0 ? FormatRfc3339(absl::FromUnixMillis(h.last_seen_ms())) : "")
            .Key("connected").Bool(h.connected())
            .Key("disabled").Bool(h.disabled())
            .Key("cert_expires").String(h.cert_expires_unix() > 0 ? FormatRfc3339(absl::FromUnixSeconds(h.cert_expires_unix())) : "")
            .Key("enrolled").String(FormatRfc3339(absl::FromUnixMillis(h.enrolled_ms())))
            .Key("software_count").Uint(h.software_count())
            .Key("cpu_model").String(fa.cpu_model())
            .Key("cpu_count").Uint(fa.cpu_count())
            .Key("memory_total_bytes").Uint(fa.memory_total_bytes())
            .Key("boot_time").String(fa.boot_time_unix() > 0 ? FormatRfc3339(absl::FromUnixSeconds(fa.boot_time_unix())) : "")
            .Key("dmi_vendor").String(fa.dmi_vendor())
            .Key("dmi_model").String(fa.dmi_model())
            .Key("dmi_serial").String(fa.dmi_serial())
            .Key("disks").BeginArray();
        for (const auto& d : fa.disks()) {
          w.BeginObject().Key("name").String(d.name()).Key("model").String(d.model())
              .Key("size_bytes").Uint(d.size_bytes()).Key("rotational").Bool(d.rotational()).EndObject();
        }
        w.EndArray().Key("interfaces").BeginArray();
        for (const auto& n : fa.interfaces()) {
          w.BeginObject().Key("name").String(n.name()).Key("mac").String(n.mac()).Key("up").Bool(n.up());
          w.Key("addresses").BeginArray(true);
          for (const auto& a : n.addresses()) w.String(a);
          w.EndArray().EndObject();
        }
        w.EndArray().Key("labels");
        LabelsJson(w, h.labels());
        w.EndObject();
      }
      w.EndArray();
      out_ << w.str() << "\n";
      return absl::OkStatus();
    }
    Table t({"AGENT ID", "HOSTNAME", "OS", "AGENT", "LAST SEEN", "CONNECTED", "PACKAGES", "LABELS"});
    for (const auto& h : resp.hosts()) {
      t.AddRow({h.agent_id(), h.facts().hostname(), h.facts().os_name(), h.agent_version(),
                HumanAge(h.last_seen_ms(), now), h.disabled() ? "DISABLED" : h.connected() ? "yes" : "no",
                absl::StrCat(h.software_count()),
                LabelsText(h.labels())});
    }
    out_ << t.Render();
    if (t.size() == 0 && !resp.where().empty()) {
      out_ << "(no host matches " << resp.where() << ")\n";
    } else if (t.size() == 0) {
      out_ << "(no hosts enrolled yet: create a token with 'stewardctl token create')\n";
    }
    return absl::OkStatus();
  }

  absl::Status Software() {
    v1::ListSoftwareRequest req;
    req.set_agent_id(f_.host);
    req.set_name(f_.name);
    v1::ListSoftwareResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListSoftware, req, &resp));
    if (f_.json) {
      JsonWriter w;
      w.BeginArray();
      for (const auto& hs : resp.items()) {
        const auto& i = hs.item();
        w.BeginObject()
            .Key("agent_id").String(hs.agent_id())
            .Key("hostname").String(hs.hostname())
            .Key("source").String(i.source())
            .Key("name").String(i.name())
            .Key("version").String(i.version())
            .Key("arch").String(i.arch())
            .Key("vendor").String(i.vendor())
            .Key("size_bytes").Uint(i.size_bytes())
            .EndObject();
      }
      w.EndArray();
      out_ << w.str() << "\n";
      return absl::OkStatus();
    }
    Table t({"HOSTNAME", "AGENT ID", "SOURCE", "NAME", "VERSION", "ARCH"});
    for (const auto& hs : resp.items()) {
      const auto& i = hs.item();
      t.AddRow({hs.hostname(), hs.agent_id(), i.source(), i.name(), i.version(), i.arch()});
    }
    out_ << t.Render();
    if (t.size() == 0) out_ << "(no software matches)\n";
    return absl::OkStatus();
  }

  absl::Status Changes() {
    ASSIGN_OR_RETURN(absl::Duration since, ParseHumanDuration(f_.since_changes));
    v1::ListChangesRequest req;
    req.set_agent_id(f_.host);
    req.set_since_ms(absl::ToUnixMillis(absl::Now() - since));
    if (f_.cause == "job") {
      req.set_cause(v1::CHANGE_CAUSE_JOB);
    } else if (f_.cause == "other") {
      req.set_cause(v1::CHANGE_CAUSE_OTHER);
    } else if (!f_.cause.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--cause '", f_.cause, "': use job or other"));
    }
    v1::ListChangesResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListChanges, req, &resp));
    if (f_.json) {
      JsonWriter w;
      w.BeginArray();
      for (const auto& hc : resp.changes()) {
        const auto& c = hc.change();
        w.BeginObject()
            .Key("agent_id").String(hc.agent_id())
            .Key("hostname").String(hc.hostname())
            .Key("time").String(FormatRfc3339(absl::FromUnixMillis(c.time_ms())))
            .Key("source").String(c.source())
            .Key("name").String(c.name())
            .Key("arch").String(c.arch())
            .Key("change").String(ChangeKindName(c.kind()))
            .Key("old_version").String(c.old_version())
            .Key("new_version").String(c.new_version())
            .Key("cause").String(c.job_id().empty() ? "other" : "job")
            .Key("job_id").String(c.job_id())
            .Key("deployment_id").String(c.deployment_id());
        if (!c.attempted_version().empty()) w.Key("attempted_version").String(c.attempted_version());
        if (!c.location().empty()) w.Key("location").String(c.location());
        w.EndObject();
      }
      w.EndArray();
      out_ << w.str() << "\n";
      return absl::OkStatus();
    }
    Table t({"TIME", "HOSTNAME", "SOURCE", "NAME", "CHANGE", "OLD VERSION", "NEW VERSION", "CAUSE"});
    for (const auto& hc : resp.changes()) {
      const auto& c = hc.change();
      std::string change = ChangeKindName(c.kind());
      if (!c.attempted_version().empty()) absl::StrAppend(&change, " (tried ", c.attempted_version(), ")");
      std::string cause = "other";
      if (!c.job_id().empty()) {
        cause = absl::StrCat("job ", c.job_id(), c.deployment_id().empty() ? "" : " (deployment ",
                             c.deployment_id(), c.deployment_id().empty() ? "" : ")");
      }
      t.AddRow({FormatRfc3339(absl::FromUnixMillis(c.time_ms())), hc.hostname(), c.source(), c.name(), change,
                c.old_version().empty() ? "-" : c.old_version(), c.new_version().empty() ? "-" : c.new_version(),
                cause});
    }
    out_ << t.Render();
    if (t.size() == 0) out_ << "(no changes in the last " << f_.since_changes << ")\n";
    if (resp.truncated()) out_ << "(older changes were cut off; narrow with --since or --host)\n";
    return absl::OkStatus();
  }

  absl::Status Health() {
    v1::ListHealthRequest req;
    req.set_agent_id(f_.host);
    v1::ListHealthResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListHealth, req, &resp));
    absl::Time now = absl::Now();
    if (f_.json) {
      JsonWriter w;
      w.BeginArray();
      for (const auto& hc : resp.checks()) {
        const auto& s = hc.state();
        w.BeginObject()
            .Key("agent_id").String(hc.agent_id())
            .Key("hostname").String(hc.hostname())
            .Key("check").String(s.name())
            .Key("type").String(s.type())
            .Key("status").String(StatusName(s.status()))
            .Key("reason").String(s.reason())
            .Key("since").String(FormatRfc3339(absl::FromUnixMillis(s.since_ms())))
            .Key("checked").String(FormatRfc3339(absl::FromUnixMillis(s.time_ms())))
            .Key("origin").String(s.origin())
            .EndObject();
      }
      w.EndArray();
      out_ << w.str() << "\n";
      return absl::OkStatus();
    }
    Table t({"HOSTNAME", "CHECK", "TYPE", "STATUS", "SINCE", "CHECKED", "REASON"});
    for (const auto& hc : resp.checks()) {
      const auto& s = hc.state();
      t.AddRow({hc.hostname(), s.name(), s.type(), StatusName(s.status()), HumanAge(s.since_ms(), now),
                HumanAge(s.time_ms(), now), s.reason().empty() ? "-" : s.reason()});
    }
    out_ << t.Render();
    if (t.size() == 0) out_ << "(no checks reported; configure check.NAME.* in the agent config or 'stewardctl checks set')\n";
    return absl::OkStatus();
  }

  absl::Status Services() {
    RETURN_IF_ERROR(CheckActiveStateFilter(f_.state));
    v1::ListServicesRequest req;
    req.set_agent_id(f_.host);
    req.set_active_state(f_.state);
    req.set_name_contains(f_.name);
    v1::ListServicesResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListServices, req, &resp));
    PrintServices(resp, f_.json, out_);
    return absl::OkStatus();
  }

  absl::Status ChecksList() {
    v1::ListChecksResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListChecks, v1::ListChecksRequest(), &resp));
    if (f_.json) {
      JsonWriter w;
      w.BeginArray();
      for (const auto& c : resp.checks()) {
        w.BeginObject().Key("name").String(c.spec().name()).Key("type").String(c.spec().type()).Key("params");
        w.BeginObject();
        for (const auto& [k, v] : std::map<std::string, std::string>(c.spec().params().begin(), c.spec().params().end())) {
          w.Key(k).String(v);
        }
        w.EndObject().Key("selector");
        LabelsJson(w, c.selector());
        w.EndObject();
      }
      w.EndArray();
      out_ << w.str() << "\n";
      return absl::OkStatus();
    }
    Table t({"NAME", "TYPE", "PARAMS", "SELECTOR"});
    for (const auto& c : resp.checks()) {
      std::vector<std::string> params;
      for (const auto& [k, v] : std::map<std::string, std::string>(c.spec().params().begin(), c.spec().params().end())) {
        params.push_back(absl::StrCat(k, "=", v));
      }
      t.AddRow({c.spec().name(), c.spec().type(), absl::StrJoin(params, " "),
                c.selector().empty() ? "(all agents)" : LabelsText(c.selector())});
    }
    out_ << t.Render();
    if (t.size() == 0) out_ << "(no pushed checks)\n";
    return absl::OkStatus();
  }

  absl::Status ChecksSet() {
    if (f_.args.size() != 1) return absl::InvalidArgumentError("checks set needs exactly one NAME");
    if (f_.type.empty()) return absl::InvalidArgumentError("checks set needs --type process|systemd|tcp|http");
    v1::PutCheckRequest req;
    auto* spec = req.mutable_check()->mutable_spec();
    spec->set_name(f_.args[0]);
    spec->set_type(f_.type);
    for (const auto& p : f_.params) {
      size_t eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(absl::StrCat("--param '", p, "' must look like key=value"));
      }
      (*spec->mutable_params())[p.substr(0, eq)] = p.substr(eq + 1);
    }
    ASSIGN_OR_RETURN(auto labels, ParseLabels(f_.labels));
    for (auto& l : labels) *req.mutable_check()->add_selector() = std::move(l);
    v1::PutCheckResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::PutCheck, req, &resp));
    if (f_.json) {
      JsonWriter w;
      w.BeginObject().Key("name").String(spec->name()).Key("pushed_to").Uint(resp.pushed_to()).EndObject();
      out_ << w.str() << "\n";
    } else {
      out_ << "check '" << spec->name() << "' stored; pushed to " << resp.pushed_to()
           << " connected agent session(s); others get it when they connect\n";
    }
    return absl::OkStatus();
  }

  absl::Status Job(const std::string& cmd) {
    JobOptions o;
    o.host = f_.host;
    o.artifact = f_.artifact;
    o.of_job = f_.of;
    o.job_id = f_.job;
    o.rollback_on_failure = f_.rollback_on_failure;
    o.remove = f_.remove;
    o.script = f_.args;
    o.script_timeout = f_.script_timeout;
    o.write_config = f_.write_config;
    o.from = f_.from;
    o.mode = f_.mode;
    o.restart = f_.restart;
    o.sign_key = f_.sign_key;
    o.json = f_.json;
    o.timeout = timeout_;
    if (cmd == "job run") return JobRun(*stub_, o, out_);
    if (cmd == "job rollback") return JobRollback(*stub_, o, out_);
    return JobList(*stub_, o, out_);
  }

  absl::Status Deploy(const std::string& cmd, bool terminal) {
    DeployOptions o;
    if (!f_.args.empty()) o.id = f_.args[0];
    o.artifact = f_.artifact;
    o.package = f_.package;
    o.target = f_.target;
    o.waves = f_.waves;
    o.max_parallel = f_.max_parallel;
    o.error_threshold = f_.error_threshold;
    o.health_gate = f_.health_gate;
    o.window = f_.window;
    o.deadline = f_.deadline;
    o.on_failure = f_.on_failure;
    o.dry_run = f_.dry_run;
    o.require_checks = f_.require_checks;
    o.sign_key = f_.sign_key;
    o.watch = f_.watch;
    o.json = f_.json;
    o.timeout = timeout_;
    if (cmd == "deploy create") return DeployCreate(*stub_, o, out_);
    if (cmd == "deploy status") return DeployStatus(*stub_, o, out_, terminal);
    if (cmd == "deploy list") return DeployList(*stub_, o, out_);
    const auto action = cmd == "deploy pause"    ? v1::ControlDeploymentRequest::PAUSE
                        : cmd == "deploy resume" ? v1::ControlDeploymentRequest::RESUME
                        : cmd == "deploy abort"  ? v1::ControlDeploymentRequest::ABORT
                                                 : v1::ControlDeploymentRequest::RETRY;
    return DeployControl(*stub_, o, action, out_);
  }

  absl::Status Identity(const std::string& cmd, std::function<bool(const std::string&)> confirm) {
    HostOptions o;
    o.args = f_.args;
    o.yes = f_.yes;
    o.ttl = f_.ttl_set ? f_.ttl : "";
    o.json = f_.json;
    o.timeout = timeout_;
    o.confirm = std::move(confirm);
    if (cmd == "token list") return TokenList(*stub_, o, out_);
    if (cmd == "token revoke") return TokenRevoke(*stub_, o, out_);
    if (cmd == "hosts disable") return HostSetDisabled(*stub_, o, true, out_);
    if (cmd == "hosts enable") return HostSetDisabled(*stub_, o, false, out_);
    if (cmd == "hosts rm") return HostRemove(*stub_, o, out_);
    if (cmd == "hosts renew") return HostRenew(*stub_, o, out_);
    if (cmd == "hosts label set") return HostLabelSet(*stub_, o, out_);
    return HostLabelRm(*stub_, o, out_);
  }

  absl::Status Artifact(const std::string& cmd, std::ostream* progress) {
    if (cmd == "artifact list") return ArtifactList(*stub_, timeout_, f_.json, out_);
    if (f_.args.size() != 1) {
      return absl::InvalidArgumentError(cmd == "artifact push" ? "artifact push needs exactly one FILE"
                                                               : "artifact rm needs exactly one SHA256");
    }
    if (cmd == "artifact rm") return ArtifactRm(*stub_, f_.args[0], timeout_, f_.json, out_);
    PushOptions o;
    o.file = f_.args[0];
    o.name = f_.name;
    o.version = f_.version;
    o.sign_key = f_.sign_key;
    o.json = f_.json;
    o.timeout = timeout_;
    o.progress = progress;
    return ArtifactPush(*stub_, o, out_);
  }

  absl::Status User(const std::string& cmd) {
    UserOptions o;
    if (!f_.args.empty()) o.name = f_.args[0];
    o.role = f_.role;
    o.out = f_.out;
    o.force = f_.force;
    o.json = f_.json;
    o.timeout = timeout_;
    if (cmd == "user add") return UserAdd(*stub_, cred_, o, out_);
    if (cmd == "user rotate") return UserRotate(*stub_, cred_, o, out_);
    if (cmd == "user rm") return UserRm(*stub_, o, out_);
    return UserList(*stub_, o, out_);
  }

  absl::Status Audit(const std::string& cmd) {
    AuditOptions o;
    o.since = f_.audit_since;
    o.user = f_.user;
    o.limit = f_.limit;
    o.json = f_.json;
    o.timeout = timeout_;
    if (cmd == "audit verify") return AuditVerify(*stub_, o, out_);
    return AuditList(*stub_, o, out_);
  }

  absl::Status ChecksRm() {
    if (f_.args.size() != 1) return absl::InvalidArgumentError("checks rm needs exactly one NAME");
    v1::DeleteCheckRequest req;
    req.set_name(f_.args[0]);
    v1::DeleteCheckResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::DeleteCheck, req, &resp));
    if (!f_.json) out_ << "check '" << req.name() << "' removed\n";
    else out_ << "{}\n";
    return absl::OkStatus();
  }

  absl::Status Metrics() {
    if (f_.compact) {
      v1::CompactMetricsResponse resp;
      RETURN_IF_ERROR(Call(&v1::AdminService::Stub::CompactMetrics, v1::CompactMetricsRequest(), &resp));
      if (f_.json) {
        JsonWriter w;
        w.BeginObject()
            .Key("data_bytes").Uint(resp.data_bytes())
            .Key("rollup_bytes").Uint(resp.rollup_bytes())
            .Key("index_bytes").Uint(resp.index_bytes())
            .Key("wal_bytes").Uint(resp.wal_bytes())
            .Key("head_bytes").Uint(resp.head_bytes())
            .Key("active_series").Uint(resp.active_series())
            .EndObject();
        out_ << w.str() << "\n";
      } else {
        out_ << "time series compacted: data " << resp.data_bytes() << " bytes, rollups " << resp.rollup_bytes()
             << " bytes, index " << resp.index_bytes()
             << " bytes, WAL " << resp.wal_bytes() << " bytes; heads " << resp.head_bytes() << " bytes in "
             << resp.active_series() << " series\n";
      }
      return absl::OkStatus();
    }
    if (f_.list) {
      if (f_.host.empty()) {
        return absl::InvalidArgumentError("metrics --list needs --host ID (see 'stewardctl hosts')");
      }
      v1::ListMetricNamesRequest req;
      req.set_agent_id(f_.host);
      v1::ListMetricNamesResponse resp;
      RETURN_IF_ERROR(Call(&v1::AdminService::Stub::ListMetricNames, req, &resp));
      if (f_.json) {
        JsonWriter w;
        w.BeginArray();
        for (const auto& n : resp.names()) w.String(n);
        w.EndArray();
        out_ << w.str() << "\n";
      } else {
        for (const auto& n : resp.names()) out_ << n << "\n";
      }
      return absl::OkStatus();
    }
    v1::QueryMetricsRequest req;
    ASSIGN_OR_RETURN(auto labels, ParseLabels(f_.labels));
    for (auto& l : labels) *req.add_match() = std::move(l);
    for (const std::string& m : f_.matches) {
      ASSIGN_OR_RETURN(*req.add_matchers(), ParseMatcher(m));
    }
    if (f_.metric.empty() && !NamesMetrics(req)) {
      return absl::InvalidArgumentError(
          "metrics needs --metric NAME or --match '__name__=~REGEX', or --list to see the names");
    }
    ASSIGN_OR_RETURN(absl::Duration since, ParseHumanDuration(f_.since));
    req.set_agent_id(f_.host);
    req.set_metric(f_.metric);
    absl::Time now = absl::Now();
    req.set_start_ms(absl::ToUnixMillis(now - since));
    req.set_end_ms(absl::ToUnixMillis(now));
    req.set_agg(f_.agg);
    if (!f_.step.empty()) {
      ASSIGN_OR_RETURN(absl::Duration step, ParseHumanDuration(f_.step));
      req.set_step_ms(absl::ToInt64Milliseconds(step));
    }
    for (absl::string_view by : absl::StrSplit(f_.by, ',', absl::SkipEmpty())) req.add_group_by(std::string(by));
    if (!f_.top.empty()) {
      uint32_t top = 0;
      if (!absl::SimpleAtoi(f_.top, &top) || top == 0) {
        return absl::InvalidArgumentError(absl::StrCat("--top '", f_.top, "' must be a whole number above 0"));
      }
      req.set_top_k(top);
    }
    req.set_last_point(f_.last);
    req.set_value_filter(f_.filter);
    v1::QueryMetricsResponse resp;
    RETURN_IF_ERROR(Call(&v1::AdminService::Stub::QueryMetrics, req, &resp));
    const bool aggregated = !f_.agg.empty() && f_.agg != "none";
    PrintMetrics(resp, f_.metric, aggregated, f_.json, now, out_);
    return absl::OkStatus();
  }

 private:
  const Flags& f_;
  std::ostream& out_;
  AdminCredential cred_;
  absl::Duration timeout_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace

int RunStewardctl(const std::vector<std::string>& args, const std::string& env_config, std::ostream& out,
                  std::ostream& err) {
  Flags f;
  ArgParser p;
  p.Flag("config", &f.config, "admin credential file")
      .Bool("json", &f.json, "JSON output")
      .Flag("timeout", &f.timeout, "RPC timeout")
      .Flag("ttl", &f.ttl, "token lifetime")
      .Flag("uses", &f.uses, "token uses")
      .Repeated("label", &f.labels, "label k=v")
      .Flag("host", &f.host, "agent id")
      .Flag("where", &f.where, "target expression (hosts)")
      .Flag("out", &f.out, "key file prefix (keys generate)")
      .Bool("force", &f.force, "overwrite existing key files (keys generate)")
      .Flag("sign-key", &f.sign_key, "publisher private key (artifact push, job run|rollback, deploy create)")
      .Flag("version", &f.version, "artifact version (artifact push)")
      .Flag("artifact", &f.artifact, "artifact SHA-256 (job run)")
      .Flag("of", &f.of, "job to undo (job rollback)")
      .Flag("job", &f.job, "job id (job list)")
      .Bool("rollback-on-failure", &f.rollback_on_failure, "restore the previous version when it fails (job run)")
      .Flag("remove", &f.remove, "package to remove (job run)")
      .Flag("script-timeout", &f.script_timeout, "kill the program after this long (job run -- PROGRAM)")
      .Flag("write-config", &f.write_config, "file to write (job run)")
      .Flag("from", &f.from, "local file with the new content (job run --write-config)")
      .Flag("mode", &f.mode, "permission bits, octal (job run --write-config)")
      .Flag("restart", &f.restart, "systemd unit to restart (job run)")
      .Flag("target", &f.target, "target expression (deploy create)")
      .Flag("package", &f.package, "NAME=VERSION from the hosts' apt repositories (deploy create)")
      .Flag("waves", &f.waves, "cumulative wave sizes (deploy create)")
      .Flag("max-parallel", &f.max_parallel, "hosts changing at once (deploy create)")
      .Flag("error-threshold", &f.error_threshold, "failed share that stops a wave (deploy create)")
      .Flag("health-gate", &f.health_gate, "how long a wave must stay healthy (deploy create)")
      .Flag("window", &f.window, "maintenance windows, UTC (deploy create)")
      .Flag("deadline", &f.deadline, "no job starts after this long (deploy create)")
      .Flag("on-failure", &f.on_failure, "pause or abort (deploy create)")
      .Bool("dry-run", &f.dry_run, "plan only (deploy create)")
      .Bool("require-checks", &f.require_checks, "a changed host without health checks fails its gate (deploy create)")
      .Bool("watch", &f.watch, "follow until finished or paused (deploy status)")
      .Flag("name", &f.name, "package name (software), part of a unit name (services)")
      .Flag("state", &f.state, "unit active state (services)")
      .Flag("metric", &f.metric, "metric name (or --match '__name__=~re')")
      .Flag("since", &f.since, "how far back")
      .Flag("cause", &f.cause, "job or other (changes)")
      .Bool("list", &f.list, "list metric names")
      .Flag("agg", &f.agg, "aggregation (metrics)")
      .Flag("step", &f.step, "bucket width (metrics)")
      .Flag("by", &f.by, "group by labels (metrics)")
      .Flag("top", &f.top, "keep the top K groups (metrics)")
      .Repeated("match", &f.matches, "label matcher (metrics)")
      .Flag("filter", &f.filter, "value filter such as '> 90' (metrics)")
      .Bool("last", &f.last, "latest sample of each series (metrics)")
      .Bool("compact", &f.compact, "persist and compact the time series (metrics)")
      .Flag("role", &f.role, "viewer, operator or admin (user add)")
      .Flag("user", &f.user, "only this user's records (audit)")
      .Flag("limit", &f.limit, "newest N records (audit)")
      .Bool("yes", &f.yes, "confirm without asking (hosts rm)")
      .Flag("type", &f.type, "check type")
      .Repeated("param", &f.params, "check param k=v")
      .Bool("help", &f.help, "help");
  std::vector<std::string> words;
  if (absl::Status st = p.Parse(args, &words); !st.ok()) {
    err << "error: " << st.message() << "\n\n" << kUsage;
    return 2;
  }
  if (f.help || words.empty() || words[0] == "help") {
    (f.help || (!words.empty() && words[0] == "help") ? out : err) << kUsage;
    return f.help || !words.empty() ? 0 : 2;
  }
  // Local: no collector, no credential.
  if (words.size() >= 2 && words[0] == "keys" && words[1] == "generate") {
    if (words.size() > 2) {
      err << "error: unexpected argument '" << words[2] << "' after 'keys generate'\n";
      return 2;
    }
    absl::Status st = KeysGenerate(f.out, f.force, f.json, out);
    if (!st.ok()) err << "error: " << st.message() << "\n";
    return st.ok() ? 0 : st.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (f.config.empty()) f.config = env_config;
  if (f.config.empty()) {
    err << "error: no admin credential: pass --config DATA_DIR/admin.conf or set STEWARD_CONFIG\n";
    return 2;
  }
  // "token create", "checks set NAME": the command is one or two words, the rest are arguments.
  std::string cmd = words[0];
  if ((cmd == "token" || cmd == "checks" || cmd == "artifact" || cmd == "keys" || cmd == "job" ||
       cmd == "deploy" || cmd == "user" || cmd == "hosts" ||
       (cmd == "audit" && words.size() > 1 && words[1] == "verify")) &&
      words.size() > 1) {
    cmd += " " + words[1];
    if (cmd == "hosts label" && words.size() > 2) cmd += " " + words[2];
  }
  f.ttl_set = p.WasSet("ttl");
  const size_t cmd_words = 1 + static_cast<size_t>(std::count(cmd.begin(), cmd.end(), ' '));
  f.args.assign(words.begin() + static_cast<long>(std::min(words.size(), cmd_words)), words.end());
  Ctl ctl(f, out);
  absl::Status st;
  f.audit_since = f.since;
  f.since_changes = f.since.empty() ? "24h" : f.since;
  if (f.since.empty()) f.since = "15m";
  static const std::set<std::string> kCommands = {"token create", "hosts", "software", "metrics", "changes",
                                                  "health", "services", "checks list", "checks set",
                                                  "checks rm", "artifact push", "artifact list",
                                                  "artifact rm", "job run", "job rollback", "job list",
                                                  "deploy create", "deploy status", "deploy list",
                                                  "deploy pause", "deploy resume", "deploy abort",
                                                  "deploy retry", "user add", "user list", "user rm",
                                                  "user rotate", "audit", "audit verify", "token list",
                                                  "token revoke", "hosts disable", "hosts enable", "hosts rm",
                                                  "hosts renew", "hosts label set", "hosts label rm"};
  // Identity commands check their own positional arguments.
  const bool identity_cmd = cmd == "token list" || cmd == "token revoke" || absl::StartsWith(cmd, "hosts ");
  const bool takes_id = absl::StartsWith(cmd, "deploy ") && cmd != "deploy create" && cmd != "deploy list";
  if (takes_id && f.args.size() != 1) {
    err << "error: '" << cmd << "' needs exactly one deployment ID ('stewardctl deploy list')\n";
    return 2;
  }
  const bool takes_user = cmd == "user add" || cmd == "user rm" || cmd == "user rotate";
  if (takes_user && f.args.size() != 1) {
    err << "error: '" << cmd << "' needs exactly one user NAME ('stewardctl user list')\n";
    return 2;
  }
  if (!kCommands.contains(cmd)) {
    err << "error: unknown command '" << absl::StrJoin(words, " ") << "'\n\n" << kUsage;
    return 2;
  }
  if (!f.args.empty() && cmd != "checks set" && cmd != "checks rm" && cmd != "artifact push" &&
      cmd != "artifact rm" && cmd != "job run" && !takes_id && !takes_user && !identity_cmd) {
    err << "error: unexpected argument '" << f.args[0] << "' after '" << cmd << "'\n";
    return 2;
  }

  st = ctl.Connect();
  if (st.ok()) {
    if (cmd == "token create") st = ctl.TokenCreate();
    else if (cmd == "hosts") st = ctl.Hosts();
    else if (cmd == "software") st = ctl.Software();
    else if (cmd == "changes") st = ctl.Changes();
    else if (cmd == "health") st = ctl.Health();
    else if (cmd == "services") st = ctl.Services();
    else if (cmd == "checks list") st = ctl.ChecksList();
    else if (cmd == "checks set") st = ctl.ChecksSet();
    else if (cmd == "checks rm") st = ctl.ChecksRm();
    else if (identity_cmd) {
      // hosts rm asks on the terminal; without one it needs --yes.
      std::function<bool(const std::string&)> confirm;
      if (&out == &std::cout && isatty(0) && isatty(2)) {
        confirm = [&err](const std::string& question) {
          err << question << std::flush;
          std::string answer;
          if (!std::getline(std::cin, answer)) return false;
          return answer == "y" || answer == "Y" || answer == "yes";
        };
      }
      st = ctl.Identity(cmd, std::move(confirm));
    }
    else if (absl::StartsWith(cmd, "job ")) st = ctl.Job(cmd);
    else if (absl::StartsWith(cmd, "user ")) st = ctl.User(cmd);
    else if (cmd == "audit" || cmd == "audit verify") st = ctl.Audit(cmd);
    else if (absl::StartsWith(cmd, "deploy ")) st = ctl.Deploy(cmd, &out == &std::cout && isatty(1));
    else if (absl::StartsWith(cmd, "artifact ")) st = ctl.Artifact(cmd, &err == &std::cerr && isatty(2) && !f.json ? &err : nullptr);
    else st = ctl.Metrics();
  }
  if (!st.ok()) {
    err << "error: " << EscapeForDisplay(Hint(st, ctl.collector()), /*multiline=*/true) << "\n";
    return st.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace steward::ctl
