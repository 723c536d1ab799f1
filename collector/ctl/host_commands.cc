#include "collector/ctl/host_commands.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/ctl/metrics_view.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/grpc/status_convert.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

constexpr size_t kMinPrefix = 4;

template <typename Req, typename Resp, typename Method>
absl::Status Call(v1::AdminService::Stub& stub, Method method, const Req& req, Resp* resp, absl::Duration timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return FromGrpcStatus((stub.*method)(&ctx, req, resp));
}

absl::Status NeedArgs(const HostOptions& o, const std::string& cmd, size_t min, size_t max,
                      const std::string& usage) {
  if (o.args.size() < min || o.args.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat("usage: stewardctl ", cmd, " ", usage));
  }
  return absl::OkStatus();
}

std::string Time(int64_t unix_seconds) {
  return unix_seconds > 0 ? FormatRfc3339(absl::FromUnixSeconds(unix_seconds)) : "";
}

std::string TokenState(const v1::EnrollmentToken& t, absl::Time now) {
  if (t.revoked()) return "revoked";
  if (absl::ToUnixSeconds(now) >= t.expires_unix()) return "expired";
  if (t.used() >= t.max_uses()) return "used up";
  return "active";
}

void LabelsObject(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Label>& labels) {
  w.BeginObject();
  for (const auto& l : labels) w.Key(l.name()).String(l.value());
  w.EndObject();
}

}  // namespace

absl::StatusOr<std::string> ResolveHost(v1::AdminService::Stub& stub, const std::string& text,
                                        absl::Duration timeout) {
  if (text.empty()) return absl::InvalidArgumentError("HOST is empty: give an agent id ('stewardctl hosts')");
  v1::ListHostsResponse hosts;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts, timeout));
  std::vector<std::string> matches;
  for (const v1::Host& h : hosts.hosts()) {
    if (h.agent_id() == text) return text;
    if (absl::StartsWith(h.agent_id(), text)) matches.push_back(h.agent_id());
  }
  if (matches.size() == 1 && text.size() >= kMinPrefix) return matches[0];
  if (matches.size() > 1 && text.size() >= kMinPrefix) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' matches ", matches.size(),
                                                   " hosts (", absl::StrJoin(matches, ", "),
                                                   "): give more of the agent id"));
  }
  if (!matches.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is too short: give at least ", kMinPrefix,
                                                   " characters of the agent id, or all of it"));
  }
  return absl::NotFoundError(absl::StrCat("no host with agent id '", text,
                                          "' (nor one starting with it); 'stewardctl hosts' lists the agent ids"));
}

absl::Status HostSetDisabled(v1::AdminService::Stub& stub, const HostOptions& o, bool disabled, std::ostream& out) {
  const std::string cmd = disabled ? "hosts disable" : "hosts enable";
  RETURN_IF_ERROR(NeedArgs(o, cmd, 1, 1, "HOST"));
  ASSIGN_OR_RETURN(std::string id, ResolveHost(stub, o.args[0], o.timeout));
  v1::SetHostDisabledRequest req;
  req.set_agent_id(id);
  req.set_disabled(disabled);
  v1::SetHostDisabledResponse resp;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::SetHostDisabled, req, &resp, o.timeout));
  if (o.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("agent_id").String(id)
        .Key("disabled").Bool(disabled)
        .Key("changed").Bool(resp.changed())
        .Key("closed_sessions").Uint(resp.closed_sessions())
        .EndObject();
    out << w.str() << "\n";
  } else if (disabled) {
    out << "host " << id << (resp.changed() ? " disabled" : " was already disabled")
        << (resp.closed_sessions() > 0 ? "; its open session was closed" : "")
        << "; its connections, artifact downloads and job results are refused until 'stewardctl hosts enable "
        << id << "'\n";
  } else {
    out << "host " << id << (resp.changed() ? " enabled; it is let in at its next connection attempt"
                                            : " was not disabled")
        << "\n";
  }
  return absl::OkStatus();
}

absl::Status HostRemove(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out) {
  RETURN_IF_ERROR(NeedArgs(o, "hosts rm", 1, 1, "HOST [--yes]"));
  ASSIGN_OR_RETURN(std::string id, ResolveHost(stub, o.args[0], o.timeout));
  if (!o.yes) {
    if (!o.confirm) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hosts rm deletes the data of host ", id, " and there is no terminal to confirm it on: add --yes"));
    }
    if (!o.confirm(absl::StrCat("Remove host ", id,
                                "? Its inventory, change log, check states, services and jobs are deleted and its "
                                "certificate is refused (time series stay until retention). [y/N] "))) {
      return absl::CancelledError(absl::StrCat("host ", id, " not removed"));
    }
  }
  v1::RemoveHostRequest req;
  req.set_agent_id(id);
  v1::RemoveHostResponse resp;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::RemoveHost, req, &resp, o.timeout));
  if (o.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("agent_id").String(id)
        .Key("hostname").String(resp.hostname())
        .Key("closed_sessions").Uint(resp.closed_sessions())
        .EndObject();
    out << w.str() << "\n";
  } else {
    out << "host " << id << " ('" << resp.hostname()
        << "') removed; its certificate is refused from now on. Its time series stay until retention drops "
           "them. To bring the machine back, enroll it again with a new token\n";
  }
  return absl::OkStatus();
}

absl::Status HostRenew(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out) {
  RETURN_IF_ERROR(NeedArgs(o, "hosts renew", 1, 1, "HOST [--ttl 1d]"));
  ASSIGN_OR_RETURN(std::string id, ResolveHost(stub, o.args[0], o.timeout));
  v1::RenewHostRequest req;
  req.set_agent_id(id);
  if (!o.ttl.empty()) {
    ASSIGN_OR_RETURN(absl::Duration ttl, ParseHumanDuration(o.ttl));
    if (ttl < absl::Seconds(1)) return absl::InvalidArgumentError("--ttl must be at least 1s");
    req.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  }
  v1::RenewHostResponse resp;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::RenewHost, req, &resp, o.timeout));
  if (o.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("agent_id").String(id)
        .Key("token").String(resp.token())
        .Key("token_id").String(resp.token_id())
        .Key("expires").String(Time(resp.expires_unix()))
        .EndObject();
    out << w.str() << "\n";
  } else {
    out << resp.token() << "\n";  // alone, so `$(stewardctl hosts renew ID)` works
  }
  return absl::OkStatus();
}

namespace {

// Sends `req` (its set/remove filled in) for the host o.args[0] and prints
// the host's labels after the change.
absl::Status UpdateLabels(v1::AdminService::Stub& stub, const HostOptions& o, v1::UpdateHostLabelsRequest req,
                          bool say_pushed, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string id, ResolveHost(stub, o.args[0], o.timeout));
  req.set_agent_id(id);
  v1::UpdateHostLabelsResponse resp;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::UpdateHostLabels, req, &resp, o.timeout));
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("agent_id").String(id).Key("labels");
    LabelsObject(w, resp.labels());
    w.Key("pushed").Bool(resp.pushed()).EndObject();
    out << w.str() << "\n";
  } else {
    out << "host " << id << " labels: " << (resp.labels().empty() ? "(none)" : LabelsText(resp.labels()))
        << (say_pushed && resp.pushed() ? " (its session has them now)" : "") << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HostLabelSet(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out) {
  RETURN_IF_ERROR(NeedArgs(o, "hosts label set", 2, 64, "HOST KEY=VALUE..."));
  v1::UpdateHostLabelsRequest req;
  for (size_t i = 1; i < o.args.size(); ++i) {
    const std::string& kv = o.args[i];
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", kv, "' must look like KEY=VALUE"));
    }
    v1::Label* l = req.add_set();
    l->set_name(kv.substr(0, eq));
    l->set_value(kv.substr(eq + 1));
  }
  return UpdateLabels(stub, o, std::move(req), /*say_pushed=*/true, out);
}

absl::Status HostLabelRm(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out) {
  RETURN_IF_ERROR(NeedArgs(o, "hosts label rm", 2, 64, "HOST KEY..."));
  v1::UpdateHostLabelsRequest req;
  for (size_t i = 1; i < o.args.size(); ++i) {
    if (o.args[i].find('=') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", o.args[i], "': give only the KEY to remove"));
    }
    req.add_remove(o.args[i]);
  }
  return UpdateLabels(stub, o, std::move(req), /*say_pushed=*/false, out);
}

absl::Status TokenList(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out) {
  RETURN_IF_ERROR(NeedArgs(o, "token list", 0, 0, ""));
  v1::ListEnrollmentTokensResponse resp;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::ListEnrollmentTokens, v1::ListEnrollmentTokensRequest(), &resp,
                       o.timeout));
  const absl::Time now = absl::Now();
  if (o.json) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& t : resp.tokens()) {
      w.BeginObject()
          .Key("token_id").String(t.token_id())
          .Key("created").String(Time(t.created_unix()))
          .Key("expires").String(Time(t.expires_unix()))
          .Key("used").Uint(t.used())
          .Key("max_uses").Uint(t.max_uses())
          .Key("labels");
      LabelsObject(w, t.labels());
      w.Key("revoked").Bool(t.revoked())
          .Key("revoked_at").String(Time(t.revoked_unix()))
          .Key("renews_agent").String(t.agent_id())
          .Key("state").String(TokenState(t, now))
          .EndObject();
    }
    w.EndArray();
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"TOKEN ID", "CREATED", "EXPIRES", "USES", "STATE", "LABELS", "RENEWS"});
  for (const auto& tok : resp.tokens()) {
    t.AddRow({tok.token_id(), Time(tok.created_unix()), Time(tok.expires_unix()),
              absl::StrCat(tok.used(), "/", tok.max_uses()), TokenState(tok, now),
              tok.labels().empty() ? "-" : LabelsText(tok.labels()), tok.agent_id().empty() ? "-" : tok.agent_id()});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no enrollment tokens: 'stewardctl token create')\n";
  return absl::OkStatus();
}

absl::Status TokenRevoke(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out) {
  RETURN_IF_ERROR(NeedArgs(o, "token revoke", 1, 1, "TOKEN_ID"));
  v1::RevokeEnrollmentTokenRequest req;
  req.set_token_id(o.args[0]);
  v1::RevokeEnrollmentTokenResponse resp;
  RETURN_IF_ERROR(Call(stub, &v1::AdminService::Stub::RevokeEnrollmentToken, req, &resp, o.timeout));
  if (o.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("token_id").String(resp.token().token_id())
        .Key("revoked_at").String(Time(resp.token().revoked_unix()))
        .EndObject();
    out << w.str() << "\n";
  } else {
    out << "token " << resp.token().token_id() << " revoked; enrollments with it are refused (agents it enrolled "
        << "stay: 'stewardctl hosts disable HOST' cuts one off)\n";
  }
  return absl::OkStatus();
}

}  // namespace steward::ctl
