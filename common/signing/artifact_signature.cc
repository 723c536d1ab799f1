#include "common/signing/artifact_signature.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward {

std::string ArtifactStatement(absl::string_view sha256_hex, absl::string_view name, absl::string_view version) {
  return absl::StrCat("steward-artifact-v1\nsha256=", sha256_hex, "\nname=", name, "\nversion=", version, "\n");
}

absl::Status CheckArtifactSignature(absl::string_view sha256_hex, absl::string_view name,
                                    absl::string_view version,
                                    const std::vector<ArtifactSignatureView>& signatures,
                                    const std::vector<Ed25519PublicKey>& trusted) {
  if (trusted.empty()) {
    return absl::PermissionDeniedError(
        "this agent trusts no publisher key (--trusted-key FILE.pub), so it installs no artifact");
  }
  if (signatures.empty()) {
    return absl::PermissionDeniedError(absl::StrCat("artifact ", sha256_hex.substr(0, 12),
                                                    " is not signed; push it with --sign-key"));
  }
  const std::string statement = ArtifactStatement(sha256_hex, name, version);
  std::vector<std::string> untrusted;
  std::string failed;  // a trusted key whose signature did not verify
  for (const ArtifactSignatureView& s : signatures) {
    bool known = false;
    for (const Ed25519PublicKey& key : trusted) {
      if (key.raw() != s.public_key) continue;
      known = true;
      if (key.Verify(statement, s.signature)) return absl::OkStatus();
      failed = key.key_id();
    }
    if (!known) {
      auto k = Ed25519PublicKey::FromRaw(s.public_key);
      untrusted.push_back(k.ok() ? k->key_id() : "(malformed key)");
    }
  }
  if (!failed.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("artifact ", sha256_hex.substr(0, 12), ": the signature by trusted key ", failed,
                     " does not verify (the content, name or version differs from what was signed)"));
  }
  return absl::PermissionDeniedError(absl::StrCat("artifact ", sha256_hex.substr(0, 12),
                                                  " is signed only by keys this agent does not trust: ",
                                                  absl::StrJoin(untrusted, ", ")));
}

}  // namespace steward
