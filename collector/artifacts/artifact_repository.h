#pragma once
// The collector's artifacts: metadata in the Store (`artifacts` column
// family), content in ArtifactBlobs. Checks a push's header before any byte
// is stored (names, size limit, digest syntax, the signature against the
// key it names) and records the artifact only once its content is
// committed. The same content is stored once; pushing it again with the
// same name and version adds a new signer's signature.
//
// Thread-safe; metadata read-modify-writes are serialised by one mutex.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/artifacts/artifact_blobs.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::collector {

class Store;

class ArtifactRepository {
 public:
  static constexpr uint64_t kDefaultMaxBytes = uint64_t{2} << 30;

  ArtifactRepository(Store* store, ArtifactBlobs* blobs, uint64_t max_bytes = kDefaultMaxBytes)
      : store_(store), blobs_(blobs), max_bytes_(max_bytes) {}

  // InvalidArgument naming the field for a malformed header or a signature
  // that does not verify with its own key; ResourceExhausted above the size
  // limit.
  absl::Status CheckHeader(const v1::PushArtifactHeader& header) const;

  absl::StatusOr<std::unique_ptr<ArtifactBlobs::Upload>> BeginUpload() { return blobs_->Begin(); }

  // Ends a push whose header passed CheckHeader: commits `upload` (which
  // may be empty when the content is already stored) and records the
  // artifact. FailedPrecondition when the content is stored under another
  // name or version; InvalidArgument when size or digest differ from the
  // header, or no content came for an artifact not stored yet.
  absl::StatusOr<v1::PushArtifactResponse> CompletePush(const v1::PushArtifactHeader& header,
                                                        ArtifactBlobs::Upload& upload, const std::string& admin,
                                                        int64_t now_ms);

  absl::StatusOr<v1::Artifact> Get(const std::string& sha256);
  absl::StatusOr<std::vector<v1::Artifact>> List();
  // Removes metadata, then content. NotFound when there is no such artifact.
  absl::Status Delete(const std::string& sha256);
  // Content bytes for a download (ArtifactBlobs::ReadAt).
  absl::StatusOr<std::string> ReadAt(const std::string& sha256, uint64_t offset, size_t max_bytes) const {
    return blobs_->ReadAt(sha256, offset, max_bytes);
  }

 private:
  Store* store_;
  ArtifactBlobs* blobs_;
  const uint64_t max_bytes_;
  absl::Mutex mu_;
};

}  // namespace steward::collector
