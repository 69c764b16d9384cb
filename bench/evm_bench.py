"""EVM adapter benchmark: sendTransaction and call through the router to a real anvil node, against the same work
sent straight to anvil, same run, same client code, same node. Direct sends are transactions signed beforehand with
ethers (so the baseline pays no signing), sent one at a time in nonce order as the router sends an account's
transactions, each followed by the same receipt polling the adapter does (at once, again when that finds none, then
1, 2, 4 and 8 ms later, then every poll interval). The router's sends carry the same gas limit (options.gasLimit), so
it sends the same transactions; --estimate-gas has it ask the node for an estimate per send instead. Prints tx/s and
p50/p99 of each, with one client and with several, and the ratios.

A second baseline prices the hop itself: the direct work sent through nginx as a plain HTTP proxy in front of anvil
(keep-alive connections to it, one worker per router thread). Whatever a process in the middle costs on these cores,
nginx pays too.

Target (docs/performance.md "EVM adapter"): router overhead <= 1.1x, i.e. throughput >= 1/1.1 of direct."""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from weftlib import Router, call_data, free_port  # noqa: E402
import evmlib  # noqa: E402
from evmlib import Anvil, DEV_KEYS, compile_contracts, evm_chain, write_key  # noqa: E402

POLL_MS = 20
FOLLOW_UPS_MS = [0, 1, 2, 4, 8]  # the adapter's checks of a send just accepted, before the head polls take over


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))] if s else 0.0


class Client:
    """One keep-alive HTTP connection; JSON in and out."""

    def __init__(self, host, port):
        self.conn = http.client.HTTPConnection(host, port, timeout=60)

    def post(self, path, body):
        self.conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        return json.loads(resp.read())


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc/PID/stat (fields 14 and 15, in clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Context switches (voluntary and not) of every thread of a process so far, from /proc/PID/task/*/status."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total


class ReceiptWaiter:
    """The direct path's receipt polling, done as the adapter does it: every send waiting for its receipt is asked for
    in one JSON-RPC batch per check, at once, then FOLLOW_UPS_MS apart, then every POLL_MS. One thread polls for all
    senders, so a burst of sends costs a few requests rather than a few per send."""

    def __init__(self, port):
        self.conn = Client("127.0.0.1", port)
        self.cv = threading.Condition()
        self.waiting = {}  # hash -> {"event", "checks", "due", "receipt"}
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def wait(self, tx_hash):
        w = {"event": threading.Event(), "checks": 0, "due": time.perf_counter(), "receipt": None}
        with self.cv:
            self.waiting[tx_hash] = w
            self.cv.notify()
        w["event"].wait()
        return w["receipt"]

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()
        self.thread.join()

    def _run(self):
        while True:
            with self.cv:
                while not self.stopped:
                    now = time.perf_counter()
                    due = min((w["due"] for w in self.waiting.values()), default=None)
                    if due is not None and due <= now:
                        break
                    self.cv.wait(None if due is None else due - now)
                if self.stopped:
                    return
                batch = [h for h, w in self.waiting.items() if w["due"] <= now + 0.0005]
            answers = self.conn.post("/", [{"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt",
                                            "params": [h]} for i, h in enumerate(batch)])
            found = {a["id"]: a.get("result") for a in answers}
            now = time.perf_counter()
            with self.cv:
                for i, h in enumerate(batch):
                    w = self.waiting[h]
                    if found.get(i) is not None:
                        w["receipt"] = found[i]
                        del self.waiting[h]
                        w["event"].set()
                    else:
                        w["checks"] += 1
                        steps = FOLLOW_UPS_MS + [POLL_MS]
                        w["due"] = now + steps[min(w["checks"], len(steps)) - 1] / 1000


class NginxProxy:
    """nginx as a plain HTTP/1.1 proxy in front of anvil, keep-alive on both sides, access log off."""

    def __init__(self, binary, upstream_port, workers, work_dir):
        self.dir = os.path.join(work_dir, "nginx")
        os.makedirs(self.dir)
        self.port = free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("worker_processes %d;\npid %s/nginx.pid;\nerror_log %s/error.log;\ndaemon off;\n"
                    "events { worker_connections 1024; }\n"
                    "http {\n  access_log off;\n  upstream node { server 127.0.0.1:%d; keepalive 32; }\n"
                    "  server {\n    listen 127.0.0.1:%d;\n    location / {\n      proxy_pass http://node;\n"
                    "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n    }\n  }\n}\n" % (
                        workers, self.dir, self.dir, upstream_port, self.port))
        self.proc = subprocess.Popen([binary, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("nginx did not start; see %s/error.log" % self.dir)
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def find_nginx():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def run(clients, jobs, make, work):
    """Runs len(jobs) operations on `clients` threads; returns (ops/s, latencies in ms)."""
    lat, lock = [], threading.Lock()
    queue = list(reversed(jobs))

    def worker():
        c = make()
        mine = []
        while True:
            with lock:
                if not queue:
                    break
                job = queue.pop()
            t0 = time.perf_counter()
            work(c, job)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(jobs) / (time.perf_counter() - t0), lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sends", type=int, default=300)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rpc-io", choices=("host", "thread"), default="host",
                    help="where the router waits for the node's answers to calls (options.rpc_io)")
    ap.add_argument("--threads", type=int, default=2, help="the router's rpc.threads")
    ap.add_argument("--no-proxy", action="store_true", help="leave out the nginx proxy baseline")
    ap.add_argument("--estimate-gas", action="store_true",
                    help="the router estimates each send's gas (eth_estimateGas) instead of taking the direct path's")
    args = ap.parse_args()

    anvil = Anvil().start()
    work_dir = tempfile.mkdtemp(prefix="weft-evm-bench-")
    r = None
    proxy = None
    try:
        compiled = compile_contracts("Shop")["Shop"]
        shop = anvil.deploy(compiled["bytecode"])
        abi_file = os.path.join(work_dir, "Shop.abi")
        with open(abi_file, "w") as f:
            json.dump(compiled["abi"], f)
        # The router logs at info, as a production router does.
        r = Router(chains=evm_chain("eth", anvil.url, [{"name": "shop", "address": shop, "abi_file": abi_file}],
                                    poll_ms=POLL_MS, rpc_io=args.rpc_io), accounts=("alice",),
                   rpc="  threads: %d\n" % args.threads, auth="  login: false\n", log_level="info")
        write_key(r.data_dir, "alice", DEV_KEYS[1])
        r.start(login=False)
        router_host, router_port = r.host, r.port
        anvil_port = anvil.port
        nginx = None if args.no_proxy else find_nginx()
        if nginx:
            proxy = NginxProxy(nginx, anvil_port, args.threads, work_dir)
        elif not args.no_proxy:
            print("nginx not found (scripts/bench-deps.sh installs it): no proxy baseline this run")
        sender = evmlib.DEV_ADDRESSES[2]  # the direct baseline's own account, so the nonces do not mix

        # The calldata both paths send: add("bench", 1); the router encodes it itself.
        probe = r.ok("POST", "/resource/payment/eth/shop/sendTransaction", call_data("add", "bench", "1"), token=None)
        tx = anvil.rpc("eth_getTransactionByHash", probe["hash"])
        data, gas = tx["input"], int(tx["gas"], 16)
        block = anvil.rpc("eth_getBlockByNumber", "latest", False)
        max_fee = 2 * int(block["baseFeePerGas"], 16) * 4 + 10**9  # ample for the run's rising base fee

        def presign(count):
            out = os.path.join(work_dir, "raw.json")
            nonce = anvil.nonce(sender, "pending")
            p = subprocess.run(["node", os.path.join(HERE, "evm_presign.js"), DEV_KEYS[2], str(evmlib.CHAIN_ID), shop,
                                str(nonce), str(count), str(gas), str(max_fee), str(10**9), data, out],
                               env=dict(os.environ, NODE_PATH=evmlib.NODE_MODULES), capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            with open(out) as f:
                return json.load(f)

        rpc_id = [0]

        def anvil_rpc(c, method, *params):
            rpc_id[0] += 1
            return c.post("/", {"jsonrpc": "2.0", "id": rpc_id[0], "method": method, "params": list(params)})

        # One account's transactions go to anvil in nonce order, as the router sends them: anvil in instant-mining
        # mode can leave a transaction that reached it before a lower nonce in its pool for good (foundry-rs/foundry
        # issue 10122), and an earlier run of this baseline hung on it. The receipts are awaited in parallel.
        turn = threading.Condition()
        next_index = [0]

        def direct_send(c, job):
            index, raw = job
            with turn:
                turn.wait_for(lambda: next_index[0] == index)
                try:
                    h = anvil_rpc(c, "eth_sendRawTransaction", raw)["result"]
                finally:
                    next_index[0] += 1
                    turn.notify_all()
            rec = c.receipts.wait(h)
            assert rec["status"] == "0x1", rec

        send_options = {} if args.estimate_gas else {"gasLimit": gas}

        def router_send(c, _):
            env = c.post("/resource/payment/eth/shop/sendTransaction",
                         {"version": "1", "data": call_data("add", "bench", "1", **send_options)})
            assert env["errorCode"] == 0 and env["data"]["errorCode"] == 0, env

        # stock("bench") encoded once, by ethers, for the direct path.
        stock_data = subprocess.run(
            ["node", "-e", "const {Interface}=require('ethers');const i=new Interface(%s);"
             "process.stdout.write(i.encodeFunctionData('stock',['bench']))" % json.dumps(json.dumps(compiled["abi"]))],
            env=dict(os.environ, NODE_PATH=evmlib.NODE_MODULES), capture_output=True, text=True, check=True).stdout

        def direct_call(c, _):
            res = anvil_rpc(c, "eth_call", {"to": shop, "data": stock_data}, "latest")
            assert "result" in res, res

        def router_call(c, _):
            env = c.post("/resource/payment/eth/shop/call", {"version": "1", "data": call_data("stock", "bench")})
            assert env["errorCode"] == 0, env

        rows = []

        def row(name, clients, n, direct, routed, presigned=False):
            if n == 0:  # a path left out of this run
                return
            def jobs():
                if not presigned:
                    return [None] * n
                next_index[0] = 0
                return list(enumerate(presign(n)))
            def run_direct(port):
                waiter = ReceiptWaiter(port) if presigned else None

                def make():
                    c = Client("127.0.0.1", port)
                    c.receipts = waiter
                    return c
                try:
                    return run(clients, jobs(), make, direct)
                finally:
                    if waiter:
                        waiter.stop()
            d_rate, d_lat = run_direct(anvil_port)
            p_rate = p_lat = None
            if proxy:
                p_rate, p_lat = run_direct(proxy.port)
            cpu0, switches0 = cpu_seconds(r.proc.pid), context_switches(r.proc.pid)
            r_rate, r_lat = run(clients, [None] * n, lambda: Client(router_host, router_port), routed)
            router_us = (cpu_seconds(r.proc.pid) - cpu0) * 1e6 / n
            switches = (context_switches(r.proc.pid) - switches0) / n
            rows.append((name, clients, d_rate, percentile(d_lat, 50), percentile(d_lat, 99), p_rate,
                         percentile(p_lat, 50) if p_lat else None, r_rate, percentile(r_lat, 50),
                         percentile(r_lat, 99), router_us, switches))

        row("sendTransaction", 1, args.sends // 3, direct_send, router_send, presigned=True)
        row("sendTransaction", args.clients, args.sends, direct_send, router_send, presigned=True)
        row("call", 1, args.calls // 3, direct_call, router_call)
        row("call", args.clients, args.calls, direct_call, router_call)

        print("EVM adapter vs direct anvil (poll %d ms, rpc_io %s, %d router threads, gas %s; same run)" % (
            POLL_MS, args.rpc_io, args.threads, "estimated per send" if args.estimate_gas else "as direct"))
        print("%-16s %7s | %10s %8s %8s | %10s %8s | %10s %8s %8s %9s %8s | %8s %8s %8s" % (
            "path", "clients", "direct/s", "p50 ms", "p99 ms", "proxy/s", "p50 ms", "router/s", "p50 ms", "p99 ms",
            "router µs", "switches", "r/direct", "p/direct", "r/proxy"))
        for name, c, dr, dp50, dp99, pr, pp50, rr, rp50, rp99, rus, sw in rows:
            print("%-16s %7d | %10.0f %8.2f %8.2f | %10s %8s | %10.0f %8.2f %8.2f %9.1f %8.1f | %8.2f %8s %8s" % (
                name, c, dr, dp50, dp99, "%.0f" % pr if pr else "-", "%.2f" % pp50 if pr else "-", rr, rp50, rp99,
                rus, sw, rr / dr, "%.2f" % (pr / dr) if pr else "-", "%.2f" % (rr / pr) if pr else "-"))
        print("proxy: the direct work through nginx as a plain HTTP proxy in front of anvil (%d workers), the cost "
              "of any process in the middle" % args.threads)
        print("router µs, switches: the router process's CPU (user + system) and context switches per request, "
              "from /proc")
        print("target: router throughput >= 1/1.1 = 0.91 of direct")
    finally:
        if proxy is not None:
            proxy.stop()
        if r is not None:
            r.stop()
            r.cleanup()
        anvil.kill()
        subprocess.run(["rm", "-rf", work_dir])


if __name__ == "__main__":
    main()
