#pragma once
// UTF-8 well-formedness (RFC 3629 table 3-7), for text from the host that
// goes into proto3 `string` fields (which must be valid UTF-8, or the
// receiver refuses the whole message) and into JSON.

#include <cstddef>

#include "absl/strings/string_view.h"

namespace steward {

// Length (1-4) of the well-formed UTF-8 sequence starting at s[i], or 0 when
// the bytes there are not one (overlong forms, surrogates, code points above
// U+10FFFF, truncated sequences). Requires i < s.size().
size_t Utf8SequenceLength(absl::string_view s, size_t i);

// True when all of `s` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view s);

}  // namespace steward
