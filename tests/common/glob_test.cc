#include "common/glob.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

bool Match(const std::string& pattern, const std::string& name, Glob::Case fold = Glob::Case::kSensitive) {
  absl::StatusOr<Glob> g = Glob::Parse(pattern);
  EXPECT_TRUE(g.ok()) << pattern << ": " << g.status();
  return g.ok() && g->Matches(name, fold);
}

TEST(Glob, PlainNameMatchesOnlyItself) {
  EXPECT_TRUE(Match("openssl", "openssl"));
  EXPECT_FALSE(Match("openssl", "openssl-dev"));
  EXPECT_FALSE(Match("openssl", "libopenssl"));
  EXPECT_FALSE(Match("openssl", "OpenSSL"));
  auto g = Glob::Parse("openssl");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->is_literal());
  EXPECT_EQ(g->literal_prefix(), "openssl");
}

TEST(Glob, StarQuestionMarkAndClasses) {
  EXPECT_TRUE(Match("libssl*", "libssl3"));
  EXPECT_TRUE(Match("libssl*", "libssl"));
  EXPECT_FALSE(Match("libssl*", "xlibssl3"));
  EXPECT_TRUE(Match("*ssl*", "libssl3"));
  EXPECT_TRUE(Match("lib*-dev", "libssl-dev"));
  EXPECT_FALSE(Match("lib*-dev", "libssl-dev-doc"));
  EXPECT_TRUE(Match("python3.1?", "python3.11"));
  EXPECT_FALSE(Match("python3.1?", "python3.1"));
  EXPECT_TRUE(Match("libc[67]", "libc6"));
  EXPECT_FALSE(Match("libc[67]", "libc5"));
  EXPECT_TRUE(Match("lib[a-c]*", "libbz2"));
  EXPECT_FALSE(Match("lib[!a-c]*", "libbz2"));
  EXPECT_TRUE(Match("lib[^a-c]*", "libz"));
  EXPECT_TRUE(Match("[]x]", "]"));
  EXPECT_TRUE(Match("[a-]", "-"));
  EXPECT_TRUE(Match("a**b", "ab"));
  EXPECT_TRUE(Match("*", ""));
  EXPECT_FALSE(Match("?", ""));
}

TEST(Glob, EscapesAreLiteral) {
  EXPECT_TRUE(Match("a\\*b", "a*b"));
  EXPECT_FALSE(Match("a\\*b", "axb"));
  EXPECT_TRUE(Match("\\[x]", "[x]"));
  auto g = Glob::Parse("a\\*b");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->is_literal());
  EXPECT_EQ(g->literal_prefix(), "a*b");
}

TEST(Glob, QuestionMarkTakesAWholeUtf8Character) {
  EXPECT_TRUE(Match("caf?", "caf\xc3\xa9"));
  EXPECT_TRUE(Match("[\xc3\xa0-\xc3\xbf]", "\xc3\xa9"));
  // A byte outside UTF-8 counts as one character.
  EXPECT_TRUE(Match("a?b", "a\xffz" "b") == false);
  EXPECT_TRUE(Match("a?b", "a\xff" "b"));
}

TEST(Glob, FoldsAsciiCaseOnlyWhenAsked) {
  EXPECT_FALSE(Match("Django", "django"));
  EXPECT_TRUE(Match("Django", "django", Glob::Case::kFoldAscii));
  EXPECT_TRUE(Match("dj*", "Django", Glob::Case::kFoldAscii));
  EXPECT_TRUE(Match("[a-z]jango", "Django", Glob::Case::kFoldAscii));
  EXPECT_TRUE(Match("[D]jango", "django", Glob::Case::kFoldAscii));
  EXPECT_FALSE(Match("[!d]jango", "Django", Glob::Case::kFoldAscii));
}

TEST(Glob, LiteralPrefixStopsAtTheFirstWildcard) {
  struct Case {
    const char* pattern;
    const char* prefix;
  };
  for (const Case& c : {Case{"libssl*", "libssl"}, Case{"lib?ssl", "lib"}, Case{"lib[s]sl", "lib"},
                        Case{"*ssl", ""}, Case{"a\\?b*", "a?b"}}) {
    auto g = Glob::Parse(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern;
    EXPECT_FALSE(g->is_literal()) << c.pattern;
    EXPECT_EQ(g->literal_prefix(), c.prefix) << c.pattern;
  }
}

TEST(Glob, BrokenPatternsAreRefusedNamingThePatternAndTheFault) {
  struct Case {
    const char* pattern;
    const char* says;
  };
  for (const Case& c : {Case{"lib[ssl", "position 4: '[' is not closed by ']'"},
                        Case{"[", "position 1: '[' is not closed"},
                        Case{"[]", "'[' is not closed"},
                        Case{"[!", "'[' is not closed"},
                        Case{"x[z-a]", "position 3: the range 'z-a' is reversed"},
                        Case{"abc\\", "position 4: a lone '\\' at the end"}}) {
    auto g = Glob::Parse(c.pattern);
    ASSERT_FALSE(g.ok()) << c.pattern;
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(g.status().message(), c.says)) << g.status();
    EXPECT_TRUE(absl::StartsWith(g.status().message(), "name pattern '")) << g.status();
  }
  EXPECT_FALSE(Glob::Parse("").ok());
  EXPECT_FALSE(Glob::Parse(std::string(Glob::kMaxLength + 1, 'a')).ok());
}

TEST(Glob, ManyStarsStayFast) {
  // Exponential backtracking would take ages here.
  std::string pattern;
  for (int i = 0; i < 100; ++i) pattern += "a*";
  pattern += "b";
  auto g = Glob::Parse(pattern);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->Matches(std::string(1000, 'a')));
  EXPECT_TRUE(g->Matches(std::string(1000, 'a') + "b"));
}

}  // namespace
}  // namespace steward
