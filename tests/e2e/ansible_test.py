#!/usr/bin/env python3
"""The Ansible role deploy/ansible/roles/steward_agent against real machines.

    sudo python3 tests/e2e/ansible_test.py [-v]

Not part of ctest: it needs root (namespaces, mounts), ansible-playbook
(Debian's ansible package; installed with apt-get when missing), a
debootstrap'ed Debian 12 base with python3 (tests/e2e/testhosts.py builds and
caches it in /var/cache/steward-tests/bookworm-python, about 100 s the first
time), and the agent package (dist/steward-agent_*.deb, or those in the
directory STEWARD_AGENT_DEBS; built with deploy/package.sh when missing, a
few minutes). STEWARD_BUILD names another build tree (default build/);
STEWARD_E2E_KEEP=1 keeps the temporary directory (logs, playbook output).

Four test hosts, testhost-21..24 on 127.0.0.31..34 (first=21: clear of the
hosts of install_test.py). The collector is the build tree's, serving the
packaged agent; the role makes each host's token with the build tree's
stewardctl. Checks:
  * deploy/ansible/install-agents.yml on testhost-21..23: the play recap says
    changed=1 for each, each is enrolled under its own hostname, connected,
    with the labels given, its identity is the one on its disk and the one the
    role reported, the publisher key given is its trusted_key; no machine is pending; each token was made for its host
    and used once; no token is in the playbook's output at -vvv (which shows
    the remote command lines), nor in any host's process list, nor left in
    the installer's temporary directory;
  * the same playbook again: changed=0, failed=0, result=already and the same
    agent ids, no new token;
  * testhost-24 with a wrong steward_ca_sha256: the play fails on it with the
    installer's fingerprint message, nothing is installed there and the token
    never reached it; it is listed by 'hosts --pending' (it was given a token),
    as 'stewardctl install --ssh' leaves such a machine;
  * testhost-24 again with steward_token (from an -e @file): installed with
    that token's labels, no token made by the role, the token not in the
    output; then all four hosts with that token used up: changed=0 (enrolled
    hosts need no usable token).
The hosts' agents fetch their libraries from the Debian mirror (apt-get -f
install in the installer).
"""
import glob
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
from install_harness import CTL, ROOT, InstallCollector, agent_debs, check_built, die_with_parent  # noqa: E402
from steward_e2e import wait_for  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "deploy/ansible/install-agents.yml")
BASE_CACHE = "/var/cache/steward-tests/bookworm-python"
FIRST = 21  # test hosts 127.0.0.31 .. 127.0.0.34
GOOD = ["testhost-21", "testhost-22", "testhost-23"]
BAD = "testhost-24"
LABELS = ["role=web", "env=test"]
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
REPORT = re.compile(r'^ok: \[(\S+)\] => \{\s*"msg": "steward_agent result=(\S+) agent_id=(\S*)"', re.M)


def ensure_ansible():
    if shutil.which("ansible-playbook"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "ansible"]
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr, check=True)
        subprocess.run(cmd, env=env, stdout=sys.stderr, check=True)


def recap(output):
    """{host: (ok, changed, unreachable, failed)} from the PLAY RECAP."""
    tail = output[output.rfind("PLAY RECAP"):]
    return {m.group(1): tuple(int(m.group(i)) for i in range(2, 6)) for m in RECAP.finditer(tail)}


def where_found(secret, text):
    """None when secret is not in text, else a short excerpt around it."""
    at = text.find(secret)
    return None if at < 0 else repr(text[max(0, at - 300):at + len(secret) + 100])


def reports(output):
    """{host: (result, agent_id)} from the role's "Report the agent" task."""
    return {m.group(1): (m.group(2), m.group(3)) for m in REPORT.finditer(output)}


class AnsibleRole(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: test hosts are namespaces and mounts")
        check_built()
        ensure_ansible()
        cls.timings = {}
        cls.tmp = tempfile.mkdtemp(prefix="steward-ansible-")
        cls.collector = None
        cls.hosts = None
        try:
            cls._set_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _set_up(cls):
        t0 = time.monotonic()
        base = testhosts.ensure_base(BASE_CACHE, include=testhosts.DEFAULT_INCLUDE + ("python3",))
        cls.timings["base"] = time.monotonic() - t0
        cls.collector = InstallCollector(cls.tmp, agent_debs())
        cls.conf = cls.collector.conf
        cls.info = json.loads(cls.ctl("install", "--print-command", "--json").stdout)
        cls.ctl("keys", "generate", "--out", os.path.join(cls.tmp, "publisher"))
        cls.publisher = os.path.join(cls.tmp, "publisher.pub")

        t0 = time.monotonic()
        cls.hosts = testhosts.TestHosts(4, os.path.join(cls.tmp, "hosts"), base=base, first=FIRST)
        cls.hosts.start()
        cls.timings["hosts"] = time.monotonic() - t0
        cls.inventory = os.path.join(cls.tmp, "inventory.ini")
        cls.hosts.write_ansible_inventory(cls.inventory)
        with open(cls.inventory, "a") as f:
            f.write("\n[steward_agents:children]\ntesthosts\n")  # the playbook's default group

        t0 = time.monotonic()
        cls.first = cls.playbook("-vvv", "--limit", ",".join(GOOD), "-e", json.dumps({"steward_labels": LABELS}),
                                 "-e", f"steward_trusted_key={cls.publisher}")
        cls.timings["first run"] = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        errors = []
        if getattr(cls, "hosts", None) is not None:
            try:
                cls.hosts.stop()
            except Exception as e:  # noqa: BLE001 - stop the collector all the same
                errors.append(e)
        if getattr(cls, "collector", None) is not None:
            try:
                cls.collector.stop()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if os.environ.get("STEWARD_E2E_KEEP"):
            print(f"kept {cls.tmp}", file=sys.stderr)
        elif getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        if getattr(cls, "timings", None):
            print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in cls.timings.items()), file=sys.stderr)
        if errors:
            raise errors[0]

    @classmethod
    def ctl(cls, *args, check=True):
        return cls.collector.ctl(*args, check=check, timeout=120)

    @classmethod
    def playbook(cls, *args, ca_sha256=None):
        """ansible-playbook install-agents.yml on the test hosts, as an operator
        runs it: the values from 'stewardctl install --print-command', the
        admin config in STEWARD_CONFIG. Output (stdout and stderr) in .out."""
        env = dict(os.environ,
                   STEWARD_CONFIG=cls.conf,
                   ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
                   ANSIBLE_RETRY_FILES_ENABLED="False",
                   ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_LOCAL_TEMP=os.path.join(cls.tmp, "ansible-tmp"),
                   # ssh connections kept open between tasks (ControlPersist)
                   # live under the test's directory and end with the hosts.
                   ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(cls.tmp, "cp"))
        env.pop("ANSIBLE_CONFIG", None)
        argv = ["ansible-playbook", "-i", cls.inventory, PLAYBOOK,
                "-e", f"steward_collector={cls.info['collector']}",
                "-e", f"steward_ca_sha256={ca_sha256 or cls.info['ca_sha256']}",
                "-e", f"steward_download_url={cls.info['download_url']}",
                "-e", f"steward_stewardctl={CTL}",
                *args]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=900, env=env, cwd=cls.tmp, preexec_fn=die_with_parent)
        r.out = r.stdout
        with open(os.path.join(cls.tmp, f"ansible-{len(glob.glob(os.path.join(cls.tmp, 'ansible-*.log')))}.log"),
                  "w") as f:
            f.write(" ".join(argv) + "\n" + r.out)
        return r

    def hosts_json(self):
        return {h["hostname"]: h for h in json.loads(self.ctl("hosts", "--json").stdout)}

    def tokens(self):
        return json.loads(self.ctl("token", "list", "--json").stdout)

    def host(self, name):
        return next(h for h in self.hosts if h.name == name)

    def test_1_the_playbook_installs_and_enrolls_each_host_under_its_own_name(self):
        r = self.first
        self.assertEqual(r.returncode, 0, r.out[-6000:])
        rc = recap(r.out)
        self.assertEqual(sorted(rc), GOOD, r.out[-3000:])
        for name in GOOD:
            ok, changed, unreachable, failed = rc[name]
            self.assertEqual((changed, unreachable, failed), (1, 0, 0), f"{name}: {rc[name]}")
        reported = reports(r.out)
        self.assertEqual(sorted(reported), GOOD)
        wait_for("three connected agents",
                 lambda: [h for h in self.hosts_json().values() if h["connected"]].__len__() == 3, 30)
        hosts = self.hosts_json()
        self.assertEqual(sorted(hosts), GOOD)
        for name in GOOD:
            h = hosts[name]
            self.assertTrue(h["connected"], h)
            self.assertEqual(h["os_id"], "debian")
            with open(self.host(name).root + "/var/lib/steward-agent/agent.id") as f:
                on_disk = f.read().strip()
            self.assertEqual(h["agent_id"], on_disk)
            self.assertEqual(reported[name], ("installed", on_disk))
            self.assertEqual(h["labels"], {"role": "web", "env": "test"})
            root = self.host(name).root
            with open(self.publisher) as want, open(root + "/etc/steward/keys/publisher.pub") as got:
                self.assertEqual(got.read().strip(), want.read().strip())
            with open(root + "/etc/steward/agent.conf") as f:
                self.assertRegex(f.read(), r"(?m)^trusted_key = /etc/steward/keys/publisher\.pub$")
        pending = json.loads(self.ctl("hosts", "--pending", "--json").stdout)
        self.assertEqual(pending, [])

    def test_2_the_tokens_were_made_per_host_and_appear_nowhere(self):
        tokens = {t["machine"]: t for t in self.tokens()}
        self.assertEqual(sorted(tokens), GOOD)
        for name in GOOD:
            t = tokens[name]
            self.assertEqual((t["used"], t["max_uses"]), (1, 1), t)
            self.assertEqual(t["labels"], {"role": "web", "env": "test"})
        out = self.first.out
        self.assertIn("EXEC ssh", out)  # -vvv shows the remote command lines
        self.assertIn("censored", out)   # the no_log tasks ran
        for name in GOOD:
            h = self.host(name)
            with open(h.root + "/etc/steward/token") as f:
                token = f.read().strip()
            token_id, secret = token.split(".", 1)
            self.assertEqual(tokens[name]["token_id"], token_id)
            self.assertIsNone(where_found(secret, out), f"{name}'s token is in the playbook's output")
            with open(self.collector.log) as f:
                self.assertIsNone(where_found(secret, f.read()), "the token is in the collector's log")
            self.assertIsNone(where_found(secret, h.ssh("ps -eo args").stdout))
            self.assertEqual(oct(os.stat(h.root + "/etc/steward/token").st_mode & 0o777), "0o600")
            self.assertEqual(glob.glob(h.root + "/tmp/steward-ansible.*"), [])

    def test_3_a_second_run_changes_nothing_and_keeps_the_identities(self):
        before = {n: h["agent_id"] for n, h in self.hosts_json().items()}
        tokens_before = len(self.tokens())
        t0 = time.monotonic()
        r = self.playbook("-v", "--limit", ",".join(GOOD))
        self.timings["second run"] = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.out[-6000:])
        rc = recap(r.out)
        self.assertEqual(sorted(rc), GOOD)
        for name in GOOD:
            self.assertEqual(rc[name][1:], (0, 0, 0), f"{name}: {rc[name]}")
        self.assertEqual(reports(r.out), {n: ("already", before[n]) for n in GOOD})
        after = {n: h["agent_id"] for n, h in self.hosts_json().items()}
        self.assertEqual(after, before)
        self.assertEqual(len(self.tokens()), tokens_before, "an enrolled host was given a token")
        self.assertEqual(json.loads(self.ctl("hosts", "--pending", "--json").stdout), [])

    def test_4_a_wrong_fingerprint_fails_with_the_installers_message(self):
        wrong = "ab" * 32
        t0 = time.monotonic()
        r = self.playbook("--limit", BAD, ca_sha256=wrong)
        self.timings["wrong fingerprint run"] = time.monotonic() - t0
        self.assertEqual(r.returncode, 2, r.out[-6000:])  # 2: a host failed
        self.assertEqual(recap(r.out)[BAD][3], 1)
        self.assertIn(f"install-agent: error: the collector's CA has fingerprint {self.info['ca_sha256']}, "
                      f"not the {wrong} given with --ca-sha256: refusing to trust it", r.out)
        self.assertRegex(r.out, rf'fatal: \[{BAD}\]: FAILED! => \{{.*"msg": "install-agent: error: the '
                                r"collector's CA has fingerprint")
        h = self.host(BAD)
        self.assertFalse(os.path.exists(h.root + "/etc/steward/token"))
        self.assertFalse(os.path.exists(h.root + "/var/lib/steward-agent"))
        self.assertEqual(h.ssh("dpkg-query -W steward-agent 2>/dev/null || echo none").stdout.strip(), "none")
        self.assertEqual(glob.glob(h.root + "/tmp/steward-ansible.*"), [])
        self.assertEqual(sorted(self.hosts_json()), GOOD)
        pending = json.loads(self.ctl("hosts", "--pending", "--json").stdout)
        self.assertEqual([p["machine"] for p in pending], [BAD])
        self.assertEqual(pending[0]["fetches"], 0)

    def test_5_a_token_given_with_steward_token_is_used_and_none_is_made(self):
        token = self.ctl("token", "create", "--label", "site=lab").stdout.strip()
        made = len(self.tokens())
        t0 = time.monotonic()
        # In a file, as an operator keeps it (not on ansible-playbook's command line).
        self.__class__.token_vars = os.path.join(self.tmp, "token.yml")
        with open(os.open(self.token_vars, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(f"steward_token: {json.dumps(token)}\n")
        r = self.playbook("-vvv", "--limit", BAD, "-e", "@" + self.token_vars)
        self.timings["steward_token run"] = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.out[-6000:])
        self.assertEqual(recap(r.out)[BAD][1:], (1, 0, 0))
        self.assertEqual(len(self.tokens()), made, "the role made a token although one was given")
        self.assertEqual(reports(r.out)[BAD][0], "installed")
        hosts = self.hosts_json()
        self.assertEqual(sorted(hosts), GOOD + [BAD])
        self.assertEqual(hosts[BAD]["labels"], {"site": "lab"})
        self.assertEqual(hosts[BAD]["agent_id"], reports(r.out)[BAD][1])
        self.assertIsNone(where_found(token.split(".", 1)[1], r.out), "steward_token is in the playbook's output")

    def test_6_enrolled_hosts_need_no_usable_token(self):
        # steward_token is used up now, the hosts are enrolled: nothing to do.
        r = self.playbook("-v", "-e", "@" + self.token_vars)
        self.assertEqual(r.returncode, 0, r.out[-6000:])
        rc = recap(r.out)
        self.assertEqual(sorted(rc), GOOD + [BAD])
        for name, counts in rc.items():
            self.assertEqual(counts[1:], (0, 0, 0), f"{name}: {counts}")
        self.assertEqual({n: res for n, (res, _) in reports(r.out).items()}, dict.fromkeys(GOOD + [BAD], "already"))


if __name__ == "__main__":
    unittest.main()
