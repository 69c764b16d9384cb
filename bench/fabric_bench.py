"""Fabric adapter benchmark: sendTransaction through the router against the same transactions sent by Fabric's
official Node client (fabric-network 2.2, classic path) straight to the network; same network (tests/integration/
fabriclib.py: two orgs, an etcdraft orderer with a 250 ms BatchTimeout, mutual TLS, the test chaincode as a service),
same run, same endorsement policy (both orgs), each send answered once its commit is seen. Prints tx/s and p50/p99
of each, with one client and with several, and the ratios router / direct.

Needs WEFT_FABRIC_DIR (an unpacked Fabric release), WEFT_FABRIC_CHAINCODE_MODULES (fabric-shim) and
WEFT_FABRIC_BENCH_MODULES (fabric-network); bench/run-fabric.sh sets them."""
import argparse
import http.client
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from weftlib import Router, call_data, wait_for  # noqa: E402
import fabriclib  # noqa: E402
from evm_bench import percentile, run  # noqa: E402  (the same client loop as the EVM benchmark)


class Client:
    """One keep-alive HTTP connection to the router; each send goes through Router.request on it, with the admin's
    token."""

    def __init__(self, router):
        self.router = router
        self.conn = http.client.HTTPConnection(router.host, router.port, timeout=120)

    def send(self, key, value):
        _, env = self.router.request("POST", "/resource/payment/fab/kv/sendTransaction",
                                     call_data("set", key, value), timeout=120, conn=self.conn)
        if not isinstance(env, dict) or env.get("errorCode") != 0 or env["data"]["errorCode"] != 0:
            raise RuntimeError("router send failed: %s" % env)


def via_router(router, count, clients, prefix):
    errors = [0]

    def work(c, i):
        try:
            c.send("%s-%d" % (prefix, i), str(i))
        except Exception as e:  # noqa: BLE001 - counted and reported
            errors[0] += 1
            if errors[0] <= 3:
                print("  router send %d failed: %s" % (i, e), file=sys.stderr)
    Client(router).send(prefix + "-warm", "w")
    t0 = time.perf_counter()
    _, lat = run(clients, list(range(count)), lambda: Client(router), work)
    seconds = time.perf_counter() - t0
    return {"count": len(lat) - errors[0], "errors": errors[0], "seconds": seconds,
            "tps": (len(lat) - errors[0]) / seconds, "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99)}


def profile(net, path):
    def pem(f):
        with open(f) as fh:
            return fh.read()
    peers = {"peer0.%s" % o.lower(): {"url": "grpcs://127.0.0.1:%d" % net.peers[o]["port"],
                                      "tlsCACerts": {"pem": pem(net.peer_tls_ca(o))}} for o in ("Org1", "Org2")}
    doc = {
        "name": "weft-bench", "version": "1.0.0",
        "client": {"organization": "Org1"},
        "channels": {fabriclib.CHANNEL: {"orderers": ["orderer"], "peers": {
            p: {"endorsingPeer": True, "chaincodeQuery": True, "ledgerQuery": True, "eventSource": True}
            for p in peers}}},
        "organizations": {o: {"mspid": o + "MSP", "peers": ["peer0.%s" % o.lower()]} for o in ("Org1", "Org2")},
        "orderers": {"orderer": {"url": "grpcs://127.0.0.1:%d" % net.orderer_port,
                                 "tlsCACerts": {"pem": pem(net.orderer_tls_ca())}}},
        "peers": peers,
    }
    with open(path, "w") as f:
        json.dump(doc, f)
    return doc


def direct(net, doc, count, clients, prefix):
    cert, key, tls_cert, tls_key = net.user("Org1")
    job = {"profile": doc, "channel": fabriclib.CHANNEL, "chaincode": "kv", "mspId": "Org1MSP", "cert": cert,
           "key": key, "tlsCert": tls_cert, "tlsKey": tls_key, "count": count, "concurrency": clients,
           "prefix": prefix}
    env = dict(os.environ, NODE_PATH=os.environ["WEFT_FABRIC_BENCH_MODULES"])
    p = subprocess.run(["node", os.path.join(HERE, "fabric_direct.js")], input=json.dumps(job), capture_output=True,
                       text=True, env=env, timeout=900)
    if p.returncode != 0:
        raise RuntimeError("the direct client failed: %s" % p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def line(name, r):
    return "  %-28s %7.1f tx/s   p50 %7.1f ms   p99 %7.1f ms   (%d sent, %d failed, %.1f s)" % (
        name, r["tps"], r["p50_ms"], r["p99_ms"], r["count"], r["errors"], r["seconds"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sends", type=int, default=1200, help="transactions per run with several clients")
    ap.add_argument("--single", type=int, default=20, help="transactions per run with one client")
    ap.add_argument("--clients", type=int, default=64)
    args = ap.parse_args()

    fabric, why = fabriclib.fabric_dir()
    modules, why2 = fabriclib.chaincode_modules()
    if fabric is None or modules is None:
        sys.exit("fabric benchmark: " + (why or why2))
    net = fabriclib.Network(fabric, modules)
    router = None
    try:
        net.start()
        print("Fabric network up in %.1f s (2 orgs, etcdraft orderer, BatchTimeout 250 ms, mutual TLS)" %
              net.setup_seconds)
        router = Router(chains=net.chain_yaml("fab"), auth="  login: true\n", log_level="info")  # as in production
        router.start()
        cert, key, _, _ = net.user("Org1")
        with open(cert) as f:
            pem = f.read()
        router.ok("POST", "/auth/addChainAccount", {"type": "Fabric2.0", "secKey": "0x" + fabriclib.private_key_hex(key),
                                                    "pubKey": pem, "ext": "Org1MSP", "isDefault": True})
        wait_for(lambda: {c["path"]: c for c in router.ok("GET", "/sys/status")["chains"]}["payment.fab"]["status"]
                 == "up", 60, "the Fabric chain up")
        doc = profile(net, os.path.join(net.dir, "profile.json"))
        results = {}
        for clients, count in ((1, args.single), (args.clients, args.sends)):
            results[("direct", clients)] = direct(net, doc, count, clients, "d%d" % clients)
            results[("router", clients)] = via_router(router, count, clients, "r%d" % clients)
        print("sendTransaction, each answered once committed (same network, same run):")
        for clients in (1, args.clients):
            d, r = results[("direct", clients)], results[("router", clients)]
            print(" %d client%s:" % (clients, "" if clients == 1 else "s"))
            print(line("fabric-network 2.2 direct", d))
            print(line("through the router", r))
            print("  ratio router/direct: throughput %.2fx, p50 %.2fx, p99 %.2fx" % (
                r["tps"] / d["tps"] if d["tps"] else 0, r["p50_ms"] / d["p50_ms"] if d["p50_ms"] else 0,
                r["p99_ms"] / d["p99_ms"] if d["p99_ms"] else 0))
    finally:
        if router is not None:
            router.stop()
            router.cleanup()
        net.cleanup()


if __name__ == "__main__":
    main()
