// The agent's identity on disk: the journal that keeps key and certificate
// together across a crash, when renewal is due, expiry, and which token an
// identity was enrolled with. Certificates come from a real CA
// (common/tls/pki) with explicit clock readings, never by sleeping.
#include "agent/session/identity.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/tls/pki.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateSelfSignedCaAt("test CA", absl::Hours(24 * 365), kT0 - absl::Hours(1));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
  }

  // A key and a certificate for it valid from `at` - kCertBackdate for `ttl`.
  AgentIdentity Issue(const std::string& id, absl::Time at, absl::Duration ttl) {
    auto key = GeneratePrivateKeyPem();
    EXPECT_TRUE(key.ok());
    auto csr = CreateCsrPem(*key, "agent");
    EXPECT_TRUE(csr.ok());
    auto cert = SignCsrAt(ca_, *csr, "agent/" + id, ttl, at);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return {id, *key, cert.ok() ? *cert : ""};
  }

  testing::TempDir dir_;
  KeyAndCert ca_;
};

TEST_F(IdentityTest, StoreThenLoadRoundTrips) {
  AgentIdentity id = Issue("a1", kT0, absl::Hours(24 * 7));
  ASSERT_TRUE(StoreIdentity(dir_.path(), id).ok());
  auto loaded = LoadIdentity(dir_.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->agent_id, "a1");
  EXPECT_EQ(loaded->key_pem, id.key_pem);
  EXPECT_EQ(loaded->cert_pem, id.cert_pem);
  EXPECT_FALSE(FileExists(dir_.path() + "/identity.new"));
}

TEST_F(IdentityTest, ACrashMidSwapIsFinishedFromTheJournal) {
  AgentIdentity old_id = Issue("a1", kT0, absl::Hours(24 * 7));
  AgentIdentity renewed = Issue("a1", kT0 + absl::Hours(120), absl::Hours(24 * 7));
  ASSERT_TRUE(StoreIdentity(dir_.path(), old_id).ok());
  // As after a crash between the journal and the files: new key, old
  // certificate on disk, the journal complete.
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/identity.new",
                              absl::StrCat("a1\n", renewed.key_pem, renewed.cert_pem), 0600)
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/agent.key", renewed.key_pem, 0600).ok());
  auto loaded = LoadIdentity(dir_.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->key_pem, renewed.key_pem);
  EXPECT_EQ(loaded->cert_pem, renewed.cert_pem);
  EXPECT_FALSE(FileExists(dir_.path() + "/identity.new"));
}

TEST_F(IdentityTest, ADamagedJournalIsDroppedAndThePreviousIdentityStays) {
  AgentIdentity id = Issue("a1", kT0, absl::Hours(24 * 7));
  ASSERT_TRUE(StoreIdentity(dir_.path(), id).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/identity.new", "a1\n-----BEGIN PRIVATE KEY-----\ngarbage", 0600).ok());
  auto loaded = LoadIdentity(dir_.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->cert_pem, id.cert_pem);
  EXPECT_FALSE(FileExists(dir_.path() + "/identity.new"));
}

TEST_F(IdentityTest, AMismatchedPairIsNeverStored) {
  AgentIdentity a = Issue("a1", kT0, absl::Hours(1));
  AgentIdentity b = Issue("a1", kT0, absl::Hours(1));
  EXPECT_FALSE(StoreIdentity(dir_.path(), {"a1", a.key_pem, b.cert_pem}).ok());
  EXPECT_FALSE(FileExists(dir_.path() + "/agent.key"));
}

TEST_F(IdentityTest, RenewalIsDueWithAThirdOfTheLifetimeLeft) {
  // Valid from kT0 - 5 min (backdated for clock skew) to kT0 + 7 d: a
  // lifetime of 7 d.
  AgentIdentity id = Issue("a1", kT0, absl::Hours(24 * 7));
  const absl::Time end = kT0 + absl::Hours(24 * 7);
  const absl::Duration third = absl::Hours(24 * 7) / 3;
  EXPECT_FALSE(RenewalDue(id.cert_pem, kT0));
  EXPECT_FALSE(RenewalDue(id.cert_pem, end - third - absl::Minutes(1)));
  EXPECT_TRUE(RenewalDue(id.cert_pem, end - third + absl::Minutes(1)));
  EXPECT_TRUE(RenewalDue(id.cert_pem, end + absl::Hours(1)));
  EXPECT_FALSE(CertExpired(id.cert_pem, end - absl::Seconds(1)));
  EXPECT_TRUE(CertExpired(id.cert_pem, end));
  // A short lifetime is not due at once (the backdate is not part of it).
  AgentIdentity brief = Issue("a2", kT0, absl::Minutes(2));
  EXPECT_FALSE(RenewalDue(brief.cert_pem, kT0 + absl::Seconds(70)));
  EXPECT_TRUE(RenewalDue(brief.cert_pem, kT0 + absl::Seconds(90)));
  EXPECT_FALSE(RenewalDue("not a certificate", kT0));
  EXPECT_FALSE(CertExpired("not a certificate", kT0));
}

TEST_F(IdentityTest, RemembersWhichTokenEnrolledIt) {
  EXPECT_FALSE(EnrolledWithToken(dir_.path(), "abc.def"));
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/enroll_token.sha256", Sha256Hex("abc.def") + "\n", 0600).ok());
  EXPECT_TRUE(EnrolledWithToken(dir_.path(), " abc.def\n"));  // as read from a token file
  EXPECT_FALSE(EnrolledWithToken(dir_.path(), "abc.xyz"));
}

}  // namespace
}  // namespace steward::agent
