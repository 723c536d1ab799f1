#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/file_util.h"
#include "common/signing/artifact_signature.h"
#include "common/signing/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

TEST(Ed25519, SignatureVerifiesOnlyForItsMessageAndKey) {
  Ed25519PrivateKey a = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey b = Ed25519PrivateKey::Generate();
  std::string sig = a.Sign("hello");
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(a.public_key().Verify("hello", sig));
  EXPECT_FALSE(a.public_key().Verify("hellp", sig));
  EXPECT_FALSE(b.public_key().Verify("hello", sig));
  std::string flipped = sig;
  flipped[10] ^= 1;
  EXPECT_FALSE(a.public_key().Verify("hello", flipped));
  EXPECT_FALSE(a.public_key().Verify("hello", sig.substr(0, 63)));
  EXPECT_NE(a.public_key().key_id(), b.public_key().key_id());
  EXPECT_EQ(a.public_key().key_id().size(), 16u);
}

TEST(Ed25519, PemRoundTripsAndOpensslReadsIt) {
  TempDir dir;
  auto pub = GenerateKeyFiles(dir.path() + "/pub1", false);
  ASSERT_TRUE(pub.ok()) << pub.status();
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/pub1.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir.path() + "/pub1.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  auto key = ReadPrivateKeyFile(dir.path() + "/pub1.key");
  ASSERT_TRUE(key.ok()) << key.status();
  auto again = ReadPublicKeyFile(dir.path() + "/pub1.pub");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->raw(), pub->raw());
  EXPECT_EQ(key->public_key().raw(), pub->raw());
  // The openssl tool reads both files and derives the same public key.
  auto derived = testing::RunProcess({"openssl", "pkey", "-in", dir.path() + "/pub1.key", "-pubout"},
                                     testing::StderrMode::kMerge);
  ASSERT_TRUE(derived.has_value());
  EXPECT_EQ(derived->exit_code, 0) << derived->out;
  EXPECT_EQ(derived->out, pub->ToPem());
  // And a signature made here verifies with openssl.
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/msg", "artifact statement").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/sig", key->Sign("artifact statement")).ok());
  auto verified = testing::RunProcess({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir.path() + "/pub1.pub",
                                       "-rawin", "-in", dir.path() + "/msg", "-sigfile", dir.path() + "/sig"},
                                      testing::StderrMode::kMerge);
  ASSERT_TRUE(verified.has_value());
  EXPECT_EQ(verified->exit_code, 0) << verified->out;
}

TEST(Ed25519, RefusesToOverwriteKeysUnlessAsked) {
  TempDir dir;
  ASSERT_TRUE(GenerateKeyFiles(dir.path() + "/k", false).ok());
  auto second = GenerateKeyFiles(dir.path() + "/k", false);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Msg(second.status()), HasSubstr("k.key exists"));
  EXPECT_TRUE(GenerateKeyFiles(dir.path() + "/k", true).ok());
}

TEST(Ed25519, BrokenKeyFilesAreRefusedNamingThePath) {
  TempDir dir;
  const std::string p = dir.path() + "/bad";
  ASSERT_TRUE(WriteFileAtomic(p, "not a key\n").ok());
  auto priv = ReadPrivateKeyFile(p);
  EXPECT_EQ(priv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(priv.status()), HasSubstr(p + ": not an unencrypted PEM private key"));
  auto pub = ReadPublicKeyFile(p);
  EXPECT_THAT(Msg(pub.status()), HasSubstr(p + ": not a PEM public key"));
  EXPECT_EQ(ReadPublicKeyFile(dir.path() + "/missing.pub").status().code(), absl::StatusCode::kNotFound);
  // A valid PEM key of another type (P-256) is refused for what it is.
  auto ec = testing::RunProcess({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                 "-out", dir.path() + "/ec.key"},
                                testing::StderrMode::kMerge);
  ASSERT_TRUE(ec.has_value() && ec->exit_code == 0);
  EXPECT_THAT(Msg(ReadPrivateKeyFile(dir.path() + "/ec.key").status()), HasSubstr("not an Ed25519 key"));
  // A public key file given where the private key belongs.
  ASSERT_TRUE(GenerateKeyFiles(dir.path() + "/k", false).ok());
  EXPECT_THAT(Msg(ReadPrivateKeyFile(dir.path() + "/k.pub").status()), HasSubstr("not an unencrypted PEM private key"));
  EXPECT_EQ(Ed25519PublicKey::FromRaw("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ArtifactSignature, TrustedValidSignaturePasses) {
  Ed25519PrivateKey pub = Ed25519PrivateKey::Generate();
  const std::string sha(64, 'a');
  std::string sig = pub.Sign(ArtifactStatement(sha, "app", "2.0"));
  EXPECT_TRUE(CheckArtifactSignature(sha, "app", "2.0", {{pub.public_key().raw(), sig}}, {pub.public_key()}).ok());
}

TEST(ArtifactSignature, EveryWayToFailIsRefusedWithTheReason) {
  Ed25519PrivateKey pub = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey other = Ed25519PrivateKey::Generate();
  const std::string sha(64, 'a');
  const std::string sig = pub.Sign(ArtifactStatement(sha, "app", "2.0"));
  auto check = [&](absl::string_view s, absl::string_view name, absl::string_view version,
                   std::vector<ArtifactSignatureView> sigs, std::vector<Ed25519PublicKey> trusted) {
    absl::Status st = CheckArtifactSignature(s, name, version, sigs, trusted);
    EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
    return Msg(st);
  };
  const std::string raw = pub.public_key().raw();
  EXPECT_THAT(check(sha, "app", "2.0", {{raw, sig}}, {}), HasSubstr("trusts no publisher key"));
  EXPECT_THAT(check(sha, "app", "2.0", {}, {pub.public_key()}), HasSubstr("is not signed"));
  EXPECT_THAT(check(sha, "app", "2.0", {{raw, sig}}, {other.public_key()}),
              HasSubstr("signed only by keys this agent does not trust: " + pub.public_key().key_id()));
  // Content, name or version changed after signing.
  EXPECT_THAT(check(std::string(64, 'b'), "app", "2.0", {{raw, sig}}, {pub.public_key()}), HasSubstr("does not verify"));
  EXPECT_THAT(check(sha, "app2", "2.0", {{raw, sig}}, {pub.public_key()}), HasSubstr("does not verify"));
  EXPECT_THAT(check(sha, "app", "2.1", {{raw, sig}}, {pub.public_key()}), HasSubstr("does not verify"));
  // A signature by another key presented with the trusted key's bytes.
  const std::string forged = other.Sign(ArtifactStatement(sha, "app", "2.0"));
  EXPECT_THAT(check(sha, "app", "2.0", {{raw, forged}}, {pub.public_key()}), HasSubstr("does not verify"));
  // One good signature among bad ones is enough.
  EXPECT_TRUE(CheckArtifactSignature(sha, "app", "2.0", {{raw, forged}, {raw, sig}}, {pub.public_key()}).ok());
}

}  // namespace
}  // namespace steward
