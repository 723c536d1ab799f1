#pragma once
// The one door of AdminService: who is calling (the verified client
// certificate, its serial checked against the stored user on every call),
// whether their role allows the method (admin_roles.h), and the audit trail
// of every mutating call and every refusal (Store::AppendAudit).
//
// Every AdminService call goes through it: AdminServiceImpl::Run for unary
// calls, QueryMetrics' inline path and PushArtifactReactor. Check and Record
// read and write RocksDB (Record with a synced write): call them on the
// WorkQueue, except that Check may run on a gRPC thread where the call
// reads storage there anyway (QueryMetrics). Thread-safe (a cache of
// certificate serials under its own mutex); the Store serialises audit
// appends.

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "collector/service/refusal_limiter.h"
#include "collector/service/service_deps.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "steward/v1/admin.pb.h"

namespace steward::collector {

// What TLS says about the caller, copied out of the call's context on the
// gRPC thread (the context must not be touched from the WorkQueue).
struct PeerCredential {
  // A client certificate that chains to the collector's CA.
  bool verified = false;
  // Its subject CN ("user/alice", "admin/admin", "agent/<id>").
  std::string common_name;
  // Its PEM (for the serial).
  std::string cert_pem;
  // The caller's address as gRPC names it ("ipv4:127.0.0.1:50312").
  std::string address;

  static PeerCredential Of(const grpc::CallbackServerContext& ctx);
};

// Who an admitted (or refused) call came from.
struct Caller {
  // The certificate's CN; empty when the caller had no verified certificate.
  std::string who;
  // ROLE_UNSPECIFIED when unknown (refused before the role was known).
  v1::Role role = v1::ROLE_UNSPECIFIED;
};

class AdminGate {
 public:
  explicit AdminGate(const ServiceDeps& deps);

  // OK when `peer` is a current user (or the bootstrap admin) whose role
  // allows `method`. Otherwise UNAUTHENTICATED (no verified certificate),
  // PERMISSION_DENIED naming the reason (not a person's certificate, unknown
  // or removed user, replaced certificate, method not in the role table,
  // role too low: "CreateDeployment needs role operator; user/bob has role
  // viewer"), or a storage error. Fills `caller` as far as it got.
  absl::Status Check(const PeerCredential& peer, absl::string_view method, Caller* caller) const;

  // Appends the audit record of a call: a refusal (`refused`, any method)
  // or the outcome of a mutating one (reads that ran are not recorded; then
  // this is a no-op). The target comes from the method's table entry.
  // A refusal from a caller without a verified certificate is not recorded
  // (anyone could fill the trail); it is logged instead. Refusals of one
  // caller are recorded at a bounded rate (RefusalLimiter); those left out
  // are counted in the caller's next recorded one.
  absl::Status Record(const Caller& caller, const PeerCredential& peer, absl::string_view method,
                      const google::protobuf::Message& req, const google::protobuf::Message& resp,
                      const absl::Status& outcome, bool refused) const;

  // Check, and on refusal Record; returns Check's status.
  absl::Status Admit(const PeerCredential& peer, absl::string_view method, const google::protobuf::Message& req,
                     const google::protobuf::Message& resp, Caller* caller) const;

  // For a call that ran: Record its outcome (mutating methods only) and
  // return the status to answer with: `outcome`, or, when the record could
  // not be written after a successful call, an INTERNAL error saying so.
  absl::Status Finish(const Caller& caller, const PeerCredential& peer, absl::string_view method,
                      const google::protobuf::Message& req, const google::protobuf::Message& resp,
                      const absl::Status& outcome) const;

 private:
  absl::Status Identify(const PeerCredential& peer, Caller* caller) const;
  // The serial (lower-case hex) of a peer certificate. Parsing one costs
  // about 0.3 ms with OpenSSL 3 (its key decoders), more than a small
  // QueryMetrics, so serials are kept by PEM; at most kMaxCachedSerials,
  // all dropped when full (a fleet has few people).
  absl::StatusOr<std::string> SerialOf(const PeerCredential& peer) const;

  static constexpr size_t kMaxCachedSerials = 1024;

  ServiceDeps deps_;
  mutable absl::Mutex limiter_mu_;
  mutable RefusalLimiter limiter_ ABSL_GUARDED_BY(limiter_mu_);
  mutable absl::Mutex serials_mu_;
  mutable absl::flat_hash_map<std::string, std::string> serials_ ABSL_GUARDED_BY(serials_mu_);
};

}  // namespace steward::collector
