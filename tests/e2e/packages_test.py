#!/usr/bin/env python3
"""The Debian packages as an operator meets them, installed on this machine.

    sudo python3 tests/e2e/packages_test.py [-v]

Not part of ctest: it installs, upgrades and purges steward-agent,
steward-collector and stewardctl with dpkg on this very machine (as root),
and builds the packages first when STEWARD_DEBS is not given (a few minutes
the first time; docs/install.md). It refuses to run where Steward is already
installed or has left data, and purges what it installed even when a step
fails.

Steps: install release 1; check files, conffiles, the steward user, the data
directories and their modes, the systemd enablement links; run the collector
as the steward user and the agent as root by hand from /etc/steward (no
systemd here) until the agent is enrolled; edit agent.conf; upgrade to
release 2 (the edited conffile and all data kept, the agent reconnects with
its identity); remove (conffiles and data kept); purge (all gone but the
steward user and a file the operator put in /etc/steward). Also checks the
units with systemd-analyze and the packages with lintian (no errors).

Environment: STEWARD_DEBS (a directory with the release-1 .debs) and
STEWARD_DEBS_NEXT (release 2), both built with deploy/package.sh when unset.
"""
import glob
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steward_e2e import Proc, read, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("steward-agent", "steward-collector", "stewardctl")
VERSION = re.search(r"project\(steward VERSION (\S+)", read(os.path.join(ROOT, "CMakeLists.txt"))).group(1)
ADMIN = "/var/lib/steward/admin.conf"
WANTS = "/etc/systemd/system/multi-user.target.wants"
# What the packages and their scripts create, and purge removes.
LEFT_BY_STEWARD = ("/var/lib/steward", "/var/lib/steward-agent", "/etc/steward", "/var/backups/steward")
BACKUP = "/var/backups/steward/before-remove"


def run(*argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def dpkg_status(pkg):
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", pkg, check=False)
    return r.stdout.strip() if r.returncode == 0 else "not known"


def debs_in(directory, release):
    debs = [os.path.join(directory, f"{p}_{VERSION}-{release}_amd64.deb") for p in PACKAGES]
    missing = [d for d in debs if not os.path.exists(d)]
    if missing:
        raise RuntimeError(f"missing packages: {missing}")
    return debs


def build_packages(out, release):
    env = {**os.environ, "STEWARD_DEB_RELEASE": str(release)}
    r = subprocess.run([os.path.join(ROOT, "deploy/package.sh"), out], env=env, text=True, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"deploy/package.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


class Packages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: it installs packages with dpkg")
        installed = [p for p in PACKAGES if dpkg_status(p) != "not known" and not dpkg_status(p).startswith("un")]
        left = [p for p in LEFT_BY_STEWARD if os.path.exists(p)]
        if installed or left:
            raise RuntimeError(f"Steward is installed here ({installed}) or left {left}: this test installs and "
                               "purges the packages, so it runs only where they are not")
        cls.tmp = tempfile.mkdtemp(prefix="steward-packages-")
        cls.debs = os.environ.get("STEWARD_DEBS") or os.path.join(cls.tmp, "release-1")
        cls.debs_next = os.environ.get("STEWARD_DEBS_NEXT") or os.path.join(cls.tmp, "release-2")
        if "STEWARD_DEBS" not in os.environ:
            build_packages(cls.debs, 1)
        if "STEWARD_DEBS_NEXT" not in os.environ:
            build_packages(cls.debs_next, 2)
        cls.procs = []

    @classmethod
    def tearDownClass(cls):
        for p in getattr(cls, "procs", []):
            try:
                p.stop()
            except AssertionError:
                pass
        if hasattr(cls, "tmp"):
            # Whatever happened above: leave the machine as it was (but the
            # steward user, which purge keeps on purpose).
            present = [p for p in PACKAGES if dpkg_status(p).startswith(("i", "r"))]
            if present:
                run("dpkg", "--purge", *present, check=False)
            for path in ("/etc/steward/token",):
                if os.path.exists(path):
                    os.unlink(path)
            # The backup test_4 took (purge keeps backups on purpose).
            shutil.rmtree("/var/backups/steward", ignore_errors=True)
            if os.path.isdir("/etc/steward") and not os.listdir("/etc/steward"):
                os.rmdir("/etc/steward")
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, name, argv):
        p = Proc(argv, os.path.join(self.tmp, f"{name}-{len(self.procs)}.log"))
        self.procs.append(p)
        return p

    def stop_all(self):
        procs, type(self).procs = self.procs, []
        codes = [(p.stop(), p) for p in procs]
        for code, p in codes:
            self.assertEqual(code, 0, p.output())

    def ctl_json(self, *args):
        return json.loads(run("/usr/bin/stewardctl", "--config", ADMIN, *args, "--json").stdout)

    def start_collector(self):
        """The packaged collector, run by hand as systemd would: user steward, settings from
        /etc/steward/collector.conf (only the port from a flag: 7443 may be taken here)."""
        if os.path.exists(ADMIN):
            os.unlink(ADMIN)
        # setpriv execs the collector itself (runuser would stay in between and
        # turn a SIGTERM into its own death by signal).
        p = self.start("collector", ["setpriv", "--reuid=steward", "--regid=steward", "--init-groups",
                                     "/usr/bin/steward-collector", "--listen", "127.0.0.1:0"])
        wait_for("admin.conf", lambda: os.path.exists(ADMIN) or p.p.poll() is not None)
        self.assertIsNone(p.p.poll(), p.output())
        self.assertIn("settings from /etc/steward/collector.conf", p.output())
        return re.search(r"^collector = (\S+)$", read(ADMIN), re.M).group(1)

    def assert_mode(self, path, mode, owner):
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), mode, f"{path}: {oct(st.st_mode)}")
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, owner, path)

    def test_1_install(self):
        r = run("dpkg", "-i", *debs_in(self.debs, 1))
        for p in PACKAGES:
            self.assertEqual(dpkg_status(p), f"ii |{VERSION}-1", r.stdout)
        for f in ("/usr/bin/steward-agent", "/usr/bin/steward-collector", "/usr/bin/stewardctl",
                  "/lib/systemd/system/steward-agent.service", "/lib/systemd/system/steward-collector.service",
                  "/usr/share/doc/steward-agent/copyright", "/usr/share/doc/stewardctl/changelog.Debian.gz"):
            self.assertTrue(os.path.exists(f), f)
        self.assert_mode("/etc/steward/agent.conf", 0o644, "root")
        self.assertEqual(read("/etc/steward/agent.conf"),
                         read(os.path.join(ROOT, "deploy/config/agent.conf")))
        for pkg, conf in (("steward-agent", "agent.conf"), ("steward-collector", "collector.conf")):
            conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", pkg).stdout
            self.assertRegex(conffiles, rf"^ /etc/steward/{conf} [0-9a-f]{{32}}$")
        # The collector's user, and the data directories.
        user = pwd.getpwnam("steward")
        self.assertLess(user.pw_uid, 1000, "a system user")
        self.assertEqual((user.pw_dir, user.pw_shell), ("/var/lib/steward", "/usr/sbin/nologin"))
        self.assert_mode("/var/lib/steward", 0o700, "steward")
        self.assert_mode("/var/lib/steward-agent", 0o700, "root")
        self.assert_mode("/var/backups/steward", 0o700, "steward")
        # Enabled the way deb-systemd-helper does, systemd running or not.
        for unit in ("steward-agent.service", "steward-collector.service"):
            self.assertEqual(os.readlink(os.path.join(WANTS, unit)), f"/lib/systemd/system/{unit}")
        # The binaries run from /usr/bin.
        out = run("/usr/bin/steward-collector", "--version").stdout
        self.assertRegex(out, rf"^steward-collector {re.escape(VERSION)} \(commit \S+, RelWithDebInfo, protocol 1\)\n$")
        self.assertRegex(run("/usr/bin/steward-agent", "--version").stdout, rf"^steward-agent {re.escape(VERSION)} ")
        self.assertIn("usage", run("/usr/bin/stewardctl", "--help").stdout.lower())
        # Unconfigured, the agent says what to set in its file, and exits 2
        # (which the unit does not restart).
        r = run("/usr/bin/steward-agent", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("'collector = ...' in /etc/steward/agent.conf", r.stderr)

    def test_2_units_check_out(self):
        for unit in ("steward-agent", "steward-collector"):
            r = run("systemd-analyze", "verify", f"/lib/systemd/system/{unit}.service", check=False)
            print(f"\n$ systemd-analyze verify /lib/systemd/system/{unit}.service\n{r.stdout}{r.stderr}"
                  f"(exit {r.returncode})", file=sys.stderr)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run("systemd-analyze", "security", "--offline=true", f"/lib/systemd/system/{unit}.service",
                    check=False)
            score = re.search(r"Overall exposure level for \S+: (\S+ \S+)", r.stdout).group(1)
            print(f"$ systemd-analyze security --offline=true ...{unit}.service: {score}", file=sys.stderr)

    def test_3_run_by_hand_and_enroll(self):
        address = self.start_collector()
        token = run("/usr/bin/stewardctl", "--config", ADMIN, "token", "create").stdout.strip()
        with open("/etc/steward/token", "w") as f:
            f.write(token + "\n")
        os.chmod("/etc/steward/token", 0o600)
        # The operator's edit of the conffile (kept by the upgrade below).
        conf = read("/etc/steward/agent.conf")
        conf = conf.replace("#collector = collector.example.org:7443", f"collector = {address}")
        conf = conf.replace("#ca_file = /etc/steward/ca.pem", "ca_file = /var/lib/steward/ca.pem")
        conf = conf.replace("#enroll_token_file = /etc/steward/token", "enroll_token_file = /etc/steward/token")
        with open("/etc/steward/agent.conf", "w") as f:
            f.write(conf)
        agent = self.start("agent", ["/usr/bin/steward-agent"])  # everything from /etc/steward/agent.conf
        hosts = wait_for("the agent enrolled and connected",
                         lambda: [h for h in self.ctl_json("hosts") if h["connected"]])
        self.assertEqual(len(hosts), 1)
        type(self).agent_id = hosts[0]["agent_id"]
        self.assertIn("settings from /etc/steward/agent.conf", agent.output())
        self.assertTrue(os.path.exists("/var/lib/steward/db"))
        self.assertTrue(os.listdir("/var/lib/steward-agent"))
        # The collector package carries the agent package of its build and
        # serves it to the machines it installs, with nothing copied by hand.
        carried = os.listdir("/usr/share/steward/agent-packages")
        self.assertEqual(carried, [f"steward-agent_{VERSION}-1_amd64.deb"])
        with open(os.path.join(self.debs, carried[0]), "rb") as a, \
                open(os.path.join("/usr/share/steward/agent-packages", carried[0]), "rb") as b:
            self.assertEqual(a.read(), b.read(), "the agent package in dist/ is the one the collector carries")
        info = self.ctl_json("install", "--print-command")
        self.assertEqual([(p["arch"], p["version"]) for p in info["packages"]], [("amd64", f"{VERSION}-1")])
        self.assertTrue(info["download_url"].startswith("https://127.0.0.1:"), info)
        self.stop_all()

    def test_4_upgrade_keeps_the_edited_conffile_and_the_data(self):
        edited = read("/etc/steward/agent.conf")
        ca = read("/var/lib/steward/ca.pem")
        r = run("dpkg", "-i", "--force-confdef", "--force-confold", *debs_in(self.debs_next, 2))
        for p in PACKAGES:
            self.assertEqual(dpkg_status(p), f"ii |{VERSION}-2", r.stdout)
        self.assertEqual(read("/etc/steward/agent.conf"), edited)
        self.assertFalse(glob.glob("/etc/steward/*.dpkg-*"), "no .dpkg-new/.dpkg-dist beside the conffiles")
        self.assertEqual(read("/var/lib/steward/ca.pem"), ca)
        self.assert_mode("/var/lib/steward", 0o700, "steward")
        # Same collector data, same agent identity.
        address = self.start_collector()
        conf = re.sub(r"^collector = .*$", f"collector = {address}", edited, flags=re.M)
        with open("/etc/steward/agent.conf", "w") as f:
            f.write(conf)
        agent = self.start("agent", ["/usr/bin/steward-agent"])
        hosts = wait_for("the agent reconnected", lambda: [h for h in self.ctl_json("hosts") if h["connected"]])
        self.assertEqual([h["agent_id"] for h in hosts], [self.agent_id])
        self.assertIn("already enrolled", agent.output())
        # The collector (as steward) can write a backup where the docs say.
        backup = self.ctl_json("admin", "backup", "--to", BACKUP)
        self.assertEqual(backup["path"], BACKUP)
        self.assertTrue(os.path.exists(os.path.join(BACKUP, "MANIFEST")))
        self.stop_all()

    def test_5_remove_keeps_conffiles_and_data(self):
        run("dpkg", "--remove", *PACKAGES)
        for p in PACKAGES:
            self.assertFalse(os.path.exists(f"/usr/bin/{p}"), p)
        self.assertEqual(dpkg_status("steward-agent").split("|")[0].strip(), "rc")
        self.assertTrue(os.path.exists("/etc/steward/agent.conf"))
        self.assertTrue(os.path.exists("/var/lib/steward/ca.pem"))
        self.assertTrue(os.path.isdir("/var/lib/steward-agent"))

    def test_6_purge_removes_everything_but_the_user_and_operator_files(self):
        run("dpkg", "--purge", *PACKAGES)
        for p in PACKAGES:
            self.assertEqual(dpkg_status(p), "not known", p)
        for path in ("/var/lib/steward", "/var/lib/steward-agent", "/etc/steward/agent.conf",
                     "/etc/steward/collector.conf", os.path.join(WANTS, "steward-agent.service"),
                     os.path.join(WANTS, "steward-collector.service"), "/lib/systemd/system/steward-agent.service"):
            self.assertFalse(os.path.lexists(path), path)
        self.assertEqual(os.listdir("/etc/steward"), ["token"], "the operator's own file stays")
        self.assertTrue(os.path.exists(os.path.join(BACKUP, "MANIFEST")), "purge keeps the backups")
        self.assertEqual(pwd.getpwnam("steward").pw_dir, "/var/lib/steward", "the user stays (Debian's advice)")

    def test_7_lintian_finds_no_error(self):
        if not shutil.which("lintian"):
            self.skipTest("lintian is not installed (apt-get install lintian)")
        r = run("lintian", "--pedantic", "--display-info", *debs_in(self.debs, 1), check=False)
        tags = sorted(line for line in r.stdout.splitlines() if re.match(r"^[EWIPX]: ", line))
        print("\n$ lintian --pedantic --display-info ...\n" + "\n".join(tags), file=sys.stderr)
        self.assertFalse([t for t in tags if t.startswith("E: ")], tags)


if __name__ == "__main__":
    unittest.main()
