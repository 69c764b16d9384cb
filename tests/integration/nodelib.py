"""A weft-node network on loopback for tests and benchmarks: lays it out with `weft-node init-network`, starts and
stops nodes, and speaks the client API (u32 big-endian length + JSON)."""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile

from weftlib import _LOGS, _STARTED, BIN, ephemeral_low, scaled, wait_for

NODE = os.path.join(BIN, "weft-node")
# Short intervals so faults show within seconds; round timeouts scale with the machine.
TUNING = "block_interval_ms: 20\nempty_block_interval_ms: 300\nround_timeout_ms: %d\n"


def free_base_port():
    """A base port whose peer ports (base+i) and client ports (base+100+i) are all free right now, below the
    kernel's ephemeral range."""
    top = max(12000, ephemeral_low() - 200)
    for _ in range(200):
        base = random.randrange(10000, top)
        socks = []
        try:
            for p in [base + i for i in range(4)] + [base + 100 + i for i in range(4)]:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port range")


class Client:
    """The client API: u32 big-endian length + JSON, one request at a time."""

    def __init__(self, address, timeout=10):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=scaled(timeout))
        self.next_id = 1

    def close(self):
        self.sock.close()

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("node closed the connection")
            data += chunk
        return data

    def request(self, op, **fields):
        fields.update(id=self.next_id, op=op)
        self.next_id += 1
        body = json.dumps(fields).encode()
        self.sock.sendall(struct.pack(">I", len(body)) + body)
        (n,) = struct.unpack(">I", self._read(4))
        return json.loads(self._read(n))

    def ok(self, op, **fields):
        answer = self.request(op, **fields)
        assert answer["status"] == 0, answer
        return answer["result"]


class Network:
    def __init__(self, n=4):
        self.dir = tempfile.mkdtemp(prefix="weft-node-it-")
        self.base = free_base_port()
        out = subprocess.run([NODE, "init-network", "--validators", str(n), "--dir", self.dir, "--host", "127.0.0.1",
                              "--base-port", str(self.base), "--chain-id", "5"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        for i in range(n):
            with open(self.config(i), "a") as f:
                f.write(TUNING % int(scaled(300)))
        self.procs = [None] * n
        self.logs = [None] * n
        self.key = os.path.join(self.dir, "alice.key")
        subprocess.run([NODE, "new-key", "--key", self.key], check=True, capture_output=True)

    def config(self, i):
        return os.path.join(self.dir, "node%d" % i, "node.yaml")

    def client_address(self, i):
        return "127.0.0.1:%d" % (self.base + 100 + i)

    def peer_port(self, i):
        return self.base + i

    def start(self, i):
        ready = os.path.join(self.dir, "node%d" % i, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.logs[i] = open(os.path.join(self.dir, "node%d.log" % i), "ab")
        _LOGS.append(self.logs[i].name)
        self.procs[i] = subprocess.Popen([NODE, "run", "-c", self.config(i)], stdout=self.logs[i],
                                         stderr=subprocess.STDOUT)
        _STARTED.append(self.procs[i])  # ended at exit if a test leaves it running

        def up():
            if self.procs[i].poll() is not None:
                raise AssertionError("node %d exited with %s:\n%s" % (i, self.procs[i].returncode, self.log(i)))
            return os.path.exists(ready)

        wait_for(up, 30, "node %d ready file" % i)

    def start_all(self):
        for i in range(len(self.procs)):
            self.start(i)

    def stop(self, i, sig=signal.SIGTERM):
        p = self.procs[i]
        if p is None:
            return None
        p.send_signal(sig)
        try:
            code = p.wait(timeout=scaled(20))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("node %d did not stop:\n%s" % (i, self.log(i)))
        self.procs[i] = None
        self.logs[i].close()
        return code

    def log(self, i):
        try:
            with open(os.path.join(self.dir, "node%d.log" % i), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def cleanup(self):
        for i, p in enumerate(self.procs):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
            if self.logs[i] is not None:
                self.logs[i].close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def ask(self, i, op, **fields):
        c = Client(self.client_address(i))
        try:
            return c.ok(op, **fields)
        finally:
            c.close()

    def receipt_status(self, i, tx_hash):
        c = Client(self.client_address(i))
        try:
            return c.request("get_receipt", hash=tx_hash)["status"]
        finally:
            c.close()

    def height(self, i):
        return self.ask(i, "block_height")["height"]

    def running(self):
        return [i for i, p in enumerate(self.procs) if p is not None]

    def send(self, via, *args, wait_ms=20000):
        clients = ",".join(self.client_address(i) for i in via)
        out = subprocess.run([NODE, "send", "--client", clients, "--key", self.key, "--wait-ms", str(int(scaled(wait_ms)))]
                             + list(args), capture_output=True, text=True, timeout=scaled(60))
        assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
        return json.loads(out.stdout)

    def wait_height(self, nodes, height, timeout=30):
        wait_for(lambda: all(self.height(i) >= height for i in nodes), timeout,
                 "height %d on nodes %s" % (height, nodes))

    def assert_same_chain(self, nodes, upto):
        for number in range(1, upto + 1):
            hashes = {self.ask(i, "get_block", number=number)["hash"] for i in nodes}
            assert len(hashes) == 1, "block %d differs: %s" % (number, hashes)
