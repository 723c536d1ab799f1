#include "common/crypto.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace steward {
namespace {

TEST(Sha256Hex, MatchesKnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Hex, HashesEmbeddedNulBytes) {
  EXPECT_NE(Sha256Hex(std::string("a\0b", 3)), Sha256Hex("a"));
  EXPECT_NE(Sha256Hex(std::string("a\0b", 3)), Sha256Hex("ab"));
}

TEST(RandomHex, HasTwoLowerHexCharactersPerByte) {
  for (size_t n : {0u, 1u, 8u, 32u}) {
    std::string s = RandomHex(n);
    EXPECT_EQ(s.size(), 2 * n);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
  }
}

TEST(RandomHex, IsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(RandomHex(16));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomHex, UsesEveryDigit) {
  std::string s = RandomHex(4096);
  for (char c : std::string("0123456789abcdef")) EXPECT_NE(s.find(c), std::string::npos) << c;
}

TEST(SecretEquals, ComparesContentAndLength) {
  EXPECT_TRUE(SecretEquals("", ""));
  EXPECT_TRUE(SecretEquals("s3cret", "s3cret"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3creT"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3cre"));
  EXPECT_FALSE(SecretEquals("s3cre", "s3cret"));
  EXPECT_FALSE(SecretEquals("", "x"));
  EXPECT_FALSE(SecretEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_TRUE(SecretEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
}

}  // namespace
}  // namespace steward
