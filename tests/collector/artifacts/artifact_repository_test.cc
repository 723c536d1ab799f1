// ArtifactBlobs and ArtifactRepository on a real Store and directory: header
// checks with broken input, commits that must not happen, deduplication,
// signatures, removal, and what a crash leaves behind.
#include "collector/artifacts/artifact_repository.h"

#include <dirent.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include "collector/artifacts/artifact_blobs.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/signing/artifact_signature.h"
#include "common/signing/ed25519.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using ::testing::HasSubstr;
using steward::testing::TempDir;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

int FilesIn(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

class ArtifactRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto blobs = ArtifactBlobs::Open(dir_.path() + "/artifacts");
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::move(*blobs);
    repo_ = std::make_unique<ArtifactRepository>(store_.get(), blobs_.get(), 1 << 20);
  }

  v1::PushArtifactHeader Header(const std::string& content, const std::string& name = "app",
                                const std::string& version = "1.0", const Ed25519PrivateKey* key = nullptr) {
    v1::PushArtifactHeader h;
    h.set_name(name);
    h.set_version(version);
    h.set_size(content.size());
    h.set_sha256(Sha256Hex(content));
    if (key != nullptr) {
      h.mutable_signature()->set_public_key(key->public_key().raw());
      h.mutable_signature()->set_signature(key->Sign(ArtifactStatement(h.sha256(), name, version)));
    }
    return h;
  }

  absl::StatusOr<v1::PushArtifactResponse> Push(const v1::PushArtifactHeader& h, const std::string& content) {
    RETURN_IF_ERROR(repo_->CheckHeader(h));
    auto upload = repo_->BeginUpload();
    if (!upload.ok()) return upload.status();
    // In two pieces, as chunks arrive.
    RETURN_IF_ERROR((*upload)->Append(content.substr(0, content.size() / 2)));
    RETURN_IF_ERROR((*upload)->Append(content.substr(content.size() / 2)));
    return repo_->CompletePush(h, **upload, "admin", 1'800'000'000'000);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactBlobs> blobs_;
  std::unique_ptr<ArtifactRepository> repo_;
};

TEST_F(ArtifactRepositoryTest, StoresContentAndMetadata) {
  const std::string content = "!<arch>\ndebian-binary   1342943816  0     0     100644  4         `\n2.0\n";
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  auto pushed = Push(Header(content, "app", "1.0", &key), content);
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_FALSE(pushed->already_stored());
  const v1::Artifact& a = pushed->artifact();
  EXPECT_EQ(a.kind(), "deb");
  EXPECT_EQ(a.size(), content.size());
  EXPECT_EQ(a.pushed_by(), "admin");
  ASSERT_EQ(a.signatures_size(), 1);
  EXPECT_EQ(a.signatures(0).key_id(), key.public_key().key_id());
  EXPECT_EQ(ReadFile(blobs_->PathOf(a.sha256())).value(), content);
  auto got = repo_->Get(a.sha256());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name(), "app");
  EXPECT_EQ(FilesIn(dir_.path() + "/artifacts/tmp"), 0);
}

TEST_F(ArtifactRepositoryTest, SameContentIsStoredOnceAndGainsSignatures) {
  const std::string content(5000, 'x');
  Ed25519PrivateKey a = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey b = Ed25519PrivateKey::Generate();
  ASSERT_TRUE(Push(Header(content, "app", "1.0", &a), content).ok());
  // The header alone (no bytes): the content is there.
  auto upload = repo_->BeginUpload();
  ASSERT_TRUE(upload.ok());
  auto again = repo_->CompletePush(Header(content, "app", "1.0", &b), **upload, "admin", 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_stored());
  EXPECT_EQ(again->artifact().signatures_size(), 2);
  // The same signer again adds nothing.
  auto third = Push(Header(content, "app", "1.0", &a), content);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->artifact().signatures_size(), 2);
  EXPECT_EQ(third->artifact().pushed_ms(), 1'800'000'000'000);  // the first push's
  EXPECT_EQ(FilesIn(dir_.path() + "/artifacts/blobs"), 1);
  auto list = repo_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  // Under another name or version: refused, naming what it is stored as.
  auto renamed = Push(Header(content, "app", "2.0"), content);
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(renamed.status()), HasSubstr("already stored as app 1.0"));
}

// Stored content cut short (a disk fault): a header-only push does not
// count it as stored; a push with the content repairs it.
TEST_F(ArtifactRepositoryTest, ShortStoredContentIsNotTakenAsStored) {
  const std::string content(5000, 'y');
  auto first = Push(Header(content, "app", "1.0"), content);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string blob = blobs_->PathOf(first->artifact().sha256());
  ASSERT_TRUE(WriteFileAtomic(blob, content.substr(0, 100)).ok());
  auto upload = repo_->BeginUpload();
  ASSERT_TRUE(upload.ok());
  auto header_only = repo_->CompletePush(Header(content, "app", "1.0"), **upload, "admin", 1);
  EXPECT_EQ(header_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(header_only.status()), HasSubstr("no content was sent"));
  auto repaired = Push(Header(content, "app", "1.0"), content);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(ReadFile(blob).value(), content);
}

TEST_F(ArtifactRepositoryTest, BrokenHeadersAreRefusedBeforeAnyByte) {
  const std::string content = "payload";
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  struct Case {
    std::function<void(v1::PushArtifactHeader*)> edit;
    absl::StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {[](auto* h) { h->set_name(""); }, absl::StatusCode::kInvalidArgument, "name is empty"},
      {[](auto* h) { h->set_name("-app"); }, absl::StatusCode::kInvalidArgument, "outside [A-Za-z0-9"},
      {[](auto* h) { h->set_name("a\nversion=9"); }, absl::StatusCode::kInvalidArgument, "at byte 2"},
      {[](auto* h) { h->set_name(std::string(129, 'a')); }, absl::StatusCode::kInvalidArgument, "at most 128"},
      {[](auto* h) { h->set_version("1.0 beta"); }, absl::StatusCode::kInvalidArgument, "version '1.0 beta'"},
      {[](auto* h) { h->set_sha256("ABC"); }, absl::StatusCode::kInvalidArgument, "not 64 lower-case hex"},
      {[](auto* h) { h->set_sha256(std::string(64, 'A')); }, absl::StatusCode::kInvalidArgument, "lower-case"},
      {[](auto* h) { h->set_size(2 << 20); }, absl::StatusCode::kResourceExhausted, "at most 1048576"},
      {[](auto* h) { h->mutable_signature()->set_public_key("short"); }, absl::StatusCode::kInvalidArgument,
       "signature.public_key"},
      {[](auto* h) { h->set_version("1.1"); }, absl::StatusCode::kInvalidArgument, "does not verify"},
      {[](auto* h) { h->mutable_signature()->set_signature(std::string(64, '\0')); },
       absl::StatusCode::kInvalidArgument, "does not verify"},
  };
  for (const Case& c : cases) {
    v1::PushArtifactHeader h = Header(content, "app", "1.0", &key);
    c.edit(&h);
    absl::Status st = repo_->CheckHeader(h);
    EXPECT_EQ(st.code(), c.code) << c.says << ": " << st;
    EXPECT_THAT(Msg(st), HasSubstr(c.says));
  }
  EXPECT_TRUE(repo_->CheckHeader(Header(content, "app", "", &key)).ok());  // version may be empty
}

TEST_F(ArtifactRepositoryTest, ContentNotMatchingTheHeaderIsNeverStored) {
  const std::string content = "the real bytes";
  // Other bytes of the same length, and fewer bytes.
  auto wrong = Push(Header(content), "the fake bytes");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(wrong.status()), HasSubstr("but the header said " + Sha256Hex(content)));
  auto shorter = Push(Header(content), "the real");
  EXPECT_THAT(Msg(shorter.status()), HasSubstr("has 8 bytes but the header said 14"));
  // No content at all for an artifact not stored yet.
  auto upload = repo_->BeginUpload();
  ASSERT_TRUE(upload.ok());
  auto empty = repo_->CompletePush(Header(content), **upload, "admin", 1);
  EXPECT_THAT(Msg(empty.status()), HasSubstr("no content was sent"));
  upload->reset();
  EXPECT_EQ(FilesIn(dir_.path() + "/artifacts/blobs"), 0);
  EXPECT_EQ(FilesIn(dir_.path() + "/artifacts/tmp"), 0);
  EXPECT_EQ(repo_->Get(Sha256Hex(content)).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ArtifactRepositoryTest, DeleteRemovesMetadataAndContent) {
  const std::string content = "to be removed";
  auto pushed = Push(Header(content), content);
  ASSERT_TRUE(pushed.ok());
  const std::string sha = pushed->artifact().sha256();
  ASSERT_TRUE(repo_->Delete(sha).ok());
  EXPECT_FALSE(blobs_->Has(sha));
  EXPECT_EQ(repo_->Get(sha).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->Delete(sha).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->Delete("../../etc/passwd").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ArtifactRepositoryTest, ReadAtServesRangesAndRefusesPastTheEnd) {
  const std::string content = "0123456789";
  auto pushed = Push(Header(content), content);
  ASSERT_TRUE(pushed.ok());
  const std::string sha = pushed->artifact().sha256();
  EXPECT_EQ(repo_->ReadAt(sha, 3, 4).value(), "3456");
  EXPECT_EQ(repo_->ReadAt(sha, 8, 100).value(), "89");
  EXPECT_EQ(repo_->ReadAt(sha, 10, 100).value(), "");
  EXPECT_EQ(repo_->ReadAt(sha, 11, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(repo_->ReadAt(std::string(64, 'b'), 0, 1).status().code(), absl::StatusCode::kNotFound);
}

TEST(ArtifactBlobs, OpenRemovesUploadsACrashLeftBehind) {
  TempDir dir;
  {
    auto blobs = ArtifactBlobs::Open(dir.path());
    ASSERT_TRUE(blobs.ok());
    auto upload = (*blobs)->Begin();
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Append("half an upload").ok());
    // As after kill -9: the file stays (the Upload is leaked, not destroyed).
    upload->release();
  }
  EXPECT_EQ(FilesIn(dir.path() + "/tmp"), 1);
  auto reopened = ArtifactBlobs::Open(dir.path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(FilesIn(dir.path() + "/tmp"), 0);
}

}  // namespace
}  // namespace steward::collector
