#include "collector/ctl/commands.h"

#include <unistd.h>

#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/ctl/command_line.h"
#include "collector/ctl/command_table.h"
#include "common/json_writer.h"
#include "common/status_macros.h"
#include "common/wire/agent_text.h"

namespace steward::ctl {
namespace {

std::string Hint(const absl::Status& st, const std::string& collector) {
  switch (st.code()) {
    case absl::StatusCode::kUnavailable:
      // Reached, but the TLS handshake failed: not a network problem.
      if (absl::StrContains(st.message(), "andshake") || absl::StrContains(st.message(), "certificate")) {
        return absl::StrCat("the collector at ", collector, " failed the TLS handshake (", st.message(),
                            "); is this admin.conf from this collector's data directory? its ca_data must be "
                            "the collector's CA, and nothing else may listen on that address");
      }
      return absl::StrCat("cannot reach the collector at ", collector, " (", st.message(),
                          "); is steward-collector running? check 'collector' in the admin config");
    case absl::StatusCode::kDeadlineExceeded:
      // Either nothing answered, or the collector is slow to (a busy one,
      // a query over a large fleet): gRPC says the same for both.
      return absl::StrCat("cannot reach the collector at ", collector, ", or it did not answer in time (",
                          st.message(),
                          "); is steward-collector running? check 'collector' in the admin config; if it is "
                          "busy, try a longer --timeout (default 30s)");
    case absl::StatusCode::kUnauthenticated:
      return absl::StrCat("the collector refused the credential: ", st.message(),
                          "; use the admin.conf of this collector's data directory or your own from "
                          "'stewardctl user add'");
    case absl::StatusCode::kPermissionDenied:
      if (absl::StrContains(st.message(), " needs role ")) {
        return absl::StrCat("the collector refused: ", st.message(),
                            "; ask an admin for a credential with that role");
      }
      return absl::StrCat("the collector refused the credential: ", st.message());
    case absl::StatusCode::kNotFound:
      // An unknown --host: say where the ids are.
      if (absl::StartsWith(st.message(), "no agent with id")) {
        return absl::StrCat(st.message(), "; 'stewardctl hosts' lists the agent ids");
      }
      return std::string(st.message());
    default:
      return std::string(st.message());
  }
}

}  // namespace

CommandNoun HelpNoun() {
  return {"help", "this overview, or a command's help",
          {
              {.path = "help",
               .args_usage = "[COMMAND...]",
               .max_args = 3,
               .summary = "every command, or one command's flags and an example",
               .examples = {"help deploy create"},
               .local = true,
               .run = [](CommandContext& c) {
                 absl::StatusOr<std::string> text = HelpFor(CommandTable(), absl::StrJoin(c.args(), " "));
                 if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
                 c.out() << *text;
                 return absl::OkStatus();
               }},
          }};
}

int RunStewardctl(const std::vector<std::string>& args, const std::string& env_config, std::ostream& out,
                  std::ostream& err) {
  const std::vector<CommandNoun>& table = CommandTable();
  absl::StatusOr<CommandLine> line = ParseCommandLine(table, args);
  if (!line.ok()) {
    if (line.status().message().empty()) {
      err << *HelpFor(table, "");  // no command at all
    } else {
      err << "error: " << line.status().message() << "\n";
    }
    return 2;
  }
  if (line->action == CommandLine::Action::kHelp) {
    absl::StatusOr<std::string> text = HelpFor(table, line->topic);
    if (!text.ok()) {
      err << "error: " << text.status().message() << "\n";
      return 2;
    }
    out << *text;
    return 0;
  }
  if (line->action == CommandLine::Action::kVersion) {
    out << StewardctlVersionLine() << "\n";
    return 0;
  }
  const CommandSpec& spec = *line->command;
  ParsedFlags flags = std::move(line->flags);
  if (flags.config.empty()) flags.config = env_config;
  if (!spec.local && flags.config.empty()) {
    err << "error: no admin credential: pass --config DATA_DIR/admin.conf or set STEWARD_CONFIG\n";
    return 2;
  }
  CommandContext ctx(spec, std::move(flags), out, err);
  ctx.set_terminals(&err == &std::cerr && isatty(2) ? &err : nullptr, &out == &std::cout && isatty(1));
  if (&out == &std::cout && isatty(0) && isatty(2)) {
    // hosts rm asks on the terminal; without one it needs --yes.
    ctx.confirm = [&err](const std::string& question) {
      err << question << std::flush;
      std::string answer;
      if (!std::getline(std::cin, answer)) return false;
      return answer == "y" || answer == "Y" || answer == "yes";
    };
  }
  absl::Status st = spec.local ? absl::OkStatus() : ctx.Connect();
  if (st.ok()) st = spec.run(ctx);
  if (!st.ok()) {
    err << "error: " << EscapeForDisplay(Hint(st, ctx.credential().collector), /*multiline=*/true) << "\n";
    return st.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace steward::ctl
