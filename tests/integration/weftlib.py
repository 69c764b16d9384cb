"""Helpers for integration tests: start real weft-router processes on loopback, talk to them over HTTP."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("WEFT_BIN", "build/debug/bin")
PLUGINS = os.environ.get("WEFT_PLUGINS", "build/debug/plugins")
TEST_PLUGINS = os.environ.get("WEFT_TEST_PLUGINS", "build/debug/test-plugins")
TIME_SCALE = float(os.environ.get("WEFT_TEST_TIME_SCALE", "1"))


def scaled(seconds):
    return seconds * TIME_SCALE


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


REFCHAIN = """
  - name: ledger1
    type: RefChain
    default_account: alice
    options:
      chain_id: 1
      block_interval_ms: 20
      resources:
        - { name: store, contract: kv }
        - { name: token, contract: asset }
"""

TESTCHAIN = """
  - name: test
    type: TestChain
    default_account: alice
"""


class Router:
    """One weft-router process with its own temp dir, config and free port."""

    def __init__(self, chains=REFCHAIN, plugin_dir=None, rpc="", accounts=("alice", "bob"), data_dir=None, router=""):
        self.dir = tempfile.mkdtemp(prefix="weft-it-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.plugin_dir = plugin_dir or PLUGINS
        self.ready = os.path.join(self.dir, "ready")
        self.metrics_ready = os.path.join(self.dir, "metrics-ready")
        self.log_path = os.path.join(self.dir, "router.log")
        self.config = os.path.join(self.dir, "router.yaml")
        acc = "".join("\n  - name: %s" % a for a in accounts)
        with open(self.config, "w") as f:
            f.write(
                "router:\n  zone: payment\n  data_dir: %s\n  plugin_dir: %s\n%s"
                "rpc:\n  listen: 127.0.0.1:0\n  ready_file: %s\n%s"
                "metrics:\n  listen: 127.0.0.1:0\n  ready_file: %s\n"
                "log:\n  level: debug\n"
                "accounts:%s\nchains:%s"
                % (self.data_dir, os.path.abspath(self.plugin_dir), router, self.ready, rpc, self.metrics_ready, acc,
                   chains)
            )
        self.proc = None
        self.address = None

    def start(self):
        for f in (self.ready, self.metrics_ready):
            if os.path.exists(f):
                os.unlink(f)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "weft-router"), "-c", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("router exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.ready):
                with open(self.ready) as f:
                    return f.read().strip()
            return None

        self.address = wait_for(ready, 30, "router ready file")
        host, port = self.address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        with open(self.metrics_ready) as f:
            self.metrics_port = int(f.read().strip().rsplit(":", 1)[1])
        return self

    def metrics(self, path="/metrics"):
        """GET on the metrics listener; returns (status, body text)."""
        conn = http.client.HTTPConnection(self.host, self.metrics_port, timeout=scaled(10))
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def request(self, method, path, data=None, body=None, timeout=30, version="1"):
        """Sends one request in the RPC envelope; returns (http status, parsed JSON or raw text)."""
        if body is None:
            envelope = {"data": data}
            if version is not None:
                envelope["version"] = version
            body = json.dumps(envelope)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=scaled(timeout))
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read().decode()
            try:
                return resp.status, json.loads(raw)
            except ValueError:
                return resp.status, raw
        finally:
            conn.close()

    def ok(self, method, path, data=None):
        status, env = self.request(method, path, data)
        assert status == 200, (status, env)
        assert env["errorCode"] == 0, env
        return env["data"]

    def connect(self):
        return socket.create_connection((self.host, self.port), timeout=scaled(10))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("router did not stop within %ss:\n%s" % (timeout, self.log_text()))
        self.log.close()
        self.proc = None
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.log.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def call_data(method, *args, **options):
    return {"method": method, "args": list(args), "options": options}
