#include "collector/storage/keys.h"

#include "absl/strings/ascii.h"

#include "absl/strings/str_cat.h"

namespace steward::collector::keys {

std::string AgentPrefix(absl::string_view agent_id) {
  return absl::StrCat(agent_id, absl::string_view(&kSep, 1));
}

std::string InventoryKey(absl::string_view agent_id, const v1::SoftwareItem& item) {
  absl::string_view sep(&kSep, 1);
  return absl::StrCat(agent_id, sep, item.source(), sep, item.name(), sep, item.arch(), sep, item.location());
}

std::string InventoryNamePrefix(absl::string_view agent_id, absl::string_view source, absl::string_view name) {
  absl::string_view sep(&kSep, 1);
  return absl::StrCat(agent_id, sep, source, sep, name, sep);
}

std::string InventoryNameKey(absl::string_view agent_id, const v1::SoftwareItem& item) {
  return absl::StrCat(absl::AsciiStrToLower(item.name()), absl::string_view(&kSep, 1), InventoryKey(agent_id, item));
}

absl::string_view InventoryKeyOfNameKey(absl::string_view name_key) {
  size_t sep = name_key.find(kSep);
  return sep == absl::string_view::npos ? absl::string_view() : name_key.substr(sep + 1);
}

absl::string_view AgentOfInventoryKey(absl::string_view inventory_key) {
  return inventory_key.substr(0, inventory_key.find(kSep));
}

namespace {
void AppendBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}
}  // namespace

std::string ChangeKey(absl::string_view agent_id, int64_t time_ms, uint64_t seq, uint32_t index) {
  std::string out = AgentPrefix(agent_id);
  AppendBigEndian(&out, static_cast<uint64_t>(time_ms) ^ (uint64_t{1} << 63), 8);
  AppendBigEndian(&out, seq, 8);
  AppendBigEndian(&out, index, 4);
  return out;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c != 0xff) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;  // empty: no upper bound
}

bool HasNul(absl::string_view s) { return s.find('\0') != absl::string_view::npos; }

}  // namespace steward::collector::keys
