#!/usr/bin/env python3
"""End-to-end jobs: a publisher key made with stewardctl, .debs built with
dpkg-deb (a good v1 and v2, a v3 whose postinst fails, a v4 whose postinst
takes a while), pushed signed, and installed by real agents into their own
dpkg roots (--dpkg-root, so the test machine's packages are untouched).

Every job is signed (--sign-key) with a key its agent trusts.
Checks: installs and upgrades report old and new versions and show in the
inventory; the bad release is rolled back on its host; an agent that does
not trust the publisher refuses the artifact; a job for an agent that is
down arrives when it comes back; an agent killed with -9 in the middle of
dpkg finishes the job after its restart, reporting it once.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import unittest

from steward_e2e import Cluster, wait_for


def make_dpkg_root(root):
    """An empty dpkg database and a /bin/sh (dash and its libraries) for maintainer scripts."""
    os.makedirs(os.path.join(root, "var/lib/dpkg/updates"))
    os.makedirs(os.path.join(root, "var/lib/dpkg/info"))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy("/bin/dash", os.path.join(root, "bin/sh"))
    shutil.copy("/bin/sleep", os.path.join(root, "bin/sleep"))
    for tool in ("/bin/dash", "/bin/sleep"):
        ldd = subprocess.run(["ldd", tool], capture_output=True, text=True, check=True).stdout
        for lib in re.findall(r"(/\S+)", ldd):
            dest = os.path.join(root, lib.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(lib, dest)


def build_deb(tmp, version, postinst=None, name="demo", extra_file=None):
    tree = os.path.join(tmp, f"tree-{name}-{version}")
    os.makedirs(os.path.join(tree, "DEBIAN"))
    os.makedirs(os.path.join(tree, "usr/share", name))
    with open(os.path.join(tree, "DEBIAN/control"), "w") as f:
        f.write(f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
                "Maintainer: Steward tests <tests@example.net>\nDescription: e2e package\n")
    if postinst:
        path = os.path.join(tree, "DEBIAN/postinst")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + postinst + "\n")
        os.chmod(path, 0o755)
    with open(os.path.join(tree, "usr/share", name, "version"), "w") as f:
        f.write(version + "\n")
    if extra_file:
        shutil.copy(extra_file, os.path.join(tree, "usr/share", name, "data.bin"))
    out = os.path.join(tmp, f"{name}_{version}_all.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", tree, out], check=True, capture_output=True)
    return out


def installed(root, name="demo"):
    r = subprocess.run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Status} ${Version}", name],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "(none)"


class Jobs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        c = cls.c = Cluster()
        c.start_collector()
        keys = os.path.join(c.tmp, "keys")
        os.makedirs(keys)
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "release"))
        c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "other"))
        cls.sha = {}
        for v, postinst in (("1.0", None), ("2.0", None), ("3.0", "echo 'demo 3.0: cannot start' >&2; exit 1"),
                            ("4.0", "/bin/sleep 4")):
            deb = build_deb(c.tmp, v, postinst)
            cls.sha[v] = c.ctl_json("artifact", "push", deb, "--sign-key", os.path.join(keys, "release.key"))["sha256"]
        token = c.ctl_ok("token", "create", "--uses", "2").strip()
        cls.root = {}
        cls.agent = {}
        cls.args = {}
        # Jobs are signed with a key each agent trusts (the stranger trusts
        # only "other", so the artifacts, signed "release", are what it refuses).
        cls.sign = {"trusting": ("--sign-key", os.path.join(keys, "release.key")),
                    "stranger": ("--sign-key", os.path.join(keys, "other.key"))}
        for name, key in (("trusting", "release.pub"), ("stranger", "other.pub")):
            root = cls.root[name] = os.path.join(c.tmp, f"root-{name}")
            make_dpkg_root(root)
            cls.args[name] = (os.path.join(c.tmp, f"state-{name}"), "--trusted-key", os.path.join(keys, key),
                              "--dpkg-root", root, "--dpkg-status", os.path.join(root, "var/lib/dpkg/status"))
            cls.agent[name] = c.start_agent(*cls.args[name], "--enroll-token", token)
        wait_for("both agents", lambda: len([h for h in c.ctl_json("hosts") if h["connected"]]) == 2)
        ids = {}
        for h in c.ctl_json("hosts"):
            ids[h["agent_id"]] = h
        # Which id is which: the state directory holds the agent id.
        cls.id = {}
        for name in ("trusting", "stranger"):
            with open(os.path.join(c.tmp, f"state-{name}", "agent.id")) as f:
                cls.id[name] = f.read().strip()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def run_job(self, host, version, *extra):
        job = self.c.ctl_json("job", "run", "--host", self.id[host], "--artifact", self.sha[version][:10],
                              *self.sign[host], *extra)
        self.assertEqual(job["status"], "pending")
        return job["job_id"]

    def wait_job(self, host, job_id, timeout=60):
        def done():
            jobs = self.c.ctl_json("job", "list", "--host", self.id[host], "--job", job_id)
            return jobs[0] if jobs and jobs[0]["status"] not in ("pending", "running") else None
        return wait_for(f"job {job_id}", done, timeout)

    def test_1_install_upgrade_and_a_bad_release_rolled_back(self):
        j1 = self.wait_job("trusting", self.run_job("trusting", "1.0"))
        self.assertEqual((j1["status"], j1["old_version"], j1["new_version"]), ("succeeded", "", "1.0"), j1)
        self.assertEqual(installed(self.root["trusting"]), "install ok installed 1.0")
        # The inventory follows: the agent reads the same dpkg database.
        wait_for("inventory shows 1.0", lambda: [s for s in self.c.ctl_json(
            "software", "--host", self.id["trusting"], "--name", "demo") if s["version"] == "1.0"])
        j2 = self.wait_job("trusting", self.run_job("trusting", "2.0", "--rollback-on-failure"))
        self.assertEqual((j2["status"], j2["old_version"], j2["new_version"]), ("succeeded", "1.0", "2.0"), j2)
        j3 = self.wait_job("trusting", self.run_job("trusting", "3.0", "--rollback-on-failure"))
        self.assertEqual(j3["status"], "rolled_back", j3)
        self.assertEqual((j3["old_version"], j3["new_version"]), ("2.0", "2.0"))
        self.assertIn("dpkg could not install demo 3.0 (exit 1)", j3["message"])
        self.assertIn("demo 3.0: cannot start", j3["output"])
        self.assertEqual(installed(self.root["trusting"]), "install ok installed 2.0")
        table = self.c.ctl_ok("job", "list", "--host", self.id["trusting"])
        self.assertRegex(table, r"rolled_back\s+demo\s+2\.0\s+2\.0")
        # Jobs name their host by hostname next to the id, in the table and in JSON.
        hostname = [h for h in self.c.ctl_json("hosts") if h["agent_id"] == self.id["trusting"]][0]["hostname"]
        self.assertTrue(hostname)
        self.assertIn("HOSTNAME", table.splitlines()[0])
        self.assertRegex(table, rf"{j3['job_id']}\s+{hostname}\s+{self.id['trusting']}\s+rolled_back")
        jobs = self.c.ctl_json("job", "list", "--host", self.id["trusting"])
        self.assertEqual({j["hostname"] for j in jobs}, {hostname})

    def test_2_an_untrusted_publisher_is_refused(self):
        # The stranger said in its Hello which keys it trusts: the collector
        # refuses the job at once (the agent's own refusal: test_3).
        r = self.c.ctl("job", "run", "--host", self.id["stranger"], "--artifact", self.sha["1.0"][:10],
                       *self.sign["stranger"], "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no connected target host would install artifact demo 1.0", r.stderr)
        self.assertIn("does not trust", r.stderr)
        self.assertEqual(installed(self.root["stranger"]), "(none)")

    def test_3_a_job_for_a_host_that_is_down_arrives_when_it_is_back(self):
        self.agent["stranger"].stop()
        wait_for("stranger offline", lambda: not [h for h in self.c.ctl_json("hosts")
                                                  if h["agent_id"] == self.id["stranger"] and h["connected"]])
        # The collector cannot know yet whether the offline host accepts the
        # artifact: the job is queued, with a warning on stderr (stdout stays JSON).
        r = self.c.ctl("job", "run", "--host", self.id["stranger"], "--artifact", self.sha["2.0"][:10],
                       *self.sign["stranger"], "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"^warning: 1 host offline; whether they accept it is known when they connect")
        job_id = json.loads(r.stdout)["job_id"]
        self.assertEqual(self.c.ctl_json("job", "list", "--job", job_id, "--host", self.id["stranger"])[0]["status"],
                         "pending")
        self.agent["stranger"] = self.c.start_agent(*self.args["stranger"])
        j = self.wait_job("stranger", job_id)
        # Queued while it was offline (what it trusts was unknown), delivered,
        # and refused by the agent: it does not trust the key.
        self.assertEqual(j["status"], "failed", j)
        self.assertIn("signed only by keys this agent does not trust", j["message"])
        self.assertEqual(installed(self.root["stranger"]), "(none)")
        artifacts = os.path.join(self.c.tmp, "state-stranger", "artifacts")
        self.assertFalse(os.path.isdir(artifacts) and [f for f in os.listdir(artifacts)
                                                       if f.startswith(self.sha["2.0"])])

    def test_4_kill_9_in_the_middle_of_dpkg(self):
        job_id = self.run_job("trusting", "4.0")
        log = self.agent["trusting"].log_path
        # dpkg is running v4's postinst (it sleeps 4 s): unpacked, not configured yet.
        wait_for("dpkg running v4's postinst", lambda: installed(self.root["trusting"]) in (
            "install ok unpacked 4.0", "install ok half-configured 4.0"), timeout=30, interval=0.05)
        self.agent["trusting"].p.send_signal(signal.SIGKILL)
        self.agent["trusting"].p.wait()
        self.agent["trusting"] = self.c.start_agent(*self.args["trusting"])
        j = self.wait_job("trusting", job_id, timeout=90)
        self.assertEqual((j["status"], j["old_version"], j["new_version"]), ("succeeded", "2.0", "4.0"), j)
        self.assertEqual(installed(self.root["trusting"]), "install ok installed 4.0")
        # The restarted agent resumed the job from its record.
        self.assertIn(f"job {job_id}: resuming (CHANGING)", self.agent["trusting"].output())
        with open(log, errors="replace") as f:
            self.assertNotIn(f"job {job_id}: JOB_", f.read())  # the killed one never finished it

    def test_5_script_config_file_and_removal(self):
        host = self.id["trusting"]
        sign = self.sign["trusting"]
        # A program with arguments that a shell would have expanded: they arrive verbatim.
        j = json.loads(self.c.ctl_ok("--json", "job", "run", "--host", host, *sign, "--", "/bin/echo", "$(id -u)", ";", "&&"))
        j = self.wait_job("trusting", j["job_id"])
        self.assertEqual((j["status"], j["exit_code"], j["output"]), ("succeeded", 0, "$(id -u) ; &&\n"), j)
        j = self.wait_job("trusting", json.loads(self.c.ctl_ok("--json", "job", "run", "--host", host, *sign,
                                                               "--script-timeout", "1s", "--", "/bin/sleep", "20"))["job_id"])
        self.assertEqual(j["status"], "failed")
        self.assertIn("ran longer than 1s, killed", j["message"])
        # A config file, then undone.
        conf = os.path.join(self.c.tmp, "app.conf")
        with open(conf, "w") as f:
            f.write("port = 80\n")
        new = os.path.join(self.c.tmp, "app.conf.new")
        with open(new, "w") as f:
            f.write("port = 8080\n")
        j = self.wait_job("trusting", self.c.ctl_json("job", "run", "--host", host, *sign, "--write-config", conf,
                                                      "--from", new, "--mode", "0640")["job_id"])
        self.assertEqual(j["status"], "succeeded", j)
        with open(conf) as f:
            self.assertEqual(f.read(), "port = 8080\n")
        self.assertEqual(os.stat(conf).st_mode & 0o7777, 0o640)
        rb = self.wait_job("trusting", self.c.ctl_json("job", "rollback", "--host", host, *sign, "--of", j["job_id"])["job_id"])
        self.assertEqual(rb["status"], "rolled_back", rb)
        with open(conf) as f:
            self.assertEqual(f.read(), "port = 80\n")
        # Removal, then reinstalled from the kept package by a rollback.
        before = installed(self.root["trusting"])
        self.assertTrue(before.startswith("install ok installed "), before)
        rm = self.wait_job("trusting", self.c.ctl_json("job", "run", "--host", host, *sign, "--remove", "demo")["job_id"])
        self.assertEqual((rm["status"], rm["new_version"]), ("succeeded", ""), rm)
        self.assertEqual(installed(self.root["trusting"]), "(none)")
        rb = self.wait_job("trusting", self.c.ctl_json("job", "rollback", "--host", host, *sign, "--of", rm["job_id"])["job_id"])
        self.assertEqual(rb["status"], "rolled_back", rb)
        self.assertEqual(installed(self.root["trusting"]), before)
        # Refused by stewardctl before any call: not an absolute program.
        r = self.c.ctl("job", "run", "--host", host, *sign, "--", "echo", "hi")
        self.assertEqual(r.returncode, 2)
        self.assertIn("must be an absolute path", r.stderr)


if __name__ == "__main__":
    unittest.main()
