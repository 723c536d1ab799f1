#include "common/signing/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "no OpenSSL error reported" : out;
}

// Aborts on failures that valid input cannot cause (allocation, a broken
// OpenSSL): there is no safe way to go on signing without it.
void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fatal: OpenSSL %s failed: %s\n", what, OpenSslError().c_str());
    std::abort();
  }
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Pkey RawPublic(absl::string_view raw) {
  return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
}

Pkey RawPrivate(absl::string_view seed) {
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
}

std::string RawOf(EVP_PKEY* key, bool private_part) {
  unsigned char buf[64];
  size_t len = sizeof buf;
  Require(private_part ? EVP_PKEY_get_raw_private_key(key, buf, &len) == 1
                       : EVP_PKEY_get_raw_public_key(key, buf, &len) == 1,
          "raw key export");
  return std::string(reinterpret_cast<char*>(buf), len);
}

}  // namespace

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromRaw(absl::string_view raw) {
  if (raw.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 public key has 32 bytes, this one ", raw.size()));
  }
  Ed25519PublicKey key;
  key.raw_ = std::string(raw);
  key.key_id_ = Sha256Hex(raw).substr(0, 16);
  return key;
}

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromPem(absl::string_view pem, absl::string_view what) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Require(bio != nullptr, "BIO_new_mem_buf");
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a PEM public key (expected '-----BEGIN PUBLIC KEY-----', as "
                           "'stewardctl keys generate' writes to PREFIX.pub)"));
  }
  if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the key is not an Ed25519 key"));
  }
  return FromRaw(RawOf(key.get(), false));
}

std::string Ed25519PublicKey::ToPem() const {
  Pkey key = RawPublic(raw_);
  Require(key != nullptr, "public key import");
  Bio bio(BIO_new(BIO_s_mem()));
  Require(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1, "PEM_write_bio_PUBKEY");
  return BioText(bio.get());
}

bool Ed25519PublicKey::Verify(absl::string_view message, absl::string_view signature) const {
  if (signature.size() != 64) return false;
  Pkey key = RawPublic(raw_);
  MdCtx ctx(EVP_MD_CTX_new());
  if (key == nullptr || ctx == nullptr) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
  ERR_clear_error();
  return rc == 1;
}

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  Require(key != nullptr, "Ed25519 key generation");
  Ed25519PrivateKey out;
  out.seed_ = RawOf(key.get(), true);
  out.public_ = *Ed25519PublicKey::FromRaw(RawOf(key.get(), false));
  return out;
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPem(absl::string_view pem, absl::string_view what) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Require(bio != nullptr, "BIO_new_mem_buf");
  // An empty passphrase callback: an encrypted key fails instead of prompting.
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not an unencrypted PEM private key (expected '-----BEGIN PRIVATE KEY-----', "
                           "as 'stewardctl keys generate' writes to PREFIX.key)"));
  }
  if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the key is not an Ed25519 key"));
  }
  Ed25519PrivateKey out;
  out.seed_ = RawOf(key.get(), true);
  out.public_ = *Ed25519PublicKey::FromRaw(RawOf(key.get(), false));
  return out;
}

std::string Ed25519PrivateKey::ToPem() const {
  Pkey key = RawPrivate(seed_);
  Require(key != nullptr, "private key import");
  Bio bio(BIO_new(BIO_s_mem()));
  Require(bio != nullptr &&
              PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
  return BioText(bio.get());
}

std::string Ed25519PrivateKey::Sign(absl::string_view message) const {
  Pkey key = RawPrivate(seed_);
  MdCtx ctx(EVP_MD_CTX_new());
  Require(key != nullptr && ctx != nullptr, "signing setup");
  Require(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1, "EVP_DigestSignInit");
  unsigned char sig[64];
  size_t len = sizeof sig;
  Require(EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1,
          "EVP_DigestSign");
  return std::string(reinterpret_cast<char*>(sig), len);
}

absl::StatusOr<Ed25519PublicKey> GenerateKeyFiles(const std::string& prefix, bool overwrite) {
  const std::string key_path = prefix + ".key";
  const std::string pub_path = prefix + ".pub";
  if (!overwrite) {
    for (const std::string& p : {key_path, pub_path}) {
      if (access(p.c_str(), F_OK) == 0) {
        return absl::AlreadyExistsError(absl::StrCat(p, " exists; choose another --out or pass --force"));
      }
    }
  }
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  RETURN_IF_ERROR(WriteFileAtomic(key_path, key.ToPem(), 0600));
  RETURN_IF_ERROR(WriteFileAtomic(pub_path, key.public_key().ToPem(), 0644));
  return key.public_key();
}

absl::StatusOr<Ed25519PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  return Ed25519PrivateKey::FromPem(pem, path);
}

absl::StatusOr<Ed25519PublicKey> ReadPublicKeyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  return Ed25519PublicKey::FromPem(pem, path);
}

}  // namespace steward
