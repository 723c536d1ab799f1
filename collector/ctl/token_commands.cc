// stewardctl token create|list|revoke: enrollment tokens, the one secret a
// new machine needs to enroll.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/ctl/arg_text.h"
#include "collector/ctl/command.h"
#include "collector/ctl/metrics_view.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

std::string TokenState(const v1::EnrollmentToken& t, absl::Time now) {
  if (!t.enrolled_as().empty()) return "not needed";  // its machine had an agent
  if (t.revoked()) return "revoked";
  if (absl::ToUnixSeconds(now) >= t.expires_unix()) return "expired";
  if (t.used() >= t.max_uses()) return "used up";
  return "active";
}

absl::Status TokenCreate(CommandContext& c) {
  v1::CreateEnrollmentTokenRequest req;
  absl::Duration ttl = c.Duration("ttl");
  if (ttl < absl::Seconds(1)) return absl::InvalidArgumentError("--ttl must be at least 1s");
  req.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  uint64_t uses = 0;
  if (!absl::SimpleAtoi(c.Get("uses"), &uses) || uses < 1 || uses > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("--uses '", c.Get("uses"), "' must be a whole number >= 1"));
  }
  req.set_max_uses(static_cast<uint32_t>(uses));
  ASSIGN_OR_RETURN(auto labels, ParseLabels(c.List("label")));
  for (auto& l : labels) *req.add_labels() = std::move(l);
  req.set_machine(c.Given("for"));
  v1::CreateEnrollmentTokenResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::CreateEnrollmentToken, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("token").String(resp.token())
        .Key("token_id").String(resp.token_id())
        .Key("expires").String(FormatRfc3339(absl::FromUnixSeconds(resp.expires_unix())))
        .EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << resp.token() << "\n";  // alone, so `$(stewardctl token create)` works
  }
  return absl::OkStatus();
}

absl::Status TokenList(CommandContext& c) {
  v1::ListEnrollmentTokensResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListEnrollmentTokens, v1::ListEnrollmentTokensRequest(), &resp));
  const absl::Time now = absl::Now();
  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& t : resp.tokens()) {
      w.BeginObject()
          .Key("token_id").String(t.token_id())
          .Key("created").String(UnixTime(t.created_unix()))
          .Key("expires").String(UnixTime(t.expires_unix()))
          .Key("used").Uint(t.used())
          .Key("max_uses").Uint(t.max_uses())
          .Key("labels");
      LabelsJson(w, t.labels());
      w.Key("revoked").Bool(t.revoked())
          .Key("revoked_at").String(UnixTime(t.revoked_unix()))
          .Key("renews_agent").String(t.agent_id())
          .Key("machine").String(t.machine())
          .Key("fetches").Uint(t.fetches())
          .Key("fetched_at").String(UnixTime(t.fetched_unix()))
          .Key("fetched_from").String(t.fetched_from())
          .Key("fetched_hostname").String(t.fetched_hostname())
          .Key("enrolled_as").String(t.enrolled_as())
          .Key("state").String(TokenState(t, now))
          .EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"TOKEN ID", "CREATED", "EXPIRES", "USES", "STATE", "MACHINE", "DOWNLOADS", "LABELS", "RENEWS"});
  for (const auto& tok : resp.tokens()) {
    t.AddRow({tok.token_id(), UnixTime(tok.created_unix()), UnixTime(tok.expires_unix()),
              absl::StrCat(tok.used(), "/", tok.max_uses()), TokenState(tok, now),
              tok.machine().empty() ? "-" : tok.machine(),
              tok.fetches() == 0 ? "-"
                                 : absl::StrCat(tok.fetches(), " (last ", tok.fetched_hostname().empty()
                                                                            ? tok.fetched_from()
                                                                            : tok.fetched_hostname(), ")"),
              tok.labels().empty() ? "-" : LabelsText(tok.labels()), tok.agent_id().empty() ? "-" : tok.agent_id()});
  }
  c.out() << t.Render();
  if (t.size() == 0) c.out() << "(no enrollment tokens: 'stewardctl token create')\n";
  return absl::OkStatus();
}

absl::Status TokenRevoke(CommandContext& c) {
  v1::RevokeEnrollmentTokenRequest req;
  req.set_token_id(c.args()[0]);
  v1::RevokeEnrollmentTokenResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::RevokeEnrollmentToken, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("token_id").String(resp.token().token_id())
        .Key("revoked_at").String(UnixTime(resp.token().revoked_unix()))
        .EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << "token " << resp.token().token_id()
            << " revoked; enrollments with it are refused (agents it enrolled stay: 'stewardctl hosts disable "
               "HOST' cuts one off)\n";
  }
  return absl::OkStatus();
}

}  // namespace

CommandNoun TokenNoun() {
  return {"token", "enrollment tokens: the secret a new machine enrolls with",
          {
              {.path = "token create",
               .summary = "create an enrollment token (printed alone, for $(...))",
               .details = "The agents that enroll with it get its labels (targeting, pushed checks). A label key\n"
                          "must be usable in a target expression (label:KEY=VALUE).",
               .flags = {DurationFlag("ttl", "how long it can be used", "1h"),
                         CountFlag("uses", "how many machines can enroll with it", "1"),
                         RepeatedFlag("label", "KEY=VALUE", "a label for the hosts it enrolls"),
                         TextFlag("for", "MACHINE",
                                  "the machine it is for: listed by 'hosts --pending' until it enrolls")},
               .examples = {"token create --ttl 1d --uses 50 --label role=web --label env=prod",
                            "token create --for db7.example.org"},
               .json_keys = {"token", "token_id", "expires"},
               .run = TokenCreate},
              {.path = "token list",
               .summary = "tokens: id, created, expires, uses, state (no secrets)",
               .examples = {"token list --json"},
               .json_keys = {"token_id", "created", "expires", "used", "max_uses", "labels", "revoked", "state"},
               .run = TokenList},
              {.path = "token revoke",
               .args_usage = "TOKEN_ID",
               .min_args = 1,
               .max_args = 1,
               .summary = "refuse every later enrollment with a token",
               .examples = {"token revoke 3f9a2c1e"},
               .json_keys = {"token_id", "revoked_at"},
               .run = TokenRevoke},
          }};
}

}  // namespace steward::ctl
