#!/usr/bin/env python3
"""The binaries under a service manager: sd_notify without systemd.

A Python AF_UNIX datagram socket plays systemd's notify socket
($NOTIFY_SOCKET). The collector says READY=1 once it listens and
STOPPING=1 on SIGTERM; the agent says READY=1 at start (not waiting for the
collector), its session state in STATUS=, pets the watchdog every
WATCHDOG_USEC/2 between collection cycles, and says STOPPING=1 on SIGTERM.
A watchdog meant for another process (WATCHDOG_PID) is not petted.
"""
import os
import re
import socket
import time
import unittest

from steward_e2e import COLLECTOR, Cluster, Proc, wait_for


class Manager:
    """The manager's end of $NOTIFY_SOCKET: every datagram, with its time."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time, text)

    def drain(self):
        while True:
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except socket.timeout:
                return [m for _, m in self.messages]

    def listen(self, seconds):
        """Receives for `seconds`; the messages' times are when they came."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.drain()
        return [m for _, m in self.messages]

    def wait(self, what, pattern, timeout=30):
        return wait_for(what, lambda: [m for m in self.drain() if re.search(pattern, m)], timeout)

    def close(self):
        self.sock.close()


class ServiceNotify(unittest.TestCase):
    def setUp(self):
        self.c = Cluster()

    def tearDown(self):
        self.c.close()

    def start_collector(self, manager):
        env = {**os.environ, "NOTIFY_SOCKET": manager.path}
        p = Proc([COLLECTOR, "--config", "/dev/null", "--data-dir", self.c.data, "--listen", "127.0.0.1:0"],
                 os.path.join(self.c.tmp, "collector.log"), env=env)
        self.c.procs.append(p)
        wait_for("admin.conf", lambda: os.path.exists(self.c.admin) or p.p.poll() is not None)
        with open(self.c.admin) as f:
            self.c.address = re.search(r"^collector = (\S+)$", f.read(), re.M).group(1)
        return p

    def test_collector_and_agent_tell_the_manager(self):
        collector_manager = Manager(os.path.join(self.c.tmp, "collector.notify"))
        agent_manager = Manager(os.path.join(self.c.tmp, "agent.notify"))
        collector = self.start_collector(collector_manager)
        collector_manager.wait("the collector's READY=1", r"^READY=1$")
        self.assertIn("STATUS=listening on 127.0.0.1:0, data in " + self.c.data, collector_manager.drain())

        token = self.c.ctl_ok("token", "create").strip()
        # A long interval: the pets must come from the wait between cycles.
        agent = self.c.start_agent(os.path.join(self.c.tmp, "state"), "--enroll-token", token, interval="30s",
                                   env={"NOTIFY_SOCKET": agent_manager.path, "WATCHDOG_USEC": "1000000"})
        agent_manager.wait("the agent's READY=1", r"^READY=1$")
        agent_manager.wait("the agent's session state", r"^STATUS=connected to 127\.0\.0\.1:\d+ as agent \S+$")
        agent_manager.drain()
        start = time.monotonic()
        agent_manager.listen(3)
        pets = [t for t, m in agent_manager.messages if m == "WATCHDOG=1" and t >= start]
        # Every 0.5 s (WATCHDOG_USEC / 2): about six in three seconds.
        self.assertGreaterEqual(len(pets), 4, agent_manager.messages)
        gaps = [b - a for a, b in zip(pets, pets[1:])]
        self.assertLess(max(gaps), 0.9, gaps)

        # The collector goes away: the agent says so, and keeps petting.
        self.assertEqual(collector.stop(), 0)
        collector_manager.wait("the collector's STOPPING=1", r"^STOPPING=1$")
        agent_manager.wait("the agent's reconnecting state", r"^STATUS=reconnecting to 127\.0\.0\.1:\d+ in ")
        before = len([m for m in agent_manager.drain() if m == "WATCHDOG=1"])
        self.assertGreater(len([m for m in agent_manager.listen(1.5) if m == "WATCHDOG=1"]), before)

        self.assertEqual(agent.stop(), 0)
        agent_manager.wait("the agent's STOPPING=1", r"^STOPPING=1$")
        self.assertIn("READY=1", [m for _, m in agent_manager.messages][:2])
        collector_manager.close()
        agent_manager.close()

    def test_a_watchdog_for_another_process_is_not_petted(self):
        manager = Manager(os.path.join(self.c.tmp, "notify"))
        collector_manager = Manager(os.path.join(self.c.tmp, "collector.notify"))
        self.start_collector(collector_manager)
        token = self.c.ctl_ok("token", "create").strip()
        agent = self.c.start_agent(os.path.join(self.c.tmp, "state"), "--enroll-token", token, interval="30s",
                                   env={"NOTIFY_SOCKET": manager.path, "WATCHDOG_USEC": "200000",
                                        "WATCHDOG_PID": "1"})
        manager.wait("READY=1", r"^READY=1$")
        self.assertNotIn("WATCHDOG=1", manager.listen(1))
        self.assertEqual(agent.stop(), 0)
        manager.close()
        collector_manager.close()


if __name__ == "__main__":
    unittest.main()
