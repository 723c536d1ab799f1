// admin.conf as the collector writes it, and damaged copies: a certificate,
// key or CA that does not parse, or a key of another credential, is named
// at load (InvalidArgument: stewardctl exits 2), never reported as "cannot
// reach the collector".

#include "collector/ctl/admin_client.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/ctl/commands.h"
#include "collector/pki/collector_pki.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class AdminCredentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A real admin.conf: the collector's PKI writes it (as on first start).
    auto pki = collector::CollectorPki::LoadOrCreate(dir_.path(), {});
    ASSERT_TRUE(pki.ok()) << pki.status();
    ASSERT_TRUE((*pki)->WriteAdminConfig("127.0.0.1:1").ok());
    auto text = ReadFile(dir_.path() + "/admin.conf");
    ASSERT_TRUE(text.ok());
    conf_ = *text;
  }

  // The PEM held base64-encoded under `key` in the original admin.conf.
  std::string Pem(const std::string& key) const {
    for (absl::string_view line : absl::StrSplit(conf_, '\n')) {
      if (absl::ConsumePrefix(&line, key + " = ")) {
        std::string pem;
        EXPECT_TRUE(absl::Base64Unescape(line, &pem));
        return pem;
      }
    }
    ADD_FAILURE() << "no " << key << " in admin.conf";
    return "";
  }

  // A copy of admin.conf with `key`'s line set to `value`; its path.
  std::string CopyWith(const std::string& key, const std::string& value) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(conf_, '\n')) {
      lines.push_back(absl::StartsWith(line, key + " = ") ? absl::StrCat(key, " = ", value)
                                                          : std::string(line));
    }
    const std::string path = absl::StrCat(dir_.path(), "/damaged-", ++copies_, ".conf");
    EXPECT_TRUE(WriteFileAtomic(path, absl::StrJoin(lines, "\n"), 0600).ok());
    return path;
  }
  std::string CopyWithPem(const std::string& key, const std::string& pem) {
    return CopyWith(key, absl::Base64Escape(pem));
  }

  testing::TempDir dir_;
  std::string conf_;
  int copies_ = 0;
};

// `pem` with the second half of its body gone (a cut-off copy and paste).
std::string Truncated(const std::string& pem) {
  std::vector<std::string> lines = absl::StrSplit(pem, '\n');
  std::vector<std::string> kept(lines.begin(), lines.begin() + static_cast<long>(lines.size() / 2));
  kept.push_back(lines[lines.size() - 2]);  // the END line
  return absl::StrJoin(kept, "\n") + "\n";
}

TEST_F(AdminCredentialTest, TheCollectorsAdminConfLoads) {
  auto cred = LoadAdminCredential(dir_.path() + "/admin.conf");
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->collector, "127.0.0.1:1");
  EXPECT_EQ(cred->cert_pem, Pem("cert_data"));
}

TEST_F(AdminCredentialTest, ADamagedCertificateKeyOrCaIsNamed) {
  struct Case {
    const char* key;
    const char* what;
  };
  for (const Case& c : {Case{"cert_data", "certificate"}, Case{"key_data", "private key"},
                        Case{"ca_data", "CA certificate"}}) {
    const std::string path = CopyWithPem(c.key, Truncated(Pem(c.key)));
    auto cred = LoadAdminCredential(path);
    ASSERT_FALSE(cred.ok()) << c.key;
    EXPECT_EQ(cred.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(cred.status().message()),
                StartsWith(absl::StrCat("the admin credential in ", path, " is not a valid ",
                                        c.what, " (", c.key, ": ")));
  }
}

TEST_F(AdminCredentialTest, AKeyOfAnotherCredentialIsNamed) {
  testing::TempDir other;
  auto pki = collector::CollectorPki::LoadOrCreate(other.path(), {});
  ASSERT_TRUE(pki.ok());
  auto other_key = ReadFile(other.path() + "/pki/admin.key");
  ASSERT_TRUE(other_key.ok()) << other_key.status();
  const std::string path = CopyWithPem("key_data", *other_key);
  auto cred = LoadAdminCredential(path);
  ASSERT_FALSE(cred.ok());
  EXPECT_EQ(cred.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(cred.status().message()),
      StartsWith("the admin credential in " + path +
                 " does not hold together: the key_data is not the key of the cert_data ("));
}

TEST_F(AdminCredentialTest, AFileReferenceNamesTheFile) {
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/admin.crt", Truncated(Pem("cert_data")), 0600).ok());
  std::string conf;
  for (absl::string_view line : absl::StrSplit(conf_, '\n')) {
    if (absl::StartsWith(line, "cert_data = ")) line = "cert_file = admin.crt";
    absl::StrAppend(&conf, line, "\n");
  }
  const std::string path = dir_.path() + "/by-file.conf";
  ASSERT_TRUE(WriteFileAtomic(path, conf, 0600).ok());
  auto cred = LoadAdminCredential(path);
  ASSERT_FALSE(cred.ok());
  EXPECT_THAT(std::string(cred.status().message()),
              HasSubstr("is not a valid certificate (cert_file " + dir_.path() + "/admin.crt: "));
}

TEST_F(AdminCredentialTest, StewardctlExitsTwoWithTheDiagnosisNotCannotReach) {
  for (const std::string& path : {CopyWithPem("cert_data", Truncated(Pem("cert_data"))),
                                  CopyWithPem("key_data", Truncated(Pem("key_data")))}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunStewardctl({"hosts", "--config", path}, "", out, err), 2) << err.str();
    EXPECT_THAT(err.str(), AllOf(HasSubstr("the admin credential in " + path + " is not a valid "),
                                 Not(HasSubstr("cannot reach"))));
    EXPECT_EQ(out.str(), "");
  }
}

}  // namespace
}  // namespace steward::ctl
