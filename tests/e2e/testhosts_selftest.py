#!/usr/bin/env python3
"""Self-test of testhosts.py: three hosts, checked over real ssh; then that
teardown (context exit, the CLI on SIGTERM, the CLI SIGKILLed) leaves no
process, no mount and no upper layer, and the base is untouched.

Run as root: python3 tests/e2e/testhosts_selftest.py -v
(the first run builds the base cache, see docs/testing.md).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testhosts  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def base_fingerprint(root):
    """Every path of the base with its type, mode, owner, size and mtime."""
    fp = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            fp[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns)
    st = os.lstat(root)
    fp["."] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)
    return fp


def ns_number(link):
    """"pid:[4026532001]" -> "4026532001"."""
    return re.fullmatch(r"pid:\[(\d+)\]", link).group(1)


def ps_pids_in(ns_numbers):
    """(pidns, pid, args) of processes in any of those PID namespaces, by `ps`."""
    out = subprocess.run(["ps", "-e", "-o", "pidns=,pid=,args="], check=True,
                         capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] in ns_numbers:
            found.append(tuple(parts))
    return found


def overlay_mounts_mentioning(path):
    """Lines of /proc/mounts (this namespace) and of every process' mountinfo
    that mention path."""
    with open("/proc/mounts") as f:
        here = [line for line in f if path in line]
    return here + [line for _, line in testhosts.mount_refs(path)]


def wait_until(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


class LeftoverCheck:
    """Records a TestHosts' namespaces while it runs; says what is left after."""

    def __init__(self, hosts):
        self.workdir = hosts.workdir
        self.ns = {ns_number(h.pid_ns) for h in hosts}
        self.upper = [h.dir for h in hosts]
        self.pids = {p for h in hosts for p in h.pids()}

    def leftovers(self):
        left = []
        procs = ps_pids_in(self.ns)
        if procs:
            left.append(f"processes still in the hosts' PID namespaces: {procs}")
        mounts = overlay_mounts_mentioning(self.workdir)
        if mounts:
            left.append(f"mounts still referring to {self.workdir}: {mounts}")
        dirs = [d for d in self.upper if os.path.exists(d)]
        if dirs:
            left.append(f"host directories not removed: {dirs}")
        return left


class Hosts(unittest.TestCase):
    """Three hosts for the whole class; teardown checked in tearDownClass."""

    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.base = testhosts.ensure_base()
        print(f"\nbase ready after {time.monotonic() - t0:.1f} s", file=sys.stderr)
        cls.fp_before = base_fingerprint(cls.base)
        cls.tmp = tempfile.mkdtemp(prefix="testhosts-selftest-")
        cls.hosts = testhosts.TestHosts(3, os.path.join(cls.tmp, "w"), base=cls.base)
        t0 = time.monotonic()
        try:
            cls.hosts.start()
        except BaseException:
            shutil.rmtree(cls.tmp)
            raise
        print(f"3 hosts up in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        cls.check = LeftoverCheck(cls.hosts)

    @classmethod
    def tearDownClass(cls):
        # Something left running in every host, so teardown has work to do.
        for h in cls.hosts:
            h.ssh("nohup sleep 600 >/dev/null 2>&1 &")
        assert cls.check.leftovers(), "the leftover check finds nothing while hosts run"
        cls.hosts.stop()
        left = cls.check.leftovers()
        fp_after = base_fingerprint(cls.base)
        shutil.rmtree(cls.tmp)
        if left:
            raise AssertionError("after teardown: " + "; ".join(left))
        if fp_after != cls.fp_before:
            changed = sorted(k for k in set(fp_after) | set(cls.fp_before)
                             if fp_after.get(k) != cls.fp_before.get(k))
            raise AssertionError(f"the base changed: {changed[:20]}")

    def test_hostname(self):
        names = []
        for i, h in enumerate(self.hosts, 1):
            self.assertEqual(h.name, f"testhost-{i}")
            self.assertEqual(h.address, f"127.0.0.{10 + i}")
            got = h.ssh("hostname").stdout.strip()
            self.assertEqual(got, h.name)
            names.append(got)
        self.assertEqual(len(set(names)), 3)
        self.assertNotIn(os.uname().nodename, names)

    def test_own_pid_namespace(self):
        outer = {p for p in os.listdir("/proc") if p.isdigit()}
        for h in self.hosts:
            cmdline = h.ssh("cat /proc/1/cmdline").stdout.split("\0")
            self.assertEqual(cmdline[:2], ["/bin/sh", testhosts.INIT_PATH], h.name)
            ps = h.ssh("ps -e -o pid=,args=").stdout.splitlines()
            self.assertLess(len(ps), 15, ps)
            self.assertGreater(len(ps), 2, ps)
            # ps inside sees only its namespace: the machine has many more.
            self.assertLess(len(ps), len(outer))
            self.assertRegex(ps[0].strip(), r"^1 /bin/sh " + re.escape(testhosts.INIT_PATH))
            self.assertNotEqual(h.pid_ns, os.readlink("/proc/self/ns/pid"))
            # From outside: the host's PID 1 is chrooted into its overlay.
            self.assertEqual(os.readlink(f"/proc/{h.init_pid}/root"), h.mnt)

    def test_daemon_outlives_ssh_session(self):
        for h in self.hosts:
            pid = h.ssh("nohup sleep 300 >/dev/null 2>&1 & echo $!").stdout.strip()
            self.assertRegex(pid, r"^\d+$")
            ssd = h.ssh("start-stop-daemon --start --background --make-pidfile "
                        "--pidfile /run/ssd.pid --exec /bin/sleep -- 301 && cat /run/ssd.pid").stdout.strip()
            # The sessions have ended; both daemons are orphans adopted by our PID 1.
            for p, name in ((pid, "sleep 300"), (ssd, "/bin/sleep 301")):
                st = h.ssh(f"ps -o ppid=,stat=,args= -p {p}", check=False)
                self.assertEqual(st.returncode, 0, f"{h.name}: {name} is gone")
                ppid, stat, args = st.stdout.split(None, 2)
                self.assertEqual(ppid, "1", st.stdout)
                self.assertNotIn("Z", stat, st.stdout)
                self.assertEqual(args.strip(), name)

    def test_orphans_are_reaped(self):
        h = self.hosts[1]
        # Orphans that exit after their session ended: only PID 1 can reap them.
        count = "ps -e -o args= | grep -cx 'sh -c sleep 1; true' || true"
        h.ssh("for i in 1 2 3; do nohup sh -c 'sleep 1; true' >/dev/null 2>&1 & done")
        self.assertEqual(h.ssh(count).stdout.strip(), "3")
        gone = wait_until(lambda: h.ssh(count).stdout.strip() == "0", timeout=10)
        self.assertTrue(gone, h.ssh("ps -e -o pid,ppid,stat,args").stdout)
        self.assertEqual(h.ssh("ps -e -o stat= | grep -c Z || true").stdout.strip(), "0",
                         h.ssh("ps -e -o pid,ppid,stat,args").stdout)

    def test_files_are_per_host(self):
        h1, h2, h3 = self.hosts
        name = f"marker-{uuid.uuid4().hex}"
        h1.ssh(f"echo hello >/root/{name} && echo x >>/etc/os-release && mkdir -p /opt/{name}")
        self.assertEqual(h1.ssh(f"cat /root/{name}").stdout, "hello\n")
        for other in (h2, h3):
            self.assertNotEqual(other.ssh(f"test -e /root/{name}", check=False).returncode, 0)
            self.assertNotEqual(other.ssh(f"test -e /opt/{name}", check=False).returncode, 0)
            self.assertNotIn("\nx\n", other.ssh("cat /etc/os-release").stdout)
        self.assertFalse(os.path.exists(os.path.join(self.base, "root", name)))
        self.assertFalse(os.path.exists(os.path.join(self.base, "opt", name)))
        # Written into the upper layer, and visible from outside through host.root.
        self.assertTrue(os.path.exists(os.path.join(h1.upper, "root", name)))
        with open(os.path.join(h1.root, "root", name)) as f:
            self.assertEqual(f.read(), "hello\n")
        with open(os.path.join(h2.root, "etc/hostname")) as f:
            self.assertEqual(f.read(), "testhost-2\n")
        # And the other way: a file put in from outside is seen over ssh.
        with open(os.path.join(h3.root, "tmp", name), "w") as f:
            f.write("from outside\n")
        self.assertEqual(h3.ssh(f"cat /tmp/{name}").stdout, "from outside\n")

    def test_debian_12(self):
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
        for h in self.hosts:
            self.assertEqual(h.ssh("dpkg --print-architecture").stdout.strip(), arch)
            osr = h.ssh(". /etc/os-release && echo $ID $VERSION_ID $VERSION_CODENAME").stdout.split()
            self.assertEqual(osr, ["debian", "12", "bookworm"])
            self.assertIn("openssh-server", h.ssh("dpkg-query -W -f='${Package} ${db:Status-Status}\\n' "
                                                  "openssh-server curl").stdout)

    def test_own_identity(self):
        ids, keys = set(), set()
        for h in self.hosts:
            mid = h.ssh("cat /etc/machine-id").stdout.strip()
            self.assertRegex(mid, r"^[0-9a-f]{32}$")
            ids.add(mid)
            keys.add(h.ssh("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1])
        self.assertEqual(len(ids), 3)
        self.assertEqual(len(keys), 3)
        with open(os.path.join(self.base, "etc/machine-id")) as f:
            self.assertEqual(f.read(), "")
        self.assertEqual([n for n in os.listdir(os.path.join(self.base, "etc/ssh")) if n.startswith("ssh_host_")], [])

    def test_root_login_by_key_only(self):
        h = self.hosts[0]
        # The key from the inventory, with the options a caller (stewardctl, Ansible) gives.
        opts = ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        ok = subprocess.run(["ssh", "-F", "/dev/null", "-i", self.hosts.identity, "-o", "IdentitiesOnly=yes"]
                            + opts + [h.target, "id -un"], capture_output=True, text=True, timeout=30)
        self.assertEqual((ok.returncode, ok.stdout), (0, "root\n"), ok.stderr)
        # Another key is refused; passwords are not offered.
        other = os.path.join(self.tmp, "other_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
        bad = subprocess.run(["ssh", "-F", "/dev/null", "-i", other, "-o", "IdentitiesOnly=yes"]
                             + opts + [h.target, "true"], capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 255, bad.stderr)
        self.assertIn("Permission denied (publickey)", bad.stderr)
        # sshd listens on the host's own address only.
        other_addr = subprocess.run(["ssh", "-F", self.hosts.ssh_config, "-o", "HostName=127.0.0.11",
                                     "-o", "ConnectTimeout=3", self.hosts[1].name, "hostname"],
                                    capture_output=True, text=True, timeout=30)
        self.assertEqual(other_addr.stdout.strip(), "testhost-1")

    def test_ssh_config_and_inventories(self):
        self.assertEqual(self.hosts.inventory_lines(),
                         ["root@127.0.0.11", "root@127.0.0.12", "root@127.0.0.13"])
        with open(self.hosts.ssh_config) as f:
            cfg = f.read()
        for i in (1, 2, 3):
            self.assertIn(f"Host testhost-{i} 127.0.0.{10 + i}\n    HostName 127.0.0.{10 + i}\n", cfg)
        for opt in ("User root", "UserKnownHostsFile /dev/null", "StrictHostKeyChecking no",
                    "LogLevel ERROR", "BatchMode yes", f"IdentityFile \"{self.hosts.identity}\""):
            self.assertEqual(cfg.count(opt), 3, opt)
        # Plain ssh with the config, by name and by address.
        for args in (["testhost-2"], ["root@127.0.0.12"]):
            p = subprocess.run(["ssh", "-F", self.hosts.ssh_config] + args + ["hostname"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.stdout, "testhost-2\n", p.stderr)
        inv = self.hosts.write_ansible_inventory(os.path.join(self.tmp, "inventory.ini"))
        with open(inv) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "[testhosts]")
        self.assertEqual(lines[1], f"testhost-1 ansible_host=127.0.0.11 ansible_user=root "
                                   f"ansible_ssh_private_key_file={self.hosts.identity} "
                                   "ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null "
                                   "-o StrictHostKeyChecking=no'")
        self.assertEqual(len(lines), 4)

    def test_ssh_helper(self):
        h = self.hosts[2]
        p = h.ssh("cat; echo err >&2; exit 3", check=False, input="in\n")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (3, "in\n", "err\n"))
        with self.assertRaises(subprocess.CalledProcessError):
            h.ssh("false")
        self.assertEqual(h.ssh(["echo", "a b", "$HOME"]).stdout, "a b $HOME\n")
        with self.assertRaises(subprocess.TimeoutExpired):
            h.ssh("sleep 5", timeout=1)


class Teardown(unittest.TestCase):
    """Teardown on an exception, and of the CLI on SIGTERM and on SIGKILL."""

    def setUp(self):
        self.base = testhosts.ensure_base()
        self.tmp = tempfile.mkdtemp(prefix="testhosts-selftest-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_exception_in_with_block(self):
        workdir = os.path.join(self.tmp, "w")
        with self.assertRaises(ZeroDivisionError):
            with testhosts.TestHosts(2, workdir, base=self.base, first=5) as hosts:
                self.assertEqual(hosts[1].ssh("hostname").stdout, "testhost-6\n")
                hosts[0].ssh("nohup sleep 600 >/dev/null 2>&1 &")
                check = LeftoverCheck(hosts)
                self.assertTrue(check.leftovers())
                1 / 0
        self.assertEqual(check.leftovers(), [])
        self.assertEqual(os.listdir(workdir), [])

    def _up(self, workdir, first):
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "testhosts.py"), "up", "--count", "2",
                              "--first", str(first), "--workdir", workdir],
                             stdout=subprocess.PIPE, text=True)
        out = []
        for line in p.stdout:
            out.append(line)
            if line.startswith("ready"):
                break
        else:
            p.wait()
            self.fail(f"up ended before ready: {''.join(out)}")
        return p, "".join(out)

    def test_cli_sigterm(self):
        self._cli_signal(signal.SIGTERM)

    def test_cli_sigint(self):
        self._cli_signal(signal.SIGINT)

    def _cli_signal(self, sig):
        workdir = os.path.join(self.tmp, "cli")
        p, out = self._up(workdir, 7)
        self.addCleanup(p.kill)
        cfg = os.path.join(workdir, "ssh_config")
        self.assertIn(f"ssh config: {cfg}\n", out)
        self.assertIn("root@127.0.0.17\t", out)
        self.assertIn("root@127.0.0.18\t", out)
        self.assertTrue(os.path.exists(os.path.join(workdir, "inventory.ini")))
        r = subprocess.run(["ssh", "-F", cfg, "testhost-8", "hostname; nohup sleep 600 >/dev/null 2>&1 &"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout, "testhost-8\n", r.stderr)
        ns = {os.readlink(f"/proc/{pid}/ns/pid") for pid in _chrooted_under(workdir)}
        self.assertEqual(len(ns), 2)
        nsn = {ns_number(n) for n in ns}
        self.assertTrue(ps_pids_in(nsn))
        p.send_signal(sig)
        rest = p.communicate(timeout=30)[0]
        self.assertEqual(p.returncode, 0)
        self.assertIn("stopped", rest)
        self.assertEqual(ps_pids_in(nsn), [])
        self.assertEqual(overlay_mounts_mentioning(workdir), [])
        self.assertEqual(os.listdir(workdir), [])

    def test_sigterm_to_a_unittest_run(self):
        # The way later tests use it: hosts in setUpClass, the run SIGTERMed mid-test.
        workdir = os.path.join(self.tmp, "ut")
        script = os.path.join(self.tmp, "user_test.py")
        with open(script, "w") as f:
            f.write(f"""import sys, time, unittest
sys.path.insert(0, {HERE!r})
import testhosts
class T(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hosts = testhosts.TestHosts(2, {workdir!r}, first=9).start()
    @classmethod
    def tearDownClass(cls):
        cls.hosts.stop()
    def test_wait(self):
        self.hosts[0].ssh("nohup sleep 600 >/dev/null 2>&1 &")
        print("ready", flush=True)
        time.sleep(60)
unittest.main()
""")
        p = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline(), "ready\n")
        nsn = {ns_number(os.readlink(f"/proc/{pid}/ns/pid")) for pid in _chrooted_under(workdir)}
        self.assertEqual(len(nsn), 2)
        self.assertTrue(ps_pids_in(nsn))
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(ps_pids_in(nsn), [])
        self.assertEqual(overlay_mounts_mentioning(workdir), [])
        self.assertEqual(sorted(os.listdir(workdir)), [])

    def test_cli_sigkill_then_down(self):
        # SIGKILL gives no chance to clean up: the namespaces still die (pdeathsig
        # chain); the upper layers stay until `down` (or the next start) removes them.
        workdir = os.path.join(self.tmp, "cli")
        p, out = self._up(workdir, 7)
        nsn = {ns_number(os.readlink(f"/proc/{pid}/ns/pid")) for pid in _chrooted_under(workdir)}
        self.assertEqual(len(nsn), 2)
        p.kill()
        p.wait()
        p.stdout.close()
        self.assertEqual(wait_until(lambda: not ps_pids_in(nsn)), True, ps_pids_in(nsn))
        self.assertEqual(wait_until(lambda: not overlay_mounts_mentioning(workdir)), True)
        self.assertTrue(os.path.isdir(os.path.join(workdir, "host7", "upper")))
        subprocess.run([sys.executable, os.path.join(HERE, "testhosts.py"), "down", "--workdir", workdir],
                       check=True)
        self.assertFalse(os.path.exists(os.path.join(workdir, "host7")))
        self.assertFalse(os.path.exists(os.path.join(workdir, "host8")))


def _chrooted_under(workdir):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/root").startswith(workdir + "/"):
                    pids.append(int(d))
            except OSError:
                pass
    return pids


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("testhosts_selftest: must run as root", file=sys.stderr)
        sys.exit(2)
    unittest.main()
