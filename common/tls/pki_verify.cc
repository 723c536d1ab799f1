// Inspection and verification half of pki.h.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tls/openssl_util.h"
#include "common/tls/pki.h"

namespace steward {
namespace {

using tls_internal::BignumPtr;
using tls_internal::GeneralNamesPtr;
using tls_internal::InvalidWithOpenSsl;
using tls_internal::PkeyPtr;
using tls_internal::X509Ptr;
using tls_internal::X509StoreCtxPtr;
using tls_internal::X509StorePtr;

std::string LowerHex(const unsigned char* data, size_t len) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(data), len));
}

// The subject CN as UTF-8, or "" when there is none or it cannot be decoded.
std::string CommonName(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

absl::StatusOr<int64_t> ToUnix(const ASN1_TIME* t, const char* field) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return InvalidWithOpenSsl(absl::StrCat("certificate ", field, " could not be decoded"));
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

absl::StatusOr<CertInfo> InspectCert(std::string_view cert_pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, tls_internal::ParseCert(cert_pem, "certificate PEM"));
  X509* x = cert.get();
  CertInfo info;
  info.common_name = CommonName(x);

  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
  if (serial == nullptr) return InvalidWithOpenSsl("certificate serial could not be decoded");
  if (BN_is_zero(serial.get())) {
    info.serial_hex = "0";
  } else {
    char* hex = BN_bn2hex(serial.get());
    if (hex == nullptr) return InvalidWithOpenSsl("certificate serial could not be printed");
    info.serial_hex = absl::AsciiStrToLower(hex);
    OPENSSL_free(hex);
    bool negative = !info.serial_hex.empty() && info.serial_hex[0] == '-';
    size_t start = negative ? 1 : 0;
    size_t first = info.serial_hex.find_first_not_of('0', start);
    info.serial_hex = (negative ? "-" : "") + info.serial_hex.substr(first);
  }

  ASSIGN_OR_RETURN(info.not_before_unix, ToUnix(X509_get0_notBefore(x), "notBefore"));
  ASSIGN_OR_RETURN(info.not_after_unix, ToUnix(X509_get0_notAfter(x), "notAfter"));

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(x, EVP_sha256(), md, &md_len) != 1) {
    return tls_internal::InternalWithOpenSsl("certificate fingerprint failed");
  }
  info.sha256_fingerprint_hex = LowerHex(md, md_len);

  info.is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;

  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type == GEN_DNS) {
        const ASN1_STRING* s = gn->d.dNSName;
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<size_t>(ASN1_STRING_length(s)));
      } else if (gn->type == GEN_IPADD) {
        const ASN1_STRING* s = gn->d.iPAddress;
        int len = ASN1_STRING_length(s);
        char text[INET6_ADDRSTRLEN] = {};
        if ((len == 4 || len == 16) &&
            inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text,
                      sizeof(text)) != nullptr) {
          info.ip_addresses.emplace_back(text);
        }
      }
    }
  }
  ERR_clear_error();
  return info;
}

absl::Status VerifyCertIssuedBy(std::string_view ca_cert_pem, std::string_view cert_pem) {
  return VerifyCertIssuedByAt(ca_cert_pem, cert_pem, absl::Now());
}

absl::Status VerifyCertIssuedByAt(std::string_view ca_cert_pem, std::string_view cert_pem,
                                  absl::Time now) {
  ASSIGN_OR_RETURN(X509Ptr ca, tls_internal::ParseCert(ca_cert_pem, "CA certificate PEM"));
  ASSIGN_OR_RETURN(X509Ptr cert, tls_internal::ParseCert(cert_pem, "certificate PEM"));
  if ((X509_get_extension_flags(ca.get()) & EXFLAG_CA) == 0) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("CA certificate '", CommonName(ca.get()),
                     "' is not a CA (basicConstraints CA:TRUE is missing)"));
  }
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return tls_internal::InternalWithOpenSsl("setting up certificate verification failed");
  }
  // The given CA is the only anchor, even if it is not self-signed.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) == 1) {
    ERR_clear_error();
    return absl::OkStatus();
  }
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return absl::UnauthenticatedError(
      absl::StrCat("certificate '", CommonName(cert.get()), "' does not verify against CA '",
                   CommonName(ca.get()), "': ", X509_verify_cert_error_string(err), " (depth ",
                   X509_STORE_CTX_get_error_depth(ctx.get()), ")"));
}

absl::Status CheckPrivateKeyPem(std::string_view key_pem) {
  return tls_internal::ParsePrivateKey(key_pem, "private key PEM").status();
}

absl::Status CheckKeyMatchesCert(std::string_view key_pem, std::string_view cert_pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, tls_internal::ParsePrivateKey(key_pem, "private key PEM"));
  ASSIGN_OR_RETURN(X509Ptr cert, tls_internal::ParseCert(cert_pem, "certificate PEM"));
  EVP_PKEY* cert_key = X509_get0_pubkey(cert.get());
  if (cert_key == nullptr) {
    return InvalidWithOpenSsl("certificate public key could not be decoded");
  }
  if (EVP_PKEY_eq(cert_key, key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "private key does not match the public key of certificate '", CommonName(cert.get()), "'"));
  }
  return absl::OkStatus();
}

}  // namespace steward
