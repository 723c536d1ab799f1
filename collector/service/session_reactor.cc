#include "collector/service/session_reactor.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "collector/service/agent_admission.h"
#include "collector/service/agent_message_decode.h"
#include "collector/service/envelope_validation.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "collector/service/metrics_query.h"
#include "collector/service/session_registry.h"
#include "collector/service/work_queue.h"
#include "collector/storage/disk_guard.h"
#include "collector/storage/store.h"
#include "collector/tsdb/tsdb_store.h"
#include "common/grpc/status_convert.h"
#include "common/log_format.h"
#include "common/status_macros.h"
#include "common/wire/agent_text.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

SessionReactor::SessionReactor(ServiceDeps deps, AgentPeer peer, grpc::CallbackServerContext* ctx)
    : deps_(std::move(deps)), peer_(std::move(peer)), ctx_(ctx) {
  StartRead(&in_[0]);
}

void SessionReactor::OnReadDone(bool ok) {
  grpc::ByteBuffer* next_read = nullptr;
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    if (!ok) {  // the agent closed its side, or the stream broke
      read_closed_ = true;
      // While a message is applied, Process finishes when it is done.
      if (!processing_) finish = FinishLocked(close_requested_ ? close_status_ : absl::OkStatus());
    } else if (close_requested_ || finish_requested_) {
      // Closing: what was read is dropped and nothing more is read. Close
      // could not hand the finishing to the WorkQueue when nothing is
      // processing: it happens here.
      read_closed_ = true;
      if (!processing_ && close_requested_) finish = FinishLocked(close_status_);
    } else {
      ready_.push_back(&in_[read_slot_]);
      read_slot_ ^= 1;
      if (processing_) {
        // The other buffer is being applied: read again once it is free.
        read_paused_ = true;
      } else if (deps_.work->TrySubmit([this] { Process(); })) {
        processing_ = true;
        next_read = &in_[read_slot_];
      } else {
        finish = FinishLocked(absl::UnavailableError("collector is overloaded; retry with backoff"));
      }
    }
  }
  // Outside mu_: a completion may run inline and take it, and after Finish
  // the reactor may be gone.
  if (finish.has_value()) Finish(*finish);
  if (next_read != nullptr) StartRead(next_read);
}

void SessionReactor::Process() {
  while (true) {
    grpc::ByteBuffer* msg = nullptr;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (close_requested_) {
        ready_.clear();
        read_paused_ = false;  // nothing is read again
        processing_ = false;
        finish = FinishLocked(close_status_);
      } else if (ready_.empty()) {
        processing_ = false;
        if (read_closed_) finish = FinishLocked(absl::OkStatus());
      } else {
        msg = ready_.front();
        ready_.pop_front();
      }
    }
    if (msg == nullptr) {
      if (finish.has_value()) Finish(*finish);  // the last touch of this reactor
      return;
    }
    absl::Status status = Handle(msg);
    msg->Clear();
    if (!status.ok()) {
      spdlog::warn("agent {}: closing session: {}", agent_id_, status.ToString());
      {
        absl::MutexLock lock(&mu_);
        ready_.clear();
        read_paused_ = false;  // nothing is read again
        processing_ = false;
        finish = FinishLocked(status);
      }
      if (finish.has_value()) Finish(*finish);  // the last touch of this reactor
      return;
    }
    grpc::ByteBuffer* resume = nullptr;
    {
      absl::MutexLock lock(&mu_);
      // A paused read waits for in_[read_slot_], which is free now. Not
      // always msg: when the read paused after the message before this one
      // was applied, read_slot_ names that one's buffer, and reading into
      // msg's instead would hand the next OnReadDone an empty buffer.
      if (read_paused_ && !read_closed_ && !close_requested_) {
        read_paused_ = false;
        resume = &in_[read_slot_];
      }
    }
    if (resume != nullptr) StartRead(resume);
  }
}

absl::Status SessionReactor::Handle(grpc::ByteBuffer* raw) {
  ++messages_read_;
  size_t size = raw->Length();
  absl::StatusOr<AgentMessagePeek> peek;
  {
    grpc::ProtoBufferReader reader(raw);
    peek = PeekAgentMessage(&reader);
  }
  if (!peek.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("message ", messages_read_, " (", size, " bytes): ",
                                                   peek.status().message()));
  }
  if (size > AgentMessageLimit(*peek)) {
    std::string why = absl::StrCat(peek->hello ? "hello" : PayloadName(peek->payload), " of ", size,
                                   " bytes is over the limit of ", AgentMessageLimit(*peek), " bytes for its kind");
    // An oversized envelope is refused but acked like an invalid one, so it
    // cannot block what is queued behind it; anything else ends the stream.
    if (!peek->envelope || peek->seq == 0 || !got_hello_) return absl::ResourceExhaustedError(why);
    v1::Envelope header;
    header.set_seq(peek->seq);
    header.set_created_ms(peek->created_ms);
    return HandleEnvelope(header, std::move(why));
  }
  msg_.Clear();
  {
    grpc::ProtoBufferReader reader(raw);
    if (!msg_.ParseFromZeroCopyStream(&reader)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "message ", messages_read_, " (", size,
          " bytes) does not parse as an AgentMessage (a string field that is not UTF-8, or a field of the wrong "
          "type)"));
    }
  }
  // What a newer (or hostile) agent added is not stored or served back.
  msg_.DiscardUnknownFields();
  switch (msg_.kind_case()) {
    case v1::AgentMessage::kHello:
      return HandleHello(msg_.hello());
    case v1::AgentMessage::kEnvelope:
      return got_hello_ ? HandleEnvelope(msg_.envelope(), "")
                        : absl::FailedPreconditionError("the first message of a stream must be Hello");
    case v1::AgentMessage::kRenewCertificate:
      return got_hello_ ? HandleRenew(msg_.renew_certificate())
                        : absl::FailedPreconditionError("the first message of a stream must be Hello");
    case v1::AgentMessage::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("message ", messages_read_, " (", size, " bytes) is an empty AgentMessage (no kind set)"));
}

absl::Status SessionReactor::HandleHello(const v1::Hello& hello) {
  if (got_hello_) return absl::FailedPreconditionError("Hello sent twice on one stream");
  if (auto s = CheckAgentText(hello); !s.ok()) return absl::InvalidArgumentError(absl::StrCat("hello: ", s.message()));
  int64_t now_ms = absl::ToUnixMillis(deps_.now());
  // A full disk: refused before anything is written; the agent keeps its
  // data and comes back (RESOURCE_EXHAUSTED caps its backoff).
  if (deps_.disk != nullptr) RETURN_IF_ERROR(deps_.disk->CheckIngest());
  // Removed, disabled, expired or replaced certificates end here.
  auto admitted = AdmitAgent(*deps_.store, peer_, deps_.now());
  if (!admitted.ok()) {
    spdlog::warn("agent {} refused (from {}): {}", agent_id_, peer_.address, admitted.status().message());
    return admitted.status();
  }
  if (!admitted->previous_cert_serial().empty() && peer_.cert_serial == admitted->previous_cert_serial()) {
    spdlog::warn("agent {} connected with the certificate its renewal replaced (serial {}): it did not store the "
                 "new one; it is accepted until the agent connects with the new one",
                 agent_id_, peer_.cert_serial);
  }
  if (auto s = deps_.store->TouchAgent(agent_id_, hello, now_ms, peer_.cert_serial); !s.ok()) {
    if (absl::IsNotFound(s)) {
      return absl::PermissionDeniedError("this agent is not registered here; enroll it again");
    }
    return s;
  }
  auto rec = deps_.store->GetAgent(agent_id_);
  if (!rec.ok()) return rec.status();
  got_hello_ = true;
  applied_seq_ = rec->last_applied_seq();
  if (deps_.metrics != nullptr) {
    auto count = deps_.metrics->CountSeriesWithLabel(kAgentLabel, agent_id_);
    if (!count.ok()) return count.status();
    series_count_ = *count;
  }
  std::vector<v1::Label> labels(rec->labels().begin(), rec->labels().end());
  // Order on the stream: Welcome first, then Settings and pending jobs,
  // then a ResyncRequest if needed. Registered right after the Welcome is
  // queued, so nothing pushed by another thread can overtake it; settings
  // and jobs are read after registering, so a check or job stored meanwhile
  // is either read here or pushed live (a job sent twice never runs twice:
  // the agent answers finished job ids from its records). The checks are
  // read and their settings queued under the settings lock, so a push of a
  // newer set cannot be overtaken by this older one.
  v1::CollectorMessage welcome;
  welcome.mutable_welcome()->set_agent_id(agent_id_);
  welcome.mutable_welcome()->set_last_applied_seq(rec->last_applied_seq());
  Send(std::move(welcome));
  std::optional<std::string> replaced = deps_.sessions->Opened(agent_id_, this, labels, peer_.address);
  registered_ = true;
  if (replaced.has_value()) {
    if (auto s = deps_.store->NoteSessionReplaced(agent_id_, now_ms); !s.ok()) return s;
    spdlog::warn("agent {}: new session from {} replaces its session from {} (one session per agent). If both "
                 "keep coming back, two hosts hold this identity: a possible clone; 'stewardctl hosts disable {}' "
                 "cuts both off",
                 agent_id_, peer_.address, *replaced, agent_id_);
  }
  // Checked again now that the session is registered: a disable that
  // happened since the first check closed nothing, as it was not there yet.
  if (auto again = AdmitAgent(*deps_.store, peer_, deps_.now()); !again.ok()) return again.status();
  absl::Status settings = deps_.sessions->WithSettingsLock([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<v1::CheckAssignment> checks, deps_.store->ListChecks());
    PushSettings(SettingsFor(checks, labels));
    return absl::OkStatus();
  });
  if (!settings.ok()) return settings;
  // Read after the session registered: a job withdrawn before this read is
  // not sent; one withdrawn after it is cancelled on this session.
  auto open = deps_.store->OpenJobs(agent_id_);
  if (!open.ok()) return open.status();
  for (const v1::JobSpec& job : open->pending) PushJob(job);
  for (const v1::CancelJob& cancel : open->cancels) PushCancel(cancel);
  spdlog::info("agent {} connected (agent {}, applied up to seq {})", agent_id_, EscapeForDisplay(hello.agent_version()),
               rec->last_applied_seq());
  if (!hello.inventory_digest().empty() && hello.inventory_digest() != rec->inventory_digest()) {
    v1::CollectorMessage resync;
    resync.mutable_resync()->set_reason("stored inventory digest differs from the agent's");
    Send(std::move(resync));
  }
  return absl::OkStatus();
}

absl::Status SessionReactor::HandleEnvelope(const v1::Envelope& env, std::string refused) {
  if (env.seq() > applied_seq_ && env.seq() - applied_seq_ > deps_.limits.max_seq_jump) {
    // Not acked: recording it would make every real envelope after it look
    // like a resend.
    return absl::InvalidArgumentError(absl::StrCat("envelope seq ", env.seq(), " is more than ",
                                                   deps_.limits.max_seq_jump, " past the last applied seq ",
                                                   applied_seq_, "; refused"));
  }
  // Before anything of it is stored: not acked, the agent keeps it.
  if (deps_.disk != nullptr) RETURN_IF_ERROR(deps_.disk->CheckIngest());
  std::string rejected = std::move(refused);
  std::string warning;
  if (!rejected.empty()) {
    spdlog::warn("agent {}: envelope {} refused: {}", agent_id_, env.seq(), rejected);
  } else if (auto s = ValidateEnvelope(env, &columns_); !s.ok()) {
    if (env.seq() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("envelope without a seq: ", s.message()));
    }
    // Refused, but acked: closing the session instead would make the agent
    // resend it forever, and nothing queued behind it would ever arrive.
    rejected = std::string(s.message());
    spdlog::warn("agent {}: envelope {} refused: {}", agent_id_, env.seq(), EscapeForDisplay(rejected));
  } else if (auto t = ValidateEnvelopeTimes(
                 env, columns_, absl::ToUnixMillis(deps_.now() + deps_.limits.max_clock_skew));
             !t.ok()) {
    rejected = std::string(t.message());
    spdlog::warn("agent {}: envelope {} refused: {}", agent_id_, env.seq(), rejected);
  }
  bool resend = env.seq() <= applied_seq_;
  if (!resend && env.has_metric_batch()) {
    // Another stream of the same identity may have applied it meanwhile.
    auto rec = deps_.store->GetAgent(agent_id_);
    if (!rec.ok()) return rec.status();
    resend = env.seq() <= rec->last_applied_seq();
  }
  if (rejected.empty() && !resend && env.has_metric_batch() && deps_.metrics != nullptr) {
    // Into the TSDB first (its own synced WAL), then the seq: a crash in
    // between makes the agent resend, and the TSDB drops samples it already
    // has (times at or before a series' latest), so nothing doubles. A
    // resend (seq already applied) must not reach the TSDB: its samples
    // could differ from the first copy's.
    absl::Status appended = AppendMetrics(&warning);
    if (absl::IsInvalidArgument(appended)) {
      rejected = std::string(appended.message());
      spdlog::warn("agent {}: envelope {} refused by the time-series store: {}", agent_id_, env.seq(), rejected);
    } else if (!appended.ok()) {
      spdlog::error("agent {}: cannot store the metrics of envelope {}: {}", agent_id_, env.seq(), appended);
      return absl::UnavailableError("collector storage error; the envelope will be resent");
    }
  }
  v1::Envelope seq_only;
  if (!rejected.empty()) {
    // Only its sequence number is recorded, so a resend is skipped.
    seq_only.set_seq(env.seq());
    seq_only.set_created_ms(env.created_ms());
  }
  auto outcome = deps_.store->ApplyEnvelope(agent_id_, rejected.empty() ? env : seq_only,
                                            absl::ToUnixMillis(deps_.now()));
  if (!outcome.ok()) {
    // A disabled agent: refused, not acked, the stream ends.
    if (absl::IsPermissionDenied(outcome.status())) return outcome.status();
    // Not acked, so the agent keeps it and resends after reconnecting.
    spdlog::error("agent {}: cannot apply envelope {}: {}", agent_id_, env.seq(),
                  outcome.status().ToString());
    return absl::UnavailableError("collector storage error; the envelope will be resent");
  }
  if (*outcome == ApplyOutcome::kDuplicate) {
    spdlog::debug("agent {}: envelope {} already applied, skipped", agent_id_, env.seq());
  }
  applied_seq_ = std::max(applied_seq_, env.seq());
  v1::CollectorMessage ack;
  ack.mutable_ack()->set_seq(env.seq());
  if (!rejected.empty()) ack.mutable_ack()->set_rejected(std::move(rejected));
  if (!warning.empty()) ack.mutable_ack()->set_warning(std::move(warning));
  Send(std::move(ack));
  if (*outcome == ApplyOutcome::kResyncNeeded) {
    v1::CollectorMessage resync;
    resync.mutable_resync()->set_reason(
        absl::StrCat("inventory delta ", env.seq(), " does not match the collector's inventory"));
    Send(std::move(resync));
  }
  return absl::OkStatus();
}

absl::Status SessionReactor::AppendMetrics(std::string* warning) {
  const v1::Envelope& env = msg_.envelope();
  absl::Time now = deps_.now();
  if (now - minute_start_ >= absl::Minutes(1)) {
    minute_start_ = now;
    series_this_minute_ = 0;
  }
  const AgentLimits& limits = deps_.limits;
  size_t left_total = limits.max_series > series_count_ ? limits.max_series - series_count_ : 0;
  size_t left_minute = limits.max_new_series_per_minute > series_this_minute_
                           ? limits.max_new_series_per_minute - series_this_minute_
                           : 0;
  ingest_.Build(agent_id_, env.metric_batch(), columns_);
  tsdb::AppendStats stats;
  absl::Status appended =
      deps_.metrics->Append(ingest_.views(), &stats, &ingested_ids_, std::min(left_total, left_minute));
  if (!appended.ok()) return appended;
  ingest_.Remember(env.metric_batch(), columns_, ingested_ids_);
  series_count_ += stats.new_series;
  series_this_minute_ += stats.new_series;
  if (stats.refused_new_series > 0) {
    *warning = absl::StrCat(
        "RESOURCE_EXHAUSTED: ", stats.refused_new_series, " new series refused (their samples dropped): ",
        left_total <= left_minute
            ? absl::StrCat("this agent has ", series_count_, " series and the limit is ", limits.max_series,
                           " per agent (collector --max-series-per-agent)")
            : absl::StrCat("the limit is ", limits.max_new_series_per_minute,
                           " new series per agent per minute (collector --max-new-series-per-minute)"));
    if (now - last_limit_log_ >= absl::Minutes(1)) {
      last_limit_log_ = now;
      spdlog::warn("agent {}: {}", agent_id_, *warning);
    }
  }
  return absl::OkStatus();
}

void SessionReactor::Send(v1::CollectorMessage msg) {
  grpc::ByteBuffer bytes;
  bool own = false;
  if (!grpc::SerializationTraits<v1::CollectorMessage>::Serialize(msg, &bytes, &own).ok()) {
    spdlog::error("agent {}: cannot serialize a {} message", agent_id_, msg.GetTypeName());
    return;
  }
  size_t queued = 0, queued_bytes = 0;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || cut_off_) return;
    out_bytes_ += bytes.Length();
    out_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
      return;
    }
    if (out_.size() <= deps_.limits.max_queued_messages && out_bytes_ <= deps_.limits.max_queued_bytes) return;
    cut_off_ = true;
    queued = out_.size();
    queued_bytes = out_bytes_;
  }
  spdlog::warn("agent {} ({}) does not read its stream: {} messages ({} bytes) wait for it; session cut off",
               agent_id_, peer_.address, queued, queued_bytes);
  // Ends the read side at once; nothing more is queued (cut_off_). The
  // write in flight stays until the connection fails (keepalive, ~80 s),
  // and OnDone waits for it: the session leaves the registry now, as
  // CloseAgent does, so the host shows as disconnected and nothing more is
  // pushed to it. Not from here: a push calls Send under the registry's
  // lock. The task holds no pointer it dereferences (`this` is only a key).
  ctx_->TryCancel();
  deps_.work->TrySubmit([sessions = deps_.sessions, id = agent_id_, key = static_cast<SettingsSink*>(this)] {
    sessions->Closed(id, key);
  });
}

void SessionReactor::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    out_bytes_ -= out_.front().Length();
    out_.pop_front();
    if (!ok) {  // stream broken: the read side will notice and finish
      out_.clear();
      out_bytes_ = 0;
    }
    if (!out_.empty()) {
      StartWrite(&out_.front());
      return;
    }
    writing_ = false;
    if (close_requested_ && !processing_ && !finish_requested_) {
      // Close could not hand the finishing to the WorkQueue.
      finish = FinishLocked(close_status_);
    } else if (finish_requested_ && !finished_) {
      finished_ = true;
      finish = ToGrpcStatus(finish_status_);
    }
  }
  if (finish.has_value()) Finish(*finish);
}

std::optional<grpc::Status> SessionReactor::FinishLocked(const absl::Status& status) {
  if (finished_ || finish_requested_) return std::nullopt;
  finish_requested_ = true;
  finish_status_ = status;
  if (writing_) return std::nullopt;  // OnWriteDone finishes
  finished_ = true;
  return ToGrpcStatus(status);
}

void SessionReactor::Close(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finished_ || finish_requested_ || close_requested_) return;
  close_requested_ = true;
  close_status_ = status;
  if (processing_) return;  // Process finishes after the message it applies
  // Finish() is not called here: the caller holds the registry's lock,
  // which this reactor's OnDone takes.
  if (deps_.work->TrySubmit([this] { Process(); })) processing_ = true;
}

void SessionReactor::PushSettings(const v1::AgentSettings& settings) {
  v1::CollectorMessage msg;
  *msg.mutable_settings() = settings;
  Send(std::move(msg));
}

void SessionReactor::PushJob(const v1::JobSpec& job) {
  v1::CollectorMessage msg;
  *msg.mutable_job() = job;
  Send(std::move(msg));
}

void SessionReactor::PushCancel(const v1::CancelJob& cancel) {
  v1::CollectorMessage msg;
  *msg.mutable_cancel_job() = cancel;
  Send(std::move(msg));
}

void SessionReactor::RequestHealthReport(const v1::HealthRequest& request) {
  v1::CollectorMessage msg;
  *msg.mutable_health_request() = request;
  Send(std::move(msg));
}

void SessionReactor::OnDone() {
  if (registered_) deps_.sessions->Closed(agent_id_, this);
  spdlog::info("agent {} disconnected", agent_id_);
  delete this;
}

}  // namespace steward::collector
