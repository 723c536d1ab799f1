// The audit trail's hash chain on a real RocksDB: appends, listing and
// VerifyAudit against every kind of tampering a person with the database
// files could do (a changed byte, a changed link, a deleted record, the
// newest one included, a record added behind the collector's back).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/collector/storage/audit_trail_test.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using testing::AuditKey;
using testing::EditAuditRaw;

internal::AuditRecord Record(int i) {
  internal::AuditRecord r;
  r.set_time_ms(1'800'000'000'000 + i * 1000);
  r.set_who(i % 2 == 0 ? "user/alice" : "admin/admin");
  r.set_role(v1::ROLE_OPERATOR);
  r.set_method("PutCheck");
  r.set_target(absl::StrCat("check:c", i));
  r.set_peer("ipv4:127.0.0.1:5000");
  return r;
}

// A store with `n` records appended, closed again.
class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir());
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 1; i <= kRecords; ++i) {
      auto stored = (*store)->AppendAudit(Record(i));
      ASSERT_TRUE(stored.ok()) << stored.status();
      ASSERT_EQ(stored->record.seq(), static_cast<uint64_t>(i));
    }
  }
  std::string dir() const { return tmp_.path() + "/db"; }
  AuditVerification Verify() {
    auto store = Store::Open(dir());
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    auto v = (*store)->VerifyAudit();
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : AuditVerification{};
  }

  static constexpr int kRecords = 5;
  steward::testing::TempDir tmp_;
};

TEST_F(AuditChainTest, UntouchedTrailIsIntactAndHeadIsTheNewestRecordsHash) {
  AuditVerification v = Verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(v.first_bad_seq, 0u);
  auto store = Store::Open(dir());
  ASSERT_TRUE(store.ok());
  bool truncated = true;
  auto all = (*store)->ListAudit(0, nullptr, 100, &truncated);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(all->back().sha256_hex, v.head_sha256_hex);
  for (size_t i = 1; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].record.seq(), i + 1);
  }
}

TEST_F(AuditChainTest, AppendAfterReopenContinuesTheChain) {
  {
    auto store = Store::Open(dir());
    ASSERT_TRUE(store.ok());
    auto stored = (*store)->AppendAudit(Record(6));
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(stored->record.seq(), 6u);
  }
  AuditVerification v = Verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.records, 6u);
}

TEST_F(AuditChainTest, ListFiltersBySinceAndWhoAndKeepsTheNewestUnderALimit) {
  auto store = Store::Open(dir());
  ASSERT_TRUE(store.ok());
  bool truncated = false;
  auto recent = (*store)->ListAudit(Record(4).time_ms(), nullptr, 100, &truncated);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].record.seq(), 4u);
  auto alice = (*store)->ListAudit(
      0, [](const internal::AuditRecord& r) { return r.who() == "user/alice"; }, 100, &truncated);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);  // 2 and 4
  EXPECT_EQ((*alice)[1].record.seq(), 4u);
  auto newest = (*store)->ListAudit(0, nullptr, 2, &truncated);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_TRUE(truncated);
  EXPECT_EQ((*newest)[0].record.seq(), 4u);
  EXPECT_EQ((*newest)[1].record.seq(), 5u);
}

struct Tampering {
  const char* name;
  std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)> edit;
  uint64_t first_bad;
  const char* says;
};

// Flips one byte of record `seq`'s stored value at `offset` from the end.
auto FlipByte(uint64_t seq, size_t from_end) {
  return [=](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string v;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, AuditKey(seq), &v).ok());
    v[v.size() - 1 - from_end] ^= 0x01;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, AuditKey(seq), v).ok());
  };
}
auto Rewrite(uint64_t seq, std::function<void(internal::AuditRecord*)> change) {
  return [=](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string v;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, AuditKey(seq), &v).ok());
    internal::AuditRecord r;
    ASSERT_TRUE(r.ParseFromString(v));
    change(&r);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, AuditKey(seq), r.SerializeAsString()).ok());
  };
}
auto Delete(uint64_t seq) {
  return [=](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf, AuditKey(seq)).ok());
  };
}

class AuditTamperTest : public AuditChainTest, public ::testing::WithParamInterface<Tampering> {};

TEST_P(AuditTamperTest, VerifyNamesExactlyTheTamperedRecord) {
  ASSERT_TRUE(EditAuditRaw(dir(), GetParam().edit));
  AuditVerification v = Verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_seq, GetParam().first_bad) << v.problem;
  EXPECT_EQ(v.records, GetParam().first_bad - 1) << "the intact records before the bad one";
  EXPECT_TRUE(v.head_sha256_hex.empty());
  EXPECT_TRUE(absl::StrContains(v.problem, GetParam().says)) << v.problem;
}

INSTANTIATE_TEST_SUITE_P(
    Edits, AuditTamperTest,
    ::testing::Values(
        // The peer address is the record's last field: still parses, its hash changes.
        Tampering{"ByteInTheMiddleRecord", FlipByte(3, 2), 3, "record 3 was altered"},
        Tampering{"ByteInTheNewestRecord", FlipByte(5, 2), 5, "record 5 was altered"},
        Tampering{"ByteInTheFirstRecord", FlipByte(1, 2), 1, "record 1 was altered"},
        Tampering{"RewrittenWho", Rewrite(2, [](internal::AuditRecord* r) { r->set_who("user/mallory"); }), 2,
                  "record 2 was altered"},
        Tampering{"LinkFieldOfAMiddleRecord",
                  Rewrite(4, [](internal::AuditRecord* r) { r->set_prev_sha256(std::string(32, 'x')); }), 4,
                  "record 4 was altered"},
        Tampering{"LinkFieldOfTheFirstRecord",
                  Rewrite(1, [](internal::AuditRecord* r) { r->set_prev_sha256(std::string(32, 'x')); }), 1,
                  "genesis"},
        Tampering{"SeqFieldOfARecord", Rewrite(3, [](internal::AuditRecord* r) { r->set_seq(9); }), 3,
                  "says it is record 9"},
        Tampering{"MiddleRecordDeleted", Delete(3), 3, "record 3 is missing"},
        Tampering{"FirstRecordDeleted", Delete(1), 1, "record 1 is missing"},
        Tampering{"NewestRecordDeleted", Delete(5), 5, "record 5 is missing"},
        Tampering{"RecordAppendedBehindTheCollectorsBack",
                  // Correctly linked to record 5, but the head was not moved.
                  [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
                    std::string last;
                    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, AuditKey(5), &last).ok());
                    internal::AuditRecord forged = Record(6);
                    forged.set_seq(6);
                    forged.set_prev_sha256(absl::HexStringToBytes(Sha256Hex(last)));
                    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, AuditKey(6), forged.SerializeAsString()).ok());
                  },
                  6, "not appended by the collector"}),
    [](const ::testing::TestParamInfo<Tampering>& info) { return std::string(info.param.name); });

TEST(AuditTrail, EmptyTrailIsIntact) {
  steward::testing::TempDir tmp;
  auto store = Store::Open(tmp.path() + "/db");
  ASSERT_TRUE(store.ok());
  auto v = (*store)->VerifyAudit();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->intact);
  EXPECT_EQ(v->records, 0u);
}

TEST(StoreUsers, CreateGetReplaceListDelete) {
  steward::testing::TempDir tmp;
  auto opened = Store::Open(tmp.path() + "/db");
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  internal::UserRecord u;
  u.mutable_user()->set_name("alice");
  u.mutable_user()->set_role(v1::ROLE_VIEWER);
  u.mutable_user()->set_cert_serial("abc");
  ASSERT_TRUE(store.CreateUser(u).ok());
  EXPECT_EQ(store.CreateUser(u).code(), absl::StatusCode::kAlreadyExists);
  u.mutable_user()->set_cert_serial("def");
  ASSERT_TRUE(store.ReplaceUser(u).ok());
  auto got = store.GetUser("alice");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->user().cert_serial(), "def");
  auto all = store.ListUsers();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  ASSERT_TRUE(store.DeleteUser("alice").ok());
  EXPECT_EQ(store.GetUser("alice").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.DeleteUser("alice").code(), absl::StatusCode::kNotFound);
  // A removed user is not brought back by a rotation racing the removal.
  EXPECT_EQ(store.ReplaceUser(u).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace steward::collector
