// The HTTPS listener's request parser: what a good client sends, and what
// an attacker or a broken client may send instead.
#include "collector/http/http_request.h"

#include <string>

#include "gtest/gtest.h"

namespace steward::collector::http {
namespace {

absl::StatusOr<HttpRequest> Parse(const std::string& head, HttpError* error = nullptr) {
  HttpError ignored;
  return ParseHttpRequest(head, error != nullptr ? error : &ignored);
}

TEST(HttpRequest, ParsesWhatCurlSends) {
  auto r = Parse(
      "GET /install/packages/amd64.deb?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:7444\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\nAuthorization:   Bearer abc.def  \r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/install/packages/amd64.deb");
  EXPECT_EQ(r->query, "x=1&y=2");
  EXPECT_EQ(r->minor_version, 1);
  EXPECT_EQ(r->Header("authorization"), "Bearer abc.def");
  EXPECT_EQ(r->Header("user-agent"), "curl/7.88.1");
  EXPECT_EQ(r->Header("missing"), "");
  EXPECT_EQ(QueryValue(r->query, "y"), "2");
  EXPECT_EQ(QueryValue(r->query, "z"), "");
}

TEST(HttpRequest, Http10NeedsNoHost) {
  auto r = Parse("HEAD /install/ca.pem HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->minor_version, 0);
  EXPECT_EQ(r->method, "HEAD");
}

TEST(HttpRequest, PercentEscapesAreDecodedButNotIntoSeparators) {
  auto r = Parse("GET /install/packages/amd%36%34.deb HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->path, "/install/packages/amd64.deb");
  HttpError e;
  EXPECT_FALSE(Parse("GET /install%2f..%2fetc HTTP/1.1\r\nHost: x\r\n\r\n", &e).ok());
  EXPECT_EQ(e.status, 400);
  EXPECT_FALSE(Parse("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", &e).ok());
  EXPECT_FALSE(Parse("GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", &e).ok());
  EXPECT_FALSE(Parse("GET /a% HTTP/1.1\r\nHost: x\r\n\r\n", &e).ok());
  EXPECT_FALSE(Parse("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", &e).ok());
}

TEST(HttpRequest, DotSegmentsAreRefused) {
  HttpError e;
  for (const char* target : {"/install/../etc/passwd", "/install/./ca.pem", "/..", "/install/%2e%2e/x"}) {
    auto r = Parse(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n", &e);
    EXPECT_FALSE(r.ok()) << target;
    EXPECT_EQ(e.status, 400) << target;
    EXPECT_NE(e.message.find("'..'"), std::string::npos) << e.message;
  }
}

struct Broken {
  const char* name;
  std::string head;
  int status;
  const char* says;
};

TEST(HttpRequest, BrokenHeadsGetTheirStatusAndAReason) {
  const Broken cases[] = {
      {"no blank line", "GET / HTTP/1.1\r\nHost: x\r\n", 400, "CRLF CRLF"},
      {"bare LF", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "bare CR or LF"},
      {"bare CR", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400, "bare CR or LF"},
      {"two words", "GET /\r\n\r\n", 400, "METHOD TARGET"},
      {"four words", "GET / x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "METHOD TARGET"},
      {"double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "METHOD TARGET"},
      {"method not a token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method"},
      {"not http", "GET / FTP/1.0\r\n\r\n", 400, "HTTP/1.x"},
      {"http/2", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP version"},
      {"absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "starting with '/'"},
      {"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "starting with '/'"},
      {"control byte in target", std::string("GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "not allowed"},
      {"fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "not allowed"},
      {"long target", "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "2048"},
      {"no host", "GET / HTTP/1.1\r\n\r\n", 400, "Host"},
      {"no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "no ':'"},
      {"space in name", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "not a token"},
      {"empty name", "GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", 400, "not a token"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n", 400, "obs-fold"},
      {"control in value", std::string("GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n"), 400, "control byte"},
      {"NUL in value", std::string("GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n", 29), 400, "control byte"},
      {"body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 413, "body"},
      {"bad length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length"},
      {"chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 413, "body"},
      {"too large", "GET / HTTP/1.1\r\nHost: " + std::string(9000, 'h') + "\r\n\r\n", 431, "8192"},
  };
  for (const Broken& b : cases) {
    HttpError e;
    auto r = Parse(b.head, &e);
    EXPECT_FALSE(r.ok()) << b.name;
    EXPECT_EQ(e.status, b.status) << b.name << ": " << e.message;
    EXPECT_NE(e.message.find(b.says), std::string::npos) << b.name << ": " << e.message;
    EXPECT_EQ(std::string(r.status().message()), e.message) << b.name;
  }
}

TEST(HttpRequest, ManyHeadersAreRefused) {
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 70; ++i) head += "X-" + std::to_string(i) + ": y\r\n";
  HttpError e;
  EXPECT_FALSE(Parse(head + "\r\n", &e).ok());
  EXPECT_EQ(e.status, 431);
  EXPECT_NE(e.message.find("64 headers"), std::string::npos);
}

TEST(HttpRequest, HeadLengthFindsTheEndOnly) {
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\r\nHost: x\r\n"), 0u);
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\r\n\r\nrest"), 18u);
  EXPECT_EQ(HeadLength(""), 0u);
}

}  // namespace
}  // namespace steward::collector::http
