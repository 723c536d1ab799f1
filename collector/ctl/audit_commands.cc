#include "collector/ctl/audit_commands.h"
#include "collector/ctl/command.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/grpc/status_convert.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

std::string RoleText(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return "viewer";
    case v1::ROLE_OPERATOR: return "operator";
    case v1::ROLE_ADMIN: return "admin";
    default: return "-";
  }
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string Outcome(const v1::AuditEntry& e) {
  if (e.code() == 0) return "ok";
  std::string text = absl::StrCat(e.refused() ? "refused: " : "", CodeName(e.code()), ": ", e.message());
  if (e.unrecorded_refusals() > 0) {
    absl::StrAppend(&text, " (after ", e.unrecorded_refusals(), " more refusals of this caller not listed)");
  }
  return text;
}

}  // namespace

absl::Status AuditList(v1::AdminService::Stub& stub, const AuditOptions& o, std::ostream& out) {
  v1::ListAuditRecordsRequest req;
  if (!o.since.empty()) {
    ASSIGN_OR_RETURN(absl::Duration since, ParseHumanDuration(o.since));
    req.set_since_ms(absl::ToUnixMillis(absl::Now() - since));
  }
  if (!o.limit.empty()) {
    uint32_t limit = 0;
    if (!absl::SimpleAtoi(o.limit, &limit) || limit == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--limit '", o.limit, "' must be a whole number above 0"));
    }
    req.set_limit(limit);
  }
  req.set_user(o.user);
  v1::ListAuditRecordsResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ListAuditRecords(WithDeadline(&ctx, o.timeout), req, &resp)));
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("records").BeginArray();
    for (const auto& e : resp.records()) {
      w.BeginObject()
          .Key("seq").Uint(e.seq())
          .Key("time").String(FormatRfc3339(absl::FromUnixMillis(e.time_ms())))
          .Key("who").String(e.who())
          .Key("role").String(RoleText(e.role()) == "-" ? "" : RoleText(e.role()))
          .Key("method").String(e.method())
          .Key("target").String(e.target())
          .Key("peer").String(e.peer())
          .Key("code").String(CodeName(e.code()))
          .Key("message").String(e.message())
          .Key("refused").Bool(e.refused())
          .Key("unrecorded_refusals").Uint(e.unrecorded_refusals())
          .Key("sha256").String(e.sha256())
          .Key("prev_sha256").String(e.prev_sha256())
          .EndObject();
    }
    w.EndArray().Key("truncated").Bool(resp.truncated()).EndObject();
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"SEQ", "TIME", "WHO", "ROLE", "METHOD", "TARGET", "FROM", "OUTCOME"});
  for (const auto& e : resp.records()) {
    // Table escapes what a request could smuggle in (terminal escapes in a
    // check name would otherwise draw rows of their own).
    t.AddRow({absl::StrCat(e.seq()), FormatRfc3339(absl::FromUnixMillis(e.time_ms())), e.who(), RoleText(e.role()),
              e.method(), e.target(), e.peer(), Outcome(e)});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no audit records match)\n";
  if (resp.truncated()) out << "(older records left out: --limit N or --since to see them)\n";
  return absl::OkStatus();
}

absl::Status AuditVerify(v1::AdminService::Stub& stub, const AuditOptions& o, std::ostream& out) {
  v1::VerifyAuditResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(
      FromGrpcStatus(stub.VerifyAudit(WithDeadline(&ctx, o.timeout), v1::VerifyAuditRequest(), &resp)));
  if (o.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("intact").Bool(resp.intact())
        .Key("records").Uint(resp.records())
        .Key("first_bad_seq").Uint(resp.first_bad_seq())
        .Key("problem").String(resp.problem())
        .Key("head_sha256").String(resp.head_sha256())
        .EndObject();
    out << w.str() << "\n";
  } else if (resp.intact()) {
    out << "audit trail intact: " << resp.records() << " records";
    if (!resp.head_sha256().empty()) out << " (newest record's SHA-256 " << resp.head_sha256() << ")";
    out << "\n";
  }
  if (resp.intact()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("audit trail broken at record ", resp.first_bad_seq(), ": ",
                                          resp.problem(), "; the ", resp.records(),
                                          " records before it are intact"));
}

CommandNoun AuditNoun() {
  return {"audit", "who changed what, and every refusal (admin)",
          {
              {.path = "audit",
               .summary = "the audit trail: every change and every refusal",
               .flags = {DurationFlag("since", "how far back (default: from the start)"),
                         TextFlag("user", "NAME", "only this user's records"),
                         TextFlag("limit", "N", "the newest N records (default 1000)")},
               .examples = {"audit --since 24h --user alice"},
               .json_keys = {"records", "truncated", "seq", "time", "who", "method", "code", "refused"},
               .run =
                   [](CommandContext& c) {
                     AuditOptions o;
                     o.since = c.Get("since");
                     o.user = c.Get("user");
                     o.limit = c.Get("limit");
                     o.json = c.json();
                     o.timeout = c.timeout();
                     return AuditList(c.stub(), o, c.out());
                   }},
              {.path = "audit verify",
               .summary = "check the audit trail's hash chain (exit 1 if broken)",
               .examples = {"audit verify"},
               .json_keys = {"intact", "records", "first_bad_seq"},
               .run =
                   [](CommandContext& c) {
                     AuditOptions o;
                     o.json = c.json();
                     o.timeout = c.timeout();
                     return AuditVerify(c.stub(), o, c.out());
                   }},
          }};
}

}  // namespace steward::ctl
