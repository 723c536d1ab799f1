#include "common/json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace steward {

void JsonWriter::Newline() {
  if (indent_ <= 0) return;
  for (const Level& l : stack_) {
    if (l.compact) return;
  }
  out_.push_back('\n');
  out_.append(stack_.size() * static_cast<size_t>(indent_), ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!stack_.empty()) {
    if (stack_.back().count++ > 0) out_.append(stack_.back().compact ? ", " : ",");
    Newline();
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  stack_.push_back({true, 0, false});
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  bool had = !stack_.empty() && stack_.back().count > 0;
  stack_.pop_back();
  if (had) Newline();
  out_.push_back('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray(bool compact) {
  BeforeValue();
  out_.push_back('[');
  stack_.push_back({false, 0, compact});
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  bool had = !stack_.empty() && stack_.back().count > 0 && !stack_.back().compact;
  stack_.pop_back();
  if (had) Newline();
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  out_.append(Quote(key));
  out_.append(indent_ > 0 ? ": " : ":");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view value) {
  BeforeValue();
  out_.append(Quote(value));
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_.append("null");
    return *this;
  }
  char buf[32];
  // %.17g round-trips every double; trim to the shortest that round-trips.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  // %g writes a whole number with trailing zeros in exponent form
  // (1796598780 as 1.79659878e+09): whole numbers that doubles hold exactly
  // are written plainly, as a script reading times or byte counts expects.
  if (std::strchr(buf, 'e') != nullptr && std::fabs(value) < 9007199254740992.0 && std::trunc(value) == value) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  }
  out_.append(buf);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

std::string JsonWriter::Quote(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out.append(buf);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // One well-formed UTF-8 sequence is copied; anything else becomes U+FFFD.
    size_t len = Utf8SequenceLength(s, i);
    if (len > 0) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace steward
