// Store: deployments (the `deployments` column family), one record per
// rollout rewritten whole at each step (collector/deploy/rollout_engine.h).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace steward::collector {
using internal_store::FromRocks;
using internal_store::ParseRecord;

absl::Status Store::PutDeployment(const v1::Deployment& deployment) {
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(deployments_, deployment.id(), deployment.SerializeAsString()), "batch"));
  return Commit(&batch, "deployment");
}

absl::StatusOr<v1::Deployment> Store::GetDeployment(const std::string& id) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), deployments_, id, &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no deployment ", id, " (see stewardctl deploy list)"));
  RETURN_IF_ERROR(FromRocks(s, "cannot read deployment"));
  v1::Deployment d;
  RETURN_IF_ERROR(ParseRecord(bytes, "deployment", &d));
  return d;
}

absl::StatusOr<std::vector<v1::Deployment>> Store::ListDeployments(std::vector<std::string>* unreadable) {
  std::vector<v1::Deployment> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), deployments_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Deployment d;
    if (!ParseRecord(it->value().ToString(), "deployment", &d).ok()) {
      if (unreadable != nullptr) unreadable->push_back(it->key().ToString());
      continue;
    }
    out.push_back(std::move(d));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list deployments"));
  std::stable_sort(out.begin(), out.end(), [](const v1::Deployment& a, const v1::Deployment& b) {
    return a.created_ms() > b.created_ms();
  });
  return out;
}

absl::StatusOr<std::vector<std::string>> Store::ListDeploymentIds() {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), deployments_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->key().ToString());
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list deployments"));
  return out;
}

}  // namespace steward::collector
