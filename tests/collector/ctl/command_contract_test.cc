// The command table's contract, walked command by command: every command
// refuses a flag it does not declare (naming itself and what it takes),
// prints its own help, and its --json output against a real collector has
// the keys its entry documents. A command added to the table without an
// invocation here fails LiveJsonHasTheDocumentedKeys.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "collector/ctl/command_line.h"
#include "collector/ctl/command_table.h"
#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/collector/ctl/fleet_store.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using steward::testing::TempDir;

std::vector<const CommandSpec*> Commands() {
  std::vector<const CommandSpec*> all;
  for (const CommandNoun& noun : CommandTable()) {
    for (const CommandSpec& c : noun.commands) all.push_back(&c);
  }
  return all;
}

std::vector<std::string> Words(const std::string& path) { return absl::StrSplit(path, ' '); }

TEST(CommandTable, PathsAreUniqueAndEveryCommandIsComplete) {
  std::set<std::string> paths;
  for (const CommandSpec* c : Commands()) {
    EXPECT_TRUE(paths.insert(c->path).second) << "two commands '" << c->path << "'";
    EXPECT_FALSE(c->summary.empty()) << c->path;
    EXPECT_FALSE(c->examples.empty()) << c->path << " has no example";
    EXPECT_TRUE(c->run) << c->path;
    EXPECT_LE(c->min_args, c->max_args) << c->path;
    EXPECT_EQ(c->args_usage.empty(), c->max_args == 0) << c->path;
    std::set<std::string> flags;
    for (const FlagSpec& f : c->flags) {
      EXPECT_TRUE(flags.insert(f.name).second) << c->path << " declares --" << f.name << " twice";
      EXPECT_FALSE(f.help.empty()) << c->path << " --" << f.name;
      EXPECT_EQ(f.kind == FlagKind::kChoice, !f.choices.empty()) << c->path << " --" << f.name;
    }
    // Each example parses: the table documents itself with working lines.
    for (const std::string& e : c->examples) {
      std::vector<std::string> args;
      // Examples quote a target expression with single quotes.
      std::string rest = e;
      while (!rest.empty()) {
        if (rest[0] == ' ') {
          rest.erase(0, 1);
        } else if (rest[0] == '\'') {
          size_t end = rest.find('\'', 1);
          args.push_back(rest.substr(1, end - 1));
          rest.erase(0, end + 1);
        } else {
          size_t end = rest.find(' ');
          args.push_back(rest.substr(0, end));
          rest.erase(0, end == std::string::npos ? rest.size() : end);
        }
      }
      absl::StatusOr<CommandLine> line = ParseCommandLine(CommandTable(), args);
      ASSERT_TRUE(line.ok()) << "example '" << e << "': " << line.status();
      EXPECT_EQ(line->command, c) << "example '" << e << "' runs another command";
    }
  }
}

TEST(CommandTable, EveryCommandRefusesFlagsItDoesNotDeclare) {
  // Every flag some command declares, tried on every command that does not.
  std::set<std::string> all_flags = {"no-such-flag"};
  for (const CommandSpec* c : Commands()) {
    for (const FlagSpec& f : c->flags) all_flags.insert(f.name);
  }
  int refused = 0;
  for (const CommandSpec* c : Commands()) {
    std::set<std::string> own;
    for (const FlagSpec& f : c->flags) own.insert(f.name);
    for (const std::string& flag : all_flags) {
      // Global flags are accepted everywhere; a command may also declare one
      // of their names (artifact push --version).
      if (own.contains(flag) || flag == "json" || flag == "config" || flag == "timeout" || flag == "version") continue;
      std::vector<std::string> args = Words(c->path);
      args.push_back("--" + flag);
      args.push_back("value");
      CtlResult r = Ctl(args, "/nonexistent/admin.conf");
      EXPECT_EQ(r.code, 2) << c->path << " --" << flag << ": " << r.err;
      EXPECT_TRUE(absl::StartsWith(r.err, absl::StrCat("error: unknown flag --", flag, " for '", c->path, "'")))
          << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, absl::StrCat("'", c->path, "' takes "))) << r.err;
      EXPECT_TRUE(absl::EndsWith(r.err, absl::StrCat("\nsee 'stewardctl ", c->path, " --help'\n"))) << r.err;
      EXPECT_TRUE(r.out.empty()) << r.out;
      ++refused;
    }
  }
  EXPECT_GT(refused, 500);
}

TEST(CommandTable, EveryCommandPrintsItsOwnHelp) {
  for (const CommandSpec* c : Commands()) {
    for (const char* help : {"--help", "-h"}) {
      std::vector<std::string> args = Words(c->path);
      args.push_back(help);
      CtlResult r = Ctl(args, "");
      EXPECT_EQ(r.code, 0) << c->path << " " << help << ": " << r.err;
      EXPECT_TRUE(absl::StartsWith(r.out, absl::StrCat("usage: stewardctl ", c->path))) << r.out;
      EXPECT_TRUE(absl::StrContains(r.out, c->summary)) << r.out;
      for (const FlagSpec& f : c->flags) {
        EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("\n  --", f.name))) << c->path << " --" << f.name;
        if (!f.default_value.empty()) {
          EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("(default ", f.default_value, ")"))) << c->path;
        }
      }
      EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("  stewardctl ", c->examples[0]))) << r.out;
    }
    // help PATH prints the same.
    std::vector<std::string> args = {"help"};
    for (const std::string& w : Words(c->path)) args.push_back(w);
    std::vector<std::string> flag_form = Words(c->path);
    flag_form.push_back("--help");
    EXPECT_EQ(Ctl(args, "").out, Ctl(flag_form, "").out) << c->path;
  }
}

// docs/stewardctl.md is the table's help, command by command, so the docs
// cannot drift from what `stewardctl help` prints. Regenerate it with
// STEWARD_WRITE_CTL_REFERENCE=1 build/tests/collector/collector_ctl_test
//   --gtest_filter=CommandTable.DocsReferenceIsTheHelp
TEST(CommandTable, DocsReferenceIsTheHelp) {
  std::string want =
      "# stewardctl command reference\n\n"
      "Generated from the command table (`collector/ctl/*_commands.cc`): each section is what\n"
      "`stewardctl help COMMAND` prints, with the keys of its `--json` output. A test fails when\n"
      "this file and the table differ; regenerate with\n"
      "`STEWARD_WRITE_CTL_REFERENCE=1 build/tests/collector/collector_ctl_test "
      "--gtest_filter=CommandTable.DocsReferenceIsTheHelp`.\n\n"
      "Conventions: tables for people, `--json` for scripts; errors on stderr as `error: WHAT` (a usage\n"
      "error adds `see 'stewardctl COMMAND --help'`); exit 0 on success, 2 for a usage error (nothing was\n"
      "done), 1 for anything else. A flag a command does not declare is refused. HOST is an agent id, a\n"
      "unique prefix of 4+ characters of one, or a unique hostname.\n\n";
  absl::StatusOr<std::string> overview = HelpFor(CommandTable(), "");
  ASSERT_TRUE(overview.ok());
  absl::StrAppend(&want, "## Overview\n\n```text\n", *overview, "```\n");
  for (const CommandSpec* c : Commands()) {
    absl::StatusOr<std::string> help = HelpFor(CommandTable(), c->path);
    ASSERT_TRUE(help.ok());
    absl::StrAppend(&want, "\n## ", c->path, "\n\n```text\n", *help, "```\n");
    if (!c->json_keys.empty()) {
      absl::StrAppend(&want, "\n`--json` keys: `", absl::StrJoin(c->json_keys, "`, `"), "`\n");
    }
  }
  const std::string path = std::string(STEWARD_SOURCE_DIR) + "/docs/stewardctl.md";
  if (getenv("STEWARD_WRITE_CTL_REFERENCE") != nullptr) {
    ASSERT_TRUE(WriteFileAtomic(path, want, 0644).ok());
  }
  absl::StatusOr<std::string> have = ReadFile(path);
  ASSERT_TRUE(have.ok()) << have.status();
  EXPECT_EQ(*have, want) << "docs/stewardctl.md differs from the command table; regenerate it (see above)";
}

// The command a documented line invokes: the longest table path its
// leading words spell; null when they spell none.
const CommandSpec* CommandOf(const std::vector<std::string>& words) {
  const CommandSpec* found = nullptr;
  size_t longest = 0;
  for (const CommandSpec* c : Commands()) {
    const std::vector<std::string> path = Words(c->path);
    if (path.size() <= longest || path.size() > words.size()) continue;
    if (std::equal(path.begin(), path.end(), words.begin())) {
      found = c;
      longest = path.size();
    }
  }
  return found;
}

// Every `stewardctl ...` line in a code block of README.md and docs/*.md
// names a command of the table and only flags that command (or every
// command) takes: the docs cannot keep a flag or command the CLI dropped.
TEST(CommandTable, DocsNameOnlyCommandsAndFlagsThatExist) {
  std::set<std::string> globals;
  for (const FlagSpec& f : GlobalFlags()) globals.insert("--" + f.name);
  int lines = 0;
  for (const char* doc : {"README.md", "docs/operations.md", "docs/deployments.md", "docs/security.md",
                          "docs/protocol.md", "docs/testing.md", "docs/install.md", "docs/backup.md"}) {
    absl::StatusOr<std::string> text = ReadFile(absl::StrCat(STEWARD_SOURCE_DIR, "/", doc));
    ASSERT_TRUE(text.ok()) << text.status();
    bool in_code = false;
    for (absl::string_view raw : absl::StrSplit(*text, '\n')) {
      if (absl::StartsWith(raw, "```")) {
        in_code = !in_code;
        continue;
      }
      std::string line(raw.substr(0, raw.find(" #")));  // a trailing comment
      if (size_t at = line.find("stewardctl "); !in_code || at == std::string::npos) {
        continue;
      } else {
        line = line.substr(at + 11);
      }
      // "a | b" alternatives after the first are other commands or values.
      std::vector<std::string> words;
      for (absl::string_view w : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
        if (w == "|" || w == "--" || w == "\\") break;  // another command, a program's argv, a continuation
        words.emplace_back(w);
      }
      if (words.empty() || words[0] == "help" || absl::StartsWith(words[0], "--")) {
        // `stewardctl --config F hosts`: drop global flags before the command.
        while (!words.empty() && absl::StartsWith(words[0], "--")) {
          const bool takes_value = std::any_of(GlobalFlags().begin(), GlobalFlags().end(), [&](const FlagSpec& f) {
            return "--" + f.name == words[0] && f.kind != FlagKind::kBool;
          });
          words.erase(words.begin(), words.begin() + std::min<size_t>(takes_value ? 2 : 1, words.size()));
        }
        if (words.empty() || words[0] == "help") continue;
      }
      ++lines;
      // "deploy pause|resume ID": the first alternative names the command.
      std::vector<std::string> command_words = words;
      for (std::string& w : command_words) w = w.substr(0, w.find('|'));
      const CommandSpec* c = CommandOf(command_words);
      if (c == nullptr) {
        ADD_FAILURE() << doc << ": 'stewardctl " << line << "' names no command of the table";
        continue;
      }
      std::set<std::string> takes = globals;
      for (const FlagSpec& f : c->flags) takes.insert("--" + f.name);
      for (std::string w : words) {
        // "[--host", "--state=x", "--a|--b", "--label]..." -> the flag names.
        absl::StrReplaceAll({{"[", ""}, {"]", ""}, {"...", ""}, {"(", ""}, {")", ""}}, &w);
        for (absl::string_view alt : absl::StrSplit(w, '|')) {
          if (!absl::StartsWith(alt, "--") || alt == "--") continue;
          std::string flag(alt.substr(0, alt.find('=')));
          EXPECT_TRUE(takes.contains(flag)) << doc << ": 'stewardctl " << line << "': '" << c->path
                                            << "' takes no " << flag;
        }
      }
    }
  }
  EXPECT_GT(lines, 60) << "the docs' stewardctl lines were not found";
}

// The documented --json keys, from a real collector. Each invocation may
// use what an earlier one printed ({TOKEN_ID}, {SHA}, {JOB}, {DEPLOYMENT})
// and the test directory ({DIR}).
class CommandContractLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir((dir_.path() + "/data").c_str(), 0700), 0);
    HostSpec web1{"agt-web1-0001", "web1", "debian", {{"role", "web"}}, "dpkg",
                  {{"openssl", "3.0.11-1~deb12u2"}, {"nginx", "1.22.1-9"}}};
    web1.upgrade_first_to = "3.0.13-1~deb12u1";
    web1.checks = {{"nginx", true}, {"db", false}};
    web1.units = {{"nginx.service", "active"}, {"cron.service", "failed"}};
    Populate(dir_.path() + "/data/db",
             {web1,
              {"agt-web2-0002", "web2", "debian", {{"role", "web"}}, "dpkg", {{"openssl", "3.0.11-1~deb12u2"}}},
              {"agt-db1-0003", "db1", "rocky", {{"role", "db"}}, "rpm", {{"openssl", "1:1.1.1k-5.el8_5"}}}});
    absl::StatusOr<LiveCollector> live = StartCollector(dir_.path() + "/data");
    ASSERT_TRUE(live.ok()) << live.status();
    server_ = std::move(live->server);
    conf_ = live->conf;
    ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/notes.txt", "release notes\n", 0644).ok());
    // stewardctl install: a package to serve, and a machine that refuses ssh.
    ASSERT_TRUE(MakeDirs(dir_.path() + "/data/agent-packages", 0755).ok());
    ASSERT_TRUE(BuildStandInDeb(dir_.path(), dir_.path() + "/data/agent-packages", "steward-agent", "0.1.0", "amd64")
                    .ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/machines.txt", "127.0.0.1:1\n", 0644).ok());
  }

  TempDir dir_;
  std::unique_ptr<collector::CollectorServer> server_;
  std::string conf_;
};

std::string Captured(const std::string& json, const std::string& key) {
  std::smatch m;
  std::regex re("\"" + key + "\": \"([^\"]+)\"");
  return std::regex_search(json, m, re) ? m[1].str() : "";
}

TEST_F(CommandContractLiveTest, LiveJsonHasTheDocumentedKeys) {
  // In order: later lines use what earlier ones made.
  const std::vector<std::string> kRuns = {
      "keys generate --out {DIR}/pub",
      "token create --label role=web --ttl 2h",
      "token list",
      "token revoke {TOKEN_ID}",
      "hosts --where label:role=web",
      "hosts label set web1 tier=front",
      "hosts label rm agt-web1 tier",
      "hosts renew WEB1 --ttl 1h",
      "hosts disable db1",
      "hosts enable db1",
      "software --name openssl",
      "changes --since 1d --host web1",
      "health --host agt-web1",
      "services --host web1",
      "checks set web --type tcp --param address=127.0.0.1:80 --label role=web",
      "checks list",
      "checks rm web",
      "artifact push {DIR}/notes.txt --name notes --version 1 --sign-key {DIR}/pub.key",
      "artifact list",
      "job run --host web1 --sign-key {DIR}/pub.key --artifact {SHA}",
      "job list --host web1",
      "job rollback --host web1 --sign-key {DIR}/pub.key --of {JOB}",
      "deploy create --artifact {SHA} --target label:role=web --sign-key {DIR}/pub.key --waves 1,100%",
      "deploy status {DEPLOYMENT} --host web2",
      "deploy list",
      "deploy pause {DEPLOYMENT}",
      "deploy resume {DEPLOYMENT}",
      "deploy abort {DEPLOYMENT}",
      "deploy retry {DEPLOYMENT}",
      "artifact rm {SHA}",
      "user add bob --role viewer --out {DIR}/bob.conf",
      "user list",
      "user rotate bob --out {DIR}/bob.conf --force",
      "user rm bob",
      "audit --since 1h",
      "audit verify",
      "admin backup --to {DIR}/backup",
      "version",
      "install --ssh {DIR}/machines.txt --wait 1s",
      "metrics --metric cpu_usage_percent --since 1h",
      "help deploy",
      "hosts rm db1 --yes",
  };
  // Commands whose answer here is an error by design, with why.
  const std::map<std::string, std::string> kRefused = {
      {"deploy retry", "a deployment whose hosts never ran has nothing to retry"},
      {"artifact rm", "the artifact is still used by the deployment and the jobs"},
  };
  // Commands that print their --json and exit 1 here by design, with why.
  const std::map<std::string, std::string> kFailedWithJson = {
      {"install", "its one machine refuses ssh (port 1): its result is 'failed'"},
  };
  std::map<std::string, std::string> vars = {{"{DIR}", dir_.path()}};
  std::set<std::string> ran;
  for (const std::string& line : kRuns) {
    std::vector<std::string> args = absl::StrSplit(absl::StrReplaceAll(line, vars), ' ');
    args.push_back("--json");
    absl::StatusOr<CommandLine> parsed = ParseCommandLine(CommandTable(), args);
    ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.status();
    const CommandSpec& c = *parsed->command;
    ran.insert(c.path);
    CtlResult r = Ctl(args, conf_);
    if (kRefused.contains(c.path)) {
      EXPECT_NE(r.code, 0) << line << " (" << kRefused.at(c.path) << ")";
      EXPECT_TRUE(absl::StartsWith(r.err, "error: ")) << r.err;
      continue;
    }
    ASSERT_EQ(r.code, kFailedWithJson.contains(c.path) ? 1 : 0) << line << ": " << r.err;
    for (const std::string& key : c.json_keys) {
      EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("\"", key, "\": ")))
          << line << ": no \"" << key << "\" in " << r.out;
    }
    if (!c.json_keys.empty()) {
      EXPECT_NE(r.out, "[]\n") << line << ": nothing to check the keys on";
    }
    for (const auto& [var, key] : std::vector<std::pair<std::string, std::string>>{
             {"{TOKEN_ID}", "token_id"}, {"{SHA}", "sha256"}, {"{JOB}", "job_id"}, {"{DEPLOYMENT}", "id"}}) {
      if (!vars.contains(var) && !Captured(r.out, key).empty()) vars[var] = Captured(r.out, key);
    }
  }
  for (const CommandSpec* c : Commands()) {
    EXPECT_TRUE(ran.contains(c->path)) << "'" << c->path << "' has no live invocation in this test: add one";
  }
}

}  // namespace
}  // namespace steward::ctl
