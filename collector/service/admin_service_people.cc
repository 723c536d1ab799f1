// AdminService: users (personal credentials with a role) and the audit
// trail. The handlers are in admin_service.cc with the others; the role each
// needs is in admin_roles.cc (admin for all of these).
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "collector/pki/collector_pki.h"
#include "collector/service/admin_roles.h"
#include "collector/service/admin_service.h"
#include "collector/storage/store.h"
#include "common/status_macros.h"
#include "common/tls/pki.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

constexpr size_t kMaxUserName = 64;
constexpr uint32_t kDefaultAuditLimit = 1000;
constexpr uint32_t kMaxAuditLimit = 100000;

absl::Status ValidateUserName(const std::string& name) {
  auto ok_char = [](char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-'; };
  if (name.empty() || name.size() > kMaxUserName || !std::all_of(name.begin(), name.end(), ok_char) ||
      !(absl::ascii_islower(name[0]) || absl::ascii_isdigit(name[0]))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "user name '", absl::CEscape(name.substr(0, kMaxUserName)),
        "' is not valid: 1 to 64 of a-z 0-9 . _ - starting with a letter or digit"));
  }
  return absl::OkStatus();
}

// Signs `csr_pem` for `name` and fills the certificate fields of `user`.
absl::StatusOr<std::string> IssueUserCert(const CollectorPki* pki, const std::string& name,
                                          const std::string& csr_pem, v1::User* user) {
  if (pki == nullptr) return absl::UnavailableError("this collector issues no credentials");
  if (csr_pem.empty()) return absl::InvalidArgumentError("csr_pem is required (stewardctl makes it)");
  ASSIGN_OR_RETURN(std::string cert_pem, pki->SignUserCsr(csr_pem, name));
  ASSIGN_OR_RETURN(CertInfo info, InspectCert(cert_pem));
  user->set_cert_serial(info.serial_hex);
  user->set_cert_not_after_unix(info.not_after_unix);
  return cert_pem;
}

}  // namespace

absl::Status AdminServiceImpl::DoAddUser(const Caller& caller, const v1::AddUserRequest& req,
                                         v1::AddUserResponse* resp) {
  RETURN_IF_ERROR(ValidateUserName(req.name()));
  if (req.role() == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(req.role())) {
    return absl::InvalidArgumentError("a role is required: viewer, operator or admin");
  }
  // Checked before signing, so a taken name costs no certificate (CreateUser
  // checks again under the store's lock).
  if (absl::StatusOr<internal::UserRecord> existing = deps_.store->GetUser(req.name()); existing.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("user '", req.name(), "' already exists; 'stewardctl user rotate ",
                                                 req.name(), "' issues a new credential"));
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  internal::UserRecord rec;
  v1::User* user = rec.mutable_user();
  user->set_name(req.name());
  user->set_role(req.role());
  user->set_created_ms(absl::ToUnixMillis(deps_.now()));
  user->set_created_by(caller.who);
  ASSIGN_OR_RETURN(std::string cert_pem, IssueUserCert(deps_.pki, req.name(), req.csr_pem(), user));
  RETURN_IF_ERROR(deps_.store->CreateUser(rec));
  spdlog::info("user '{}' ({}) added by {}", req.name(), RoleName(req.role()), caller.who);
  *resp->mutable_user() = rec.user();
  resp->set_cert_pem(std::move(cert_pem));
  resp->set_ca_pem(deps_.pki->ca_pem());
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoRotateUser(const v1::RotateUserRequest& req, v1::RotateUserResponse* resp) {
  ASSIGN_OR_RETURN(internal::UserRecord rec, deps_.store->GetUser(req.name()));
  ASSIGN_OR_RETURN(std::string cert_pem, IssueUserCert(deps_.pki, req.name(), req.csr_pem(), rec.mutable_user()));
  rec.mutable_user()->set_rotated_ms(absl::ToUnixMillis(deps_.now()));
  RETURN_IF_ERROR(deps_.store->ReplaceUser(rec));
  spdlog::info("user '{}' has a new certificate (serial {}); the old one is refused", req.name(),
               rec.user().cert_serial());
  *resp->mutable_user() = rec.user();
  resp->set_cert_pem(std::move(cert_pem));
  resp->set_ca_pem(deps_.pki->ca_pem());
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoListAudit(const v1::ListAuditRecordsRequest& req,
                                           v1::ListAuditRecordsResponse* resp) {
  const size_t limit = std::min(req.limit() > 0 ? req.limit() : kDefaultAuditLimit, kMaxAuditLimit);
  const std::string user = req.user();
  const std::string as_user = absl::StrCat(kUserCnPrefix, user);
  auto keep = [&](const internal::AuditRecord& r) { return user.empty() || r.who() == user || r.who() == as_user; };
  bool truncated = false;
  ASSIGN_OR_RETURN(std::vector<StoredAuditRecord> records,
                   deps_.store->ListAudit(req.since_ms(), keep, limit, &truncated));
  for (StoredAuditRecord& s : records) {
    internal::AuditRecord& r = s.record;
    v1::AuditEntry* e = resp->add_records();
    e->set_seq(r.seq());
    e->set_time_ms(r.time_ms());
    e->set_who(std::move(*r.mutable_who()));
    e->set_role(r.role());
    e->set_method(std::move(*r.mutable_method()));
    e->set_target(std::move(*r.mutable_target()));
    e->set_peer(std::move(*r.mutable_peer()));
    e->set_code(r.code());
    e->set_message(std::move(*r.mutable_message()));
    e->set_refused(r.refused());
    e->set_unrecorded_refusals(r.unrecorded_refusals());
    e->set_sha256(std::move(s.sha256_hex));
    e->set_prev_sha256(absl::BytesToHexString(r.prev_sha256()));
  }
  resp->set_truncated(truncated);
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoVerifyAudit(v1::VerifyAuditResponse* resp) {
  ASSIGN_OR_RETURN(AuditVerification v, deps_.store->VerifyAudit());
  resp->set_intact(v.intact);
  resp->set_records(v.records);
  resp->set_first_bad_seq(v.first_bad_seq);
  resp->set_problem(v.problem);
  resp->set_head_sha256(v.head_sha256_hex);
  if (!v.intact) spdlog::error("audit trail verification failed: {}", v.problem);
  return absl::OkStatus();
}

}  // namespace steward::collector
