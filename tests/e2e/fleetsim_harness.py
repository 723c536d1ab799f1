"""steward-fleetsim in end-to-end tests: start it against a Cluster, read
its FLEETSIM stats lines, and check its --ledger point by point against
what the collector returns."""
import os

from steward_e2e import Proc

SIM = os.environ.get("STEWARD_FLEETSIM")


def require_sim():
    if not SIM or not os.access(SIM, os.X_OK):
        raise RuntimeError("STEWARD_FLEETSIM must name the built steward-fleetsim")


def last_stats(proc):
    lines = [l for l in proc.output().splitlines() if l.startswith("FLEETSIM ")]
    if not lines:
        return {}
    return dict(kv.split("=", 1) for kv in lines[-1].split()[1:])


def start_sim(cluster, agents, packages, *extra, name="fleetsim", wrap=(), address=None):
    """Simulated agents with tokens of their own, stats every 500 ms and a
    ledger at CLUSTER.tmp/NAME.ledger. wrap: a command prefix (e.g. `ip
    netns exec NS`)."""
    tokens = os.path.join(cluster.tmp, f"{name}.tokens")
    with open(tokens, "w") as f:
        for _ in range(max(1, agents // 50 + 1)):
            f.write(cluster.ctl_ok("token", "create", "--uses", "100").strip() + "\n")
    sim = Proc([*wrap, SIM, "--collector", address or cluster.address,
                "--ca-file", os.path.join(cluster.data, "ca.pem"), "--tokens", tokens,
                "--state-dir", os.path.join(cluster.tmp, name), "--agents", str(agents),
                "--interval", "1s", "--packages", str(packages), "--stats-every", "500ms",
                "--ledger", ledger_path(cluster, name), *extra],
               os.path.join(cluster.tmp, f"{name}.log"))
    cluster.procs.insert(0, sim)  # stopped before the collector
    return sim


def ledger_path(cluster, name="fleetsim"):
    return os.path.join(cluster.tmp, f"{name}.ledger")


def read_ledger(path):
    """{hostname: [batch times, ms]} created, and applied by the collector."""
    kinds = read_ledger_kinds(path)
    return ({h: [int(t) for t in v] for h, v in kinds.get("created", {}).items()},
            {h: [int(t) for t in v] for h, v in kinds.get("delivered", {}).items()})


def read_ledger_kinds(path):
    """{kind: {hostname: [words]}}: created/delivered (batch times),
    upgrades_created/upgrades_applied (NAME=VERSION), jobs_created/
    jobs_applied (JOB_ID=STATUS)."""
    kinds = {}
    with open(path) as f:
        for line in f:
            host, what, *words = line.split()
            kinds.setdefault(what, {})[host] = words
    return kinds


def stored_points(cluster, agent_id):
    series = cluster.ctl_json("metrics", "--host", agent_id, "--metric", "steward_load1", "--since", "1h")
    return [round(p[0] * 1000) for s in series for p in s["points"]]


def check_ledger(test, cluster, path, names=None, created_before_ms=None):
    """Point by point: every batch the collector applied (acked, or said
    applied in a Welcome) is stored once, and nothing is stored that no
    batch carried. With created_before_ms, also every batch created before
    that time was applied (nothing the agents buffered was lost). Returns
    the number of points compared."""
    created, delivered = read_ledger(path)
    by_name = {h["hostname"]: h["agent_id"] for h in cluster.ctl_json("hosts")}
    compared = 0
    for name in names if names is not None else sorted(created):
        stored = stored_points(cluster, by_name[name])
        test.assertEqual(len(stored), len(set(stored)), f"{name}: a point stored twice")
        test.assertGreater(len(delivered.get(name, [])), 5, name)
        missing = sorted(set(delivered[name]) - set(stored))
        test.assertEqual(missing, [], f"{name}: applied batches missing from the store")
        phantom = sorted(set(stored) - set(created[name]))
        test.assertEqual(phantom, [], f"{name}: stored points no batch had")
        if created_before_ms is not None:
            lost = sorted(t for t in created[name] if t < created_before_ms and t not in set(delivered[name]))
            test.assertEqual(lost, [], f"{name}: batches created before {created_before_ms} never applied")
        compared += len(stored)
    return compared
