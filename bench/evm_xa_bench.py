"""XA and HTLC across an EVM chain (a real anvil node, Weft's Solidity stubs deployed through the router) and an
embedded reference chain, each beside a baseline measured by the same router in the same run.

XA: one transaction moves a token on an XaLedger on anvil and an asset token on the reference chain (start, one step on
each chain, commit), against the same two transfers sent plainly one after the other. One client, then several (each
on its own XaLedger and its own reference-chain token, so no lock is contended). tx/s, p50/p99 and the ratios. Run
twice: anvil mining each transaction at once (the router's and the stubs' own cost) and anvil making a block every
--block-time seconds (what a chain with blocks costs).

HTLC (anvil with blocks only: a node that mines on demand has a clock that stands still, which timelocks need): swaps
both ways between anvil and the reference chain, with the router holding the secret. Claim-to-claim delay: from the
first claim (the one that reveals the secret, on the participant's chain) being on its chain to the counterpart claim
being on the initiator's chain, as the swap's status (which reads both locks from their chains) shows them, polled
every 2 ms; and the total swap time, proposal to completed. Baselines in the same run: the same swap between two
reference chains, and one plain transfer on each chain."""
import argparse
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from weftlib import Router, call_data  # noqa: E402
from evmlib import Anvil, DEV_ADDRESSES, DEV_KEYS, evm_chain, write_key  # noqa: E402
from test_evm_xa_htlc import HTLC_CONF, compiled, new_secret  # noqa: E402
import xa_bench  # noqa: E402
from xa_bench import percentile  # noqa: E402

ALICE, BOB = DEV_ADDRESSES[1], DEV_ADDRESSES[2]
BLOCK_MS = 20  # the reference chains' block_interval_ms, as in the other XA and HTLC benchmarks
POLL_MS = 20  # the EVM adapter's receipt poll, as in the EVM adapter benchmark
SUPPLY = 10**9
TERMINAL = ("completed", "refunded", "failed", "cancelled")


def ref_chains(clients):
    tokens = "".join("\n        - { name: t%d, contract: asset }" % i for i in range(clients))
    out = ""
    for c in (1, 2):
        out += """
  - name: ledger%d
    type: RefChain
    default_account: alice
    options:
      chain_id: %d
      block_interval_ms: %d
      resources:%s
        - { name: token, contract: asset }
        - { name: htlc, contract: htlc, asset: token }
""" % (c, c, BLOCK_MS, tokens if c == 1 else "")
    return out


class World:
    """anvil, and one router with it as chain eth beside reference chains ledger1 and ledger2: the XA proxy, one
    XaLedger per client (eth.l0..), the HTLC stub over an ERC-20 (eth.htlc over eth.token); on ledger1 one asset token
    per client (t0..) and an HTLC over ledger1.token, and the same HTLC on ledger2."""

    def __init__(self, block_time, clients):
        self.anvil = Anvil(block_time=block_time).start()
        r = Router(chains=evm_chain("eth", self.anvil.url, [], poll_ms=POLL_MS) + ref_chains(clients),
                   log_level="info")  # as a production router logs
        for name, key in zip(("alice", "bob"), DEV_KEYS[1:]):
            write_key(r.data_dir, name, key)
        with open(r.config) as f:
            text = f.read()
        with open(r.config, "w") as f:
            f.write(text.replace("auth:\n", HTLC_CONF + "auth:\n").replace("level: debug", "level: info"))
        self.r = r.start()
        c = compiled()
        proxy = r.ok("POST", "/weft/chain/deployStubs", {"path": "payment.eth", "stubs": ["xa"]})["resources"][0]
        for i in range(clients):
            self.deploy("payment.eth.l%d" % i, c["XaLedger"], proxy["address"], ALICE, str(SUPPLY))
        self.deploy("payment.eth.token", c["TestToken"], "bench token", str(SUPPLY))
        r.ok("POST", "/weft/chain/deployStubs", {"path": "payment.eth", "stubs": ["htlc"], "htlc": {"asset": "token"}})
        self.send("payment.eth.token", "transfer", BOB, str(SUPPLY // 2))  # either side can initiate
        self.ref = {a["name"]: a["address"] for a in r.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]}
        for i in range(clients):
            self.send("payment.ledger1.t%d" % i, "mint", self.ref["alice"], str(SUPPLY))
        for chain in ("ledger1", "ledger2"):
            for who in ("alice", "bob"):
                self.send("payment.%s.token" % chain, "mint", self.ref[who], str(SUPPLY))

    def deploy(self, path, contract, *args):
        self.r.ok("POST", "/weft/resource/add",
                  {"path": path, "bytecode": contract["bytecode"], "abi": contract["abi"], "args": list(args)})

    def send(self, path, method, *args):
        d = self.r.ok("POST", "/resource/" + path.replace(".", "/") + "/sendTransaction", call_data(method, *args))
        assert d["errorCode"] == 0, d
        return d

    def close(self):
        self.r.cleanup()
        self.anvil.kill()


class EvmClient(xa_bench.Client):
    """xa_bench's client with its two writes moved: a transfer on client i's XaLedger on anvil and one on its asset
    token on ledger1."""
    ref_bob = None

    def plain(self, i, n):
        self.ok("/resource/payment/eth/l%d/sendTransaction" % i, call_data("transfer", BOB, "1"))
        self.ok("/resource/payment/ledger1/t%d/sendTransaction" % i, call_data("transfer", self.ref_bob, "1"))

    def xa(self, i, n):
        """One XA transaction; returns the ms each of its four requests took."""
        x = uuid.uuid4().hex
        paths = ["payment.eth.l%d" % i, "payment.ledger1.t%d" % i]
        marks = [time.perf_counter()]
        for path, data in (("/xa/startXATransaction", {"xaTransactionID": x, "paths": paths}),
                           ("/resource/payment/eth/l%d/sendTransaction" % i,
                            call_data("transfer", BOB, "1", XA_TRANSACTION_ID=x, XA_TRANSACTION_SEQ=1)),
                           ("/resource/payment/ledger1/t%d/sendTransaction" % i,
                            call_data("transfer", self.ref_bob, "1", XA_TRANSACTION_ID=x, XA_TRANSACTION_SEQ=2)),
                           ("/xa/commitXATransaction", {"xaTransactionID": x, "paths": paths})):
            self.ok(path, data)
            marks.append(time.perf_counter())
        return [(b - a) * 1000 for a, b in zip(marks, marks[1:])]


def bench_xa(w, clients, sequential, count):
    EvmClient.ref_bob = w.ref["bob"]
    c = EvmClient(w.r)
    for i in range(clients):  # warm-up, and every resource's first write
        c.plain(i, 0)
        c.xa(i, 0)
    rows = []
    for label, n, per in (("1 client", 1, sequential), ("%d clients" % clients, clients, count)):
        base = xa_bench.run(w.r, "plain", n, per, client=EvmClient)
        xa = xa_bench.run(w.r, "xa", n, per, client=EvmClient)
        rows.append((label, base, xa))
    phases = [c.xa(0, 0) for _ in range(sequential)]
    return rows, [percentile([p[k] for p in phases], 50) for k in range(4)]


MILESTONES = (("I locked", "initiator", "locked"), ("P locked", "participant", "locked"),
              ("P claimed", "participant", "claimed"), ("I claimed", "initiator", "claimed"))


def swap(w, initiator, participant):
    """One swap, alice initiating on `initiator` (a chain path) and bob on `participant`, both 1 token; the swap's
    status (both locks as their chains hold them) polled every 2 ms. Returns {milestone: ms since the proposal} with
    "completed", or an error string."""
    r = w.r
    s = r.ok("GET", "/weft/htlc/safety?initiator=payment.%s&participant=payment.%s" % (initiator, participant))
    tp = s["participantNowMs"] + s["minWindowMs"] + 20000
    secret, h = new_secret()
    data = {"initiator": {"path": "payment.%s.htlc" % initiator, "account": "alice", "amount": "1",
                          "timelock": tp + s["deltaMs"] + 1000},
            "participant": {"path": "payment.%s.htlc" % participant, "account": "bob", "amount": "1", "timelock": tp},
            "hash": h, "secret": secret}
    t0 = time.perf_counter()
    sid = r.ok("POST", "/weft/htlc/newProposal", data)["id"]
    seen = {}
    while True:
        st = r.ok("POST", "/weft/htlc/status", {"id": sid})
        now = (time.perf_counter() - t0) * 1000
        for name, side, state in MILESTONES:
            got = st[side].get("state")
            if name not in seen and (got == state or (state == "locked" and got == "claimed")):
                seen[name] = now
        if st["state"] in TERMINAL:
            break
        if now > 120000:
            return "not finished after 120 s: %s" % st
        time.sleep(0.002)
    if st["state"] != "completed" or len(seen) != len(MILESTONES):
        return "%s: %s" % (st["state"], st)
    seen["completed"] = now
    return seen


def bench_htlc(w, swaps):
    out = {}
    for pair in (("eth", "ledger1"), ("ledger1", "eth"), ("ledger1", "ledger2")):
        got, errors = [], []
        for _ in range(swaps):
            one = swap(w, *pair)
            if isinstance(one, str):
                errors.append(one[:300])
            else:
                got.append(one)
        out[pair] = (got, errors)
    plain = {}
    for chain, to in (("eth", BOB), ("ledger1", w.ref["bob"])):
        lat = []
        for _ in range(swaps):
            t0 = time.perf_counter()
            w.send("payment.%s.token" % chain, "transfer", to, "1")
            lat.append((time.perf_counter() - t0) * 1000)
        plain[chain] = lat
    return out, plain


def print_xa(title, result):
    rows, phases = result
    print(title)
    print("%-10s %-26s %8s %9s %9s %6s" % ("load", "what", "tx/s", "p50 ms", "p99 ms", "errors"))
    ok = True
    for label, base, xa in rows:
        for name, r in (("plain: 2 sends in a row", base), ("XA: start+2 steps+commit", xa)):
            print("%-10s %-26s %8.1f %9.1f %9.1f %6d" % (label, name, r["tps"], r["p50"], r["p99"], len(r["errors"])))
        print("%-10s ratios XA/plain: throughput %.2f, p50 %.2f, p99 %.2f (XA p50 - plain p50 = %.0f ms)"
              % (label, xa["tps"] / max(1e-9, base["tps"]), xa["p50"] / max(1e-9, base["p50"]),
                 xa["p99"] / max(1e-9, base["p99"]), xa["p50"] - base["p50"]))
        if base["errors"] or xa["errors"]:
            ok = False
            print("  errors:", (base["errors"] + xa["errors"])[:3])
    print("one client, p50 of each XA request: start %.0f ms, step on anvil %.0f ms, step on ledger1 %.0f ms, commit "
          "%.0f ms" % tuple(phases))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--sequential", type=int, default=100, help="XA transactions in the one-client runs (automine)")
    ap.add_argument("--count", type=int, default=40, help="XA transactions per client, concurrent runs (automine)")
    ap.add_argument("--block-time", type=float, default=1, help="anvil's block time in seconds for the chain-with-"
                    "blocks runs (anvil takes whole and fractional seconds)")
    ap.add_argument("--block-sequential", type=int, default=20, help="XA one-client runs, anvil with blocks")
    ap.add_argument("--block-count", type=int, default=10, help="XA per client, concurrent runs, anvil with blocks")
    ap.add_argument("--swaps", type=int, default=20, help="HTLC swaps each way, one after another")
    a = ap.parse_args()
    bt = int(a.block_time) if a.block_time == int(a.block_time) else a.block_time
    ok = True

    w = World(None, a.clients)
    try:
        auto_rows = bench_xa(w, a.clients, a.sequential, a.count)
    finally:
        w.close()
    w = World(bt, a.clients)
    try:
        block_rows = bench_xa(w, a.clients, a.block_sequential, a.block_count)
        swaps, plain = bench_htlc(w, a.swaps)
    finally:
        w.close()

    print("XA across anvil and a reference chain: one transfer on an XaLedger on anvil (through the XA proxy) and "
          "one on an asset token on the reference chain (block_interval_ms %d); EVM receipt poll %d ms" % (BLOCK_MS,
                                                                                                       POLL_MS))
    ok &= print_xa("-- anvil mining each transaction at once", auto_rows)
    ok &= print_xa("-- anvil with a block every %s s" % bt, block_rows)
    print("HTLC swaps, router holding the secret, anvil with a block every %s s, reference chains block_interval_ms "
          "%d; %d swaps each way, one after another; the swap's status polled every 2 ms" % (bt, BLOCK_MS, a.swaps))
    print("%-18s %8s %8s | %9s %9s | %s" % ("initiator->partic.", "c2c p50", "c2c p99", "total p50", "total p99",
                                          "p50 ms from proposal: " + ", ".join(m[0] for m in MILESTONES)))
    figures = {}
    for (i, p), (got, errors) in swaps.items():
        c2c = [g["I claimed"] - g["P claimed"] for g in got]
        total = [g["completed"] for g in got]
        figures[(i, p)] = (percentile(c2c, 50), percentile(total, 50))
        print("%-18s %8.0f %8.0f | %9.0f %9.0f | %s" % (
            "%s -> %s" % (i, p), percentile(c2c, 50), percentile(c2c, 99), percentile(total, 50),
            percentile(total, 99), ", ".join("%.0f" % percentile([g[m[0]] for g in got], 50) for m in MILESTONES)))
        if errors:
            ok = False
            print("  %d errors:" % len(errors), errors[:2])
    base = figures[("ledger1", "ledger2")]
    for pair in (("eth", "ledger1"), ("ledger1", "eth")):
        print("ratios %s -> %s / ledger1 -> ledger2 (p50): claim-to-claim %.1f, total %.1f" % (
            pair[0], pair[1], figures[pair][0] / max(1e-9, base[0]), figures[pair][1] / max(1e-9, base[1])))
    for chain, lat in plain.items():
        print("baseline: one plain token transfer on %s through the router: p50 %.0f ms, p99 %.0f ms"
              % (chain, percentile(lat, 50), percentile(lat, 99)))
    print("(c2c: claim-to-claim, ms from the status first showing the participant's lock claimed (the secret "
          "revealed) to it first showing the initiator's claimed; total: proposal to completed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
