#include "collector/ctl/command.h"

#include <cstdlib>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "collector/ctl/host_ref.h"
#include "common/duration.h"
#include "common/inventory/package_names.h"
#include "common/status_macros.h"

namespace steward::ctl {

CommandContext::CommandContext(const CommandSpec& spec, ParsedFlags flags, std::ostream& out, std::ostream& err)
    : spec_(spec), flags_(std::move(flags)), out_(out), err_(err) {}

const FlagSpec& CommandContext::Declared(absl::string_view flag) const {
  for (const FlagSpec& f : spec_.flags) {
    if (f.name == flag) return f;
  }
  // A handler reading a flag its command does not declare is a bug in the
  // table, not the user's mistake.
  std::fprintf(stderr, "stewardctl: internal error: '%s' reads undeclared flag --%.*s\n", spec_.path.c_str(),
               static_cast<int>(flag.size()), flag.data());
  std::abort();
}

bool CommandContext::Has(absl::string_view flag) const {
  Declared(flag);
  return flags_.values.contains(std::string(flag));
}

const std::string& CommandContext::Get(absl::string_view flag) const {
  const FlagSpec& f = Declared(flag);
  auto it = flags_.values.find(f.name);
  return it == flags_.values.end() || it->second.empty() ? f.default_value : it->second.back();
}

const std::string& CommandContext::Given(absl::string_view flag) const {
  static const std::string* empty = new std::string();
  return Has(flag) ? Get(flag) : *empty;
}

bool CommandContext::Bool(absl::string_view flag) const { return Get(flag) == "true"; }

const std::vector<std::string>& CommandContext::List(absl::string_view flag) const {
  static const std::vector<std::string>* empty = new std::vector<std::string>();
  const FlagSpec& f = Declared(flag);
  auto it = flags_.values.find(f.name);
  return it == flags_.values.end() ? *empty : it->second;
}

absl::Duration CommandContext::Duration(absl::string_view flag) const {
  const std::string& v = Get(flag);
  if (v.empty()) return absl::ZeroDuration();
  absl::StatusOr<absl::Duration> d = ParseHumanDuration(v);
  return d.ok() ? *d : absl::ZeroDuration();  // checked when parsed; defaults are valid
}

absl::Status CommandContext::Connect() {
  ASSIGN_OR_RETURN(cred_, LoadAdminCredential(flags_.config));
  stub_ = MakeAdminStub(cred_);
  return absl::OkStatus();
}

absl::StatusOr<std::string> CommandContext::ResolveHost(const std::string& ref) {
  return ctl::ResolveHost(*stub_, ref, flags_.timeout);
}

absl::StatusOr<std::string> CommandContext::HostFlag(absl::string_view flag) {
  if (!Has(flag)) return std::string();
  return ResolveHost(Get(flag));
}

FlagSpec BoolFlag(std::string name, std::string help) {
  return FlagSpec{.name = std::move(name), .kind = FlagKind::kBool, .help = std::move(help)};
}

FlagSpec TextFlag(std::string name, std::string value_name, std::string help, std::string default_value) {
  return FlagSpec{.name = std::move(name),
                  .kind = FlagKind::kText,
                  .value_name = std::move(value_name),
                  .help = std::move(help),
                  .default_value = std::move(default_value)};
}

FlagSpec DurationFlag(std::string name, std::string help, std::string default_value) {
  return FlagSpec{.name = std::move(name),
                  .kind = FlagKind::kDuration,
                  .help = std::move(help),
                  .default_value = std::move(default_value)};
}

FlagSpec CountFlag(std::string name, std::string help, std::string default_value) {
  return FlagSpec{.name = std::move(name),
                  .kind = FlagKind::kCount,
                  .help = std::move(help),
                  .default_value = std::move(default_value)};
}

FlagSpec ChoiceFlag(std::string name, std::vector<std::string> choices, std::string help,
                    std::string default_value) {
  return FlagSpec{.name = std::move(name),
                  .kind = FlagKind::kChoice,
                  .help = std::move(help),
                  .default_value = std::move(default_value),
                  .choices = std::move(choices)};
}

FlagSpec RepeatedFlag(std::string name, std::string value_name, std::string help) {
  return FlagSpec{.name = std::move(name),
                  .kind = FlagKind::kText,
                  .value_name = std::move(value_name),
                  .help = std::move(help),
                  .repeatable = true};
}

FlagSpec HostFlagSpec(std::string help) { return TextFlag("host", "HOST", std::move(help)); }

FlagSpec SourceFlagSpec() {
  return ChoiceFlag("source", std::vector<std::string>(std::begin(kInventorySources), std::end(kInventorySources)),
                    "only packages of this inventory source");
}

}  // namespace steward::ctl
