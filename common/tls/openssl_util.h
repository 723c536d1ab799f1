#pragma once
// Internal to common/tls: RAII owners for OpenSSL objects, the error-queue
// helper, and PEM <-> object conversions. Not part of the public API (pki.h
// exposes PEM strings only); do not include from outside common/tls.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace steward::tls_internal {

// Deleter calling an OpenSSL free function; `Fn` is e.g. &X509_free.
template <typename T, void (*Fn)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Fn(p); }
};

// Owning pointers for the OpenSSL objects common/tls uses.
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using X509ExtPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
using Asn1IntegerPtr =
    std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, OpenSslDeleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using GeneralNamePtr =
    std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME, GENERAL_NAME_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

// Drains this thread's OpenSSL error queue into one string ("error:...;
// error:..."), or "no OpenSSL error reported" when it was empty.
std::string DrainOpenSslErrors();

// `InvalidArgument("<what>: <drained OpenSSL errors>")`.
absl::Status InvalidWithOpenSsl(std::string_view what);

// `Internal("<what>: <drained OpenSSL errors>")`, for failures on valid input.
absl::Status InternalWithOpenSsl(std::string_view what);

// Parses the first private key in `pem` (unencrypted; an encrypted key fails
// instead of prompting). `what` names the input in error messages.
absl::StatusOr<PkeyPtr> ParsePrivateKey(std::string_view pem, std::string_view what);

// Parses the first certificate in `pem`.
absl::StatusOr<X509Ptr> ParseCert(std::string_view pem, std::string_view what);

// Parses the first certificate request in `pem`.
absl::StatusOr<X509ReqPtr> ParseCsr(std::string_view pem, std::string_view what);

// PEM encodings: PKCS#8 private key, certificate, certificate request.
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);
absl::StatusOr<std::string> CertToPem(X509* cert);
absl::StatusOr<std::string> CsrToPem(X509_REQ* req);

}  // namespace steward::tls_internal
