#!/usr/bin/env python3
"""What the binaries say about themselves and about a broken setup.

`--version` on steward-agent and steward-collector (one line on stdout,
exit 0, listed in --help). stewardctl with a damaged admin.conf, a
credential of another collector (the TLS handshake fails) or an address
where no collector listens: the error is stewardctl's own, and none of
gRPC's log lines ("E1206 12:00:00.123 ... ssl_transport_security.cc:1495]
Handshake failed ...") reaches the terminal at the default log level.
"""
import base64
import os
import re
import socket
import subprocess
import unittest

from steward_e2e import AGENT, COLLECTOR, CTL, Cluster

VERSION = re.compile(r"^(steward-agent|steward-collector) \d+\.\d+\.\d+ "
                     r"\(commit ([0-9a-f]{7,}(-dirty)?|unknown), \w+, protocol 1\)\n$")
# gRPC's gpr log format: severity, MMDD, time, thread id, file:line]
GRPC_LINE = re.compile(r"^[DIWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.M)


class Version(unittest.TestCase):
    def test_version_is_one_line_on_stdout_and_in_help(self):
        for binary, name in ((AGENT, "steward-agent"), (COLLECTOR, "steward-collector")):
            r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, VERSION)
            self.assertTrue(r.stdout.startswith(name + " "), r.stdout)
            self.assertEqual(r.stderr, "")
            help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30).stdout
            self.assertIn("--version", help_text)
        agent = subprocess.run([AGENT, "--version"], capture_output=True, text=True).stdout
        collector = subprocess.run([COLLECTOR, "--version"], capture_output=True, text=True).stdout
        self.assertEqual(agent.split(" ", 1)[1], collector.split(" ", 1)[1], "one build, one version line")


def replace_key(conf, key, value):
    return re.sub(rf"^{key} = .*$", f"{key} = {value}", conf, flags=re.M)


class StewardctlDiagnostics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        cls.c.start_collector()
        with open(cls.c.admin) as f:
            cls.conf = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def run_with(self, conf, name):
        path = os.path.join(self.c.tmp, name)
        with open(path, "w") as f:
            f.write(conf)
        os.chmod(path, 0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
        r = subprocess.run([CTL, "--config", path, "hosts"], capture_output=True, text=True, timeout=60, env=env)
        self.assertIsNone(GRPC_LINE.search(r.stderr), f"gRPC's log reached the terminal:\n{r.stderr}")
        self.assertEqual(r.stdout, "")
        return path, r

    def test_damaged_certificate_is_named_exit_2(self):
        pem = base64.b64decode(re.search(r"^cert_data = (\S+)$", self.conf, re.M).group(1)).decode()
        lines = pem.splitlines()
        cut = "\n".join(lines[:len(lines) // 2] + lines[-1:]) + "\n"
        path, r = self.run_with(replace_key(self.conf, "cert_data", base64.b64encode(cut.encode()).decode()),
                                "damaged.conf")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"the admin credential in {path} is not a valid certificate (cert_data: ", r.stderr)
        self.assertNotIn("cannot reach", r.stderr)

    def test_credential_of_another_collector_fails_the_handshake_quietly(self):
        # A CA that did not sign the collector's certificate: gRPC logs the
        # failed handshake at ERROR; stewardctl says what it can.
        ca_key = os.path.join(self.c.tmp, "other-ca.key")
        ca_crt = os.path.join(self.c.tmp, "other-ca.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "1", "-subj", "/CN=other"],
                       check=True, capture_output=True)
        with open(ca_crt, "rb") as f:
            other_ca = base64.b64encode(f.read()).decode()
        _, r = self.run_with(replace_key(self.conf, "ca_data", other_ca), "other-ca.conf")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("error: ", r.stderr)

    def test_no_collector_at_the_address(self):
        with socket.socket() as s:
            # Bound but not listening (so no one else takes the port):
            # connections are refused.
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            _, r = self.run_with(replace_key(self.conf, "collector", f"127.0.0.1:{port}"), "nobody.conf")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"cannot reach the collector at 127.0.0.1:{port}", r.stderr)


if __name__ == "__main__":
    unittest.main()
