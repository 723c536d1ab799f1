// How a person names a host: full id, unique 4+ character prefix, or
// unique hostname; ambiguity lists the candidates.
#include "collector/ctl/host_ref.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward::ctl {
namespace {

v1::ListHostsResponse Fleet() {
  v1::ListHostsResponse r;
  auto add = [&](const std::string& id, const std::string& hostname) {
    v1::Host* h = r.add_hosts();
    h->set_agent_id(id);
    h->mutable_facts()->set_hostname(hostname);
  };
  add("3f2a9c10aa", "web1");
  add("3f2b0000bb", "web2");
  add("77d10000cc", "db1");
  add("abcd000011", "web1");  // a second machine named web1
  add("ffff000022", "3f2a");  // a hostname that is another host's id prefix
  return r;
}

TEST(ResolveHostRef, FullIdPrefixOrHostname) {
  EXPECT_EQ(*ResolveHostRef(Fleet(), "3f2b0000bb"), "3f2b0000bb");
  EXPECT_EQ(*ResolveHostRef(Fleet(), "3f2b"), "3f2b0000bb");
  EXPECT_EQ(*ResolveHostRef(Fleet(), "77d1000"), "77d10000cc");
  EXPECT_EQ(*ResolveHostRef(Fleet(), "db1"), "77d10000cc");
  EXPECT_EQ(*ResolveHostRef(Fleet(), "DB1"), "77d10000cc") << "hostnames are case-insensitive";
  EXPECT_EQ(*ResolveHostRef(Fleet(), "web2"), "3f2b0000bb");
  // A full id wins over everything else, even a hostname equal to it.
  EXPECT_EQ(*ResolveHostRef(Fleet(), "ffff000022"), "ffff000022");
}

TEST(ResolveHostRef, AmbiguityListsTheCandidates) {
  absl::StatusOr<std::string> r = ResolveHostRef(Fleet(), "web1");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'web1' matches 2 hosts: 3f2a9c10aa (web1), abcd000011 (web1)"))
      << r.status();
  // "3f2a" is a hostname and a prefix of another host's id.
  r = ResolveHostRef(Fleet(), "3f2a");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "3f2a9c10aa (web1), ffff000022 (3f2a)")) << r.status();
  r = ResolveHostRef(Fleet(), "3f2");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'3f2' is too short: give at least 4 characters")) << r.status();
}

TEST(ResolveHostRef, NothingMatches) {
  absl::StatusOr<std::string> r = ResolveHostRef(Fleet(), "mail1");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "no host 'mail1'")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'stewardctl hosts' lists them")) << r.status();
  EXPECT_EQ(ResolveHostRef(Fleet(), "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveHostRef(v1::ListHostsResponse(), "web1").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace steward::ctl
