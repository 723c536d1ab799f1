// stewardctl hosts: the enrolled hosts (or those a target expression
// selects), and what can be done to one host's identity: disable, enable,
// rm, renew, label set|rm. HOST is an agent id, a unique prefix of at least
// 4 characters, or a unique hostname.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "collector/ctl/arg_text.h"
#include "collector/ctl/command.h"
#include "collector/ctl/metrics_view.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/json_writer.h"
#include "common/status_macros.h"
#include "common/targeting/target_expr.h"

namespace steward::ctl {
namespace {

// hosts --pending: machines given a token that never enrolled with it.
absl::Status PendingList(CommandContext& c) {
  v1::ListPendingMachinesResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListPendingMachines, v1::ListPendingMachinesRequest(), &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& m : resp.machines()) {
      const auto& t = m.token();
      w.BeginObject()
          .Key("machine").String(t.machine())
          .Key("token_id").String(t.token_id())
          .Key("given").String(UnixTime(t.created_unix()))
          .Key("expires").String(UnixTime(t.expires_unix()))
          .Key("token_usable").Bool(!m.token_unusable())
          .Key("fetches").Uint(t.fetches())
          .Key("fetched_at").String(UnixTime(t.fetched_unix()))
          .Key("fetched_from").String(t.fetched_from())
          .Key("fetched_hostname").String(t.fetched_hostname())
          .EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"MACHINE", "TOKEN ID", "GIVEN", "TOKEN", "DOWNLOADED", "FROM"});
  for (const auto& m : resp.machines()) {
    const auto& tok = m.token();
    std::string machine = !tok.machine().empty() ? tok.machine()
                          : !tok.fetched_hostname().empty() ? tok.fetched_hostname() : "?";
    t.AddRow({machine, tok.token_id(), UnixTime(tok.created_unix()),
              m.token_unusable() ? (tok.revoked() ? "revoked" : "expired") : "usable",
              tok.fetches() == 0 ? "never" : UnixTime(tok.fetched_unix()),
              tok.fetches() == 0 ? "-"
                                 : (tok.fetched_hostname().empty() ? tok.fetched_from()
                                                                   : absl::StrCat(tok.fetched_hostname(), " (",
                                                                                  tok.fetched_from(), ")"))});
  }
  c.out() << t.Render();
  if (t.size() == 0) {
    c.out() << "(no pending machines: every machine given a token has enrolled)\n";
  } else {
    c.out() << "A machine whose token expired needs a new one: 'stewardctl install' again, or 'stewardctl token "
               "create --for MACHINE'.\n";
  }
  return absl::OkStatus();
}

absl::Status HostsList(CommandContext& c) {
  if (c.Bool("pending")) {
    if (!c.Get("where").empty()) return absl::InvalidArgumentError("--pending lists machines not enrolled: no --where");
    return PendingList(c);
  }
  v1::ListHostsRequest req;
  if (!c.Get("where").empty()) {
    // Checked here first, so a typo is shown under the expression
    // without a round trip; the collector checks again.
    if (auto e = TargetExpr::Parse(c.Get("where")); !e.ok()) return PointAt(e.status(), c.Get("where"));
    req.set_where(c.Get("where"));
  }
  v1::ListHostsResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListHosts, req, &resp));
  absl::Time now = absl::Now();
  if (c.json()) {
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
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"AGENT ID", "HOSTNAME", "OS", "AGENT", "LAST SEEN", "CONNECTED", "PACKAGES", "LABELS"});
  for (const auto& h : resp.hosts()) {
    t.AddRow({h.agent_id(), h.facts().hostname(), h.facts().os_name(), h.agent_version(),
              HumanAge(h.last_seen_ms(), now), h.disabled() ? "DISABLED" : h.connected() ? "yes" : "no",
              absl::StrCat(h.software_count()),
              LabelsText(h.labels())});
  }
  c.out() << t.Render();
  if (t.size() == 0 && !resp.where().empty()) {
    c.out() << "(no host matches " << resp.where() << ")\n";
  } else if (t.size() == 0) {
    c.out() << "(no hosts enrolled yet: create a token with 'stewardctl token create')\n";
  }
  return absl::OkStatus();
}


absl::Status HostSetDisabled(CommandContext& c, bool disabled) {
  const std::string cmd = disabled ? "hosts disable" : "hosts enable";
  ASSIGN_OR_RETURN(std::string id, c.ResolveHost(c.args()[0]));
  v1::SetHostDisabledRequest req;
  req.set_agent_id(id);
  req.set_disabled(disabled);
  v1::SetHostDisabledResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::SetHostDisabled, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("agent_id").String(id)
        .Key("disabled").Bool(disabled)
        .Key("changed").Bool(resp.changed())
        .Key("closed_sessions").Uint(resp.closed_sessions())
        .EndObject();
    c.out() << w.str() << "\n";
  } else if (disabled) {
    c.out() << "host " << id << (resp.changed() ? " disabled" : " was already disabled")
        << (resp.closed_sessions() > 0 ? "; its open session was closed" : "")
        << "; its connections, artifact downloads and job results are refused until 'stewardctl hosts enable "
        << id << "'\n";
  } else {
    c.out() << "host " << id << (resp.changed() ? " enabled; it is let in at its next connection attempt"
                                            : " was not disabled")
        << "\n";
  }
  return absl::OkStatus();
}

absl::Status HostRemove(CommandContext& c) {
  ASSIGN_OR_RETURN(std::string id, c.ResolveHost(c.args()[0]));
  if (!c.Bool("yes")) {
    if (!c.confirm) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hosts rm deletes the data of host ", id, " and there is no terminal to confirm it on: add --yes"));
    }
    if (!c.confirm(absl::StrCat("Remove host ", id,
                                "? Its inventory, change log, check states, services and jobs are deleted and its "
                                "certificate is refused (time series stay until retention). [y/N] "))) {
      return absl::CancelledError(absl::StrCat("host ", id, " not removed"));
    }
  }
  v1::RemoveHostRequest req;
  req.set_agent_id(id);
  v1::RemoveHostResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::RemoveHost, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("agent_id").String(id)
        .Key("hostname").String(resp.hostname())
        .Key("closed_sessions").Uint(resp.closed_sessions())
        .EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << "host " << id << " ('" << resp.hostname()
        << "') removed; its certificate is refused from now on. Its time series stay until retention drops "
           "them. To bring the machine back, enroll it again with a new token\n";
  }
  return absl::OkStatus();
}

absl::Status HostRenew(CommandContext& c) {
  ASSIGN_OR_RETURN(std::string id, c.ResolveHost(c.args()[0]));
  v1::RenewHostRequest req;
  req.set_agent_id(id);
  if (c.Has("ttl")) {
    absl::Duration ttl = c.Duration("ttl");
    if (ttl < absl::Seconds(1)) return absl::InvalidArgumentError("--ttl must be at least 1s");
    req.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  }
  v1::RenewHostResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::RenewHost, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("agent_id").String(id)
        .Key("token").String(resp.token())
        .Key("token_id").String(resp.token_id())
        .Key("expires").String(UnixTime(resp.expires_unix()))
        .EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << resp.token() << "\n";  // alone, so `$(stewardctl hosts renew ID)` works
  }
  return absl::OkStatus();
}


// Sends `req` (its set/remove filled in) for the host c.args()[0] and prints
// the host's labels after the change.
absl::Status UpdateLabels(CommandContext& c, v1::UpdateHostLabelsRequest req, bool say_pushed) {
  ASSIGN_OR_RETURN(std::string id, c.ResolveHost(c.args()[0]));
  req.set_agent_id(id);
  v1::UpdateHostLabelsResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::UpdateHostLabels, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject().Key("agent_id").String(id).Key("labels");
    LabelsJson(w, resp.labels());
    w.Key("pushed").Bool(resp.pushed()).EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << "host " << id << " labels: " << (resp.labels().empty() ? "(none)" : LabelsText(resp.labels()))
        << (say_pushed && resp.pushed() ? " (its session has them now)" : "") << "\n";
  }
  return absl::OkStatus();
}


absl::Status HostLabelSet(CommandContext& c) {
  v1::UpdateHostLabelsRequest req;
  for (size_t i = 1; i < c.args().size(); ++i) {
    const std::string& kv = c.args()[i];
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", kv, "' must look like KEY=VALUE"));
    }
    v1::Label* l = req.add_set();
    l->set_name(kv.substr(0, eq));
    l->set_value(kv.substr(eq + 1));
  }
  return UpdateLabels(c, std::move(req), /*say_pushed=*/true);
}

absl::Status HostLabelRm(CommandContext& c) {
  v1::UpdateHostLabelsRequest req;
  for (size_t i = 1; i < c.args().size(); ++i) {
    if (c.args()[i].find('=') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", c.args()[i], "': give only the KEY to remove"));
    }
    req.add_remove(c.args()[i]);
  }
  return UpdateLabels(c, std::move(req), /*say_pushed=*/false);
}


}  // namespace

CommandNoun HostsNoun() {
  const std::string kHostArg = "HOST is an agent id, a unique prefix of 4+ characters of one, or a unique hostname.";
  return {"hosts", "enrolled hosts and their identities",
          {
              {.path = "hosts",
               .summary = "list enrolled hosts, or those a target expression selects",
               .details = "A target expression combines terms with and, or, not and ( ):\n"
                          "  host:ID  label:KEY=VALUE  os:NAME  package:NAME  package:NAME<VERSION (also <= > >= =)\n"
                          "(docs/deployments.md, \"Targets\").",
               .flags = {TextFlag("where", "EXPR", "only the hosts this target expression selects"),
                         BoolFlag("pending",
                                  "machines given a token (install, token create --for, or a download with it) that "
                                  "never enrolled; JSON keys machine, token_id, given, expires, token_usable, "
                                  "fetches, fetched_at, fetched_from, fetched_hostname")},
               .examples = {"hosts --where 'label:role=web and package:openssl<3.0.13'", "hosts --pending"},
               .json_keys = {"agent_id", "hostname", "os", "agent_version", "last_seen", "connected", "disabled",
                             "labels", "software_count"},
               .run = HostsList},
              {.path = "hosts disable",
               .args_usage = "HOST",
               .min_args = 1,
               .max_args = 1,
               .summary = "close its session; refuse its connections, downloads and job results",
               .details = kHostArg,
               .examples = {"hosts disable web1"},
               .json_keys = {"agent_id", "disabled", "changed", "closed_sessions"},
               .run = [](CommandContext& c) { return HostSetDisabled(c, true); }},
              {.path = "hosts enable",
               .args_usage = "HOST",
               .min_args = 1,
               .max_args = 1,
               .summary = "let a disabled host in again",
               .details = kHostArg,
               .examples = {"hosts enable web1"},
               .json_keys = {"agent_id", "disabled", "changed", "closed_sessions"},
               .run = [](CommandContext& c) { return HostSetDisabled(c, false); }},
              {.path = "hosts rm",
               .args_usage = "HOST",
               .min_args = 1,
               .max_args = 1,
               .summary = "forget a host (inventory, checks, services, jobs); refuse its certificate",
               .details = kHostArg + "\nAsks first on a terminal; scripts pass --yes.",
               .flags = {BoolFlag("yes", "do not ask")},
               .examples = {"hosts rm web1 --yes"},
               .json_keys = {"agent_id", "hostname", "closed_sessions"},
               .run = HostRemove},
              {.path = "hosts renew",
               .args_usage = "HOST",
               .min_args = 1,
               .max_args = 1,
               .summary = "one-use token that re-enrolls HOST keeping its id and data",
               .details = kHostArg + "\nFor a certificate that expired or is to be replaced.",
               .flags = {DurationFlag("ttl", "how long the token can be used", "1d")},
               .examples = {"hosts renew web1 --ttl 2h"},
               .json_keys = {"agent_id", "token", "token_id", "expires"},
               .run = HostRenew},
              {.path = "hosts label set",
               .args_usage = "HOST KEY=VALUE...",
               .min_args = 2,
               .max_args = 65,
               .summary = "set labels (targeting, pushed checks)",
               .details = kHostArg,
               .examples = {"hosts label set web1 role=web env=prod"},
               .json_keys = {"agent_id", "labels", "pushed"},
               .run = HostLabelSet},
              {.path = "hosts label rm",
               .args_usage = "HOST KEY...",
               .min_args = 2,
               .max_args = 65,
               .summary = "remove labels",
               .details = kHostArg,
               .examples = {"hosts label rm web1 env"},
               .json_keys = {"agent_id", "labels", "pushed"},
               .run = HostLabelRm},
          }};
}

}  // namespace steward::ctl
