#include "collector/pki/collector_pki.h"

#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/kv_config.h"
#include "common/status_macros.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

bool LooksLikeIp(const std::string& s) {
  return !s.empty() && (s.find(':') != std::string::npos ||
                        s.find_first_not_of("0123456789.") == std::string::npos);
}

absl::StatusOr<KeyAndCert> LoadPair(const std::string& key_path, const std::string& cert_path) {
  KeyAndCert pair;
  ASSIGN_OR_RETURN(pair.key_pem, ReadFile(key_path));
  ASSIGN_OR_RETURN(pair.cert_pem, ReadFile(cert_path));
  RETURN_IF_ERROR(CheckKeyMatchesCert(pair.key_pem, pair.cert_pem));
  return pair;
}

absl::Status SavePair(const KeyAndCert& pair, const std::string& key_path,
                      const std::string& cert_path) {
  RETURN_IF_ERROR(WriteFileAtomic(key_path, pair.key_pem, 0600));
  return WriteFileAtomic(cert_path, pair.cert_pem, 0644);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CollectorPki>> CollectorPki::LoadOrCreate(
    const std::string& data_dir, const std::vector<std::string>& extra_names) {
  std::unique_ptr<CollectorPki> pki(new CollectorPki());
  pki->data_dir_ = data_dir;
  std::string pki_dir = absl::StrCat(data_dir, "/pki");
  RETURN_IF_ERROR(MakeDirs(pki_dir, 0700));
  std::string ca_key = pki_dir + "/ca.key", ca_cert = data_dir + "/ca.pem";

  if (FileExists(ca_key)) {
    ASSIGN_OR_RETURN(pki->ca_, LoadPair(ca_key, ca_cert));
  } else {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    ASSIGN_OR_RETURN(pki->ca_, CreateSelfSignedCa(absl::StrCat("Steward CA ", host),
                                                  absl::Hours(24 * 365 * 10)));
    RETURN_IF_ERROR(SavePair(pki->ca_, ca_key, ca_cert));
    spdlog::info("created collector CA in {}", ca_cert);
  }

  std::vector<std::string> dns = {"localhost"}, ips = {"127.0.0.1", "::1"};
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') dns.emplace_back(host);
  for (const auto& name : extra_names) {
    if (name.empty() || name == "0.0.0.0" || name == "::" || name == "[::]") continue;
    (LooksLikeIp(name) ? ips : dns).push_back(name);
  }
  ASSIGN_OR_RETURN(pki->server_, IssueServerCert(pki->ca_, "steward-collector", dns, ips,
                                                 absl::Hours(24 * 365)));
  RETURN_IF_ERROR(SavePair(pki->server_, pki_dir + "/server.key", pki_dir + "/server.crt"));

  std::string admin_key = pki_dir + "/admin.key", admin_cert = pki_dir + "/admin.crt";
  if (FileExists(admin_key)) {
    ASSIGN_OR_RETURN(pki->admin_, LoadPair(admin_key, admin_cert));
  } else {
    ASSIGN_OR_RETURN(pki->admin_, IssueClientCert(pki->ca_, absl::StrCat(kAdminCnPrefix, "admin"),
                                                  absl::Hours(24 * 365)));
    RETURN_IF_ERROR(SavePair(pki->admin_, admin_key, admin_cert));
  }
  ASSIGN_OR_RETURN(CertInfo admin_info, InspectCert(pki->admin_.cert_pem));
  pki->admin_serial_ = admin_info.serial_hex;
  return pki;
}

absl::StatusOr<std::string> CollectorPki::SignUserCsr(const std::string& csr_pem, const std::string& name) const {
  return SignCsr(ca_, csr_pem, absl::StrCat(kUserCnPrefix, name), kUserCertValidity);
}

absl::StatusOr<std::string> CollectorPki::SignAgentCsr(const std::string& csr_pem, const std::string& agent_id,
                                                       absl::Duration validity, absl::Time now) const {
  return SignCsrAt(ca_, csr_pem, absl::StrCat(kAgentCnPrefix, agent_id), validity, now);
}

absl::Status CollectorPki::WriteAdminConfig(const std::string& address) const {
  const KeyAndCert& admin = admin_;
  ASSIGN_OR_RETURN(std::string text, KvConfig::Render(
      {{"collector", address},
       {"ca_data", absl::Base64Escape(ca_.cert_pem)},
       {"cert_data", absl::Base64Escape(admin.cert_pem)},
       {"key_data", absl::Base64Escape(admin.key_pem)}},
      "Steward admin credential for stewardctl (--config or STEWARD_CONFIG).\n"
      "It holds an admin private key: keep it mode 0600 and share it with no one."));
  return WriteFileAtomic(data_dir_ + "/admin.conf", text, 0600);
}

}  // namespace steward::collector
