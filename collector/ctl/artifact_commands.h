#pragma once
// stewardctl's publisher commands: `keys generate` (local, no collector) and
// `artifact push|list|rm` (AdminService). Output: tables for people, JSON
// objects with --json (docs/deployments.md, "Command contract").

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

// `keys generate --out PREFIX [--force]`: PREFIX.key (0600), PREFIX.pub.
absl::Status KeysGenerate(const std::string& prefix, bool force, bool json, std::ostream& out);

struct PushOptions {
  std::string file;
  std::string name;      // default: a .deb's Package field
  std::string version;   // default: a .deb's Version field
  std::string sign_key;  // PREFIX.key; unsigned when empty
  bool json = false;
  absl::Duration timeout = absl::Seconds(30);  // plus 1 s per MiB for the upload
  std::ostream* progress = nullptr;            // a terminal for the progress bar, or null
};

// `artifact push FILE`: hashes the file, signs the statement, uploads the
// content unless the collector has it, prints the stored artifact.
absl::Status ArtifactPush(v1::AdminService::Stub& stub, const PushOptions& opts, std::ostream& out);
absl::Status ArtifactList(v1::AdminService::Stub& stub, absl::Duration timeout, bool json, std::ostream& out);
// The full SHA-256 of the one artifact whose SHA-256 starts with `sha` (6+
// digits); `flag` prefixes the too-short error ("--artifact"). NotFound or
// InvalidArgument (ambiguous) otherwise.
absl::StatusOr<std::string> ResolveArtifact(v1::AdminService::Stub& stub, const std::string& sha,
                                            const std::string& flag, absl::Duration timeout);
absl::Status ArtifactRm(v1::AdminService::Stub& stub, const std::string& sha256, absl::Duration timeout, bool json,
                        std::ostream& out);

}  // namespace steward::ctl
