#!/usr/bin/env python3
"""End-to-end: inventory changes made with the real dpkg reach
`stewardctl changes` and `stewardctl software` within an interval.

The packages are built in the test with dpkg-deb and installed into a
separate dpkg root (dpkg --root, maintainer scripts without chroot), so the
machine's own dpkg database is never touched; the agent reads that root's
status file through --dpkg-status.
"""
import os
import subprocess
import time
import unittest

from steward_e2e import Cluster, wait_for

PKG = "steward-e2e-hello"


def build_deb(workdir, version):
    """Builds a tiny architecture-independent .deb of PKG at `version`."""
    root = os.path.join(workdir, f"pkg-{version}")
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(os.path.join(root, "usr", "share", PKG))
    with open(os.path.join(root, "usr", "share", PKG, "VERSION"), "w") as f:
        f.write(version + "\n")
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write(f"Package: {PKG}\nVersion: {version}\nArchitecture: all\n"
                "Maintainer: Steward Tests <tests@example.org>\nDescription: Steward e2e test package\n")
    deb = os.path.join(workdir, f"{PKG}_{version}_all.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", root, deb], check=True, capture_output=True)
    return deb


def dpkg(root, *args):
    r = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless", "--force-not-root", *args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"dpkg {' '.join(args)} failed: {r.stderr}")


class InventoryChanges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.root = os.path.join(cls.c.tmp, "dpkgroot")
        admindir = os.path.join(cls.root, "var", "lib", "dpkg")
        for d in ("info", "updates"):
            os.makedirs(os.path.join(admindir, d))
        for f in ("status", "available"):
            open(os.path.join(admindir, f), "w").close()
        cls.status = os.path.join(admindir, "status")
        cls.debs = {v: build_deb(cls.c.tmp, v) for v in ("1.0-1", "1.0~rc1-1", "2.0-1")}
        cls.c.start_collector()
        token = cls.c.ctl_ok("token", "create").strip()
        cls.agent = cls.c.start_agent(os.path.join(cls.c.tmp, "agent"), "--enroll-token", token,
                                      "--dpkg-status", cls.status)
        cls.id = wait_for("enrollment", lambda: [h["agent_id"] for h in cls.c.ctl_json("hosts") if h["connected"]])[0]

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def changes(self):
        return [c for c in self.c.ctl_json("changes", "--host", self.id, "--since", "1h") if c["name"] == PKG]

    def wait_change(self, kind, old, new):
        def found():
            return [c for c in self.changes() if (c["change"], c["old_version"], c["new_version"]) == (kind, old, new)]
        got = wait_for(f"a '{kind}' change {old!r} -> {new!r}", found, timeout=20)
        self.assertEqual(len(got), 1, got)
        c = got[0]
        self.assertEqual((c["agent_id"], c["source"], c["arch"]), (self.id, "dpkg", "all"))
        self.assertRegex(c["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        return c

    def installed_version(self):
        items = self.c.ctl_json("software", "--host", self.id, "--name", PKG)
        return items[0]["version"] if items else None

    def test_install_upgrade_downgrade_remove(self):
        # The empty database is the baseline: no changes logged for it.
        wait_for("the baseline inventory", lambda: self.c.ctl_json("hosts")[0]["last_seen"], 10)
        self.assertEqual(self.changes(), [])
        t0 = time.monotonic()
        dpkg(self.root, "-i", self.debs["1.0-1"])
        self.wait_change("added", "", "1.0-1")
        # Within one interval (1 s) plus a round trip; generous bound for a loaded CI machine.
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(self.installed_version(), "1.0-1")

        dpkg(self.root, "-i", self.debs["2.0-1"])
        self.wait_change("upgraded", "1.0-1", "2.0-1")
        self.assertEqual(self.installed_version(), "2.0-1")

        dpkg(self.root, "-i", self.debs["1.0~rc1-1"])
        self.wait_change("downgraded", "2.0-1", "1.0~rc1-1")

        dpkg(self.root, "-r", PKG)
        self.wait_change("removed", "1.0~rc1-1", "")
        wait_for("the package to leave the inventory", lambda: self.installed_version() is None, 20)
        kinds = [c["change"] for c in self.changes()]
        self.assertEqual(kinds, ["added", "upgraded", "downgraded", "removed"])
        # The table form shows the same history.
        table = self.c.ctl_ok("changes", "--host", self.id)
        self.assertIn("downgraded", table)
        self.assertIn(PKG, table)

    def test_restart_keeps_deltas_and_resync_repairs(self):
        # A restarted agent keeps its base and sends nothing new when nothing changed.
        before = len(self.c.ctl_json("changes", "--since", "1h"))
        self.assertEqual(self.agent.stop(), 0)
        type(self).agent = self.c.start_agent(os.path.join(self.c.tmp, "agent"), "--dpkg-status", self.status)
        wait_for("the agent to reconnect", lambda: self.c.ctl_json("hosts")[0]["connected"], 20)
        time.sleep(2.5)
        self.assertEqual(len(self.c.ctl_json("changes", "--since", "1h")), before)
        # A lost base (deleted file) makes the next report a full snapshot; the
        # collector diffs it against what it has, so nothing is logged twice.
        self.assertEqual(self.agent.stop(), 0)
        os.unlink(os.path.join(self.c.tmp, "agent", "inventory.base"))
        type(self).agent = self.c.start_agent(os.path.join(self.c.tmp, "agent"), "--dpkg-status", self.status)
        wait_for("the agent to reconnect", lambda: self.c.ctl_json("hosts")[0]["connected"], 20)
        time.sleep(2.5)
        self.assertEqual(len(self.c.ctl_json("changes", "--since", "1h")), before)


if __name__ == "__main__":
    unittest.main()
