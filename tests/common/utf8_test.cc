#include "common/utf8.h"

#include "gtest/gtest.h"

namespace steward {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("nginx.service"));
  EXPECT_TRUE(IsValidUtf8("Gestionnaire de réseau ● \xF0\x9F\x98\x80"));
  EXPECT_EQ(Utf8SequenceLength("\xE2\x97\x8F", 0), 3u);  // ●
}

TEST(Utf8, RefusesMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("caf\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));             // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));         // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));     // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("ok \x80 then ascii"));   // stray continuation byte
}

}  // namespace
}  // namespace steward
