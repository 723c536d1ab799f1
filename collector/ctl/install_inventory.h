#pragma once
// The machines `stewardctl install --ssh INVENTORY` installs agents on. Two
// formats, told apart by their content:
//
//   plain: one machine a line, [USER@]HOST[:PORT] (IPv6 as [ADDR]:PORT),
//          '#' starts a comment;
//   Ansible INI: [group] headers, then "NAME key=value ..." lines where
//          ansible_host, ansible_user, ansible_port and
//          ansible_ssh_private_key_file are used ([group:vars] and
//          [all:vars] sections give defaults; [group:children] lists are
//          skipped, their hosts appear under their own groups).
//
// A machine listed twice (same user, host and port) is installed once.
// Errors name the line and what was wrong.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::ctl {

struct InstallTarget {
  // As the operator named it: the inventory name, or the line.
  std::string name;
  std::string user;  // "" = ssh's default (its config, or the local user)
  std::string host;  // name or address, without brackets
  int port = 0;      // 0 = ssh's default
  std::string identity_file;
};

absl::StatusOr<std::vector<InstallTarget>> ParseInventory(absl::string_view text);

// ssh's arguments for `t` (before the remote command): -p, -l, -i, host.
std::vector<std::string> SshTargetArgs(const InstallTarget& t);

}  // namespace steward::ctl
