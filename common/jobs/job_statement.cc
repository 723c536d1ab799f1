#include "common/jobs/job_statement.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/crypto.h"

namespace steward {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

std::string Escape(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < '!' || u > '~' || c == '%') {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not canonical
}

absl::StatusOr<std::string> Unescape(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return absl::InvalidArgumentError("a '%' escape is cut short");
    const int a = HexDigit(v[i + 1]), b = HexDigit(v[i + 2]);
    if (a < 0 || b < 0)
      return absl::InvalidArgumentError("a '%' escape is not two upper-case hex digits");
    out += static_cast<char>(a * 16 + b);
    i += 2;
  }
  return out;
}

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string Utc(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// "action name(param=value, ...)" for messages, values cut short.
std::string Describe(absl::string_view action, const JobParams& params) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) parts.push_back(absl::StrCat(k, "=", Escape(v.substr(0, 60))));
  return absl::StrCat(action, "(", absl::StrJoin(parts, ", "), ")");
}

}  // namespace

absl::Status CheckJobStatementFields(const JobStatement& s) {
  auto bad = [](absl::string_view what) { return absl::InvalidArgumentError(what); };
  if (s.id.size() != 32 || !IsLowerHex(s.id)) return bad("id must be 32 lower-case hex digits");
  if (s.issued_ms <= 0) return bad("issued must be a positive Unix time in milliseconds");
  if (s.expires_ms <= s.issued_ms) return bad("expires must be after issued");
  if (s.expires_ms - s.issued_ms > kMaxStatementLifetimeMs)
    return bad("a statement is valid for at most 31 days");
  if (s.agents.empty()) return bad("a statement names at least one agent");
  if (s.agents.size() > kMaxStatementAgents)
    return bad(absl::StrCat("at most ", kMaxStatementAgents, " agents"));
  for (size_t i = 0; i < s.agents.size(); ++i) {
    if (s.agents[i].empty() || s.agents[i].size() > 128)
      return bad("an agent id is empty or longer than 128 bytes");
    if (i > 0 && !(s.agents[i - 1] < s.agents[i]))
      return bad("agents must be sorted, without duplicates");
  }
  if (FindJobKind(s.action) == nullptr)
    return bad(absl::StrCat("action '", Escape(s.action.substr(0, 40)), "' is no job kind"));
  for (const auto& [k, v] : s.params) {
    if (k.empty() || k.size() > 64 || Escape(k) != k || absl::StrContains(k, '='))
      return bad("a parameter name is malformed");
  }
  if (s.attempts < 1 || s.attempts > kMaxStatementAttempts) {
    return bad(absl::StrCat("attempts must be from 1 to ", kMaxStatementAttempts));
  }
  return absl::OkStatus();
}

std::string EncodeJobStatement(const JobStatement& s) {
  std::string out = absl::StrCat(kJobStatementTag, "\nid=", s.id, "\nissued=", s.issued_ms,
                                 "\nexpires=", s.expires_ms, "\n");
  for (const std::string& a : s.agents) absl::StrAppend(&out, "agent=", Escape(a), "\n");
  absl::StrAppend(&out, "action=", s.action, "\n");
  for (const auto& [k, v] : s.params) absl::StrAppend(&out, "param.", k, "=", Escape(v), "\n");
  absl::StrAppend(&out, "rollback=", s.may_roll_back ? "yes" : "no", "\nattempts=", s.attempts,
                  "\n");
  return out;
}

absl::StatusOr<JobStatement> ParseJobStatement(absl::string_view text) {
  if (text.size() > kMaxStatementBytes)
    return absl::InvalidArgumentError("the statement is larger than 8 MiB");
  if (!absl::EndsWith(text, "\n"))
    return absl::InvalidArgumentError("the statement does not end with a line break");
  std::vector<absl::string_view> lines = absl::StrSplit(text.substr(0, text.size() - 1), '\n');
  size_t at = 0;
  auto fail = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("statement line ", at + 1, ": ", what));
  };
  if (lines.empty() || lines[0] != kJobStatementTag) {
    return absl::InvalidArgumentError(
        absl::StrCat("the statement does not start with ", kJobStatementTag));
  }
  ++at;
  // The value of the next line if its key is `key`.
  auto take = [&](absl::string_view key, absl::string_view* value) {
    if (at >= lines.size()) return false;
    const size_t eq = lines[at].find('=');
    if (eq == absl::string_view::npos || lines[at].substr(0, eq) != key) return false;
    *value = lines[at].substr(eq + 1);
    ++at;
    return true;
  };
  JobStatement s;
  absl::string_view v;
  if (!take("id", &v)) return fail("expected id=");
  s.id = std::string(v);
  if (!take("issued", &v) || !absl::SimpleAtoi(v, &s.issued_ms))
    return fail("expected issued=<Unix ms>");
  if (!take("expires", &v) || !absl::SimpleAtoi(v, &s.expires_ms))
    return fail("expected expires=<Unix ms>");
  while (take("agent", &v)) {
    if (s.agents.size() >= kMaxStatementAgents) return fail("too many agents");
    absl::StatusOr<std::string> id = Unescape(v);
    if (!id.ok()) return fail(id.status().message());
    s.agents.push_back(*std::move(id));
  }
  if (!take("action", &v)) return fail("expected agent= or action=");
  s.action = std::string(v);
  while (at < lines.size() && absl::StartsWith(lines[at], "param.")) {
    const size_t eq = lines[at].find('=');
    if (eq == absl::string_view::npos) return fail("a parameter without '='");
    absl::StatusOr<std::string> value = Unescape(lines[at].substr(eq + 1));
    if (!value.ok()) return fail(value.status().message());
    s.params.emplace_back(std::string(lines[at].substr(6, eq - 6)), *std::move(value));
    ++at;
  }
  if (!take("rollback", &v) || (v != "yes" && v != "no"))
    return fail("expected rollback=yes or rollback=no");
  s.may_roll_back = v == "yes";
  if (!take("attempts", &v) || !absl::SimpleAtoi(v, &s.attempts))
    return fail("expected attempts=<count>");
  if (at != lines.size()) return fail("unexpected line after attempts=");
  if (absl::Status st = CheckJobStatementFields(s); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("statement: ", st.message()));
  }
  // One spelling only (no "+1", no leading zeros, no lower-case escapes).
  if (EncodeJobStatement(s) != text)
    return absl::InvalidArgumentError("the statement is not in canonical form");
  return s;
}

absl::StatusOr<JobStatement> StatementForAction(const v1::JobSpec& spec) {
  const JobKind* kind = FindJobKind(spec.action_case());
  if (kind == nullptr) return absl::InvalidArgumentError("the job has no action to sign");
  JobStatement s;
  s.id = RandomHex(16);
  s.action = kind->name;
  s.params = kind->params(spec);
  return s;
}

v1::JobAuthorization SignJobStatement(const JobStatement& s, const Ed25519PrivateKey& key) {
  v1::JobAuthorization auth;
  auth.set_statement(EncodeJobStatement(s));
  v1::ArtifactSignature* sig = auth.add_signatures();
  sig->set_public_key(key.public_key().raw());
  sig->set_signature(key.Sign(auth.statement()));
  sig->set_key_id(key.public_key().key_id());
  return auth;
}

// The signed parameters cover the job's: the same, but for the kind's open
// parameter, which the statement may leave empty (a rollout pins the apt
// version its canary got for the later waves).
bool ParamsCovered(const JobKind& kind, const JobParams& signed_params, const JobParams& params) {
  if (signed_params.size() != params.size()) return false;
  for (size_t i = 0; i < params.size(); ++i) {
    if (signed_params[i].first != params[i].first) return false;
    const bool open = kind.open_param != nullptr && params[i].first == kind.open_param &&
                      signed_params[i].second.empty();
    if (signed_params[i].second != params[i].second && !open) return false;
  }
  return true;
}

absl::StatusOr<StatementUse> MatchJobToStatement(const JobStatement& s, const v1::JobSpec& spec) {
  const JobKind* kind = FindJobKind(spec.action_case());
  if (kind == nullptr) return absl::PermissionDeniedError("the job has no action");
  const JobParams params = kind->params(spec);
  if (s.action == kind->name && ParamsCovered(*kind, s.params, params)) {
    if (spec.rollback_on_failure() && !s.may_roll_back) {
      return absl::PermissionDeniedError(
          "the job asks for rollback_on_failure, which its signed statement does not allow "
          "(rollback=no)");
    }
    return StatementUse::kChange;
  }
  // A rollback the collector starts on its own (failed health gate): covered
  // by the change's statement when that allows undoing it; the agent checks
  // that the job it undoes ran under this statement.
  if (spec.has_rollback() && s.action != kind->name) {
    if (!s.may_roll_back) {
      return absl::PermissionDeniedError(absl::StrCat("a rollback under a signed statement of ",
                                                      s.action, " that does not allow rollbacks"));
    }
    return StatementUse::kRollbackOfChange;
  }
  return absl::PermissionDeniedError(absl::StrCat("the job (", Describe(kind->name, params),
                                                  ") is not what was signed (",
                                                  Describe(s.action, s.params), ")"));
}

absl::StatusOr<AuthorizedJob> CheckJobAuthorization(const v1::JobSpec& spec,
                                                    absl::string_view agent_id,
                                                    const std::vector<Ed25519PublicKey>& trusted,
                                                    int64_t now_ms) {
  const std::string job = absl::StrCat("job ", spec.job_id().substr(0, 128));
  if (trusted.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(job,
                     " refused: this agent trusts no publisher key (--trusted-key FILE.pub), so it "
                     "runs no job that "
                     "changes the host"));
  }
  if (!spec.has_authorization() || spec.authorization().statement().empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(job,
                     " refused: it carries no signed statement (create it with stewardctl job run "
                     "or deploy create "
                     "--sign-key, with a publisher key this agent trusts)"));
  }
  const v1::JobAuthorization& auth = spec.authorization();
  std::string key_id;
  std::vector<std::string> untrusted;
  bool failed = false;
  for (const v1::ArtifactSignature& sig : auth.signatures()) {
    bool known = false;
    for (const Ed25519PublicKey& key : trusted) {
      if (key.raw() != sig.public_key()) continue;
      known = true;
      if (key.Verify(auth.statement(), sig.signature())) {
        key_id = key.key_id();
      } else {
        failed = true;
      }
    }
    if (!known) {
      absl::StatusOr<Ed25519PublicKey> k = Ed25519PublicKey::FromRaw(sig.public_key());
      untrusted.push_back(k.ok() ? k->key_id() : "(malformed key)");
    }
    if (!key_id.empty()) break;
  }
  if (key_id.empty()) {
    if (failed) {
      return absl::PermissionDeniedError(absl::StrCat(
          job,
          " refused: the signature by a trusted key does not verify (the statement was changed "
          "after signing)"));
    }
    return absl::PermissionDeniedError(absl::StrCat(
        job, " refused: its statement is ",
        untrusted.empty() ? "not signed"
                          : absl::StrCat("signed only by keys this agent does not trust: ",
                                         absl::StrJoin(untrusted, ", "))));
  }
  absl::StatusOr<JobStatement> s = ParseJobStatement(auth.statement());
  if (!s.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat(job, " refused: its signed statement cannot be read: ", s.status().message()));
  }
  if (now_ms >= s->expires_ms) {
    return absl::PermissionDeniedError(absl::StrCat(job, " refused: its signed statement ", s->id,
                                                    " expired at ", Utc(s->expires_ms)));
  }
  if (!std::binary_search(s->agents.begin(), s->agents.end(), std::string(agent_id))) {
    return absl::PermissionDeniedError(
        absl::StrCat(job, " refused: its signed statement ", s->id, " is not for this agent (",
                     agent_id, "); it names ", s->agents.size(), " other agent(s)"));
  }
  absl::StatusOr<StatementUse> use = MatchJobToStatement(*s, spec);
  if (!use.ok())
    return absl::PermissionDeniedError(absl::StrCat(job, " refused: ", use.status().message()));
  return AuthorizedJob{*std::move(s), *use, key_id};
}

absl::Status CheckJobSignedFor(const v1::JobSpec& spec, absl::string_view agent_id,
                               int64_t now_ms) {
  const JobKind* kind = FindJobKind(spec.action_case());
  if (kind == nullptr || !kind->changes_host) return absl::OkStatus();
  if (!spec.has_authorization() || spec.authorization().statement().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("a ", kind->name,
                     " job changes the host and must carry a statement signed by a publisher key "
                     "(stewardctl --sign-key FILE.key); every agent refuses it otherwise"));
  }
  std::vector<Ed25519PublicKey> signers;
  for (const v1::ArtifactSignature& sig : spec.authorization().signatures()) {
    absl::StatusOr<Ed25519PublicKey> k = Ed25519PublicKey::FromRaw(sig.public_key());
    if (k.ok()) signers.push_back(*std::move(k));
  }
  if (signers.empty())
    return absl::InvalidArgumentError("the job's statement carries no readable signature");
  absl::StatusOr<AuthorizedJob> checked = CheckJobAuthorization(spec, agent_id, signers, now_ms);
  if (!checked.ok()) return absl::InvalidArgumentError(checked.status().message());
  return absl::OkStatus();
}

}  // namespace steward
