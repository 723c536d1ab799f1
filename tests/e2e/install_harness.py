"""What the test-host tests share (install_test.py, self_update_test.py,
ansible_test.py): the build tree's binaries, the packaged agent, and a
collector serving the agent install endpoints (docs/install.md).

Environment: STEWARD_BUILD (default build/), STEWARD_AGENT_DEBS or
STEWARD_DEBS (a directory holding steward-agent_*_amd64.deb; default dist/,
built with deploy/package.sh when it holds none).
"""
import glob
import os
import shutil
import signal
import subprocess

from steward_e2e import Proc, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("STEWARD_BUILD", os.path.join(ROOT, "build"))
COLLECTOR = os.path.join(BUILD, "collector/steward-collector")
CTL = os.path.join(BUILD, "collector/ctl/stewardctl")


def check_built():
    for b in (COLLECTOR, CTL):
        if not os.access(b, os.X_OK):
            raise RuntimeError(f"{b} is not built: run deploy/build.sh (or set STEWARD_BUILD)")


def agent_debs(pattern="steward-agent_*_amd64.deb"):
    """The agent package(s) matching `pattern`, oldest version first."""
    given = os.environ.get("STEWARD_AGENT_DEBS") or os.environ.get("STEWARD_DEBS")
    if given:
        debs = sorted(glob.glob(os.path.join(given, pattern)))
        if not debs:
            raise RuntimeError(f"{given} holds no {pattern}")
        return debs
    debs = sorted(glob.glob(os.path.join(ROOT, "dist", pattern)))
    if not debs:
        r = subprocess.run([os.path.join(ROOT, "deploy/package.sh")], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"deploy/package.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        debs = sorted(glob.glob(os.path.join(ROOT, "dist", pattern)))
    return debs


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, however
    it dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


class InstallCollector:
    """The build tree's collector in TMP/data, on free loopback ports, serving
    `debs` from TMP/agent-packages."""

    def __init__(self, tmp, debs):
        check_built()
        self.packages = os.path.join(tmp, "agent-packages")
        os.makedirs(self.packages, exist_ok=True)
        for deb in debs:
            shutil.copy(deb, self.packages)
        self.data = os.path.join(tmp, "data")
        self.conf = os.path.join(self.data, "admin.conf")
        self.log = os.path.join(tmp, "collector.log")
        self.proc = Proc([COLLECTOR, "--config", "/dev/null", "--data-dir", self.data, "--listen", "127.0.0.1:0",
                          "--http-listen", "127.0.0.1:0", "--agent-packages", self.packages],
                         self.log, preexec_fn=die_with_parent)
        wait_for("admin.conf", lambda: os.path.exists(self.conf) or self.proc.p.poll() is not None, 30)
        if self.proc.p.poll() is not None:
            raise RuntimeError("the collector exited at start:\n" + self.proc.output())
        wait_for("the install endpoints", lambda: "agent install endpoints on https://" in self.proc.output(), 30)

    def ctl(self, *args, check=True, timeout=600):
        """stewardctl ARGS against this collector."""
        r = subprocess.run([CTL, "--config", self.conf, *args], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"stewardctl {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def output(self):
        return self.proc.output()

    def stop(self):
        self.proc.stop()
