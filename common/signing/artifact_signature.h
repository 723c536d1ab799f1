#pragma once
// What a publisher signs for an artifact, and the agent's check of it.
//
// The signed statement binds the content (SHA-256) to the name and version
// the publisher gave it, so a collector cannot present a signed package
// under another name or version:
//
//   steward-artifact-v1\n sha256=<64 hex>\n name=<name>\n version=<version>\n
//
// (one line each, no blanks added). Ed25519 over those bytes.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/signing/ed25519.h"

namespace steward {

std::string ArtifactStatement(absl::string_view sha256_hex, absl::string_view name, absl::string_view version);

// One signature as the collector hands it on: the signer's raw public key
// and the 64-byte signature.
struct ArtifactSignatureView {
  absl::string_view public_key;
  absl::string_view signature;
};

// OK when one of `signatures` is by a key in `trusted` (same raw public key)
// and verifies over the statement of (sha256_hex, name, version).
// PermissionDenied otherwise, saying whether there was no signature, none
// by a trusted key (naming their key ids), or a trusted key's signature that
// does not verify (content, name or version changed after signing).
absl::Status CheckArtifactSignature(absl::string_view sha256_hex, absl::string_view name,
                                    absl::string_view version,
                                    const std::vector<ArtifactSignatureView>& signatures,
                                    const std::vector<Ed25519PublicKey>& trusted);

}  // namespace steward
