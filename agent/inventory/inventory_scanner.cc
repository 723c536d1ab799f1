#include "agent/inventory/inventory_scanner.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::agent {
namespace {

auto Key(const Package& p) { return std::tie(p.source, p.name, p.arch, p.location); }

}  // namespace

InventoryScanner::InventoryScanner(std::vector<std::unique_ptr<InventorySource>> sources) {
  for (auto& s : sources) sources_.push_back(SourceState{std::move(s), std::nullopt, {}});
  stats_.resize(sources_.size());
}

std::optional<std::vector<Package>> InventoryScanner::ScanIfChanged(bool force,
                                                                    ParseReport* report) {
  bool changed = false;
  for (size_t i = 0; i < sources_.size(); ++i) {
    SourceState& s = sources_[i];
    SourceStats& st = stats_[i];
    st.name = std::string(s.source->name());
    st.scanned = false;
    const absl::Time start = absl::Now();
    std::string fingerprint = s.source->Fingerprint();
    if (!force && s.fingerprint.has_value() && *s.fingerprint == fingerprint) {
      st.scan_time = absl::Now() - start;
      continue;
    }
    st.scanned = true;
    absl::StatusOr<std::vector<Package>> packages = s.source->Scan(report);
    st.scan_time = absl::Now() - start;
    st.status = packages.status();
    if (!packages.ok()) {
      AddWarning(report, absl::StrCat("inventory source ", st.name, " failed (",
                                      packages.status().message(), "), keeping its last result"));
      s.fingerprint.reset();  // Retry next time.
      continue;
    }
    for (Package& p : *packages) p.source = st.name;
    changed = true;
    s.fingerprint = std::move(fingerprint);
    s.packages = *std::move(packages);
    st.items = s.packages.size();
  }
  if (!changed && !force && returned_once_) return std::nullopt;
  returned_once_ = true;
  std::vector<Package> all;
  for (const SourceState& s : sources_) all.insert(all.end(), s.packages.begin(), s.packages.end());
  std::sort(all.begin(), all.end(), [](const Package& a, const Package& b) {
    return std::tie(a.source, a.name, a.arch, a.location, a.version) <
           std::tie(b.source, b.name, b.arch, b.location, b.version);
  });
  // Identities must be unique for the collector's diff; a source that breaks
  // this loses the later duplicates, with a warning.
  auto dup = std::unique(all.begin(), all.end(), [&](const Package& a, const Package& b) {
    if (Key(a) != Key(b)) return false;
    AddWarning(report, absl::StrCat(b.source, " package ", QuoteInput(b.name), " (", b.arch, ", ",
                                    b.location, ") reported twice, version ", QuoteInput(b.version),
                                    " dropped"));
    return true;
  });
  all.erase(dup, all.end());
  return all;
}

}  // namespace steward::agent
