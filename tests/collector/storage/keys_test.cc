#include "collector/storage/keys.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward::collector::keys {
namespace {

TEST(PrefixEnd, IncrementsLastByte) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd(std::string("a\0", 2)), std::string("a\x01", 2));
}

TEST(PrefixEnd, DropsTrailingFfBytes) {
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xff\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xfe\xff"), "a\xff");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

TEST(PrefixEnd, IsGreaterThanEveryKeyWithThePrefix) {
  for (std::string prefix :
       {std::string("a1\0", 3), std::string("a\xff"), std::string("\x7f\xff\xff")}) {
    std::string end = PrefixEnd(prefix);
    for (std::string suffix :
         {std::string(), std::string("\xff\xff\xff\xff"), std::string(1, '\0')}) {
      EXPECT_LT(prefix + suffix, end);
    }
    EXPECT_EQ(end, PrefixEnd(prefix + "\xff\xff"));
  }
}

TEST(Keys, AgentPrefixesDoNotOverlapWhenOneIdPrefixesAnother) {
  std::string a1 = AgentPrefix("a1"), a10 = AgentPrefix("a10");
  EXPECT_NE(a10.compare(0, a1.size(), a1), 0);
  v1::SoftwareItem item;
  item.set_source("dpkg");
  item.set_name("zzz");
  EXPECT_LT(InventoryKey("a1", item), PrefixEnd(a1));
  item.set_name("a");
  EXPECT_GE(InventoryKey("a10", item), PrefixEnd(a1));
}

TEST(Keys, InventoryKeyHasAllParts) {
  v1::SoftwareItem item;
  item.set_source("dpkg");
  item.set_name("openssl");
  item.set_arch("amd64");
  item.set_version("3.0");
  EXPECT_EQ(InventoryKey("a1", item), std::string("a1\0dpkg\0openssl\0amd64\0", 22));
  item.set_location("/usr/lib/node_modules");
  EXPECT_EQ(InventoryKey("a1", item), std::string("a1\0dpkg\0openssl\0amd64\0/usr/lib/node_modules", 43));
}

TEST(Keys, ChangeKeysSortByTimeThenSeqThenIndex) {
  EXPECT_LT(ChangeKey("a1", -5, 9, 9), ChangeKey("a1", 3, 0, 0));
  EXPECT_LT(ChangeKey("a1", 3, 1, 9), ChangeKey("a1", 3, 2, 0));
  EXPECT_LT(ChangeKey("a1", 3, 2, 0), ChangeKey("a1", 3, 2, 1));
  EXPECT_TRUE(absl::StartsWith(ChangeKey("a1", 3, 2, 1), AgentPrefix("a1")));
  EXPECT_FALSE(absl::StartsWith(ChangeKey("a10", 3, 2, 1), AgentPrefix("a1")));
}

TEST(Keys, HasNulFindsEmbeddedNul) {
  EXPECT_FALSE(HasNul("abc"));
  EXPECT_FALSE(HasNul(""));
  EXPECT_TRUE(HasNul(std::string("a\0c", 3)));
  EXPECT_TRUE(HasNul(std::string(1, '\0')));
}

}  // namespace
}  // namespace steward::collector::keys
