#pragma once
// Hashing and randomness for secrets and digests (OpenSSL underneath).

#include <string>
#include "absl/strings/string_view.h"

namespace steward {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// `bytes` bytes from the OS CSPRNG, hex-encoded (2*bytes characters).
// Aborts if the CSPRNG fails: there is no safe fallback for secrets.
std::string RandomHex(size_t bytes);

// Constant-time equality for secrets of equal length.
bool SecretEquals(absl::string_view a, absl::string_view b);

}  // namespace steward
