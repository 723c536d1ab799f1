#pragma once
// The two streaming artifact calls on the callback API:
//
// PushArtifactReactor (AdminService.PushArtifact): first admits the caller
// through the AdminGate on the WorkQueue (role, audit of a refusal), then
// reads the header, checks
// it (ArtifactRepository::CheckHeader) before accepting content, appends
// each chunk to an upload, and on the end of the stream commits it and
// records the artifact; the outcome goes to the audit trail. FetchArtifactReactor (AgentService.FetchArtifact):
// writes the metadata, then the content from the requested offset in
// 256 KiB chunks, once the agent is admitted (AdmitAgent: not disabled nor
// removed, current certificate) and has a job that installs the artifact
// (pending, or finished within kRecentJob): a stolen agent certificate
// does not download every artifact whose hash it knows.
//
// Each keeps one operation outstanding at a time (a read or write, or its
// disk work on the WorkQueue), so they need no lock. gRPC owns them until
// OnDone, which deletes them; Finish is called exactly once.

#include <memory>
#include <string>

#include "collector/artifacts/artifact_repository.h"
#include "collector/service/admin_gate.h"
#include "collector/service/peer_identity.h"
#include "collector/service/service_deps.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::collector {

// Ends a streaming call at once with `status` (bad credentials).
template <typename Reactor>
class RejectedCall final : public Reactor {
 public:
  explicit RejectedCall(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

class PushArtifactReactor final : public grpc::ServerReadReactor<v1::PushArtifactRequest> {
 public:
  // `gate` outlives the reactor; `peer` has a verified certificate.
  PushArtifactReactor(ServiceDeps deps, const AdminGate* gate, PeerCredential peer, v1::PushArtifactResponse* resp);
  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }
  void OnCancel() override {}

 private:
  void Admit();     // on the WorkQueue: the caller's identity and role
  void Handle();    // on the WorkQueue: the message just read
  void Complete();  // on the WorkQueue: the stream ended
  void Submit(void (PushArtifactReactor::*step)());
  void Fail(const absl::Status& status);

  // Records the outcome in the audit trail and finishes the call.
  void Done(const absl::Status& status);

  ServiceDeps deps_;
  const AdminGate* gate_;
  const PeerCredential peer_;
  Caller caller_;
  v1::PushArtifactResponse* resp_;
  v1::PushArtifactRequest req_;
  v1::PushArtifactHeader header_;
  bool have_header_ = false;
  std::unique_ptr<ArtifactBlobs::Upload> upload_;
};

class FetchArtifactReactor final : public grpc::ServerWriteReactor<v1::FetchArtifactResponse> {
 public:
  static constexpr size_t kChunkBytes = 256 << 10;
  // How long after its job finished (or was created) an artifact stays
  // downloadable for the agent (a retry, a resumed download).
  static constexpr absl::Duration kRecentJob = absl::Hours(1);
  FetchArtifactReactor(ServiceDeps deps, AgentPeer peer, const v1::FetchArtifactRequest& req);
  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }
  void OnCancel() override {}

 private:
  void Next();  // on the WorkQueue: reads the next chunk and writes it
  void Submit();
  // On the WorkQueue, before the first byte: may this agent have it?
  absl::Status Admit();

  ServiceDeps deps_;
  const AgentPeer peer_;
  const std::string& agent_id_ = peer_.agent_id;
  const std::string sha256_;
  uint64_t offset_;
  uint64_t size_ = 0;
  bool sent_metadata_ = false;
  v1::FetchArtifactResponse out_;
};

}  // namespace steward::collector
