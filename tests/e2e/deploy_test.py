#!/usr/bin/env python3
"""End-to-end staged rollouts: four real agents labelled role=web, each with
its own dpkg root (--dpkg-root) and a TCP application check on a listener
this test owns, and one collector running the rollouts. Packages are built
with dpkg-deb and pushed signed with a key made by stewardctl.

Checks, in order (each starts from the state the previous one left):
  1. a healthy rollout goes through all its waves (canary first, the next
     wave only after the health gate), every host ends at the new version;
  2. a release whose postinst fails stops at the canary, which is rolled
     back; the rollout ends rolled_back and no other host is touched;
  3. a canary that installs fine but turns unhealthy during the health
     gate is rolled back by a rollback job and the rollout pauses; abort
     (the agent accepts that rollback under the deployment's signed
     statement: every deployment here is signed with --sign-key);
  4. an artifact signed by a key no agent trusts is refused by every agent;
  5. kill -9 of the collector and of the canary's agent while the canary's
     dpkg runs: after restarts the rollout resumes and finishes, the
     canary's job ran once;
  6. a download cut by kill -9 of the agent resumes where it stopped;
  7. a version from the hosts' apt repositories (a file: repository each
     host's confined apt reads) reaches every host.
"""
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
import unittest

from jobs_test import build_deb, installed, make_dpkg_root
from steward_e2e import Cluster, wait_for

HOSTS = 4


def make_apt_repo(repo, debs, roots):
    """A flat file: repository holding `debs`, and each root set up for apt (sources.list, apt's directories)."""
    os.makedirs(repo, exist_ok=True)
    index = []
    for deb in debs:
        fields = subprocess.run(["dpkg-deb", "--field", deb], capture_output=True, text=True, check=True).stdout
        with open(deb, "rb") as f:
            data = f.read()
        name = os.path.basename(deb)
        with open(os.path.join(repo, name), "wb") as f:
            f.write(data)
        index.append(fields.rstrip("\n") + f"\nFilename: ./{name}\nSize: {len(data)}\n"
                     f"SHA256: {hashlib.sha256(data).hexdigest()}\n")
    with open(os.path.join(repo, "Packages"), "w") as f:
        f.write("\n".join(index))
    for root in roots:
        for d in ("etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d", "var/lib/apt/lists/partial",
                  "var/cache/apt/archives/partial", "var/log/apt"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        with open(os.path.join(root, "etc/apt/sources.list"), "w") as f:
            f.write(f"deb [trusted=yes] file:{repo} ./\n")


class Listener:
    """A TCP port that accepts connections: the 'application' a check watches."""

    def __init__(self, port=0):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", port))
        self.s.listen(64)
        self.port = self.s.getsockname()[1]

    def close(self):
        self.s.close()


class Deploy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        c = cls.c = Cluster()
        cls.collector = c.start_collector()
        keys = os.path.join(c.tmp, "keys")
        os.makedirs(keys)
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "release"))
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "rogue"))
        # The operator's key: signs each deployment for its hosts.
        cls.sign = ("--sign-key", os.path.join(keys, "release.key"))
        cls.sha = {}
        big = os.path.join(c.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(4 << 20))
        for v, postinst, key in (("1.0", None, "release"), ("2.0", None, "release"),
                                 ("3.0", "echo 'demo 3.0: cannot start' >&2; exit 1", "release"),
                                 ("4.0", "/bin/sleep 3", "release"), ("9.0", None, "rogue")):
            deb = build_deb(c.tmp, v, postinst)
            cls.sha[v] = c.ctl_json("artifact", "push", deb, "--sign-key", os.path.join(keys, key + ".key"))["sha256"]
        # 4 MiB of random data: a download that takes seconds at 1 MiB/s.
        deb = build_deb(c.tmp, "6.0", None, extra_file=big)
        cls.sha["6.0"] = c.ctl_json("artifact", "push", deb, "--sign-key", os.path.join(keys, "release.key"))["sha256"]
        token = c.ctl_ok("token", "create", "--uses", str(HOSTS), "--label", "role=web").strip()
        cls.root, cls.args, cls.agent, cls.listener, cls.state = {}, {}, {}, {}, {}
        for i in range(HOSTS):
            root = cls.root[i] = os.path.join(c.tmp, f"root-{i}")
            make_dpkg_root(root)
            cls.listener[i] = Listener()
            conf = os.path.join(c.tmp, f"agent-{i}.conf")
            with open(conf, "w") as f:
                f.write(f"check.app.type = tcp\ncheck.app.address = 127.0.0.1:{cls.listener[i].port}\n")
            cls.state[i] = os.path.join(c.tmp, f"state-{i}")
            cls.args[i] = (cls.state[i], "--config", conf, "--trusted-key", os.path.join(keys, "release.pub"),
                           "--dpkg-root", root, "--dpkg-status", os.path.join(root, "var/lib/dpkg/status"),
                           "--artifact-rate", "1m")
            cls.agent[i] = c.start_agent(*cls.args[i], "--enroll-token", token)
        wait_for("all agents", lambda: len([h for h in c.ctl_json("hosts") if h["connected"]]) == HOSTS)
        cls.index = {}
        for i in range(HOSTS):
            with open(os.path.join(cls.state[i], "agent.id")) as f:
                cls.index[f.read().strip()] = i
        # Every host's check reports ok before anything is deployed.
        wait_for("healthy checks", lambda: len([s for s in c.ctl_json("health")
                                                if s["check"] == "app" and s["status"] == "ok"]) == HOSTS)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        for lst in cls.listener.values():
            lst.close()

    def create(self, version, *flags):
        d = self.c.ctl_json("deploy", "create", "--artifact", self.sha[version][:12], "--target", "label:role=web",
                            *self.sign, *flags)
        self.assertTrue(d["id"].startswith("d-"), d)
        self.assertEqual(len(d["hosts"]), HOSTS)
        return d["id"]

    def status(self, dep):
        return self.c.ctl_json("deploy", "status", dep)

    def wait_state(self, dep, states, timeout=90):
        return wait_for(f"{dep} in {states}", lambda: (lambda d: d if d["state"] in states else None)(
            self.status(dep)), timeout, interval=0.5)

    def versions(self):
        return {i: installed(self.root[i]) for i in range(HOSTS)}

    def test_1_healthy_rollout_through_all_waves(self):
        plan = self.c.ctl_ok("deploy", "create", "--artifact", self.sha["1.0"], "--target", "label:role=web",
                             "--waves", "1,50%,100%", "--dry-run")
        self.assertIn("dry run: nothing was started", plan)
        self.assertEqual(self.c.ctl_json("deploy", "list"), [])
        dep = self.create("1.0", "--waves", "1,50%,100%", "--health-gate", "2s", "--max-parallel", "2")
        d = self.wait_state(dep, ("succeeded", "failed", "paused", "rolled_back"))
        self.assertEqual(d["state"], "succeeded", json.dumps(d, indent=1))
        self.assertEqual([w["hosts"] for w in d["waves"]], [1, 1, 2])
        for h in d["hosts"]:
            self.assertEqual((h["status"], h["old_version"], h["new_version"]), ("succeeded", "", "1.0"), h)
        self.assertEqual(set(self.versions().values()), {"install ok installed 1.0"})
        # Each wave started only after the previous one's health gate ended.
        for prev, nxt in zip(d["waves"], d["waves"][1:]):
            self.assertTrue(prev["gate_until"] and nxt["started"] >= prev["gate_until"], d["waves"])
        table = self.c.ctl_ok("deploy", "status", dep)
        self.assertIn(f"deployment {dep}: succeeded", table)
        self.assertIn("1 (canary)", table)

    def test_2_a_failing_canary_stops_the_rollout_and_is_rolled_back(self):
        before = self.versions()
        dep = self.create("3.0", "--waves", "1,100%", "--on-failure", "abort", "--health-gate", "0")
        d = self.wait_state(dep, ("succeeded", "failed", "paused", "rolled_back", "aborted"))
        self.assertEqual(d["state"], "rolled_back", json.dumps(d, indent=1))
        canary = [h for h in d["hosts"] if h["wave"] == 1]
        self.assertEqual(len(canary), 1)
        self.assertEqual((canary[0]["status"], canary[0]["old_version"], canary[0]["new_version"]),
                         ("rolled_back", "1.0", "1.0"), canary[0])
        self.assertIn("dpkg could not install demo 3.0", canary[0]["message"])
        self.assertIn("wave 1 (canary): 1 of 1 hosts failed", d["message"])
        for h in d["hosts"]:
            if h["wave"] != 1:
                self.assertEqual(h["status"], "skipped", h)
        self.assertEqual(self.versions(), before)
        # A script waiting with --watch --json: one compact object per line,
        # and a non-zero exit for an unsuccessful end.
        r = self.c.ctl("deploy", "status", dep, "--watch", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertEqual(json.loads(lines[0])["state"], "rolled_back")
        self.assertIn(f"deployment {dep} ended rolled_back", r.stderr)

    def test_3_an_unhealthy_canary_fails_the_gate_and_is_rolled_back(self):
        dep = self.create("2.0", "--waves", "1,100%", "--health-gate", "30s")
        d = wait_for("canary succeeded", lambda: (lambda d: d if d["hosts"] and [
            h for h in d["hosts"] if h["wave"] == 1 and h["status"] == "succeeded"] else None)(self.status(dep)),
            60, interval=0.3)
        canary = [h for h in d["hosts"] if h["wave"] == 1][0]
        i = self.index[canary["agent_id"]]
        self.assertEqual(installed(self.root[i]), "install ok installed 2.0")
        self.listener[i].close()  # the application stops answering
        d = self.wait_state(dep, ("paused", "failed", "rolled_back", "succeeded"))
        self.assertEqual(d["state"], "paused", json.dumps(d, indent=1))
        canary = [h for h in d["hosts"] if h["wave"] == 1][0]
        self.assertEqual((canary["status"], canary["new_version"]), ("rolled_back", "1.0"), canary)
        self.assertIn("health gate: check app is down", canary["message"])
        self.assertIn("rolled back to 1.0", canary["message"])
        self.assertTrue(canary["rollback_job_id"])
        self.assertEqual(installed(self.root[i]), "install ok installed 1.0")
        self.assertEqual([h["status"] for h in d["hosts"] if h["wave"] == 2], ["pending"] * (HOSTS - 1))
        self.listener[i] = Listener(self.listener[i].port)
        r = self.c.ctl("artifact", "rm", self.sha["2.0"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("is used by a deployment that has not finished", r.stderr)
        d = self.c.ctl_json("deploy", "abort", dep)
        self.assertEqual(d["state"], "aborted")
        self.assertEqual([h["status"] for h in d["hosts"] if h["wave"] == 2], ["skipped"] * (HOSTS - 1))
        r = self.c.ctl("deploy", "resume", dep)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not paused", r.stderr)
        self.assertEqual(set(self.versions().values()), {"install ok installed 1.0"})

    def test_4_an_untrusted_signature_is_refused_before_any_job(self):
        # Every agent says in its Hello which keys it trusts, so the collector
        # refuses a deployment no connected host would accept. (The agents'
        # own refusal, which is what protects a host: artifact_fetcher_test,
        # signed_jobs_test.)
        r = self.c.ctl("deploy", "create", "--artifact", self.sha["9.0"][:12], "--target", "label:role=web",
                       *self.sign, "--waves", "100%", "--error-threshold", "100%", "--health-gate", "0")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no connected target host would install artifact demo 9.0", r.stderr)
        self.assertIn("--sign-key", r.stderr)
        self.assertEqual(set(self.versions().values()), {"install ok installed 1.0"})

    def test_5_kill_9_of_collector_and_agent_mid_rollout(self):
        dep = self.create("4.0", "--waves", "1,100%", "--health-gate", "1s")
        d = wait_for("the canary's job", lambda: (lambda d: d if [
            h for h in d["hosts"] if h["wave"] == 1 and h["status"] == "running"] else None)(self.status(dep)), 30,
            interval=0.2)
        canary = [h for h in d["hosts"] if h["wave"] == 1][0]
        i = self.index[canary["agent_id"]]
        wait_for("dpkg running v4's postinst", lambda: installed(self.root[i]) in (
            "install ok unpacked 4.0", "install ok half-configured 4.0"), timeout=30, interval=0.05)
        self.collector.p.send_signal(signal.SIGKILL)
        self.agent[i].p.send_signal(signal.SIGKILL)
        self.collector.p.wait()
        self.agent[i].p.wait()
        self.collector = self.c.start_collector(listen=self.c.address)
        self.agent[i] = self.c.start_agent(*self.args[i])
        d = self.wait_state(dep, ("succeeded", "failed", "paused", "rolled_back"), timeout=120)
        self.assertEqual(d["state"], "succeeded", json.dumps(d, indent=1))
        for h in d["hosts"]:
            self.assertEqual((h["status"], h["old_version"], h["new_version"]), ("succeeded", "1.0", "4.0"), h)
        self.assertEqual(set(self.versions().values()), {"install ok installed 4.0"})
        jobs = [j for j in self.c.ctl_json("job", "list", "--host", canary["agent_id"]) if j["job_id"].startswith(dep)]
        self.assertEqual([j["job_id"] for j in jobs], [dep + "-1"])
        self.assertIn(f"job {dep}-1: resuming (CHANGING)", self.agent[i].output())

    def test_6_an_interrupted_download_resumes(self):
        dep = self.create("6.0", "--waves", "100%", "--max-parallel", "1", "--health-gate", "0")
        d = wait_for("a host downloading", lambda: (lambda d: d if [
            h for h in d["hosts"] if h["status"] == "running"] else None)(self.status(dep)), 30, interval=0.2)
        host = [h for h in d["hosts"] if h["status"] == "running"][0]
        i = self.index[host["agent_id"]]
        part = os.path.join(self.state[i], "artifacts", self.sha["6.0"] + ".part")
        wait_for("some bytes downloaded", lambda: os.path.exists(part) and os.path.getsize(part) > (1 << 20),
                 timeout=30, interval=0.05)
        self.agent[i].p.send_signal(signal.SIGKILL)
        self.agent[i].p.wait()
        kept = os.path.getsize(part)
        self.agent[i] = self.c.start_agent(*self.args[i])
        d = self.wait_state(dep, ("succeeded", "failed", "paused", "rolled_back"), timeout=180)
        self.assertEqual(d["state"], "succeeded", json.dumps(d, indent=1))
        out = self.agent[i].output()
        self.assertIn(f"artifact {self.sha['6.0'][:12]}: resuming the download at byte", out)
        at = int(out.split(f"artifact {self.sha['6.0'][:12]}: resuming the download at byte ")[1].split()[0])
        self.assertGreaterEqual(at, kept)
        self.assertEqual(set(self.versions().values()), {"install ok installed 6.0"})
        # The artifact cannot go while a deployment uses it; now it can.
        r = self.c.ctl("artifact", "rm", self.sha["6.0"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_7_a_package_from_the_repositories(self):
        make_apt_repo(os.path.join(self.c.tmp, "repo"), [build_deb(self.c.tmp, "7.0")],
                      [self.root[i] for i in range(HOSTS)])
        d = self.c.ctl_json("deploy", "create", "--package", "demo=7.0", "--target", "label:role=web",
                            "--waves", "1,100%", "--health-gate", "0", *self.sign)
        self.assertEqual((d["package"], d["version"], d["apt_package"]), ("demo", "7.0", "demo=7.0"))
        d = self.wait_state(d["id"], ("succeeded", "failed", "paused", "rolled_back"), timeout=120)
        self.assertEqual(d["state"], "succeeded", json.dumps(d, indent=1))
        for h in d["hosts"]:
            self.assertEqual((h["status"], h["old_version"], h["new_version"]), ("succeeded", "6.0", "7.0"), h)
        self.assertEqual(set(self.versions().values()), {"install ok installed 7.0"})


if __name__ == "__main__":
    unittest.main()
