// Store: users (the `users` column family): who may call AdminService, with
// which role, and the serial of the one certificate that is theirs. Read on
// every admin call (collector/service/admin_gate.cc), so removing a user or
// replacing their certificate takes effect at the next call.
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

absl::Status Store::CreateUser(const internal::UserRecord& user) {
  absl::MutexLock lock(&users_mu_);
  absl::StatusOr<internal::UserRecord> existing = GetUser(user.user().name());
  if (existing.ok()) return absl::AlreadyExistsError(absl::StrCat("user '", user.user().name(), "' already exists"));
  if (!absl::IsNotFound(existing.status())) return existing.status();
  return FromRocks(db_->Put(SyncWrite(), users_, user.user().name(), user.SerializeAsString()), "cannot store user");
}

absl::Status Store::ReplaceUser(const internal::UserRecord& user) {
  absl::MutexLock lock(&users_mu_);
  RETURN_IF_ERROR(GetUser(user.user().name()).status());
  return FromRocks(db_->Put(SyncWrite(), users_, user.user().name(), user.SerializeAsString()), "cannot store user");
}

absl::StatusOr<internal::UserRecord> Store::GetUser(const std::string& name) {
  std::string bytes;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), users_, name, &bytes);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no user named '", name, "'"));
  RETURN_IF_ERROR(FromRocks(s, "cannot read user"));
  internal::UserRecord rec;
  RETURN_IF_ERROR(ParseRecord(bytes, "user", &rec));
  return rec;
}

absl::StatusOr<std::vector<internal::UserRecord>> Store::ListUsers() {
  std::vector<internal::UserRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), users_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    internal::UserRecord rec;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "user", &rec));
    out.push_back(std::move(rec));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot list users"));
  return out;
}

absl::Status Store::DeleteUser(const std::string& name) {
  absl::MutexLock lock(&users_mu_);
  RETURN_IF_ERROR(GetUser(name).status());
  return FromRocks(db_->Delete(SyncWrite(), users_, name), "cannot delete user");
}

}  // namespace steward::collector
