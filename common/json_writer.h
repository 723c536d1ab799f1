#pragma once
// A small streaming JSON writer for stewardctl's --json output. It produces
// exactly the shapes the command contract documents (arrays of objects,
// [[t, v]] point pairs) without a DOM. Not thread-safe.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace steward {

class JsonWriter {
 public:
  // `indent` > 0 pretty-prints with that many spaces per level.
  explicit JsonWriter(int indent = 2) : indent_(indent) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  // `compact` keeps the whole array on one line even when pretty-printing
  // (used for [time, value] pairs).
  JsonWriter& BeginArray(bool compact = false);
  JsonWriter& EndArray();
  // Writes an object key; the next value call writes its value.
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  // The shortest text that reads back as `value`, and whole numbers below
  // 2^53 without an exponent (1796598780, not 1.79659878e+09). NaN and
  // infinities have no JSON form: they are written as null.
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The document so far. Complete once every Begin has its End.
  const std::string& str() const { return out_; }

  // JSON string literal for `s` (quotes included), escaping control
  // characters and replacing invalid UTF-8 bytes with U+FFFD.
  static std::string Quote(absl::string_view s);

 private:
  void BeforeValue();
  void Newline();

  struct Level {
    bool is_object;
    int count;
    bool compact;
  };
  std::string out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
  int indent_;
};

}  // namespace steward
