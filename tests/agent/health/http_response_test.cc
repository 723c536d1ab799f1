#include "agent/health/http_response.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(FindHttpHeadEnd, FindsTheBlankLine) {
  EXPECT_EQ(FindHttpHeadEnd("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), 25u);
  EXPECT_EQ(FindHttpHeadEnd("HTTP/1.1 200 OK\n\nbody"), 17u);
  EXPECT_EQ(FindHttpHeadEnd("HTTP/1.1 200 OK\r\nA: b\r\n"), absl::string_view::npos);
  EXPECT_EQ(FindHttpHeadEnd(""), absl::string_view::npos);
}

TEST(ParseHttpResponseHead, ParsesStatusAndHeaders) {
  auto head = ParseHttpResponseHead(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After:  5 "
      "\r\n\r\nbody");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->major, 1);
  EXPECT_EQ(head->minor, 1);
  EXPECT_EQ(head->status, 503);
  EXPECT_EQ(head->reason, "Service Unavailable");
  EXPECT_THAT(head->headers,
              ElementsAre(Pair("Content-Type", "text/plain"), Pair("Retry-After", "5")));
}

TEST(ParseHttpResponseHead, AcceptsLfOnlyNoReasonAndHttp10) {
  auto head = ParseHttpResponseHead("HTTP/1.0 204\nServer: tiny\n\n");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->minor, 0);
  EXPECT_EQ(head->status, 204);
  EXPECT_EQ(head->reason, "");
  EXPECT_THAT(head->headers, ElementsAre(Pair("Server", "tiny")));
}

TEST(ParseHttpResponseHead, RefusesMalformedHeads) {
  auto msg = [](absl::string_view text) {
    auto head = ParseHttpResponseHead(text);
    EXPECT_FALSE(head.ok());
    return head.ok() ? std::string() : std::string(head.status().message());
  };
  EXPECT_EQ(msg("garbage\r\n\r\n"), "malformed status line 'garbage'");
  EXPECT_EQ(msg(""), "empty response");
  EXPECT_EQ(msg("HTTP/1.1 20 OK\r\n\r\n"), "malformed status line 'HTTP/1.1 20 OK'");
  EXPECT_EQ(msg("HTTP/1.1 099 Low\r\n\r\n"), "malformed status line 'HTTP/1.1 099 Low'");
  EXPECT_EQ(msg("HTTP/1.1 2000\r\n\r\n"), "malformed status line 'HTTP/1.1 2000'");
  EXPECT_EQ(msg("HTTP/x.1 200 OK\r\n\r\n"), "malformed status line 'HTTP/x.1 200 OK'");
  EXPECT_EQ(msg("\x1b[31mHTTP/1.1 200\r\n\r\n"), "malformed status line '\\x1b[31mHTTP/1.1 200'");
  EXPECT_EQ(msg("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"),
            "header line 2: expected 'Name: value', found 'no colon here'");
  EXPECT_EQ(msg("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"),
            "header line 2: expected 'Name: value', found 'Bad Name: x'");
  EXPECT_THAT(msg("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n"),
              HasSubstr("header line 3: folded"));
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 201; ++i) many += "X: y\r\n";
  EXPECT_EQ(msg(many + "\r\n"), "more than 200 header fields");
}

}  // namespace
}  // namespace steward::agent
