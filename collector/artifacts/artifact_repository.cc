#include "collector/artifacts/artifact_repository.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "common/signing/artifact_signature.h"
#include "common/signing/ed25519.h"
#include "common/status_macros.h"

namespace steward::collector {
namespace {

bool IsAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

absl::Status CheckText(absl::string_view field, absl::string_view value, absl::string_view extra, bool may_be_empty) {
  if (value.empty() && !may_be_empty) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  if (value.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(field, " has ", value.size(), " bytes; at most 128"));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!IsAlnum(c) && !(i > 0 && absl::StrContains(extra, c)) && !(may_be_empty && absl::StrContains(extra, c))) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " '", value, "' has a character outside [A-Za-z0-9", extra, "] at byte ", i + 1));
    }
  }
  return absl::OkStatus();
}

// What the content is, from its first bytes.
std::string KindOf(absl::string_view head) {
  if (absl::StartsWith(head, "!<arch>\ndebian-binary")) return "deb";
  if (absl::StartsWith(head, "\xed\xab\xee\xdb")) return "rpm";
  return "file";
}

}  // namespace

absl::Status ArtifactRepository::CheckHeader(const v1::PushArtifactHeader& h) const {
  RETURN_IF_ERROR(CheckText("name", h.name(), ".+_~:@-", false));
  RETURN_IF_ERROR(CheckText("version", h.version(), ".+_~:^-", true));
  if (!IsSha256Hex(h.sha256())) {
    return absl::InvalidArgumentError(
        absl::StrCat("sha256 '", h.sha256().substr(0, 80), "' is not 64 lower-case hex digits"));
  }
  if (h.size() > max_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the artifact has ", h.size(), " bytes; this collector takes at most ", max_bytes_));
  }
  if (h.has_signature()) {
    absl::StatusOr<Ed25519PublicKey> parsed = Ed25519PublicKey::FromRaw(h.signature().public_key());
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat("signature.public_key: ", parsed.status().message()));
    const Ed25519PublicKey& key = *parsed;
    if (!key.Verify(ArtifactStatement(h.sha256(), h.name(), h.version()), h.signature().signature())) {
      return absl::InvalidArgumentError(absl::StrCat("the signature by key ", key.key_id(),
                                                     " does not verify for this sha256, name and version"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PushArtifactResponse> ArtifactRepository::CompletePush(const v1::PushArtifactHeader& h,
                                                                          ArtifactBlobs::Upload& upload,
                                                                          const std::string& admin, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  v1::PushArtifactResponse resp;
  v1::Artifact artifact;
  absl::StatusOr<v1::Artifact> existing = store_->GetArtifact(h.sha256());
  if (existing.ok()) {
    artifact = *std::move(existing);
    if (artifact.name() != h.name() || artifact.version() != h.version()) {
      return absl::FailedPreconditionError(absl::StrCat("this content is already stored as ", artifact.name(), " ",
                                                        artifact.version(), " (", h.sha256().substr(0, 12),
                                                        "); push it under that name and version"));
    }
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  } else {
    artifact.set_sha256(h.sha256());
    artifact.set_name(h.name());
    artifact.set_version(h.version());
    artifact.set_size(h.size());
    artifact.set_pushed_ms(now_ms);
    artifact.set_pushed_by(admin);
  }
  // Content already stored is reused only when it is all there.
  const bool have = blobs_->Has(h.sha256()) && blobs_->SizeOf(h.sha256()) == h.size();
  if (upload.size() > 0 || !have) {
    if (upload.size() == 0 && h.size() > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("no content was sent and the collector does not have ", h.sha256().substr(0, 12)));
    }
    RETURN_IF_ERROR(blobs_->Commit(upload, h.sha256(), h.size()));
  } else {
    resp.set_already_stored(true);
  }
  if (artifact.kind().empty()) {
    ASSIGN_OR_RETURN(std::string head, blobs_->ReadAt(h.sha256(), 0, 64));
    artifact.set_kind(KindOf(head));
  }
  if (h.has_signature()) {
    bool known = false;
    for (const v1::ArtifactSignature& s : artifact.signatures()) known = known || s.public_key() == h.signature().public_key();
    if (!known) {
      v1::ArtifactSignature* s = artifact.add_signatures();
      *s = h.signature();
      s->set_key_id(Ed25519PublicKey::FromRaw(s->public_key())->key_id());
    }
  }
  RETURN_IF_ERROR(store_->PutArtifact(artifact));
  *resp.mutable_artifact() = std::move(artifact);
  return resp;
}

absl::StatusOr<v1::Artifact> ArtifactRepository::Get(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) {
    return absl::InvalidArgumentError(absl::StrCat("'", sha256.substr(0, 80), "' is not a SHA-256 (64 lower-case hex digits)"));
  }
  return store_->GetArtifact(sha256);
}

absl::StatusOr<std::vector<v1::Artifact>> ArtifactRepository::List() { return store_->ListArtifacts(); }

absl::Status ArtifactRepository::Delete(const std::string& sha256) {
  RETURN_IF_ERROR(Get(sha256).status());
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(store_->DeleteArtifact(sha256));
  absl::Status removed = blobs_->Remove(sha256);
  return absl::IsNotFound(removed) ? absl::OkStatus() : removed;
}

}  // namespace steward::collector
