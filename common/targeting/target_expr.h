#pragma once
// Target expressions: which hosts a deployment (or `stewardctl hosts
// --where`) is for, decided from what the collector knows of each host.
//
//   term     host:ID              agent id or host name
//            label:KEY=VALUE      an enrollment label (label:KEY: has KEY)
//            os:NAME              os-release ID ("debian"), any case
//            package:NAME         NAME installed, from any package source
//            package:NAME OP VER  an installed NAME whose version is OP VER,
//                                 OP one of < <= > >= = != and the order the
//                                 item's source's (common/version/package_version.h)
//   expr     term | not expr | expr and expr | expr or expr | ( expr )
//
// `not` binds tightest, then `and`, then `or`; keywords in any case. A value
// with blanks, parentheses or quotes is written in double quotes, with \"
// and \\ inside ("label:team=\"db ops\""). A host with several items named
// NAME (two architectures, two kernels) matches a version term when any of
// them does; `not package:openssl<3.0` is true on a host without openssl.
//
// Parse refuses a malformed expression with InvalidArgument whose message
// starts "target expression, position N:" (N counts bytes from 1) and says
// what was expected there. Immutable after Parse; thread-safe to share.

#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace steward {

// One installed software item, as a target sees it.
struct TargetPackage {
  std::string source;   // "dpkg", "rpm", "pip", ...
  std::string version;  // in the source's syntax
};

// What a target expression can test of one host.
struct TargetHost {
  std::string agent_id;
  std::string hostname;
  std::string os_id;
  std::map<std::string, std::string> labels;
  // Installed items by name; filled only when the expression needs them
  // (TargetExpr::NeedsPackages).
  std::multimap<std::string, TargetPackage> packages;
};

// Labels (enrollment tokens, `hosts label`, check selectors) must be
// nameable by a `label:KEY=VALUE` term as people type it: the key 1 to
// kMaxLabelKeyLength characters, letters, digits, '_', '.', '-' or '/',
// starting with a letter or '_' (no blanks, '=', quotes, parentheses or
// ':', which the term's syntax would take for something else); the value
// at most kMaxLabelValueLength bytes of UTF-8 without control characters
// (the term quotes a value with blanks or quotes; an empty value is named
// by `label:KEY`). InvalidArgument naming the label and the rule otherwise.
inline constexpr size_t kMaxLabelKeyLength = 64;
inline constexpr size_t kMaxLabelValueLength = 256;
absl::Status CheckTargetLabel(absl::string_view key, absl::string_view value);

class TargetExpr {
 public:
  // Longest expression and deepest nesting Parse accepts.
  static constexpr size_t kMaxLength = 4096;
  static constexpr int kMaxDepth = 64;

  static absl::StatusOr<TargetExpr> Parse(absl::string_view text);

  bool Matches(const TargetHost& host) const;
  // True when some term looks at installed packages (so callers load the
  // inventory only then).
  bool NeedsPackages() const { return needs_packages_; }
  // The package names its terms test, sorted, once each: Matches looks at
  // no other item of a host (so a store can load only these, by name).
  const std::vector<std::string>& PackageNames() const { return package_names_; }
  // The expression in canonical form: lower-case keywords, single spaces,
  // parentheses only where precedence needs them, values quoted only where
  // needed. Parse(ToString()) gives an equal expression (Parse refuses an
  // expression whose canonical form would exceed kMaxLength).
  std::string ToString() const;

  struct Node;  // defined in target_expr.cc

  TargetExpr(TargetExpr&&) noexcept;
  TargetExpr& operator=(TargetExpr&&) noexcept;
  ~TargetExpr();

 private:
  TargetExpr() = default;
  std::unique_ptr<Node> root_;
  bool needs_packages_ = false;
  std::vector<std::string> package_names_;
};

}  // namespace steward
