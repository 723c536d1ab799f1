#!/usr/bin/env python3
"""End-to-end: only an operator's key makes an agent change its host.

A real collector and a real agent that trusts the publisher key "release".
What a stolen admin.conf or a compromised collector can try, and the agent
refuses, leaving the host unchanged:
  - stewardctl without --sign-key refuses host-changing jobs before any call;
  - a job written straight into the collector's RocksDB (the collector
    stopped, steward_put_job, the collector started again) is delivered and
    refused: the agent reports it failed, the program never ran;
  - a signed job that ran, copied under a new job id (a replay by the
    collector), is refused;
  - a job signed with a key the agent does not trust is refused.
A correctly signed job runs.
"""
import json
import os
import subprocess
import unittest

from jobs_test import installed, make_dpkg_root
from steward_e2e import Cluster, read, wait_for

PUT_JOB = os.environ.get("STEWARD_PUT_JOB", "")


class SignedJobs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not PUT_JOB or not os.access(PUT_JOB, os.X_OK):
            raise RuntimeError("STEWARD_PUT_JOB must name the built steward_put_job")
        c = cls.c = Cluster()
        cls.collector = c.start_collector()
        keys = os.path.join(c.tmp, "keys")
        os.makedirs(keys)
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "release"))
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "stolen"))
        cls.release = os.path.join(keys, "release.key")
        cls.stolen = os.path.join(keys, "stolen.key")
        cls.root = os.path.join(c.tmp, "root")
        make_dpkg_root(cls.root)
        cls.dpkg_status = os.path.join(cls.root, "var/lib/dpkg/status")
        cls.state = os.path.join(c.tmp, "state")
        cls.args = (cls.state, "--trusted-key", os.path.join(keys, "release.pub"), "--dpkg-root", cls.root,
                    "--dpkg-status", cls.dpkg_status)
        token = c.ctl_ok("token", "create").strip()
        cls.agent = c.start_agent(*cls.args, "--enroll-token", token)
        cls.id = wait_for("enrollment", lambda: [h["agent_id"] for h in c.ctl_json("hosts") if h["connected"]])[0]
        cls.marker = os.path.join(c.tmp, "pwned")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def wait_job(self, job_id, timeout=60):
        def done():
            jobs = self.c.ctl_json("job", "list", "--host", self.id, "--job", job_id)
            return jobs[0] if jobs and jobs[0]["status"] not in ("pending", "running") else None
        return wait_for(f"job {job_id}", done, timeout)

    def intrude(self, *put_job_args):
        """Stops the collector, writes a job into its storage, starts it again at the same address."""
        address = self.c.address
        cls = type(self)  # the collector outlives each test
        self.assertEqual(cls.collector.stop(), 0)
        r = subprocess.run([PUT_JOB, self.c.data, self.id, *put_job_args], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        cls.collector = self.c.start_collector(listen=address)
        wait_for("agent back", lambda: [h for h in self.c.ctl_json("hosts") if h["connected"]], 60)

    def test_1_stewardctl_refuses_host_changing_jobs_without_a_key(self):
        r = self.c.ctl("job", "run", "--host", self.id, "--", "/usr/bin/touch", self.marker)
        self.assertEqual(r.returncode, 2)  # a usage error: nothing was sent
        self.assertIn("needs --sign-key", r.stderr)
        r = self.c.ctl("deploy", "create", "--package", "demo=1.0", "--target", f"host:{self.id}")
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs --sign-key", r.stderr)
        self.assertEqual(self.c.ctl_json("job", "list", "--host", self.id), [])

    def test_2_a_job_inserted_into_the_collectors_storage_is_refused(self):
        status_before = read(self.dpkg_status)
        self.intrude("intruder-1", "--", "/usr/bin/touch", self.marker)
        j = self.wait_job("intruder-1")
        self.assertEqual(j["status"], "failed", j)
        self.assertIn("carries no signed statement", j["message"])
        self.assertFalse(os.path.exists(self.marker))
        self.assertEqual(read(self.dpkg_status), status_before)
        self.assertFalse(os.path.exists(os.path.join(self.state, "jobs", "intruder-1")))
        self.assertIn("job intruder-1 refused: it carries no signed statement", self.agent.output())

    def test_3_a_signed_job_runs_once_and_its_replay_is_refused(self):
        out = os.path.join(self.c.tmp, "runs")
        j = json.loads(self.c.ctl_ok("--json", "job", "run", "--host", self.id, "--sign-key", self.release, "--",
                                     "/bin/sh", "-c", f"echo run >> {out}"))
        j = self.wait_job(j["job_id"])
        self.assertEqual(j["status"], "succeeded", j)
        self.assertEqual(read(out), "run\n")
        # The collector copies the signed job under a new id.
        self.intrude("replayed-1", "--replay-of", j["job_id"])
        r = self.wait_job("replayed-1")
        self.assertEqual(r["status"], "failed", r)
        self.assertIn("replay refused", r["message"])
        self.assertEqual(read(out), "run\n")

    def test_4_a_key_the_agent_does_not_trust_is_refused(self):
        j = json.loads(self.c.ctl_ok("--json", "job", "run", "--host", self.id, "--sign-key", self.stolen, "--",
                                     "/usr/bin/touch", self.marker))
        j = self.wait_job(j["job_id"])
        self.assertEqual(j["status"], "failed", j)
        self.assertIn("signed only by keys this agent does not trust", j["message"])
        self.assertFalse(os.path.exists(self.marker))
        self.assertEqual(installed(self.root), "(none)")


if __name__ == "__main__":
    unittest.main()
