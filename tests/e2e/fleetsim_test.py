#!/usr/bin/env python3
"""steward-fleetsim against a real collector: the simulated agents enroll,
each with its own identity and stream, deliver their inventories, metric
batches and deltas, take a signed rollout's jobs, and all come back after a
kill -9 of the collector in the middle of the rollout, with every metric
batch, upgrade and job result the collector applied stored once, point by
point (the simulator's --ledger). Guards the tool that tests/bench/run
fleet measures with."""
import os
import signal
import subprocess
import time
import unittest

from fleetsim_harness import SIM, check_ledger, last_stats, read_ledger_kinds, require_sim
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
        key_id = self.c.ctl_json("keys", "generate", "--out", os.path.join(self.c.tmp, "release"))["key_id"]
        sim = Proc([SIM, "--trusted-key-id", key_id, "--collector", self.c.address, "--ca-file", os.path.join(self.c.data, "ca.pem"),
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

        # A rollout to every host (a signed .deb; the simulator answers
        # each job), and a kill -9 of the collector in its middle: every
        # agent reconnects (backoff with jitter) and delivers again, none
        # enrolls anew, and the rollout finishes.
        deb_dir = os.path.join(self.c.tmp, "deb")
        os.makedirs(os.path.join(deb_dir, "DEBIAN"))
        with open(os.path.join(deb_dir, "DEBIAN", "control"), "w") as f:
            f.write("Package: fleet-demo\nVersion: 2.0\nArchitecture: all\nMaintainer: t <t@localhost>\n"
                    "Description: fleetsim test\n")
        deb = os.path.join(self.c.tmp, "fleet-demo_2.0_all.deb")
        subprocess.run(["dpkg-deb", "--build", deb_dir, deb], check=True, capture_output=True)
        sign = ("--sign-key", os.path.join(self.c.tmp, "release.key"))
        sha = self.c.ctl_json("artifact", "push", deb, *sign)["sha256"]
        dep = self.c.ctl_json("deploy", "create", "--artifact", sha[:12], "--target", "package:openssl", *sign,
                              "--waves", "1,25%,100%", "--health-gate", "1s", "--max-parallel", "0")["id"]
        wait_for("the canary's job answered", lambda: int(last_stats(sim)["jobs_done"]) >= 1, 30)
        collector.p.send_signal(signal.SIGKILL)
        collector.p.wait()
        wait_for("every session ended", lambda: last_stats(sim).get("connected") == "0", 30)
        acked_before = int(last_stats(sim)["batches_acked"])
        self.c.start_collector(f"127.0.0.1:{port}")
        wait_for("every agent back", lambda: last_stats(sim).get("delivering") == str(AGENTS), 60)
        wait_for("batches acked again",
                 lambda: int(last_stats(sim)["batches_acked"]) >= acked_before + 2 * AGENTS, 30)
        self.assertEqual(len(self.c.ctl_json("hosts")), AGENTS)
        d = wait_for("the rollout finished", lambda: (lambda d: d if d["state"] in (
            "succeeded", "failed", "paused", "rolled_back") else None)(self.c.ctl_json("deploy", "status", dep)), 90)
        self.assertEqual(d["state"], "succeeded", [h for h in d["hosts"] if h["status"] != "succeeded"][:3])
        self.assertEqual(len(d["hosts"]), AGENTS)
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

        # Upgrades and job results, host by host: each one the collector
        # applied is there once, and none it holds was never sent.
        kinds = read_ledger_kinds(ledger)
        jobs = {}
        for j in self.c.ctl_json("job", "list"):
            jobs.setdefault(j["hostname"], []).append(j)
        for h in hosts:
            name = h["hostname"]
            changes = self.c.ctl_json("changes", "--host", h["agent_id"], "--since", "1h")
            stored = [f'{c["name"]}={c["new_version"]}' for c in changes if "+sim" in c["new_version"]]
            self.assertEqual(len(stored), len(set(stored)), f"{name}: an upgrade recorded twice")
            applied = set(kinds["upgrades_applied"].get(name, []))
            self.assertEqual(sorted(applied - set(stored)), [], f"{name}: applied upgrades missing")
            self.assertEqual(sorted(set(stored) - set(kinds["upgrades_created"].get(name, []))), [],
                             f"{name}: upgrades recorded that the agent never sent")
            results = {j["job_id"]: j["status"] for j in jobs.get(name, []) if j["status"] != "pending"}
            self.assertEqual(len(results), len([j for j in jobs.get(name, []) if j["status"] != "pending"]))
            sent = dict(w.split("=", 1) for w in kinds["jobs_created"].get(name, []))
            for job_id, status in (w.split("=", 1) for w in kinds["jobs_applied"].get(name, [])):
                self.assertEqual(results.get(job_id), status[len("JOB_"):].lower(), f"{name}: job {job_id}")
            for job_id, status in results.items():
                self.assertIn(job_id, sent, f"{name}: a result for job {job_id} the agent never sent")
            self.assertIn(f"{dep}-1", results, f"{name}: no result of the rollout's job")


if __name__ == "__main__":
    unittest.main()
