#include "common/health/check_spec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/duration.h"

namespace steward {
namespace {

// What one check type accepts. Exactly-one groups (process: name | cmdline |
// pidfile) are listed in `one_of`.
struct TypeParams {
  std::vector<absl::string_view> required;
  std::vector<absl::string_view> one_of;
  std::vector<absl::string_view> optional;
};

const std::map<absl::string_view, TypeParams>& KnownTypes() {
  static const auto* types = new std::map<absl::string_view, TypeParams>{
      {"process",
       {{}, {"name", "cmdline", "pidfile"}, {"min_count", "restart_window", "coredump_comm"}}},
      {"systemd", {{"unit"}, {}, {"restart_window", "coredump_comm"}}},
      {"tcp", {{"address"}, {}, {"timeout", "slow"}}},
      {"http", {{"url"}, {}, {"expect_status", "timeout", "slow", "ca_file", "insecure"}}},
  };
  return *types;
}

bool IsNameChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

bool HasControlOrSpace(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

absl::Status ValidateName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("check name is empty");
  if (name.size() > kMaxCheckNameBytes || !std::all_of(name.begin(), name.end(), IsNameChar)) {
    return absl::InvalidArgumentError(
        absl::StrCat("check name '", absl::CHexEscape(name.substr(0, 80)),
                     "' is invalid (use at most ", kMaxCheckNameBytes, " of a-z 0-9 _ . -)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint16_t> ParsePort(absl::string_view text, absl::string_view input) {
  int port = 0;
  if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      text.size() > 5 || !absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid port '", text, "' in '", input, "' (1..65535)"));
  }
  return static_cast<uint16_t>(port);
}

// A host name or IPv4 literal: letters, digits, '-', '.', '_'.
bool ValidHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

bool ValidIpv6(absl::string_view host) {
  in6_addr addr;
  return inet_pton(AF_INET6, std::string(host).c_str(), &addr) == 1;
}

// HOST:PORT or [V6]:PORT -> endpoint; `input` names the whole value in errors.
absl::StatusOr<CheckEndpoint> ParseHostPort(absl::string_view hostport, absl::string_view input,
                                            bool port_required, bool* has_port) {
  CheckEndpoint ep;
  absl::string_view host;
  absl::string_view port;
  bool with_port = false;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated '[' in '", input, "'"));
    }
    host = hostport.substr(1, close - 1);
    absl::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        return absl::InvalidArgumentError(
            absl::StrCat("expected ':PORT' after ']' in '", input, "'"));
      }
      port = rest.substr(1);
      with_port = true;
    }
    if (!ValidIpv6(host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid IPv6 address '", host, "' in '", input, "'"));
    }
  } else {
    size_t colon = hostport.rfind(':');
    if (colon != absl::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      with_port = true;
      if (host.find(':') != absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("IPv6 address in '", input, "' must be in brackets: [ADDR]:PORT"));
      }
    } else {
      host = hostport;
    }
    if (!ValidHostName(host)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid host '", absl::CHexEscape(host),
                                                     "' in '", absl::CHexEscape(input), "'"));
    }
  }
  if (with_port) {
    auto p = ParsePort(port, input);
    if (!p.ok()) return p.status();
    ep.port = *p;
  } else if (port_required) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", absl::CHexEscape(input), "' has no port (HOST:PORT, [IPv6]:PORT)"));
  }
  ep.host = std::string(host);
  if (has_port != nullptr) *has_port = with_port;
  return ep;
}

absl::Status ValidateParam(absl::string_view type, absl::string_view param,
                           const std::string& value) {
  if (param == "timeout" || param == "slow" || param == "restart_window") {
    auto d = ParseHumanDuration(value);
    if (!d.ok()) return d.status();
    if (param == "timeout" && (*d <= absl::ZeroDuration() || *d > kMaxCheckTimeout)) {
      return absl::InvalidArgumentError(absl::StrCat("timeout '", value,
                                                     "' must be above 0s and at most ",
                                                     absl::FormatDuration(kMaxCheckTimeout)));
    }
    if (param == "restart_window" && *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("restart_window '", value, "' must be above 0s"));
    }
    return absl::OkStatus();
  }
  if (param == "url") return ParseCheckUrl(value).status();
  if (param == "address") return ParseCheckAddress(value).status();
  if (param == "expect_status") {
    int status = 0;
    if (!absl::SimpleAtoi(value, &status) || status < 100 || status > 599) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid HTTP status '", absl::CHexEscape(value), "' (100..599)"));
    }
    return absl::OkStatus();
  }
  if (param == "coredump_comm") {
    // A process name as the kernel keeps it: what /proc/PID/comm shows.
    if (value.empty() || value.size() > 15 || HasControlOrSpace(value) ||
        value.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid process name '", absl::CHexEscape(value),
                       "' (1 to 15 bytes, no '/', spaces or control bytes)"));
    }
    return absl::OkStatus();
  }
  if (param == "min_count") {
    int64_t n = 0;
    if (!absl::SimpleAtoi(value, &n) || n < 0 || n > 1000000) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid count '", absl::CHexEscape(value), "' (a whole number >= 0)"));
    }
    return absl::OkStatus();
  }
  if (param == "insecure") {
    if (value != "true" && value != "false") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid boolean '", absl::CHexEscape(value), "' (true or false)"));
    }
    return absl::OkStatus();
  }
  if (param == "name") {
    // /proc/PID/comm holds at most 15 bytes (TASK_COMM_LEN - 1).
    if (value.empty() || value.size() > 15 || value.find('\n') != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("process name '", absl::CHexEscape(value),
                       "' must be 1 to 15 bytes (the kernel truncates /proc/PID/comm to 15)"));
    }
    return absl::OkStatus();
  }
  if (param == "cmdline") {
    if (value.empty()) return absl::InvalidArgumentError("cmdline substring is empty");
    return absl::OkStatus();
  }
  if (param == "pidfile" || param == "ca_file") {
    if (value.empty() || value[0] != '/' || value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("path '", absl::CHexEscape(value), "' must be absolute"));
    }
    return absl::OkStatus();
  }
  if (param == "unit") {
    // Passed to systemctl as one argv entry: no option-looking names.
    if (value.empty() || value.size() > 256 || value[0] == '-' || HasControlOrSpace(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid unit name '", absl::CHexEscape(value),
          "' (no spaces or control bytes, must not start with '-', at most 256 bytes)"));
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckEndpoint> ParseCheckAddress(absl::string_view address) {
  return ParseHostPort(address, address, /*port_required=*/true, nullptr);
}

absl::StatusOr<CheckUrl> ParseCheckUrl(absl::string_view url) {
  CheckUrl out;
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "http://")) {
    rest.remove_prefix(7);
  } else if (absl::StartsWith(rest, "https://")) {
    rest.remove_prefix(8);
    out.tls = true;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("url '", absl::CHexEscape(url.substr(0, 200)),
                                                   "' must start with http:// or https://"));
  }
  if (HasControlOrSpace(url)) {
    return absl::InvalidArgumentError(absl::StrCat("url '", absl::CHexEscape(url.substr(0, 200)),
                                                   "' contains spaces or control bytes"));
  }
  size_t hash = rest.find('#');
  if (hash != absl::string_view::npos) rest = rest.substr(0, hash);
  size_t path_start = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("url '", url, "' must not contain user info"));
  }
  if (authority.empty())
    return absl::InvalidArgumentError(absl::StrCat("url '", url, "' has no host"));
  bool has_port = false;
  auto ep = ParseHostPort(authority, url, /*port_required=*/false, &has_port);
  if (!ep.ok()) return ep.status();
  out.endpoint = *ep;
  out.default_port = !has_port;
  if (!has_port) out.endpoint.port = out.tls ? 443 : 80;
  if (path_start == absl::string_view::npos) {
    out.target = "/";
  } else {
    out.target = std::string(rest.substr(path_start));
    if (out.target[0] == '?') out.target.insert(0, "/");
  }
  return out;
}

absl::Duration CheckDurationParam(const v1::CheckSpec& spec, absl::string_view param,
                                  absl::Duration fallback) {
  auto it = spec.params().find(std::string(param));
  if (it == spec.params().end()) return fallback;
  auto d = ParseHumanDuration(it->second);
  return d.ok() ? *d : fallback;
}

absl::Status ValidateCheckSpec(const v1::CheckSpec& spec) {
  if (auto s = ValidateName(spec.name()); !s.ok()) return s;
  auto fail = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("check '", spec.name(), "': ", what));
  };
  const auto& types = KnownTypes();
  auto type = types.find(spec.type());
  if (type == types.end()) {
    std::vector<absl::string_view> names;
    for (const auto& [n, _] : types) names.push_back(n);
    return fail(absl::StrCat("unknown type '", absl::CHexEscape(spec.type()), "' (",
                             absl::StrJoin(names, ", "), ")"));
  }
  const TypeParams& tp = type->second;
  for (absl::string_view p : tp.required) {
    if (!spec.params().contains(std::string(p))) {
      return fail(absl::StrCat("missing required param '", p, "'"));
    }
  }
  if (!tp.one_of.empty()) {
    int present = 0;
    for (absl::string_view p : tp.one_of) present += spec.params().contains(std::string(p)) ? 1 : 0;
    if (present != 1) {
      return fail(absl::StrCat("needs exactly one of the params ", absl::StrJoin(tp.one_of, ", "),
                               present == 0 ? "" : " (several given)"));
    }
  }
  // Sorted for a deterministic first error (protobuf maps are unordered).
  std::map<std::string, std::string> params(spec.params().begin(), spec.params().end());
  for (const auto& [param, value] : params) {
    auto known = [&](const std::vector<absl::string_view>& list) {
      return std::find(list.begin(), list.end(), param) != list.end();
    };
    if (!known(tp.required) && !known(tp.one_of) && !known(tp.optional)) {
      std::vector<absl::string_view> all = tp.required;
      all.insert(all.end(), tp.one_of.begin(), tp.one_of.end());
      all.insert(all.end(), tp.optional.begin(), tp.optional.end());
      return fail(absl::StrCat("unknown param '", absl::CHexEscape(param), "' for type ",
                               spec.type(), " (known: ", absl::StrJoin(all, ", "), ")"));
    }
    if (auto s = ValidateParam(spec.type(), param, value); !s.ok()) {
      return fail(absl::StrCat("param '", param, "': ", s.message()));
    }
  }
  return absl::OkStatus();
}

bool IsCheckKey(absl::string_view key) {
  if (!absl::StartsWith(key, "check.")) return false;
  absl::string_view rest = key.substr(6);
  size_t dot = rest.rfind('.');
  return dot != absl::string_view::npos && dot > 0 && dot + 1 < rest.size();
}

absl::StatusOr<std::vector<v1::CheckSpec>> ChecksFromConfig(const KvConfig& cfg,
                                                            absl::string_view origin) {
  std::map<std::string, v1::CheckSpec> specs;
  std::set<std::string> types_given;
  for (const auto& [key, value] : cfg.entries()) {
    if (!absl::StartsWith(key, "check.")) continue;
    if (!IsCheckKey(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": key '", key, "' must be check.<name>.<param>"));
    }
    absl::string_view rest = absl::string_view(key).substr(6);
    size_t dot = rest.rfind('.');
    std::string name(rest.substr(0, dot));
    std::string param(rest.substr(dot + 1));
    v1::CheckSpec& spec = specs[name];
    spec.set_name(name);
    if (param == "type") {
      if (!types_given.insert(name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(origin, ": check '", name, "': 'type' given twice"));
      }
      spec.set_type(value);
      continue;
    }
    if (!spec.mutable_params()->insert({param, value}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": check '", name, "': param '", param, "' given twice"));
    }
  }
  std::vector<v1::CheckSpec> out;
  out.reserve(specs.size());
  for (auto& [name, spec] : specs) {
    if (!types_given.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": check '", name, "': no 'check.", name, ".type' line"));
    }
    if (auto s = ValidateCheckSpec(spec); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": ", s.message()));
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace steward
