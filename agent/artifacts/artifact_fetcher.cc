#include "agent/artifacts/artifact_fetcher.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/session/backoff.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/grpc/status_convert.h"
#include "common/signing/artifact_signature.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

ArtifactFetcher::ArtifactFetcher(std::shared_ptr<v1::AgentService::StubInterface> stub,
                                 std::vector<Ed25519PublicKey> trusted, FetchOptions options)
    : stub_(std::move(stub)), trusted_(std::move(trusted)), options_(std::move(options)) {}

absl::StatusOr<std::vector<Ed25519PublicKey>> ArtifactFetcher::LoadTrustedKeys(
    const std::vector<std::string>& files) {
  std::vector<Ed25519PublicKey> keys;
  for (const std::string& f : files) {
    ASSIGN_OR_RETURN(Ed25519PublicKey k, ReadPublicKeyFile(f));
    keys.push_back(std::move(k));
  }
  return keys;
}

absl::Status ArtifactFetcher::CheckTrusted(const v1::Artifact& a) const {
  std::vector<ArtifactSignatureView> sigs;
  for (const v1::ArtifactSignature& s : a.signatures()) sigs.push_back({s.public_key(), s.signature()});
  return CheckArtifactSignature(a.sha256(), a.name(), a.version(), sigs, trusted_);
}

absl::StatusOr<FetchedArtifact> ArtifactFetcher::Verified(const std::string& sha256) {
  const std::string path = options_.dir + "/" + sha256;
  ASSIGN_OR_RETURN(std::string meta, ReadFile(path + ".artifact"));
  FetchedArtifact out;
  if (!out.artifact.ParseFromString(meta) || out.artifact.sha256() != sha256) {
    return absl::DataLossError(absl::StrCat(path, ".artifact is damaged"));
  }
  // Trust is checked again: the trusted keys may have changed since.
  RETURN_IF_ERROR(CheckTrusted(out.artifact));
  ASSIGN_OR_RETURN(std::string digest, Sha256OfFile(path));
  if (digest != sha256 || FileSize(path) != out.artifact.size()) {
    return absl::DataLossError(absl::StrCat(path, " no longer matches its SHA-256"));
  }
  out.path = path;
  return out;
}

absl::StatusOr<FetchedArtifact> ArtifactFetcher::Fetch(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) {
    return absl::InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256 (64 lower-case hex digits)"));
  }
  RETURN_IF_ERROR(MakeDirs(options_.dir, 0700));
  const std::string final_path = options_.dir + "/" + sha256;
  const std::string part = final_path + ".part";
  // One fetch at a time per directory (this process or another agent
  // process on it): a second fetch of the same artifact waits, then finds
  // the verified copy the first one left.
  const std::string lock_path = options_.dir + "/.fetch.lock";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Errno("cannot open", lock_path);
  absl::Cleanup unlock = [lock_fd] { close(lock_fd); };
  while (flock(lock_fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Errno("cannot lock", lock_path);
  }
  if (access(final_path.c_str(), F_OK) == 0) {
    auto verified = Verified(sha256);
    if (verified.ok() || absl::IsPermissionDenied(verified.status())) return verified;
    spdlog::warn("artifact {}: {}; downloading it again", sha256.substr(0, 12), verified.status().ToString());
    unlink(final_path.c_str());
    unlink((final_path + ".artifact").c_str());
  }

  Backoff backoff(options_.first_backoff, absl::Seconds(30), std::hash<std::string>()(sha256));
  v1::Artifact artifact;
  absl::Status last;
  int connections = 0;
  const auto stopping = [&] {
    return absl::CancelledError(absl::StrCat("artifact ", sha256.substr(0, 12), ": the agent is stopping (",
                                             FileSize(part), " bytes kept; the download resumes at its next start)"));
  };
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) cancel_.WaitForNotificationWithTimeout(backoff.Next());
    if (cancelled_) return stopping();
    ++connections;
    last = Download(sha256, &artifact);
    if (last.ok()) break;
    if (cancelled_) return stopping();
    if (absl::IsPermissionDenied(last) || absl::IsNotFound(last) || absl::IsDataLoss(last) ||
        absl::IsInvalidArgument(last) || absl::IsUnauthenticated(last)) {
      return last;
    }
    spdlog::warn("artifact {}: download broke at byte {} ({}); resuming", sha256.substr(0, 12), FileSize(part),
                 last.ToString());
  }
  if (!last.ok()) {
    return absl::UnavailableError(absl::StrCat("artifact ", sha256.substr(0, 12), ": gave up after ",
                                               options_.max_attempts, " attempts (", FileSize(part),
                                               " bytes kept for the next try): ", last.message()));
  }
  // Complete: the content must be what its name says, then signed by a
  // trusted key (checked before the download too, checked again here).
  ASSIGN_OR_RETURN(std::string digest, Sha256OfFile(part));
  if (digest != sha256) {
    unlink(part.c_str());
    return absl::DataLossError(absl::StrCat("artifact ", sha256.substr(0, 12), ": the downloaded content's SHA-256 is ",
                                            digest, "; deleted, the next fetch starts over"));
  }
  if (absl::Status trusted = CheckTrusted(artifact); !trusted.ok()) {
    unlink(part.c_str());
    return trusted;
  }
  RETURN_IF_ERROR(WriteFileAtomic(final_path + ".artifact", artifact.SerializeAsString(), 0600));
  int fd = open(part.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    return Errno("cannot sync", part);
  }
  close(fd);
  if (rename(part.c_str(), final_path.c_str()) != 0) return Errno("cannot rename", part);
  spdlog::info("artifact {} {} ({}, {} bytes) downloaded and verified", artifact.name(), artifact.version(),
               sha256.substr(0, 12), artifact.size());
  return FetchedArtifact{final_path, std::move(artifact), connections};
}

absl::Status ArtifactFetcher::Download(const std::string& sha256, v1::Artifact* artifact) {
  const std::string part = options_.dir + "/" + sha256 + ".part";
  uint64_t have = FileSize(part);
  if (have > 0) spdlog::info("artifact {}: resuming the download at byte {}", sha256.substr(0, 12), have);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  v1::FetchArtifactRequest req;
  req.set_sha256(sha256);
  req.set_offset(have);
  std::shared_ptr<v1::AgentService::StubInterface> stub;
  {
    absl::MutexLock lock(&ctx_mu_);
    current_ = &ctx;
    if (cancelled_) ctx.TryCancel();
    stub = stub_;
  }
  absl::Cleanup forget = [this] {
    absl::MutexLock lock(&ctx_mu_);
    current_ = nullptr;
  };
  std::unique_ptr<grpc::ClientReaderInterface<v1::FetchArtifactResponse>> reader(stub->FetchArtifact(&ctx, req));
  v1::FetchArtifactResponse msg;
  int fd = -1;
  auto close_fd = [&] {
    if (fd >= 0) close(fd);
    fd = -1;
  };
  const absl::Time start = absl::Now();
  uint64_t received = 0;
  bool first = true;
  absl::Status fail;  // ends the call early
  while (fail.ok() && reader->Read(&msg)) {
    if (first) {
      first = false;
      if (!msg.has_artifact() || msg.artifact().sha256() != sha256) {
        fail = absl::DataLossError("the collector's answer does not describe the artifact asked for");
        break;
      }
      *artifact = msg.artifact();
      // Refuse before downloading anything: no trusted signature, no bytes.
      if (absl::Status trusted = CheckTrusted(*artifact); !trusted.ok()) {
        unlink(part.c_str());
        fail = trusted;
        break;
      }
      fd = open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0) {
        fail = Errno("cannot open", part);
        break;
      }
    }
    if (msg.offset() != have) {
      fail = absl::UnavailableError(absl::StrCat("chunk at byte ", msg.offset(), " while ", have, " are on disk"));
      break;
    }
    if (have + msg.data().size() > artifact->size()) {
      unlink(part.c_str());
      fail = absl::DataLossError("the collector sent more bytes than the artifact's size; deleted the download");
      break;
    }
    const char* p = msg.data().data();
    size_t left = msg.data().size();
    while (left > 0 && fail.ok()) {
      ssize_t n = write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        fail = Errno("cannot write", part);
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (!fail.ok()) break;
    have += msg.data().size();
    received += msg.data().size();
    if (options_.progress) options_.progress(have, artifact->size());
    if (options_.bytes_per_second > 0) {
      // Sleep until this connection's average is back under the cap.
      const absl::Duration due =
          absl::Seconds(static_cast<double>(received) / static_cast<double>(options_.bytes_per_second));
      const absl::Duration spent = absl::Now() - start;
      if (due > spent) cancel_.WaitForNotificationWithTimeout(due - spent);
    }
  }
  if (!fail.ok()) {
    ctx.TryCancel();
    reader->Finish().ok();  // CANCELLED; the call must still be finished
    close_fd();
    return fail;
  }
  close_fd();
  grpc::Status st = reader->Finish();
  if (!st.ok()) {
    absl::Status s = FromGrpcStatus(st);
    if (absl::IsOutOfRange(s)) {
      // What is on disk is longer than the artifact: start over.
      unlink(part.c_str());
      return absl::UnavailableError(s.message());
    }
    return s;
  }
  if (first) return absl::UnavailableError("the stream ended without an answer");
  if (have != artifact->size()) {
    return absl::UnavailableError(absl::StrCat("the stream ended at byte ", have, " of ", artifact->size()));
  }
  return absl::OkStatus();
}

void ArtifactFetcher::SetStub(std::shared_ptr<v1::AgentService::StubInterface> stub) {
  absl::MutexLock lock(&ctx_mu_);
  stub_ = std::move(stub);
}

void ArtifactFetcher::Cancel() {
  if (cancelled_.exchange(true)) return;
  cancel_.Notify();
  absl::MutexLock lock(&ctx_mu_);
  if (current_ != nullptr) current_->TryCancel();
}

}  // namespace steward::agent
