#include "common/inventory/inventory_diff.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using Items = google::protobuf::RepeatedPtrField<v1::SoftwareItem>;

v1::SoftwareItem Item(const std::string& source, const std::string& name, const std::string& arch,
                      const std::string& version) {
  v1::SoftwareItem i;
  i.set_source(source);
  i.set_name(name);
  i.set_arch(arch);
  i.set_version(version);
  return i;
}

Items MakeItems(const std::vector<v1::SoftwareItem>& v) {
  Items out;
  for (const auto& i : v) *out.Add() = i;
  return out;
}

TEST(InventoryDigest, MatchesTheDocumentedEncoding) {
  using namespace std::string_literals;
  EXPECT_EQ(InventoryDigest(Items()), Sha256Hex(""));
  EXPECT_EQ(InventoryDigest(MakeItems({Item("dpkg", "bash", "amd64", "5.2-1")})),
            Sha256Hex("dpkg\0bash\0amd64\0\0005.2-1\n"s));
  // Sorted by (source, name, arch); the vendor and other fields do not count.
  auto b = Item("dpkg", "b", "all", "1");
  b.set_vendor("someone");
  b.set_size_bytes(4096);
  EXPECT_EQ(InventoryDigest(
                MakeItems({b, Item("dpkg", "a", "amd64", "2"), Item("dpkg", "a", "all", "3")})),
            Sha256Hex("dpkg\0a\0all\0\0003\ndpkg\0a\0amd64\0\0002\ndpkg\0b\0all\0\0001\n"s));
}

TEST(InventoryDigest, IsIndependentOfOrder) {
  std::vector<v1::SoftwareItem> items = {
      Item("dpkg", "openssl", "amd64", "3.0.11"), Item("dpkg", "zlib1g", "amd64", "1:1.2.13"),
      Item("dpkg", "libc6", "i386", "2.36"), Item("dpkg", "libc6", "amd64", "2.36"),
      Item("rpm", "bash", "x86_64", "5.1")};
  std::string want = InventoryDigest(MakeItems(items));
  EXPECT_EQ(want.size(), 64u);
  std::sort(items.begin(), items.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  int permutations = 0;
  do {
    EXPECT_EQ(InventoryDigest(MakeItems(items)), want);
    ++permutations;
  } while (std::next_permutation(items.begin(), items.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.ShortDebugString() < b.ShortDebugString();
                                 }) &&
           permutations < 200);
  EXPECT_GT(permutations, 1);
}

TEST(InventoryDigest, ChangesWithVersionArchNameSourceAndMembership) {
  std::vector<v1::SoftwareItem> base = {Item("dpkg", "openssl", "amd64", "3.0.11"),
                                        Item("dpkg", "curl", "amd64", "7.88")};
  std::string d = InventoryDigest(MakeItems(base));
  auto changed = [&](auto mutate) {
    auto copy = base;
    mutate(copy);
    return InventoryDigest(MakeItems(copy));
  };
  EXPECT_NE(changed([](auto& v) { v[0].set_version("3.0.12"); }), d);
  EXPECT_NE(changed([](auto& v) { v[0].set_arch("arm64"); }), d);
  EXPECT_NE(changed([](auto& v) { v[0].set_name("openssl3"); }), d);
  EXPECT_NE(changed([](auto& v) { v[0].set_source("rpm"); }), d);
  EXPECT_NE(changed([](auto& v) { v.pop_back(); }), d);
  EXPECT_NE(changed([](auto& v) { v.push_back(v[0]); }), d);
  EXPECT_EQ(changed([](auto& v) { v[0].set_status("deinstall ok installed"); }), d);
  // Moving characters between fields changes the digest (fields are delimited).
  EXPECT_NE(InventoryDigest(MakeItems({Item("dpkg", "ab", "c", "1")})),
            InventoryDigest(MakeItems({Item("dpkg", "a", "bc", "1")})));
}


TEST(InventoryDigest, LocationIsPartOfIdentity) {
  auto a = Item("pip", "requests", "", "2.31.0");
  auto b = a;
  a.set_location("/usr/lib/python3/dist-packages");
  b.set_location("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages");
  EXPECT_NE(InventoryItemKey(a), InventoryItemKey(b));
  EXPECT_NE(InventoryDigest(MakeItems({a})), InventoryDigest(MakeItems({b})));
  EXPECT_NE(InventoryDigest(MakeItems({a, b})), InventoryDigest(MakeItems({a})));
}

TEST(DiffInventories, FindsAddedRemovedAndChanged) {
  auto keep = Item("dpkg", "bash", "amd64", "5.2-1");
  auto old_ssl = Item("dpkg", "openssl", "amd64", "3.0.11-1");
  auto new_ssl = Item("dpkg", "openssl", "amd64", "3.0.13-1");
  auto gone = Item("dpkg", "telnet", "amd64", "0.17");
  auto added = Item("dpkg", "curl", "amd64", "7.88");
  auto resized = keep;
  resized.set_size_bytes(1);
  InventoryDiff d = DiffInventories({keep, old_ssl, gone}, {resized, new_ssl, added});
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].name(), "curl");
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].name(), "telnet");
  ASSERT_EQ(d.changed.size(), 2u);  // bash (size only) and openssl (version)
  EXPECT_TRUE(DiffInventories({keep, old_ssl}, {old_ssl, keep}).empty());
}

TEST(ChangesOf, ClassifiesByDpkgOrderingAndSkipsNonVersionChanges) {
  auto keep = Item("dpkg", "bash", "amd64", "5.2-1");
  auto resized = keep;
  resized.set_size_bytes(1);
  std::vector<v1::SoftwareItem> before = {keep, Item("dpkg", "a", "all", "1.0~rc1"),
                                          Item("dpkg", "b", "all", "1:1.0"), Item("dpkg", "gone", "all", "9")};
  std::vector<v1::SoftwareItem> after = {resized, Item("dpkg", "a", "all", "1.0"), Item("dpkg", "b", "all", "2.0"),
                                         Item("dpkg", "new", "all", "1")};
  auto changes = ChangesOf(DiffInventories(before, after), before, 1234);
  std::map<std::string, v1::InventoryChange> by_name;
  for (const auto& c : changes) by_name[c.name()] = c;
  ASSERT_EQ(by_name.size(), 4u) << "bash changed only in size: not a change-log entry";
  EXPECT_EQ(by_name["a"].kind(), v1::InventoryChange::UPGRADED);  // ~rc1 sorts before the release
  EXPECT_EQ(by_name["a"].old_version(), "1.0~rc1");
  EXPECT_EQ(by_name["a"].new_version(), "1.0");
  EXPECT_EQ(by_name["b"].kind(), v1::InventoryChange::DOWNGRADED);  // the epoch wins
  EXPECT_EQ(by_name["gone"].kind(), v1::InventoryChange::REMOVED);
  EXPECT_EQ(by_name["gone"].old_version(), "9");
  EXPECT_EQ(by_name["gone"].new_version(), "");
  EXPECT_EQ(by_name["new"].kind(), v1::InventoryChange::ADDED);
  EXPECT_EQ(by_name["new"].new_version(), "1");
  for (const auto& c : changes) EXPECT_EQ(c.time_ms(), 1234);
  EXPECT_STREQ(ChangeKindName(v1::InventoryChange::DOWNGRADED), "downgraded");
}

}  // namespace
}  // namespace steward
