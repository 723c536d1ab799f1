#!/usr/bin/env python3
"""The agent updating itself through a deployment, on test hosts.

    sudo python3 tests/e2e/self_update_test.py [-v]

Not part of ctest: root, namespaces, and the agent package built from this
tree (dist/steward-agent_*.deb, deploy/package.sh; set STEWARD_DEBS to a
directory holding one). Two Debian 12 test hosts (tests/e2e/testhosts.py)
get the packaged agent with `stewardctl install --ssh --trusted-key`, no
systemd (the agents run under start-stop-daemon, as install-agent.sh starts
them there). Releases 2 and 3 are the same package repacked: 2 with a new
version only, 3 with an agent binary that exits at once (a broken build).

1. Release 2 through `deploy create` (waves 1,100%): both hosts end at
   0.1.0-2 with the same agent ids and the same agent PIDs (the new binary
   replaced the process in place), the jobs say the new agent reported, and
   each watchdog logged that it was done.
2. Release 3: the canary installs it, the new agent never reports, the
   watchdog puts 0.1.0-2 back from the kept package and starts it, the job
   ends rolled_back saying so, the deployment stops and the second host is
   never touched.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import testhosts  # noqa: E402
from install_harness import InstallCollector, agent_debs  # noqa: E402
from steward_e2e import wait_for  # noqa: E402

FIRST = 31  # test hosts 127.0.0.41, 127.0.0.42
DEADLINE_S = 20


def run(*argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def repack(deb, out_dir, release, broken=False):
    """The package `deb` as release RELEASE; `broken`: its agent exits at once."""
    tree = tempfile.mkdtemp(prefix="repack-", dir=out_dir)
    run("dpkg-deb", "-R", deb, tree)
    control = os.path.join(tree, "DEBIAN/control")
    with open(control) as f:
        text = f.read()
    version = re.search(r"^Version: (\S+)-\d+$", text, re.M).group(1) + f"-{release}"
    with open(control, "w") as f:
        f.write(re.sub(r"^Version: .*$", f"Version: {version}", text, flags=re.M))
    if broken:
        with open(os.path.join(tree, "usr/bin/steward-agent"), "w") as f:
            f.write("#!/bin/sh\necho 'steward-agent (broken build): exiting' >&2\nexit 3\n")
    # md5sums must match the files, or dpkg --verify complains
    sums = subprocess.run(["sh", "-c", "cd '%s' && find usr -type f -exec md5sum {} +" % tree],
                          capture_output=True, text=True, check=True).stdout
    with open(os.path.join(tree, "DEBIAN/md5sums"), "w") as f:
        f.write(sums)
    out = os.path.join(out_dir, f"steward-agent_{version}_amd64.deb")
    run("dpkg-deb", "--root-owner-group", "-b", tree, out)
    shutil.rmtree(tree)
    return out, version


class SelfUpdateOnTestHosts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: test hosts are namespaces and mounts")
        cls.tmp = tempfile.mkdtemp(prefix="steward-selfupdate-")
        deb = agent_debs("steward-agent_*-1_amd64.deb")[-1]
        cls.v1 = re.search(r"steward-agent_(.+)_amd64\.deb$", deb).group(1)
        cls.deb2, cls.v2 = repack(deb, cls.tmp, 2)
        cls.deb3, cls.v3 = repack(deb, cls.tmp, 3, broken=True)
        cls.collector = InstallCollector(cls.tmp, [deb])
        cls.key = os.path.join(cls.tmp, "release")
        cls.ctl("keys", "generate", "--out", cls.key)
        cls.hosts = testhosts.TestHosts(2, os.path.join(cls.tmp, "hosts"), first=FIRST)
        try:
            cls.hosts.start()
            inventory = os.path.join(cls.tmp, "machines.txt")
            with open(inventory, "w") as f:
                f.write("\n".join(cls.hosts.inventory_lines()) + "\n")
            cls.ctl("install", "--ssh", inventory, "--ssh-config", cls.hosts.ssh_config,
                    "--trusted-key", cls.key + ".pub")
            for h in cls.hosts:  # a short deadline for the test, then the agent as the installer starts it
                h.ssh(f"echo 'self_update_deadline = {DEADLINE_S}s' >> /etc/steward/agent.conf && "
                      "start-stop-daemon --stop --quiet --pidfile /run/steward-agent.pid --retry 10 && "
                      "start-stop-daemon --start --quiet --background --make-pidfile --pidfile "
                      "/run/steward-agent.pid --startas /bin/sh -- -c "
                      "'exec /usr/bin/steward-agent </dev/null >>/var/log/steward-agent.log 2>&1'")
            cls.wait_connected(2)
            cls.ids = {h["hostname"]: h["agent_id"] for h in json.loads(cls.ctl("hosts", "--json").stdout)}
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "hosts", None) is not None:
            cls.hosts.stop()
        if getattr(cls, "collector", None) is not None:
            cls.collector.stop()

    @classmethod
    def ctl(cls, *args):
        return cls.collector.ctl(*args)

    @classmethod
    def wait_connected(cls, n, timeout=60):
        def ok():
            hosts = json.loads(cls.ctl("hosts", "--json").stdout)
            return len([h for h in hosts if h["connected"]]) == n
        wait_for(f"{n} connected agents", ok, timeout)

    def deploy(self, deb, *extra):
        sha = json.loads(self.ctl("artifact", "push", deb, "--sign-key", self.key + ".key", "--json").stdout)["sha256"]
        created = json.loads(self.ctl("deploy", "create", "--artifact", sha, "--target", "os:debian", "--sign-key",
                                      self.key + ".key", "--waves", "1,100%", "--health-gate", "0", *extra,
                                      "--json").stdout)
        dep = created["id"]
        deadline = time.time() + 240
        while time.time() < deadline:
            status = json.loads(self.ctl("deploy", "status", dep, "--json").stdout)
            if status["state"] in ("succeeded", "failed", "rolled_back", "aborted", "paused"):
                return status
            time.sleep(2)
        self.fail(f"deployment {dep} did not finish: {status}")

    def installed(self, h):
        return h.ssh("dpkg-query -W -f='${Version}' steward-agent").stdout

    def agent_pid(self, h):
        return h.ssh("cat /run/steward-agent.pid").stdout.strip()

    def jobs(self, hostname):
        return json.loads(self.ctl("job", "list", "--host", hostname, "--json").stdout)

    def test_1_an_update_rolls_forward_in_place(self):
        pids = {h.name: self.agent_pid(h) for h in self.hosts}
        status = self.deploy(self.deb2)
        self.assertEqual(status["state"], "succeeded", json.dumps(status, indent=1))
        self.wait_connected(2)
        for h in self.hosts:
            self.assertEqual(self.installed(h), self.v2)
            self.assertEqual(self.agent_pid(h), pids[h.name], "the new binary replaces the process in place")
            self.assertEqual(h.ssh(f"cat /proc/{pids[h.name]}/comm").stdout.strip(), "steward-agent")
            log = h.ssh("cat /var/lib/steward-agent/update/watchdog.log").stdout
            self.assertIn("the new agent reported: done", log)
            self.assertNotIn("restoring", log)
            jobs = [j for j in self.jobs(h.name) if j["new_version"] == self.v2 and j["old_version"] == self.v1]
            self.assertEqual(len(jobs), 1, self.jobs(h.name))
            job = jobs[0]
            self.assertEqual(job["status"], "succeeded", job)
            self.assertIn(f"steward-agent {self.v2} runs and reported to the collector", job["message"])
            self.assertEqual(h.ssh("test -e /var/lib/steward-agent/update/plan && echo yes || echo no").stdout.strip(),
                             "no")
        after = {h["hostname"]: h["agent_id"] for h in json.loads(self.ctl("hosts", "--json").stdout)}
        self.assertEqual(after, self.ids)

    def test_2_a_broken_update_is_restored_by_the_watchdog(self):
        status = self.deploy(self.deb3, "--on-failure", "abort")
        self.assertIn(status["state"], ("rolled_back", "failed"), json.dumps(status, indent=1))
        self.wait_connected(2, timeout=90)
        touched = []
        for h in self.hosts:
            log = h.ssh("cat /var/lib/steward-agent/update/watchdog.log 2>/dev/null || true").stdout
            self.assertEqual(self.installed(h), self.v2, f"{h.name} must be back at {self.v2}")
            if "restoring" in log:
                touched.append(h)
                self.assertIn(f"steward-agent {self.v3} did not report to the collector within {DEADLINE_S}s", log)
                self.assertIn(f"restored the package {self.v2}", log)
                restored = [j for j in self.jobs(h.name) if self.v3 in j["message"]]
                self.assertEqual(len(restored), 1, self.jobs(h.name))
                self.assertEqual(restored[0]["status"], "rolled_back", restored[0])
                self.assertIn(f"did not report to the collector within {DEADLINE_S}s; restored the package {self.v2}",
                              restored[0]["message"])
            else:
                self.assertFalse([j for j in self.jobs(h.name) if self.v3 in j["message"]])
        self.assertEqual(len(touched), 1, "only the canary installs the broken release")
        after = {h["hostname"]: h["agent_id"] for h in json.loads(self.ctl("hosts", "--json").stdout)}
        self.assertEqual(after, self.ids)


if __name__ == "__main__":
    unittest.main()
