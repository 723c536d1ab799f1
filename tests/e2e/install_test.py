#!/usr/bin/env python3
"""stewardctl install --ssh against real machines: test hosts on this machine.

    sudo python3 tests/e2e/install_test.py [-v]

Not part of ctest: it needs root (namespaces, mounts) and a debootstrap'ed
Debian 12 base (tests/e2e/testhosts.py builds and caches it, about 40 s the
first time), and the agent package (dist/steward-agent_*.deb; built with
deploy/package.sh when missing, a few minutes).

Four test hosts (own root, hostname, PID namespace and sshd on 127.0.0.1x)
and two machines that cannot be reached. The collector is the build tree's,
serving the packaged agent. Checks: the three good hosts end enrolled under
their own hostnames and reporting; the unreachable ones fail with ssh's
reason and are not pending; a host without curl or wget fails with the
installer's reason and is pending (it was given a token); a second run
finds the agents already there with the same identities and changes
nothing; the machine-readable output; a token given by hand shows as
pending; the token file on a host is 0600 and no token is left in any
host's process list.
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import testhosts  # noqa: E402
from install_harness import ROOT, InstallCollector, agent_debs  # noqa: E402

FIRST = 1  # test hosts 127.0.0.11 .. 127.0.0.14


class InstallOverSsh(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: test hosts are namespaces and mounts")
        cls.tmp = tempfile.mkdtemp(prefix="steward-install-")
        cls.collector = InstallCollector(cls.tmp, agent_debs())
        cls.hosts = testhosts.TestHosts(4, os.path.join(cls.tmp, "hosts"), first=FIRST)
        try:
            cls.hosts.start()
        except Exception:
            cls.collector.stop()
            raise
        # Host 4 cannot download: no curl, no wget (a minimal machine).
        cls.hosts[3].ssh("rm -f /usr/bin/curl /usr/bin/wget")
        cls.inventory = os.path.join(cls.tmp, "machines.txt")
        with open(cls.inventory, "w") as f:
            f.write("# the fleet\n")
            for line in cls.hosts.inventory_lines():
                f.write(line + "\n")
            f.write("root@127.0.0.1:1\n")           # nothing listens there
            f.write("testhost-typo.invalid\n")      # does not resolve
        cls.first = cls.ctl("install", "--ssh", cls.inventory, "--ssh-config", cls.hosts.ssh_config,
                            "--parallel", "3", "--json", check=False)

    @classmethod
    def tearDownClass(cls):
        hosts = getattr(cls, "hosts", None)
        if hosts is not None:
            hosts.stop()
        if getattr(cls, "collector", None) is not None:
            cls.collector.stop()

    @classmethod
    def ctl(cls, *args, check=True):
        return cls.collector.ctl(*args, check=check)

    def results(self, run):
        return {r["machine"]: r for r in json.loads(run.stdout)}

    def test_1_good_hosts_are_installed_enrolled_under_their_names_and_reporting(self):
        self.assertEqual(self.first.returncode, 1, self.first.stderr)
        self.assertIn("3 of 6 machine(s) failed", self.first.stderr)
        results = self.results(self.first)
        self.assertEqual(len(results), 6)
        for i in range(3):
            r = results[f"root@127.0.0.{11 + i}"]
            self.assertEqual(r["result"], "installed", r)
            self.assertEqual(r["hostname"], f"testhost-{i + 1}")
            self.assertTrue(r["reporting"], r)
            self.assertRegex(r["agent_id"], r"^[0-9a-f]{16}$")
        hosts = {h["hostname"]: h for h in json.loads(self.ctl("hosts", "--json").stdout)}
        self.assertEqual(sorted(hosts), ["testhost-1", "testhost-2", "testhost-3"])
        for i in range(3):
            h = hosts[f"testhost-{i + 1}"]
            self.assertTrue(h["connected"])
            self.assertEqual(h["agent_id"], results[f"root@127.0.0.{11 + i}"]["agent_id"])
            self.assertEqual(h["os_id"], "debian")
            self.assertGreater(h["software_count"], 50)  # the host's own dpkg inventory arrived

    def test_2_failures_say_why_and_only_machines_given_a_token_are_pending(self):
        results = self.results(self.first)
        refused = results["root@127.0.0.1:1"]
        self.assertEqual(refused["result"], "failed")
        self.assertIn("ssh: connect to host 127.0.0.1 port 1: Connection refused", refused["detail"])
        typo = results["testhost-typo.invalid"]
        self.assertEqual(typo["result"], "failed")
        self.assertIn("Could not resolve hostname", typo["detail"])
        bare = results["root@127.0.0.14"]
        self.assertEqual(bare["result"], "failed")
        self.assertIn("neither curl nor wget is installed", bare["detail"])
        pending = json.loads(self.ctl("hosts", "--pending", "--json").stdout)
        self.assertEqual([p["machine"] for p in pending], ["root@127.0.0.14"])
        self.assertTrue(pending[0]["token_usable"])
        self.assertEqual(pending[0]["fetches"], 0)  # it never got as far as a download

    def test_3_the_token_is_kept_private_on_the_host(self):
        h = self.hosts[0]
        mode = h.ssh("stat -c %a /etc/steward/token").stdout.strip()
        self.assertEqual(mode, "600")
        ps = h.ssh("ps -eo args").stdout
        token = h.ssh("cat /etc/steward/token").stdout.strip()
        self.assertTrue(token)
        self.assertNotIn(token, ps)
        self.assertNotIn(token.split(".")[1], self.collector.output())
        conf = h.ssh("grep -E '^(collector|ca_file|enroll_token_file) =' /etc/steward/agent.conf").stdout
        self.assertIn("ca_file = /etc/steward/ca.pem", conf)
        self.assertIn("enroll_token_file = /etc/steward/token", conf)

    def test_4_a_second_run_finds_the_agents_and_keeps_their_identity(self):
        before = {h["hostname"]: h["agent_id"] for h in json.loads(self.ctl("hosts", "--json").stdout)}
        with open(os.path.join(self.tmp, "good.txt"), "w") as f:
            f.write("\n".join(self.hosts.inventory_lines()[:3]) + "\n")
        again = self.ctl("install", "--ssh", os.path.join(self.tmp, "good.txt"), "--ssh-config",
                         self.hosts.ssh_config)
        self.assertIn("0 installed, 3 already there, 0 failed", again.stdout)
        after = {h["hostname"]: h["agent_id"] for h in json.loads(self.ctl("hosts", "--json").stdout)}
        self.assertEqual(before, after)
        self.assertEqual(len(after), 3)
        # The unneeded tokens are taken back and nothing new is pending.
        pending = json.loads(self.ctl("hosts", "--pending", "--json").stdout)
        self.assertEqual([p["machine"] for p in pending], ["root@127.0.0.14"])
        # The script by hand on an enrolled host, without a token: it
        # downloads with the agent's certificate; harmless, same identity.
        info = json.loads(self.ctl("install", "--print-command", "--json").stdout)
        with open(os.path.join(ROOT, "deploy/install-agent.sh")) as f:
            script = f.read()
        by_hand = ["sh", "-s", "--", "--collector", info["collector"], "--download", info["download_url"],
                   "--ca-sha256", info["ca_sha256"]]
        r = self.hosts[1].ssh(by_hand, input=script, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"result=already agent_id={before['testhost-2']}", r.stdout)
        # A disabled agent's certificate is refused.
        self.ctl("hosts", "disable", "testhost-3")
        try:
            r = self.hosts[2].ssh(by_hand, input=script, check=False)
        finally:
            self.ctl("hosts", "enable", "testhost-3")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(f"(HTTP 403): agent {before['testhost-3']} is disabled", r.stderr)
        # A token given to an enrolled host is not used up.
        token = self.ctl("token", "create").stdout.strip()
        r = self.hosts[0].ssh(by_hand + ["--token", token], input=script, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        tokens = {t["token_id"]: t for t in json.loads(self.ctl("token", "list", "--json").stdout)}
        self.assertEqual(tokens[token.split(".")[0]]["used"], 0)
        # Downloaded by a machine that is enrolled under that name: not pending.
        pending = json.loads(self.ctl("hosts", "--pending", "--json").stdout)
        self.assertEqual([p["machine"] for p in pending], ["root@127.0.0.14"])

    def test_5_a_token_given_by_hand_is_pending_until_used(self):
        self.ctl("token", "create", "--for", "db9.example.org")
        table = self.ctl("hosts", "--pending").stdout
        self.assertIn("db9.example.org", table)
        self.assertIn("never", table)

    def test_6_a_wrong_fingerprint_is_refused_before_anything_changes(self):
        info = json.loads(self.ctl("install", "--print-command", "--json").stdout)
        with open(os.path.join(ROOT, "deploy/install-agent.sh")) as f:
            script = f.read()
        token = self.ctl("token", "create").stdout.strip()
        h = self.hosts[3]  # not installed: it had no curl
        shutil.copy(self.hosts[0].root + "/usr/bin/curl", h.root + "/usr/bin/curl")
        try:
            r = h.ssh(["sh", "-s", "--", "--collector", info["collector"], "--download", info["download_url"],
                       "--ca-sha256", "0" * 64, "--token", token], input=script, check=False)
        finally:
            os.unlink(h.root + "/usr/bin/curl")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"the collector's CA has fingerprint {info['ca_sha256']}, not the {'0' * 64}", r.stderr)
        self.assertIn("refusing to trust it", r.stderr)
        self.assertEqual(h.ssh("test -e /etc/steward/token && echo yes || echo no").stdout.strip(), "no")
        self.assertEqual(h.ssh("dpkg-query -W steward-agent 2>/dev/null || echo none").stdout.strip(), "none")


if __name__ == "__main__":
    unittest.main()
