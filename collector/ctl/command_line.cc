#include "collector/ctl/command_line.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/duration.h"

namespace steward::ctl {
namespace {

constexpr size_t kFlagColumn = 30;
constexpr size_t kCommandColumn = 34;

std::vector<std::string> Words(absl::string_view path) { return absl::StrSplit(path, ' ', absl::SkipEmpty()); }

bool StartsWithWords(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
  return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

std::vector<const CommandSpec*> AllCommands(const std::vector<CommandNoun>& table) {
  std::vector<const CommandSpec*> all;
  for (const CommandNoun& noun : table) {
    for (const CommandSpec& c : noun.commands) all.push_back(&c);
  }
  return all;
}

const CommandSpec* FindCommand(const std::vector<CommandNoun>& table, absl::string_view path) {
  for (const CommandSpec* c : AllCommands(table)) {
    if (c->path == path) return c;
  }
  return nullptr;
}

// Commands whose path starts with `prefix` and has more words.
std::vector<const CommandSpec*> CommandsUnder(const std::vector<CommandNoun>& table,
                                              const std::vector<std::string>& prefix) {
  std::vector<const CommandSpec*> out;
  for (const CommandSpec* c : AllCommands(table)) {
    std::vector<std::string> words = Words(c->path);
    if (words.size() > prefix.size() && StartsWithWords(words, prefix)) out.push_back(c);
  }
  return out;
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, absl::string_view name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Placeholder(const FlagSpec& f) {
  if (!f.value_name.empty()) return f.value_name;
  switch (f.kind) {
    case FlagKind::kBool: return "";
    case FlagKind::kDuration: return "DURATION";
    case FlagKind::kCount: return "N";
    case FlagKind::kChoice: return absl::StrJoin(f.choices, "|");
    case FlagKind::kText: return "VALUE";
  }
  return "VALUE";
}

std::string OrList(const std::vector<std::string>& items) {
  if (items.size() <= 1) return items.empty() ? "" : items[0];
  return absl::StrCat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " or ", items.back());
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      // A swap of two neighbours ("tagret") counts as one edit.
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev[j - 1]);
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

absl::Status UsageError(const std::string& message, const std::string& see) {
  return absl::InvalidArgumentError(absl::StrCat(message, "\nsee 'stewardctl ", see.empty() ? "help" : see,
                                                 see.empty() ? "'" : " --help'"));
}

std::string FlagNames(const std::vector<FlagSpec>& flags) {
  std::vector<std::string> names;
  for (const FlagSpec& f : flags) names.push_back("--" + f.name);
  return names.empty() ? "no flags" : absl::StrJoin(names, " ");
}

// Checks a value of a checked kind. `flag` is "--name".
absl::Status CheckValue(const FlagSpec& f, const std::string& value) {
  const std::string flag = "--" + f.name;
  switch (f.kind) {
    case FlagKind::kDuration:
      if (auto d = ParseHumanDuration(value); !d.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(flag, ": ", d.status().message()));
      }
      return absl::OkStatus();
    case FlagKind::kCount: {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || value.empty() || value[0] == '+') {
        return absl::InvalidArgumentError(absl::StrCat(flag, " '", value, "' is not a count (a whole number)"));
      }
      return absl::OkStatus();
    }
    case FlagKind::kChoice:
      if (std::find(f.choices.begin(), f.choices.end(), value) == f.choices.end()) {
        std::string near = ClosestMatch(value, f.choices);
        return absl::InvalidArgumentError(absl::StrCat(flag, " '", value, "' must be ", OrList(f.choices),
                                                       near.empty() ? "" : absl::StrCat("; did you mean ", near, "?")));
      }
      return absl::OkStatus();
    case FlagKind::kBool:
    case FlagKind::kText:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

constexpr size_t kWidth = 100;

// `text` in lines of at most kWidth - `indent` characters, each after the
// first indented by `indent` spaces.
std::string Wrap(const std::string& text, size_t indent) {
  std::string out, line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(&out, line, "\n", std::string(indent, ' '));
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  return out + line;
}

std::string FlagLines(const std::vector<FlagSpec>& flags) {
  std::string out;
  for (const FlagSpec& f : flags) {
    std::string left = absl::StrCat("  --", f.name);
    if (std::string p = Placeholder(f); !p.empty()) absl::StrAppend(&left, " ", p);
    std::string help = f.help;
    if (f.repeatable) absl::StrAppend(&help, " (repeatable)");
    if (!f.default_value.empty()) absl::StrAppend(&help, " (default ", f.default_value, ")");
    if (left.size() + 1 > kFlagColumn) {
      absl::StrAppend(&out, left, "\n", std::string(kFlagColumn, ' '), Wrap(help, kFlagColumn), "\n");
    } else {
      left.resize(kFlagColumn, ' ');
      absl::StrAppend(&out, left, Wrap(help, kFlagColumn), "\n");
    }
  }
  return out;
}

std::string CommandLines(const std::vector<const CommandSpec*>& commands) {
  std::string out;
  for (const CommandSpec* c : commands) {
    std::string left = absl::StrCat("  ", c->path, c->args_usage.empty() ? "" : " ", c->args_usage);
    if (left.size() + 1 > kCommandColumn) {
      absl::StrAppend(&out, left, "\n", std::string(kCommandColumn, ' '), Wrap(c->summary, kCommandColumn), "\n");
    } else {
      left.resize(kCommandColumn, ' ');
      absl::StrAppend(&out, left, Wrap(c->summary, kCommandColumn), "\n");
    }
  }
  return out;
}

std::string GlobalFlagsLine() {
  return "Global flags: --config FILE (default $STEWARD_CONFIG), --json (output for scripts),\n"
         "  --timeout DURATION (default 30s), -h/--help, --version\n";
}

std::string CommandHelp(const std::vector<CommandNoun>& table, const CommandSpec& c) {
  // Words after "--" come after the flags.
  const bool args_last = absl::StartsWith(c.args_usage, "[--");
  const std::string args = c.args_usage.empty() ? "" : " " + c.args_usage;
  const std::string flags = c.flags.empty() ? "" : " [flags]";
  std::string out = absl::StrCat("usage: stewardctl ", c.path, args_last ? flags : args, args_last ? args : flags,
                                 "\n\n", c.summary, "\n");
  if (!c.details.empty()) absl::StrAppend(&out, "\n", c.details, absl::EndsWith(c.details, "\n") ? "" : "\n");
  if (!c.flags.empty()) absl::StrAppend(&out, "\nFlags:\n", FlagLines(c.flags));
  if (std::vector<const CommandSpec*> sub = CommandsUnder(table, Words(c.path)); !sub.empty()) {
    absl::StrAppend(&out, "\nCommands:\n", CommandLines(sub));
  }
  if (!c.examples.empty()) {
    absl::StrAppend(&out, "\nExample", c.examples.size() > 1 ? "s" : "", ":\n");
    for (const std::string& e : c.examples) absl::StrAppend(&out, "  stewardctl ", e, "\n");
  }
  absl::StrAppend(&out, "\n", GlobalFlagsLine());
  return out;
}

}  // namespace

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec>* flags = new std::vector<FlagSpec>{
      TextFlag("config", "FILE", "admin credential (default: $STEWARD_CONFIG)"),
      BoolFlag("json", "JSON output for scripts"),
      DurationFlag("timeout", "how long to wait for the collector", "30s"),
      BoolFlag("help", "this command's help (also -h)"),
      BoolFlag("version", "stewardctl's version"),
  };
  return *flags;
}

std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  std::string lower = absl::AsciiStrToLower(word);
  std::string best;
  size_t best_distance = std::string::npos;
  bool tie = false;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(lower, absl::AsciiStrToLower(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
      tie = false;
    } else if (d == best_distance && c != best) {
      tie = true;
    }
  }
  // Up to one edit in 4 characters, at least 1 and at most 3.
  const size_t allowed = std::clamp<size_t>(word.size() / 4, 1, 3);
  if (best_distance <= allowed && !tie) return best;
  // A unique prefix of 3+ characters ("--dry" for "--dry-run").
  std::string only;
  for (const std::string& c : candidates) {
    if (word.size() >= 3 && absl::StartsWithIgnoreCase(c, word)) {
      if (!only.empty()) return "";
      only = c;
    }
  }
  return only;
}

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<CommandNoun>& table,
                                             const std::vector<std::string>& args) {
  CommandLine line;
  std::vector<std::string> words;  // the command's words found so far
  bool help = false, version = false;
  std::vector<std::string> rest;   // what follows the command's words
  // Global flags and command words, up to the first other flag or word.
  size_t i = 0;
  auto take_global = [&](const std::string& arg, size_t* at) -> absl::StatusOr<bool> {
    if (arg == "-h" || arg == "--help") {
      help = true;
      return true;
    }
    if (arg == "--version") {
      version = true;
      return true;
    }
    if (!absl::StartsWith(arg, "--")) return false;
    std::string name = arg.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      inline_value = true;
    }
    const FlagSpec* f = FindFlag(GlobalFlags(), name);
    if (f == nullptr || name == "help" || name == "version") return false;
    if (f->kind == FlagKind::kBool) {
      if (inline_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value (or =true/=false)"));
      }
      line.flags.json = !inline_value || value == "true";
      return true;
    }
    if (!inline_value) {
      if (*at + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = args[++*at];
    }
    if (name == "config") {
      line.flags.config = value;
    } else {
      absl::StatusOr<absl::Duration> d = ParseHumanDuration(value);
      if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat("--timeout: ", d.status().message()));
      line.flags.timeout = *d;
    }
    return true;
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, "-") && arg != "-") {
      // The command named so far may declare a flag of a global's name.
      const CommandSpec* so_far = FindCommand(table, absl::StrJoin(words, " "));
      std::string name = absl::StartsWith(arg, "--") ? arg.substr(2) : "";
      if (so_far != nullptr && FindFlag(so_far->flags, name.substr(0, name.find('='))) != nullptr) break;
      absl::StatusOr<bool> global = take_global(arg, &i);
      if (!global.ok()) return UsageError(std::string(global.status().message()), absl::StrJoin(words, " "));
      if (*global) continue;
      break;
    }
    std::vector<std::string> longer = words;
    longer.push_back(arg);
    bool extends = false;
    for (const CommandSpec* c : AllCommands(table)) extends = extends || StartsWithWords(Words(c->path), longer);
    if (!extends) break;
    words = std::move(longer);
  }
  const std::string path = absl::StrJoin(words, " ");
  const CommandSpec* command = FindCommand(table, path);
  if (command == nullptr) {
    // No command: the help of what was named so far, or a typo.
    if (i < args.size()) {
      const std::string& next = args[i];
      std::string typed = absl::StrJoin(words, " ");
      if (next == "--" || absl::StartsWith(next, "-")) {
        if (words.empty()) return UsageError(absl::StrCat("unknown flag ", next, " (a command comes first)"), "");
        std::vector<std::string> options;
        for (const CommandSpec* c : CommandsUnder(table, words)) options.push_back(Words(c->path)[words.size()]);
        options.erase(std::unique(options.begin(), options.end()), options.end());
        return UsageError(absl::StrCat("'", typed, "' needs a command: ", OrList(options)), typed);
      }
      std::vector<std::string> options;
      for (const CommandSpec* c : words.empty() ? AllCommands(table) : CommandsUnder(table, words)) {
        std::vector<std::string> w = Words(c->path);
        if (w.size() > words.size()) options.push_back(w[words.size()]);
      }
      std::string near = ClosestMatch(next, options);
      std::string whole = absl::StrCat(typed, typed.empty() ? "" : " ", next);
      // "frobnicate now": the words a person typed, up to the first flag.
      for (size_t k = i + 1; words.empty() && k < args.size() && !absl::StartsWith(args[k], "-"); ++k) {
        absl::StrAppend(&whole, " ", args[k]);
      }
      return UsageError(absl::StrCat("unknown command '", whole, "'",
                                     near.empty() ? "" : absl::StrCat("; did you mean '", typed,
                                                                       typed.empty() ? "" : " ", near, "'?")),
                        typed);
    }
    if (version && words.empty()) {
      line.action = CommandLine::Action::kVersion;
      return line;
    }
    if (words.empty() && !help) {
      // Flags alone are not a command.
      return absl::InvalidArgumentError("");
    }
    line.action = CommandLine::Action::kHelp;
    line.topic = path;
    return line;
  }
  line.command = command;
  // The command's own flags and arguments, with the global flags anywhere.
  bool flags_done = false;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || !absl::StartsWith(arg, "-")) {
      line.flags.args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name = absl::StartsWith(arg, "--") ? arg.substr(2) : arg.substr(1), value;
    // A command's own flag wins over a global one of the same name
    // (artifact push --version VERSION).
    if (FindFlag(command->flags, name.substr(0, name.find('='))) == nullptr) {
      absl::StatusOr<bool> global = take_global(arg, &i);
      if (!global.ok()) return UsageError(std::string(global.status().message()), path);
      if (*global) continue;
    }
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      inline_value = true;
    }
    const FlagSpec* f = FindFlag(command->flags, name);
    if (f == nullptr || !absl::StartsWith(arg, "--")) {
      std::vector<std::string> names;
      for (const FlagSpec& spec : command->flags) names.push_back(spec.name);
      std::string near = ClosestMatch(name, names);
      return UsageError(
          absl::StrCat("unknown flag ", absl::StartsWith(arg, "--") ? "--" : "-", name, " for '", path, "'",
                       near.empty() ? "" : absl::StrCat("; did you mean --", near, "?"), " ('", path,
                       "' takes ", FlagNames(command->flags), ")"),
          path);
    }
    if (f->kind == FlagKind::kBool) {
      if (inline_value && value != "true" && value != "false") {
        return UsageError(absl::StrCat("--", name, " takes no value (or =true/=false)"), path);
      }
      value = !inline_value || value == "true" ? "true" : "false";
    } else if (!inline_value) {
      if (i + 1 >= args.size()) return UsageError(absl::StrCat("--", name, " needs a value"), path);
      value = args[++i];
    }
    if (absl::Status st = CheckValue(*f, value); !st.ok()) return UsageError(std::string(st.message()), path);
    std::vector<std::string>& values = line.flags.values[name];
    if (!values.empty() && !f->repeatable && f->kind != FlagKind::kBool) {
      return UsageError(absl::StrCat("--", name, " was given twice ('", values.back(), "' and '", value,
                                     "'); it takes one value"),
                        path);
    }
    values.push_back(value);
  }
  if (help) {
    line.action = CommandLine::Action::kHelp;
    line.topic = path;
    return line;
  }
  if (version) {
    line.action = CommandLine::Action::kVersion;
    return line;
  }
  const std::vector<std::string>& got = line.flags.args;
  if (got.size() > command->max_args) {
    const std::string& extra = got[command->max_args];
    if (command->max_args == 0) {
      std::vector<std::string> options;
      for (const CommandSpec* c : CommandsUnder(table, words)) options.push_back(Words(c->path)[words.size()]);
      std::string near = ClosestMatch(extra, options);
      if (!near.empty() || !options.empty()) {
        return UsageError(absl::StrCat("unknown command '", path, " ", extra, "'",
                                       near.empty() ? "" : absl::StrCat("; did you mean '", path, " ", near, "'?")),
                          path);
      }
      return UsageError(absl::StrCat("unexpected argument '", extra, "' after '", path, "'"), path);
    }
    return UsageError(absl::StrCat("'", path, "' takes ", command->args_usage, "; unexpected argument '", extra, "'"),
                      path);
  }
  if (got.size() < command->min_args) {
    return UsageError(absl::StrCat("'", path, "' needs ", command->args_usage), path);
  }
  return line;
}

absl::StatusOr<std::string> HelpFor(const std::vector<CommandNoun>& table, const std::string& topic) {
  if (topic.empty()) {
    std::string out = "usage: stewardctl [--config FILE] [--json] COMMAND [flags]\n\n"
                      "stewardctl asks the Steward collector what runs where and changes it: enrollment\n"
                      "tokens, hosts, inventory, health, metrics, signed jobs and staged rollouts.\n";
    for (const CommandNoun& noun : table) {
      std::vector<const CommandSpec*> commands;
      for (const CommandSpec& c : noun.commands) commands.push_back(&c);
      if (!commands.empty()) absl::StrAppend(&out, "\n", CommandLines(commands));
    }
    absl::StrAppend(&out, "\n", GlobalFlagsLine(),
                    "Run 'stewardctl help COMMAND' (or 'stewardctl COMMAND --help') for a command's flags and "
                    "an example.\n");
    return out;
  }
  if (const CommandSpec* c = FindCommand(table, topic)) return CommandHelp(table, *c);
  std::vector<std::string> words = Words(topic);
  std::vector<const CommandSpec*> under = CommandsUnder(table, words);
  if (!under.empty()) {
    std::string summary;
    for (const CommandNoun& noun : table) {
      if (noun.name == topic) summary = noun.summary;
    }
    return absl::StrCat("usage: stewardctl ", topic, " COMMAND [flags]\n\n", summary, summary.empty() ? "" : "\n\n",
                        "Commands:\n", CommandLines(under), "\nRun 'stewardctl ", topic,
                        " COMMAND --help' for a command's flags and an example.\n");
  }
  std::vector<std::string> paths;
  for (const CommandSpec* c : AllCommands(table)) paths.push_back(c->path);
  for (const CommandNoun& noun : table) paths.push_back(noun.name);
  std::string near = ClosestMatch(topic, paths);
  return absl::NotFoundError(absl::StrCat("no command '", topic, "'",
                                          near.empty() ? "" : absl::StrCat("; did you mean '", near, "'?"),
                                          "; 'stewardctl help' lists them"));
}

}  // namespace steward::ctl
