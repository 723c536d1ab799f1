// Store: online checkpoints for backups (collector/backup/).

#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/checkpoint.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
using internal_store::FromRocks;

absl::Status Store::Checkpoint(const std::string& dir, uint64_t* sequence) {
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "cannot start a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: memtables are flushed first, so the copy holds
  // SST files and at most the WAL written since; sequence_number_ptr is
  // the checkpoint's own point in time.
  uint64_t seq = 0;
  RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0, &seq),
                            absl::StrCat("cannot write a checkpoint of the store to ", dir)));
  if (sequence != nullptr) *sequence = seq;
  return absl::OkStatus();
}

}  // namespace steward::collector

namespace steward::collector {

namespace {
constexpr char kStorageFormatKey[] = "storage_format";
}  // namespace

absl::Status Store::CheckStorageFormat(const std::string& dir) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), kStorageFormatKey, &value);
  uint32_t found = 1;  // a database from before the key
  if (s.ok()) {
    if (!absl::SimpleAtoi(value, &found)) {
      return absl::DataLossError(absl::StrCat(dir, ": storage_format is '", value, "', not a number"));
    }
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "cannot read the storage format");
  }
  if (found > kStorageFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " holds storage format ", found, ", newer than the format ", kStorageFormat,
        " this steward-collector knows: run the newer collector that wrote it (or restore an older backup)"));
  }
  if (found == kStorageFormat && s.ok()) return absl::OkStatus();
  // Migrations from `found` run here, one step each; 1 -> 2 only adds the
  // key; 2 -> 3 builds the index of inventory by name (nothing to do in a
  // new, empty database, which also reads as format 1).
  if (found < kStorageFormat && !s.IsNotFound()) {
    spdlog::info("{}: migrating storage format {} to {}", dir, found, kStorageFormat);
  } else if (s.IsNotFound()) {
    spdlog::info("{}: recording storage format {}", dir, kStorageFormat);
  }
  if (found < 3) RETURN_IF_ERROR(BuildInventoryNamesIndex());
  return FromRocks(db_->Put(internal_store::SyncWrite(), db_->DefaultColumnFamily(), kStorageFormatKey,
                            absl::StrCat(kStorageFormat)),
                   "cannot write the storage format");
}

}  // namespace steward::collector
