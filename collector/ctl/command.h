#pragma once
// stewardctl's commands as data. A command is its words ("deploy create"),
// its positional arguments, the flags it declares (name, value kind,
// default, help), one example and its handler; the usage text, each
// command's help, the parsing and the dispatch are generated from the table
// (command_table.cc), so a flag a command does not declare cannot reach it.
// One file per noun (token_commands.cc, deploy_commands.cc, ...) declares
// that noun's commands.

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/ctl/admin_client.h"
#include "common/grpc/status_convert.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

// What a flag's value is. Values of the checked kinds are refused before
// the handler runs ("--ttl: invalid duration 'soon'").
enum class FlagKind {
  kBool,      // --dry-run (or --dry-run=true|false)
  kText,      // anything; `value_name` says what (EXPR, FILE, NAME=VERSION)
  kDuration,  // 30s, 5m, 1h, 1d (common/duration)
  kCount,     // a whole number >= 0
  kChoice,    // one of `choices`
};

struct FlagSpec {
  std::string name;  // without the leading "--"
  FlagKind kind = FlagKind::kText;
  // The value's placeholder in help ("EXPR"); empty: from the kind.
  std::string value_name;
  std::string help;
  // Shown as "(default X)" and returned by CommandContext::Get when the
  // flag is absent.
  std::string default_value;
  bool repeatable = false;
  std::vector<std::string> choices;  // kChoice
};

class CommandContext;
using CommandHandler = std::function<absl::Status(CommandContext&)>;

inline constexpr size_t kAnyNumber = static_cast<size_t>(-1);

struct CommandSpec {
  // The command's words, single-spaced: "deploy create", "hosts".
  std::string path;
  // Its positional arguments as usage shows them ("ID", "HOST KEY=VALUE...");
  // empty when it takes none. `min_args`/`max_args` bound their count.
  std::string args_usage;
  size_t min_args = 0;
  size_t max_args = 0;
  // One line for listings, and the paragraphs of its help.
  std::string summary;
  std::string details;
  std::vector<FlagSpec> flags;
  // Full command lines, without "stewardctl ".
  std::vector<std::string> examples;
  // The keys every --json object (or array element) it prints has
  // (docs/ctl.md); checked by the contract test.
  std::vector<std::string> json_keys;
  // Runs without a collector or credential (keys generate).
  bool local = false;
  CommandHandler run;
};

// A noun's commands, as one noun file declares them.
struct CommandNoun {
  std::string name;     // "deploy"
  std::string summary;  // "staged rollouts to the hosts a target selects"
  std::vector<CommandSpec> commands;
};

// The flags and arguments of one invocation.
struct ParsedFlags {
  std::map<std::string, std::vector<std::string>> values;  // by flag name; bools hold "true"/"false"
  std::vector<std::string> args;
  // Global flags.
  std::string config;
  absl::Duration timeout = absl::Seconds(30);
  bool json = false;
};

// What a handler gets: its flags and arguments, the output streams, and the
// collector (connected before the handler runs, unless the command is
// local). Not thread-safe; one per invocation.
class CommandContext {
 public:
  CommandContext(const CommandSpec& spec, ParsedFlags flags, std::ostream& out, std::ostream& err);

  const CommandSpec& spec() const { return spec_; }
  // True when the flag was given.
  bool Has(absl::string_view flag) const;
  // The flag's (last) value, or its default. Aborts on a flag the command
  // does not declare: a programming error the contract test catches.
  const std::string& Get(absl::string_view flag) const;
  // The value only when given ("" otherwise): for settings whose default
  // the collector applies, so that help can still show it.
  const std::string& Given(absl::string_view flag) const;
  bool Bool(absl::string_view flag) const;
  const std::vector<std::string>& List(absl::string_view flag) const;
  // A kDuration flag's value (already checked), or its default.
  absl::Duration Duration(absl::string_view flag) const;
  const std::vector<std::string>& args() const { return flags_.args; }
  bool json() const { return flags_.json; }
  absl::Duration timeout() const { return flags_.timeout; }
  const std::string& config_path() const { return flags_.config; }

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  // A terminal for progress and redraws, or null (tests, pipes, --json).
  std::ostream* progress() const { return progress_; }
  bool out_is_terminal() const { return out_is_terminal_; }
  void set_terminals(std::ostream* progress, bool out_is_terminal) {
    progress_ = progress;
    out_is_terminal_ = out_is_terminal;
  }
  // Asks the person at the terminal a yes/no question; null without one.
  std::function<bool(const std::string& question)> confirm;

  // The collector. Connect loads the credential and makes the channel
  // (no round trip).
  absl::Status Connect();
  v1::AdminService::Stub& stub() { return *stub_; }
  const AdminCredential& credential() const { return cred_; }

  template <typename Req, typename Resp, typename Method>
  absl::Status Call(Method method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + flags_.timeout));
    return FromGrpcStatus(((*stub_).*method)(&ctx, req, resp));
  }

  // The agent id a person named: a full id, a unique id prefix of at least
  // 4 characters, or a unique hostname (case-insensitive). NotFound or
  // InvalidArgument (ambiguous, listing the candidates) otherwise.
  absl::StatusOr<std::string> ResolveHost(const std::string& ref);
  // ResolveHost of the flag's value; "" when the flag is absent.
  absl::StatusOr<std::string> HostFlag(absl::string_view flag = "host");

 private:
  const FlagSpec& Declared(absl::string_view flag) const;

  const CommandSpec& spec_;
  ParsedFlags flags_;
  std::ostream& out_;
  std::ostream& err_;
  std::ostream* progress_ = nullptr;
  bool out_is_terminal_ = false;
  AdminCredential cred_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

// Flag builders, so a noun file reads as a table.
FlagSpec BoolFlag(std::string name, std::string help);
FlagSpec TextFlag(std::string name, std::string value_name, std::string help, std::string default_value = "");
FlagSpec DurationFlag(std::string name, std::string help, std::string default_value = "");
FlagSpec CountFlag(std::string name, std::string help, std::string default_value = "");
FlagSpec ChoiceFlag(std::string name, std::vector<std::string> choices, std::string help,
                    std::string default_value = "");
FlagSpec RepeatedFlag(std::string name, std::string value_name, std::string help);
// --host HOST: an agent id, a 4+ character prefix of one, or a hostname.
FlagSpec HostFlagSpec(std::string help = "only this host (agent id, 4+ character id prefix, or hostname)");
// --source SOURCE: one of the agent's inventory sources (dpkg, pip, ...).
FlagSpec SourceFlagSpec();

}  // namespace steward::ctl
