#include "collector/service/artifact_reactors.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/service/agent_admission.h"
#include "collector/service/work_queue.h"
#include "collector/storage/store.h"
#include "common/status_macros.h"
#include "common/grpc/status_convert.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {
const grpc::Status kOverloaded(grpc::StatusCode::UNAVAILABLE, "collector is overloaded; retry");
}  // namespace

PushArtifactReactor::PushArtifactReactor(ServiceDeps deps, const AdminGate* gate, PeerCredential peer,
                                         v1::PushArtifactResponse* resp)
    : deps_(std::move(deps)), gate_(gate), peer_(std::move(peer)), resp_(resp) {
  Submit(&PushArtifactReactor::Admit);
}

void PushArtifactReactor::Admit() {
  if (absl::Status st = gate_->Admit(peer_, "PushArtifact", req_, *resp_, &caller_); !st.ok()) {
    return Finish(ToGrpcStatus(st));
  }
  if (deps_.artifacts == nullptr) {
    return Done(absl::UnavailableError("this collector keeps no artifacts"));
  }
  StartRead(&req_);
}

void PushArtifactReactor::Done(const absl::Status& status) {
  // The audit target is the header's SHA-256 (or the stored artifact's).
  v1::PushArtifactRequest as_header;
  if (have_header_) *as_header.mutable_header() = header_;
  Finish(ToGrpcStatus(gate_->Finish(caller_, peer_, "PushArtifact", as_header, *resp_, status)));
}

void PushArtifactReactor::Submit(void (PushArtifactReactor::*step)()) {
  if (!deps_.work->TrySubmit([this, step] { (this->*step)(); })) Finish(kOverloaded);
}

void PushArtifactReactor::Fail(const absl::Status& status) {
  if (have_header_) {
    spdlog::warn("artifact push by {} of {} {} refused: {}", caller_.who, header_.name(), header_.version(),
                 std::string(status.message()));
  }
  upload_.reset();  // removes the partial file now
  Done(status);
}

void PushArtifactReactor::OnReadDone(bool ok) {
  Submit(ok ? &PushArtifactReactor::Handle : &PushArtifactReactor::Complete);
}

void PushArtifactReactor::Handle() {
  if (req_.has_header()) {
    if (have_header_) return Fail(absl::InvalidArgumentError("a second header after the first"));
    header_ = req_.header();
    have_header_ = true;
    if (absl::Status st = deps_.artifacts->CheckHeader(header_); !st.ok()) return Fail(st);
    auto upload = deps_.artifacts->BeginUpload();
    if (!upload.ok()) return Fail(upload.status());
    upload_ = std::move(*upload);
  } else {
    if (!have_header_) return Fail(absl::InvalidArgumentError("content came before the header"));
    if (req_.chunk().size() > (1 << 20)) {
      return Fail(absl::InvalidArgumentError(absl::StrCat("a chunk has ", req_.chunk().size(), " bytes; at most 1 MiB")));
    }
    if (upload_->size() + req_.chunk().size() > header_.size()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("more content than the header's size (", header_.size(), " bytes)")));
    }
    if (absl::Status st = upload_->Append(req_.chunk()); !st.ok()) return Fail(st);
  }
  StartRead(&req_);
}

void PushArtifactReactor::Complete() {
  if (!have_header_) return Fail(absl::InvalidArgumentError("the stream ended without a header"));
  auto done = deps_.artifacts->CompletePush(header_, *upload_, caller_.who, absl::ToUnixMillis(deps_.now()));
  if (!done.ok()) return Fail(done.status());
  *resp_ = *std::move(done);
  spdlog::info("artifact {} {} ({}, {} bytes, {} signature(s)) {} by {}", resp_->artifact().name(),
               resp_->artifact().version(), resp_->artifact().sha256().substr(0, 12), resp_->artifact().size(),
               resp_->artifact().signatures_size(), resp_->already_stored() ? "pushed again" : "stored", caller_.who);
  upload_.reset();
  Done(absl::OkStatus());
}

FetchArtifactReactor::FetchArtifactReactor(ServiceDeps deps, AgentPeer peer, const v1::FetchArtifactRequest& req)
    : deps_(std::move(deps)), peer_(std::move(peer)), sha256_(req.sha256()), offset_(req.offset()) {
  if (deps_.artifacts == nullptr) {
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "this collector keeps no artifacts"));
    return;
  }
  Submit();
}

void FetchArtifactReactor::Submit() {
  if (!deps_.work->TrySubmit([this] { Next(); })) Finish(kOverloaded);
}

absl::Status FetchArtifactReactor::Admit() {
  const absl::Time now = deps_.now();
  RETURN_IF_ERROR(AdmitAgent(*deps_.store, peer_, now).status());
  ASSIGN_OR_RETURN(bool has_job,
                   deps_.store->AgentHasArtifactJob(agent_id_, sha256_, absl::ToUnixMillis(now - kRecentJob)));
  if (!has_job) {
    spdlog::warn("agent {} (from {}) asked for artifact {}, which none of its jobs installs: refused", agent_id_,
                 peer_.address, sha256_.substr(0, 12));
    return absl::PermissionDeniedError(absl::StrCat("agent ", agent_id_, " has no pending or recent job for artifact ",
                                                    sha256_.substr(0, 12),
                                                    "; artifacts are served only for the jobs of the agent"));
  }
  return absl::OkStatus();
}

void FetchArtifactReactor::Next() {
  out_.Clear();
  if (!sent_metadata_) {
    if (absl::Status admitted = Admit(); !admitted.ok()) return Finish(ToGrpcStatus(admitted));
    auto artifact = deps_.artifacts->Get(sha256_);
    if (!artifact.ok()) return Finish(ToGrpcStatus(artifact.status()));
    size_ = artifact->size();
    if (offset_ > size_) {
      return Finish(ToGrpcStatus(absl::OutOfRangeError(
          absl::StrCat("offset ", offset_, " is past the end of artifact ", sha256_.substr(0, 12), " (", size_,
                       " bytes); restart the download from 0"))));
    }
    spdlog::debug("agent {} fetches artifact {} from byte {}", agent_id_, sha256_.substr(0, 12), offset_);
    *out_.mutable_artifact() = *std::move(artifact);
    sent_metadata_ = true;
  } else if (offset_ >= size_) {
    return Finish(grpc::Status::OK);
  }
  if (offset_ < size_) {
    auto data = deps_.artifacts->ReadAt(sha256_, offset_, kChunkBytes);
    if (!data.ok()) return Finish(ToGrpcStatus(data.status()));
    if (data->empty()) {
      // The stored content is shorter than its record says: never loop.
      return Finish(grpc::Status(grpc::StatusCode::DATA_LOSS,
                                 absl::StrCat("artifact ", sha256_.substr(0, 12), " ends at byte ", offset_,
                                              " on the collector, short of its ", size_, " bytes")));
    }
    out_.set_offset(offset_);
    offset_ += data->size();
    out_.set_data(*std::move(data));
  } else {
    out_.set_offset(offset_);
  }
  StartWrite(&out_);
}

void FetchArtifactReactor::OnWriteDone(bool ok) {
  if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the agent went away"));
  Submit();
}

}  // namespace steward::collector
