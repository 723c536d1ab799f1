#pragma once
// The collector's own certificate authority: P-256 keys, SHA-256 signatures,
// X.509 v3 certificates for servers (collector), clients (agents, enrolled by
// CSR) and the admin credential. Everything crosses this API as PEM text; no
// OpenSSL type appears here. All functions are stateless and thread-safe.
//
// Errors: InvalidArgument for unparsable or unsuitable input (the message
// names the input and carries OpenSSL's reason), Unauthenticated when a
// certificate does not verify, Internal when OpenSSL fails on valid input.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward {

// A private key (PKCS#8 PEM, "BEGIN PRIVATE KEY", unencrypted) and the
// certificate for it (PEM, "BEGIN CERTIFICATE"). Used for the CA itself and
// for every issued credential.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// What InspectCert reads out of a certificate.
struct CertInfo {
  // Subject CN, UTF-8; empty if the subject has none.
  std::string common_name;
  // Serial number as lower-case hex, without leading zeros ("0" for zero).
  std::string serial_hex;
  // Validity window, seconds since the Unix epoch.
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  // SHA-256 over the DER encoding, lower-case hex without separators.
  std::string sha256_fingerprint_hex;
  // basicConstraints CA:TRUE.
  bool is_ca = false;
  // subjectAltName entries; IP addresses in inet_ntop form ("10.0.0.1",
  // "2001:db8::1").
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};

// How far NotBefore is set before "now", for clock skew between hosts.
inline constexpr absl::Duration kCertBackdate = absl::Minutes(5);

// Generates a new P-256 private key as unencrypted PKCS#8 PEM.
absl::StatusOr<std::string> GeneratePrivateKeyPem();

// Creates a self-signed CA: new key, basicConstraints CA:TRUE (critical),
// keyUsage keyCertSign+cRLSign (critical), subject key identifier. Valid from
// now - kCertBackdate for `validity` (which must be positive).
absl::StatusOr<KeyAndCert> CreateSelfSignedCa(std::string_view common_name,
                                              absl::Duration validity);

// Issues a new key and server certificate signed by `ca`: subjectAltName with
// each of `dns_names` and `ip_addresses` (IPv4 or IPv6 literals), keyUsage
// digitalSignature, extendedKeyUsage serverAuth, authority key identifier,
// CA:FALSE. At least one SAN is required (TLS clients ignore the CN).
absl::StatusOr<KeyAndCert> IssueServerCert(const KeyAndCert& ca, std::string_view common_name,
                                           const std::vector<std::string>& dns_names,
                                           const std::vector<std::string>& ip_addresses,
                                           absl::Duration validity);

// Issues a new key and client certificate (extendedKeyUsage clientAuth)
// signed by `ca`; used for the admin credential.
absl::StatusOr<KeyAndCert> IssueClientCert(const KeyAndCert& ca, std::string_view common_name,
                                           absl::Duration validity);

// Creates a PEM certificate signing request for `key_pem` with subject CN
// `common_name`, self-signed with SHA-256.
absl::StatusOr<std::string> CreateCsrPem(std::string_view key_pem, std::string_view common_name);

// Signs a CSR as a client certificate: verifies the CSR's self-signature
// (proof of possession), ignores its subject and extensions and uses
// `common_name`; extendedKeyUsage clientAuth; random positive 128-bit serial
// (as every issued certificate).
// The CSR key must be EC, Ed25519 or RSA of at least 2048 bits. Returns the
// certificate PEM.
absl::StatusOr<std::string> SignCsr(const KeyAndCert& ca, std::string_view csr_pem,
                                    std::string_view common_name, absl::Duration validity);

// Reads the fields of CertInfo out of the first certificate in `cert_pem`.
absl::StatusOr<CertInfo> InspectCert(std::string_view cert_pem);

// Verifies `cert_pem` with `ca_cert_pem` as the only trust anchor, including
// the validity window at the current time. Unauthenticated with OpenSSL's
// reason ("certificate has expired", "unable to get local issuer
// certificate", ...) when it does not verify.
absl::Status VerifyCertIssuedBy(std::string_view ca_cert_pem, std::string_view cert_pem);

// Ok if `key_pem` holds a private key that parses (unencrypted); InvalidArgument
// with OpenSSL's reason otherwise.
absl::Status CheckPrivateKeyPem(std::string_view key_pem);

// Ok if `key_pem` is the private key for the public key in `cert_pem`;
// InvalidArgument if either does not parse or they do not match.
absl::Status CheckKeyMatchesCert(std::string_view key_pem, std::string_view cert_pem);

// Variants with an explicit clock reading `now`, for an injectable clock and
// for tests (expired or not-yet-valid certificates without sleeping). The
// functions above call these with absl::Now().

// CreateSelfSignedCa, valid from `now` - kCertBackdate.
absl::StatusOr<KeyAndCert> CreateSelfSignedCaAt(std::string_view common_name,
                                                absl::Duration validity, absl::Time now);
// IssueServerCert, valid from `now` - kCertBackdate.
absl::StatusOr<KeyAndCert> IssueServerCertAt(const KeyAndCert& ca, std::string_view common_name,
                                             const std::vector<std::string>& dns_names,
                                             const std::vector<std::string>& ip_addresses,
                                             absl::Duration validity, absl::Time now);
// IssueClientCert, valid from `now` - kCertBackdate.
absl::StatusOr<KeyAndCert> IssueClientCertAt(const KeyAndCert& ca, std::string_view common_name,
                                             absl::Duration validity, absl::Time now);
// SignCsr, valid from `now` - kCertBackdate.
absl::StatusOr<std::string> SignCsrAt(const KeyAndCert& ca, std::string_view csr_pem,
                                      std::string_view common_name, absl::Duration validity,
                                      absl::Time now);
// VerifyCertIssuedBy, checking the validity window at `now`.
absl::Status VerifyCertIssuedByAt(std::string_view ca_cert_pem, std::string_view cert_pem,
                                  absl::Time now);

}  // namespace steward
