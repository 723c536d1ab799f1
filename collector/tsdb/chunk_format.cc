#include "collector/tsdb/chunk_format.h"

namespace steward::collector::tsdb {

const char* ValueEncodingName(ValueEncoding e) {
  switch (e) {
    case ValueEncoding::kGorillaXor:
      return "gorilla_xor";
    case ValueEncoding::kScaledDeltaVarint:
      return "scaled_delta_varint";
    case ValueEncoding::kScaledDodVarint:
      return "scaled_dod_varint";
    case ValueEncoding::kScaledDeltaPacked:
      return "scaled_delta_packed";
    case ValueEncoding::kScaledDodPacked:
      return "scaled_dod_packed";
  }
  return "unknown";
}

}  // namespace steward::collector::tsdb
