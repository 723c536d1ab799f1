#!/usr/bin/env python3
"""End-to-end test of the foundation path: a real collector and a real agent
as processes on loopback, checked through `stewardctl --json`.

Everything lives in a temporary directory that is removed afterwards;
processes are stopped with SIGTERM (and must exit 0). See steward_e2e.py.
"""
import datetime
import json
import os
import shutil
import re
import socket
import subprocess
import time
import unittest

import steward_e2e
from steward_e2e import CTL, Cluster, installed_packages, read, wait_for


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.tmp, cls.data, cls.admin = cls.c.tmp, cls.c.data, cls.c.admin
        cls.state = os.path.join(cls.tmp, "agent")
        cls.collector = cls.start_collector()
        cls.token = cls.c.ctl_ok("token", "create", "--ttl", "10m", "--uses", "1", "--label", "env=e2e").strip()
        cls.agent = cls.start_agent("--enroll-token", cls.token)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    # --- helpers ---------------------------------------------------------
    @classmethod
    def start_collector(cls, listen="127.0.0.1:0"):
        p = cls.c.start_collector(listen)
        cls.address = cls.c.address
        return p

    @classmethod
    def start_agent(cls, *extra, state=None):
        return cls.c.start_agent(state or cls.state, *extra)

    @classmethod
    def ctl(cls, *args, **kw):
        return cls.c.ctl(*args, **kw)

    @classmethod
    def ctl_ok(cls, *args, **kw):
        return cls.c.ctl_ok(*args, **kw)

    def ctl_json(self, *args, **kw):
        return self.c.ctl_json(*args, **kw)

    def host(self):
        hosts = self.ctl_json("hosts")
        self.assertEqual(len(hosts), 1, hosts)
        return hosts[0]

    def connected_host(self):
        return wait_for("the agent to be connected", lambda: [h for h in self.ctl_json("hosts") if h["connected"]])[0]

    # --- tests (run in name order) ------------------------------------------
    def test_01_collector_created_its_files(self):
        self.assertEqual(os.stat(self.admin).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.data, "pki", "ca.key")).st_mode & 0o777, 0o600)
        with open(os.path.join(self.data, "ca.pem")) as f:
            self.assertIn("BEGIN CERTIFICATE", f.read())
        self.assertTrue(os.path.isdir(os.path.join(self.data, "db")))
        self.assertRegex(self.token, r"^[0-9a-f]{16}\.[0-9a-f]{64}$")

    def test_02_host_appears_with_facts(self):
        h = self.connected_host()
        self.assertRegex(h["agent_id"], r"^[0-9a-f]{16}$")
        self.assertEqual(h["hostname"], socket.gethostname())
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)"?$', read("/etc/os-release"), re.M)
        if pretty:
            self.assertEqual(h["os"], pretty.group(1))
        self.assertEqual(h["agent_version"], "0.1.0")
        self.assertEqual(h["kernel"], os.uname().release)
        self.assertEqual(h["labels"], {"env": "e2e"})
        seen = datetime.datetime.strptime(h["last_seen"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs((datetime.datetime.now(datetime.timezone.utc) - seen).total_seconds()), 120)
        with open(os.path.join(self.state, "agent.id")) as f:
            self.assertEqual(f.read().strip(), h["agent_id"])
        self.assertEqual(os.stat(os.path.join(self.state, "agent.key")).st_mode & 0o777, 0o600)

    def test_03_software_equals_dpkg_query(self):
        h = self.connected_host()
        items = wait_for("the inventory", lambda: self.ctl_json("software", "--host", h["agent_id"]))
        dpkg_items = [i for i in items if i["source"] == "dpkg"]
        expected = installed_packages()
        self.assertGreater(len(expected), 10)
        got = {(i["name"], i["version"], i["arch"]) for i in dpkg_items}
        self.assertEqual(len(got), len(dpkg_items), "duplicate dpkg items in the inventory")
        self.assertEqual(got - expected, set(), "reported but not installed")
        self.assertEqual(expected - got, set(), "installed but not reported")
        for i in items:
            self.assertIn(i["source"], ("dpkg", "rpm", "pip", "npm", "snap", "flatpak"))
            self.assertEqual(i["agent_id"], h["agent_id"])
            self.assertEqual(i["hostname"], socket.gethostname())
        # --name filters, and the table form lists the same package.
        name, version, _ = sorted(expected)[0]
        only = self.ctl_json("software", "--name", name)
        self.assertTrue(only and all(i["name"] == name for i in only), only)
        self.assertIn(version, self.ctl_ok("software", "--host", h["agent_id"], "--name", name))
        self.assertEqual(self.host()["software_count"], len(items))

    def test_03b_npm_globals_match_npm_ls(self):
        if not shutil.which("npm"):
            self.skipTest("npm is not installed on this machine")
        listed = json.loads(subprocess.run(["npm", "ls", "-g", "--json", "--depth=0"], capture_output=True,
                                           text=True, timeout=120).stdout or "{}").get("dependencies", {})
        h = self.connected_host()
        got = {(i["name"], i["version"]) for i in self.ctl_json("software", "--host", h["agent_id"])
               if i["source"] == "npm"}
        self.assertEqual(got, {(n, d["version"]) for n, d in listed.items()})

    def test_04_metrics_arrive(self):
        h = self.connected_host()
        names = wait_for("metric names", lambda: self.ctl_json("metrics", "--host", h["agent_id"], "--list"))
        for want in ("host_load1", "host_cpu_seconds_total", "host_memory_total_bytes",
                     "host_memory_available_bytes", "host_network_receive_bytes_total", "host_uptime_seconds"):
            self.assertIn(want, names)
        mem = self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_memory_total_bytes", "--since", "5m")
        self.assertEqual(len(mem), 1)
        memtotal_kb = int(re.search(r"^MemTotal:\s+(\d+) kB", read("/proc/meminfo"), re.M).group(1))
        self.assertEqual(mem[0]["points"][-1][1], memtotal_kb * 1024)
        # Several samples a second apart (interval 1s), times ascending and recent.
        cpu = wait_for("3 cpu samples", lambda: [
            s for s in self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total")
            if len(s["points"]) >= 3])
        modes = {s["labels"]["mode"] for s in self.ctl_json(
            "metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total")}
        self.assertTrue({"user", "system", "idle"} <= modes, modes)
        pts = cpu[0]["points"]
        self.assertEqual(pts, sorted(pts))
        self.assertLess(abs(time.time() - pts[-1][0]), 60)
        self.assertGreaterEqual(pts[-1][1], pts[0][1], "a counter went backwards")
        # Label matching narrows to one series.
        idle = self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total",
                             "--label", "mode=idle")
        self.assertEqual([s["labels"] for s in idle], [{"mode": "idle"}])

    def test_04b_aggregates_over_the_tsdb(self):
        """Aggregations, groups, matchers and top-k over the agent's real data."""
        h = self.ctl_json("hosts")[0]
        wait_for("5 cpu samples", lambda: all(len(s["points"]) >= 5 for s in self.ctl_json(
            "metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total")))
        def raw_points():
            return {s["labels"]["mode"]: s["points"] for s in self.ctl_json(
                "metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total", "--since", "1h")}
        # The agent keeps sending (1 s interval): every aggregate read between
        # two raw reads lies between what the two raw reads give.
        raw = raw_points()
        everywhere = self.ctl_json("metrics", "--metric", "host_cpu_seconds_total", "--since", "1h",
                                   "--match", "mode=~user|system", "--agg", "max", "--by", "agent,mode")
        counts = self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total",
                               "--since", "1h", "--agg", "count", "--by", "mode", "--match", "mode!=idle")
        after = raw_points()
        # Every host (no --host): the series carry the agent label.
        self.assertEqual({(g["labels"]["agent"], g["labels"]["mode"]) for g in everywhere},
                         {(h["agent_id"], "user"), (h["agent_id"], "system")})
        # One bucket over the range: max of a counter = its latest raw value.
        for g in everywhere:
            self.assertEqual(len(g["points"]), 1)
            mode = g["labels"]["mode"]
            self.assertIn(g["points"][0][1], {v for _, v in after[mode] if v >= raw[mode][-1][1]})
        # count per mode equals the raw points; != excludes.
        self.assertNotIn("idle", {g["labels"]["mode"] for g in counts})
        for g in counts:
            mode = g["labels"]["mode"]
            self.assertGreaterEqual(g["points"][0][1], len(raw[mode]))
            self.assertLessEqual(g["points"][0][1], len(after[mode]))
        # rate is per second and never negative for a counter; top-k keeps the busiest.
        top = self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total",
                            "--since", "1h", "--agg", "rate", "--by", "mode", "--top", "2")
        self.assertEqual(len(top), 2)
        self.assertGreaterEqual(top[0]["points"][0][1], top[1]["points"][0][1])
        self.assertGreaterEqual(top[1]["points"][0][1], 0)
        # Last point per series and a value filter.
        last = self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_cpu_seconds_total",
                             "--since", "1h", "--last", "--match", "mode=idle")
        self.assertEqual(len(last), 1)
        self.assertEqual(len(last[0]["points"]), 1)
        # Read after `raw`: at least as late, and a counter, so at least as high.
        self.assertGreaterEqual(last[0]["points"][0][0], raw["idle"][-1][0])
        self.assertGreaterEqual(last[0]["points"][0][1], raw["idle"][-1][1])
        none_above = self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_load1",
                                   "--since", "1h", "--filter", "> 1e12")
        self.assertEqual(none_above, [])
        table = self.ctl_ok("metrics", "--metric", "host_load1", "--agg", "avg", "--step", "1m")
        self.assertIn("GROUP", table)

    def test_05_env_config_and_errors(self):
        self.assertEqual(len(self.ctl_json("hosts", env_config=True)), 1)
        r = self.ctl("metrics", "--host", "nosuchagent", "--metric", "host_load1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nosuchagent", r.stderr)
        r = subprocess.run([CTL, "--config", os.path.join(self.tmp, "missing.conf"), "hosts"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing.conf", r.stderr)
        # The collector refuses a bad retention before it touches anything.
        for flag in ("--retention", "--rollup-retention"):
            r = subprocess.run([steward_e2e.COLLECTOR, "--data-dir", os.path.join(self.tmp, "never"), flag, "soon"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"{flag} 'soon' is not a duration", r.stderr)
        r = self.ctl("metrics")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--metric", r.stderr)
        r = self.ctl("metrics", "--metric", "host_load1", "--agg", "median")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("agg", r.stderr)
        r = self.ctl("metrics", "--metric", "host_load1", "--match", "agent=~(")
        self.assertEqual(r.returncode, 2, r.stderr)
        # The token allowed one use: a second enrollment is refused with a reason.
        other = self.start_agent("--enroll-token", self.token, state=os.path.join(self.tmp, "agent2"))
        other.p.wait(30)
        self.assertNotEqual(other.p.returncode, 0)
        self.assertIn("used up", other.output())

    def test_06_agent_restart_keeps_identity(self):
        before = self.connected_host()
        self.assertEqual(self.agent.stop(), 0, self.agent.output())
        wait_for("the collector to see the agent gone", lambda: not self.host()["connected"])
        type(self).agent = self.start_agent()  # no token: the stored identity is used
        after = self.connected_host()
        self.assertEqual(after["agent_id"], before["agent_id"])
        self.assertEqual(len(self.ctl_json("hosts")), 1)

    def test_07_collector_restart_keeps_data_and_agent_reconnects(self):
        h = self.connected_host()
        count = self.host()["software_count"]
        address = self.address
        self.assertEqual(self.collector.stop(), 0, self.collector.output())
        time.sleep(1.5)  # the agent notices and starts backing off
        type(self).collector = self.start_collector(listen=address)
        self.assertEqual(self.address, address)
        # The same agent process reconnects by itself (backoff with jitter).
        after = wait_for("the agent to reconnect", lambda: [x for x in self.ctl_json("hosts") if x["connected"]], 60)[0]
        self.assertEqual(after["agent_id"], h["agent_id"])
        self.assertEqual(after["software_count"], count)
        self.assertIn("reconnecting in", self.agent.output())
        # Metrics keep flowing after the reconnect.
        t0 = time.time()
        wait_for("a sample after the reconnect", lambda: any(
            p[0] > t0 for s in self.ctl_json("metrics", "--host", h["agent_id"], "--metric", "host_load1")
            for p in s["points"]), 30)


if __name__ == "__main__":
    unittest.main()
