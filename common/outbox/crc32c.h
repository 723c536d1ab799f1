#pragma once
// CRC-32C (Castagnoli, the polynomial of iSCSI, ext4 and LevelDB logs),
// table-driven in software. Debian's Abseil 20220623 has no absl/crc, and
// the outbox checksums a few MB/s at most, so a 1 KiB table is enough.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace steward {

// Extends `crc` (the value returned for the data so far; 0 to start) with
// `data`: Crc32cExtend(Crc32cExtend(0, a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data);

inline uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data); }

}  // namespace steward
