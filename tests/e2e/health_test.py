#!/usr/bin/env python3
"""End-to-end application checks: a running, a stopped and a crashing
service, checked by a real agent and read back through `stewardctl health`.

The running service is a real HTTP server (python3 -m http.server) on
127.0.0.1; the crashing one is a supervisor loop whose child keeps exiting
with status 3; the stopped one does not run at all. Checks come both from
the agent's config file and pushed by the collector by label.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

from steward_e2e import Cluster, wait_for


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Health(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.port = free_port()
        cls.web = subprocess.Popen([sys.executable, "-m", "http.server", str(cls.port), "--bind", "127.0.0.1"],
                                   cwd=cls.c.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.marker = f"steward-e2e-crashloop-{os.getpid()}"
        cls.crashy = subprocess.Popen(
            ["bash", "-c", f"while true; do {sys.executable} -c 'import time,sys; time.sleep(0.7); sys.exit(3)' "
                           f"{cls.marker}; done"], start_new_session=True)
        cls.sleeper_arg = f"3600.{os.getpid()}"
        cls.sleeper = subprocess.Popen(["sleep", cls.sleeper_arg])
        cls.coredumps = os.path.join(cls.c.tmp, "coredump")
        os.mkdir(cls.coredumps)
        wait_for("the web server", lambda: socket.create_connection(("127.0.0.1", cls.port), 1).close() or True)
        conf = os.path.join(cls.c.tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(f"""# checks of the e2e services
coredump_dir = {cls.coredumps}
check.sleeper.type = process
check.sleeper.cmdline = sleep {cls.sleeper_arg}
check.web.type = http
check.web.url = http://127.0.0.1:{cls.port}/
check.web.timeout = 2s
check.webproc.type = process
check.webproc.cmdline = http.server {cls.port}
check.stopped.type = process
check.stopped.cmdline = steward-e2e-never-started-{os.getpid()}
check.crashy.type = process
check.crashy.cmdline = {cls.marker}
""")
        cls.c.start_collector()
        token = cls.c.ctl_ok("token", "create", "--label", "env=e2e").strip()
        cls.agent = cls.c.start_agent(os.path.join(cls.c.tmp, "agent"), "--enroll-token", token, "--config", conf)
        cls.id = wait_for("enrollment", lambda: [h["agent_id"] for h in cls.c.ctl_json("hosts") if h["connected"]])[0]

    @classmethod
    def tearDownClass(cls):
        for p in (cls.web, cls.sleeper):
            if p.poll() is None:
                p.terminate()
                p.wait()
        os.killpg(cls.crashy.pid, signal.SIGKILL)
        cls.crashy.wait()
        cls.c.close()

    def states(self):
        return {s["check"]: s for s in self.c.ctl_json("health", "--host", self.id)}

    def wait_state(self, check, status, reason_part="", timeout=30):
        def ok():
            s = self.states().get(check)
            return s if s and s["status"] == status and reason_part in s["reason"] else None
        try:
            return wait_for(f"check {check} to be {status}", ok, timeout)
        except AssertionError:
            raise AssertionError(f"check {check} not {status} ({reason_part!r}): {self.states().get(check)}")

    def test_1_running_stopped_and_crashing(self):
        web = self.wait_state("web", "ok")
        self.assertEqual((web["type"], web["origin"], web["reason"]), ("http", "config", ""))
        self.wait_state("webproc", "ok")
        self.wait_state("stopped", "down", "no process matches cmdline")
        crashy = self.wait_state("crashy", "degraded", "exited in the last 10m")
        self.assertEqual(crashy["type"], "process")
        # Their metrics reach the collector too.
        up = self.c.ctl_json("metrics", "--host", self.id, "--metric", "app_check_up", "--label", "check=stopped")
        self.assertEqual(up[0]["points"][-1][1], 0)
        exits = self.c.ctl_json("metrics", "--host", self.id, "--metric", "app_process_exits_total",
                                "--label", "check=crashy")
        self.assertGreaterEqual(exits[0]["points"][-1][1], 1)
        latency = self.c.ctl_json("metrics", "--host", self.id, "--metric", "app_check_latency_seconds",
                                  "--label", "check=web")
        self.assertGreater(latency[0]["points"][-1][1], 0)
        self.assertIn("crashy", self.c.ctl_ok("health"))

    def test_2_pushed_checks_follow_labels(self):
        r = self.c.ctl_json("checks", "set", "pushed-tcp", "--type", "tcp",
                            "--param", f"address=127.0.0.1:{self.port}", "--label", "env=e2e")
        self.assertEqual(r["pushed_to"], 1)
        self.c.ctl_ok("checks", "set", "other-env", "--type", "tcp", "--param", "address=127.0.0.1:1",
                      "--label", "env=prod")
        pushed = self.wait_state("pushed-tcp", "ok")
        self.assertEqual(pushed["origin"], "collector")
        time.sleep(2.5)
        self.assertNotIn("other-env", self.states(), "a check for another label must not apply")
        listed = {c["name"]: c for c in self.c.ctl_json("checks", "list")}
        self.assertEqual(listed["pushed-tcp"]["selector"], {"env": "e2e"})
        # Bad checks are refused with the reason; removing one removes its state.
        bad = self.c.ctl("checks", "set", "bad", "--type", "tcp", "--param", "address=nohostport")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("address", bad.stderr)
        self.c.ctl_ok("checks", "rm", "pushed-tcp")
        wait_for("the removed check to disappear", lambda: "pushed-tcp" not in self.states(), 30)

    def test_3_service_stops(self):
        self.wait_state("web", "ok")
        self.web.terminate()
        self.web.wait()
        web = self.wait_state("web", "down", "refused")
        self.assertEqual(web["type"], "http")
        self.wait_state("webproc", "down", "no process matches")

    def test_4_core_dump_while_running(self):
        """A crash that left the service running (a worker pool, a supervisor
        faster than the interval): only systemd-coredump's file tells."""
        self.wait_state("sleeper", "ok")
        usec = int(time.time() * 1e6)
        # The name systemd-coredump gives it: core.COMM.UID.BOOT_ID.PID.USEC.zst
        name = f"core.sleep.{os.getuid()}.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c.{self.sleeper.pid}.{usec}.zst"
        with open(os.path.join(self.coredumps, name), "wb") as f:
            f.write(b"\x7fELF")
        s = self.wait_state("sleeper", "degraded", "'sleep' dumped core 1 time in the last 10m")
        self.assertIn(f"pid {self.sleeper.pid}", s["reason"])
        wait_for("app_coredumps_total to count it", lambda: self.c.ctl_json(
            "metrics", "--host", self.id, "--metric", "app_coredumps_total",
            "--label", "check=sleeper")[0]["points"][-1][1] == 1, 30)


if __name__ == "__main__":
    unittest.main()
