#pragma once
// Downloads artifacts from the collector (AgentService.FetchArtifact) and
// hands out only verified ones.
//
// Content goes to DIR/<sha256>.part, appended chunk by chunk, so a broken
// connection or an agent restart resumes from the bytes already on disk.
// Before a byte is fetched, the metadata's signatures are checked against
// the trusted publisher keys; once complete, the size and SHA-256 of the
// file, then the signature again. Only then is it renamed to DIR/<sha256>
// (its metadata kept in DIR/<sha256>.artifact), so a path Fetch returns is
// always content the publisher signed, whatever the collector says.
//
// Not thread-safe: one fetcher per thread (the job executor runs one job at
// a time).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/signing/ed25519.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::agent {

// The HTTP/2 receive window of a bandwidth-capped download's channel
// (MakeCollectorChannel's receive_window_bytes).
inline constexpr int kCappedWindowBytes = 64 << 10;

struct FetchOptions {
  std::string dir;                     // where downloads and verified files live
  uint64_t bytes_per_second = 0;       // bandwidth cap; 0: none
  int max_attempts = 6;                // connections per Fetch before giving up
  absl::Duration first_backoff = absl::Milliseconds(500);
  absl::Duration call_timeout = absl::Minutes(30);  // per connection
  // Called after each chunk with bytes on disk and the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct FetchedArtifact {
  std::string path;      // the verified content
  v1::Artifact artifact;  // its metadata as the collector gave it
  int connections = 0;    // FetchArtifact calls it took (0: it was on disk)
};

class ArtifactFetcher {
 public:
  ArtifactFetcher(std::shared_ptr<v1::AgentService::StubInterface> stub, std::vector<Ed25519PublicKey> trusted,
                  FetchOptions options);

  // The verified content of `sha256`: from disk when a verified copy is
  // there, otherwise downloaded (resuming a partial download). Errors:
  // PermissionDenied when no trusted key signed it (nothing is downloaded;
  // the partial file is removed); DataLoss when the content does not match
  // its SHA-256 (removed: the next Fetch starts over); NotFound when the
  // collector has no such artifact; Unavailable when every attempt broke.
  // Fetches on one directory (this process or another agent process on it)
  // take turns on DIR/.fetch.lock. Cancelled after Cancel().
  absl::StatusOr<FetchedArtifact> Fetch(const std::string& sha256);

  // Ends a running Fetch (and every later one) with Cancelled, keeping the
  // partial file for the next start: the agent is stopping. Thread-safe.
  void Cancel();

  // The stub for later downloads (a channel with the agent's renewed
  // certificate); a download in flight finishes on the old one. Thread-safe.
  void SetStub(std::shared_ptr<v1::AgentService::StubInterface> stub);

  // Loads --trusted-key files; InvalidArgument or NotFound naming the file.
  static absl::StatusOr<std::vector<Ed25519PublicKey>> LoadTrustedKeys(const std::vector<std::string>& files);

 private:
  // One connection: appends what arrives to the partial file. OK when the
  // file is complete; *artifact gets the metadata.
  absl::Status Download(const std::string& sha256, v1::Artifact* artifact);
  absl::Status CheckTrusted(const v1::Artifact& artifact) const;
  absl::StatusOr<FetchedArtifact> Verified(const std::string& sha256);

  std::shared_ptr<v1::AgentService::StubInterface> stub_ ABSL_GUARDED_BY(ctx_mu_);
  std::vector<Ed25519PublicKey> trusted_;
  FetchOptions options_;
  std::atomic<bool> cancelled_{false};
  absl::Notification cancel_;
  absl::Mutex ctx_mu_;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(ctx_mu_) = nullptr;  // the call in flight
};

}  // namespace steward::agent
