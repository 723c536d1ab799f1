#include "common/kv_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

TEST(KvConfig, ParsesKeysValuesCommentsAndBlankLines) {
  auto cfg = KvConfig::Parse(
      "# a comment\n"
      "\n"
      "   # indented comment\n"
      "collector = 127.0.0.1:7443\n"
      "  state_dir=/var/lib/steward  \n"
      "empty =\n"
      "with.dots-and_under9 = x=y # not a comment\n",
      "test.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->entries(), (Entries{{"collector", "127.0.0.1:7443"},
                                     {"state_dir", "/var/lib/steward"},
                                     {"empty", ""},
                                     {"with.dots-and_under9", "x=y # not a comment"}}));
  EXPECT_EQ(cfg->Get("collector"), "127.0.0.1:7443");
  EXPECT_TRUE(cfg->Has("empty"));
  EXPECT_EQ(cfg->Get("empty", "fallback"), "");
  EXPECT_FALSE(cfg->Has("missing"));
  EXPECT_EQ(cfg->Get("missing", "fallback"), "fallback");
  EXPECT_EQ(cfg->Get("missing"), "");
}

TEST(KvConfig, QuotedValuesKeepInnerWhitespace) {
  auto cfg =
      KvConfig::Parse("a = \"  spaced  \"\nb = \"\"\nc = \"say \"hi\"\"\nd = plain\"\n", "q");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->Get("a"), "  spaced  ");
  EXPECT_EQ(cfg->Get("b"), "");
  EXPECT_EQ(cfg->Get("c"), "say \"hi\"");
  EXPECT_EQ(cfg->Get("d"), "plain\"");
}

TEST(KvConfig, RepeatedKeysKeepOrderAndLastWins) {
  auto cfg =
      KvConfig::Parse("label = env=prod\nother = 1\nlabel = role=db\nlabel = env=dev\n", "r");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->GetAll("label"), (std::vector<std::string>{"env=prod", "role=db", "env=dev"}));
  EXPECT_EQ(cfg->Get("label"), "env=dev");
  EXPECT_TRUE(cfg->GetAll("none").empty());
}

TEST(KvConfig, HandlesCrlfLineEndings) {
  auto cfg = KvConfig::Parse("a = 1\r\nb = 2\r\n", "crlf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->entries(), (Entries{{"a", "1"}, {"b", "2"}}));
}

void ExpectError(absl::string_view text, const std::string& want_line,
                 const std::string& want_part) {
  auto cfg = KvConfig::Parse(text, "/etc/steward/agent.conf");
  ASSERT_FALSE(cfg.ok()) << "parsed: " << text;
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(cfg.status().message());
  EXPECT_TRUE(absl::StartsWith(msg, "/etc/steward/agent.conf line " + want_line + ": ")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, want_part)) << msg;
}

TEST(KvConfig, MissingEqualsNamesFileAndLine) {
  ExpectError("a = 1\n# c\njust words\n", "3", "expected 'key = value', found 'just words'");
}

TEST(KvConfig, BadKeyNamesFileAndLine) {
  ExpectError("Collector = x\n", "1", "invalid key 'Collector'");
  ExpectError("ok = 1\n = novalue\n", "2", "invalid key ''");
  ExpectError("a b = 1\n", "1", "invalid key 'a b'");
  ExpectError("a\n", "1", "expected 'key = value'");
  ExpectError("ok = 1\n\n\nké = 1\n", "4", "invalid key");
}

TEST(KvConfig, UnterminatedQuoteNamesFileAndLine) {
  ExpectError("a = 1\nb = \"open\n", "2", "unterminated quoted value");
  ExpectError("b = \"\n", "1", "unterminated quoted value");
}

TEST(KvConfig, NulByteNamesFileAndLine) {
  ExpectError(std::string("a = 1\nb = x\0y\n", 14), "2", "NUL byte");
}

TEST(KvConfig, UnknownKeysListsEveryUnknownEntry) {
  auto cfg =
      KvConfig::Parse("collector = a\ncolector = b\nstate_dir = c\nextra = d\ncolector = e\n", "u");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->UnknownKeys({"collector", "state_dir"}),
            (std::vector<std::string>{"colector", "extra", "colector"}));
  EXPECT_TRUE(cfg->UnknownKeys({"collector", "colector", "state_dir", "extra"}).empty());
}

TEST(KvConfig, RenderWritesHeaderAndEntries) {
  auto text = KvConfig::Render({{"collector", "127.0.0.1:1"}, {"ca_data", "QUJD"}},
                               "Steward admin credential.\nKeep it secret.");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "# Steward admin credential.\n"
            "# Keep it secret.\n"
            "collector = 127.0.0.1:1\n"
            "ca_data = QUJD\n");
}

TEST(KvConfig, RenderThenParseRoundTrips) {
  Entries entries = {{"collector", "[::1]:7443"},
                     {"label", "env=prod"},
                     {"label", "a=b=c"},
                     {"key_data", "LS0tLS1CRUdJTg=="},
                     {"empty", ""}};
  auto text = KvConfig::Render(entries, "header");
  ASSERT_TRUE(text.ok()) << text.status();
  auto cfg = KvConfig::Parse(*text, "rendered");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->entries(), entries);
}

TEST(KvConfig, RenderThenParseKeepsPaddedAndQuotedValues) {
  Entries entries = {{"a", "  padded  "}, {"b", "\"quoted\""}};
  auto text = KvConfig::Render(entries, "");
  ASSERT_TRUE(text.ok()) << text.status();
  auto cfg = KvConfig::Parse(*text, "rendered");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->entries(), entries);
}

TEST(KvConfig, RenderRefusesWhatParseCouldNotReadBack) {
  EXPECT_FALSE(KvConfig::Render({{"a", "two\nlines"}}, "").ok());
  EXPECT_FALSE(KvConfig::Render({{"a", std::string("nul\0byte", 8)}}, "").ok());
  auto bad_key = KvConfig::Render({{"Bad Key", "v"}}, "");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_TRUE(absl::StrContains(bad_key.status().message(), "Bad Key"));
}

TEST(KvConfig, LoadNamesMissingFile) {
  auto cfg = KvConfig::Load("/nonexistent-steward-dir/agent.conf");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(cfg.status().message(), "/nonexistent-steward-dir/agent.conf"));
}

TEST(KvConfig, LoadErrorsNameThePath) {
  char dir[] = "/tmp/steward-kv-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/bad.conf";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("ok = 1\nBAD\n", f);
  std::fclose(f);
  auto cfg = KvConfig::Load(path);
  ::unlink(path.c_str());
  ::rmdir(dir);
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(absl::StartsWith(cfg.status().message(), path + " line 2: ")) << cfg.status();
}

}  // namespace
}  // namespace steward
