#include "common/tls/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <string>

#include "absl/strings/str_cat.h"

namespace steward::tls_internal {
namespace {

// Debian's Abseil has its own absl::string_view, distinct from std's.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Passphrase callback that refuses, so an encrypted key fails to load
// instead of OpenSSL prompting on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

// A read-only memory BIO over `pem`, or an error when it is too large or
// empty (OpenSSL would report an unhelpful "no start line" for the latter).
absl::StatusOr<BioPtr> ReadBio(std::string_view pem, std::string_view what) {
  if (pem.empty()) return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is empty"));
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is too large"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return InternalWithOpenSsl("BIO_new_mem_buf failed");
  return bio;
}

// Contents of a memory BIO as a string.
std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  ERR_clear_error();
  return out.empty() ? "no OpenSSL error reported" : out;
}

absl::Status InvalidWithOpenSsl(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": ", DrainOpenSslErrors()));
}

absl::Status InternalWithOpenSsl(std::string_view what) {
  return absl::InternalError(absl::StrCat(AbslView(what), ": ", DrainOpenSslErrors()));
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  auto bio = ReadBio(pem, what);
  if (!bio.ok()) return bio.status();
  PkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return InvalidWithOpenSsl(absl::StrCat(AbslView(what), " could not be parsed"));
  }
  ERR_clear_error();
  return key;
}

absl::StatusOr<X509Ptr> ParseCert(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  auto bio = ReadBio(pem, what);
  if (!bio.ok()) return bio.status();
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr));
  if (cert == nullptr) {
    return InvalidWithOpenSsl(absl::StrCat(AbslView(what), " could not be parsed"));
  }
  ERR_clear_error();
  return cert;
}

absl::StatusOr<X509ReqPtr> ParseCsr(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  auto bio = ReadBio(pem, what);
  if (!bio.ok()) return bio.status();
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio->get(), nullptr, NoPassphrase, nullptr));
  if (req == nullptr) {
    return InvalidWithOpenSsl(absl::StrCat(AbslView(what), " could not be parsed"));
  }
  ERR_clear_error();
  return req;
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY").
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalWithOpenSsl("writing private key PEM failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return InternalWithOpenSsl("writing certificate PEM failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> CsrToPem(X509_REQ* req) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_REQ(bio.get(), req) != 1) {
    return InternalWithOpenSsl("writing CSR PEM failed");
  }
  return BioContents(bio.get());
}

}  // namespace steward::tls_internal
