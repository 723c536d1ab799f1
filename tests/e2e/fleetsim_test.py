#!/usr/bin/env python3
"""steward-fleetsim against a real collector: the simulated agents enroll,
each with its own identity and stream, deliver their inventories, metric
batches and deltas, and all come back after a kill -9 of the collector with
every batch the collector applied stored once, point by point (the
simulator's --ledger). Guards the tool that tests/bench/run fleet measures
with."""
import os
import signal
import subprocess
import time
import unittest

from fleetsim_harness import SIM, check_ledger, last_stats, require_sim
from steward_e2e import Cluster, Proc, wait_for

AGENTS = 40
PACKAGES = 300


class FleetSim(unittest.TestCase):
    def setUp(self):
        require_sim()
        self.c = Cluster()

    def tearDown(self):
        self.c.close()

    def test_bad_arguments_are_refused_with_a_reason(self):
        for args, why in [(["--agents", "0"], "--agents takes 1 to 100000"),
                          (["--interval", "soon"], "--interval takes a duration"),
                          (["--sources", "10.0.0.1-10.0.0.9"], "within 127.0.0.0/8"),
                          (["--frobnicate"], "unknown argument '--frobnicate'"),
                          ([], "--collector, --ca-file, --tokens and --state-dir are needed")]:
            r = subprocess.run([SIM, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(why, r.stderr, args)

    def test_agents_enroll_deliver_and_come_back_after_a_collector_kill(self):
        collector = self.c.start_collector()
        port = self.c.address.rsplit(":", 1)[1]
        tokens = os.path.join(self.c.tmp, "tokens")
        ledger = os.path.join(self.c.tmp, "ledger")
        with open(tokens, "w") as f:
            for _ in range(2):
                f.write(self.c.ctl_ok("token", "create", "--uses", "100").strip() + "\n")
        sim = Proc([SIM, "--collector", self.c.address, "--ca-file", os.path.join(self.c.data, "ca.pem"),
                    "--tokens", tokens, "--state-dir", os.path.join(self.c.tmp, "sim"),
                    "--agents", str(AGENTS), "--interval", "1s", "--packages", str(PACKAGES),
                    "--upgrades-per-hour", "360", "--stats-every", "500ms", "--ledger", ledger],
                   os.path.join(self.c.tmp, "fleetsim.log"))
        self.c.procs.insert(0, sim)  # stopped before the collector
        wait_for("every inventory delivered",
                 lambda: last_stats(sim).get("snapshots") == str(AGENTS)
                 and last_stats(sim).get("delivering") == str(AGENTS), 60)

        hosts = self.c.ctl_json("hosts")
        names = sorted(h["hostname"] for h in hosts)
        self.assertEqual(names, [f"sim-{i:05d}" for i in range(AGENTS)])
        self.assertTrue(all(h["connected"] for h in hosts), hosts)
        self.assertEqual({h["software_count"] for h in hosts}, {PACKAGES})
        self.assertEqual(len(self.c.ctl_json("software", "--name", "openssl")), AGENTS)
        # Each simulated agent connected from its own source address.
        self.assertEqual(len({h["agent_id"] for h in hosts}), AGENTS)

        # Metric batches land as series with one point per interval.
        one = hosts[0]["agent_id"]
        time.sleep(3)
        series = self.c.ctl_json("metrics", "--host", one, "--metric", "steward_load1", "--since", "1h")
        points = sum(len(s["points"]) for s in series)
        self.assertGreaterEqual(points, 3, series)

        # A kill -9 of the collector: every agent reconnects (backoff with
        # jitter) and delivers again, none enrolls anew.
        collector.p.send_signal(signal.SIGKILL)
        collector.p.wait()
        wait_for("every session ended", lambda: last_stats(sim).get("connected") == "0", 30)
        acked_before = int(last_stats(sim)["batches_acked"])
        self.c.start_collector(f"127.0.0.1:{port}")
        wait_for("every agent back", lambda: last_stats(sim).get("delivering") == str(AGENTS), 60)
        wait_for("batches acked again",
                 lambda: int(last_stats(sim)["batches_acked"]) >= acked_before + 2 * AGENTS, 30)
        self.assertEqual(len(self.c.ctl_json("hosts")), AGENTS)
        stats = last_stats(sim)
        self.assertEqual(stats["enroll_errors"], "0")
        self.assertEqual(stats["enrolled"], str(AGENTS))

        # The upgrades went out as deltas the collector applied: the change
        # log of some host has a version change.
        upgrades = [c for c in self.c.ctl_json("changes", "--since", "1h", "--name", "simpkg-*")
                    if c["old_version"] and "+sim" in c["new_version"]]
        self.assertGreater(len(upgrades), 0)
        self.assertEqual(sim.stop(), 0)

        # Point by point, across the kill -9: every batch the collector
        # applied (acked, or said applied in a Welcome) is stored, once; and
        # nothing is stored that the agent did not send.
        check_ledger(self, self.c, ledger, sorted(h["hostname"] for h in hosts)[:5])


if __name__ == "__main__":
    unittest.main()
