"""HTLC swaps between two embedded reference chains, driven by the router: a full swap, a participant that never
locks, an initiator that never claims, the contract's refusals, the router killed right after the secret is revealed,
chains whose clocks differ, the secret kept out of logs, answers and the store, and 100 concurrent swaps. After every
test no asset was created or destroyed and every lock ended claimed or refunded."""
import hashlib
import json
import os
import secrets
import threading
import time
import unittest

from weftlib import Router, call_data, scaled, wait_for

CHAINS = """
  - name: ledger1
    type: RefChain
    default_account: alice
    options:
      chain_id: 1
      block_interval_ms: 20
      empty_block_interval_ms: 200
      resources:
        - { name: token, contract: asset }
        - { name: htlc, contract: htlc, asset: token }
  - name: ledger2
    type: RefChain
    default_account: alice
    options:
      chain_id: 2
      block_interval_ms: 20
      empty_block_interval_ms: 200%s
      resources:
        - { name: token, contract: asset }
        - { name: htlc, contract: htlc, asset: token }
"""
HTLC_CONF = "htlc:\n  min_window_ms: 3000\n  margin_ms: 500\n  poll_ms: 100\n"
T1, T2 = "payment.ledger1.token", "payment.ledger2.token"
H1, H2 = "payment.ledger1.htlc", "payment.ledger2.htlc"
MINTED = 100000


def uri(path, verb):
    return "/resource/" + path.replace(".", "/") + "/" + verb


def new_secret():
    s = secrets.token_bytes(32)
    return "0x" + s.hex(), "0x" + hashlib.sha256(s).hexdigest()


class HtlcHarness:
    router = None

    @classmethod
    def start_router(cls, offset="", htlc=HTLC_CONF):
        r = Router(chains=CHAINS % offset, router="")
        with open(r.config) as f:
            text = f.read()
        with open(r.config, "w") as f:
            f.write(text.replace("auth:\n", htlc + "auth:\n"))
        return r.start()

    def send(self, path, method, *args, **options):
        return self.router.ok("POST", uri(path, "sendTransaction"), call_data(method, *args, **options))

    def call(self, path, method, *args):
        return self.router.ok("POST", uri(path, "call"), call_data(method, *args))["result"]

    def addr(self, chain="payment.ledger1"):
        return {a["name"]: a["address"] for a in self.router.ok("GET", "/weft/accounts?path=" + chain)["accounts"]}

    def balance(self, path, who):
        return int(self.call(path, "balanceOf", who)[0])

    def setup_assets(self):
        a = self.addr()
        for p in (T1, T2):
            if int(self.call(p, "totalSupply")[0]) == 0:
                self.assertEqual(self.send(p, "mint", a["alice"], str(MINTED // 2))["errorCode"], 0)
                self.assertEqual(self.send(p, "mint", a["bob"], str(MINTED // 2))["errorCode"], 0)

    def assert_supply(self):
        """No asset created or destroyed, and every lock ended claimed or refunded: the escrows are empty again
        (a swap still running is waited for)."""
        a = self.addr()
        for p in (T1, T2):
            self.assertEqual(int(self.call(p, "totalSupply")[0]), MINTED, p)
            escrow = self.router.ok("POST", uri(p.rsplit(".", 1)[0] + ".htlc", "detail"))["properties"]["escrow"]
            wait_for(lambda: self.balance(p, escrow) == 0, 120, "every lock on %s to end" % p)
            self.assertEqual(self.balance(p, a["alice"]) + self.balance(p, a["bob"]), MINTED, p)

    def safety(self):
        return self.router.ok("GET", "/weft/htlc/safety?initiator=payment.ledger1&participant=payment.ledger2")

    def timelocks(self, extra_p=1000, extra_gap=500):
        """Timelocks that pass the safety rule with extra_p ms to spare (scaled with the build's speed, so a slow
        sanitizer run does not find them unsafe by the time it proposes)."""
        s = self.safety()
        tp = s["participantNowMs"] + s["minWindowMs"] + int(scaled(extra_p / 1000.0) * 1000)
        return tp + s["deltaMs"] + extra_gap, tp

    def propose(self, amount_i="100", amount_p="50", secret=None, hash_=None, ti=None, tp=None, expect_ok=True):
        if ti is None:
            ti, tp = self.timelocks()
        data = {"initiator": {"path": H1, "account": "alice", "amount": amount_i, "timelock": ti},
                "participant": {"path": H2, "account": "bob", "amount": amount_p, "timelock": tp},
                "hash": hash_}
        if secret:
            data["secret"] = secret
        st, env = self.router.request("POST", "/weft/htlc/newProposal", data)
        self.assertEqual(st, 200, env)
        if expect_ok:
            self.assertEqual(env["errorCode"], 0, env)
            return env["data"]
        return env

    def wait_state(self, swap_id, states, timeout=60):
        def reached():
            d = self.router.ok("POST", "/weft/htlc/getProposal", {"id": swap_id})
            return d if d["state"] in states else None
        return wait_for(reached, timeout, "swap %s to reach %s" % (swap_id, states))

    def lock_states(self, swap_id):
        st = self.router.ok("POST", "/weft/htlc/status", {"id": swap_id})
        return st["initiator"].get("state"), st["participant"].get("state")


class HtlcSwaps(HtlcHarness, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = cls.start_router()

    @classmethod
    def tearDownClass(cls):
        cls.router.cleanup()

    def setUp(self):
        self.setup_assets()

    def tearDown(self):
        self.assert_supply()

    def test_full_swap_moves_both_assets(self):
        a = self.addr()
        before = (self.balance(T1, a["bob"]), self.balance(T2, a["alice"]))
        secret, h = new_secret()
        swap = self.propose(secret=secret, hash_=h)
        self.assertNotIn(secret[2:], json.dumps(swap))
        self.assertTrue(swap["routerHoldsSecret"])
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual(self.lock_states(swap["id"]), ("claimed", "claimed"))
        self.assertEqual((self.balance(T1, a["bob"]), self.balance(T2, a["alice"])), (before[0] + 100, before[1] + 50))
        # The secret is nowhere the router writes or answers: RPC answers, its log, its store.
        answers = json.dumps([self.router.ok("POST", "/weft/htlc/getProposal", {"id": swap["id"]}),
                              self.router.ok("POST", "/weft/htlc/status", {"id": swap["id"]}),
                              self.router.ok("POST", "/weft/htlc/listProposals", {"offset": 0, "size": 50})])
        self.assertNotIn(secret[2:], answers)
        with open(self.router.log_path, errors="replace") as f:
            self.assertNotIn(secret[2:], f.read())
        for name in os.listdir(self.router.data_dir):
            if name.startswith("router.db"):
                with open(os.path.join(self.router.data_dir, name), "rb") as f:
                    raw = f.read()
                self.assertNotIn(secret[2:].encode(), raw)
                self.assertNotIn(bytes.fromhex(secret[2:]), raw)

    def test_participant_never_locks_so_the_initiator_refunds(self):
        a = self.addr()
        before = self.balance(T1, a["alice"])
        secret, h = new_secret()
        swap = self.propose(amount_p=str(MINTED * 10), secret=secret, hash_=h)  # bob cannot cover it
        wait_for(lambda: self.lock_states(swap["id"])[0] == "locked", 20, "the initiator's lock")
        self.assertEqual(self.balance(T1, a["alice"]), before - 100)
        done = self.wait_state(swap["id"], ("refunded", "failed", "completed"), timeout=90)
        self.assertEqual(done["state"], "refunded", done)
        self.assertEqual(self.lock_states(swap["id"]), ("refunded", "none"))
        self.assertEqual(self.balance(T1, a["alice"]), before)

    def test_initiator_never_claims_so_both_refund(self):
        _, h = new_secret()
        swap = self.propose(hash_=h)  # the router does not hold the secret, and the initiator keeps it
        wait_for(lambda: self.lock_states(swap["id"]) == ("locked", "locked"), 20, "both locks")
        done = self.wait_state(swap["id"], ("refunded", "failed", "completed"), timeout=90)
        self.assertEqual(done["state"], "refunded", done)
        self.assertEqual(self.lock_states(swap["id"]), ("refunded", "refunded"))

    def test_the_contract_refuses_what_it_must(self):
        a = self.addr()
        secret, h = new_secret()
        lock_id = "0x" + secrets.token_bytes(32).hex()
        now = self.safety()["initiatorNowMs"]
        t = now + 4000
        ok = self.send(H1, "lock", lock_id, a["bob"], "10", h, str(t))
        self.assertEqual(ok["errorCode"], 0, ok)
        dup = self.send(H1, "lock", lock_id, a["bob"], "10", h, str(t))
        self.assertNotEqual(dup["errorCode"], 0)
        other_sender = self.send(H1, "lock", lock_id, a["alice"], "10", h, str(t), account="bob")
        self.assertEqual(other_sender["errorCode"], 0, other_sender)  # (sender, id): bob's own id space
        wrong = self.send(H1, "claim", a["alice"], lock_id, "0x" + "00" * 32)
        self.assertNotEqual(wrong["errorCode"], 0)
        early = self.send(H1, "refund", a["alice"], lock_id)
        self.assertNotEqual(early["errorCode"], 0)
        time.sleep(scaled(5))
        late = self.send(H1, "claim", a["alice"], lock_id, secret)
        self.assertNotEqual(late["errorCode"], 0)
        for sender, acct in ((a["alice"], "alice"), (a["bob"], "bob")):
            r = self.send(H1, "refund", sender, lock_id)
            self.assertEqual(r["errorCode"], 0, r)
        again = self.send(H1, "refund", a["alice"], lock_id)
        self.assertNotEqual(again["errorCode"], 0)

    def test_unsafe_and_malformed_proposals_are_refused_with_numbers(self):
        _, h = new_secret()
        s = self.safety()
        tp = s["participantNowMs"] + s["minWindowMs"] + 1000
        env = self.propose(hash_=h, ti=tp + s["deltaMs"] // 2, tp=tp, expect_ok=False)
        self.assertEqual(env["errorCode"], 70102, env)
        self.assertIn("delta", env["message"])
        env = self.propose(hash_=h, ti=tp + s["deltaMs"] + 1000, tp=s["participantNowMs"] + 10, expect_ok=False)
        self.assertEqual(env["errorCode"], 70102, env)
        self.assertIn("min_window", env["message"])
        self.assertEqual(self.propose(hash_="0x12", expect_ok=False)["errorCode"], 70101)
        self.assertEqual(self.propose(hash_=h, secret="0x" + "11" * 32, expect_ok=False)["errorCode"], 70101)
        self.assertEqual(self.propose(hash_=h, amount_i="-5", expect_ok=False)["errorCode"], 70101)

    def test_a_participant_lock_that_does_not_match_is_refused_and_everything_refunds(self):
        a, b2 = self.addr(), self.addr("payment.ledger2")
        before = (self.balance(T1, a["alice"]), self.balance(T2, a["bob"]))
        _, h = new_secret()
        swap_id = "0x" + secrets.token_bytes(32).hex()
        ti, tp = self.timelocks()
        # Bob's (sender, id) slot on ledger2 already holds a lock of another amount when the engine gets there.
        squat = self.send(H2, "lock", swap_id, b2["alice"], "7", h, str(tp), account="bob")
        self.assertEqual(squat["errorCode"], 0, squat)
        data = {"id": swap_id, "hash": h,
                "initiator": {"path": H1, "account": "alice", "amount": "100", "timelock": ti},
                "participant": {"path": H2, "account": "bob", "amount": "50", "timelock": tp}}
        self.router.ok("POST", "/weft/htlc/newProposal", data)
        st, env = self.router.request("POST", "/weft/htlc/newProposal", data)
        self.assertEqual(env["errorCode"], 70409, env)  # the id is taken
        # The taken id is the answer whatever the timelocks: it is judged before them.
        stale = dict(data, participant=dict(data["participant"], timelock=1))
        st, env = self.router.request("POST", "/weft/htlc/newProposal", stale)
        self.assertEqual(env["errorCode"], 70409, env)
        done = self.wait_state(swap_id, ("refunded", "failed", "completed", "cancelled"), timeout=90)
        self.assertEqual(done["state"], "cancelled", done)
        self.assertIn("does not match", done["note"])
        self.assertEqual(self.lock_states(swap_id), ("none", "locked"))  # the initiator never locked
        # Bob takes his own lock back after its timelock: every lock ends refunded or claimed.
        wait_for(lambda: self.send(H2, "refund", b2["bob"], swap_id)["errorCode"] == 0, 30, "bob's refund")
        self.assertEqual((self.balance(T1, a["alice"]), self.balance(T2, a["bob"])), before)
        st, env = self.router.request("POST", "/weft/htlc/status", {"id": swap_id}, token=None)
        self.assertEqual(st, 401)

    def test_cancel_before_any_lock_only(self):
        _, h = new_secret()
        swap = self.propose(hash_=h)
        wait_for(lambda: self.lock_states(swap["id"])[0] == "locked", 20, "the initiator's lock")
        st, env = self.router.request("POST", "/weft/htlc/cancel", {"id": swap["id"]})
        self.assertEqual(env["errorCode"], 70409, env)

    def test_100_concurrent_swaps_complete(self):
        a = self.addr()
        before = (self.balance(T1, a["bob"]), self.balance(T2, a["alice"]))
        ids, lock = [], threading.Lock()
        ti, tp = self.timelocks(extra_p=20000)

        def one():
            secret, h = new_secret()
            d = self.propose(amount_i="1", amount_p="2", secret=secret, hash_=h, ti=ti, tp=tp)
            with lock:
                ids.append(d["id"])

        threads = [threading.Thread(target=one) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(ids), 100)
        for i in ids:
            self.assertEqual(self.wait_state(i, ("completed", "failed", "refunded"), timeout=120)["state"], "completed")
        self.assertEqual((self.balance(T1, a["bob"]), self.balance(T2, a["alice"])), (before[0] + 100, before[1] + 200))


class HtlcEvents(HtlcHarness, unittest.TestCase):
    """Polling once a minute, a swap can only move in time on its chains' events: the htlc resources' streams, which
    the engine opens on its own thread (an adapter's subscribe may wait for its chain) and which wake every swap on
    a resource once they start."""

    @classmethod
    def setUpClass(cls):
        cls.router = cls.start_router(htlc=HTLC_CONF.replace("poll_ms: 100", "poll_ms: 60000"))

    @classmethod
    def tearDownClass(cls):
        cls.router.cleanup()

    def test_a_swap_moves_on_its_chains_events(self):
        self.setup_assets()
        for _ in range(2):  # the first swap opens the streams; the second finds them open
            secret, h = new_secret()
            swap = self.propose(secret=secret, hash_=h)
            done = self.wait_state(swap["id"], ("completed", "failed", "refunded"), timeout=40)
            self.assertEqual(done["state"], "completed", done)
            self.assertEqual(self.lock_states(swap["id"]), ("claimed", "claimed"))
        self.assert_supply()


class HtlcRecovery(HtlcHarness, unittest.TestCase):
    def setUp(self):
        self.router = self.start_router()
        self.setup_assets()

    def tearDown(self):
        try:
            self.assert_supply()
        finally:
            self.router.cleanup()

    def test_killed_after_the_secret_is_revealed_the_router_completes_the_other_side(self):
        a = self.addr()
        before = self.balance(T1, a["bob"])
        self.router.stop()
        self.router.start(env={"WEFT_FAILPOINTS": "htlc.before_counterpart_claim=crash"})
        secret, h = new_secret()
        swap = self.propose(secret=secret, hash_=h)
        self.assertEqual(self.router.wait_exit(60), 137, self.router.log_text())
        self.router.start()
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual(self.balance(T1, a["bob"]), before + 100)
        self.assertEqual(self.lock_states(swap["id"]), ("claimed", "claimed"))


class HtlcClockSkew(HtlcHarness, unittest.TestCase):
    def test_skew_between_chains_widens_the_safety_gap(self):
        self.router = self.start_router(offset="\n      block_time_offset_ms: 8000")
        try:
            self.setup_assets()
            s = wait_for(lambda: (lambda d: d if d["parts"]["clockSkewMs"] >= 7000 else None)(self.safety()), 20,
                         "the skew to be measured")
            self.assertGreaterEqual(s["deltaMs"], 8000)
            _, h = new_secret()
            tp = s["participantNowMs"] + s["minWindowMs"] + 1000
            # Safe without the skew, unsafe with it.
            unsafe = self.propose(hash_=h, ti=tp + s["deltaMs"] - s["parts"]["clockSkewMs"] + 100, tp=tp,
                                  expect_ok=False)
            self.assertEqual(unsafe["errorCode"], 70102, unsafe)
            self.assertIn("clockSkewMs", unsafe["message"])
            secret, h = new_secret()
            swap = self.propose(secret=secret, hash_=h)
            self.assertEqual(self.wait_state(swap["id"], ("completed", "failed", "refunded"))["state"], "completed")
            self.assert_supply()
        finally:
            self.router.cleanup()


if __name__ == "__main__":
    unittest.main()
