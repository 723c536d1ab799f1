#include "common/cli_args.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using Words = std::vector<std::string>;

struct Parsed {
  std::string name, mode = "default";
  std::vector<std::string> labels;
  bool json = false, verbose = false;
};

ArgParser MakeParser(Parsed* p) {
  ArgParser a;
  a.Flag("name", &p->name, "the name")
      .Flag("mode", &p->mode, "the mode")
      .Repeated("label", &p->labels, "a label")
      .Bool("json", &p->json, "json output")
      .Bool("verbose", &p->verbose, "more output");
  return a;
}

TEST(ArgParser, ParsesSpaceAndEqualsForms) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  Words pos;
  ASSERT_TRUE(a.Parse({"--name", "web 1", "--mode=a=b"}, &pos).ok());
  EXPECT_EQ(p.name, "web 1");
  EXPECT_EQ(p.mode, "a=b");
  EXPECT_TRUE(pos.empty());
  EXPECT_TRUE(a.WasSet("name"));
  EXPECT_TRUE(a.WasSet("mode"));
  EXPECT_FALSE(a.WasSet("json"));
}

TEST(ArgParser, UnsetFlagsKeepDefaultsAndEmptyValueIsAllowed) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  Words pos;
  ASSERT_TRUE(a.Parse({"--name="}, &pos).ok());
  EXPECT_EQ(p.name, "");
  EXPECT_TRUE(a.WasSet("name"));
  EXPECT_EQ(p.mode, "default");
  EXPECT_FALSE(a.WasSet("mode"));
}

TEST(ArgParser, LastValueOfASingleFlagWins) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  ASSERT_TRUE(a.Parse({"--name", "a", "--name=b"}, nullptr).ok());
  EXPECT_EQ(p.name, "b");
}

TEST(ArgParser, ParsesBools) {
  Parsed p;
  p.verbose = true;
  ArgParser a = MakeParser(&p);
  ASSERT_TRUE(a.Parse({"--json", "--verbose=false"}, nullptr).ok());
  EXPECT_TRUE(p.json);
  EXPECT_FALSE(p.verbose);
  EXPECT_TRUE(a.WasSet("verbose"));

  Parsed q;
  ArgParser b = MakeParser(&q);
  ASSERT_TRUE(b.Parse({"--json=true"}, nullptr).ok());
  EXPECT_TRUE(q.json);
}

TEST(ArgParser, BoolDoesNotConsumeNextWord) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  Words pos;
  ASSERT_TRUE(a.Parse({"--json", "hosts"}, &pos).ok());
  EXPECT_TRUE(p.json);
  EXPECT_EQ(pos, Words{"hosts"});
}

TEST(ArgParser, BoolWithOtherValueIsAnError) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  absl::Status s = a.Parse({"--json=yes"}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--json")) << s;
}

TEST(ArgParser, CollectsRepeatedFlagsInOrder) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  ASSERT_TRUE(a.Parse({"--label", "env=prod", "--label=role=db", "--label", "x"}, nullptr).ok());
  EXPECT_EQ(p.labels, (Words{"env=prod", "role=db", "x"}));
  EXPECT_TRUE(a.WasSet("label"));
}

TEST(ArgParser, PositionalWordsInAnyOrder) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  Words pos;
  ASSERT_TRUE(a.Parse({"token", "--name", "n", "create", "-", "-x"}, &pos).ok());
  EXPECT_EQ(pos, (Words{"token", "create", "-", "-x"}));
  EXPECT_EQ(p.name, "n");
}

TEST(ArgParser, DoubleDashEndsFlags) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  Words pos;
  ASSERT_TRUE(a.Parse({"--json", "--", "--name", "--unknown", "--"}, &pos).ok());
  EXPECT_TRUE(p.json);
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(pos, (Words{"--name", "--unknown", "--"}));
}

TEST(ArgParser, PositionalWithoutSinkIsAnErrorNamingIt) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  absl::Status s = a.Parse({"--json", "stray"}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "'stray'")) << s;
}

TEST(ArgParser, UnknownFlagErrorNamesIt) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  Words pos;
  absl::Status s = a.Parse({"--name", "x", "--colour=red"}, &pos);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "unknown flag --colour")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "red")) << s;
}

TEST(ArgParser, MissingValueErrorNamesFlag) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  absl::Status s = a.Parse({"--json", "--name"}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--name needs a value")) << s;

  Parsed q;
  ArgParser b = MakeParser(&q);
  absl::Status r = b.Parse({"--label"}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.message(), "--label")) << r;
  EXPECT_TRUE(q.labels.empty());
}

TEST(ArgParser, UsageListsFlagsInDeclarationOrder) {
  Parsed p;
  ArgParser a = MakeParser(&p);
  std::string u = a.Usage();
  EXPECT_EQ(u,
            "  --name VALUE               the name\n"
            "  --mode VALUE               the mode\n"
            "  --label VALUE              a label (repeatable)\n"
            "  --json                     json output\n"
            "  --verbose                  more output\n");
}

}  // namespace
}  // namespace steward
