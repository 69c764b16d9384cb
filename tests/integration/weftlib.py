"""Helpers for integration tests: start real weft-router processes on loopback, talk to them over HTTP, and log in
as WeCross's SDK does."""
import atexit
import base64
import faulthandler
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("WEFT_BIN", "build/debug/bin")
PLUGINS = os.environ.get("WEFT_PLUGINS", "build/debug/plugins")
TEST_PLUGINS = os.environ.get("WEFT_TEST_PLUGINS", "build/debug/test-plugins")
TIME_SCALE = float(os.environ.get("WEFT_TEST_TIME_SCALE", "1"))


def scaled(seconds):
    return seconds * TIME_SCALE


def ephemeral_low():
    """The lowest port the kernel hands to outgoing connections. A port at or above it can be taken by any client
    socket of a test running alongside, between a check that it is free and the bind of what is started on it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port that is free now, below the kernel's ephemeral range."""
    top = max(12000, ephemeral_low())
    for _ in range(500):
        port = random.randrange(10000, top)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free loopback port below %d" % top)


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


# Every test router gets this admin, made offline before its first start; requests carry its token.
ADMIN, ADMIN_PASSWORD = "admin", "weft-admin-pw1"
LOGIN_SALT = "1234567890~!#$%^&*()_+"


def client_hash(password):
    """What WeCross's client sends as the password: sha256hex(salt + password)."""
    return hashlib.sha256((LOGIN_SALT + password).encode()).hexdigest()


def rsa_encrypt(pub_b64, plaintext):
    """RSA PKCS#1 v1.5 encryption to the router's /auth/pub key (base64 SPKI DER), as Java's default RSA cipher does;
    by OpenSSL's command-line tool, an implementation independent of the router's. Returns base64."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write("-----BEGIN PUBLIC KEY-----\n")
        for i in range(0, len(pub_b64), 64):
            f.write(pub_b64[i:i + 64] + "\n")
        f.write("-----END PUBLIC KEY-----\n")
        pem = f.name
    try:
        out = subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-pkeyopt",
                              "rsa_padding_mode:pkcs1"], input=plaintext.encode(), capture_output=True, check=True,
                             timeout=scaled(30))
        return base64.b64encode(out.stdout).decode()
    finally:
        os.unlink(pem)


# Every router process a test started, so none outlives the test run even when a setUpClass fails half-way (then
# unittest calls no tearDownClass).
_STARTED = []


# Log files of the processes above, whose tails the watchdog prints.
_LOGS = []


@atexit.register
def _stop_leftovers():
    for proc in _STARTED:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _watchdog(seconds):
    """A test file that runs past WEFT_TEST_WATCHDOG seconds (set below ctest's timeout) prints where every thread
    waits, the processes it started that still run and the tail of their logs, then ends them and exits 1. ctest's
    own timeout kills the test without a word, so a hang would otherwise leave nothing to read."""
    faulthandler.dump_traceback_later(seconds, exit=False)

    def fire():
        time.sleep(seconds + 1)
        out = sys.stderr
        out.write("\nwatchdog: the test ran past %ss\n" % seconds)
        for proc in _STARTED:
            if proc.poll() is None:
                out.write("watchdog: still running: pid %d: %s\n" % (proc.pid, " ".join(map(str, proc.args))))
        for path in _LOGS:
            try:
                with open(path, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    f.seek(max(0, f.tell() - 4000))
                    tail = f.read().decode(errors="replace")
            except OSError:
                continue
            out.write("watchdog: tail of %s:\n%s\n" % (path, tail))
        out.flush()
        _stop_leftovers()
        os._exit(1)
    threading.Thread(target=fire, daemon=True).start()


if os.environ.get("WEFT_TEST_WATCHDOG"):
    _watchdog(float(os.environ["WEFT_TEST_WATCHDOG"]))


class Router:
    """One weft-router process with its own temp dir, config and free port."""

    def __init__(self, chains=REFCHAIN, plugin_dir=None, rpc="", accounts=("alice", "bob"), data_dir=None, router="",
                 auth="  login: true\n", prefix="", log_level="debug"):
        self.dir = tempfile.mkdtemp(prefix="weft-it-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.plugin_dir = plugin_dir or PLUGINS
        self.ready = os.path.join(self.dir, "ready")
        self.metrics_ready = os.path.join(self.dir, "metrics-ready")
        # The key that seals users' chain keys lives apart from the data directory.
        self.master_key = os.path.join(self.dir, "master.key")
        router = "  master_key_file: %s\n" % self.master_key + router
        self.log_path = os.path.join(self.dir, "router.log")
        _LOGS.append(self.log_path)
        self.config = os.path.join(self.dir, "router.yaml")
        acc = "".join("\n  - name: %s" % a for a in accounts)
        with open(self.config, "w") as f:
            f.write(
                "router:\n  zone: payment\n  data_dir: %s\n  plugin_dir: %s\n%s"
                "rpc:\n  listen: 127.0.0.1:0\n  ready_file: %s\n%s"
                "metrics:\n  listen: 127.0.0.1:0\n  ready_file: %s\n"
                "auth:\n%s"
                "log:\n  level: %s\n"
                "accounts:%s\nchains:%s"
                % (self.data_dir, os.path.abspath(self.plugin_dir), router, self.ready, rpc, self.metrics_ready, auth,
                   log_level, acc, chains)
            )
        self.proc = None
        self.address = None
        self.token = None
        self.admin_made = False
        self.prefix = prefix  # rpc.url_prefix, which the login flow's requests need too

    def key_create(self):
        """weft-router key create, once: the master key that seals users' chain keys."""
        if os.path.exists(self.master_key):
            return
        p = subprocess.run([os.path.join(BIN, "weft-router"), "-c", self.config, "key", "create"],
                           capture_output=True, text=True, timeout=scaled(60))
        assert p.returncode == 0, p.stderr

    def account_add(self, name, password, admin=False):
        """weft-router account add: makes a user offline in the router's data directory."""
        cmd = [os.path.join(BIN, "weft-router"), "-c", self.config, "account", "add", name] + (["--admin"] if admin else [])
        self.key_create()
        p = subprocess.run(cmd, input=password + "\n", capture_output=True, text=True, timeout=scaled(60))
        assert p.returncode == 0, (p.returncode, p.stderr)

    def start(self, login=True, env=None):
        if not self.admin_made:
            self.account_add(ADMIN, ADMIN_PASSWORD, admin=True)
            self.admin_made = True
        for f in (self.ready, self.metrics_ready):
            if os.path.exists(f):
                os.unlink(f)
        self.log = open(self.log_path, "ab")
        run_env = dict(os.environ)
        run_env.pop("WEFT_FAILPOINTS", None)
        run_env.update(env or {})
        self.proc = subprocess.Popen([os.path.join(BIN, "weft-router"), "-c", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=run_env)
        _STARTED.append(self.proc)

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
        self.token = self.login(ADMIN, ADMIN_PASSWORD) if login else None
        return self

    def login_answer(self, user, password, random_token=None):
        """WeCross's login flow (sheet §4): /auth/pub, /auth/authCode, then the encrypted credentials. Returns data."""
        pub = self.ok("GET", self.prefix + "/auth/pub", token=None)["pub"]
        if random_token is None:
            random_token = self.ok("GET", self.prefix + "/auth/authCode", token=None)["authCode"]["randomToken"]
        creds = json.dumps({"username": user, "password": client_hash(password), "randomToken": random_token})
        status, env = self.request("POST", self.prefix + "/auth/login", rsa_encrypt(pub, creds), token=None)
        assert status == 200 and env["errorCode"] == 0, (status, env)
        return env["data"]

    def login(self, user, password):
        data = self.login_answer(user, password)
        assert data["errorCode"] == 0, data
        return data["credential"]

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

    def request(self, method, path, data=None, body=None, timeout=30, version="1", token="admin", source=None,
                conn=None):
        """Sends one request in the RPC envelope, with the admin's token unless another (or None) is given; returns
        (http status, parsed JSON or raw text). On `conn`, a keep-alive connection to this router, when given (it is
        left open); otherwise on a connection of its own."""
        if body is None:
            envelope = {"data": data}
            if version is not None:
                envelope["version"] = version
            body = json.dumps(envelope)
        headers = {"Content-Type": "application/json"}
        if token == "admin":
            token = self.token
        if token:
            headers["Authorization"] = token
        own = conn is None
        if own:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=scaled(timeout),
                                              source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read().decode()
            try:
                return resp.status, json.loads(raw)
            except ValueError:
                return resp.status, raw
        finally:
            if own:
                conn.close()

    def ok(self, method, path, data=None, token="admin"):
        status, env = self.request(method, path, data, token=token)
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

    def wait_exit(self, timeout):
        """Waits (scaled) for the router to end by itself, e.g. at a crash failpoint; its exit status. A router still
        running after the timeout fails the test with the tail of its log, which says where it stopped."""
        try:
            code = self.proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            raise AssertionError("the router did not exit within %ss; its log ends:\n%s"
                                 % (scaled(timeout), self.log_text()[-3000:])) from None
        self.log.close()
        self.proc = None
        return code

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
