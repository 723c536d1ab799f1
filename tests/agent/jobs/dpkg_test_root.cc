#include "tests/agent/jobs/dpkg_test_root.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace steward::agent::testing {

void MakeDpkgRoot(const std::string& root) {
  ASSERT_TRUE(MakeDirs(root + "/var/lib/dpkg/updates", 0755).ok());
  ASSERT_TRUE(MakeDirs(root + "/var/lib/dpkg/info", 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/var/lib/dpkg/status", "").ok());
  ASSERT_TRUE(MakeDirs(root + "/bin", 0755).ok());
  auto sh = ReadFile("/bin/dash");
  ASSERT_TRUE(sh.ok()) << "dash is needed for maintainer scripts in the test root: " << sh.status();
  ASSERT_TRUE(WriteFileAtomic(root + "/bin/sh", *sh, 0755).ok());
  // The dynamic libraries dash needs, at the same paths inside the root.
  auto ldd = steward::testing::RunProcess({"ldd", "/bin/dash"}, steward::testing::StderrMode::kMerge);
  ASSERT_TRUE(ldd.has_value() && ldd->exit_code == 0) << (ldd ? ldd->out : "ldd did not run");
  for (absl::string_view line : absl::StrSplit(ldd->out, '\n', absl::SkipEmpty())) {
    for (absl::string_view word : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      if (word.empty() || word[0] != '/') continue;
      std::string path(word);
      auto lib = ReadFile(path);
      ASSERT_TRUE(lib.ok()) << lib.status();
      ASSERT_TRUE(MakeDirs(root + path.substr(0, path.rfind('/')), 0755).ok());
      ASSERT_TRUE(WriteFileAtomic(root + path, *lib, 0755).ok());
    }
  }
}

std::string BuildDeb(const std::string& dir, const TestDeb& deb) {
  const std::string tree = absl::StrCat(dir, "/tree-", deb.name, "-", deb.version, "-", deb.architecture);
  EXPECT_TRUE(MakeDirs(tree + "/DEBIAN", 0755).ok());
  EXPECT_TRUE(MakeDirs(tree + "/usr/share/" + deb.name, 0755).ok());
  std::string control = absl::StrCat("Package: ", deb.name, "\nVersion: ", deb.version, "\nArchitecture: ",
                                     deb.architecture, "\nMaintainer: Steward tests <tests@example.net>\n",
                                     "Installed-Size: 4\n");
  if (!deb.depends.empty()) absl::StrAppend(&control, "Depends: ", deb.depends, "\n");
  if (!deb.conflicts.empty()) absl::StrAppend(&control, "Conflicts: ", deb.conflicts, "\n");
  absl::StrAppend(&control, "Description: a package for Steward's tests\n");
  EXPECT_TRUE(WriteFileAtomic(tree + "/DEBIAN/control", control).ok());
  if (!deb.postinst.empty()) {
    EXPECT_TRUE(WriteFileAtomic(tree + "/DEBIAN/postinst", "#!/bin/sh\n" + deb.postinst + "\n", 0755).ok());
  }
  EXPECT_TRUE(WriteFileAtomic(tree + "/usr/share/" + deb.name + "/version",
                              deb.file_content.empty() ? deb.version + "\n" : deb.file_content)
                  .ok());
  const std::string out = absl::StrCat(dir, "/", deb.name, "_", deb.version, "_", deb.architecture, ".deb");
  auto built = steward::testing::RunProcess({"dpkg-deb", "--root-owner-group", "--build", tree, out},
                                            steward::testing::StderrMode::kMerge);
  EXPECT_TRUE(built.has_value() && built->exit_code == 0) << (built ? built->out : "dpkg-deb did not run");
  return out;
}

void MakeAptRepo(const std::string& repo, const std::vector<std::string>& debs, const std::string& root) {
  ASSERT_TRUE(MakeDirs(repo, 0755).ok());
  std::string index;
  for (const std::string& deb : debs) {
    auto fields = steward::testing::RunProcess({"dpkg-deb", "--field", deb}, steward::testing::StderrMode::kMerge);
    ASSERT_TRUE(fields.has_value() && fields->exit_code == 0) << deb;
    auto content = ReadFile(deb);
    ASSERT_TRUE(content.ok()) << content.status();
    const std::string name = deb.substr(deb.rfind('/') + 1);
    ASSERT_TRUE(WriteFileAtomic(repo + "/" + name, *content).ok());
    absl::StrAppend(&index, fields->out, fields->out.back() == '\n' ? "" : "\n", "Filename: ./", name,
                    "\nSize: ", content->size(), "\nSHA256: ", Sha256Hex(*content), "\n\n");
  }
  ASSERT_TRUE(WriteFileAtomic(repo + "/Packages", index).ok());
  for (const char* d : {"/etc/apt/sources.list.d", "/etc/apt/preferences.d", "/etc/apt/apt.conf.d",
                        "/var/lib/apt/lists/partial", "/var/cache/apt/archives/partial", "/var/log/apt"}) {
    ASSERT_TRUE(MakeDirs(root + d, 0755).ok());
  }
  ASSERT_TRUE(WriteFileAtomic(root + "/etc/apt/sources.list", "deb [trusted=yes] file:" + repo + " ./\n").ok());
}

std::string BuildRpm(const std::string& dir, const std::string& name, const std::string& version,
                     const std::string& post, const std::string& provides) {
  const std::string top = dir + "/rpmbuild-" + name + "-" + version;
  EXPECT_TRUE(MakeDirs(top + "/SPECS", 0755).ok());
  const std::string spec = absl::StrCat(
      "Name: ", name, "\nVersion: ", version, "\nRelease: 1\nSummary: test\nLicense: MIT\nBuildArch: noarch\n",
      provides.empty() ? "" : absl::StrCat("Provides: ", provides, "\n"),
      "%description\ntest package\n%install\nmkdir -p %{buildroot}/usr/share/", name, "\necho ", version,
      " > %{buildroot}/usr/share/", name, "/version\n%files\n/usr/share/", name, "/version\n",
      post.empty() ? "" : absl::StrCat("%post\n", post, "\n"));
  EXPECT_TRUE(WriteFileAtomic(top + "/SPECS/p.spec", spec).ok());
  auto r = steward::testing::RunProcess({"rpmbuild", "--define", "_topdir " + top, "--define", "_rpmdir " + dir,
                                         "--define", "_build_id_links none", "-bb", top + "/SPECS/p.spec"},
                                        steward::testing::StderrMode::kMerge);
  EXPECT_TRUE(r.has_value() && r->exit_code == 0) << (r ? r->out : "rpmbuild did not run");
  return absl::StrCat(dir, "/noarch/", name, "-", version, "-1.noarch.rpm");
}

}  // namespace steward::agent::testing
