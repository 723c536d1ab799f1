#!/usr/bin/env python3
"""End-to-end change causes: `stewardctl changes` tells the changes Steward's
jobs made (with the job id) from the ones made by hand, and shows a failed
upgrade that its job rolled back as one change.

One real agent installs signed .debs into its own dpkg root (--dpkg-root,
helpers from jobs_test.py); a person also installs a package there by hand
with dpkg. The
bad release's postinst fails after 3 s, so the agent's 1 s inventory scan
sees the package half-installed (not listed) before the job puts the old
version back: the log holds "removed", then "added", which the collector
folds into one "rolled_back" change.
"""
import os
import subprocess
import unittest

from jobs_test import build_deb, make_dpkg_root
from steward_e2e import Cluster, wait_for


class ChangeCauses(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        c = cls.c = Cluster()
        c.start_collector()
        keys = os.path.join(c.tmp, "keys")
        os.makedirs(keys)
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "release"))
        cls.key = os.path.join(keys, "release.key")
        cls.debs = {v: build_deb(c.tmp, v, postinst) for v, postinst in
                    (("1.0", None), ("2.0", None), ("3.0", "/bin/sleep 3; echo 'demo 3.0: cannot start' >&2; exit 1"))}
        cls.by_hand = build_deb(c.tmp, "7", name="tool")
        cls.sha = {v: c.ctl_json("artifact", "push", deb, "--sign-key", cls.key)["sha256"]
                   for v, deb in cls.debs.items()}
        cls.root = os.path.join(c.tmp, "root")
        make_dpkg_root(cls.root)
        token = c.ctl_ok("token", "create").strip()
        c.start_agent(os.path.join(c.tmp, "state"), "--trusted-key", os.path.join(keys, "release.pub"),
                      "--dpkg-root", cls.root, "--dpkg-status", os.path.join(cls.root, "var/lib/dpkg/status"),
                      "--enroll-token", token)
        cls.id = wait_for("the agent", lambda: [h["agent_id"] for h in c.ctl_json("hosts") if h["connected"]])[0]

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def job(self, version, *extra):
        job_id = self.c.ctl_json("job", "run", "--host", self.id, "--artifact", self.sha[version][:10],
                                 "--sign-key", self.key, *extra)["job_id"]

        def done():
            jobs = self.c.ctl_json("job", "list", "--host", self.id, "--job", job_id)
            return jobs[0] if jobs and jobs[0]["status"] not in ("pending", "running") else None
        return wait_for(f"job {job_id}", done, 60)

    def changes(self, *cause):
        return [(c["name"], c["change"], c["old_version"], c["new_version"], c["cause"], c["job_id"],
                 c.get("attempted_version", ""))
                for c in self.c.ctl_json("changes", "--host", self.id, "--since", "1h", *cause)]

    def wait_version(self, name, version):
        wait_for(f"the inventory at {name} {version}", lambda: [s for s in self.c.ctl_json(
            "software", "--host", self.id, "--name", name) if s["version"] == version], 30)

    def test_jobs_and_hands_and_a_rolled_back_upgrade(self):
        j1 = self.job("1.0")
        self.assertEqual(j1["status"], "succeeded", j1)
        self.wait_version("demo", "1.0")
        j2 = self.job("2.0")  # Steward keeps 2.0's package: the rollback target
        self.assertEqual(j2["status"], "succeeded", j2)
        self.wait_version("demo", "2.0")
        # By hand, outside Steward.
        subprocess.run(["dpkg", f"--root={self.root}", "--force-script-chrootless", "--force-not-root", "-i",
                        self.by_hand], check=True, capture_output=True)
        self.wait_version("tool", "7")
        j3 = self.job("3.0", "--rollback-on-failure")
        self.assertEqual((j3["status"], j3["new_version"]), ("rolled_back", "2.0"), j3)
        rolled_back = ("demo", "rolled_back", "2.0", "2.0", "job", j3["job_id"], "3.0")
        seen = []

        def logged():
            seen[:] = self.changes()
            return rolled_back in seen
        try:
            wait_for("the rollback in the change log", logged, 30)
        except AssertionError as e:
            raise AssertionError(f"{e}; the log: {seen}") from None

        planned = [("demo", "added", "", "1.0", "job", j1["job_id"], ""),
                   ("demo", "upgraded", "1.0", "2.0", "job", j2["job_id"], "")]
        other = [("tool", "added", "", "7", "other", "", "")]
        self.assertEqual(self.changes(), planned + other + [rolled_back])
        self.assertEqual(self.changes("--cause", "job"), planned + [rolled_back])
        self.assertEqual(self.changes("--cause", "other"), other)
        table = self.c.ctl_ok("changes", "--host", self.id)
        self.assertRegex(table, r"CAUSE")
        self.assertRegex(table, r"rolled_back \(tried 3\.0\)\s+2\.0\s+2\.0\s+job " + j3["job_id"])
        self.assertRegex(table, r"tool\s+added\s+-\s+7\s+other")
        r = self.c.ctl("changes", "--cause", "planned")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--cause 'planned' must be job or other", r.stderr)


if __name__ == "__main__":
    unittest.main()
