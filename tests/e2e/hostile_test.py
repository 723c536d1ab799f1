#!/usr/bin/env python3
"""End-to-end hostile input (issue 16): a real collector started with the
default file limit (1,024 descriptors, soft and hard), a flood of idle TCP
connections that never start TLS, and a real agent whose host holds text
that is not UTF-8.

IdleConnections: 2,000 idle connections from four source addresses are held
for a while, then released; the collector must have refused what was over
its caps (not run out of descriptors) and a real agent must enroll and
connect within seconds after.

Latin1Maintainer: one non-UTF-8 byte in a dpkg Maintainer: (and a terminal
escape in a Description) used to make the agent's outbox drop the whole
inventory snapshot without a word; the inventory must arrive, with the bad
bytes replaced by U+FFFD, and the agent must say what it replaced.
"""
import os
import resource
import socket
import time
import unittest

from steward_e2e import Cluster, wait_for

FILE_LIMIT = 1024


def limit_files():
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


class IdleConnections(unittest.TestCase):
    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # This test's own 2,000 sockets need descriptors of its own.
        self.assertGreaterEqual(hard, 2200, "the test needs a hard file limit of at least 2200")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.c = Cluster()
        self.collector = self.c.start_collector(preexec_fn=limit_files)
        self.port = int(self.c.address.rsplit(":", 1)[1])

    def tearDown(self):
        self.c.close()

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.collector.p.pid}/fd"))

    def test_idle_connections_are_capped_and_the_collector_recovers(self):
        log = self.c.read_log(self.collector)
        self.assertIn(f"file descriptor limit: {FILE_LIMIT}", log)
        self.assertIn(f"accepting at most {FILE_LIMIT - 256} connections", log)

        held = []
        for i in range(2000):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((f"127.0.0.{1 + i % 4}", 0))
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            held.append(s)
        # The collector admits up to its cap and closes the rest; it never
        # reaches its descriptor limit.
        refused = wait_for("refusal summary in the collector log",
                           lambda: "connections refused since the last report" in self.c.read_log(self.collector),
                           timeout=15)
        self.assertTrue(refused)
        peak = max(self.open_fds() for _ in range(20) if time.sleep(0.05) is None)
        self.assertLess(peak, FILE_LIMIT, "the collector ran up to its file limit")
        self.assertIsNone(self.collector.p.poll(), "collector died under the flood")
        time.sleep(2)
        for s in held:
            s.close()
        released = time.monotonic()

        # A real agent enrolls and connects within seconds of the release.
        token = wait_for("a token once the admin can connect again",
                         lambda: self.c.ctl("token", "create").stdout.strip(), timeout=15)
        self.c.start_agent(os.path.join(self.c.tmp, "agent"), "--enroll-token", token)
        wait_for("the agent connected",
                 lambda: [h for h in self.c.ctl_json("hosts") if h["connected"]], timeout=20)
        took = time.monotonic() - released
        print(f"\nagent connected {took:.1f} s after the idle connections were released", flush=True)
        self.assertLess(took, 20)
        self.assertNotIn("Too many open files", self.c.read_log(self.collector))


class Latin1Maintainer(unittest.TestCase):
    def setUp(self):
        self.c = Cluster()
        self.c.start_collector()

    def tearDown(self):
        self.c.close()

    def test_inventory_arrives_with_bad_bytes_replaced(self):
        status = os.path.join(self.c.tmp, "status")
        stanzas = [
            b"Package: honest\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n"
            b"Maintainer: Ann Example <ann@example.org>\n",
            b"Package: latin1\nStatus: install ok installed\nVersion: 2.0-1\nArchitecture: all\n"
            b"Maintainer: Jos\xe9 M\xfcller <jm@example.org>\nDescription: fine\n",
            b"Package: escapes\nStatus: install ok installed\nVersion: 3.0-1\nArchitecture: all\n"
            b"Maintainer: Evil \x1b[2J\x1b[Hroot <e@example.org>\n",
        ]
        with open(status, "wb") as f:
            f.write(b"\n".join(stanzas))
        token = self.c.ctl_ok("token", "create").strip()
        agent = self.c.start_agent(os.path.join(self.c.tmp, "agent"), "--enroll-token", token,
                                   "--dpkg-status", status)
        host = wait_for("the agent connected",
                        lambda: [h["agent_id"] for h in self.c.ctl_json("hosts") if h["connected"]])[0]
        items = wait_for("the dpkg inventory",
                         lambda: {i["name"]: i for i in self.c.ctl_json("software", "--host", host)
                                  if i["source"] == "dpkg"} or None)
        self.assertEqual(sorted(items), ["escapes", "honest", "latin1"])
        self.assertEqual(items["latin1"]["vendor"], "Jos\ufffd M\ufffdller <jm@example.org>")
        self.assertEqual(items["escapes"]["vendor"], "Evil \ufffd[2J\ufffd[Hroot <e@example.org>")
        self.assertEqual(items["honest"]["vendor"], "Ann Example <ann@example.org>")
        # The agent said what it replaced.
        wait_for("the agent's note", lambda: "were not printable UTF-8" in agent.output())


if __name__ == "__main__":
    unittest.main()
