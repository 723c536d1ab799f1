#!/usr/bin/env python3
"""End-to-end people and audit: real steward-collector, steward-agent and
stewardctl processes.

  1. the bootstrap admin gives an operator and a viewer their own credential
     files (stewardctl user add); the operator enrolls an agent with a token
     of their own, the viewer sees the host but every change they try is
     refused, and nothing changes;
  2. the audit trail (stewardctl audit --json) attributes each change and
     refusal, its records link by SHA-256, and stewardctl audit verify passes;
  3. a removed user is refused at once; after a collector restart the trail
     is still intact and goes on from where it was.
"""
import os
import signal
import unittest

from steward_e2e import Cluster, wait_for


class People(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.c.start_collector()
        cls.otto = os.path.join(cls.c.tmp, "otto.conf")
        cls.vera = os.path.join(cls.c.tmp, "vera.conf")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def as_user(self, conf, *args):
        return self.c.ctl("--config", conf, *args, env_config=True)

    def test_1_operator_enrolls_viewer_reads_and_is_refused_changes(self):
        out = self.c.ctl_ok("user", "add", "otto", "--role", "operator", "--out", self.otto)
        self.assertIn("user 'otto' (operator) added", out)
        self.assertEqual(os.stat(self.otto).st_mode & 0o777, 0o600)
        self.c.ctl_ok("user", "add", "vera", "--role", "viewer", "--out", self.vera)

        r = self.as_user(self.otto, "token", "create")
        self.assertEqual(r.returncode, 0, r.stderr)
        type(self).token_id = r.stdout.strip().split(".")[0]
        self.c.start_agent(os.path.join(self.c.tmp, "agent"), "--enroll-token", r.stdout.strip())
        wait_for("the agent in vera's host list",
                 lambda: '"agent_id"' in self.as_user(self.vera, "hosts", "--json").stdout)

        r = self.as_user(self.vera, "checks", "set", "web", "--type", "tcp", "--param", "address=127.0.0.1:80")
        self.assertEqual(r.returncode, 1)
        self.assertIn("PutCheck needs role operator; user/vera has role viewer", r.stderr)
        r = self.as_user(self.vera, "token", "create")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.c.ctl_json("checks", "list"), [])

    def test_2_audit_attributes_changes_and_refusals_and_verifies(self):
        records = self.c.ctl_json("audit")["records"]
        summary = [(r["who"], r["method"], r["target"], r["code"]) for r in records]
        self.assertEqual(summary, [
            ("admin/admin", "AddUser", "user:otto", "OK"),
            ("admin/admin", "AddUser", "user:vera", "OK"),
            ("user/otto", "CreateEnrollmentToken", "token:" + self.token_id, "OK"),
            ("user/vera", "PutCheck", "check:web", "PERMISSION_DENIED"),
            ("user/vera", "CreateEnrollmentToken", "", "PERMISSION_DENIED"),
        ])
        for prev, rec in zip(records, records[1:]):
            self.assertEqual(rec["prev_sha256"], prev["sha256"])
            self.assertEqual(rec["seq"], prev["seq"] + 1)
        self.assertTrue(all(r["peer"].startswith("ipv4:127.0.0.1:") for r in records))
        self.assertEqual([r["refused"] for r in records], [False, False, False, True, True])
        only_vera = self.c.ctl_json("audit", "--user", "vera")["records"]
        self.assertEqual([r["method"] for r in only_vera], ["PutCheck", "CreateEnrollmentToken"])
        out = self.c.ctl_ok("audit", "verify")
        self.assertTrue(out.startswith("audit trail intact: 5 records"), out)
        type(self).head = self.c.ctl_json("audit", "verify")["head_sha256"]
        self.assertEqual(self.head, records[-1]["sha256"])

    def test_3_removed_user_is_refused_and_the_trail_survives_a_restart(self):
        self.c.ctl_ok("user", "rm", "vera")
        r = self.as_user(self.vera, "hosts")
        self.assertEqual(r.returncode, 1)
        self.assertIn("user 'vera' does not exist", r.stderr)

        collector = self.c.procs[0]
        collector.p.send_signal(signal.SIGTERM)
        collector.p.wait(timeout=30)
        self.c.start_collector()
        out = self.c.ctl_ok("audit", "verify")
        self.assertTrue(out.startswith("audit trail intact: 7 records"), out)
        # otto's credential names the old port; point a copy at the new one.
        with open(self.otto) as f:
            text = f.read()
        moved = os.path.join(self.c.tmp, "otto-moved.conf")
        with open(moved, "w") as f:
            f.write("\n".join(f"collector = {self.c.address}" if l.startswith("collector = ") else l
                              for l in text.splitlines()) + "\n")
        r = self.as_user(moved, "checks", "rm", "nothing")
        self.assertEqual(r.returncode, 1)
        records = self.c.ctl_json("audit", "--limit", "3")["records"]
        self.assertEqual([(r["who"], r["method"], r["code"]) for r in records], [
            ("admin/admin", "RemoveUser", "OK"),
            ("user/vera", "ListHosts", "PERMISSION_DENIED"),
            ("user/otto", "DeleteCheck", "NOT_FOUND"),
        ])
        self.assertTrue(self.c.ctl_ok("audit", "verify").startswith("audit trail intact: 8 records"))


if __name__ == "__main__":
    unittest.main()
