#include "collector/artifacts/artifact_blobs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return Errno("cannot create directory", path);
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", path);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return Errno("cannot sync directory", path);
  return absl::OkStatus();
}

}  // namespace

ArtifactBlobs::Upload::~Upload() {
  close(fd_);
  if (!committed_) unlink(path_.c_str());
}

absl::Status ArtifactBlobs::Upload::Append(absl::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write", path_);
    p += n;
    left -= static_cast<size_t>(n);
  }
  sha_.Update(data);
  size_ += data.size();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ArtifactBlobs>> ArtifactBlobs::Open(const std::string& dir) {
  RETURN_IF_ERROR(MakeDir(dir));
  const std::string blobs = dir + "/blobs";
  const std::string tmp = dir + "/tmp";
  RETURN_IF_ERROR(MakeDir(blobs));
  RETURN_IF_ERROR(MakeDir(tmp));
  // Uploads a crash interrupted: never committed, so never acknowledged.
  if (DIR* d = opendir(tmp.c_str())) {
    int removed = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (unlink((tmp + "/" + e->d_name).c_str()) == 0) ++removed;
    }
    closedir(d);
    if (removed > 0) spdlog::info("removed {} interrupted artifact upload(s) from {}", removed, tmp);
  }
  return std::unique_ptr<ArtifactBlobs>(new ArtifactBlobs(blobs, tmp));
}

absl::StatusOr<std::unique_ptr<ArtifactBlobs::Upload>> ArtifactBlobs::Begin() {
  std::string path = absl::StrCat(tmp_, "/upload-", RandomHex(8));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  return std::unique_ptr<Upload>(new Upload(fd, std::move(path)));
}

absl::Status ArtifactBlobs::Commit(Upload& upload, const std::string& sha256, uint64_t size) {
  if (upload.size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the upload has ", upload.size(), " bytes but the header said ", size));
  }
  const std::string got = upload.sha256();
  if (got != sha256) {
    return absl::InvalidArgumentError(
        absl::StrCat("the upload's SHA-256 is ", got, " but the header said ", sha256));
  }
  if (fsync(upload.fd_) != 0) return Errno("cannot sync", upload.path_);
  const std::string dest = PathOf(sha256);
  if (rename(upload.path_.c_str(), dest.c_str()) != 0) return Errno("cannot move the upload to", dest);
  upload.committed_ = true;
  return SyncDir(blobs_);
}

uint64_t ArtifactBlobs::SizeOf(const std::string& sha256) const {
  struct stat st;
  if (!IsSha256Hex(sha256) || stat(PathOf(sha256).c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

bool ArtifactBlobs::Has(const std::string& sha256) const {
  return IsSha256Hex(sha256) && access(PathOf(sha256).c_str(), F_OK) == 0;
}

absl::StatusOr<std::string> ArtifactBlobs::ReadAt(const std::string& sha256, uint64_t offset,
                                                   size_t max_bytes) const {
  if (!IsSha256Hex(sha256)) return absl::InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256"));
  const std::string path = PathOf(sha256);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no stored content for artifact ", sha256));
    return Errno("cannot open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status s = Errno("cannot stat", path);
    close(fd);
    return s;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) {
    close(fd);
    return absl::OutOfRangeError(absl::StrCat("offset ", offset, " is past the end of artifact ", sha256.substr(0, 12),
                                              " (", size, " bytes)"));
  }
  std::string out(static_cast<size_t>(std::min<uint64_t>(max_bytes, size - offset)), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = n < 0 ? Errno("cannot read", path) : absl::DataLossError(absl::StrCat(path, " is shorter than it was"));
      close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return out;
}

absl::Status ArtifactBlobs::Remove(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) return absl::InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256"));
  if (unlink(PathOf(sha256).c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no stored content for artifact ", sha256));
    return Errno("cannot remove", PathOf(sha256));
  }
  return SyncDir(blobs_);
}

}  // namespace steward::collector
