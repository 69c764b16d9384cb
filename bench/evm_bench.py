"""EVM adapter benchmark: sendTransaction and call through the router to a real anvil node, against the same work
sent straight to anvil, same run, same client code, same node. Direct sends are transactions signed beforehand with
ethers (so the baseline pays no signing), each followed by the same receipt polling the adapter does (once at once,
then every poll interval). Prints tx/s and p50/p99 of each, with one client and with several, and the ratios.

Target (docs/performance.md "EVM adapter"): router overhead <= 1.1x, i.e. throughput >= 1/1.1 of direct."""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from weftlib import Router, call_data  # noqa: E402
import evmlib  # noqa: E402
from evmlib import Anvil, DEV_KEYS, compile_contracts, evm_chain, write_key  # noqa: E402

POLL_MS = 20


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
    args = ap.parse_args()

    anvil = Anvil().start()
    work_dir = tempfile.mkdtemp(prefix="weft-evm-bench-")
    r = None
    try:
        compiled = compile_contracts("Shop")["Shop"]
        shop = anvil.deploy(compiled["bytecode"])
        abi_file = os.path.join(work_dir, "Shop.abi")
        with open(abi_file, "w") as f:
            json.dump(compiled["abi"], f)
        r = Router(chains=evm_chain("eth", anvil.url, [{"name": "shop", "address": shop, "abi_file": abi_file}],
                                    poll_ms=POLL_MS, rpc_io=args.rpc_io), accounts=("alice",),
                   rpc="  threads: %d\n" % args.threads, auth="  login: false\n", log_level="info")  # as a production router logs
        write_key(r.data_dir, "alice", DEV_KEYS[1])
        r.start(login=False)
        router_host, router_port = r.host, r.port
        anvil_port = anvil.port
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

        def direct_send(c, raw):
            h = anvil_rpc(c, "eth_sendRawTransaction", raw)["result"]
            while True:
                rec = anvil_rpc(c, "eth_getTransactionReceipt", h)["result"]
                if rec is not None:
                    assert rec["status"] == "0x1", rec
                    return
                time.sleep(POLL_MS / 1000)

        def router_send(c, _):
            env = c.post("/resource/payment/eth/shop/sendTransaction",
                         {"version": "1", "data": call_data("add", "bench", "1")})
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
            d_jobs = presign(n) if presigned else [None] * n
            d_rate, d_lat = run(clients, d_jobs, lambda: Client("127.0.0.1", anvil_port), direct)
            cpu0, switches0 = cpu_seconds(r.proc.pid), context_switches(r.proc.pid)
            r_rate, r_lat = run(clients, [None] * n, lambda: Client(router_host, router_port), routed)
            router_us = (cpu_seconds(r.proc.pid) - cpu0) * 1e6 / n
            switches = (context_switches(r.proc.pid) - switches0) / n
            rows.append((name, clients, d_rate, percentile(d_lat, 50), percentile(d_lat, 99), r_rate,
                         percentile(r_lat, 50), percentile(r_lat, 99), router_us, switches))

        row("sendTransaction", 1, args.sends // 3, direct_send, router_send, presigned=True)
        row("sendTransaction", args.clients, args.sends, direct_send, router_send, presigned=True)
        row("call", 1, args.calls // 3, direct_call, router_call)
        row("call", args.clients, args.calls, direct_call, router_call)

        print("EVM adapter vs direct anvil (poll %d ms, rpc_io %s, %d router threads; same run)" % (
            POLL_MS, args.rpc_io, args.threads))
        print("%-16s %7s | %10s %8s %8s | %10s %8s %8s %9s %8s | %11s %9s" % (
            "path", "clients", "direct/s", "p50 ms", "p99 ms", "router/s", "p50 ms", "p99 ms", "router µs", "switches",
            "thru ratio", "p50 ratio"))
        for name, c, dr, dp50, dp99, rr, rp50, rp99, rus, sw in rows:
            print("%-16s %7d | %10.0f %8.2f %8.2f | %10.0f %8.2f %8.2f %9.1f %8.1f | %11.2f %9.2f" % (
                name, c, dr, dp50, dp99, rr, rp50, rp99, rus, sw, rr / dr, rp50 / dp50 if dp50 else 0))
        print("router µs, switches: the router process's CPU (user + system) and context switches per request, "
              "from /proc")
        print("target: router throughput >= 1/1.1 = 0.91 of direct")
    finally:
        if r is not None:
            r.stop()
            r.cleanup()
        anvil.kill()
        subprocess.run(["rm", "-rf", work_dir])


if __name__ == "__main__":
    main()
