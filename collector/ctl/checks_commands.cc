// stewardctl checks: the application checks the collector pushes to agents
// by label.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/ctl/arg_text.h"
#include "collector/ctl/command.h"
#include "collector/ctl/metrics_view.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

absl::Status ChecksList(CommandContext& c) {
  v1::ListChecksResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::ListChecks, v1::ListChecksRequest(), &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& check : resp.checks()) {
      w.BeginObject().Key("name").String(check.spec().name()).Key("type").String(check.spec().type()).Key("params");
      w.BeginObject();
      for (const auto& [k, v] : std::map<std::string, std::string>(check.spec().params().begin(), check.spec().params().end())) {
        w.Key(k).String(v);
      }
      w.EndObject().Key("selector");
      LabelsJson(w, check.selector());
      w.EndObject();
    }
    w.EndArray();
    c.out() << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"NAME", "TYPE", "PARAMS", "SELECTOR"});
  for (const auto& check : resp.checks()) {
    std::vector<std::string> params;
    for (const auto& [k, v] : std::map<std::string, std::string>(check.spec().params().begin(), check.spec().params().end())) {
      params.push_back(absl::StrCat(k, "=", v));
    }
    t.AddRow({check.spec().name(), check.spec().type(), absl::StrJoin(params, " "),
              check.selector().empty() ? "(all agents)" : LabelsText(check.selector())});
  }
  c.out() << t.Render();
  if (t.size() == 0) c.out() << "(no pushed checks)\n";
  return absl::OkStatus();
}

absl::Status ChecksSet(CommandContext& c) {
  if (c.Get("type").empty()) return absl::InvalidArgumentError("checks set needs --type process|systemd|tcp|http");
  v1::PutCheckRequest req;
  auto* spec = req.mutable_check()->mutable_spec();
  spec->set_name(c.args()[0]);
  spec->set_type(c.Get("type"));
  for (const auto& p : c.List("param")) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--param '", p, "' must look like key=value"));
    }
    (*spec->mutable_params())[p.substr(0, eq)] = p.substr(eq + 1);
  }
  ASSIGN_OR_RETURN(auto labels, ParseLabels(c.List("label")));
  for (auto& l : labels) *req.mutable_check()->add_selector() = std::move(l);
  v1::PutCheckResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::PutCheck, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject().Key("name").String(spec->name()).Key("pushed_to").Uint(resp.pushed_to()).EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << "check '" << spec->name() << "' stored; pushed to " << resp.pushed_to()
         << " connected agent session(s); others get it when they connect\n";
  }
  return absl::OkStatus();
}

absl::Status ChecksRm(CommandContext& c) {
  v1::DeleteCheckRequest req;
  req.set_name(c.args()[0]);
  v1::DeleteCheckResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::DeleteCheck, req, &resp));
  if (!c.json()) c.out() << "check '" << req.name() << "' removed\n";
  else c.out() << "{}\n";
  return absl::OkStatus();
}


}  // namespace

CommandNoun ChecksNoun() {
  return {"checks", "application checks the collector pushes to agents",
          {
              {.path = "checks list",
               .summary = "checks the collector pushes to agents",
               .examples = {"checks list --json"},
               .json_keys = {"name", "type", "params", "selector"},
               .run = ChecksList},
              {.path = "checks set",
               .args_usage = "NAME",
               .min_args = 1,
               .max_args = 1,
               .summary = "push a check to the agents carrying all the labels (none: all agents)",
               .details = "Types and their params: process (name or pattern), systemd (unit), tcp (address),\n"
                          "http (url, expect_status); see docs/operations.md, \"Application checks\".",
               .flags = {ChoiceFlag("type", {"process", "systemd", "tcp", "http"}, "what the check looks at"),
                         RepeatedFlag("param", "KEY=VALUE", "a parameter of the check type"),
                         RepeatedFlag("label", "KEY=VALUE", "only agents with this label")},
               .examples = {"checks set nginx --type systemd --param unit=nginx.service --label role=web"},
               .json_keys = {"name", "pushed_to"},
               .run = ChecksSet},
              {.path = "checks rm",
               .args_usage = "NAME",
               .min_args = 1,
               .max_args = 1,
               .summary = "stop pushing a check",
               .examples = {"checks rm nginx"},
               .run = ChecksRm},
          }};
}

}  // namespace steward::ctl
