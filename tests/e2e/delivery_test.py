#!/usr/bin/env python3
"""End-to-end delivery: nothing lost, nothing doubled.

A real agent keeps collecting while the collector is down (stopped, or
killed with SIGKILL), and is itself killed with SIGKILL while envelopes wait
in its on-disk outbox. Afterwards the collector must hold one sample per
collection cycle over the whole time the agent was running: no gap, no
duplicate. The outage here lasts seconds, not the hour the outbox is sized
for (64 MiB holds days of 10 s batches), to keep the suite fast.
"""
import os
import signal
import time
import unittest

from steward_e2e import Cluster, wait_for

METRIC = "host_uptime_seconds"  # one series, one point per cycle


class Delivery(unittest.TestCase):
    def setUp(self):
        self.c = Cluster()
        self.state = os.path.join(self.c.tmp, "agent")
        self.collector = self.c.start_collector()
        token = self.c.ctl_ok("token", "create").strip()
        self.agent = self.c.start_agent(self.state, "--enroll-token", token)
        self.id = wait_for("enrollment", lambda: [h["agent_id"] for h in self.c.ctl_json("hosts") if h["connected"]])[0]

    def tearDown(self):
        self.c.close()

    def points(self):
        series = self.c.ctl_json("metrics", "--host", self.id, "--metric", METRIC, "--since", "1h")
        self.assertLessEqual(len(series), 1)
        return [p[0] for p in series[0]["points"]] if series else []

    def assert_no_gap_no_duplicate(self, times, start, end, interval=1.0):
        inside = [t for t in times if start <= t <= end]
        self.assertEqual(len(inside), len(set(inside)), "duplicate samples")
        self.assertEqual(inside, sorted(inside))
        self.assertGreater(len(inside), (end - start) / interval * 0.8, "too few samples")
        gaps = [b - a for a, b in zip(inside, inside[1:])]
        # A cycle runs every second; allow scheduling jitter, not a missing cycle.
        self.assertLess(max(gaps), 1.9 * interval, f"gap in the samples: {max(gaps):.2f}s")

    def restart_collector(self, address, kill):
        if kill:
            self.collector.p.send_signal(signal.SIGKILL)
            self.collector.p.wait()
            self.collector.log.close()
        else:
            self.assertEqual(self.collector.stop(), 0)

    def test_collector_down_then_back(self):
        wait_for("a few samples", lambda: len(self.points()) >= 3)
        address = self.c.address
        self.restart_collector(address, kill=False)
        time.sleep(6)  # the agent collects into its outbox meanwhile
        self.collector = self.c.start_collector(listen=address)
        first = self.points()[0]
        t_end = time.time()
        wait_for("the backlog to arrive", lambda: self.points()[-1] >= t_end, 90)
        self.assert_no_gap_no_duplicate(self.points(), first, t_end)

    def test_collector_killed_during_ingest(self):
        wait_for("a few samples", lambda: len(self.points()) >= 3)
        address = self.c.address
        for _ in range(3):  # kill -9 at arbitrary moments of the stream
            time.sleep(1.3)
            self.restart_collector(address, kill=True)
            time.sleep(1.0)
            self.collector = self.c.start_collector(listen=address)
        first = self.points()[0]
        t_end = time.time()
        wait_for("everything to arrive", lambda: self.points()[-1] >= t_end, 90)
        self.assert_no_gap_no_duplicate(self.points(), first, t_end)

    def test_agent_killed_with_a_backlog(self):
        wait_for("a few samples", lambda: len(self.points()) >= 3)
        address = self.c.address
        self.restart_collector(address, kill=False)
        time.sleep(4)
        # SIGKILL the agent with ~4 s of envelopes in its outbox, mid-write or not.
        self.agent.p.send_signal(signal.SIGKILL)
        self.agent.p.wait()
        killed_at = time.time()
        self.agent = self.c.start_agent(self.state)
        self.collector = self.c.start_collector(listen=address)
        time.sleep(4)  # some cycles after the restart too
        first = self.points()[0]
        t_end = time.time()
        wait_for("the backlog to arrive", lambda: self.points()[-1] >= t_end, 90)
        times = self.points()
        # Before the kill: complete. After the restart: complete. Between: the agent was dead.
        self.assert_no_gap_no_duplicate(times, first, killed_at - 1.0)
        restarted = min(t for t in times if t > killed_at)
        self.assert_no_gap_no_duplicate(times, restarted, t_end)
        self.assertEqual(len(times), len(set(times)))


if __name__ == "__main__":
    unittest.main()
