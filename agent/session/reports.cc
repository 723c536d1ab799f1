#include "agent/session/reports.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/inventory/inventory_diff.h"
#include "common/metrics/series_columns.h"
#include "common/signing/ed25519.h"
#include "common/status_macros.h"

namespace steward::agent {

v1::HostFacts FactsToProto(const HostFacts& f) {
  v1::HostFacts p;
  p.set_hostname(f.hostname);
  p.set_os_id(f.os_id);
  p.set_os_name(f.os_name);
  p.set_os_version(f.os_version);
  p.set_kernel(f.kernel);
  p.set_arch(f.arch);
  p.set_cpu_model(f.cpu_model);
  p.set_cpu_count(static_cast<uint32_t>(std::max(0, f.cpu_count)));
  p.set_memory_total_bytes(f.memory_total_bytes);
  p.set_boot_time_unix(f.boot_time_unix);
  p.set_dmi_vendor(f.hardware.dmi_vendor);
  p.set_dmi_model(f.hardware.dmi_model);
  p.set_dmi_serial(f.hardware.dmi_serial);
  for (const auto& d : f.hardware.disks) {
    v1::Disk* disk = p.add_disks();
    disk->set_name(d.name);
    disk->set_model(d.model);
    disk->set_size_bytes(d.size_bytes);
    disk->set_rotational(d.rotational);
  }
  for (const auto& n : f.hardware.interfaces) {
    v1::NetworkInterface* nic = p.add_interfaces();
    nic->set_name(n.name);
    nic->set_mac(n.mac);
    for (const auto& a : n.addresses) nic->add_addresses(a);
    nic->set_up(n.up);
  }
  return p;
}

v1::InventorySnapshot BuildInventorySnapshot(const std::vector<Package>& packages,
                                             const HostFacts& facts, size_t skipped_records) {
  v1::InventorySnapshot snap;
  *snap.mutable_facts() = FactsToProto(facts);
  for (const auto& p : packages) {
    v1::SoftwareItem* item = snap.add_items();
    item->set_source(p.source);
    item->set_name(p.name);
    item->set_version(p.version);
    item->set_arch(p.arch);
    item->set_vendor(p.vendor);
    item->set_size_bytes(p.size_bytes);
    item->set_status(p.status);
    item->set_install_time_unix(p.install_time_unix);
    item->set_location(p.location);
  }
  snap.set_digest(InventoryDigest(snap.items()));
  snap.set_skipped_records(static_cast<uint32_t>(skipped_records));
  return snap;
}

v1::MetricBatch BuildMetricBatch(const std::vector<MetricSample>& samples, int64_t time_ms) {
  v1::MetricBatch batch;
  metrics::SeriesColumnsBuilder columns(batch.mutable_columns());
  for (const auto& s : samples) {
    columns.AddSeries(s.name, s.labels, s.counter);
    columns.AddPoint(time_ms, s.value);
  }
  return batch;
}

absl::StatusOr<v1::TrustedKeys> TrustedKeysOf(const std::vector<std::string>& key_files) {
  std::vector<std::string> ids;
  for (const std::string& file : key_files) {
    ASSIGN_OR_RETURN(Ed25519PublicKey key, ReadPublicKeyFile(file));
    ids.push_back(key.key_id());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  v1::TrustedKeys out;
  for (std::string& id : ids) out.add_key_ids(std::move(id));
  return out;
}

}  // namespace steward::agent
