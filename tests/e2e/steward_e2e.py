"""Helpers for Steward's end-to-end tests: real processes on loopback.

Binaries come from the environment (set by ctest): STEWARD_COLLECTOR,
STEWARD_AGENT, STEWARDCTL.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

COLLECTOR = os.environ.get("STEWARD_COLLECTOR", "")
AGENT = os.environ.get("STEWARD_AGENT", "")
CTL = os.environ.get("STEWARDCTL", "")


def wait_for(what, fn, timeout=30.0, interval=0.2):
    """Polls fn() until it returns a truthy value; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last result: {last!r}")


def read(path):
    with open(path) as f:
        return f.read()


def installed_packages():
    """(name, version, arch) of every installed package, as dpkg-query sees it."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\n"],
        check=True, capture_output=True, text=True).stdout
    pkgs = set()
    for line in out.splitlines():
        state, name, version, arch = line.split("\t")
        if state == "installed":
            pkgs.add((name, version, arch))
    return pkgs


class Proc:
    """A background process with its log in a file."""

    def __init__(self, argv, log_path, preexec_fn=None, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn, env=env)

    def stop(self, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise AssertionError(f"{self.argv[0]} did not exit within {timeout}s of SIGTERM")
        self.log.close()
        return self.p.returncode

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")



def no_system_config(extra):
    """`--config /dev/null` unless the test gives its own: the binaries read
    /etc/steward/*.conf by default, and a machine with the packages installed
    must not change what a test runs."""
    return [] if "--config" in extra else ["--config", "/dev/null"]


class Cluster:
    """A collector in a temporary directory plus any number of agents."""

    def __init__(self, wrap=()):
        """wrap: a command prefix for the collector and stewardctl (e.g.
        `ip netns exec NS` to run them in a network namespace)."""
        self.wrap = list(wrap)
        for b in (COLLECTOR, AGENT, CTL):
            if not b or not os.access(b, os.X_OK):
                raise RuntimeError("STEWARD_COLLECTOR, STEWARD_AGENT and STEWARDCTL must name the built binaries")
        self.tmp = tempfile.mkdtemp(prefix="steward-e2e-")
        self.data = os.path.join(self.tmp, "data")
        self.admin = os.path.join(self.data, "admin.conf")
        self.procs = []
        self.address = None

    def start_collector(self, listen="127.0.0.1:0", *extra, preexec_fn=None):
        if os.path.exists(self.admin):
            os.unlink(self.admin)
        # The install endpoints on a free port of their own: listen port + 1
        # (the default) may be taken when a test restarts on a fixed port.
        http = [] if any(str(e).startswith("--http-listen") for e in extra) else ["--http-listen", "127.0.0.1:0"]
        p = Proc([*self.wrap, COLLECTOR, "--data-dir", self.data, "--listen", listen, *http, *no_system_config(extra), *extra],
                 os.path.join(self.tmp, "collector.log"), preexec_fn=preexec_fn)
        self.procs.append(p)
        wait_for("admin.conf", lambda: os.path.exists(self.admin) or p.p.poll() is not None, 30)
        if p.p.poll() is not None:
            raise AssertionError("collector exited at start:\n" + p.output())
        with open(self.admin) as f:
            self.address = re.search(r"^collector = (\S+)$", f.read(), re.M).group(1)
        return p

    def start_agent(self, state, *extra, interval="1s", env=None, wrap=()):
        """env: extra environment variables for the agent process; wrap: a
        command prefix."""
        p = Proc([*wrap, AGENT, "--collector", self.address, "--ca-file", os.path.join(self.data, "ca.pem"),
                  "--state-dir", state, "--interval", interval, *no_system_config(extra), *extra],
                 os.path.join(self.tmp, f"agent-{len(self.procs)}.log"),
                 env=None if env is None else {**os.environ, **env})
        self.procs.append(p)
        return p

    @staticmethod
    def read_log(proc):
        return proc.output()

    def ctl(self, *args, env_config=False):
        argv = [*self.wrap, CTL] + ([] if env_config else ["--config", self.admin]) + list(args)
        env = dict(os.environ)
        env.pop("STEWARD_CONFIG", None)
        if env_config:
            env["STEWARD_CONFIG"] = self.admin
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)

    def ctl_ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        if r.returncode != 0:
            raise AssertionError(f"stewardctl {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r.stdout

    def ctl_json(self, *args, **kw):
        return json.loads(self.ctl_ok(*args, "--json", **kw))

    def close(self):
        for p in self.procs:
            try:
                p.stop()
            except AssertionError:
                pass
        if os.environ.get("STEWARD_E2E_KEEP"):
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
