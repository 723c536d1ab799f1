#include "agent/health/http_check.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/tls/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/health/check_test_util.h"
#include "tests/agent/health/local_server.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::HasSubstr;
using testing::HttpReply;
using testing::LocalServer;
using testing::Metric;
using ::testing::Optional;
using testing::Reply;
using testing::RunOnce;
using testing::Spec;

LocalServer::Handler Always(Reply reply) {
  return [reply](const std::string&) { return reply; };
}

std::string Url(const LocalServer& s, const std::string& path = "/healthz", bool tls = false) {
  return absl::StrCat(tls ? "https" : "http", "://127.0.0.1:", s.port(), path);
}

TEST(HttpCheck, Status200IsOkAndTheRequestIsMinimalHttp11) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server, "/healthz?full=1")}}));
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_EQ(out.reason, "");
  EXPECT_THAT(Metric(out.metrics, "app_http_status", "web"), Optional(200.0));
  auto latency = Metric(out.metrics, "app_check_latency_seconds", "web");
  ASSERT_TRUE(latency.has_value());
  EXPECT_GT(*latency, 0);
  EXPECT_LT(*latency, 1);
  EXPECT_EQ(
      server.last_request(),
      absl::StrCat("GET /healthz?full=1 HTTP/1.1\r\nHost: 127.0.0.1:", server.port(),
                   "\r\nUser-Agent: steward-agent\r\nAccept: */*\r\nConnection: close\r\n\r\n"));
}

TEST(HttpCheck, UnexpectedStatusIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("503 Service Unavailable")}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "HTTP 503 (expected 200)");
  EXPECT_THAT(Metric(out.metrics, "app_http_status", "web"), Optional(503.0));
  EXPECT_TRUE(Metric(out.metrics, "app_check_latency_seconds", "web").has_value());
}

TEST(HttpCheck, ExpectStatusIsHonoured) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("503 Service Unavailable")}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}, {"expect_status", "503"}}));
  EXPECT_EQ(out.status, v1::CheckState::OK);
}

TEST(HttpCheck, SlowResponseIsDegraded) {
  LocalServer server(Always({absl::Milliseconds(100), HttpReply("200 OK")}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}, {"slow", "20ms"}}));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_THAT(out.reason, HasSubstr("slow: response took "));
  EXPECT_THAT(out.reason, HasSubstr("(slow above 20ms)"));
  EXPECT_GE(*Metric(out.metrics, "app_check_latency_seconds", "web"), 0.1);
}

TEST(HttpCheck, NoAnswerWithinTimeoutIsDown) {
  LocalServer server(Always({absl::Milliseconds(700), HttpReply("200 OK")}));
  const absl::Time start = absl::Now();
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}, {"timeout", "300ms"}}));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(650));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "timeout after 300ms waiting for the response");
  EXPECT_TRUE(out.metrics.empty());
}

TEST(HttpCheck, GarbageIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), "garbage\r\n\r\n"}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("malformed response from 127.0.0.1:", server.port(),
                                     ": malformed status line 'garbage'"));
}

TEST(HttpCheck, GarbageThenCloseIsDownAsMalformed) {
  LocalServer server(Always({absl::ZeroDuration(), "SSH-2.0-OpenSSH_9.2\r\n"}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("malformed status line 'SSH-2.0-OpenSSH_9.2'"));
}

TEST(HttpCheck, CloseWithoutAnswerIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), ""}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason,
            absl::StrCat("127.0.0.1:", server.port(), " closed the connection without a response"));
}

TEST(HttpCheck, CloseInTheHeadIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), "HTTP/1.1 200 OK\r\nContent-Le"}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("closed the connection in the response head"));
}

TEST(HttpCheck, EndlessHeadIsCutAt64KiB) {
  std::string head = "HTTP/1.1 200 OK\r\n";
  while (head.size() < 100 * 1024)
    head += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  LocalServer server(Always({absl::ZeroDuration(), head}));
  CheckOutcome out = RunOnce(Spec("web", "http", {{"url", Url(server)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("is larger than 64 KiB"));
}

TEST(HttpCheck, RefusedIsDown) {
  uint16_t port;
  {
    LocalServer gone(Always({}));
    port = gone.port();
  }
  CheckOutcome out =
      RunOnce(Spec("web", "http", {{"url", absl::StrCat("http://127.0.0.1:", port, "/")}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("connect 127.0.0.1:", port, ": Connection refused"));
}

// A CA and a server certificate for 127.0.0.1, issued once for all TLS tests.
class HttpsCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateSelfSignedCa("steward test CA", absl::Hours(1));
    ASSERT_TRUE(ca.ok()) << ca.status();
    auto server = IssueServerCert(*ca, "127.0.0.1", {}, {"127.0.0.1"}, absl::Hours(1));
    ASSERT_TRUE(server.ok()) << server.status();
    auto other_ca = CreateSelfSignedCa("another CA", absl::Hours(1));
    ASSERT_TRUE(other_ca.ok());
    ca_ = new KeyAndCert(*ca);
    server_ = new KeyAndCert(*server);
    other_ca_ = new KeyAndCert(*other_ca);
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete server_;
    delete other_ca_;
  }

  steward::testing::TempDir dir_{"health-https"};
  static KeyAndCert* ca_;
  static KeyAndCert* server_;
  static KeyAndCert* other_ca_;
};
KeyAndCert* HttpsCheck::ca_ = nullptr;
KeyAndCert* HttpsCheck::server_ = nullptr;
KeyAndCert* HttpsCheck::other_ca_ = nullptr;

TEST_F(HttpsCheck, VerifiedWithCaFileIsOk) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}), *server_);
  std::string ca_file = dir_.Write("ca.pem", ca_->cert_pem);
  CheckOutcome out =
      RunOnce(Spec("tls", "http", {{"url", Url(server, "/", true)}, {"ca_file", ca_file}}));
  EXPECT_EQ(out.status, v1::CheckState::OK) << out.reason;
  EXPECT_THAT(Metric(out.metrics, "app_http_status", "tls"), Optional(200.0));
  EXPECT_THAT(server.last_request(), HasSubstr("GET / HTTP/1.1\r\n"));
}

TEST_F(HttpsCheck, TlsWithUnexpectedStatusIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("500 Internal Server Error")}),
                     *server_);
  std::string ca_file = dir_.Write("ca.pem", ca_->cert_pem);
  CheckOutcome out =
      RunOnce(Spec("tls", "http", {{"url", Url(server, "/", true)}, {"ca_file", ca_file}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "HTTP 500 (expected 200)");
}

TEST_F(HttpsCheck, WrongCaIsDownWithTlsReason) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}), *server_);
  std::string ca_file = dir_.Write("other.pem", other_ca_->cert_pem);
  CheckOutcome out =
      RunOnce(Spec("tls", "http", {{"url", Url(server, "/", true)}, {"ca_file", ca_file}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr(absl::StrCat("TLS handshake with 127.0.0.1:", server.port(),
                                                 ": certificate verify failed: ")));
  EXPECT_THAT(out.reason, HasSubstr("local issuer certificate"));
  EXPECT_TRUE(out.metrics.empty());
}

TEST_F(HttpsCheck, SystemStoreDoesNotTrustOurCa) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}), *server_);
  CheckOutcome out = RunOnce(Spec("tls", "http", {{"url", Url(server, "/", true)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("certificate verify failed"));
}

TEST_F(HttpsCheck, HostNameMustMatchTheCertificate) {
  // The certificate names 127.0.0.1 only; "localhost" reaches the same
  // server but is not in it.
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}), *server_);
  std::string ca_file = dir_.Write("ca.pem", ca_->cert_pem);
  CheckOutcome out = RunOnce(Spec(
      "tls", "http",
      {{"url", absl::StrCat("https://localhost:", server.port(), "/")}, {"ca_file", ca_file}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("certificate verify failed: hostname mismatch"));
  EXPECT_GE(server.connections(), 1);
}

TEST_F(HttpsCheck, InsecureSkipsVerification) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}), *server_);
  std::string ca_file = dir_.Write("other.pem", other_ca_->cert_pem);
  CheckOutcome out =
      RunOnce(Spec("tls", "http",
                   {{"url", Url(server, "/", true)}, {"insecure", "true"}, {"ca_file", ca_file}}));
  EXPECT_EQ(out.status, v1::CheckState::OK) << out.reason;
}

TEST_F(HttpsCheck, MissingCaFileIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("200 OK")}), *server_);
  CheckOutcome out = RunOnce(Spec(
      "tls", "http", {{"url", Url(server, "/", true)}, {"ca_file", dir_.path() + "/missing.pem"}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("cannot load CA file " + dir_.path() + "/missing.pem"));
}

TEST_F(HttpsCheck, HttpsToAPlainServerIsDown) {
  LocalServer server(Always({absl::ZeroDuration(), HttpReply("400 Bad Request")}));
  CheckOutcome out = RunOnce(Spec("tls", "http", {{"url", Url(server, "/", true)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr(absl::StrCat("TLS handshake with 127.0.0.1:", server.port())));
}

TEST_F(HttpsCheck, HandshakeTimeout) {
  // A plain server that reads the ClientHello and never answers.
  LocalServer server(Always({absl::ZeroDuration(), ""}));
  CheckOutcome out =
      RunOnce(Spec("tls", "http", {{"url", Url(server, "/", true)}, {"timeout", "200ms"}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("timeout after 200ms in the TLS handshake with 127.0.0.1:",
                                     server.port()));
}

}  // namespace
}  // namespace steward::agent
