#pragma once
// stewardctl's staged rollouts: `deploy create|status|list|pause|resume|
// abort|retry`. Tables for people, --json for scripts (the command
// contract in docs/deployments.md: create prints {"id"}, status prints
// {"state", "hosts": [{agent_id, status, old_version, new_version,
// message}]}).

#include <ostream>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

struct DeployOptions {
  std::string id;              // status, pause, resume, abort, retry
  std::string host;            // status: only this agent's row
  std::string artifact;        // create: SHA-256 or a unique prefix
  std::string package;         // create: NAME=VERSION from the hosts' apt repositories
  std::string target;          // create: target expression
  std::string waves;           // "1,10%,50%,100%"
  std::string max_parallel;    // "0": no limit
  std::string error_threshold; // "5%" or "5"
  std::string health_gate;     // "5m"
  std::string window;          // "Sat 01:00-05:00"
  std::string deadline;        // "24h" from now
  std::string on_failure;      // "pause" | "abort"
  // create: the publisher private key (PREFIX.key) that signs the
  // deployment for the hosts its target resolves to; required unless dry_run.
  std::string sign_key;
  bool dry_run = false;
  // A changed host without health checks fails its gate.
  bool require_checks = false;
  bool watch = false;
  bool json = false;
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration watch_every = absl::Seconds(2);
  // Where notes and warnings go (the key that signed, hosts that cannot be
  // rolled back): stderr, so --json stays one document.
  std::ostream* notes = &std::cerr;
};

// A deployment's signed statement: valid until its deadline, or this long
// without one; up to kDeploymentAttempts jobs per host (retry).
inline constexpr absl::Duration kDeploymentStatementLifetime = absl::Hours(7 * 24);
inline constexpr uint32_t kDeploymentAttempts = 3;

// With sign_key (and not dry_run): plans first (a dry run) to learn the
// hosts, signs one statement for exactly those hosts (the change, "may roll
// back", the expiry, a fresh id), then creates the deployment with it.
absl::Status DeployCreate(v1::AdminService::Stub& stub, const DeployOptions& o, std::ostream& out);
// With watch: prints again whenever something changed until the
// deployment finishes or pauses (on a terminal the screen is redrawn;
// with --json one object per line).
absl::Status DeployStatus(v1::AdminService::Stub& stub, const DeployOptions& o, std::ostream& out,
                          bool terminal = false);
absl::Status DeployList(v1::AdminService::Stub& stub, const DeployOptions& o, std::ostream& out);
absl::Status DeployControl(v1::AdminService::Stub& stub, const DeployOptions& o,
                           v1::ControlDeploymentRequest::Action action, std::ostream& out);

}  // namespace steward::ctl
