#!/usr/bin/env python3
"""Test hosts: small Debian 12 machines on this machine, reachable over real SSH.

For tests of `stewardctl install --ssh` and of the Ansible role. Standard
library only; run as root (it mounts and unshares).

Each host is:
  * a root filesystem: an overlayfs whose lower layer is a cached debootstrap
    of bookworm (built once by ensure_base(), never written to) and whose
    upper layer is WORKDIR/hostN/upper, so hosts share nothing on disk;
  * its own mount, UTS and PID namespaces (util-linux `unshare`); the network
    namespace is the machine's, so a host reaches 127.0.0.1 and is reached on
    127.0.0.(10+N);
  * a PID 1 (/usr/local/sbin/testhost-init, a shell loop) that starts sshd and
    reaps orphans, so daemons left behind by an SSH session keep running and
    do not become zombies;
  * sshd on 127.0.0.(10+N):22, root login with the TestHosts' ed25519 key only.

Module use:

    import testhosts
    with testhosts.TestHosts(3, "/tmp/th") as hosts:
        hosts[0].ssh("hostname").stdout          # "testhost-1\n"
        hosts.ssh_config                         # ssh -F this testhost-1 ...
        hosts.inventory_lines()                  # ["root@127.0.0.11", ...]
        hosts.write_ansible_inventory("/tmp/th/inventory.ini")
        open(hosts[0].root + "/etc/os-release")  # the host's files, from outside

CLI:

    python3 tests/e2e/testhosts.py base                              # build the cache
    python3 tests/e2e/testhosts.py up --count 3 --workdir /tmp/th    # until Ctrl-C/SIGTERM

Environment: STEWARD_TESTHOSTS_CACHE overrides the base cache directory
(default /var/cache/steward-tests/bookworm-base); STEWARD_TESTHOSTS_MIRROR
the Debian mirror (default: the one apt uses here); STEWARD_TESTHOSTS_KEEP=1
keeps the hosts' upper layers and logs after teardown (processes are still
killed).
"""
import argparse
import errno
import fcntl
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_CACHE = "/var/cache/steward-tests/bookworm-base"
SUITE = "bookworm"
DEFAULT_INCLUDE = ("openssh-server", "curl", "procps", "ca-certificates")
# Bump when the post-debootstrap preparation changes: the cache is rebuilt.
BASE_FORMAT = 1

SSH_START_TIMEOUT = 30.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_PATH = "/usr/local/sbin/testhost-init"


def log(msg):
    print(f"testhosts: {msg}", file=sys.stderr, flush=True)


def cache_dir_default():
    return os.environ.get("STEWARD_TESTHOSTS_CACHE") or DEFAULT_CACHE


# --------------------------------------------------------------------------
# Safe filesystem helpers


def mounts_under(path):
    """Mount points at or below path in this process' mount namespace, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = _unescape(line.split()[4])
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def unmount_under(path):
    for mp in mounts_under(path):
        if subprocess.run(["umount", mp], stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
    left = mounts_under(path)
    if left:
        raise RuntimeError(f"could not unmount {left}")


def safe_rmtree(path):
    """rm -rf that unmounts first and never crosses into another filesystem
    (an interrupted debootstrap may leave the machine's /dev or /proc
    mounted inside its target)."""
    if not os.path.lexists(path):
        return
    unmount_under(path)
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    dev = os.lstat(path).st_dev
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if st.st_dev != dev:
                raise RuntimeError(f"refusing to remove {p}: another filesystem")
            if os.path.islink(p):
                os.unlink(p)
            else:
                os.rmdir(p)
    os.rmdir(path)


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# The base


def _ensure_debootstrap():
    if shutil.which("debootstrap"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("installing debootstrap with apt-get")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"]
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr, check=True)
        subprocess.run(cmd, env=env, stdout=sys.stderr, check=True)


def _stamp_text(include):
    return f"format={BASE_FORMAT} suite={SUITE} include={','.join(include)}\n"


def apt_mirror():
    """The Debian mirror to debootstrap from: STEWARD_TESTHOSTS_MIRROR, else
    the first URI that this machine's apt uses for the main archive of
    bookworm (deb822 .sources files or one-line .list files)."""
    env = os.environ.get("STEWARD_TESTHOSTS_MIRROR")
    if env:
        return env
    import glob
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for stanza in f.read().split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if line and not line.startswith(("#", " ", "\t")) and ":" in line:
                        k, v = line.split(":", 1)
                        fields[k.strip().lower()] = v.split()
                if ("deb" in fields.get("types", []) and SUITE in fields.get("suites", [])
                        and fields.get("uris") and fields.get("enabled", ["yes"]) != ["no"]):
                    return fields["uris"][0]
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = [w for w in line.split() if not w.startswith("[")]  # drops [options]
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[1]
    raise RuntimeError(f"no apt source for {SUITE} found; set STEWARD_TESTHOSTS_MIRROR")


def base_root(cache_dir=None):
    return os.path.join(os.path.abspath(cache_dir or cache_dir_default()), "root")


def ensure_base(cache_dir=None, include=DEFAULT_INCLUDE):
    """Builds the bookworm base once; returns its root directory (CACHE/root).

    CACHE/stamp is written only after a complete build, so an interrupted
    build is redone. A lock file serializes concurrent callers.
    """
    cache_dir = os.path.abspath(cache_dir or cache_dir_default())
    root = os.path.join(cache_dir, "root")
    stamp = os.path.join(cache_dir, "stamp")
    want = _stamp_text(include)
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, "lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                if f.read() == want and os.path.isdir(root):
                    return root
        except FileNotFoundError:
            pass
        t0 = time.monotonic()
        log(f"building the {SUITE} base in {root} (debootstrap; takes minutes the first time)")
        _ensure_debootstrap()
        if os.path.exists(stamp):
            os.unlink(stamp)
        tmp = root + ".tmp"
        safe_rmtree(tmp)
        cmd = ["nice", "-n", "10", "debootstrap", "--variant=minbase",
               "--include=" + ",".join(include), SUITE, tmp, apt_mirror()]
        log("running: " + shlex.join(cmd))
        try:
            subprocess.run(cmd, stdout=sys.stderr, check=True)
        finally:
            unmount_under(tmp)  # debootstrap normally unmounts what it mounted
        _prepare_base(tmp)
        safe_rmtree(root)
        os.rename(tmp, root)
        _write(stamp, want)
        log(f"base ready in {time.monotonic() - t0:.0f} s: {root}")
        return root


def _prepare_base(root):
    """Removes what would make hosts share an identity, and the package cache."""
    with open(os.path.join(root, "etc/machine-id"), "w"):
        pass  # empty: each host writes its own at start
    for p in ("var/lib/dbus/machine-id", "etc/hostname"):
        if os.path.lexists(os.path.join(root, p)):
            os.unlink(os.path.join(root, p))
    sshdir = os.path.join(root, "etc/ssh")
    for name in os.listdir(sshdir):
        if name.startswith("ssh_host_"):
            os.unlink(os.path.join(sshdir, name))
    archives = os.path.join(root, "var/cache/apt/archives")
    for name in os.listdir(archives):
        if name.endswith(".deb"):
            os.unlink(os.path.join(archives, name))
    for must in ("usr/sbin/sshd", "bin/sh", "usr/bin/ssh-keygen", "bin/ps"):
        if not os.path.exists(os.path.join(root, must)):
            raise RuntimeError(f"base is missing /{must}")


# --------------------------------------------------------------------------
# Namespaces and processes, as seen from outside


def _ns_inode(pid, ns="pid"):
    try:
        return os.readlink(f"/proc/{pid}/ns/{ns}")
    except OSError:
        return None


def pids_in_ns(ns_link):
    """PIDs (as seen here) of every process in the PID namespace ns_link ("pid:[N]")."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit() and _ns_inode(d) == ns_link:
            pids.append(int(d))
    return pids


def mount_refs(path):
    """Mounts anywhere on the machine (any process' mount namespace) whose
    mount point or options mention path: (pid, mountinfo line)."""
    path = os.path.realpath(path)
    refs = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/mountinfo") as f:
                for line in f:
                    if path in _unescape(line):
                        refs.append((int(d), line.strip()))
        except OSError:
            pass
    return refs


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


# --------------------------------------------------------------------------
# Hosts

_INIT = r"""#!/bin/sh
# PID 1 of a Steward test host (tests/e2e/testhosts.py): starts sshd, then
# reaps every child, orphans included (`wait` blocks in waitpid(-1) while the
# keeper job lives), so daemons left by SSH sessions neither die nor become
# zombies. Signals from inside the namespace are ignored by PID 1; the
# harness ends the host with SIGKILL from outside, which kills everything in
# the namespace.
[ -s /etc/machine-id ] || tr -d - </proc/sys/kernel/random/uuid >/etc/machine-id
ssh-keygen -A
mkdir -p /run/sshd && chmod 0755 /run/sshd
/usr/sbin/sshd -E /var/log/sshd.log || echo "testhost-init: sshd failed to start" >&2
echo "testhost-init: up as $(hostname)"
exec </dev/null >/dev/null 2>&1
keeper=
while :; do
    if [ -z "$keeper" ] || ! kill -0 "$keeper" 2>/dev/null; then
        sleep 2147483647 &
        keeper=$!
    fi
    wait
done
"""


class SSHError(subprocess.CalledProcessError):
    def __str__(self):
        return f"{super().__str__()}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"


class TestHost:
    """One test host. Created by TestHosts; attributes:

    index (N, 1-based), name (hostname and ssh config Host), address
    (127.0.0.(10+N)), target ("root@ADDRESS"), dir (WORKDIR/hostN), upper
    (its overlay upper layer), init_pid (PID 1 of its namespaces, as seen
    here), root (its filesystem as seen from here: /proc/INIT_PID/root, valid
    while it runs).
    """

    __test__ = False  # not a unittest/pytest class

    def __init__(self, hosts, index, name):
        self.hosts = hosts
        self.index = index
        self.name = name
        self.address = f"127.0.0.{10 + index}"
        self.port = 22
        self.target = f"root@{self.address}"
        self.dir = os.path.join(hosts.workdir, f"host{index}")
        self.upper = os.path.join(self.dir, "upper")
        self.work = os.path.join(self.dir, "work")
        self.mnt = os.path.join(self.dir, "root")
        self.console = os.path.join(self.dir, "console.log")
        self.proc = None
        self.init_pid = None
        self.pid_ns = None

    def __repr__(self):
        return f"<TestHost {self.name} {self.address} init={self.init_pid}>"

    @property
    def root(self):
        return f"/proc/{self.init_pid}/root" if self.init_pid else None

    def ssh_argv(self, cmd=None):
        argv = ["ssh", "-F", self.hosts.ssh_config, self.name]
        if cmd is not None:
            argv += ["--", cmd if isinstance(cmd, str) else shlex.join(cmd)]
        return argv

    def ssh(self, cmd, check=True, input=None, timeout=120, text=True):
        """Runs cmd (a shell string, or an argv list that is quoted) on the host
        over real ssh; returns the CompletedProcess (stdout/stderr captured)."""
        p = subprocess.run(self.ssh_argv(cmd), input=input, capture_output=True,
                           timeout=timeout, text=text,
                           stdin=subprocess.DEVNULL if input is None else None)
        if check and p.returncode != 0:
            raise SSHError(p.returncode, p.args, p.stdout, p.stderr)
        return p

    def pids(self):
        """PIDs (as seen here) of the processes in this host's PID namespace."""
        return pids_in_ns(self.pid_ns) if self.pid_ns else []

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- internals ---------------------------------------------------------

    def _prepare(self, base):
        for d in (self.upper, self.work, self.mnt):
            os.makedirs(d, exist_ok=True)
        sshd_conf = (
            "# Steward test host (tests/e2e/testhosts.py)\n"
            f"ListenAddress {self.address}:{self.port}\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "UseDNS no\n"
            "PidFile /run/sshd.pid\n")
        hosts_file = (f"127.0.0.1\tlocalhost\n{self.address}\t{self.name}\n"
                      "::1\tlocalhost ip6-localhost ip6-loopback\n")
        files = {
            "etc/ssh/sshd_config.d/testhost.conf": (sshd_conf, 0o644),
            "root/.ssh/authorized_keys": (self.hosts.public_key, 0o600),
            "etc/hostname": (self.name + "\n", 0o644),
            "etc/hosts": (hosts_file, 0o644),
            INIT_PATH.lstrip("/"): (_INIT, 0o755),
        }
        for rel, (data, mode) in files.items():
            _mkdirs_like(base, self.upper, os.path.dirname(rel))
            _write(os.path.join(self.upper, rel), data, mode)

    def _setup_script(self, base):
        q = shlex.quote
        m = self.mnt
        lines = [
            "set -e",
            f"mount -t overlay overlay -o lowerdir={base},upperdir={self.upper},workdir={self.work} {q(m)}",
            f"echo {q(self.name)} >/proc/sys/kernel/hostname",
            f"mount -t proc -o nosuid,nodev,noexec proc {q(m)}/proc",
            f"mount -t sysfs -o ro,nosuid,nodev,noexec sysfs {q(m)}/sys",
            f"mount -t tmpfs -o nosuid,noexec,mode=755,size=1m tmpfs {q(m)}/dev",
            f"for d in null zero full random urandom tty; do : >{q(m)}/dev/$d; mount --bind /dev/$d {q(m)}/dev/$d; done",
            f"mkdir {q(m)}/dev/pts {q(m)}/dev/shm",
            f"mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts {q(m)}/dev/pts",
            f"ln -s pts/ptmx {q(m)}/dev/ptmx",
            f"ln -s /proc/self/fd {q(m)}/dev/fd",
            f"ln -s /proc/self/fd/0 {q(m)}/dev/stdin",
            f"ln -s /proc/self/fd/1 {q(m)}/dev/stdout",
            f"ln -s /proc/self/fd/2 {q(m)}/dev/stderr",
            f"mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs {q(m)}/dev/shm",
            f"mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs {q(m)}/run",
            f"mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs {q(m)}/tmp",
            f"exec chroot {q(m)} /bin/sh {INIT_PATH}",
        ]
        return "\n".join(lines) + "\n"

    def _start(self, base):
        self._prepare(base)
        # setpriv --pdeathsig: unshare dies with this Python process (even on
        # SIGKILL), and unshare --kill-child then SIGKILLs the namespace's PID 1.
        argv = ["setpriv", "--pdeathsig", "KILL", "--",
                "unshare", "--mount", "--uts", "--pid", "--fork", "--propagation", "private",
                "--kill-child=SIGKILL", "--", "/bin/sh", "-c", self._setup_script(base)]
        env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
        with open(self.console, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=env, cwd="/",
                                         start_new_session=True)
        # PID 1 of the namespaces is unshare's child (setpriv execs unshare).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = _children(self.proc.pid)
            if kids:
                self.init_pid = kids[0]
                self.pid_ns = _ns_inode(self.init_pid)
                if self.pid_ns and self.pid_ns != _ns_inode("self"):
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError(f"{self.name}: the namespace did not start\n{self.console_text()}")

    def console_text(self):
        parts = []
        for label, path in (("console", self.console),
                            ("sshd log", os.path.join(self.upper, "var/log/sshd.log"))):
            try:
                with open(path, errors="replace") as f:
                    parts.append(f"--- {self.name} {label} ---\n{f.read()[-4000:]}")
            except OSError:
                pass
        return "\n".join(parts)

    def _ssh_ready(self):
        try:
            with socket.create_connection((self.address, self.port), timeout=1):
                pass
        except OSError:
            return False
        try:
            return self.ssh("true", check=False, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _kill(self, timeout=10):
        if self.init_pid and self.pid_ns and _ns_inode(self.init_pid) == self.pid_ns:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while self.pid_ns and pids_in_ns(self.pid_ns):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: processes left: {pids_in_ns(self.pid_ns)}")
            time.sleep(0.05)


def _mkdirs_like(lower, upper, rel):
    """Creates upper/rel with the mode and owner of lower/rel, parent by parent
    (a directory in the upper layer replaces the lower one's attributes)."""
    cur = ""
    for part in [p for p in rel.split("/") if p]:
        cur = os.path.join(cur, part)
        u = os.path.join(upper, cur)
        if os.path.isdir(u):
            continue
        try:
            st = os.stat(os.path.join(lower, cur))
            mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
        except FileNotFoundError:
            mode, uid, gid = (0o700 if cur.endswith(".ssh") else 0o755), 0, 0
        os.mkdir(u)
        os.chown(u, uid, gid)
        os.chmod(u, mode)


class TestHosts:
    """count test hosts under workdir; a context manager (start()/stop() also).

    TestHosts(count, workdir=None, base=None, first=1, names=None, keep=None)
      workdir: where the key, ssh_config and hostN/ go (default: a new
        temporary directory, removed at the end);
      base: the base root (default: ensure_base() with the default cache);
      first: number of the first host (hosts are first..first+count-1, at
        127.0.0.(10+N)); give separate ranges to harnesses that run at once;
      names: hostnames (default testhost-N);
      keep: keep upper layers and logs after stop (default: env
        STEWARD_TESTHOSTS_KEEP=1).
    Attributes: hosts (list of TestHost; also hosts[i], iteration, len),
    workdir, ssh_config, identity (private key path), public_key.
    """

    __test__ = False

    def __init__(self, count, workdir=None, base=None, first=1, names=None, keep=None):
        if count < 1 or first < 1 or first + count - 1 > 240:
            raise ValueError("host numbers must lie in 1..240")
        if names is not None and len(names) != count:
            raise ValueError("names: one per host")
        self.count = count
        self._own_workdir = workdir is None
        self.workdir = os.path.abspath(workdir) if workdir else None
        self.base = base
        self.first = first
        self.names = list(names) if names else [f"testhost-{first + i}" for i in range(count)]
        self.keep = keep if keep is not None else os.environ.get("STEWARD_TESTHOSTS_KEEP") == "1"
        self.hosts = []
        self.ssh_config = None
        self.identity = None
        self.public_key = None
        self._started = False
        self._stopping = False
        self._old_handlers = {}

    def __len__(self):
        return len(self.hosts)

    def __iter__(self):
        return iter(self.hosts)

    def __getitem__(self, i):
        return self.hosts[i]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self._install_signal_handlers()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        base = os.path.abspath(self.base or ensure_base())
        for ch in ",:":
            if ch in base or (self.workdir and ch in self.workdir):
                raise ValueError(f"paths for overlayfs may not contain {ch!r}")
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="testhosts-")
        os.makedirs(self.workdir, exist_ok=True)
        cleanup(self.workdir)  # what a killed earlier run left
        self._started = True  # from here on, stop() has things to remove
        self.identity = os.path.join(self.workdir, "id_ed25519")
        for p in (self.identity, self.identity + ".pub"):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "steward-testhosts",
                        "-f", self.identity], check=True)
        with open(self.identity + ".pub") as f:
            self.public_key = f.read()
        self.hosts = [TestHost(self, self.first + i, self.names[i]) for i in range(self.count)]
        for h in self.hosts:
            if _port_taken(h.address, h.port):
                raise RuntimeError(f"{h.address}:{h.port} is already in use (another TestHosts? use first=)")
        self.ssh_config = os.path.join(self.workdir, "ssh_config")
        _write(self.ssh_config, self.ssh_config_text())
        t0 = time.monotonic()
        for h in self.hosts:
            h._start(base)
        pending = list(self.hosts)
        deadline = time.monotonic() + SSH_START_TIMEOUT
        while pending:
            for h in list(pending):
                if not h.running():
                    raise RuntimeError(f"{h.name} stopped while starting\n{h.console_text()}")
                if h._ssh_ready():
                    pending.remove(h)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"sshd of {[h.name for h in pending]} not reachable within "
                                   f"{SSH_START_TIMEOUT:.0f} s\n"
                                   + "\n".join(h.console_text() for h in pending))
            if pending:
                time.sleep(0.2)
        self.start_seconds = time.monotonic() - t0

    def stop(self):
        """Kills every host (SIGKILL to each PID 1 ends its whole namespace),
        waits until none of their processes is left, and removes the upper
        layers (unless keep). Safe to call twice."""
        self._stopping = True
        errors = []
        try:
            for h in self.hosts:
                try:
                    h._kill()
                except Exception as e:  # noqa: BLE001 - go on with the others
                    errors.append(e)
            if self.workdir and self._started:
                # The namespaces' mounts go with their last process; wait for it.
                deadline = time.monotonic() + 10
                while mount_refs(self.workdir) and time.monotonic() < deadline:
                    time.sleep(0.05)
                refs = mount_refs(self.workdir)
                if refs:
                    errors.append(RuntimeError(f"{len(refs)} mounts left under {self.workdir} "
                                               f"(held by PIDs {sorted({p for p, _ in refs})}): "
                                               f"{[line for _, line in refs[:3]]}"))
                elif not self.keep:
                    for h in self.hosts:
                        safe_rmtree(h.dir)
                    if self._own_workdir:
                        safe_rmtree(self.workdir)
                    else:
                        for name in ("ssh_config", "id_ed25519", "id_ed25519.pub", "inventory.ini"):
                            p = os.path.join(self.workdir, name)
                            if os.path.exists(p):
                                os.unlink(p)
            self._started = False
        finally:
            self._restore_signal_handlers()
            self._stopping = False
        if errors:
            raise errors[0]

    # -- ssh config and inventories -------------------------------------------

    def ssh_config_text(self):
        out = ["# Steward test hosts (tests/e2e/testhosts.py); use: ssh -F THIS testhost-N"]
        for h in self.hosts:
            out += [f"Host {h.name} {h.address}",
                    f"    HostName {h.address}",
                    f"    Port {h.port}",
                    "    User root",
                    f"    IdentityFile \"{self.identity}\"",
                    "    IdentitiesOnly yes",
                    "    UserKnownHostsFile /dev/null",
                    "    GlobalKnownHostsFile /dev/null",
                    "    StrictHostKeyChecking no",
                    "    PasswordAuthentication no",
                    "    LogLevel ERROR",
                    "    BatchMode yes",
                    "    ConnectTimeout 10",
                    ""]
        return "\n".join(out)

    def inventory_lines(self):
        """["root@127.0.0.11", ...], one per host."""
        return [h.target for h in self.hosts]

    def ansible_inventory_text(self):
        lines = ["[testhosts]"]
        for h in self.hosts:
            lines.append(f"{h.name} ansible_host={h.address} ansible_user=root "
                         f"ansible_ssh_private_key_file={self.identity} "
                         "ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null "
                         "-o StrictHostKeyChecking=no'")
        return "\n".join(lines) + "\n"

    def write_ansible_inventory(self, path):
        _write(path, self.ansible_inventory_text())
        return path

    # -- signals -----------------------------------------------------------------

    def _install_signal_handlers(self):
        """SIGTERM, SIGHUP and SIGINT tear the hosts down at once, then raise
        SystemExit(128+N) (KeyboardInterrupt for SIGINT), so the hosts go even
        where the exception does not reach an __exit__ (unittest skips
        tearDownClass on KeyboardInterrupt). Main thread only; elsewhere (and
        on SIGKILL) the setpriv/unshare pdeathsig chain still kills the
        namespaces when this process dies, and the next start or `down`
        removes the upper layers."""
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, frame):
            if self._stopping:
                return  # a second signal: let the teardown finish
            log(f"signal {signum}: stopping the test hosts")
            self.stop()
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            self._old_handlers[sig] = signal.signal(sig, handler)

    def _restore_signal_handlers(self):
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers = {}


def _port_taken(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as sshd: ignore TIME_WAIT
    try:
        s.bind((addr, port))
        return False
    except OSError as e:
        return e.errno == errno.EADDRINUSE
    finally:
        s.close()


def cleanup(workdir):
    """Kills and removes what an earlier run under workdir left (its Python
    process SIGKILLed before teardown): processes chrooted into
    workdir/hostN/root, then the hostN directories."""
    workdir = os.path.realpath(workdir)
    if not os.path.isdir(workdir):
        return
    hostdirs = [os.path.join(workdir, d) for d in os.listdir(workdir)
                if d.startswith("host") and d[4:].isdigit()]
    if not hostdirs:
        return
    roots = tuple(os.path.join(d, "root") for d in hostdirs)
    victims = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                r = os.readlink(f"/proc/{d}/root")
            except OSError:
                continue
            if r in roots or r.startswith(tuple(x + "/" for x in roots)):
                victims.append(int(d))
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while mount_refs(workdir) and time.monotonic() < deadline:
        time.sleep(0.05)
    if mount_refs(workdir):
        raise RuntimeError(f"mounts under {workdir} still in use: {mount_refs(workdir)}")
    for d in hostdirs:
        safe_rmtree(d)


# --------------------------------------------------------------------------
# CLI


def main(argv=None):
    ap = argparse.ArgumentParser(description="Steward test hosts (Debian 12 in namespaces, over SSH)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("base", help="build the cached bookworm base")
    b.add_argument("--cache", default=None, help=f"cache dir (default {DEFAULT_CACHE} or $STEWARD_TESTHOSTS_CACHE)")
    u = sub.add_parser("up", help="start hosts, stay in the foreground until Ctrl-C/SIGTERM")
    u.add_argument("--count", type=int, default=3)
    u.add_argument("--workdir", required=True)
    u.add_argument("--first", type=int, default=1, help="number of the first host (default 1)")
    u.add_argument("--cache", default=None)
    d = sub.add_parser("down", help="kill and remove what a killed 'up' left under --workdir")
    d.add_argument("--workdir", required=True)
    args = ap.parse_args(argv)

    if os.geteuid() != 0:
        print("testhosts: must run as root", file=sys.stderr)
        return 2
    if args.cmd == "base":
        print(ensure_base(args.cache))
        return 0
    if args.cmd == "down":
        cleanup(args.workdir)
        return 0
    base = ensure_base(args.cache)
    hosts = TestHosts(args.count, args.workdir, base=base, first=args.first)
    try:
        with hosts:
            inv = hosts.write_ansible_inventory(os.path.join(hosts.workdir, "inventory.ini"))
            print(f"ssh config: {hosts.ssh_config}")
            print(f"ansible inventory: {inv}")
            for h, line in zip(hosts, hosts.inventory_lines()):
                print(f"{line}\t{h.name}\tssh -F {hosts.ssh_config} {h.name}")
            print(f"ready ({hosts.start_seconds:.1f} s); Ctrl-C or SIGTERM to stop", flush=True)
            while True:
                signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
