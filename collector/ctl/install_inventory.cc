#include "collector/ctl/install_inventory.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace steward::ctl {
namespace {

absl::Status LineError(size_t line, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("inventory line ", line, ": ", why));
}

bool ValidHost(absl::string_view host) {
  if (host.empty() || host.size() > 253 || host[0] == '-') return false;  // never an ssh option
  for (char c : host) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':' ||
          c == '%')) {
      return false;
    }
  }
  return true;
}

bool ValidUser(absl::string_view user) {
  if (user.empty() || user.size() > 64 || user[0] == '-') return false;
  for (char c : user) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

absl::Status ParsePort(absl::string_view text, size_t line, int* port) {
  if (!absl::SimpleAtoi(text, port) || *port < 1 || *port > 65535 ||
      text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return LineError(line, absl::StrCat("port '", text, "' is not a number from 1 to 65535"));
  }
  return absl::OkStatus();
}

// [USER@]HOST[:PORT], [USER@][V6]:PORT, or a bare IPv6 address.
absl::Status ParseAddress(absl::string_view text, size_t line, InstallTarget* t) {
  size_t at = text.rfind('@');
  if (at != absl::string_view::npos) {
    t->user = std::string(text.substr(0, at));
    if (!ValidUser(t->user)) return LineError(line, absl::StrCat("'", t->user, "' is not a user name"));
    text.remove_prefix(at + 1);
  }
  if (absl::StartsWith(text, "[")) {
    size_t close = text.find(']');
    if (close == absl::string_view::npos) return LineError(line, "'[' without ']' around an IPv6 address");
    t->host = std::string(text.substr(1, close - 1));
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return LineError(line, "expected ':PORT' after ']'");
      if (auto s = ParsePort(rest.substr(1), line, &t->port); !s.ok()) return s;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    t->host = std::string(text.substr(0, colon));
    if (auto s = ParsePort(text.substr(colon + 1), line, &t->port); !s.ok()) return s;
  } else {
    t->host = std::string(text);  // a name, IPv4, or a bare IPv6 address
  }
  if (!ValidHost(t->host)) return LineError(line, absl::StrCat("'", t->host, "' is not a host name or address"));
  return absl::OkStatus();
}

// "[group]", "[group:vars]", "[group:children]"; not "[::1]" or "[::1]:22".
bool IsSectionHeader(absl::string_view l) {
  if (l.size() < 3 || l.front() != '[' || l.back() != ']') return false;
  absl::string_view inner = l.substr(1, l.size() - 2);
  if (!absl::ConsumeSuffix(&inner, ":vars")) absl::ConsumeSuffix(&inner, ":children");
  if (inner.empty()) return false;
  for (char c : inner) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

using Vars = std::map<std::string, std::string>;

absl::Status ApplyVars(const Vars& vars, size_t line, InstallTarget* t) {
  for (const auto& [key, value] : vars) {
    if (key == "ansible_host") {
      InstallTarget a;
      if (auto s = ParseAddress(value, line, &a); !s.ok()) return s;
      t->host = a.host;
      if (a.port != 0) t->port = a.port;
      if (!a.user.empty()) t->user = a.user;
    } else if (key == "ansible_user" || key == "ansible_ssh_user") {
      if (!ValidUser(value)) return LineError(line, absl::StrCat("'", value, "' is not a user name"));
      t->user = value;
    } else if (key == "ansible_port" || key == "ansible_ssh_port") {
      if (auto s = ParsePort(value, line, &t->port); !s.ok()) return s;
    } else if (key == "ansible_ssh_private_key_file" || key == "ansible_private_key_file") {
      if (value.empty() || value[0] == '-') return LineError(line, "bad private key file");
      t->identity_file = value;
    }
    // Other variables (ansible_ssh_common_args, ansible_become, ...) are
    // Ansible's own business: ignored here.
  }
  return absl::OkStatus();
}

// key=value words; values may be quoted with ' or ".
absl::StatusOr<Vars> ParseVars(absl::string_view text, size_t line) {
  Vars vars;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    size_t eq = text.find('=', i);
    size_t space = text.find_first_of(" \t", i);
    if (eq == absl::string_view::npos || (space != absl::string_view::npos && space < eq)) {
      return LineError(line, absl::StrCat("'", text.substr(i, space == absl::string_view::npos ? space : space - i),
                                          "' is not key=value"));
    }
    std::string key(text.substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
      char quote = text[i];
      size_t end = text.find(quote, i + 1);
      if (end == absl::string_view::npos) return LineError(line, absl::StrCat("unclosed quote in ", key));
      value = std::string(text.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      size_t end = text.find_first_of(" \t", i);
      if (end == absl::string_view::npos) end = text.size();
      value = std::string(text.substr(i, end - i));
      i = end;
    }
    vars[key] = value;
  }
  return vars;
}

}  // namespace

absl::StatusOr<std::vector<InstallTarget>> ParseInventory(absl::string_view text) {
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the inventory holds a NUL byte: not a text file");
  }
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  // Ansible INI when any line is a [section] header.
  bool ini = false;
  for (absl::string_view raw : lines) ini = ini || IsSectionHeader(absl::StripAsciiWhitespace(raw));
  // INI: vars first (they may come after the hosts they apply to).
  std::map<std::string, Vars> group_vars;
  if (ini) {
    std::string section;
    for (size_t n = 0; n < lines.size(); ++n) {
      absl::string_view l = absl::StripAsciiWhitespace(lines[n]);
      if (l.empty() || l[0] == '#' || l[0] == ';') continue;
      if (IsSectionHeader(l)) {
        section = std::string(l.substr(1, l.size() - 2));
        continue;
      }
      if (absl::EndsWith(section, ":vars")) {
        std::string group = section.substr(0, section.size() - 5);
        std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(l, absl::MaxSplits('=', 1));
        group_vars[group][std::string(absl::StripAsciiWhitespace(kv.first))] =
            std::string(absl::StripTrailingAsciiWhitespace(absl::StripAsciiWhitespace(kv.second)));
      }
    }
  }
  std::vector<InstallTarget> out;
  std::set<std::tuple<std::string, std::string, int>> seen;
  std::string section = "ungrouped";
  for (size_t n = 0; n < lines.size(); ++n) {
    const size_t line = n + 1;
    absl::string_view l = absl::StripAsciiWhitespace(lines[n]);
    if (size_t hash = l.find(" #"); hash != absl::string_view::npos) l = absl::StripAsciiWhitespace(l.substr(0, hash));
    if (l.empty() || l[0] == '#' || (ini && l[0] == ';')) continue;
    if (l.size() > 4096) return LineError(line, "longer than 4096 characters");
    InstallTarget t;
    if (ini) {
      if (IsSectionHeader(l)) {
        section = std::string(l.substr(1, l.size() - 2));
        continue;
      }
      if (absl::EndsWith(section, ":vars") || absl::EndsWith(section, ":children")) continue;
      size_t space = l.find_first_of(" \t");
      absl::string_view name = l.substr(0, space);
      if (auto s = ParseAddress(name, line, &t); !s.ok()) return s;
      t.name = std::string(name);
      Vars vars = group_vars["all"];
      for (const auto& [k, v] : group_vars[section]) vars[k] = v;
      if (space != absl::string_view::npos) {
        auto own = ParseVars(l.substr(space + 1), line);
        if (!own.ok()) return own.status();
        for (const auto& [k, v] : *own) vars[k] = v;
      }
      if (auto s = ApplyVars(vars, line, &t); !s.ok()) return s;
    } else {
      if (l.find_first_of(" \t") != absl::string_view::npos) {
        return LineError(line, absl::StrCat("'", l, "' is not [USER@]HOST[:PORT] (an Ansible inventory needs a "
                                            "[group] header)"));
      }
      if (auto s = ParseAddress(l, line, &t); !s.ok()) return s;
      t.name = std::string(l);
    }
    if (!seen.insert({t.user, t.host, t.port}).second) continue;
    out.push_back(std::move(t));
  }
  if (out.empty()) return absl::InvalidArgumentError("the inventory lists no machine");
  return out;
}

std::vector<std::string> SshTargetArgs(const InstallTarget& t) {
  std::vector<std::string> args;
  if (t.port != 0) args.insert(args.end(), {"-p", std::to_string(t.port)});
  if (!t.user.empty()) args.insert(args.end(), {"-l", t.user});
  if (!t.identity_file.empty()) args.insert(args.end(), {"-i", t.identity_file});
  args.push_back(t.host);
  return args;
}

}  // namespace steward::ctl
