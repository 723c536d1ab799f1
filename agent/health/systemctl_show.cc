#include "agent/health/systemctl_show.h"

#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/exec/systemctl.h"

namespace steward::agent {

SystemdUnitState ParseSystemctlShow(absl::string_view text, absl::string_view origin,
                                    ParseReport* report) {
  SystemdUnitState st;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("expected Property=value, found ", QuoteInput(line)));
      continue;
    }
    absl::string_view key = line.substr(0, eq);
    absl::string_view value = line.substr(eq + 1);
    auto number = [&](auto* field) {
      std::remove_reference_t<decltype(**field)> v{};
      // systemd prints "[not set]" or an empty value for unset numbers.
      if (value.empty() || value == "[not set]") return;
      if (!absl::SimpleAtoi(value, &v)) {
        AddLineWarning(report, origin, line_no,
                       absl::StrCat(key, ": not a number: ", QuoteInput(value)));
        return;
      }
      *field = v;
    };
    if (key == "LoadState") {
      st.load_state = std::string(value);
    } else if (key == "ActiveState") {
      st.active_state = std::string(value);
    } else if (key == "SubState") {
      st.sub_state = std::string(value);
    } else if (key == "Result") {
      st.result = std::string(value);
    } else if (key == "NRestarts") {
      number(&st.n_restarts);
    } else if (key == "ExecMainCode") {
      number(&st.exec_main_code);
    } else if (key == "ExecMainStatus") {
      number(&st.exec_main_status);
    } else if (key == "ActiveEnterTimestampMonotonic") {
      number(&st.active_enter_monotonic_us);
    }
  }
  return st;
}

absl::StatusOr<std::string> RunSystemctlShow(const std::string& unit) {
  SystemctlOptions options;
  options.max_output = 64 * 1024;
  return RunSystemctl({"show", "--no-pager", "-p", kSystemctlShowProperties, "--", unit}, options);
}

}  // namespace steward::agent
