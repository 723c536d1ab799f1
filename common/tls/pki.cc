// Issuance half of pki.h: keys, the CA, server/client certificates, CSRs.
// Inspection and verification are in pki_verify.cc.
#include "common/tls/pki.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tls/openssl_util.h"

namespace steward {
namespace {

using tls_internal::Asn1IntegerPtr;
using tls_internal::Asn1OctetStringPtr;
using tls_internal::BignumPtr;
using tls_internal::GeneralNamePtr;
using tls_internal::GeneralNamesPtr;
using tls_internal::InternalWithOpenSsl;
using tls_internal::InvalidWithOpenSsl;
using tls_internal::PkeyPtr;
using tls_internal::X509ExtPtr;
using tls_internal::X509NamePtr;
using tls_internal::X509Ptr;
using tls_internal::X509ReqPtr;

// Upper bound on `validity`: far beyond any sane lifetime, well inside what
// ASN1_TIME can encode.
constexpr absl::Duration kMaxValidity = absl::Hours(24 * 365 * 100);
// RFC 5280 upper bound for a CN (ub-common-name).
constexpr size_t kMaxCommonNameBytes = 64;

// Debian's Abseil has its own absl::string_view, distinct from std's.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string Quoted(std::string_view s) {
  return absl::StrCat("'", absl::CHexEscape(AbslView(s)), "'");
}

// The role a certificate is issued for; decides its extensions.
enum class Profile { kCa, kServer, kClient };

absl::Status ValidateCommonName(std::string_view cn) {
  if (cn.empty()) return absl::InvalidArgumentError("common name is empty");
  if (cn.size() > kMaxCommonNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("common name ", Quoted(cn), " is longer than 64 bytes"));
  }
  for (unsigned char c : cn) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("common name ", Quoted(cn), " contains a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateValidity(absl::Duration validity) {
  if (validity <= absl::ZeroDuration() || validity > kMaxValidity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate validity ", absl::FormatDuration(validity), " is not in (0, 100 years]"));
  }
  return absl::OkStatus();
}

// A DNS name for a subjectAltName: LDH labels, '_' and a '*' wildcard label.
absl::Status ValidateDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253) {
    return absl::InvalidArgumentError(
        absl::StrCat("DNS name ", Quoted(name), " must have 1 to 253 characters"));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '*';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("DNS name ", Quoted(name), " contains an invalid character"));
    }
  }
  return absl::OkStatus();
}

// The digest to sign with: SHA-256, or none for Ed25519/Ed448 (which hash
// internally and refuse an external digest).
const EVP_MD* SigningDigest(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  return (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
}

absl::StatusOr<PkeyPtr> GenerateKey() {
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return InternalWithOpenSsl("generating a P-256 key failed");
  return key;
}

absl::StatusOr<X509NamePtr> NameWithCommonName(std::string_view cn) {
  X509NamePtr name(X509_NAME_new());
  if (name == nullptr ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1) {
    return InvalidWithOpenSsl(absl::StrCat("common name ", Quoted(cn), " is not usable"));
  }
  return name;
}

// Random positive 128-bit serial number (RFC 5280 allows up to 20 octets).
absl::StatusOr<Asn1IntegerPtr> RandomSerial() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return InternalWithOpenSsl("RAND_bytes failed");
  bytes[sizeof(bytes) - 1] |= 1;  // never zero
  BignumPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (bn == nullptr) return InternalWithOpenSsl("BN_bin2bn failed");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr) return InternalWithOpenSsl("BN_to_ASN1_INTEGER failed");
  return serial;
}

// Adds the extension `nid` written in openssl.cnf syntax, e.g.
// "critical,CA:TRUE". `issuer` is needed for the authority key identifier.
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return InternalWithOpenSsl(absl::StrCat("adding extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

// subjectAltName from DNS names and IPv4/IPv6 literals. Literals are parsed
// with inet_pton, which (unlike OpenSSL's a2i_IPADDRESS) rejects trailing junk.
absl::StatusOr<GeneralNamesPtr> BuildSubjectAltNames(const std::vector<std::string>& dns_names,
                                                     const std::vector<std::string>& ips) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return InternalWithOpenSsl("allocating GENERAL_NAMES");
  auto push = [&](int type, ASN1_STRING* value) -> absl::Status {
    GeneralNamePtr gn(GENERAL_NAME_new());
    if (gn == nullptr) {
      ASN1_STRING_free(value);
      return InternalWithOpenSsl("allocating GENERAL_NAME");
    }
    GENERAL_NAME_set0_value(gn.get(), type, value);
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) {
      return InternalWithOpenSsl("sk_GENERAL_NAME_push");
    }
    static_cast<void>(gn.release());  // now owned by `names`
    return absl::OkStatus();
  };
  for (const std::string& dns : dns_names) {
    RETURN_IF_ERROR(ValidateDnsName(dns));
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (ia5 == nullptr || ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(ia5);
      return InternalWithOpenSsl("building a DNS subjectAltName");
    }
    RETURN_IF_ERROR(push(GEN_DNS, ia5));
  }
  for (const std::string& ip : ips) {
    unsigned char addr[16];
    int len = 0;
    if (inet_pton(AF_INET, ip.c_str(), addr) == 1) {
      len = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), addr) == 1) {
      len = 16;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("IP address ", Quoted(ip), " is neither an IPv4 nor an IPv6 literal"));
    }
    ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
    if (octets == nullptr || ASN1_OCTET_STRING_set(octets, addr, len) != 1) {
      ASN1_OCTET_STRING_free(octets);
      return InternalWithOpenSsl("building an IP subjectAltName");
    }
    RETURN_IF_ERROR(push(GEN_IPADD, octets));
  }
  return names;
}

// The CA's key and certificate, checked to belong together and to be a CA.
struct LoadedCa {
  PkeyPtr key;
  X509Ptr cert;
};

absl::StatusOr<LoadedCa> LoadCa(const KeyAndCert& ca) {
  LoadedCa out;
  ASSIGN_OR_RETURN(out.key, tls_internal::ParsePrivateKey(ca.key_pem, "CA private key PEM"));
  ASSIGN_OR_RETURN(out.cert, tls_internal::ParseCert(ca.cert_pem, "CA certificate PEM"));
  EVP_PKEY* cert_key = X509_get0_pubkey(out.cert.get());
  if (cert_key == nullptr || EVP_PKEY_eq(cert_key, out.key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CA private key does not match the CA certificate");
  }
  if ((X509_get_extension_flags(out.cert.get()) & EXFLAG_CA) == 0) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "CA certificate is not a CA (basicConstraints CA:TRUE is missing)");
  }
  return out;
}

// Builds and signs one certificate for `subject_key`. `issuer_cert` is null
// for the self-signed CA, whose issuer is the certificate itself.
absl::StatusOr<X509Ptr> BuildCert(EVP_PKEY* signing_key, X509* issuer_cert, EVP_PKEY* subject_key,
                                  std::string_view common_name, Profile profile,
                                  const std::vector<std::string>& dns_names,
                                  const std::vector<std::string>& ip_addresses,
                                  absl::Duration validity, absl::Time now) {
  RETURN_IF_ERROR(ValidateCommonName(common_name));
  RETURN_IF_ERROR(ValidateValidity(validity));
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (cert == nullptr) return InternalWithOpenSsl("X509_new failed");
  X509* x = cert.get();
  if (X509_set_version(x, X509_VERSION_3) != 1) return InternalWithOpenSsl("X509_set_version");

  ASSIGN_OR_RETURN(Asn1IntegerPtr serial, RandomSerial());
  if (X509_set_serialNumber(x, serial.get()) != 1) return InternalWithOpenSsl("set serial");

  const time_t not_before = absl::ToTimeT(now - kCertBackdate);
  const time_t not_after = absl::ToTimeT(now + validity);
  if (ASN1_TIME_set(X509_getm_notBefore(x), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x), not_after) == nullptr) {
    return InvalidWithOpenSsl("certificate validity cannot be encoded");
  }

  ASSIGN_OR_RETURN(X509NamePtr subject, NameWithCommonName(common_name));
  if (X509_set_subject_name(x, subject.get()) != 1) return InternalWithOpenSsl("set subject");
  X509_NAME* issuer_name =
      issuer_cert != nullptr ? X509_get_subject_name(issuer_cert) : subject.get();
  if (X509_set_issuer_name(x, issuer_name) != 1) return InternalWithOpenSsl("set issuer");
  if (X509_set_pubkey(x, subject_key) != 1) return InternalWithOpenSsl("set public key");

  X509* issuer = issuer_cert != nullptr ? issuer_cert : x;
  switch (profile) {
    case Profile::kCa:
      RETURN_IF_ERROR(AddExtension(x, issuer, NID_basic_constraints, "critical,CA:TRUE"));
      RETURN_IF_ERROR(AddExtension(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign"));
      break;
    case Profile::kServer:
    case Profile::kClient:
      RETURN_IF_ERROR(AddExtension(x, issuer, NID_basic_constraints, "critical,CA:FALSE"));
      RETURN_IF_ERROR(AddExtension(x, issuer, NID_key_usage, "critical,digitalSignature"));
      RETURN_IF_ERROR(AddExtension(x, issuer, NID_ext_key_usage,
                                   profile == Profile::kServer ? "serverAuth" : "clientAuth"));
      break;
  }
  // The SKI first: for the self-signed CA the AKI is computed from it.
  RETURN_IF_ERROR(AddExtension(x, issuer, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtension(x, issuer, NID_authority_key_identifier, "keyid:always"));
  if (profile == Profile::kServer) {
    if (dns_names.empty() && ip_addresses.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("server certificate ", Quoted(common_name),
                                                     " needs at least one DNS name or IP"));
    }
    ASSIGN_OR_RETURN(GeneralNamesPtr sans, BuildSubjectAltNames(dns_names, ip_addresses));
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) != 1) {
      return InternalWithOpenSsl("adding subjectAltName");
    }
  }

  if (X509_sign(x, signing_key, SigningDigest(signing_key)) <= 0) {
    return InvalidWithOpenSsl("signing the certificate failed");
  }
  return cert;
}

// Refuses CSR keys too weak (or too exotic) for a client credential.
absl::Status CheckCsrKeyAcceptable(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  int bits = EVP_PKEY_get_bits(key);
  if (id == EVP_PKEY_EC && bits >= 256) return absl::OkStatus();
  if (id == EVP_PKEY_ED25519) return absl::OkStatus();
  if (id == EVP_PKEY_RSA && bits >= 2048) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("CSR public key is not acceptable (type ", OBJ_nid2sn(id), ", ", bits,
                   " bits): want EC of at least 256 bits, Ed25519, or RSA of at least 2048"));
}

// A new key and a certificate for it, signed by `ca`.
absl::StatusOr<KeyAndCert> IssueWithNewKey(const KeyAndCert& ca, std::string_view common_name,
                                           Profile profile,
                                           const std::vector<std::string>& dns_names,
                                           const std::vector<std::string>& ip_addresses,
                                           absl::Duration validity, absl::Time now) {
  ASSIGN_OR_RETURN(LoadedCa loaded, LoadCa(ca));
  ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  ASSIGN_OR_RETURN(X509Ptr cert,
                   BuildCert(loaded.key.get(), loaded.cert.get(), key.get(), common_name, profile,
                             dns_names, ip_addresses, validity, now));
  KeyAndCert out;
  ASSIGN_OR_RETURN(out.key_pem, tls_internal::PrivateKeyToPem(key.get()));
  ASSIGN_OR_RETURN(out.cert_pem, tls_internal::CertToPem(cert.get()));
  return out;
}

}  // namespace

absl::StatusOr<std::string> GeneratePrivateKeyPem() {
  ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  return tls_internal::PrivateKeyToPem(key.get());
}

absl::StatusOr<KeyAndCert> CreateSelfSignedCa(std::string_view common_name,
                                              absl::Duration validity) {
  return CreateSelfSignedCaAt(common_name, validity, absl::Now());
}

absl::StatusOr<KeyAndCert> CreateSelfSignedCaAt(std::string_view common_name,
                                                absl::Duration validity, absl::Time now) {
  ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  ASSIGN_OR_RETURN(X509Ptr cert, BuildCert(key.get(), nullptr, key.get(), common_name, Profile::kCa,
                                           {}, {}, validity, now));
  KeyAndCert out;
  ASSIGN_OR_RETURN(out.key_pem, tls_internal::PrivateKeyToPem(key.get()));
  ASSIGN_OR_RETURN(out.cert_pem, tls_internal::CertToPem(cert.get()));
  return out;
}

absl::StatusOr<KeyAndCert> IssueServerCert(const KeyAndCert& ca, std::string_view common_name,
                                           const std::vector<std::string>& dns_names,
                                           const std::vector<std::string>& ip_addresses,
                                           absl::Duration validity) {
  return IssueServerCertAt(ca, common_name, dns_names, ip_addresses, validity, absl::Now());
}

absl::StatusOr<KeyAndCert> IssueServerCertAt(const KeyAndCert& ca, std::string_view common_name,
                                             const std::vector<std::string>& dns_names,
                                             const std::vector<std::string>& ip_addresses,
                                             absl::Duration validity, absl::Time now) {
  return IssueWithNewKey(ca, common_name, Profile::kServer, dns_names, ip_addresses, validity, now);
}

absl::StatusOr<KeyAndCert> IssueClientCert(const KeyAndCert& ca, std::string_view common_name,
                                           absl::Duration validity) {
  return IssueClientCertAt(ca, common_name, validity, absl::Now());
}

absl::StatusOr<KeyAndCert> IssueClientCertAt(const KeyAndCert& ca, std::string_view common_name,
                                             absl::Duration validity, absl::Time now) {
  return IssueWithNewKey(ca, common_name, Profile::kClient, {}, {}, validity, now);
}

absl::StatusOr<std::string> CreateCsrPem(std::string_view key_pem, std::string_view common_name) {
  RETURN_IF_ERROR(ValidateCommonName(common_name));
  ASSIGN_OR_RETURN(PkeyPtr key, tls_internal::ParsePrivateKey(key_pem, "private key PEM"));
  ASSIGN_OR_RETURN(X509NamePtr subject, NameWithCommonName(common_name));
  X509ReqPtr req(X509_REQ_new());
  if (req == nullptr || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return InternalWithOpenSsl("building the CSR failed");
  }
  if (X509_REQ_sign(req.get(), key.get(), SigningDigest(key.get())) <= 0) {
    return InvalidWithOpenSsl("signing the CSR failed");
  }
  return tls_internal::CsrToPem(req.get());
}

absl::StatusOr<std::string> SignCsr(const KeyAndCert& ca, std::string_view csr_pem,
                                    std::string_view common_name, absl::Duration validity) {
  return SignCsrAt(ca, csr_pem, common_name, validity, absl::Now());
}

absl::StatusOr<std::string> SignCsrAt(const KeyAndCert& ca, std::string_view csr_pem,
                                      std::string_view common_name, absl::Duration validity,
                                      absl::Time now) {
  ASSIGN_OR_RETURN(LoadedCa loaded, LoadCa(ca));
  ASSIGN_OR_RETURN(X509ReqPtr req, tls_internal::ParseCsr(csr_pem, "CSR PEM"));
  EVP_PKEY* csr_key = X509_REQ_get0_pubkey(req.get());
  if (csr_key == nullptr) return InvalidWithOpenSsl("CSR public key could not be decoded");
  // Proof of possession: the requester signed the CSR with the private key.
  if (X509_REQ_verify(req.get(), csr_key) != 1) {
    return InvalidWithOpenSsl("CSR signature does not verify");
  }
  RETURN_IF_ERROR(CheckCsrKeyAcceptable(csr_key));
  ASSIGN_OR_RETURN(X509Ptr cert, BuildCert(loaded.key.get(), loaded.cert.get(), csr_key,
                                           common_name, Profile::kClient, {}, {}, validity, now));
  return tls_internal::CertToPem(cert.get());
}

}  // namespace steward
