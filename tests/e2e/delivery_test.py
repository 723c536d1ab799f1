#!/usr/bin/env python3
"""End-to-end delivery: nothing lost, nothing doubled.

A real agent keeps collecting while the collector is down (stopped, or
killed with SIGKILL), and is itself killed with SIGKILL while envelopes wait
in its on-disk outbox. Afterwards the collector must hold one sample per
collection cycle over the whole time the agent was running: no gap, no
duplicate.

LongOutage keeps the collector down for an hour's worth of cycles: 360 at a
10 s interval. In the suite the cycles are compressed (100 ms each, 36 s);
`STEWARD_OUTAGE_INTERVAL=10s` runs the same test for a real hour (see
docs/testing.md). Every batch carries agent_metric_batches_total, so the
collector must hold exactly the consecutive numbers: no batch lost, none
doubled.
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


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60}
    for u in ("ms", "s", "m"):
        if text.endswith(u):
            return float(text[:-len(u)]) * units[u]
    return float(text)


class LongOutage(unittest.TestCase):
    INTERVAL = os.environ.get("STEWARD_OUTAGE_INTERVAL", "100ms")
    CYCLES = int(os.environ.get("STEWARD_OUTAGE_CYCLES", "360"))  # an hour of 10 s cycles

    def setUp(self):
        self.c = Cluster()
        self.collector = self.c.start_collector()
        token = self.c.ctl_ok("token", "create").strip()
        self.agent = self.c.start_agent(os.path.join(self.c.tmp, "agent"), "--enroll-token", token,
                                        interval=self.INTERVAL)
        self.id = wait_for("enrollment", lambda: [h["agent_id"] for h in self.c.ctl_json("hosts") if h["connected"]])[0]

    def tearDown(self):
        self.c.close()

    def points(self, metric="agent_metric_batches_total"):
        series = self.c.ctl_json("metrics", "--host", self.id, "--metric", metric, "--since", "30d")
        return series[0]["points"] if series else []

    def batches(self, metric="agent_metric_batches_total"):
        return [p[1] for p in self.points(metric)]

    def test_collector_down_for_an_hour_of_cycles(self):
        interval = seconds(self.INTERVAL)
        wait_for("a few batches", lambda: len(self.batches()) >= 3)
        address = self.c.address
        self.assertEqual(self.collector.stop(), 0)
        down_at = time.time()
        time.sleep(self.CYCLES * interval)
        self.collector = self.c.start_collector(listen=address)
        back_at = time.time()
        # The agent retries with backoff capped at 5 min; the backlog then
        # flows at the collector's pace.
        wait_for("the backlog to arrive", lambda: (p := self.points()) and p[-1][0] >= back_at, timeout=400)
        arrived_at = time.time()
        got = self.batches()
        self.assertEqual(got, [float(n) for n in range(1, len(got) + 1)],
                         "agent_metric_batches_total must arrive as 1, 2, 3, ... (no batch lost or doubled)")
        self.assertGreaterEqual(len(got), self.CYCLES * 0.9, "the agent kept collecting while the collector was down")
        self.assertEqual(self.batches("agent_outbox_dropped_batches_total")[-1], 0, "nothing was dropped")
        print(f"outage {back_at - down_at:.0f}s at {self.INTERVAL}: {len(got)} batches, "
              f"backlog delivered {arrived_at - back_at:.1f}s after the collector came back")


if __name__ == "__main__":
    unittest.main()
