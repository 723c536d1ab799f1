// Store: the audit trail (the `audit` column family). Append-only records
// keyed by a big-endian sequence number from 1; each holds the SHA-256 of
// the previous record's stored bytes (the first: of a fixed genesis string),
// and "audit_head" in `default` holds the newest record's seq and hash,
// written in the same synced batch. Editing any record's bytes, deleting
// one (the newest included) or reordering them breaks a link that
// VerifyAudit reports. Someone who can write the database can still rewrite
// the whole chain from the altered record on: compare the head hash with a
// copy kept elsewhere to catch that (docs/security.md).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace steward::collector {
using internal_store::FromRocks;
using internal_store::ParseRecord;
using internal_store::SyncWrite;

namespace {

constexpr char kHeadKey[] = "audit_head";

std::string RawSha256(absl::string_view data) { return absl::HexStringToBytes(Sha256Hex(data)); }

const std::string& Genesis() {
  static const std::string* genesis = new std::string(RawSha256("steward audit genesis"));
  return *genesis;
}

std::string SeqKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) key[i] = static_cast<char>(seq & 0xff);
  return key;
}

// False when `key` is not 8 bytes.
bool SeqOfKey(const rocksdb::Slice& key, uint64_t* seq) {
  if (key.size() != 8) return false;
  *seq = 0;
  for (size_t i = 0; i < 8; ++i) *seq = (*seq << 8) | static_cast<unsigned char>(key[i]);
  return true;
}

}  // namespace

absl::StatusOr<StoredAuditRecord> Store::AppendAudit(internal::AuditRecord record) {
  absl::MutexLock lock(&audit_mu_);
  if (!audit_head_loaded_) {
    std::string bytes;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), kHeadKey, &bytes);
    if (s.IsNotFound()) {
      audit_seq_ = 0;
      audit_hash_ = Genesis();
    } else {
      RETURN_IF_ERROR(FromRocks(s, "cannot read the audit trail's head"));
      internal::AuditHead head;
      RETURN_IF_ERROR(ParseRecord(bytes, "audit head", &head));
      audit_seq_ = head.seq();
      audit_hash_ = head.seq() == 0 ? Genesis() : head.sha256();
    }
    audit_head_loaded_ = true;
  }
  record.set_seq(audit_seq_ + 1);
  record.set_prev_sha256(audit_hash_);
  const std::string bytes = record.SerializeAsString();
  internal::AuditHead head;
  head.set_seq(record.seq());
  head.set_sha256(RawSha256(bytes));
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(audit_, SeqKey(record.seq()), bytes), "batch"));
  RETURN_IF_ERROR(FromRocks(batch.Put(db_->DefaultColumnFamily(), kHeadKey, head.SerializeAsString()), "batch"));
  RETURN_IF_ERROR(FromRocks(db_->Write(SyncWrite(), &batch), "cannot append to the audit trail"));
  audit_seq_ = head.seq();
  audit_hash_ = head.sha256();
  return StoredAuditRecord{std::move(record), absl::BytesToHexString(head.sha256())};
}

absl::StatusOr<std::vector<StoredAuditRecord>> Store::ListAudit(
    int64_t since_ms, const std::function<bool(const internal::AuditRecord&)>& keep, size_t limit,
    bool* truncated) {
  std::vector<StoredAuditRecord> out;
  *truncated = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), audit_));
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    internal::AuditRecord rec;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "audit", &rec));
    if (rec.time_ms() < since_ms) break;
    if (keep && !keep(rec)) continue;
    if (out.size() == limit) {
      *truncated = true;
      break;
    }
    out.push_back({std::move(rec), Sha256Hex(absl::string_view(it->value().data(), it->value().size()))});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the audit trail"));
  std::reverse(out.begin(), out.end());
  return out;
}

absl::StatusOr<AuditVerification> Store::VerifyAudit() {
  AuditVerification v;
  internal::AuditHead head;
  bool have_head = false;
  {
    std::string bytes;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), kHeadKey, &bytes);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s, "cannot read the audit trail's head"));
      // An unreadable head is reported below like a missing one.
      have_head = head.ParseFromString(bytes);
    }
  }
  auto bad = [&v](uint64_t seq, std::string problem) {
    v.intact = false;
    v.records = seq - 1;  // the intact prefix
    v.first_bad_seq = seq;
    v.problem = std::move(problem);
    v.head_sha256_hex.clear();
    return v;
  };

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), audit_));
  std::string prev_hash = Genesis();
  uint64_t expected = 1;
  it->SeekToFirst();
  while (it->Valid()) {
    uint64_t seq = 0;
    if (!SeqOfKey(it->key(), &seq)) {
      return bad(expected, absl::StrCat("a record with a malformed key (", it->key().size(),
                                        " bytes, not 8) where record ", expected, " should be"));
    }
    if (seq != expected) {
      return bad(expected, absl::StrCat("record ", expected, " is missing (the trail goes from record ",
                                        expected - 1, " to record ", seq, ")"));
    }
    const std::string bytes = it->value().ToString();
    internal::AuditRecord rec;
    if (!rec.ParseFromString(bytes)) {
      return bad(seq, absl::StrCat("record ", seq, " does not parse: it was altered"));
    }
    if (rec.seq() != seq) {
      return bad(seq, absl::StrCat("record ", seq, " says it is record ", rec.seq(), ": it was altered or moved"));
    }
    const std::string hash = RawSha256(bytes);
    if (rec.prev_sha256() != prev_hash) {
      if (seq == 1) return bad(1, "record 1 does not link to the genesis value: it was altered");
      // Either record seq-1 changed (its hash no longer matches this link)
      // or this record did (its link field); the next link tells which.
      it->Next();
      bool next_links_here;
      uint64_t next_seq = 0;
      internal::AuditRecord next;
      if (it->Valid() && SeqOfKey(it->key(), &next_seq) && next_seq == seq + 1 &&
          next.ParseFromString(it->value().ToString())) {
        next_links_here = next.prev_sha256() == hash;
      } else {
        next_links_here = !it->Valid() && have_head && head.seq() == seq && head.sha256() == hash;
      }
      if (next_links_here) {
        return bad(seq - 1, absl::StrCat("record ", seq - 1, " was altered: its SHA-256 no longer matches the link in record ",
                                         seq));
      }
      return bad(seq, absl::StrCat("record ", seq, " was altered: it does not link to record ", seq - 1,
                                   " and record ", seq + 1, " does not link to it"));
    }
    prev_hash = hash;
    v.records = seq;
    v.head_sha256_hex = absl::BytesToHexString(hash);
    ++expected;
    it->Next();
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the audit trail"));

  const uint64_t last = expected - 1;
  if (!have_head) {
    if (last == 0) return v;  // nothing was ever appended
    return bad(last, absl::StrCat("the trail's head record is missing or unreadable (", last,
                                  " records present): the newest may have been removed"));
  }
  if (head.seq() > last) {
    return bad(last + 1, absl::StrCat("record ", last + 1, " is missing: the trail ends at record ", last,
                                      " but its newest record is ", head.seq()));
  }
  if (head.seq() < last) {
    return bad(head.seq() + 1, absl::StrCat("records after ", head.seq(),
                                            " were not appended by the collector (the head says ", head.seq(),
                                            " records)"));
  }
  if (last > 0 && head.sha256() != prev_hash) {
    return bad(last, absl::StrCat("record ", last, " was altered: its SHA-256 no longer matches the trail's head"));
  }
  return v;
}

}  // namespace steward::collector
