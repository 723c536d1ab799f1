// stewardctl install --ssh INVENTORY | --print-command: agents on machines
// that have none (docs/install.md, "Automatic install").
//
// Per machine: a one-use enrollment token made for it (so `hosts
// --pending` names it until its agent enrolls), then over the operator's
// ssh (keys or agent, their ssh config) deploy/install-agent.sh on stdin
// with the collector's address, CA fingerprint and download URL; the
// script's last line says what happened. N machines at a time, a live
// progress line on a terminal, a table (or --json) at the end, after
// checking that each new agent reports.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/ctl/arg_text.h"
#include "collector/ctl/command.h"
#include "collector/ctl/install_inventory.h"
#include "collector/ctl/table.h"
#include "common/exec/piped_command.h"
#include "common/file_util.h"
#include "common/install/install_script.h"
#include "common/json_writer.h"
#include "common/signing/ed25519.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

enum class Outcome { kInstalled, kAlready, kFailed };

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kInstalled: return "installed";
    case Outcome::kAlready: return "already there";
    case Outcome::kFailed: return "failed";
  }
  return "?";
}

struct HostResult {
  InstallTarget target;
  Outcome outcome = Outcome::kFailed;
  std::string agent_id, hostname, version;
  std::string detail;  // why it failed
  std::string token_id;
  bool reporting = false;
};

// What the collector says machines need (GetInstallInfo), with the
// operator's overrides.
struct Plan {
  std::string collector;  // HOST:PORT the agents dial
  std::string download;   // https://HOST:PORT
  std::string ca_sha256;
};

absl::StatusOr<Plan> MakePlan(CommandContext& c, v1::GetInstallInfoResponse* info, bool need_packages = true) {
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::GetInstallInfo, v1::GetInstallInfoRequest(), info));
  Plan p;
  p.collector = c.Given("collector").empty() ? info->agent_address() : c.Given("collector");
  p.download = c.Given("download").empty() ? info->download_url() : c.Given("download");
  p.ca_sha256 = info->ca_sha256();
  if (p.download.empty()) {
    return absl::FailedPreconditionError(
        "the collector's install endpoints are off (http_listen = off): set http_listen, or give --download URL");
  }
  if (!absl::StartsWith(p.download, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("--download '", p.download, "' must be an https:// URL"));
  }
  if (p.collector.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--collector '", p.collector, "' must be HOST:PORT"));
  }
  if (need_packages && info->packages().empty() && c.Given("download").empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the collector serves no agent package yet: copy steward-agent_VERSION_ARCH.deb (deploy/package.sh builds "
        "it) into ",
        info->packages_dir(), " on the collector's host; it is served at once"));
  }
  return p;
}

// Text safe inside single quotes in a remote shell command.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') {
      out += "'\\''";
    } else {
      out += ch;
    }
  }
  return out + "'";
}

// The last line of `text` starting with `prefix` (without it), or "".
std::string LastLineWith(const std::string& text, absl::string_view prefix) {
  std::string found;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::StartsWith(line, prefix)) found = std::string(line.substr(prefix.size()));
  }
  return found;
}

std::string LastLine(const std::string& text) {
  std::string last;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) last = std::string(line);
  }
  return last;
}

void RevokeQuietly(CommandContext& c, const std::string& token_id, const std::string& enrolled_as = "") {
  v1::RevokeEnrollmentTokenRequest req;
  req.set_token_id(token_id);
  req.set_enrolled_as(enrolled_as);
  v1::RevokeEnrollmentTokenResponse resp;
  (void)c.Call(&v1::AdminService::Stub::RevokeEnrollmentToken, req, &resp);
}

HostResult InstallOne(CommandContext& c, const InstallTarget& target, const Plan& plan, const std::string& trusted_key,
                      const std::vector<v1::Label>& labels, absl::Duration ttl, absl::Duration host_timeout) {
  HostResult r;
  r.target = target;
  v1::CreateEnrollmentTokenRequest treq;
  treq.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  treq.set_max_uses(1);
  treq.set_machine(target.name);
  for (const auto& l : labels) *treq.add_labels() = l;
  v1::CreateEnrollmentTokenResponse token;
  if (auto s = c.Call(&v1::AdminService::Stub::CreateEnrollmentToken, treq, &token); !s.ok()) {
    r.detail = absl::StrCat("cannot create its token: ", s.message());
    return r;
  }
  r.token_id = token.token_id();

  std::vector<std::string> argv = {"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"};
  if (!c.Given("ssh-config").empty()) argv.insert(argv.end(), {"-F", c.Given("ssh-config")});
  for (auto& a : SshTargetArgs(target)) argv.push_back(std::move(a));
  // The token goes on stdin, before the script: never on a command line.
  const std::string args = absl::StrCat("--collector ", ShellQuote(plan.collector), " --ca-sha256 ",
                                        ShellQuote(plan.ca_sha256), " --download ", ShellQuote(plan.download));
  argv.push_back(absl::StrCat("if [ \"$(id -u)\" = 0 ]; then sh -s -- ", args, "; else sudo -n sh -s -- ", args,
                              "; fi"));
  std::string input = absl::StrCat("STEWARD_TOKEN=", ShellQuote(token.token()), "\nexport STEWARD_TOKEN\n");
  if (!trusted_key.empty()) {
    absl::StrAppend(&input, "STEWARD_TRUSTED_KEY=", ShellQuote(trusted_key), "\nexport STEWARD_TRUSTED_KEY\n");
  }
  absl::StrAppend(&input, InstallAgentScript());
  auto ran = RunPiped(argv, input, host_timeout);
  if (!ran.ok()) {
    r.detail = std::string(ran.status().message());
    if (absl::IsNotFound(ran.status())) r.detail += " (install ssh: apt-get install openssh-client)";
    RevokeQuietly(c, r.token_id);
    return r;
  }
  std::string status_line = LastLineWith(ran->out, "STEWARD-INSTALL: ");
  if (ran->exit_code == 0 && !status_line.empty()) {
    for (absl::string_view word : absl::StrSplit(status_line, ' ', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(word, absl::MaxSplits('=', 1));
      if (kv.first == "result") r.outcome = kv.second == "already" ? Outcome::kAlready : Outcome::kInstalled;
      if (kv.first == "agent_id") r.agent_id = std::string(kv.second);
      if (kv.first == "hostname") r.hostname = std::string(kv.second);
      if (kv.first == "version") r.version = std::string(kv.second);
    }
    // An agent enrolled before keeps its identity: this token was not
    // used and is taken back, so the machine is not "pending".
    if (r.outcome == Outcome::kAlready) RevokeQuietly(c, r.token_id, r.agent_id);
    return r;
  }
  if (ran->exit_code == 255) {
    // ssh itself failed: the machine never got the token.
    std::string why = LastLine(ran->err);
    r.detail = absl::StartsWith(why, "ssh: ") ? why : absl::StrCat("ssh: ", why.empty() ? "failed" : why);
    RevokeQuietly(c, r.token_id);
    return r;
  }
  std::string why = LastLineWith(ran->err, "install-agent: error: ");
  if (why.empty() && absl::StrContains(ran->err, "sudo")) why = "needs root: log in as root or allow sudo without a password";
  if (why.empty()) why = LastLine(ran->err);
  r.detail = absl::StrCat(why.empty() ? "the installer failed" : why, " (exit ", ran->exit_code, ")");
  return r;
}

// Waits until every new agent is connected (or `wait` passes) and marks
// those that report.
void CheckReporting(CommandContext& c, std::vector<HostResult>& results, absl::Duration wait) {
  const absl::Time until = absl::Now() + wait;
  while (true) {
    v1::ListHostsResponse hosts;
    if (!c.Call(&v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok()) return;
    bool all = true;
    for (auto& r : results) {
      if (r.agent_id.empty()) continue;
      for (const auto& h : hosts.hosts()) {
        if (h.agent_id() == r.agent_id) r.reporting = h.connected();
      }
      all = all && r.reporting;
    }
    if (all || absl::Now() >= until) return;
    absl::SleepFor(absl::Milliseconds(500));
  }
}

absl::Status PrintCommand(CommandContext& c) {
  v1::GetInstallInfoResponse info;
  ASSIGN_OR_RETURN(Plan plan, MakePlan(c, &info, /*need_packages=*/false));
  if (info.packages().empty()) {
    c.err() << "warning: the collector serves no agent package yet: copy steward-agent_VERSION_ARCH.deb "
               "(deploy/package.sh builds it) into "
            << info.packages_dir() << " on the collector's host\n";
  }
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("collector").String(plan.collector)
        .Key("download_url").String(plan.download)
        .Key("ca_sha256").String(plan.ca_sha256)
        .Key("packages").BeginArray();
    for (const auto& p : info.packages()) {
      w.BeginObject().Key("arch").String(p.arch()).Key("version").String(p.version()).Key("sha256").String(p.sha256())
          .EndObject();
    }
    w.EndArray().EndObject();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  // Nothing from the collector is run or sent a token before its CA was
  // checked: a script fetched with --insecure could be anyone's.
  c.out() << "# On each machine, as root, with a token from 'stewardctl token create --for MACHINE':\n"
          << "TOKEN=...\n"
          << "# 1. the collector's CA; the second line must print " << plan.ca_sha256 << "\n"
          << "curl -fsS --insecure " << plan.download << "/install/ca.pem -o steward-ca.pem\n"
          << "grep -v -- ----- steward-ca.pem | base64 -d | sha256sum\n"
          << "# 2. the installer, from the collector whose CA you checked\n"
          << "curl -fsS --cacert steward-ca.pem -H \"Authorization: Bearer $TOKEN\" " << plan.download
          << "/install/agent.sh -o install-agent.sh\n"
          << "sh install-agent.sh --collector " << plan.collector << " --ca-sha256 " << plan.ca_sha256
          << " --token \"$TOKEN\"\n"
          << "# (or copy deploy/install-agent.sh over a channel you trust: it is the same script)\n";
  for (const auto& p : info.packages()) {
    c.out() << "# serves steward-agent " << p.version() << " for " << p.arch() << "\n";
  }
  return absl::OkStatus();
}

absl::Status Install(CommandContext& c) {
  if (c.Bool("print-command")) {
    if (!c.Given("ssh").empty()) return absl::InvalidArgumentError("--print-command and --ssh go separately");
    return PrintCommand(c);
  }
  if (c.Given("ssh").empty()) {
    return absl::InvalidArgumentError(
        "--ssh INVENTORY is required (a file of [USER@]HOST[:PORT] lines or an Ansible INI inventory), or "
        "--print-command for the command to run on a machine by hand");
  }
  auto text = ReadFile(c.Given("ssh"));
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("--ssh: ", text.status().message()));
  auto parsed = ParseInventory(*text);
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(c.Given("ssh"), ": ", parsed.status().message()));
  std::vector<InstallTarget> targets = *std::move(parsed);
  uint64_t parallel = 0;
  if (!absl::SimpleAtoi(c.Get("parallel"), &parallel) || parallel < 1 || parallel > 256) {
    return absl::InvalidArgumentError(absl::StrCat("--parallel '", c.Get("parallel"), "' must be from 1 to 256"));
  }
  ASSIGN_OR_RETURN(std::vector<v1::Label> labels, ParseLabels(c.List("label")));
  const absl::Duration ttl = c.Duration("ttl");
  if (ttl < absl::Minutes(1)) return absl::InvalidArgumentError("--ttl must be at least 1m");
  std::string trusted_key;
  if (!c.Given("trusted-key").empty()) {
    if (auto key = ReadPublicKeyFile(c.Given("trusted-key")); !key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--trusted-key: ", key.status().message()));
    }
    ASSIGN_OR_RETURN(trusted_key, ReadFile(c.Given("trusted-key")));
  }
  v1::GetInstallInfoResponse info;
  ASSIGN_OR_RETURN(Plan plan, MakePlan(c, &info));

  std::vector<HostResult> results(targets.size());
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0, installed = 0, already = 0, failed = 0;
  std::ostream* progress = c.json() ? nullptr : c.progress();
  auto report = [&](const HostResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    ++done;
    if (r.outcome == Outcome::kInstalled) ++installed;
    if (r.outcome == Outcome::kAlready) ++already;
    if (r.outcome == Outcome::kFailed) ++failed;
    size_t running = std::min<size_t>(parallel, targets.size() - std::min(targets.size(), done));
    if (progress != nullptr) {
      *progress << "\r\033[K[" << done << "/" << targets.size() << "] installed " << installed << ", already there "
                << already << ", failed " << failed << ", running " << running << " (last: " << r.target.name << " "
                << OutcomeName(r.outcome) << ")" << std::flush;
    } else if (!c.json()) {
      c.err() << "[" << done << "/" << targets.size() << "] " << r.target.name << ": " << OutcomeName(r.outcome)
              << (r.detail.empty() ? "" : ": ") << r.detail << "\n";
    }
  };
  if (progress != nullptr) {
    *progress << "installing agents on " << targets.size() << " machine(s), " << parallel << " at a time\n";
  }
  std::vector<std::thread> workers;
  for (size_t w = 0; w < std::min<size_t>(parallel, targets.size()); ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < targets.size(); i = next++) {
        results[i] = InstallOne(c, targets[i], plan, trusted_key, labels, ttl, c.Duration("host-timeout"));
        report(results[i]);
      }
    });
  }
  for (auto& t : workers) t.join();
  if (progress != nullptr) *progress << "\n";
  CheckReporting(c, results, c.Duration("wait"));

  v1::ListPendingMachinesResponse pending;
  (void)c.Call(&v1::AdminService::Stub::ListPendingMachines, v1::ListPendingMachinesRequest(), &pending);

  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& r : results) {
      w.BeginObject()
          .Key("machine").String(r.target.name)
          .Key("result").String(r.outcome == Outcome::kAlready ? "already" : OutcomeName(r.outcome))
          .Key("agent_id").String(r.agent_id)
          .Key("hostname").String(r.hostname)
          .Key("version").String(r.version)
          .Key("reporting").Bool(r.reporting)
          .Key("token_id").String(r.token_id)
          .Key("detail").String(r.detail)
          .EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
  } else {
    Table t({"MACHINE", "RESULT", "AGENT ID", "HOSTNAME", "VERSION", "REPORTING", "DETAIL"});
    for (const auto& r : results) {
      t.AddRow({r.target.name, OutcomeName(r.outcome), r.agent_id.empty() ? "-" : r.agent_id,
                r.hostname.empty() ? "-" : r.hostname, r.version.empty() ? "-" : r.version,
                r.agent_id.empty() ? "-" : (r.reporting ? "yes" : "not yet"), r.detail.empty() ? "-" : r.detail});
    }
    c.out() << t.Render();
    c.out() << installed << " installed, " << already << " already there, " << failed << " failed\n";
    if (pending.machines_size() > 0) {
      c.out() << pending.machines_size()
              << " machine(s) were given a token and never enrolled: 'stewardctl hosts --pending'\n";
    }
  }
  if (failed > 0) {
    return absl::AbortedError(absl::StrCat(failed, " of ", targets.size(), " machine(s) failed; see DETAIL, fix, and run "
                                     "the same command again (machines done already are skipped)"));
  }
  return absl::OkStatus();
}

}  // namespace

CommandNoun InstallNoun() {
  return {"install", "put agents on machines over ssh (or print the command to run by hand)",
          {
              {.path = "install",
               .summary = "install, enroll and start agents on machines over ssh, N at a time",
               .details =
                   "INVENTORY is a file of [USER@]HOST[:PORT] lines, or an Ansible INI inventory (ansible_host,\n"
                   "ansible_user, ansible_port, ansible_ssh_private_key_file are used). Each machine gets its own\n"
                   "one-use token (listed by 'hosts --pending' until it enrolls) and runs deploy/install-agent.sh\n"
                   "over ssh as root (or sudo -n): it checks the collector's CA fingerprint, downloads the agent\n"
                   "package from the collector over HTTPS, installs it, enrolls and starts the agent. ssh runs\n"
                   "with your keys, agent and ~/.ssh/config, in batch mode (no password prompts). Machines\n"
                   "enrolled already keep their identity. Exit 1 when a machine failed; run again to retry.",
               .flags = {TextFlag("ssh", "INVENTORY", "the machines: [USER@]HOST[:PORT] lines or an Ansible INI file"),
                         CountFlag("parallel", "machines at a time", "10"),
                         TextFlag("ssh-config", "FILE", "ssh config file (ssh -F)"),
                         TextFlag("collector", "HOST:PORT",
                                  "the address agents dial (default: the collector's first --server-name)"),
                         TextFlag("download", "URL", "the collector's HTTPS install address (default: its own)"),
                         RepeatedFlag("label", "KEY=VALUE", "a label for the hosts it enrolls"),
                         TextFlag("trusted-key", "PREFIX.pub",
                                  "publisher key the agents trust (needed for deployments, self-update included)"),
                         DurationFlag("ttl", "lifetime of the machines' tokens", "1h"),
                         DurationFlag("host-timeout", "longest one machine may take", "10m"),
                         DurationFlag("wait", "how long to wait for new agents to report", "30s"),
                         BoolFlag("print-command", "print the command to install one machine by hand")},
               .examples = {"install --ssh machines.txt --parallel 20 --label env=prod"},
               .json_keys = {"machine", "result", "agent_id", "hostname", "version", "reporting", "detail"},
               .run = Install},
          }};
}

}  // namespace steward::ctl
