#!/usr/bin/env python3
"""End-to-end agent identity: real processes on loopback.

The collector signs agent certificates for one minute (--agent-cert-ttl 1m),
so the agent renews over its stream within the test (with a third of the
lifetime left) and reconnects with the new certificate. The token comes
from a file (--enroll-token-file) and from the environment
(STEWARD_ENROLL_TOKEN), never from the command line. `stewardctl hosts
disable` closes the agent's stream and refuses it until `hosts enable`;
`hosts rm` forgets a host and refuses its certificate.
"""
import os
import re
import unittest

from steward_e2e import Cluster, wait_for


class Identity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.collector = cls.c.start_collector("127.0.0.1:0", "--agent-cert-ttl", "1m")
        cls.token_file = os.path.join(cls.c.tmp, "token")
        fd = os.open(cls.token_file, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (cls.c.ctl_ok("token", "create", "--uses", "2").strip() + "\n").encode())
        os.close(fd)
        cls.agent = cls.c.start_agent(os.path.join(cls.c.tmp, "agent"), "--enroll-token-file", cls.token_file)
        cls.id = wait_for("enrollment", lambda: [h["agent_id"] for h in cls.c.ctl_json("hosts") if h["connected"]])[0]

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def host(self, agent_id=None):
        return [h for h in self.c.ctl_json("hosts") if h["agent_id"] == (agent_id or self.id)][0]

    def test_1_certificate_is_renewed_over_the_stream(self):
        first = self.host()["cert_expires"]
        self.assertTrue(first)
        # One minute of lifetime: renewed with about 20 s left.
        wait_for("a renewal", lambda: "certificate renewed" in self.agent.output(), timeout=75)
        wait_for("the new expiry", lambda: self.host()["cert_expires"] > first)
        wait_for("the agent back with the new certificate", lambda: self.host()["connected"])
        self.assertIn(f"agent {self.id}: certificate renewed", self.collector.output())
        with open(os.path.join(self.c.tmp, "agent", "agent.crt")) as f:
            self.assertIn("BEGIN CERTIFICATE", f.read())
        self.assertFalse(os.path.exists(os.path.join(self.c.tmp, "agent", "identity.new")))

    def test_2_disable_closes_the_stream_and_enable_lets_it_back(self):
        self.assertTrue(self.host()["connected"])
        out = self.c.ctl_ok("hosts", "disable", self.id[:6])
        self.assertIn(f"host {self.id} disabled", out)
        wait_for("the stream closed", lambda: not self.host()["connected"], timeout=5)
        self.assertTrue(self.host()["disabled"])
        wait_for("the agent told why", lambda: f"agent {self.id} is disabled" in self.agent.output()
                 or f"agent {self.id} was disabled" in self.agent.output())
        self.c.ctl_ok("hosts", "enable", self.id)
        wait_for("the agent back", lambda: self.host()["connected"], timeout=40)
        self.assertFalse(self.host()["disabled"])

    def test_3_token_from_the_environment_stays_out_of_ps(self):
        token = self.c.ctl_ok("token", "create").strip()
        other = self.c.start_agent(os.path.join(self.c.tmp, "agent-env"), env={"STEWARD_ENROLL_TOKEN": token})
        wait_for("a second host", lambda: len(self.c.ctl_json("hosts")) == 2)
        with open(f"/proc/{other.p.pid}/cmdline", "rb") as f:
            self.assertNotIn(token.encode(), f.read())
        tokens = self.c.ctl_json("token", "list")
        self.assertFalse([t for t in tokens if token.split(".")[1] in str(t)], "a secret in token list")
        used = [t for t in tokens if t["token_id"] == token.split(".")[0]][0]
        self.assertEqual((used["used"], used["max_uses"], used["state"]), (1, 1, "used up"))
        type(self).other = other

    def test_4_rm_forgets_the_host_and_refuses_its_certificate(self):
        other_id = [h["agent_id"] for h in self.c.ctl_json("hosts") if h["agent_id"] != self.id][0]
        r = self.c.ctl("hosts", "rm", other_id)  # no terminal, no --yes
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--yes", r.stderr)
        self.c.ctl_ok("hosts", "rm", other_id, "--yes")
        self.assertEqual([h["agent_id"] for h in self.c.ctl_json("hosts")], [self.id])
        wait_for("the removed agent refused", lambda: re.search(
            f"agent {other_id} (was removed|is not registered)", self.other.output()))
        r = self.c.ctl("hosts", "rm", other_id, "--yes")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"no host '{other_id}'", r.stderr)


if __name__ == "__main__":
    unittest.main()
