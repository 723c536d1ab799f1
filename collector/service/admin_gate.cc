#include "collector/service/admin_gate.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/pki/collector_pki.h"
#include "collector/service/admin_roles.h"
#include "collector/storage/store.h"
#include "common/tls/pki.h"
#include "common/utf8.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

PeerCredential PeerCredential::Of(const grpc::CallbackServerContext& ctx) {
  PeerCredential p;
  p.address = ctx.peer();
  auto auth = ctx.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return p;
  p.verified = true;
  for (const auto& cn : auth->FindPropertyValues("x509_common_name")) {
    p.common_name.assign(cn.data(), cn.size());
    break;
  }
  for (const auto& pem : auth->FindPropertyValues("x509_pem_cert")) {
    p.cert_pem.assign(pem.data(), pem.size());
    break;
  }
  return p;
}

namespace {

// `s` cut to at most `max` bytes on a character boundary, with what was cut
// said: request fields of a refused call are not validated, and one
// record must not carry megabytes. Invalid UTF-8 (not expected: gRPC
// parsed these strings) becomes U+FFFD, as a proto string must be UTF-8 or
// the stored record would not parse again.
std::string Bounded(absl::string_view s, size_t max) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t n = Utf8SequenceLength(s, i);
    if (out.size() + std::max<size_t>(n, 3) > max) {
      absl::StrAppend(&out, "...(", s.size() - i, " more bytes)");
      break;
    }
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

constexpr size_t kMaxField = 512;
constexpr size_t kMaxMessage = 2048;

}  // namespace

AdminGate::AdminGate(const ServiceDeps& deps) : deps_(deps) {}

absl::Status AdminGate::Identify(const PeerCredential& peer, Caller* caller) const {
  if (!peer.verified) {
    return absl::UnauthenticatedError("no verified client certificate: this call needs a user or admin credential");
  }
  caller->who = peer.common_name;
  absl::string_view cn = peer.common_name;
  // The serial tells the one current certificate of a name from an older
  // one (rotated, or of a removed and re-added user) with the same CN.
  auto serial = [&] { return SerialOf(peer); };
  if (absl::StartsWith(cn, kAdminCnPrefix) && cn.size() > sizeof(kAdminCnPrefix) - 1) {
    // The bootstrap credential (DATA_DIR/admin.conf): the one certificate in
    // DATA_DIR/pki/admin.crt; a new one is issued when that file is removed.
    if (deps_.pki != nullptr) {
      absl::StatusOr<std::string> s = serial();
      if (!s.ok()) return s.status();
      if (*s != deps_.pki->admin_cert_serial()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "this ", cn, " certificate (serial ", *s,
            ") is not the collector's current bootstrap credential; use DATA_DIR/admin.conf as it is now"));
      }
    }
    caller->role = v1::ROLE_ADMIN;
    return absl::OkStatus();
  }
  if (absl::StartsWith(cn, kUserCnPrefix) && cn.size() > sizeof(kUserCnPrefix) - 1) {
    const std::string name(cn.substr(sizeof(kUserCnPrefix) - 1));
    absl::StatusOr<internal::UserRecord> user = deps_.store->GetUser(name);
    if (absl::IsNotFound(user.status())) {
      return absl::PermissionDeniedError(
          absl::StrCat("user '", name, "' does not exist (removed with 'stewardctl user rm'?)"));
    }
    if (!user.ok()) return user.status();
    absl::StatusOr<std::string> s = serial();
    if (!s.ok()) return s.status();
    if (*s != user->user().cert_serial()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "this certificate of user '", name, "' (serial ", *s,
          ") is no longer valid: it was replaced ('stewardctl user rotate'); use the new credential file"));
    }
    caller->role = user->user().role();
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the client certificate (CN '", cn, "') is not a user or admin credential"));
}

absl::StatusOr<std::string> AdminGate::SerialOf(const PeerCredential& peer) const {
  {
    absl::MutexLock lock(&serials_mu_);
    auto it = serials_.find(peer.cert_pem);
    if (it != serials_.end()) return it->second;
  }
  absl::StatusOr<CertInfo> info = InspectCert(peer.cert_pem);
  if (!info.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("the client certificate of ", peer.common_name,
                                                    " cannot be read: ", info.status().message()));
  }
  absl::MutexLock lock(&serials_mu_);
  if (serials_.size() >= kMaxCachedSerials) serials_.clear();
  serials_.emplace(peer.cert_pem, info->serial_hex);
  return info->serial_hex;
}

absl::Status AdminGate::Check(const PeerCredential& peer, absl::string_view method, Caller* caller) const {
  if (absl::Status st = Identify(peer, caller); !st.ok()) return st;
  const AdminMethod* m = FindAdminMethod(method);
  if (m == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat(method, " has no entry in the collector's role table, so nobody may call it"));
  }
  if (!RoleAllows(caller->role, m->role)) {
    return absl::PermissionDeniedError(absl::StrCat(method, " needs role ", RoleName(m->role), "; ", caller->who,
                                                    " has role ", RoleName(caller->role)));
  }
  return absl::OkStatus();
}

absl::Status AdminGate::Record(const Caller& caller, const PeerCredential& peer, absl::string_view method,
                               const google::protobuf::Message& req, const google::protobuf::Message& resp,
                               const absl::Status& outcome, bool refused) const {
  const AdminMethod* m = FindAdminMethod(method);
  if (!refused && (m == nullptr || !m->mutates)) return absl::OkStatus();
  if (!peer.verified) {
    spdlog::warn("admin call {} from {} without a client certificate refused", std::string(method), peer.address);
    return absl::OkStatus();
  }
  const absl::Time now = deps_.now();
  uint64_t unrecorded = 0;
  if (refused) {
    absl::MutexLock lock(&limiter_mu_);
    if (!limiter_.Admit(caller.who, now, &unrecorded)) return absl::OkStatus();
  }
  internal::AuditRecord rec;
  rec.set_time_ms(absl::ToUnixMillis(now));
  rec.set_unrecorded_refusals(unrecorded);
  rec.set_who(Bounded(caller.who, kMaxField));
  rec.set_role(caller.role);
  rec.set_method(Bounded(method, kMaxField));
  if (m != nullptr && m->target != nullptr) rec.set_target(Bounded(m->target(req, resp), kMaxField));
  rec.set_peer(Bounded(peer.address, kMaxField));
  rec.set_code(static_cast<int>(outcome.code()));
  rec.set_message(Bounded(outcome.message(), kMaxMessage));
  rec.set_refused(refused);
  absl::StatusOr<StoredAuditRecord> stored = deps_.store->AppendAudit(std::move(rec));
  if (!stored.ok()) {
    spdlog::error("audit record of {} by {} ({}) could not be written: {}", std::string(method), caller.who,
                  refused ? "refused" : outcome.ToString(), stored.status().ToString());
    return stored.status();
  }
  if (refused) {
    spdlog::warn("{} refused {} from {}: {}", std::string(method), caller.who, peer.address, std::string(outcome.message()));
  }
  return absl::OkStatus();
}

absl::Status AdminGate::Admit(const PeerCredential& peer, absl::string_view method,
                              const google::protobuf::Message& req, const google::protobuf::Message& resp,
                              Caller* caller) const {
  absl::Status st = Check(peer, method, caller);
  // A failed record of a refusal changes nothing: the call is refused anyway.
  if (!st.ok()) Record(*caller, peer, method, req, resp, st, /*refused=*/true).IgnoreError();
  return st;
}

absl::Status AdminGate::Finish(const Caller& caller, const PeerCredential& peer, absl::string_view method,
                               const google::protobuf::Message& req, const google::protobuf::Message& resp,
                               const absl::Status& outcome) const {
  absl::Status recorded = Record(caller, peer, method, req, resp, outcome, /*refused=*/false);
  if (recorded.ok() || !outcome.ok()) return outcome;
  return absl::InternalError(absl::StrCat(method, " took effect, but its audit record could not be written (",
                                          recorded.message(), "); see the collector's log"));
}

}  // namespace steward::collector
