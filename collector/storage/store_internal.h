#pragma once
// Helpers shared by the store_*.cc files (not part of the Store API).

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace steward::collector::internal_store {

inline absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsIOError() || s.IsCorruption()) return absl::DataLossError(msg);
  return absl::InternalError(msg);
}

template <typename Msg>
absl::Status ParseRecord(const std::string& bytes, absl::string_view what, Msg* msg) {
  if (!msg->ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("stored ", what, " record does not parse"));
  }
  return absl::OkStatus();
}

inline rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

}  // namespace steward::collector::internal_store
