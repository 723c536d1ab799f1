#pragma once
// Small helpers shared by the check tests.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/health/check.h"
#include "gtest/gtest.h"

namespace steward::agent::testing {

inline v1::CheckSpec Spec(const std::string& name, const std::string& type,
                          std::vector<std::pair<std::string, std::string>> params) {
  v1::CheckSpec spec;
  spec.set_name(name);
  spec.set_type(type);
  for (auto& [k, v] : params) (*spec.mutable_params())[k] = v;
  return spec;
}

// Builds the check (failing the test if that fails) and runs it once.
inline CheckOutcome RunOnce(const v1::CheckSpec& spec, const CheckEnv& env = CheckEnv()) {
  auto check = MakeCheck(spec, env);
  EXPECT_TRUE(check.ok()) << check.status();
  if (!check.ok()) return {};
  return (*check)->Run(absl::Now());
}

// The value of metric `name` labelled {check=<check>}, if present.
inline std::optional<double> Metric(const std::vector<MetricSample>& samples,
                                    const std::string& name, const std::string& check) {
  for (const MetricSample& s : samples) {
    if (s.name == name &&
        s.labels == std::vector<std::pair<std::string, std::string>>{{"check", check}}) {
      return s.value;
    }
  }
  return std::nullopt;
}

}  // namespace steward::agent::testing
