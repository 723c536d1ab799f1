// Backup under load and restore (collector/backup/collector_backup.h), the
// broken backups restore refuses, and the store's format version.
//
// The writer feeds the same objects the collector wires (Store, TsdbStore)
// in the order its session reactor does for one envelope: the samples into
// the TSDB, then the envelope (inventory snapshot or health report) into
// the store with the agent's new seq. The oracle for the restored store is
// a fresh store given the same envelopes up to each agent's restored seq;
// for the TSDB, the generated samples.

#include "collector/backup/collector_backup.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "collector/tsdb/tsdb_store.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {
using steward::testing::TempDir;

constexpr int64_t kNow = 1'800'000'000;  // Unix seconds
constexpr int64_t kT0 = kNow * 1000;     // first sample
constexpr int kAgents = 3;
constexpr int kSeriesPerAgent = 4;

std::string AgentId(int a) { return absl::StrCat("agent-", a); }

void Enroll(Store& store, const std::string& agent_id) {
  internal::TokenRecord t;
  t.set_token_id("tok-" + agent_id);
  t.set_secret_sha256(Sha256Hex("secret"));
  t.set_created_unix(kNow - 10);
  t.set_expires_unix(kNow + 3600);
  t.set_max_uses(1);
  ASSERT_TRUE(store.PutToken(t).ok());
  internal::AgentRecord rec;
  rec.set_agent_id(agent_id);
  rec.mutable_facts()->set_hostname("host-" + agent_id);
  rec.set_enrolled_ms(kNow * 1000);
  ASSERT_TRUE(store.EnrollWithToken(t.token_id(), "secret", kNow, rec).ok());
}

// Envelope `seq` of an agent: an inventory snapshot on odd seqs, a health
// report on even ones, both naming the seq so every one changes the store.
v1::Envelope EnvelopeOf(uint64_t seq) {
  v1::Envelope env;
  env.set_seq(seq);
  env.set_created_ms(kT0 + static_cast<int64_t>(seq) * 1000);
  if (seq % 2 == 1) {
    auto* snap = env.mutable_inventory_snapshot();
    snap->mutable_facts()->set_hostname("snap-host");
    for (int i = 0; i < 5; ++i) {
      v1::SoftwareItem* item = snap->add_items();
      item->set_source("dpkg");
      item->set_name(absl::StrCat("pkg", i));
      item->set_version(absl::StrCat("1.", seq));
      item->set_arch("amd64");
    }
    snap->set_digest(absl::StrCat("d", seq));
  } else {
    for (int i = 0; i < 3; ++i) {
      v1::CheckState* c = env.mutable_health_report()->add_checks();
      c->set_name(absl::StrCat("check", i));
      c->set_type("tcp");
      c->set_status(seq % 4 == 0 ? v1::CheckState::OK : v1::CheckState::DEGRADED);
    }
  }
  return env;
}

// The samples of envelope `seq` of agent `a`: one per series, at
// kT0 + seq s, value seq * 10 + series.
std::vector<tsdb::IngestSeries> SamplesOf(int a, uint64_t seq) {
  std::vector<tsdb::IngestSeries> batch;
  for (int s = 0; s < kSeriesPerAgent; ++s) {
    tsdb::IngestSeries series;
    series.metric = "cpu_usage_percent";
    series.labels = {{"agent", AgentId(a)}, {"core", absl::StrCat(s)}};
    series.samples.push_back({kT0 + static_cast<int64_t>(seq) * 1000, static_cast<double>(seq * 10 + s)});
    batch.push_back(std::move(series));
  }
  return batch;
}

// Every (column family, key, value) of the RocksDB at `dir`.
std::map<std::string, std::map<std::string, std::string>> ReadAll(const std::string& dir) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok()) << dir;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, cfs, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 0; i < handles.size(); ++i) {
    auto& kv = out[names[i]];
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) kv[it->key().ToString()] = it->value().ToString();
    EXPECT_TRUE(it->status().ok());
    it.reset();
    db->DestroyColumnFamilyHandle(handles[i]).PermitUncheckedError();
  }
  return out;
}

class CollectorBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    ASSERT_TRUE(MakeDirs(data_ + "/pki", 0700).ok());
    ASSERT_TRUE(MakeDirs(data_ + "/artifacts/blobs", 0700).ok());
    ASSERT_TRUE(WriteFileAtomic(data_ + "/ca.pem", "CA CERT\n", 0644).ok());
    ASSERT_TRUE(WriteFileAtomic(data_ + "/pki/ca.key", "CA KEY\n", 0600).ok());
    ASSERT_TRUE(WriteFileAtomic(data_ + "/admin.conf", "collector = x\n", 0600).ok());
    auto store = Store::Open(data_ + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    tsdb::TsdbOptions options;
    options.retention_ms = 0;
    options.rollup_retention_ms = 0;
    options.now_ms = [] { return kT0; };
    auto metrics = tsdb::TsdbStore::Open(data_ + "/tsdb", options);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = std::move(*metrics);
    for (int a = 0; a < kAgents; ++a) Enroll(*store_, AgentId(a));
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<tsdb::TsdbStore> metrics_;
};

TEST_F(CollectorBackupTest, BackupUnderLoadRestoresEverythingAckedAndNothingAfter) {
  std::atomic<uint64_t> acked{0};    // every agent's envelopes up to here are stored
  std::atomic<uint64_t> started{0};  // the writer has begun envelope `started`
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    for (uint64_t seq = 1; !stop.load(); ++seq) {
      started.store(seq);
      for (int a = 0; a < kAgents; ++a) {
        if (!metrics_->Append(SamplesOf(a, seq)).ok()) failed = true;
        auto r = store_->ApplyEnvelope(AgentId(a), EnvelopeOf(seq), kNow * 1000);
        if (!r.ok() || *r != ApplyOutcome::kApplied) failed = true;
      }
      acked.store(seq);
    }
  });
  // STEWARD_BACKUP_ENVELOPES=N: back up after N envelopes per agent (a
  // bigger store, for docs/backup.md's timings); 200 by default.
  const char* env = std::getenv("STEWARD_BACKUP_ENVELOPES");
  const uint64_t before = env != nullptr ? std::strtoull(env, nullptr, 10) : 200;
  while (acked.load() < before) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const uint64_t acked_before = acked.load();
  BackupSources sources{data_, store_.get(), metrics_.get()};
  auto backup = WriteBackup(sources, dir_.path() + "/backup");
  const uint64_t started_after = started.load();
  // Keep writing after the backup too.
  while (acked.load() < started_after + 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  writer.join();
  ASSERT_FALSE(failed.load());
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_GT(backup->files, 5u);
  EXPECT_GT(backup->bytes, 0u);
  std::printf("backup of envelopes 1..%llu+ (writer at %llu after it): %llu files, %llu bytes in %lld ms\n",
              static_cast<unsigned long long>(acked_before), static_cast<unsigned long long>(started_after),
              static_cast<unsigned long long>(backup->files), static_cast<unsigned long long>(backup->bytes),
              static_cast<long long>(absl::ToInt64Milliseconds(backup->duration)));

  const std::string restored = dir_.path() + "/restored";
  auto summary = RestoreBackup(dir_.path() + "/backup", restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->files, backup->files);
  std::printf("restore (checksums verified, databases opened): %llu files, %llu bytes in %lld ms\n",
              static_cast<unsigned long long>(summary->files), static_cast<unsigned long long>(summary->bytes),
              static_cast<long long>(absl::ToInt64Milliseconds(summary->duration)));
  EXPECT_EQ(ReadFile(restored + "/pki/ca.key").value_or(""), "CA KEY\n");
  EXPECT_EQ(ReadFile(restored + "/ca.pem").value_or(""), "CA CERT\n");

  // The store: each agent's restored seq is at least everything acked
  // before the backup, at most what was started before it returned, and
  // every column family equals a fresh store's given those envelopes.
  std::map<std::string, uint64_t> restored_seq;
  {
    auto r = Store::Open(restored + "/db");
    ASSERT_TRUE(r.ok()) << r.status();
    TempDir oracle_dir;
    auto oracle = Store::Open(oracle_dir.path() + "/db");
    ASSERT_TRUE(oracle.ok());
    for (int a = 0; a < kAgents; ++a) {
      auto rec = (*r)->GetAgent(AgentId(a));
      ASSERT_TRUE(rec.ok()) << rec.status();
      const uint64_t seq = rec->last_applied_seq();
      restored_seq[AgentId(a)] = seq;
      EXPECT_GE(seq, acked_before) << AgentId(a) << ": an envelope acked before the backup is missing";
      EXPECT_LE(seq, started_after) << AgentId(a) << ": an envelope from after the backup is in it";
      Enroll(**oracle, AgentId(a));
      for (uint64_t s = 1; s <= seq; ++s) {
        ASSERT_TRUE((*oracle)->ApplyEnvelope(AgentId(a), EnvelopeOf(s), kNow * 1000).ok());
      }
    }
    r->reset();
    oracle->reset();
    auto want = ReadAll(oracle_dir.path() + "/db");
    auto got = ReadAll(restored + "/db");
    ASSERT_EQ(got.size(), want.size());
    size_t keys = 0;
    for (const auto& [cf, kv] : want) {
      ASSERT_TRUE(got.contains(cf)) << cf;
      EXPECT_EQ(got[cf].size(), kv.size()) << "column family " << cf;
      for (const auto& [k, v] : kv) {
        auto it = got[cf].find(k);
        ASSERT_NE(it, got[cf].end()) << "column family " << cf << ": key missing";
        EXPECT_EQ(it->second, v) << "column family " << cf << ": value differs";
        ++keys;
      }
    }
    EXPECT_GT(keys, 50u);
  }

  // The time series, point by point: each series holds exactly its
  // samples 1..n, n at least its agent's restored seq (the TSDB is written
  // first and copied after the store) and at most what was started.
  tsdb::TsdbOptions keep_all;
  keep_all.retention_ms = 0;
  keep_all.rollup_retention_ms = 0;
  auto m = tsdb::TsdbStore::Open(restored + "/tsdb", keep_all);
  ASSERT_TRUE(m.ok()) << m.status();
  auto refs = (*m)->Select("cpu_usage_percent", {});
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), static_cast<size_t>(kAgents * kSeriesPerAgent));
  for (const tsdb::SeriesRef& ref : *refs) {
    std::string agent, core;
    for (const auto& [name, value] : ref.labels) {
      if (name == "agent") agent = value;
      if (name == "core") core = value;
    }
    std::vector<tsdb::Sample> samples;
    ASSERT_TRUE((*m)->ReadSamples(ref.id, 0, std::numeric_limits<int64_t>::max(), &samples).ok());
    ASSERT_GE(samples.size(), restored_seq[agent]) << agent << "/" << core;
    ASSERT_LE(samples.size(), started_after) << agent << "/" << core;
    for (size_t i = 0; i < samples.size(); ++i) {
      const uint64_t seq = i + 1;
      ASSERT_EQ(samples[i].time_ms, kT0 + static_cast<int64_t>(seq) * 1000) << agent << "/" << core;
      ASSERT_EQ(samples[i].value, static_cast<double>(seq * 10 + std::stoi(core))) << agent << "/" << core;
    }
  }
}

class BrokenBackupTest : public CollectorBackupTest {
 protected:
  void SetUp() override {
    CollectorBackupTest::SetUp();
    for (uint64_t seq = 1; seq <= 5; ++seq) {
      ASSERT_TRUE(metrics_->Append(SamplesOf(0, seq)).ok());
      ASSERT_TRUE(store_->ApplyEnvelope(AgentId(0), EnvelopeOf(seq), kNow * 1000).ok());
    }
    backup_ = dir_.path() + "/backup";
    auto b = WriteBackup({data_, store_.get(), metrics_.get()}, backup_);
    ASSERT_TRUE(b.ok()) << b.status();
  }
  std::string backup_;
};

TEST_F(BrokenBackupTest, WrongChecksumIsRefusedNamingTheFile) {
  ASSERT_TRUE(WriteFileAtomic(backup_ + "/pki/ca.key", "CA KEZ\n", 0600).ok());  // same size
  auto r = RestoreBackup(backup_, dir_.path() + "/new");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "pki/ca.key")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "SHA-256")) << r.status();
  EXPECT_FALSE(FileExists(dir_.path() + "/new/db"));
}

TEST_F(BrokenBackupTest, MissingFileIsRefusedNamingIt) {
  ASSERT_EQ(std::remove((backup_ + "/ca.pem").c_str()), 0);
  auto r = RestoreBackup(backup_, dir_.path() + "/new");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "ca.pem is missing")) << r.status();
}

TEST_F(BrokenBackupTest, MissingManifestIsRefused) {
  ASSERT_EQ(std::remove((backup_ + "/MANIFEST").c_str()), 0);
  auto r = RestoreBackup(backup_, dir_.path() + "/new");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "MANIFEST is missing")) << r.status();
}

TEST_F(BrokenBackupTest, NonEmptyTargetIsRefused) {
  ASSERT_TRUE(MakeDirs(dir_.path() + "/new", 0700).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/new/something", "x", 0600).ok());
  auto r = RestoreBackup(backup_, dir_.path() + "/new");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "is not empty")) << r.status();
}

TEST_F(BrokenBackupTest, BackupIntoNonEmptyOrRelativeDirIsRefused) {
  auto again = WriteBackup({data_, store_.get(), metrics_.get()}, backup_);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(absl::StrContains(again.status().message(), "is not empty")) << again.status();
  auto relative = WriteBackup({data_, store_.get(), metrics_.get()}, "backups/today");
  ASSERT_FALSE(relative.ok());
  EXPECT_TRUE(absl::StrContains(relative.status().message(), "not an absolute path")) << relative.status();
}

TEST_F(BrokenBackupTest, ASecondBackupWhileOneIsWrittenIsRefused) {
  {
    auto running = BackupSlot::Acquire("/var/backups/steward/first");
    ASSERT_TRUE(running.ok()) << running.status();
    auto second = WriteBackup({data_, store_.get(), metrics_.get()}, dir_.path() + "/second");
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(second.status().message(),
                                  "a backup is being written already (to /var/backups/steward/first)"))
        << second.status();
    EXPECT_FALSE(FileExists(dir_.path() + "/second"));
  }
  auto after = WriteBackup({data_, store_.get(), metrics_.get()}, dir_.path() + "/second");
  EXPECT_TRUE(after.ok()) << after.status();
}

// steward-collector --verify-backup: the check alone, for a backup copied
// elsewhere or kept for months, before anyone needs it.
TEST_F(BrokenBackupTest, VerifyBackupCommandSaysIntactOrNamesTheBadFile) {
  auto ok = testing::RunProcess({STEWARD_COLLECTOR_BIN, "--verify-backup", backup_}, testing::StderrMode::kMerge);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->exit_code, 0) << ok->out;
  EXPECT_TRUE(absl::StrContains(ok->out, backup_ + ": intact: ")) << ok->out;
  EXPECT_TRUE(absl::StrContains(ok->out, "checksums verified")) << ok->out;
  ASSERT_TRUE(WriteFileAtomic(backup_ + "/pki/ca.key", "CA KEZ\n", 0600).ok());
  auto bad = testing::RunProcess({STEWARD_COLLECTOR_BIN, "--verify-backup", backup_}, testing::StderrMode::kMerge);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->exit_code, 1) << bad->out;
  EXPECT_TRUE(absl::StrContains(bad->out, "is not intact")) << bad->out;
  EXPECT_TRUE(absl::StrContains(bad->out, "pki/ca.key")) << bad->out;
  auto missing = testing::RunProcess({STEWARD_COLLECTOR_BIN, "--verify-backup", dir_.path() + "/nothing"},
                                     testing::StderrMode::kMerge);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->exit_code, 1) << missing->out;
  EXPECT_TRUE(absl::StrContains(missing->out, "MANIFEST is missing")) << missing->out;
}

// --- storage format ---

// Opens the store's RocksDB at `path` with every column family, as the
// store itself would not let a test, and applies `edit` to each family.
void EditStoreFamilies(
    const std::string& path,
    const std::function<rocksdb::Status(rocksdb::DB*, const std::string&, rocksdb::ColumnFamilyHandle*)>& edit) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options o;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  ASSERT_TRUE(rocksdb::DB::Open(o, path, cfs, &h, &raw).ok());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_TRUE(edit(raw, names[i], h[i]).ok()) << names[i];
  for (auto* x : h) raw->DestroyColumnFamilyHandle(x).PermitUncheckedError();
  delete raw;
}

// The same, for the default family only.
void EditStoreDefaultFamily(const std::string& path, const std::function<rocksdb::Status(rocksdb::DB*)>& edit) {
  EditStoreFamilies(path, [&](rocksdb::DB* db, const std::string& name, rocksdb::ColumnFamilyHandle*) {
    return name == "default" ? edit(db) : rocksdb::Status::OK();
  });
}

TEST(StoreFormat, NewStoreRecordsItsFormat) {
  TempDir dir;
  ASSERT_TRUE(Store::Open(dir.path() + "/db").ok());
  auto all = ReadAll(dir.path() + "/db");
  EXPECT_EQ(all["default"]["storage_format"], absl::StrCat(Store::kStorageFormat));
}

TEST(StoreFormat, PreviousFormatWithoutTheKeyIsMigrated) {
  TempDir dir;
  {
    auto s = Store::Open(dir.path() + "/db");
    ASSERT_TRUE(s.ok());
    Enroll(**s, "a1");
  }
  {  // Make it look like the previous format: no key.
    EditStoreDefaultFamily(dir.path() + "/db", [](rocksdb::DB* db) {
      return db->Delete(rocksdb::WriteOptions(), "storage_format");
    });
  }
  EXPECT_FALSE(ReadAll(dir.path() + "/db")["default"].contains("storage_format"));
  auto s = Store::Open(dir.path() + "/db");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->GetAgent("a1").ok());  // the data survived
  s->reset();
  EXPECT_EQ(ReadAll(dir.path() + "/db")["default"]["storage_format"], absl::StrCat(Store::kStorageFormat));
}

// Format 2 had no index of inventory by name: opening such a database
// builds it from the inventory, and every item is found by name.
TEST(StoreFormat, FormatTwoGetsItsInventoryIndexBuilt) {
  TempDir dir;
  {
    auto s = Store::Open(dir.path() + "/db");
    ASSERT_TRUE(s.ok());
    for (int a = 0; a < 3; ++a) {
      Enroll(**s, AgentId(a));
      ASSERT_TRUE((*s)->ApplyEnvelope(AgentId(a), EnvelopeOf(1), kNow * 1000).ok());
    }
  }
  // Back to format 2: the key says 2 and there is no index.
  EditStoreFamilies(dir.path() + "/db", [](rocksdb::DB* db, const std::string& name, rocksdb::ColumnFamilyHandle* h) {
    if (name == "inventory_names") return db->DropColumnFamily(h);
    if (name == "default") return db->Put(rocksdb::WriteOptions(), h, "storage_format", "2");
    return rocksdb::Status::OK();
  });
  auto s = Store::Open(dir.path() + "/db");
  ASSERT_TRUE(s.ok()) << s.status();
  auto found = (*s)->FindSoftwareByName("pkg");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), 15u);  // 5 packages on each of 3 hosts
  auto pkg3 = (*s)->FindSoftwareByName("pkg3");
  ASSERT_TRUE(pkg3.ok());
  ASSERT_EQ(pkg3->size(), 3u);
  for (const auto& hi : *pkg3) EXPECT_EQ(hi.item.name(), "pkg3");
  s->reset();
  EXPECT_EQ(ReadAll(dir.path() + "/db")["default"]["storage_format"], absl::StrCat(Store::kStorageFormat));
}

// The index follows what is stored: a later snapshot's removals and
// additions, and a removed host.
TEST(StoreFormat, InventoryIndexFollowsSnapshotsAndRemovedHosts) {
  TempDir dir;
  auto s = Store::Open(dir.path() + "/db");
  ASSERT_TRUE(s.ok());
  Enroll(**s, AgentId(0));
  Enroll(**s, AgentId(1));
  ASSERT_TRUE((*s)->ApplyEnvelope(AgentId(0), EnvelopeOf(1), kNow * 1000).ok());
  ASSERT_TRUE((*s)->ApplyEnvelope(AgentId(1), EnvelopeOf(1), kNow * 1000).ok());
  v1::Envelope next = EnvelopeOf(3);  // pkg0..pkg4 again, new versions; pkg4 goes, Pkg9 comes
  next.mutable_inventory_snapshot()->mutable_items()->RemoveLast();
  v1::SoftwareItem* added = next.mutable_inventory_snapshot()->add_items();
  added->set_source("pip");
  added->set_name("Pkg9");
  added->set_version("1");
  ASSERT_TRUE((*s)->ApplyEnvelope(AgentId(0), next, kNow * 1000).ok());

  auto versions = [&](absl::string_view prefix) {
    std::vector<std::string> out;
    auto found = (*s)->FindSoftwareByName(prefix);
    EXPECT_TRUE(found.ok()) << found.status();
    if (found.ok()) {
      for (const auto& hi : *found) out.push_back(absl::StrCat(hi.agent_id, ":", hi.item.name(), "=", hi.item.version()));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(versions("pkg4"), (V{"agent-1:pkg4=1.1"}));
  EXPECT_EQ(versions("pkg0"), (V{"agent-0:pkg0=1.3", "agent-1:pkg0=1.1"}));
  EXPECT_EQ(versions("pkg9"), (V{"agent-0:Pkg9=1"}));  // folded
  ASSERT_TRUE((*s)->RemoveAgent(AgentId(1)).ok());
  EXPECT_EQ(versions("pkg"), (V{"agent-0:Pkg9=1", "agent-0:pkg0=1.3", "agent-0:pkg1=1.3", "agent-0:pkg2=1.3",
                                "agent-0:pkg3=1.3"}));
}

TEST(StoreFormat, NewerFormatIsRefusedNamingBothVersions) {
  TempDir dir;
  ASSERT_TRUE(Store::Open(dir.path() + "/db").ok());
  {
    EditStoreDefaultFamily(dir.path() + "/db",
                           [](rocksdb::DB* db) { return db->Put(rocksdb::WriteOptions(), "storage_format", "99"); });
  }
  auto s = Store::Open(dir.path() + "/db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "storage format 99")) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), absl::StrCat("format ", Store::kStorageFormat)))
      << s.status();
}

}  // namespace
}  // namespace steward::collector
