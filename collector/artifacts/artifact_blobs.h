#pragma once
// Artifact content on disk, content-addressed: DIR/blobs/<sha256> holds
// exactly the bytes whose SHA-256 is the name. Uploads go to DIR/tmp and
// become a blob only by Commit, which checks size and digest, syncs the
// file and renames it into place (then syncs the directory), so a crash
// never leaves a partial or wrong blob under a digest name. Open removes
// what a crash left in DIR/tmp.
//
// Thread-safe: uploads are independent objects; blobs are immutable files.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"

namespace steward::collector {

class ArtifactBlobs {
 public:
  // One upload in progress: bytes appended to a temporary file while their
  // SHA-256 is computed. Destroying an uncommitted upload removes its file.
  class Upload {
   public:
    ~Upload();
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;
    absl::Status Append(absl::string_view data);
    uint64_t size() const { return size_; }
    std::string sha256() const { return sha_.HexDigest(); }

   private:
    friend class ArtifactBlobs;
    Upload(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_;
    std::string path_;
    uint64_t size_ = 0;
    Sha256Stream sha_;
    bool committed_ = false;
  };

  static absl::StatusOr<std::unique_ptr<ArtifactBlobs>> Open(const std::string& dir);

  absl::StatusOr<std::unique_ptr<Upload>> Begin();
  // Makes `upload` the blob named `sha256` when its content has exactly
  // `size` bytes with that digest; InvalidArgument saying which differs
  // otherwise (the upload is then discarded). A blob already there is kept
  // (same name, same bytes).
  absl::Status Commit(Upload& upload, const std::string& sha256, uint64_t size);

  bool Has(const std::string& sha256) const;
  // Bytes of stored content; 0 when there is none.
  uint64_t SizeOf(const std::string& sha256) const;
  // Up to `max_bytes` of blob `sha256` from `offset` (fewer at the end).
  // NotFound without such a blob; OutOfRange past its end.
  absl::StatusOr<std::string> ReadAt(const std::string& sha256, uint64_t offset, size_t max_bytes) const;
  // NotFound when there is none.
  absl::Status Remove(const std::string& sha256);
  std::string PathOf(const std::string& sha256) const { return blobs_ + "/" + sha256; }

 private:
  ArtifactBlobs(std::string blobs, std::string tmp) : blobs_(std::move(blobs)), tmp_(std::move(tmp)) {}
  std::string blobs_;
  std::string tmp_;
};

}  // namespace steward::collector
