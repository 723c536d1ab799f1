#pragma once
// Tampering with a closed collector database the way someone with file
// access would: raw RocksDB edits of the `audit` column family. Shared by
// the store's audit tests and the collector's end-to-end audit test.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rocksdb/db.h"

namespace steward::collector::testing {

// Opens the database at `dir` (closed by everyone else) with all its column
// families and runs `edit` on it with the `audit` family's handle.
inline ::testing::AssertionResult EditAuditRaw(
    const std::string& dir, const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& edit) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) return ::testing::AssertionFailure() << "list column families: " << s.ToString();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles, &raw);
  if (!s.ok()) return ::testing::AssertionFailure() << "open: " << s.ToString();
  rocksdb::ColumnFamilyHandle* audit = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "audit") audit = handles[i];
  }
  if (audit != nullptr) edit(raw, audit);
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  raw->Close().PermitUncheckedError();
  delete raw;
  if (audit == nullptr) return ::testing::AssertionFailure() << "no audit column family in " << dir;
  return ::testing::AssertionSuccess();
}

// The big-endian key of audit record `seq`.
inline std::string AuditKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) key[i] = static_cast<char>(seq & 0xff);
  return key;
}

}  // namespace steward::collector::testing
