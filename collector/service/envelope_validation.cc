#include "collector/service/envelope_validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/wire/agent_text.h"

namespace steward::collector {
namespace {

bool ValidMetricName(absl::string_view s, bool allow_colon) {
  return metrics::ValidMetricOrLabelName(s, allow_colon, kMaxNameBytes);
}

bool CleanText(absl::string_view s, size_t max) {
  return s.size() <= max && s.find('\0') == absl::string_view::npos && s.find('\x1f') == absl::string_view::npos;
}

absl::Status ValidateSeries(const v1::Series& s, int index) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("metric batch series ", index, " ('",
                                                   s.name().substr(0, 64), "'): ", why));
  };
  if (!ValidMetricName(s.name(), true)) return bad("metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  if (s.labels_size() > kMaxLabelsPerSeries) return bad(absl::StrCat("more than ", kMaxLabelsPerSeries, " labels"));
  for (int i = 0; i < s.labels_size(); ++i) {
    const auto& l = s.labels(i);
    if (!ValidMetricName(l.name(), false) || metrics::ReservedLabelName(l.name())) {
      return bad(metrics::LabelNameProblem(l.name()));
    }
    if (!CleanText(l.value(), kMaxValueBytes)) return bad(absl::StrCat("label '", l.name(), "' value has a NUL/0x1f byte or is too long"));
    if (i > 0 && !(s.labels(i - 1).name() < l.name())) return bad("labels must be sorted by name and unique");
  }
  return absl::OkStatus();
}

absl::Status ValidateItems(const google::protobuf::RepeatedPtrField<v1::SoftwareItem>& items,
                           absl::string_view what) {
  for (int i = 0; i < items.size(); ++i) {
    const auto& item = items.Get(i);
    if (item.source().empty() || item.name().empty() || !CleanText(item.source(), kMaxNameBytes) ||
        !CleanText(item.name(), kMaxNameBytes) || !CleanText(item.arch(), kMaxNameBytes) ||
        !CleanText(item.location(), kMaxValueBytes) || item.version().size() > kMaxValueBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", i, " ('", item.name().substr(0, 64),
          "'): source and name must be non-empty, and source, name, arch and location free of NUL/0x1f bytes "
          "(names at most ", kMaxNameBytes, " bytes)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateServiceReport(const v1::ServiceReport& report) {
  if (report.units_size() > kMaxServiceUnits) {
    return absl::InvalidArgumentError(absl::StrCat("service report has ", report.units_size(),
                                                   " units; the limit is ", kMaxServiceUnits));
  }
  if (!report.systemd_present() && report.units_size() > 0) {
    return absl::InvalidArgumentError("service report lists units but says systemd is not running");
  }
  for (int i = 0; i < report.units_size(); ++i) {
    const auto& u = report.units(i);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("service report unit ", i, " ('", absl::CHexEscape(u.name().substr(0, 64)), "'): ", why));
    };
    if (u.name().empty() || !CleanText(u.name(), kMaxNameBytes)) {
      return bad(absl::StrCat("name must be non-empty, free of NUL/0x1f bytes and at most ", kMaxNameBytes,
                              " bytes"));
    }
    for (const std::string* state : {&u.load_state(), &u.active_state(), &u.sub_state(), &u.unit_file_state()}) {
      if (!CleanText(*state, kMaxStateBytes)) {
        return bad(absl::StrCat("states must be free of NUL/0x1f bytes and at most ", kMaxStateBytes, " bytes"));
      }
    }
    if (u.description().size() > kMaxValueBytes) {
      return bad(absl::StrCat("description is longer than ", kMaxValueBytes, " bytes"));
    }
    if (i > 0 && !(report.units(i - 1).name() < u.name())) return bad("units must be sorted by name and unique");
  }
  return absl::OkStatus();
}

absl::Status ValidatePayload(const v1::Envelope& env, metrics::DecodedColumns* columns);

}  // namespace

absl::Status ValidateEnvelope(const v1::Envelope& env, metrics::DecodedColumns* columns) {
  if (env.seq() == 0) return absl::InvalidArgumentError("envelope seq must be >= 1");
  RETURN_IF_ERROR(ValidatePayload(env, columns));
  // Then every string: its limit, printable UTF-8; every repeated field: its
  // bound (the payload's own rules above name the item more precisely).
  return CheckAgentText(env);
}

namespace {

absl::Status ValidatePayload(const v1::Envelope& env, metrics::DecodedColumns* columns) {
  switch (env.payload_case()) {
    case v1::Envelope::kInventorySnapshot: {
      const auto& snap = env.inventory_snapshot();
      if (snap.items_size() > kMaxInventoryItems) {
        return absl::InvalidArgumentError(absl::StrCat("inventory snapshot has ", snap.items_size(),
                                                       " items; the limit is ", kMaxInventoryItems));
      }
      return ValidateItems(snap.items(), "inventory item");
    }
    case v1::Envelope::kInventoryDelta: {
      const auto& d = env.inventory_delta();
      if (d.added_size() + d.removed_size() + d.changed_size() > kMaxInventoryItems) {
        return absl::InvalidArgumentError(
            absl::StrCat("inventory delta has more than ", kMaxInventoryItems, " items"));
      }
      RETURN_IF_ERROR(ValidateItems(d.added(), "inventory delta added item"));
      RETURN_IF_ERROR(ValidateItems(d.removed(), "inventory delta removed item"));
      return ValidateItems(d.changed(), "inventory delta changed item");
    }
    case v1::Envelope::kMetricBatch: {
      const auto& batch = env.metric_batch();
      if (batch.series_size() > kMaxSeriesPerBatch) {
        return absl::InvalidArgumentError(absl::StrCat("metric batch has ", batch.series_size(),
                                                       " series; the limit is ", kMaxSeriesPerBatch));
      }
      int points = 0;
      for (int i = 0; i < batch.series_size(); ++i) {
        if (auto s = ValidateSeries(batch.series(i), i); !s.ok()) return s;
        points += batch.series(i).points_size();
      }
      if (points > kMaxPointsPerBatch) {
        return absl::InvalidArgumentError(absl::StrCat("metric batch has ", points,
                                                       " points; the limit is ", kMaxPointsPerBatch));
      }
      // The columns get what the plain series left of the limits.
      metrics::ColumnLimits limits;
      limits.max_series = kMaxSeriesPerBatch - batch.series_size();
      limits.max_points = kMaxPointsPerBatch - points;
      limits.max_labels_per_series = kMaxLabelsPerSeries;
      limits.max_name_bytes = kMaxNameBytes;
      limits.max_value_bytes = kMaxValueBytes;
      metrics::DecodedColumns local;
      return metrics::DecodeSeriesColumns(batch.columns(), limits, columns != nullptr ? columns : &local);
    }
    case v1::Envelope::kHealthReport: {
      const auto& checks = env.health_report().checks();
      if (checks.size() > kMaxChecks) {
        return absl::InvalidArgumentError(
            absl::StrCat("health report has ", checks.size(), " checks; the limit is ", kMaxChecks));
      }
      for (int i = 0; i < checks.size(); ++i) {
        const auto& c = checks.Get(i);
        if (c.name().empty() || !CleanText(c.name(), kMaxNameBytes) || c.reason().size() > kMaxValueBytes) {
          return absl::InvalidArgumentError(absl::StrCat(
              "health report check ", i, ": name must be non-empty, free of NUL/0x1f and at most ", kMaxNameBytes,
              " bytes; reason at most ", kMaxValueBytes, " bytes"));
        }
      }
      return absl::OkStatus();
    }
    case v1::Envelope::kServiceReport:
      return ValidateServiceReport(env.service_report());
    case v1::Envelope::kJobResult: {
      const v1::JobResult& r = env.job_result();
      if (r.job_id().empty() || !CleanText(r.job_id(), kMaxNameBytes)) {
        return absl::InvalidArgumentError(
            absl::StrCat("job result: job_id must be non-empty, free of NUL/0x1f and at most ", kMaxNameBytes, " bytes"));
      }
      if (r.output().size() > (64 << 10) + 1024 || r.message().size() > 8192) {
        return absl::InvalidArgumentError("job result: output above 64 KiB or message above 8 KiB");
      }
      return absl::OkStatus();
    }
    case v1::Envelope::kHeartbeat:
      return absl::OkStatus();
    case v1::Envelope::PAYLOAD_NOT_SET:
      return absl::InvalidArgumentError("envelope has no payload (unknown payload from a newer agent?)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEnvelopeTimes(const v1::Envelope& env, const metrics::DecodedColumns& columns,
                                   int64_t latest_ms) {
  auto late = [&](absl::string_view what, int64_t ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", ms, " is ", ms - latest_ms, " ms past the latest time the collector accepts (", latest_ms,
        ": its clock plus the allowed skew); fix the agent host's clock"));
  };
  if (env.created_ms() < 0) return absl::InvalidArgumentError("envelope created_ms is negative");
  if (env.created_ms() > latest_ms) return late("envelope created_ms", env.created_ms());
  switch (env.payload_case()) {
    case v1::Envelope::kMetricBatch:
      for (const v1::Series& s : env.metric_batch().series()) {
        for (const v1::Point& p : s.points()) {
          if (p.time_ms() > latest_ms) return late(absl::StrCat("sample of '", s.name(), "' at"), p.time_ms());
        }
      }
      for (int64_t t : columns.times) {
        if (t > latest_ms) return late("sample (columns) at", t);
      }
      break;
    case v1::Envelope::kHealthReport:
      for (const v1::CheckState& c : env.health_report().checks()) {
        if (c.time_ms() > latest_ms) return late(absl::StrCat("check '", c.name(), "' time_ms"), c.time_ms());
        if (c.since_ms() > latest_ms) return late(absl::StrCat("check '", c.name(), "' since_ms"), c.since_ms());
      }
      break;
    case v1::Envelope::kJobResult:
      if (env.job_result().started_ms() > latest_ms) return late("job result started_ms", env.job_result().started_ms());
      if (env.job_result().finished_ms() > latest_ms) {
        return late("job result finished_ms", env.job_result().finished_ms());
      }
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace steward::collector
