#include "common/json_writer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace steward {
namespace {

TEST(JsonWriterQuote, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(JsonWriter::Quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonWriter::Quote(""), R"("")");
  EXPECT_EQ(JsonWriter::Quote("/"), R"("/")");
}

TEST(JsonWriterQuote, EscapesControlCharacters) {
  EXPECT_EQ(JsonWriter::Quote("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(JsonWriter::Quote(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(JsonWriter::Quote("\x01\x1f\b\f"), R"("\u0001\u001f\u0008\u000c")");
  // DEL is not a control character for JSON.
  EXPECT_EQ(JsonWriter::Quote("\x7f"), "\"\x7f\"");
}

TEST(JsonWriterQuote, KeepsValidUtf8) {
  const std::string s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";  // é € 😀
  EXPECT_EQ(JsonWriter::Quote(s), "\"" + s + "\"");
}

TEST(JsonWriterQuote, ReplacesInvalidUtf8WithReplacementCharacter) {
  const std::string kFffd = "\xEF\xBF\xBD";
  // Lone continuation byte.
  EXPECT_EQ(JsonWriter::Quote("a\x80z"), "\"a" + kFffd + "z\"");
  // Overlong lead bytes C0/C1.
  EXPECT_EQ(JsonWriter::Quote("\xC0\xAF"), "\"" + kFffd + kFffd + "\"");
  // Truncated 3-byte sequence at the end.
  EXPECT_EQ(JsonWriter::Quote("x\xE2\x82"), "\"x" + kFffd + kFffd + "\"");
  // Truncated sequence followed by ASCII: the ASCII survives.
  EXPECT_EQ(JsonWriter::Quote("\xE2\x82z"), "\"" + kFffd + kFffd + "z\"");
  // A lone 0xFF at the end.
  EXPECT_EQ(JsonWriter::Quote("\xFF"), "\"" + kFffd + "\"");
  // Latin-1 text.
  EXPECT_EQ(JsonWriter::Quote("\xE9t\xE9"), "\"" + kFffd + "t" + kFffd + "\"");
}

TEST(JsonWriterQuote, ReplacesBytesThatNeverAppearInUtf8) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonWriter::Quote("\xFF\x80\x80"), "\"" + kFffd + kFffd + kFffd + "\"");
  EXPECT_EQ(JsonWriter::Quote("\xF8\x88\x80\x80\x80"),
            "\"" + kFffd + kFffd + kFffd + kFffd + kFffd + "\"");
}

TEST(JsonWriter, WritesNanAndInfinityAsNull) {
  JsonWriter w(0);
  w.BeginArray()
      .Double(std::nan(""))
      .Double(std::numeric_limits<double>::infinity())
      .Double(-std::numeric_limits<double>::infinity())
      .EndArray();
  EXPECT_EQ(w.str(), "[null,null,null]");
}

std::string OneDouble(double v) {
  JsonWriter w(0);
  w.Double(v);
  return w.str();
}

TEST(JsonWriter, WritesShortestRoundTripDoubles) {
  EXPECT_EQ(OneDouble(0.1), "0.1");
  EXPECT_EQ(OneDouble(1.0), "1");
  EXPECT_EQ(OneDouble(-2.5), "-2.5");
  EXPECT_EQ(OneDouble(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(OneDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(OneDouble(1234567.0), "1234567");
  EXPECT_EQ(OneDouble(1e21), "1e+21");
  // Whole numbers a double holds exactly: never in exponent form (Unix
  // times in seconds, byte counts).
  EXPECT_EQ(OneDouble(1796598780.0), "1796598780");
  EXPECT_EQ(OneDouble(-1.5e9), "-1500000000");
  EXPECT_EQ(OneDouble(1796598780.25), "1796598780.25");
  EXPECT_EQ(OneDouble(4e15), "4000000000000000");
  EXPECT_EQ(OneDouble(1e-5), "1e-05");
  EXPECT_EQ(OneDouble(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST(JsonWriter, DoublesRoundTripExactly) {
  // Property: whatever the writer prints parses back to the same double.
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double v;
    uint64_t bits = (x & ~(uint64_t{0x7FF} << 52)) | (uint64_t{(x >> 52) % 0x7FE} << 52);  // finite
    std::memcpy(&v, &bits, sizeof v);
    std::string s = OneDouble(v);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
    EXPECT_LE(s.size(), 24u) << s;
  }
}

TEST(JsonWriter, WritesIntegersAndLiterals) {
  JsonWriter w(0);
  w.BeginArray()
      .Int(std::numeric_limits<int64_t>::min())
      .Uint(std::numeric_limits<uint64_t>::max())
      .Bool(true)
      .Bool(false)
      .Null()
      .String("s")
      .EndArray();
  EXPECT_EQ(w.str(), "[-9223372036854775808,18446744073709551615,true,false,null,\"s\"]");
}

TEST(JsonWriter, PrettyPrintsNestedDocumentExactly) {
  JsonWriter w;
  w.BeginArray();
  w.BeginObject()
      .Key("name")
      .String("web-1")
      .Key("labels")
      .BeginObject()
      .Key("env")
      .String("prod")
      .Key("role")
      .String("db")
      .EndObject()
      .Key("empty_obj")
      .BeginObject()
      .EndObject()
      .Key("empty_arr")
      .BeginArray()
      .EndArray()
      .Key("sizes")
      .BeginArray()
      .Int(1)
      .Uint(2)
      .EndArray()
      .EndObject();
  w.BeginObject().Key("name").String("web-2").EndObject();
  w.EndArray();
  const char* want = R"([
  {
    "name": "web-1",
    "labels": {
      "env": "prod",
      "role": "db"
    },
    "empty_obj": {},
    "empty_arr": [],
    "sizes": [
      1,
      2
    ]
  },
  {
    "name": "web-2"
  }
])";
  EXPECT_EQ(w.str(), want);
}

TEST(JsonWriter, KeepsCompactArraysOnOneLineWhenPretty) {
  JsonWriter w;
  w.BeginObject().Key("points").BeginArray();
  w.BeginArray(true).Double(1.5).Double(2).EndArray();
  w.BeginArray(true).Double(3).Null().EndArray();
  w.EndArray().EndObject();
  const char* want = R"({
  "points": [
    [1.5, 2],
    [3, null]
  ]
})";
  EXPECT_EQ(w.str(), want);
}

TEST(JsonWriter, CompactModeHasNoWhitespace) {
  JsonWriter w(0);
  w.BeginObject()
      .Key("a")
      .BeginArray()
      .Int(1)
      .Int(2)
      .EndArray()
      .Key("b")
      .BeginObject()
      .EndObject()
      .EndObject();
  EXPECT_EQ(w.str(), R"({"a":[1,2],"b":{}})");
}

TEST(JsonWriter, CompactArrayStaysOnOneLineWithNestedValues) {
  JsonWriter w(4);
  w.BeginArray(true)
      .Int(1)
      .BeginObject()
      .Key("k")
      .String("v")
      .EndObject()
      .BeginArray()
      .Int(2)
      .EndArray()
      .EndArray();
  EXPECT_EQ(w.str(), R"([1, {"k": "v"}, [2]])");
}

TEST(JsonWriter, EscapesKeys) {
  JsonWriter w(0);
  w.BeginObject().Key("a\"b\n").Int(1).EndObject();
  EXPECT_EQ(w.str(), R"({"a\"b\n":1})");
}

TEST(JsonWriter, EmptyTopLevelArray) {
  JsonWriter w;
  w.BeginArray().EndArray();
  EXPECT_EQ(w.str(), "[]");
}

}  // namespace
}  // namespace steward
