#include "common/cli_args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace steward {

ArgParser& ArgParser::Flag(std::string name, std::string* out, std::string help) {
  order_.push_back(name);
  specs_[std::move(name)] = {Kind::kValue, out, std::move(help)};
  return *this;
}
ArgParser& ArgParser::Repeated(std::string name, std::vector<std::string>* out, std::string help) {
  order_.push_back(name);
  specs_[std::move(name)] = {Kind::kRepeated, out, std::move(help)};
  return *this;
}
ArgParser& ArgParser::Bool(std::string name, bool* out, std::string help) {
  order_.push_back(name);
  specs_[std::move(name)] = {Kind::kBool, out, std::move(help)};
  return *this;
}

absl::Status ArgParser::Parse(const std::vector<std::string>& args,
                              std::vector<std::string>* positional) {
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (flags_done || !absl::StartsWith(a, "--") || a == "-") {
      if (!positional) return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", a, "'"));
      positional->push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = specs_.find(name);
    if (it == specs_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    Spec& spec = it->second;
    if (spec.kind == Kind::kBool) {
      if (has_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value (or =true/=false)"));
      }
      *static_cast<bool*>(spec.out) = !has_value || value == "true";
      set_.insert(name);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = args[++i];
    }
    if (spec.kind == Kind::kValue) {
      *static_cast<std::string*>(spec.out) = value;
    } else {
      static_cast<std::vector<std::string>*>(spec.out)->push_back(value);
    }
    set_.insert(name);
  }
  return absl::OkStatus();
}

std::string ArgParser::Usage() const {
  std::string out;
  for (const auto& name : order_) {
    const Spec& spec = specs_.at(name);
    std::string left = absl::StrCat("  --", name, spec.kind == Kind::kBool ? "" : " VALUE");
    if (left.size() < 28) left.resize(28, ' ');
    absl::StrAppend(&out, left, " ", spec.help, spec.kind == Kind::kRepeated ? " (repeatable)" : "", "\n");
  }
  return out;
}

}  // namespace steward
