// TsdbStore: the label index (series ids, postings) and Select.

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "collector/tsdb/label_matchers.h"
#include "collector/tsdb/tsdb_keys.h"
#include "collector/tsdb/tsdb_store.h"
#include "collector/tsdb/tsdb_store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace steward::collector::tsdb {
using internal::ToAbsl;
using internal::View;

void TsdbStore::RememberSeriesId(const std::string& key, uint64_t id) {
  // Cleared when full, like records_: a series not found here costs one
  // read of the index, and callers pass known ids back (IngestSeriesView).
  if (ids_by_key_.size() >= options_.series_id_cache) ids_by_key_.clear();
  ids_by_key_.emplace(key, id);
}

absl::StatusOr<uint64_t> TsdbStore::ResolveSeries(
    const IngestSeriesView& series, bool may_create, rocksdb::WriteBatch* batch,
    absl::flat_hash_map<std::string, uint64_t>* pending) {
  if (series.metric.empty()) return absl::InvalidArgumentError("series with an empty metric name");
  // The key is built in scratch space: a known series costs no allocation.
  std::vector<LabelView>& labels = labels_scratch_;
  labels.clear();
  for (const LabelView& label : series.labels) {
    if (!label.second.empty()) labels.push_back(label);
  }
  RETURN_IF_ERROR(keys::CanonicalLabels(&labels));
  std::string& key = key_scratch_;
  keys::SeriesKeyTo(series.metric, labels, &key);
  if (auto it = ids_by_key_.find(key); it != ids_by_key_.end()) return it->second;
  if (auto it = pending->find(key); it != pending->end()) return it->second;
  if (inflight_keys_.contains(key)) {
    return absl::UnavailableError(absl::StrCat("tsdb: series '", series.metric,
                                               "' is being created by another append; retry"));
  }

  std::string stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), series_cf_, key, &stored);
  if (s.ok()) {
    if (stored.size() != 8) {
      return absl::DataLossError(
          absl::StrCat("tsdb: series ", series.metric, ": id of ", stored.size(), " bytes"));
    }
    uint64_t id = keys::DecodeFixed64BE(stored.data());
    RememberSeriesId(key, id);
    return id;
  }
  if (!s.IsNotFound()) return ToAbsl(s, "cannot read the series index");
  if (!may_create) return 0;

  SeriesRef ref;
  ref.metric = std::string(series.metric);
  ref.counter = series.counter;
  ref.labels.reserve(labels.size());
  for (const auto& [name, value] : labels) ref.labels.emplace_back(name, value);
  ref.id = next_series_id_ + pending->size();
  auto put = [batch](rocksdb::ColumnFamilyHandle* cf, const std::string& k, const std::string& v) {
    return ToAbsl(batch->Put(cf, k, v), "cannot build a write batch");
  };
  RETURN_IF_ERROR(put(series_cf_, key, keys::IdPrefix(ref.id)));
  RETURN_IF_ERROR(put(series_cf_, keys::SeriesRecordKey(ref.id), keys::EncodeSeriesRecord(ref)));
  RETURN_IF_ERROR(
      put(postings_cf_, keys::PostingKey(keys::MetricPostingPrefix(ref.metric), ref.id), ""));
  for (const auto& [name, value] : ref.labels) {
    RETURN_IF_ERROR(
        put(postings_cf_, keys::PostingKey(keys::LabelPostingPrefix(name, value), ref.id), ""));
  }
  pending->emplace(key, ref.id);
  return ref.id;
}

void TsdbStore::NoteMetric(uint64_t id, absl::string_view metric) {
  // Ids are dense from 1; a store with more series than this leaves the
  // rest unknown (Select then reads their records).
  constexpr uint64_t kMaxNoted = uint64_t{1} << 28;
  if (id >= kMaxNoted) return;
  auto [it, added] = metric_numbers_.try_emplace(metric, 0);
  if (added) {
    metric_names_.emplace_back(metric);
    it->second = static_cast<uint32_t>(metric_names_.size());
  }
  if (metric_of_.size() <= id) metric_of_.resize(std::max<size_t>(id + 1, metric_of_.size() * 3 / 2));
  metric_of_[id] = it->second;
}

// Ids of one posting list, ascending (the id is the key's last 8 bytes).
absl::StatusOr<std::vector<uint64_t>> TsdbStore::ReadPostings(const std::string& prefix,
                                                              rocksdb::Iterator* shared) {
  std::vector<uint64_t> ids;
  std::unique_ptr<rocksdb::Iterator> own;
  rocksdb::Iterator* it = shared;
  if (it == nullptr) {
    own.reset(db_->NewIterator(rocksdb::ReadOptions(), postings_cf_));
    it = own.get();
  }
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != prefix.size() + 8) continue;  // a longer name/value sharing the prefix
    ids.push_back(keys::DecodeFixed64BE(it->key().data() + prefix.size()));
  }
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read postings"));
  return ids;
}

absl::StatusOr<size_t> TsdbStore::CountSeriesWithLabel(absl::string_view name, absl::string_view value) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> ids, ReadPostings(keys::LabelPostingPrefix(name, value)));
  return ids.size();
}

absl::StatusOr<std::vector<std::string>> TsdbStore::ReadMetricNames() {
  std::vector<std::string> names;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), postings_cf_));
  const std::string first(1, keys::kMetricPostingTag);
  for (it->Seek(first); it->Valid() && it->key().starts_with(first);) {
    absl::string_view metric;
    if (!keys::ParseMetricPostingKey(View(it->key()), &metric)) {
      return absl::DataLossError(
          absl::StrCat("tsdb: malformed metric posting key of ", it->key().size(), " bytes"));
    }
    names.emplace_back(metric);
    // Past every id of this name in one step, not one Next per series.
    it->Seek(keys::PrefixSuccessor(keys::MetricPostingPrefix(metric)));
  }
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read the metric postings"));
  return names;
}

absl::StatusOr<std::vector<std::string>> TsdbStore::SelectMetricNames(
    absl::string_view metric, const CompiledMatchers& matchers) {
  // Names known without listing: the metric, and the values of `__name__`
  // matchers that postings answer (`=`, literal alternations).
  std::optional<std::vector<std::string>> names;
  if (!metric.empty()) names = std::vector<std::string>{std::string(metric)};
  for (size_t i = 0; i < matchers.matchers().size(); ++i) {
    if (!matchers.OnMetricName(i)) continue;
    std::optional<std::vector<std::string>> values = matchers.PostingValues(i);
    if (!values.has_value()) continue;
    std::sort(values->begin(), values->end());
    values->erase(std::unique(values->begin(), values->end()), values->end());
    if (names.has_value()) {
      std::vector<std::string> both;
      std::set_intersection(names->begin(), names->end(), values->begin(), values->end(),
                            std::back_inserter(both));
      values = std::move(both);
    }
    names = std::move(values);
  }
  if (!names.has_value()) {
    if (!NamesMetrics(matchers.matchers())) {
      return absl::InvalidArgumentError(absl::StrCat("select: no metric given and no ",
                                                     kMetricNameLabel,
                                                     " matcher with = or =~ to name the metrics"));
    }
    ASSIGN_OR_RETURN(names, ReadMetricNames());
  }
  std::erase_if(*names, [&](const std::string& name) { return !matchers.MatchesMetric(name); });
  return std::move(*names);
}

absl::StatusOr<std::vector<SeriesRef>> TsdbStore::Select(
    absl::string_view metric, const std::vector<LabelMatcher>& matchers) {
  ASSIGN_OR_RETURN(CompiledMatchers compiled, CompiledMatchers::Compile(matchers));
  ASSIGN_OR_RETURN(std::vector<std::string> names, SelectMetricNames(metric, compiled));
  if (names.empty()) return std::vector<SeriesRef>();
  // One iterator for every posting list of the selection.
  std::unique_ptr<rocksdb::Iterator> postings(db_->NewIterator(rocksdb::ReadOptions(), postings_cf_));

  // Label matchers postings answer (`host="a"`, `host=~"a|b|c"`: the union
  // of three lists, not a scan), intersected.
  std::optional<std::vector<uint64_t>> labelled;
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (compiled.OnMetricName(i)) continue;  // answered by the names
    std::optional<std::vector<std::string>> values = compiled.PostingValues(i);
    if (!values.has_value()) continue;
    std::vector<uint64_t> with;
    for (const std::string& v : *values) {
      ASSIGN_OR_RETURN(std::vector<uint64_t> one,
                       ReadPostings(keys::LabelPostingPrefix(matchers[i].name, v), postings.get()));
      with.insert(with.end(), one.begin(), one.end());
    }
    if (values->size() > 1) {
      std::sort(with.begin(), with.end());
      with.erase(std::unique(with.begin(), with.end()), with.end());
    }
    if (labelled.has_value()) {
      std::vector<uint64_t> both;
      std::set_intersection(labelled->begin(), labelled->end(), with.begin(), with.end(),
                            std::back_inserter(both));
      with = std::move(both);
    }
    labelled = std::move(with);
    if (labelled->empty()) return std::vector<SeriesRef>();
  }

  // A few labelled candidates are checked against the metric in their
  // records (cached); otherwise the metrics' postings narrow them first
  // (`host="a"` of one metric among many: 20 candidates, not all series of
  // the metric).
  constexpr size_t kFewCandidates = 4096;
  std::vector<uint64_t> ids;
  if (labelled.has_value() && labelled->size() <= kFewCandidates) {
    ids = std::move(*labelled);
    // Candidates known to be of another metric need no record.
    absl::MutexLock lock(&records_mu_);
    std::vector<uint32_t> wanted;
    for (const std::string& name : names) {
      if (auto it = metric_numbers_.find(name); it != metric_numbers_.end()) wanted.push_back(it->second);
    }
    std::erase_if(ids, [&](uint64_t id) {
      const uint32_t known = id < metric_of_.size() ? metric_of_[id] : 0;
      return known != 0 && std::find(wanted.begin(), wanted.end(), known) == wanted.end();
    });
  } else {
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(std::vector<uint64_t> one,
                       ReadPostings(keys::MetricPostingPrefix(name), postings.get()));
      ids.insert(ids.end(), one.begin(), one.end());
    }
    // A series has one metric: the lists are disjoint, and only their order mixes.
    if (names.size() > 1) std::sort(ids.begin(), ids.end());
    if (labelled.has_value()) {
      std::vector<uint64_t> both;
      std::set_intersection(ids.begin(), ids.end(), labelled->begin(), labelled->end(),
                            std::back_inserter(both));
      ids = std::move(both);
    }
  }

  // The other matchers need the labels: read the candidates' records.
  const std::string posting =
      names.size() == 1 ? names[0] : absl::StrCat("one of ", names.size(), " metrics");
  return ReadSeriesRecords(ids, posting, [&](const SeriesRef& ref) {
    return (metric.empty() || ref.metric == metric) && compiled.Matches(ref.metric, ref.labels);
  });
}

absl::StatusOr<std::vector<SeriesRef>> TsdbStore::ReadSeriesRecords(
    const std::vector<uint64_t>& ids, absl::string_view posting,
    const std::function<bool(const SeriesRef&)>& keep) {
  // Cached ones first; the others are read, decoded and cached after.
  std::vector<std::optional<SeriesRef>> kept(ids.size());
  std::vector<size_t> missing;
  {
    absl::MutexLock lock(&records_mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = records_.find(ids[i]);
      if (it == records_.end()) {
        missing.push_back(i);
      } else if (keep(it->second)) {
        kept[i] = it->second;
      }
    }
  }
  if (!missing.empty()) {
    std::vector<std::string> record_keys;
    record_keys.reserve(missing.size());
    for (size_t i : missing) record_keys.push_back(keys::SeriesRecordKey(ids[i]));
    std::vector<rocksdb::Slice> slices(record_keys.begin(), record_keys.end());
    std::vector<std::string> values;
    std::vector<rocksdb::Status> statuses = db_->MultiGet(
        rocksdb::ReadOptions(), std::vector<rocksdb::ColumnFamilyHandle*>(missing.size(), series_cf_),
        slices, &values);
    std::vector<SeriesRef> decoded;
    decoded.reserve(missing.size());
    for (size_t m = 0; m < missing.size(); ++m) {
      const uint64_t id = ids[missing[m]];
      if (statuses[m].IsNotFound()) {
        return absl::DataLossError(absl::StrCat("tsdb: series ", id, " is in the postings of '",
                                                posting, "' but has no record"));
      }
      RETURN_IF_ERROR(ToAbsl(statuses[m], "cannot read series records"));
      ASSIGN_OR_RETURN(SeriesRef ref, keys::DecodeSeriesRecord(id, values[m]));
      if (keep(ref)) kept[missing[m]] = ref;
      decoded.push_back(std::move(ref));
    }
    absl::MutexLock lock(&records_mu_);
    for (const SeriesRef& ref : decoded) NoteMetric(ref.id, ref.metric);
    if (records_.size() + decoded.size() > options_.series_record_cache) records_.clear();
    if (decoded.size() <= options_.series_record_cache) {
      for (SeriesRef& ref : decoded) records_.emplace(ref.id, std::move(ref));
    }
  }
  std::vector<SeriesRef> out;
  for (auto& ref : kept) {
    if (ref) out.push_back(std::move(*ref));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> TsdbStore::MetricNamesWithLabel(absl::string_view name,
                                                                        absl::string_view value) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> ids, ReadPostings(keys::LabelPostingPrefix(name, value)));
  ASSIGN_OR_RETURN(std::vector<SeriesRef> refs,
                   ReadSeriesRecords(ids, absl::StrCat(name, "=", value),
                                     [](const SeriesRef&) { return true; }));
  std::vector<std::string> names;
  names.reserve(refs.size());
  for (SeriesRef& r : refs) names.push_back(std::move(r.metric));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace steward::collector::tsdb
