#include "common/tls/pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RunProcess;
using ::testing::StartsWith;
using testing::StderrMode;
using testing::TempDir;

constexpr absl::Duration kDay = absl::Hours(24);

// ------------------------------------------------------------ test helpers

// Parsed certificate for assertions that need OpenSSL directly.
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
std::unique_ptr<X509, X509Deleter> ParseX509(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return std::unique_ptr<X509, X509Deleter>(x);
}

// DER bytes of the single PEM block in `pem`, and back.
std::string PemBody(const std::string& pem) {
  std::string b64;
  for (absl::string_view line : absl::StrSplit(pem, '\n')) {
    if (!line.empty() && line[0] != '-') absl::StrAppend(&b64, line);
  }
  std::string der;
  absl::Base64Unescape(b64, &der);
  return der;
}
std::string ToPem(const std::string& der, const std::string& label) {
  std::string b64 = absl::Base64Escape(der);
  std::string out = absl::StrCat("-----BEGIN ", label, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&out, b64.substr(i, 64), "\n");
  absl::StrAppend(&out, "-----END ", label, "-----\n");
  return out;
}

// Shared fixture: one CA, one server and one client credential (key
// generation is cheap with P-256, but no need to repeat it per test).
class PkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateSelfSignedCa("Steward Test CA", 3650 * kDay);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = new KeyAndCert(*ca);
    auto other = CreateSelfSignedCa("Other CA", 3650 * kDay);
    ASSERT_TRUE(other.ok()) << other.status();
    other_ca_ = new KeyAndCert(*other);
    auto server = IssueServerCert(*ca_, "collector", {"collector.example", "localhost"},
                                  {"127.0.0.1", "::1", "2001:db8:0:0::1"}, 365 * kDay);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = new KeyAndCert(*server);
    auto client = IssueClientCert(*ca_, "admin", 30 * kDay);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = new KeyAndCert(*client);
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
    delete server_;
    delete client_;
  }
  void TearDown() override {
    // Every function leaves the OpenSSL error queue empty, success or not.
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue not cleared";
    ERR_clear_error();
  }

  static KeyAndCert* ca_;
  static KeyAndCert* other_ca_;
  static KeyAndCert* server_;
  static KeyAndCert* client_;
};
KeyAndCert* PkiTest::ca_ = nullptr;
KeyAndCert* PkiTest::other_ca_ = nullptr;
KeyAndCert* PkiTest::server_ = nullptr;
KeyAndCert* PkiTest::client_ = nullptr;

// ------------------------------------------------------------- issuance

TEST_F(PkiTest, GeneratesPkcs8P256Key) {
  auto key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_THAT(*key, StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  BIO* bio = BIO_new_mem_buf(key->data(), static_cast<int>(key->size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(pkey, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(pkey), EVP_PKEY_EC);
  char group[64] = {};
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EVP_PKEY_free(pkey);
  auto again = GeneratePrivateKeyPem();
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*key, *again);
}

TEST_F(PkiTest, CaCertificateFields) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto ca = CreateSelfSignedCa("Fresh CA", 10 * kDay);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_THAT(ca->key_pem, StartsWith("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(ca->cert_pem, StartsWith("-----BEGIN CERTIFICATE-----"));
  auto info = InspectCert(ca->cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "Fresh CA");
  EXPECT_TRUE(info->is_ca);
  EXPECT_NEAR(info->not_before_unix, now - 300, 5);
  EXPECT_NEAR(info->not_after_unix, now + int64_t{10} * 86400, 5);
  EXPECT_THAT(info->sha256_fingerprint_hex, ::testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_THAT(info->serial_hex, ::testing::MatchesRegex("[1-9a-f][0-9a-f]{0,31}"));
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_TRUE(info->ip_addresses.empty());
  EXPECT_TRUE(CheckKeyMatchesCert(ca->key_pem, ca->cert_pem).ok());
  EXPECT_TRUE(VerifyCertIssuedBy(ca->cert_pem, ca->cert_pem).ok());

  auto x = ParseX509(ca->cert_pem);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_get_version(x.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(x.get()), nullptr);
}

TEST_F(PkiTest, ServerCertificateFields) {
  auto info = InspectCert(server_->cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "collector");
  EXPECT_FALSE(info->is_ca);
  EXPECT_THAT(info->dns_names, ElementsAre("collector.example", "localhost"));
  EXPECT_THAT(info->ip_addresses, ElementsAre("127.0.0.1", "::1", "2001:db8::1"));
  EXPECT_EQ(info->not_after_unix - info->not_before_unix, 365 * 86400 + 300);
  EXPECT_TRUE(VerifyCertIssuedBy(ca_->cert_pem, server_->cert_pem).ok());
  EXPECT_TRUE(CheckKeyMatchesCert(server_->key_pem, server_->cert_pem).ok());

  auto x = ParseX509(server_->cert_pem);
  auto ca = ParseX509(ca_->cert_pem);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_purpose(x.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  // The AKI names the CA's SKI.
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x.get());
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.get());
  ASSERT_NE(aki, nullptr);
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, ski), 0);
  EXPECT_EQ(X509_check_issued(ca.get(), x.get()), X509_V_OK);
}

TEST_F(PkiTest, ClientCertificateFields) {
  auto info = InspectCert(client_->cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "admin");
  EXPECT_FALSE(info->is_ca);
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_TRUE(VerifyCertIssuedBy(ca_->cert_pem, client_->cert_pem).ok());
  EXPECT_TRUE(CheckKeyMatchesCert(client_->key_pem, client_->cert_pem).ok());
  auto x = ParseX509(client_->cert_pem);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_purpose(x.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_NE(X509_check_purpose(x.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
}

TEST_F(PkiTest, SerialsAndFingerprintsDiffer) {
  std::set<std::string> serials, fingerprints;
  for (int i = 0; i < 8; ++i) {
    auto c = IssueClientCert(*ca_, "agent", kDay);
    ASSERT_TRUE(c.ok()) << c.status();
    auto info = InspectCert(c->cert_pem);
    ASSERT_TRUE(info.ok());
    serials.insert(info->serial_hex);
    fingerprints.insert(info->sha256_fingerprint_hex);
  }
  EXPECT_EQ(serials.size(), 8u);
  EXPECT_EQ(fingerprints.size(), 8u);
}

TEST_F(PkiTest, UnicodeCommonNameRoundTrips) {
  auto c = IssueClientCert(*ca_, "hôte-é", kDay);
  ASSERT_TRUE(c.ok()) << c.status();
  auto info = InspectCert(c->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "hôte-é");
}

// ---------------------------------------------------------- verification

TEST_F(PkiTest, CertFromAnotherCaDoesNotVerify) {
  absl::Status s = VerifyCertIssuedBy(other_ca_->cert_pem, server_->cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_THAT(s.message(), HasSubstr("unable to get local issuer certificate"));
  EXPECT_THAT(s.message(), HasSubstr("'collector'"));
  EXPECT_THAT(s.message(), HasSubstr("'Other CA'"));
  // Same CN, different key: still refused.
  auto twin = CreateSelfSignedCa("Steward Test CA", kDay);
  ASSERT_TRUE(twin.ok());
  EXPECT_EQ(VerifyCertIssuedBy(twin->cert_pem, client_->cert_pem).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(PkiTest, ExpiredAndNotYetValidCertsDoNotVerify) {
  const absl::Time now = absl::Now();
  auto expired = IssueServerCertAt(*ca_, "old", {"old.example"}, {}, kDay, now - 3 * kDay);
  ASSERT_TRUE(expired.ok()) << expired.status();
  absl::Status s = VerifyCertIssuedBy(ca_->cert_pem, expired->cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_THAT(s.message(), HasSubstr("certificate has expired"));
  // At a time inside both windows it verifies (the shared CA was created
  // just now, so use one made ten days ago).
  auto aged_ca = CreateSelfSignedCaAt("Aged CA", 3650 * kDay, now - 10 * kDay);
  ASSERT_TRUE(aged_ca.ok());
  auto aged = IssueServerCertAt(*aged_ca, "old", {"old.example"}, {}, kDay, now - 3 * kDay);
  ASSERT_TRUE(aged.ok());
  EXPECT_TRUE(VerifyCertIssuedByAt(aged_ca->cert_pem, aged->cert_pem, now - 2.5 * kDay).ok());
  EXPECT_EQ(VerifyCertIssuedByAt(aged_ca->cert_pem, aged->cert_pem, now).code(),
            absl::StatusCode::kUnauthenticated);
  // The CA's own window counts too: the shared CA did not exist back then.
  EXPECT_THAT(VerifyCertIssuedByAt(ca_->cert_pem, expired->cert_pem, now - 2.5 * kDay).message(),
              HasSubstr("not yet valid"));

  auto future = IssueClientCertAt(*ca_, "future", kDay, now + 3 * kDay);
  ASSERT_TRUE(future.ok());
  s = VerifyCertIssuedBy(ca_->cert_pem, future->cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("not yet valid"));

  // The 5-minute backdate absorbs a peer clock slightly behind.
  EXPECT_TRUE(
      VerifyCertIssuedByAt(ca_->cert_pem, client_->cert_pem, absl::Now() - absl::Minutes(4)).ok());
  // An expired CA invalidates what it issued.
  auto old_ca = CreateSelfSignedCaAt("Old CA", kDay, now - 3 * kDay);
  ASSERT_TRUE(old_ca.ok());
  auto leaf = IssueClientCert(*old_ca, "leaf", kDay);
  ASSERT_TRUE(leaf.ok());
  s = VerifyCertIssuedBy(old_ca->cert_pem, leaf->cert_pem);
  EXPECT_THAT(s.message(), HasSubstr("expired"));
}

TEST_F(PkiTest, NonCaCertificateIsNotAcceptedAsCa) {
  absl::Status s = VerifyCertIssuedBy(server_->cert_pem, server_->cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("not a CA"));
  auto issued = IssueClientCert(*server_, "x", kDay);
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(issued.status().message(), HasSubstr("not a CA"));
}

// ------------------------------------------------------------------- CSRs

TEST_F(PkiTest, CsrRoundTripUsesGivenCommonName) {
  auto key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = CreateCsrPem(*key, "what-the-agent-asked-for");
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_THAT(*csr, StartsWith("-----BEGIN CERTIFICATE REQUEST-----"));
  auto cert = SignCsr(*ca_, *csr, "agent-42", 90 * kDay);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto info = InspectCert(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "agent-42");
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->not_after_unix - info->not_before_unix, 90 * 86400 + 300);
  EXPECT_TRUE(CheckKeyMatchesCert(*key, *cert).ok());
  EXPECT_TRUE(VerifyCertIssuedBy(ca_->cert_pem, *cert).ok());
  auto x = ParseX509(*cert);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
}

TEST_F(PkiTest, TamperedCsrIsRefused) {
  auto key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = CreateCsrPem(*key, "alice");
  ASSERT_TRUE(csr.ok());
  std::string der = PemBody(*csr);
  ASSERT_FALSE(der.empty());

  // Subject changed after signing.
  std::string renamed = der;
  size_t at = renamed.find("alice");
  ASSERT_NE(at, std::string::npos);
  renamed[at] = 'm';
  auto s1 = SignCsr(*ca_, ToPem(renamed, "CERTIFICATE REQUEST"), "agent", kDay);
  EXPECT_EQ(s1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s1.status().message(), HasSubstr("CSR signature does not verify"));

  // Signature bits flipped (the last byte is inside the ECDSA 's' integer).
  std::string flipped = der;
  flipped.back() ^= 0x5a;
  auto s2 = SignCsr(*ca_, ToPem(flipped, "CERTIFICATE REQUEST"), "agent", kDay);
  EXPECT_EQ(s2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s2.status().message(), HasSubstr("CSR signature does not verify"));

  // Public key swapped for another one: the signature no longer matches.
  auto other_key = GeneratePrivateKeyPem();
  auto other_csr = CreateCsrPem(*other_key, "alice");
  ASSERT_TRUE(other_csr.ok());
  std::string other_der = PemBody(*other_csr);
  // Both CSRs have the same layout; splice the SubjectPublicKeyInfo (65-byte
  // point at the same offset) from the other one.
  std::string spliced = der;
  size_t point = der.find(std::string("\x03\x42\x00\x04", 4));
  ASSERT_NE(point, std::string::npos);
  ASSERT_EQ(other_der.find(std::string("\x03\x42\x00\x04", 4)), point);
  spliced.replace(point, 68, other_der.substr(point, 68));
  auto s3 = SignCsr(*ca_, ToPem(spliced, "CERTIFICATE REQUEST"), "agent", kDay);
  EXPECT_EQ(s3.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s3.status().message(), HasSubstr("CSR signature does not verify"));
}

// Key material made with OpenSSL directly, PEM-encoded.
std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return out;
}

TEST_F(PkiTest, CsrKeyTypes) {
  auto ed = CreateCsrPem(KeyPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), "ed");
  ASSERT_TRUE(ed.ok()) << ed.status();
  EXPECT_TRUE(SignCsr(*ca_, *ed, "ed", kDay).ok());

  auto rsa2048 = CreateCsrPem(KeyPem(EVP_RSA_gen(2048)), "rsa");
  ASSERT_TRUE(rsa2048.ok()) << rsa2048.status();
  EXPECT_TRUE(SignCsr(*ca_, *rsa2048, "rsa", kDay).ok());

  auto rsa1024 = CreateCsrPem(KeyPem(EVP_RSA_gen(1024)), "weak");
  ASSERT_TRUE(rsa1024.ok());
  auto weak = SignCsr(*ca_, *rsa1024, "weak", kDay);
  EXPECT_EQ(weak.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(weak.status().message(), HasSubstr("not acceptable"));
}

// ------------------------------------------------------ mismatches, errors

TEST_F(PkiTest, KeyCertMismatchIsDetected) {
  absl::Status s = CheckKeyMatchesCert(client_->key_pem, server_->cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("does not match"));
  EXPECT_THAT(s.message(), HasSubstr("'collector'"));
  // A CA whose key and certificate do not belong together issues nothing.
  KeyAndCert mixed{other_ca_->key_pem, ca_->cert_pem};
  auto issued = IssueServerCert(mixed, "x", {"x"}, {}, kDay);
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(issued.status().message(), HasSubstr("CA private key does not match"));
  auto csr = CreateCsrPem(client_->key_pem, "c");
  ASSERT_TRUE(csr.ok());
  EXPECT_EQ(SignCsr(mixed, *csr, "c", kDay).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, EncryptedKeyIsRefusedWithoutPrompting) {
  auto key_pem = GeneratePrivateKeyPem();
  BIO* in = BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  BIO* out = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), pass, 6, nullptr, nullptr),
            1);
  char* data;
  long len = BIO_get_mem_data(out, &data);
  std::string encrypted(data, static_cast<size_t>(len));
  BIO_free(out);
  EVP_PKEY_free(key);
  ASSERT_THAT(encrypted, HasSubstr("ENCRYPTED PRIVATE KEY"));
  auto csr = CreateCsrPem(encrypted, "x");
  EXPECT_EQ(csr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(csr.status().message(), HasSubstr("private key PEM could not be parsed"));
}

// Broken variants of a valid PEM: empty, garbage, truncated, corrupted
// base64, and the wrong kind of PEM block.
std::vector<std::pair<std::string, std::string>> BrokenPems(const std::string& good,
                                                            const std::string& wrong_kind) {
  std::string corrupted = good;
  corrupted[corrupted.size() / 2] = '!';
  std::string bad_der = ToPem(PemBody(good).substr(0, 40), "CERTIFICATE");
  return {
      {"empty", ""},
      {"garbage", "this is not a PEM file\n"},
      {"binary", std::string("\0\xff\x30\x82", 4)},
      {"truncated", good.substr(0, good.size() / 2)},
      {"no end line", good.substr(0, good.size() - 30)},
      {"corrupted base64", corrupted},
      {"truncated DER", bad_der},
      {"wrong kind", wrong_kind},
  };
}

TEST_F(PkiTest, BrokenPemsAreInvalidArgumentEverywhere) {
  auto csr = CreateCsrPem(client_->key_pem, "c");
  ASSERT_TRUE(csr.ok());
  auto expect_invalid = [](const absl::Status& s, const std::string& what,
                           const std::string& variant) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << what << " / " << variant << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(what)) << variant;
    EXPECT_EQ(ERR_peek_error(), 0u) << what << " / " << variant;
  };
  for (const auto& [variant, pem] : BrokenPems(ca_->cert_pem, client_->key_pem)) {
    expect_invalid(InspectCert(pem).status(), "certificate PEM", variant);
    expect_invalid(VerifyCertIssuedBy(pem, server_->cert_pem), "CA certificate PEM", variant);
    expect_invalid(VerifyCertIssuedBy(ca_->cert_pem, pem), "certificate PEM", variant);
    expect_invalid(CheckKeyMatchesCert(server_->key_pem, pem), "certificate PEM", variant);
    expect_invalid(IssueClientCert({ca_->key_pem, pem}, "x", kDay).status(), "CA certificate PEM",
                   variant);
    expect_invalid(IssueServerCert({ca_->key_pem, pem}, "x", {"x"}, {}, kDay).status(),
                   "CA certificate PEM", variant);
    expect_invalid(SignCsr({ca_->key_pem, pem}, *csr, "x", kDay).status(), "CA certificate PEM",
                   variant);
  }
  for (const auto& [variant, pem] : BrokenPems(client_->key_pem, client_->cert_pem)) {
    expect_invalid(CreateCsrPem(pem, "x").status(), "private key PEM", variant);
    expect_invalid(CheckKeyMatchesCert(pem, server_->cert_pem), "private key PEM", variant);
    expect_invalid(IssueClientCert({pem, ca_->cert_pem}, "x", kDay).status(), "CA private key PEM",
                   variant);
    expect_invalid(SignCsr({pem, ca_->cert_pem}, *csr, "x", kDay).status(), "CA private key PEM",
                   variant);
  }
  for (const auto& [variant, pem] : BrokenPems(*csr, client_->cert_pem)) {
    expect_invalid(SignCsr(*ca_, pem, "x", kDay).status(), "CSR PEM", variant);
  }
  // Parse failures carry OpenSSL's reason.
  auto s = SignCsr(*ca_, "junk", "x", kDay).status();
  EXPECT_THAT(s.message(), HasSubstr("CSR PEM could not be parsed: error:"));
  EXPECT_THAT(s.message(), HasSubstr("no start line"));
}

TEST_F(PkiTest, BadArgumentsAreInvalidArgument) {
  auto code = [](const auto& r) { return r.status().code(); };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(CreateSelfSignedCa("", kDay)), kInvalid);
  EXPECT_EQ(code(CreateSelfSignedCa(std::string(65, 'a'), kDay)), kInvalid);
  EXPECT_TRUE(CreateSelfSignedCa(std::string(64, 'a'), kDay).ok());
  EXPECT_EQ(code(CreateSelfSignedCa("new\nline", kDay)), kInvalid);
  EXPECT_EQ(code(CreateSelfSignedCa(std::string("nul\0", 4), kDay)), kInvalid);
  EXPECT_EQ(code(CreateSelfSignedCa("bad utf8 \xff", kDay)), kInvalid);
  EXPECT_EQ(code(CreateSelfSignedCa("ca", absl::ZeroDuration())), kInvalid);
  EXPECT_EQ(code(CreateSelfSignedCa("ca", -kDay)), kInvalid);
  EXPECT_EQ(code(CreateSelfSignedCa("ca", absl::InfiniteDuration())), kInvalid);
  EXPECT_EQ(code(IssueClientCert(*ca_, "c", -absl::Seconds(1))), kInvalid);
  EXPECT_EQ(code(IssueClientCert(*ca_, "", kDay)), kInvalid);
  EXPECT_EQ(code(SignCsr(*ca_, *CreateCsrPem(client_->key_pem, "c"), "", kDay)), kInvalid);
  EXPECT_EQ(code(CreateCsrPem(client_->key_pem, "")), kInvalid);

  auto server = [&](const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
    return IssueServerCert(*ca_, "s", dns, ips, kDay);
  };
  EXPECT_EQ(code(server({}, {})), kInvalid);
  EXPECT_EQ(code(server({""}, {})), kInvalid);
  EXPECT_EQ(code(server({"a b"}, {})), kInvalid);
  EXPECT_EQ(code(server({"a,DNS:evil"}, {})), kInvalid);
  EXPECT_EQ(code(server({std::string(254, 'a')}, {})), kInvalid);
  EXPECT_EQ(code(server({}, {"1.2.3.4junk"})), kInvalid);
  EXPECT_EQ(code(server({}, {"300.1.1.1"})), kInvalid);
  EXPECT_EQ(code(server({}, {"1.2.3"})), kInvalid);
  EXPECT_EQ(code(server({}, {"fe80::1%eth0"})), kInvalid);
  EXPECT_EQ(code(server({}, {""})), kInvalid);
  EXPECT_THAT(server({}, {"nope"}).status().message(), HasSubstr("'nope'"));
  EXPECT_TRUE(server({"*.example.com"}, {}).ok());
  EXPECT_TRUE(server({}, {"10.0.0.1"}).ok());
}

// --------------------------------------------------- openssl CLI interop

class PkiOpensslCliTest : public PkiTest {
 protected:
  void SetUp() override {
    auto r = RunProcess({"openssl", "version"}, StderrMode::kMerge);
    if (!r.has_value() || r->exit_code != 0) GTEST_SKIP() << "openssl binary not found in PATH";
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
  }
  TempDir dir_;
};

TEST_F(PkiOpensslCliTest, VerifiesIssuedCertificates) {
  std::string ca = dir_.Write("ca.pem", ca_->cert_pem);
  std::string server = dir_.Write("server.pem", server_->cert_pem);
  std::string client = dir_.Write("client.pem", client_->cert_pem);
  std::string other = dir_.Write("other-ca.pem", other_ca_->cert_pem);

  auto r = RunProcess({"openssl", "verify", "-CAfile", ca, "-purpose", "sslserver", server},
                      StderrMode::kMerge);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0) << r->out;
  EXPECT_THAT(r->out, HasSubstr(": OK"));
  r = RunProcess({"openssl", "verify", "-CAfile", ca, "-purpose", "sslclient", client},
                 StderrMode::kMerge);
  EXPECT_EQ(r->exit_code, 0) << r->out;
  r = RunProcess({"openssl", "verify", "-CAfile", ca, "-purpose", "sslserver", client},
                 StderrMode::kMerge);
  EXPECT_NE(r->exit_code, 0) << r->out;  // clientAuth only
  r = RunProcess({"openssl", "verify", "-CAfile", other, server}, StderrMode::kMerge);
  EXPECT_NE(r->exit_code, 0) << r->out;
  r = RunProcess({"openssl", "verify", "-x509_strict", "-CAfile", ca, ca}, StderrMode::kMerge);
  EXPECT_EQ(r->exit_code, 0) << r->out;
}

TEST_F(PkiOpensslCliTest, TextDumpShowsExtensions) {
  auto r = RunProcess(
      {"openssl", "x509", "-noout", "-text", "-in", dir_.Write("server.pem", server_->cert_pem)},
      StderrMode::kMerge);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  const std::string& text = r->out;
  EXPECT_THAT(text, HasSubstr("Version: 3 (0x2)"));
  EXPECT_THAT(text, HasSubstr("ecdsa-with-SHA256"));
  EXPECT_THAT(text, HasSubstr("NIST CURVE: P-256"));
  EXPECT_THAT(text, HasSubstr("Subject: CN = collector"));
  EXPECT_THAT(text, HasSubstr("Issuer: CN = Steward Test CA"));
  EXPECT_THAT(text, HasSubstr("DNS:collector.example, DNS:localhost, IP Address:127.0.0.1"));
  EXPECT_THAT(text, HasSubstr("IP Address:0:0:0:0:0:0:0:1"));
  EXPECT_THAT(text, HasSubstr("TLS Web Server Authentication"));
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));

  r = RunProcess({"openssl", "x509", "-noout", "-text", "-in", dir_.Write("ca.pem", ca_->cert_pem)},
                 StderrMode::kMerge);
  ASSERT_EQ(r->exit_code, 0) << r->out;
  EXPECT_THAT(r->out, HasSubstr("CA:TRUE"));
  EXPECT_THAT(r->out, HasSubstr("Certificate Sign, CRL Sign"));
  EXPECT_THAT(r->out, HasSubstr("X509v3 Subject Key Identifier"));

  // The fingerprint agrees with InspectCert.
  r = RunProcess(
      {"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", dir_.path() + "/server.pem"},
      StderrMode::kMerge);
  ASSERT_EQ(r->exit_code, 0) << r->out;
  auto info = InspectCert(server_->cert_pem);
  ASSERT_TRUE(info.ok());
  std::string cli = r->out.substr(r->out.find('=') + 1);
  cli = absl::AsciiStrToLower(absl::StrReplaceAll(cli, {{":", ""}, {"\n", ""}}));
  EXPECT_EQ(cli, info->sha256_fingerprint_hex);
  r = RunProcess({"openssl", "x509", "-noout", "-serial", "-in", dir_.path() + "/server.pem"},
                 StderrMode::kMerge);
  // openssl prints whole bytes ("02c8..."); serial_hex has no leading zero
  // digits ("2c8..."), so one serial in 16 differs only by that zero.
  const std::string out = absl::AsciiStrToLower(r->out);
  absl::string_view serial = absl::StripTrailingAsciiWhitespace(out);
  ASSERT_TRUE(absl::ConsumePrefix(&serial, "serial=")) << r->out;
  size_t first = serial.find_first_not_of('0');
  EXPECT_EQ(first == absl::string_view::npos ? "0" : std::string(serial.substr(first)), info->serial_hex);
}

TEST_F(PkiOpensslCliTest, KeysAndCsrsInteroperate) {
  std::string key = dir_.Write("key.pem", server_->key_pem);
  auto r = RunProcess({"openssl", "pkey", "-in", key, "-noout", "-check"}, StderrMode::kMerge);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0) << r->out;

  // Our CSR verifies with openssl.
  auto csr = CreateCsrPem(server_->key_pem, "agent-cli");
  ASSERT_TRUE(csr.ok());
  r = RunProcess({"openssl", "req", "-verify", "-noout", "-in", dir_.Write("our.csr", *csr)},
                 StderrMode::kMerge);
  EXPECT_EQ(r->exit_code, 0) << r->out;

  // An openssl-made CSR is signed by us, with our CN, not the requested one.
  std::string cli_csr = dir_.path() + "/cli.csr";
  r = RunProcess({"openssl", "req", "-new", "-key", key, "-subj", "/CN=requested/O=Evil", "-addext",
                  "basicConstraints=critical,CA:TRUE", "-out", cli_csr},
                 StderrMode::kMerge);
  ASSERT_EQ(r->exit_code, 0) << r->out;
  std::ifstream in(cli_csr);
  std::string csr_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto cert = SignCsr(*ca_, csr_text, "agent-7", kDay);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto info = InspectCert(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "agent-7");
  EXPECT_FALSE(info->is_ca);
  r = RunProcess({"openssl", "x509", "-noout", "-subject", "-in", dir_.Write("agent.pem", *cert)},
                 StderrMode::kMerge);
  EXPECT_EQ(r->out, "subject=CN = agent-7\n");
  r = RunProcess({"openssl", "verify", "-CAfile", dir_.Write("ca.pem", ca_->cert_pem), "-purpose",
                  "sslclient", dir_.path() + "/agent.pem"},
                 StderrMode::kMerge);
  EXPECT_EQ(r->exit_code, 0) << r->out;
}

}  // namespace
}  // namespace steward
