#pragma once
// The collector's own certificate authority and credentials, kept in the
// data directory:
//
//   <data-dir>/ca.pem            CA certificate (give it to agents: --ca-file)
//   <data-dir>/pki/ca.key        CA private key (0600)
//   <data-dir>/pki/server.{crt,key}  TLS server certificate, re-issued at
//                                each start for the current host names
//   <data-dir>/pki/admin.{crt,key}   bootstrap admin client credential (remove
//                                both and restart to replace it)
//   <data-dir>/admin.conf        stewardctl credential file (0600), written
//                                once the listen address is known
//
// Created on first start in an empty data directory. Thread-safe after
// LoadOrCreate (all members are immutable; signing uses only const state).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/pki.h"

namespace steward::collector {

class CollectorPki {
 public:
  // Loads the CA from `data_dir` or creates it, then issues a fresh server
  // certificate valid for localhost, this host's name, 127.0.0.1, ::1 and
  // every name or address in `extra_names`.
  static absl::StatusOr<std::unique_ptr<CollectorPki>> LoadOrCreate(
      const std::string& data_dir, const std::vector<std::string>& extra_names);

  const std::string& ca_pem() const { return ca_.cert_pem; }
  const KeyAndCert& server() const { return server_; }

  // Signs an agent's CSR; the certificate's CN is "agent/<agent_id>", valid
  // from `now` - kCertBackdate to `now` + `validity` (the collector's
  // --agent-cert-ttl; `now` from its injectable clock).
  absl::StatusOr<std::string> SignAgentCsr(const std::string& csr_pem, const std::string& agent_id,
                                           absl::Duration validity, absl::Time now) const;

  // Signs a user's CSR (made by stewardctl: the key never reaches the
  // collector); the certificate's CN is "user/<name>".
  absl::StatusOr<std::string> SignUserCsr(const std::string& csr_pem, const std::string& name) const;

  // Writes <data-dir>/admin.conf (0600) pointing stewardctl at `address`,
  // with the admin certificate embedded.
  absl::Status WriteAdminConfig(const std::string& address) const;

  // Serial (lower-case hex) of the bootstrap admin certificate,
  // pki/admin.crt (created by LoadOrCreate when missing): the only
  // "admin/..." certificate the admin service accepts.
  const std::string& admin_cert_serial() const { return admin_serial_; }

  static constexpr absl::Duration kUserCertValidity = absl::Hours(24 * 365);
  // Default lifetime of agent certificates (--agent-cert-ttl). Agents renew
  // over their stream when a third of it is left (docs/security.md).
  static constexpr absl::Duration kDefaultAgentCertTtl = absl::Hours(24 * 7);

 private:
  CollectorPki() = default;
  std::string data_dir_;
  KeyAndCert ca_;
  KeyAndCert server_;
  KeyAndCert admin_;
  std::string admin_serial_;
};

// CN prefixes that tell agents and admins apart in peer certificates.
inline constexpr char kAgentCnPrefix[] = "agent/";
inline constexpr char kAdminCnPrefix[] = "admin/";
// People added with 'stewardctl user add' (role in the `users` store).
inline constexpr char kUserCnPrefix[] = "user/";

}  // namespace steward::collector
