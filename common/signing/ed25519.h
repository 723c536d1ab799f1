#pragma once
// Ed25519 publisher keys: generation, PEM files, signing and verification
// (OpenSSL underneath, PEM strings and raw bytes at the surface).
//
// A key pair is written as PREFIX.key (PKCS#8 PEM, mode 0600) and
// PREFIX.pub (SubjectPublicKeyInfo PEM), the formats `openssl pkey` reads.
// A public key is named by its key id: the first 16 hex digits of the
// SHA-256 of its 32 raw bytes.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward {

// A verifying key. Immutable; thread-safe.
class Ed25519PublicKey {
 public:
  // From SubjectPublicKeyInfo PEM; InvalidArgument naming `what` when the
  // text is not a PEM public key or the key is not Ed25519.
  static absl::StatusOr<Ed25519PublicKey> FromPem(absl::string_view pem, absl::string_view what);
  // From the 32 raw bytes.
  static absl::StatusOr<Ed25519PublicKey> FromRaw(absl::string_view raw);

  const std::string& raw() const { return raw_; }
  const std::string& key_id() const { return key_id_; }
  std::string ToPem() const;
  // True when `signature` (64 bytes) is this key's signature of `message`.
  bool Verify(absl::string_view message, absl::string_view signature) const;

 private:
  std::string raw_;
  std::string key_id_;
};

// A signing key. Immutable; thread-safe.
class Ed25519PrivateKey {
 public:
  static Ed25519PrivateKey Generate();
  // From PKCS#8 PEM (unencrypted); InvalidArgument naming `what` otherwise.
  static absl::StatusOr<Ed25519PrivateKey> FromPem(absl::string_view pem, absl::string_view what);

  std::string ToPem() const;
  const Ed25519PublicKey& public_key() const { return public_; }
  // The 64-byte signature of `message`.
  std::string Sign(absl::string_view message) const;

 private:
  std::string seed_;  // the 32-byte private key
  Ed25519PublicKey public_;
};

// Writes a new key pair to PREFIX.key (0600) and PREFIX.pub (0644).
// AlreadyExists when either file exists, unless `overwrite`.
absl::StatusOr<Ed25519PublicKey> GenerateKeyFiles(const std::string& prefix, bool overwrite);

// Reads a key file, naming the path in errors.
absl::StatusOr<Ed25519PrivateKey> ReadPrivateKeyFile(const std::string& path);
absl::StatusOr<Ed25519PublicKey> ReadPublicKeyFile(const std::string& path);

}  // namespace steward
