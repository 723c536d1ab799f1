#!/usr/bin/env python3
"""End-to-end services inventory: a real agent reads systemd units through a
fake systemctl (systemd is not PID 1 on the build machines), and
`stewardctl services` shows them, then shows each change within an interval.

The fake systemctl is a shell script, set with `services.systemctl` in the
agent config, that prints a captured Debian 12 listing
(tests/agent/services/testdata/) which the test edits mid-run.
"""
import os
import re
import time
import unittest

from steward_e2e import Cluster, read, wait_for

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent", "services", "testdata")


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class Services(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.units = os.path.join(cls.c.tmp, "units.txt")
        cls.unit_files = os.path.join(cls.c.tmp, "unit-files.txt")
        cls.calls = os.path.join(cls.c.tmp, "systemctl-calls.txt")
        cls.listing = read(os.path.join(TESTDATA, "debian12_list_units.txt"))
        write_atomic(cls.units, cls.listing)
        write_atomic(cls.unit_files, read(os.path.join(TESTDATA, "debian12_list_unit_files.txt")))
        fake = os.path.join(cls.c.tmp, "fake-systemctl")
        with open(fake, "w") as f:
            f.write(f"""#!/bin/sh
echo "$*" >> {cls.calls}
case "$1" in
  list-units) exec cat {cls.units} ;;
  list-unit-files) exec cat {cls.unit_files} ;;
  *) echo "fake systemctl: unexpected $*" >&2; exit 1 ;;
esac
""")
        os.chmod(fake, 0o755)
        conf = os.path.join(cls.c.tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(f"services.enabled = true\nservices.systemctl = {fake}\nservices.interval = 1s\n")
        cls.c.start_collector()
        token = cls.c.ctl_ok("token", "create").strip()
        cls.agent = cls.c.start_agent(os.path.join(cls.c.tmp, "agent"), "--enroll-token", token, "--config", conf)
        cls.id = wait_for("enrollment", lambda: [h["agent_id"] for h in cls.c.ctl_json("hosts") if h["connected"]])[0]

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def units_now(self, *filters):
        return {u["unit"]: u for u in self.c.ctl_json("services", "--host", self.id, *filters)}

    def wait_unit(self, name, active, sub, timeout=15):
        def ok():
            u = self.units_now().get(name)
            return u if u and (u["active_state"], u["sub_state"]) == (active, sub) else None
        return wait_for(f"{name} to be {active}/{sub}", ok, timeout)

    def reports_logged(self):
        return len(re.findall(r"services: \d+ units", self.agent.output()))

    def test_1_lists_the_captured_units(self):
        units = wait_for("the service report", lambda: self.units_now(), 30)
        self.assertEqual(len(units), 35, sorted(units))
        nginx = units["nginx.service"]
        self.assertEqual((nginx["load_state"], nginx["active_state"], nginx["sub_state"], nginx["unit_file_state"]),
                         ("loaded", "active", "running", "enabled"))
        self.assertEqual(nginx["description"], "A high performance web server and a reverse proxy server")
        self.assertEqual(units["postgresql@15-main.service"]["active_state"], "failed")
        self.assertEqual(units["getty@tty1.service"]["unit_file_state"], "enabled")  # from getty@.service
        self.assertEqual(units["exim4.service"]["load_state"], "not-found")
        self.assertEqual(units["uuidd.socket"]["sub_state"], "listening")
        self.assertIn("systemd-fsck@dev-disk-by\\x2duuid-4A1B\\x2d2C3D.service", units)
        failed = self.units_now("--state", "failed")
        self.assertEqual(sorted(failed), ["postgresql@15-main.service"])
        timers = self.units_now("--name", ".timer")
        self.assertEqual(len(timers), 4)
        table = self.c.ctl_ok("services", "--host", self.id, "--state", "failed")
        self.assertRegex(table, r"^HOST +UNIT +LOAD +ACTIVE +SUB +ENABLED +DESCRIPTION\n")
        self.assertRegex(table, r"postgresql@15-main\.service +loaded +failed +failed +indirect +PostgreSQL Cluster")
        # The agent asked for exactly the documented listings.
        calls = read(self.calls).splitlines()
        self.assertIn("list-units --all --type=service,socket,timer,mount --plain --no-legend --no-pager --full",
                      calls)
        self.assertIn("list-unit-files --plain --no-legend --no-pager --full", calls)

    def test_2_changes_show_up_within_an_interval(self):
        self.wait_unit("nginx.service", "active", "running", 30)
        # The agent sends its report again once per session: a report made
        # around the time the session opened is followed by one more on the
        # next cycle. Wait until the reports settle (no new one for over two
        # 1 s intervals); then nothing changes: the agent keeps reading but
        # sends nothing new.
        def settled():
            n = self.reports_logged()
            time.sleep(2.5)
            return self.reports_logged() == n
        wait_for("the session's reports to settle", settled, 30)
        before = self.reports_logged()
        time.sleep(4)
        self.assertEqual(self.reports_logged(), before, self.agent.output()[-2000:])

        changed = self.listing.replace(
            "nginx.service                            loaded    active   running",
            "nginx.service                            loaded    failed   failed ")
        changed = changed.replace("● exim4.service                          not-found inactive dead      exim4.service\n",
                                  "")
        self.assertNotEqual(changed, self.listing)
        write_atomic(self.units, changed + "truncated.service loaded\n")
        start = time.monotonic()
        self.wait_unit("nginx.service", "failed", "failed", 15)
        self.assertLess(time.monotonic() - start, 10)
        units = self.units_now()
        self.assertNotIn("exim4.service", units)
        self.assertEqual(len(units), 34)
        self.assertEqual(sorted(self.units_now("--state", "failed")), ["nginx.service", "postgresql@15-main.service"])
        # The broken line is skipped with a warning naming it.
        wait_for("the warning", lambda: "systemctl list-units line 35" in self.agent.output(), 10)

    def test_3_collector_restart_gets_the_units_again(self):
        self.wait_unit("nginx.service", "failed", "failed", 30)
        before = self.reports_logged()
        collector = self.c.procs[0]
        collector.stop()
        self.c.procs.remove(collector)
        self.c.start_collector(listen=self.c.address)
        wait_for("the agent to reconnect", lambda: [h for h in self.c.ctl_json("hosts") if h["connected"]], 60)
        # A new session sends the report again, though nothing changed.
        wait_for("a report on the new session", lambda: self.reports_logged() > before, 30)
        self.assertEqual(len(self.units_now()), 34)

    def test_4_bad_config_is_refused(self):
        conf = os.path.join(self.c.tmp, "bad.conf")
        with open(conf, "w") as f:
            f.write("services.enabled = maybe\n")
        p = self.c.start_agent(os.path.join(self.c.tmp, "agent-bad"), "--config", conf)
        wait_for("the agent to exit", lambda: p.p.poll() is not None, 30)
        self.assertNotEqual(p.p.returncode, 0)
        self.assertIn("services.enabled = 'maybe' must be true or false", p.output())


if __name__ == "__main__":
    unittest.main()
