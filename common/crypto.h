#pragma once
// Hashing and randomness for secrets and digests (OpenSSL underneath).

#include <string>
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward {

// True for 64 lower-case hex digits (a SHA-256 as Steward writes it).
bool IsSha256Hex(absl::string_view s);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// SHA-256 over data given in pieces (files, streams). Not thread-safe.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(absl::string_view data);
  // Lower-case hex digest of everything given so far; the stream can go on.
  std::string HexDigest() const;

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Lower-case hex SHA-256 of a file's content; NotFound or Internal naming
// the path when it cannot be read.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

// `bytes` bytes from the OS CSPRNG, hex-encoded (2*bytes characters).
// Aborts if the CSPRNG fails: there is no safe fallback for secrets.
std::string RandomHex(size_t bytes);

// Constant-time equality for secrets of equal length.
bool SecretEquals(absl::string_view a, absl::string_view b);

}  // namespace steward
