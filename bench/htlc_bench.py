"""HTLC benchmark: the time from the claim that reveals the secret on the participant's chain to the router's
counterpart claim on the initiator's chain (p50/p99, from the two claims' block times, both chains on this machine's
clock), and completed swaps per second with many concurrent proposals. Baseline in the same run: one block commit of
a plain transfer on the initiator's chain, sent and answered through the same router.

Target (docs/performance.md "HTLC"): counterpart claim <= 2 x the initiator chain's block_interval_ms + 50 ms, with
events pushed."""
import argparse
import hashlib
import os
import secrets
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from weftlib import Router, call_data  # noqa: E402

BLOCK_MS = 20
CHAINS = ""
for c in (1, 2):
    CHAINS += """
  - name: ledger%d
    type: RefChain
    default_account: alice
    options:
      chain_id: %d
      block_interval_ms: %d
      resources:
        - { name: token, contract: asset }
        - { name: htlc, contract: htlc, asset: token }
""" % (c, c, BLOCK_MS)


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))] if s else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--swaps", type=int, default=200, help="concurrent swaps in the throughput run")
    ap.add_argument("--sequential", type=int, default=30, help="swaps one after another for the latency figures")
    a = ap.parse_args()
    r = Router(chains=CHAINS, router="", log_level="info")  # as a production router logs
    with open(r.config) as f:
        text = f.read()
    with open(r.config, "w") as f:
        f.write(text.replace("auth:\n", "htlc:\n  min_window_ms: 5000\n  margin_ms: 500\n  poll_ms: 250\nauth:\n"))
    r.start()
    try:
        acc = {x["name"]: x["address"] for x in r.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]}
        for c in (1, 2):
            for who in ("alice", "bob"):
                r.ok("POST", "/resource/payment/ledger%d/token/sendTransaction" % c, call_data("mint", acc[who], "100000000"))

        def timelocks(extra=60000):
            s = r.ok("GET", "/weft/htlc/safety?initiator=payment.ledger1&participant=payment.ledger2")
            tp = s["participantNowMs"] + s["minWindowMs"] + extra
            return tp + s["deltaMs"] + 1000, tp

        def propose(ti, tp):
            secret = secrets.token_bytes(32)
            data = {"initiator": {"path": "payment.ledger1.htlc", "account": "alice", "amount": "1", "timelock": ti},
                    "participant": {"path": "payment.ledger2.htlc", "account": "bob", "amount": "1", "timelock": tp},
                    "hash": "0x" + hashlib.sha256(secret).hexdigest(), "secret": "0x" + secret.hex()}
            return r.ok("POST", "/weft/htlc/newProposal", data)["id"]

        def wait_done(ids, timeout=300):
            end = time.monotonic() + timeout
            left = set(ids)
            while left and time.monotonic() < end:
                for i in list(left):
                    if r.ok("POST", "/weft/htlc/getProposal", {"id": i})["state"] in ("completed", "refunded", "failed"):
                        left.discard(i)
                time.sleep(0.05)
            return left

        def block_time(chain, tx):
            d = r.ok("GET", "/trans/getTransaction?path=payment.%s&txHash=%s" % (chain, tx))
            return d["timestamp"] if d.get("timestamp") else None

        # Baseline: one plain transfer's commit through the router on the initiator's chain.
        base = []
        for _ in range(a.sequential):
            t0 = time.perf_counter()
            r.ok("POST", "/resource/payment/ledger1/token/sendTransaction", call_data("transfer", acc["bob"], "1"))
            base.append((time.perf_counter() - t0) * 1000)

        gaps, failed = [], 0
        for _ in range(a.sequential):
            ti, tp = timelocks()
            sid = propose(ti, tp)
            if wait_done([sid]):
                failed += 1
                continue
            swap = r.ok("POST", "/weft/htlc/getProposal", {"id": sid})
            if swap["state"] != "completed":
                failed += 1
                continue
            reveal = block_time("ledger2", swap["progress"]["participantClaim"]["txHash"])
            counter = block_time("ledger1", swap["progress"]["initiatorClaim"]["txHash"])
            if reveal and counter:
                gaps.append(counter - reveal)

        ti, tp = timelocks(extra=120000)
        ids, lock = [], threading.Lock()
        t0 = time.perf_counter()

        def one():
            i = propose(ti, tp)
            with lock:
                ids.append(i)

        threads = [threading.Thread(target=one) for _ in range(a.swaps)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        left = wait_done(ids)
        wall = time.perf_counter() - t0
        completed = sum(1 for i in ids if r.ok("POST", "/weft/htlc/getProposal", {"id": i})["state"] == "completed")

        target = 2 * BLOCK_MS + 50
        print("HTLC benchmark: two embedded reference chains, block_interval_ms %d, events pushed" % BLOCK_MS)
        print("baseline: one plain transfer committed through the router: p50 %.1f ms, p99 %.1f ms"
              % (percentile(base, 50), percentile(base, 99)))
        print("secret revealed on ledger2 -> counterpart claim on ledger1 (block times, %d swaps): p50 %.0f ms, "
              "p99 %.0f ms; ratio p50 / baseline p50 %.2f; target <= %d ms: %s"
              % (len(gaps), percentile(gaps, 50), percentile(gaps, 99),
                 percentile(gaps, 50) / max(1e-9, percentile(base, 50)), target,
                 "met" if percentile(gaps, 50) <= target else "MISSED"))
        print("%d concurrent swaps: %d completed in %.1f s: %.1f swaps/s (each swap is 4 transactions on 2 chains); "
              "%d unfinished, %d sequential failures" % (a.swaps, completed, wall, completed / wall, len(left), failed))
        return 0 if not left and failed == 0 and completed == a.swaps else 1
    finally:
        r.cleanup()


if __name__ == "__main__":
    sys.exit(main())
