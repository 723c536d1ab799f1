// ArtifactFetcher against a real collector: artifacts pushed with
// stewardctl's push (signed or not), fetched by an enrolled agent over
// mutual TLS; trust, tampering, resuming after a partial download and after
// the collector went away mid-download.
#include "agent/artifacts/artifact_fetcher.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/artifact_commands.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "common/signing/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/signed_job.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::HasSubstr;
using steward::testing::TempDir;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

uint64_t SizeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

class ArtifactFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Start("127.0.0.1:0");
    auto cred = ctl::LoadAdminCredential(DataDir() + "/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    admin_ = ctl::MakeAdminStub(*cred);
    publisher_ = Ed25519PrivateKey::Generate();
    ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/pub.key", publisher_.ToPem(), 0600).ok());
    // An enrolled agent.
    grpc::ClientContext ctx;
    v1::CreateEnrollmentTokenRequest req;
    req.set_ttl_seconds(600);
    req.set_max_uses(1);
    v1::CreateEnrollmentTokenResponse token;
    ASSERT_TRUE(admin_->CreateEnrollmentToken(&ctx, req, &token).ok());
    v1::HostFacts facts;
    facts.set_hostname("fetcher");
    auto id = EnrollAgent(server_->address(), CaPem(), token.token(), dir_.path() + "/state", facts,
                          absl::Seconds(10));
    ASSERT_TRUE(id.ok()) << id.status();
    identity_ = *id;
  }

  void Start(const std::string& listen) {
    collector::CollectorOptions opts;
    opts.data_dir = DataDir();
    opts.listen = listen;
    opts.worker_threads = 2;
    auto server = collector::CollectorServer::Start(opts);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::string DataDir() const { return dir_.path() + "/data"; }
  std::string CaPem() const { return ReadFile(DataDir() + "/ca.pem").value(); }

  // Pushes `content` as NAME 1.0 (signed by publisher_ when `sign`); its SHA-256.
  std::string Push(const std::string& name, const std::string& content, bool sign) {
    const std::string file = dir_.path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(file, content).ok());
    ctl::PushOptions o;
    o.file = file;
    o.name = name;
    o.version = "1.0";
    o.json = true;
    if (sign) o.sign_key = dir_.path() + "/pub.key";
    std::ostringstream out;
    absl::Status st = ctl::ArtifactPush(*admin_, o, out);
    EXPECT_TRUE(st.ok()) << st;
    const std::string json = out.str();
    size_t at = json.find("\"sha256\": \"");
    const std::string sha = at == std::string::npos ? "" : json.substr(at + 11, 64);
    GiveJob(sha);
    return sha;
  }

  // The collector serves an artifact only to an agent with a job for it.
  void GiveJob(const std::string& sha) {
    grpc::ClientContext ctx;
    v1::RunJobRequest req;
    req.set_agent_id(identity_.agent_id);
    v1::JobSpec spec;
    spec.mutable_install_artifact()->set_sha256(sha);
    // Host-changing jobs carry an operator's signed statement (section 5).
    *req.mutable_spec() = testing::Signed(spec, absl::ToUnixMillis(absl::Now()), identity_.agent_id);
    v1::RunJobResponse resp;
    grpc::Status st = admin_->RunJob(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }

  ArtifactFetcher Fetcher(std::vector<Ed25519PublicKey> trusted, FetchOptions o = {}) {
    if (o.dir.empty()) o.dir = dir_.path() + "/downloads";
    o.first_backoff = absl::Milliseconds(100);
    return ArtifactFetcher(v1::AgentService::NewStub(MakeCollectorChannel(
                               server_->address(), CaPem(), &identity_, o.bytes_per_second > 0 ? kCappedWindowBytes : 0)),
                           std::move(trusted), o);
  }

  static std::string RandomBytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }

  TempDir dir_;
  std::unique_ptr<collector::CollectorServer> server_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  Ed25519PrivateKey publisher_ = Ed25519PrivateKey::Generate();
  AgentIdentity identity_;
};

TEST_F(ArtifactFetcherTest, FetchesVerifiesAndKeepsATrustedArtifact) {
  const std::string content = RandomBytes(700 << 10, 1);  // three chunks
  const std::string sha = Push("app", content, true);
  ASSERT_EQ(sha.size(), 64u);
  ArtifactFetcher fetcher = Fetcher({publisher_.public_key()});
  auto got = fetcher.Fetch(sha);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->path, dir_.path() + "/downloads/" + sha);
  EXPECT_EQ(ReadFile(got->path).value(), content);
  EXPECT_EQ(got->artifact.name(), "app");
  EXPECT_EQ(got->artifact.version(), "1.0");
  EXPECT_EQ(access((got->path + ".part").c_str(), F_OK), -1);
  // Again: the verified copy on disk, even with the collector gone.
  server_->Shutdown();
  auto again = fetcher.Fetch(sha);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->path, got->path);
}

TEST_F(ArtifactFetcherTest, RefusesWhatNoTrustedKeySignedBeforeDownloading) {
  const std::string content = RandomBytes(300 << 10, 2);
  const std::string signed_sha = Push("signed", content, true);
  const std::string unsigned_sha = Push("unsigned", RandomBytes(1000, 3), false);
  Ed25519PrivateKey stranger = Ed25519PrivateKey::Generate();

  auto by_stranger = Fetcher({stranger.public_key()}).Fetch(signed_sha);
  EXPECT_EQ(by_stranger.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(by_stranger.status()), HasSubstr("signed only by keys this agent does not trust"));
  auto not_signed = Fetcher({publisher_.public_key()}).Fetch(unsigned_sha);
  EXPECT_EQ(not_signed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(not_signed.status()), HasSubstr("is not signed"));
  auto trusting_none = Fetcher({}).Fetch(signed_sha);
  EXPECT_THAT(Msg(trusting_none.status()), HasSubstr("trusts no publisher key"));
  // Nothing of the refused content is on disk.
  for (const std::string& sha : {signed_sha, unsigned_sha}) {
    EXPECT_EQ(access((dir_.path() + "/downloads/" + sha + ".part").c_str(), F_OK), -1);
    EXPECT_EQ(access((dir_.path() + "/downloads/" + sha).c_str(), F_OK), -1);
  }
}

TEST_F(ArtifactFetcherTest, ContentChangedOnTheCollectorIsDeletedNotUsed) {
  const std::string content = RandomBytes(100 << 10, 4);
  const std::string sha = Push("app", content, true);
  // Same size, other bytes: as a disk fault or an intruder on the collector.
  const std::string blob = DataDir() + "/artifacts/blobs/" + sha;
  ASSERT_TRUE(WriteFileAtomic(blob, RandomBytes(content.size(), 5)).ok());
  auto got = Fetcher({publisher_.public_key()}).Fetch(sha);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Msg(got.status()), HasSubstr("deleted, the next fetch starts over"));
  EXPECT_EQ(access((dir_.path() + "/downloads/" + sha + ".part").c_str(), F_OK), -1);
  EXPECT_EQ(access((dir_.path() + "/downloads/" + sha).c_str(), F_OK), -1);
}

TEST_F(ArtifactFetcherTest, ContentCutShortOnTheCollectorIsDataLossNotALoop) {
  const std::string content = RandomBytes(600 << 10, 10);
  const std::string sha = Push("app", content, true);
  const std::string blob = DataDir() + "/artifacts/blobs/" + sha;
  ASSERT_TRUE(WriteFileAtomic(blob, content.substr(0, 300 << 10)).ok());
  auto got = Fetcher({publisher_.public_key()}).Fetch(sha);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  EXPECT_THAT(Msg(got.status()), HasSubstr("ends at byte 307200 on the collector, short of its 614400 bytes"));
}

TEST_F(ArtifactFetcherTest, ResumesFromAPartialDownload) {
  const std::string content = RandomBytes(600 << 10, 6);
  const std::string sha = Push("app", content, true);
  ASSERT_TRUE(MakeDirs(dir_.path() + "/downloads", 0700).ok());
  // What an agent killed mid-download left behind.
  const size_t kept = 333333;
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/downloads/" + sha + ".part", content.substr(0, kept)).ok());
  FetchOptions o;
  std::vector<uint64_t> seen;
  o.progress = [&](uint64_t done, uint64_t) { seen.push_back(done); };
  auto got = Fetcher({publisher_.public_key()}, o).Fetch(sha);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(ReadFile(got->path).value(), content);
  ASSERT_FALSE(seen.empty());
  // Only the missing bytes came: the first chunk ends one chunk past `kept`.
  EXPECT_EQ(seen.front(), kept + (256u << 10));
  EXPECT_EQ(seen.back(), content.size());
}

TEST_F(ArtifactFetcherTest, ResumesAfterTheCollectorWentAwayMidDownload) {
  const std::string content = RandomBytes(1 << 20, 7);
  const std::string sha = Push("big", content, true);
  // Slow enough (256 KiB/s) to stop the collector in the middle.
  FetchOptions o;
  o.bytes_per_second = 256 << 10;
  o.max_attempts = 20;
  const std::string address = server_->address();
  absl::StatusOr<FetchedArtifact> got;
  std::thread fetch([&] { got = Fetcher({publisher_.public_key()}, o).Fetch(sha); });
  const std::string part = dir_.path() + "/downloads/" + sha + ".part";
  for (int i = 0; i < 100 && SizeOf(part) < (256u << 10); ++i) absl::SleepFor(absl::Milliseconds(20));
  server_->Shutdown(absl::ZeroDuration());  // the stream breaks, as in a crash
  server_.reset();
  const uint64_t at_break = SizeOf(part);
  EXPECT_GT(at_break, 0u);
  EXPECT_LT(at_break, content.size());
  absl::SleepFor(absl::Milliseconds(300));
  Start(address);  // the same collector back on the same address
  fetch.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(ReadFile(got->path).value(), content);
  EXPECT_GE(got->connections, 2);  // broken, then resumed
}

TEST_F(ArtifactFetcherTest, BandwidthCapHolds) {
  const std::string content = RandomBytes(512 << 10, 8);
  const std::string sha = Push("capped", content, true);
  FetchOptions o;
  o.bytes_per_second = 1 << 20;  // 1 MiB/s: 0.5 MiB takes at least ~0.25 s after the first chunk
  const absl::Time start = absl::Now();
  auto got = Fetcher({publisher_.public_key()}, o).Fetch(sha);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(450));
}

// The agent stopping mid-download: Fetch ends at once with Cancelled and
// keeps what it has; two fetchers of one artifact take turns, and the
// second finds the first one's verified copy.
TEST_F(ArtifactFetcherTest, CancelStopsTheDownloadKeepingItsBytes) {
  const std::string content = RandomBytes(1 << 20, 9);
  const std::string sha = Push("big", content, true);
  FetchOptions o;
  o.bytes_per_second = 128 << 10;  // 8 s for the whole: the cancel comes long before
  ArtifactFetcher fetcher = Fetcher({publisher_.public_key()}, o);
  absl::StatusOr<FetchedArtifact> got;
  std::thread fetch([&] { got = fetcher.Fetch(sha); });
  const std::string part = dir_.path() + "/downloads/" + sha + ".part";
  for (int i = 0; i < 200 && SizeOf(part) < (256u << 10); ++i) absl::SleepFor(absl::Milliseconds(20));
  const absl::Time asked = absl::Now();
  fetcher.Cancel();
  fetch.join();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(2));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled) << got.status();
  EXPECT_THAT(Msg(got.status()), HasSubstr("the download resumes at its next start"));
  const uint64_t kept = SizeOf(part);
  EXPECT_GE(kept, 256u << 10);
  EXPECT_LT(kept, content.size());
  EXPECT_EQ(fetcher.Fetch(sha).status().code(), absl::StatusCode::kCancelled);  // stays cancelled

  // Two fresh fetchers at once: one downloads, the other waits for the lock
  // and then uses the verified copy without a connection.
  absl::StatusOr<FetchedArtifact> a, b;
  std::thread ta([&] { a = Fetcher({publisher_.public_key()}).Fetch(sha); });
  std::thread tb([&] { b = Fetcher({publisher_.public_key()}).Fetch(sha); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(ReadFile(a->path).value(), content);
  EXPECT_EQ(a->connections + b->connections, 1);
}

TEST_F(ArtifactFetcherTest, ArtifactWithoutAJobOfThisAgentIsRefused) {
  // Unknown, or known but not this agent's to install: the same refusal,
  // at once (no retries), so a hash reveals nothing.
  auto got = Fetcher({publisher_.public_key()}).Fetch(std::string(64, 'a'));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied) << got.status();
  EXPECT_THAT(Msg(got.status()), HasSubstr("no pending or recent job"));
  EXPECT_EQ(Fetcher({}).Fetch("nothex").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoadTrustedKeys, NamesTheBadFile) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/bad.pub", "garbage").ok());
  auto keys = ArtifactFetcher::LoadTrustedKeys({dir.path() + "/bad.pub"});
  EXPECT_THAT(Msg(keys.status()), HasSubstr(dir.path() + "/bad.pub: not a PEM public key"));
  EXPECT_EQ(ArtifactFetcher::LoadTrustedKeys({dir.path() + "/none.pub"}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace steward::agent
