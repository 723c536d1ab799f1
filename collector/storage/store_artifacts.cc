// Store: artifact metadata (the `artifacts` column family). The content
// lives in files beside the database (collector/artifacts/artifact_blobs.h).
#include <algorithm>
#include <tuple>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"

namespace steward::collector {
using internal_store::FromRocks;
using internal_store::ParseRecord;
using internal_store::SyncWrite;

absl::Status Store::PutArtifact(const v1::Artifact& artifact) {
  return FromRocks(db_->Put(SyncWrite(), artifacts_, artifact.sha256(), artifact.SerializeAsString()),
                   "cannot store artifact record");
}

absl::StatusOr<v1::Artifact> Store::GetArtifact(const std::string& sha256) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), artifacts_, sha256, &bytes);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("no artifact with SHA-256 ", sha256));
  }
  RETURN_IF_ERROR(FromRocks(s, "cannot read artifact record"));
  v1::Artifact a;
  RETURN_IF_ERROR(ParseRecord(bytes, "artifact", &a));
  return a;
}

absl::StatusOr<std::vector<v1::Artifact>> Store::ListArtifacts() {
  std::vector<v1::Artifact> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), artifacts_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Artifact a;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "artifact", &a));
    out.push_back(std::move(a));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list artifacts"));
  std::sort(out.begin(), out.end(), [](const v1::Artifact& a, const v1::Artifact& b) {
    return std::tie(a.name(), a.version(), a.sha256()) < std::tie(b.name(), b.version(), b.sha256());
  });
  return out;
}

absl::Status Store::DeleteArtifact(const std::string& sha256) {
  RETURN_IF_ERROR(GetArtifact(sha256).status());
  return FromRocks(db_->Delete(SyncWrite(), artifacts_, sha256), "cannot delete artifact record");
}

}  // namespace steward::collector
