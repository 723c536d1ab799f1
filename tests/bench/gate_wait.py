#!/usr/bin/env python3
"""A real rollout's health gate: one agent at the default 10 s interval with
a tcp check, `deploy create --waves 100% --health-gate 20s`; prints how long
from create to `succeeded` and from the job's end to `succeeded`.
Run through tests/bench/run gate [RUNS] (it sets the binaries)."""
import datetime, os, socket, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from jobs_test import build_deb, make_dpkg_root
from steward_e2e import Cluster, wait_for

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
c = Cluster()
try:
    c.start_collector()
    keys = os.path.join(c.tmp, "keys"); os.makedirs(keys)
    c.ctl_ok("keys", "generate", "--out", os.path.join(keys, "release"))
    sign = ("--sign-key", os.path.join(keys, "release.key"))
    root = os.path.join(c.tmp, "root"); make_dpkg_root(root)
    conf = os.path.join(c.tmp, "agent.conf")
    with open(conf, "w") as f:
        f.write(f"check.app.type = tcp\ncheck.app.address = 127.0.0.1:{srv.getsockname()[1]}\nservices.enabled = false\n")
    token = c.ctl_ok("token", "create", "--label", "role=web").strip()
    c.start_agent(os.path.join(c.tmp, "state"), "--config", conf, "--trusted-key", os.path.join(keys, "release.pub"),
                  "--dpkg-root", root, "--dpkg-status", os.path.join(root, "var/lib/dpkg/status"),
                  "--enroll-token", token, interval="10s")
    wait_for("healthy", lambda: [s for s in c.ctl_json("health") if s["status"] == "ok"], 60)
    waits = []
    for i in range(runs):
        sha = c.ctl_json("artifact", "push", build_deb(c.tmp, f"{i + 1}.0"), *sign)["sha256"]
        t0 = time.time()
        dep = c.ctl_json("deploy", "create", "--artifact", sha[:12], "--target", "label:role=web", "--waves", "100%",
                         "--health-gate", "20s", *sign)["id"]
        wait_for("succeeded", lambda: c.ctl_json("deploy", "status", dep)["state"] == "succeeded", 180, interval=0.2)
        t1 = time.time()
        job = c.ctl_json("job", "list")[0]
        fin = datetime.datetime.fromisoformat(job["finished"].replace("Z", "+00:00")).timestamp()
        print(f"run {i + 1}: create -> succeeded {t1 - t0:.1f} s; job end -> succeeded {t1 - fin:.1f} s "
              f"(20 s gate; job end has whole seconds)", flush=True)
        waits.append(t1 - fin)
    print(f"RESULT gate_s=20 runs={runs} job_end_to_succeeded_s_max={max(waits):.1f} "
          f"job_end_to_succeeded_s_mean={sum(waits) / len(waits):.1f}", flush=True)
finally:
    c.close()
