"""Two-phase (XA) transactions across chains, with real processes: a router with two embedded reference chains, and a
weft-node network as a third chain. Commit, rollback to the exact prior state, failed steps, every refusal, 200
concurrent transactions, the WeCross SDK's request sequence, the router killed at every failpoint and recovered, a
chain down during commit, a refused compensation (heuristic) and its resolution by an admin. After every test the
total asset supply across chains is unchanged."""
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import unittest
import uuid

from nodelib import Network
from weftlib import BIN, Router, call_data, scaled, wait_for

TWO_CHAINS = """
  - name: ledger1
    type: RefChain
    default_account: alice
    options:
      chain_id: 1
      block_interval_ms: 20
      resources:
        - { name: store, contract: kv }
        - { name: token, contract: asset }
%s
  - name: ledger2
    type: RefChain
    default_account: alice
    options:
      chain_id: 2
      block_interval_ms: 20
      resources:
        - { name: store, contract: kv }
        - { name: token, contract: asset }
"""
MINTED = 1000
T1, T2, S1 = "payment.ledger1.token", "payment.ledger2.token", "payment.ledger1.store"


def xid():
    return uuid.uuid4().hex


def uri(path, verb):
    return "/resource/" + path.replace(".", "/") + "/" + verb


class XaHarness:
    """What every XA test needs: the router, the two accounts' addresses, and asset checks."""

    router = None

    def send(self, path, method, *args, **options):
        return self.router.ok("POST", uri(path, "sendTransaction"), call_data(method, *args, **options))

    def call(self, path, method, *args, **options):
        return self.router.ok("POST", uri(path, "call"), call_data(method, *args, **options))["result"]

    def xa(self, verb, xa_id, paths=None, token="admin", expect_status=None):
        data = {"xaTransactionID": xa_id}
        if paths is not None:
            data["paths"] = paths
        status, env = self.router.request("POST", "/xa/" + verb, data, token=token)
        self.assertEqual(status, 200, env)
        if expect_status is not None:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["status"], expect_status, env)
        return env

    def step(self, xa_id, seq, path, method, *args, token="admin"):
        status, env = self.router.request("POST", uri(path, "sendTransaction"),
                                          call_data(method, *args, XA_TRANSACTION_ID=xa_id, XA_TRANSACTION_SEQ=seq),
                                          token=token)
        self.assertEqual(status, 200, env)
        return env

    def get(self, xa_id):
        env = self.xa("getXATransaction", xa_id)
        self.assertEqual(env["errorCode"], 0, env)
        return env["data"]

    def addresses(self, chain="payment.ledger1"):
        accounts = self.router.ok("GET", "/weft/accounts?path=" + chain)["accounts"]
        return {a["name"]: a["address"] for a in accounts}

    def balance(self, path, who):
        return int(self.call(path, "balanceOf", who)[0])

    def digest(self, path):
        chain, resource = path.rsplit(".", 1)
        return self.call(chain + ".WeCrossProxy", "stateDigest", resource)[0]

    def mint_all(self, paths):
        alice = self.addresses()["alice"]
        for p in paths:
            if int(self.call(p, "totalSupply")[0]) == 0:
                r = self.send(p, "mint", alice, str(MINTED))
                self.assertEqual(r["errorCode"], 0, r)

    def assert_supply(self, paths):
        """The invariant: every token's supply is what was minted, and alice and bob hold all of it."""
        addr = self.addresses()
        for p in paths:
            self.assertEqual(int(self.call(p, "totalSupply")[0]), MINTED, p)
            self.assertEqual(self.balance(p, addr["alice"]) + self.balance(p, addr["bob"]), MINTED, p)

    def wait_status(self, xa_id, status, timeout=30):
        def reached():
            st, env = self.router.request("POST", "/xa/getXATransaction", {"xaTransactionID": xa_id}, timeout=10)
            return st == 200 and env["errorCode"] == 0 and env["data"]["xaTransaction"]["status"] == status
        wait_for(reached, timeout, "XA transaction %s to be %s" % (xa_id, status))


class XaAcrossTwoChains(XaHarness, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = Router(chains=TWO_CHAINS % "").start()

    @classmethod
    def tearDownClass(cls):
        cls.router.cleanup()

    def setUp(self):
        self.mint_all([T1, T2])
        self.addr = self.addresses()

    def tearDown(self):
        self.assert_supply([T1, T2])

    def test_commit_across_two_chains(self):
        a, b = self.addr["alice"], self.addr["bob"]
        before = (self.balance(T1, b), self.balance(T2, b))
        x = xid()
        self.xa("startXATransaction", x, [T1, T2], expect_status=0)
        r1 = self.step(x, 1, T1, "transfer", b, "10")
        r2 = self.step(x, 2, T2, "transfer", b, "5")
        self.assertEqual(r1["data"]["errorCode"], 0, r1)
        self.assertEqual(r2["data"]["errorCode"], 0, r2)
        # A read inside the transaction carries its id; other readers see the step too (no isolation from reads).
        st, env = self.router.request("POST", uri(T1, "call"), call_data("balanceOf", b, XA_TRANSACTION_ID=x))
        self.assertEqual(env["data"]["result"], [str(before[0] + 10)], env)
        self.xa("commitXATransaction", x, ["payment.ledger1", "payment.ledger2"], expect_status=0)
        self.assertEqual((self.balance(T1, b), self.balance(T2, b)), (before[0] + 10, before[1] + 5))
        got = self.get(x)
        tx = got["xaTransaction"]
        self.assertEqual(tx["status"], "committed")
        self.assertEqual(sorted(tx["paths"]), [T1, T2])
        self.assertEqual([s["xaTransactionSeq"] for s in tx["xaTransactionSteps"]], [1, 2])
        self.assertIn("commitTimestamp", tx)
        self.assertEqual({c["path"]: c["onChain"] for c in got["chains"]},
                         {"payment.ledger1": "committed", "payment.ledger2": "committed"})
        self.assertEqual(got["differences"], [])
        # Unlocked: a plain write goes through again.
        self.assertEqual(self.send(T1, "transfer", b, "1")["errorCode"], 0)
        listed = self.router.ok("POST", "/xa/listXATransactions", {"size": 50, "offsets": {}})
        self.assertIn(x, [i["xaTransactionID"] for i in listed["xaList"]])

    def test_rollback_restores_each_resource_exactly(self):
        b = self.addr["bob"]
        digests = {p: self.digest(p) for p in (T1, T2, S1)}
        x = xid()
        self.xa("startXATransaction", x, [T1, T2, S1], expect_status=0)
        self.assertEqual(self.step(x, 1, T1, "transfer", b, "7")["data"]["errorCode"], 0)
        self.assertEqual(self.step(x, 2, T2, "transfer", b, "3")["data"]["errorCode"], 0)
        self.assertEqual(self.step(x, 3, S1, "set", "fresh-key-" + x, "v")["data"]["errorCode"], 0)
        self.assertEqual(self.step(x, 4, S1, "set", "fresh-key-" + x, "w")["data"]["errorCode"], 0)
        self.assertNotEqual(self.digest(T1), digests[T1])
        self.xa("rollbackXATransaction", x, [T1, T2, S1], expect_status=0)
        for p, d in digests.items():
            self.assertEqual(self.digest(p), d, p)  # the key that did not exist before is gone again
        self.assertEqual(self.get(x)["xaTransaction"]["status"], "rolledback")

    def test_a_failed_step_then_rollback_leaves_nothing(self):
        b = self.addr["bob"]
        digests = {p: self.digest(p) for p in (T1, T2)}
        x = xid()
        self.xa("startXATransaction", x, [T1, T2], expect_status=0)
        self.assertEqual(self.step(x, 1, T1, "transfer", b, "4")["data"]["errorCode"], 0)
        failed = self.step(x, 2, T2, "transfer", b, str(MINTED * 10))
        self.assertEqual(failed["errorCode"], 0, failed)
        self.assertNotEqual(failed["data"]["errorCode"], 0, failed)
        self.assertIn("insufficient", failed["data"]["message"])
        self.xa("rollbackXATransaction", x, [T1, T2], expect_status=0)
        for p, d in digests.items():
            self.assertEqual(self.digest(p), d, p)
        steps = self.get(x)["xaTransaction"]["xaTransactionSteps"]
        self.assertEqual([s["outcome"] for s in steps], ["ok", "failed"])

    def on_chain(self, x):
        got = self.get(x)
        self.assertEqual(got["differences"], [], got)
        return {c["path"]: c["onChain"] for c in got["chains"]}

    def test_a_branch_starts_with_its_first_step_or_read(self):
        """A reference chain starts its branch in the transaction's first step there (a start ticket), or before a
        read inside the transaction; until then nothing of the transaction is on the chain, and this router refuses
        plain writes to the resources it holds."""
        b = self.addr["bob"]
        x = xid()
        self.xa("startXATransaction", x, [T1, T2], expect_status=0)
        self.assertEqual(self.on_chain(x), {"payment.ledger1": "none", "payment.ledger2": "none"})
        st, env = self.router.request("POST", uri(T1, "sendTransaction"), call_data("transfer", b, "1"))
        self.assertEqual(env["errorCode"], 44009, env)
        self.assertIn(x, env["message"])
        before = self.balance(T1, b)
        self.assertEqual(self.step(x, 1, T1, "transfer", b, "6")["data"]["errorCode"], 0)
        self.assertEqual(self.on_chain(x), {"payment.ledger1": "processing", "payment.ledger2": "none"})
        # A read inside the transaction locks its chain's branch first, as an eager start would have.
        st, env = self.router.request("POST", uri(T2, "call"), call_data("balanceOf", b, XA_TRANSACTION_ID=x))
        self.assertEqual(env["errorCode"], 0, env)
        self.assertEqual(self.on_chain(x), {"payment.ledger1": "processing", "payment.ledger2": "processing"})
        self.xa("commitXATransaction", x, [], expect_status=0)
        # ledger2 was only read: nothing to commit there, so its branch is released by a rollback.
        self.assertEqual(self.on_chain(x), {"payment.ledger1": "committed", "payment.ledger2": "rolledback"})
        self.assertEqual(self.balance(T1, b), before + 6)
        self.assertEqual(self.send(T1, "transfer", b, "1")["errorCode"], 0)

    def test_a_chain_no_step_reached_gets_nothing(self):
        b = self.addr["bob"]
        x = xid()
        self.xa("startXATransaction", x, [T1, T2], expect_status=0)
        self.assertEqual(self.step(x, 1, T1, "transfer", b, "2")["data"]["errorCode"], 0)
        self.xa("commitXATransaction", x, [], expect_status=0)
        got = self.get(x)
        logged = {c["path"]: (c["logged"], c.get("message", "")) for c in got["chains"]}
        self.assertEqual(logged["payment.ledger1"], ("done", ""))
        self.assertEqual(logged["payment.ledger2"][0], "done")
        self.assertIn("never started", logged["payment.ledger2"][1])
        self.assertEqual(self.on_chain(x), {"payment.ledger1": "committed", "payment.ledger2": "none"})
        # Rolled back before any step: nothing was ever sent to either chain.
        y = xid()
        self.xa("startXATransaction", y, [T1, T2], expect_status=0)
        self.xa("rollbackXATransaction", y, [], expect_status=0)
        self.assertEqual(self.on_chain(y), {"payment.ledger1": "none", "payment.ledger2": "none"})
        # The branch's only step failed (and its start with it): the commit sends that chain a rollback, which
        # leaves a tombstone where nothing was committed.
        z = xid()
        self.xa("startXATransaction", z, [T1, T2], expect_status=0)
        self.assertEqual(self.step(z, 1, T1, "transfer", b, "3")["data"]["errorCode"], 0)
        self.assertNotEqual(self.step(z, 2, T2, "transfer", b, str(MINTED * 10))["data"]["errorCode"], 0)
        self.xa("commitXATransaction", z, [], expect_status=0)
        self.assertEqual(self.on_chain(z), {"payment.ledger1": "committed", "payment.ledger2": "rolledback"})

    def test_a_lock_the_router_does_not_know_fails_the_first_step(self):
        """Another coordinator's lock on the chain: the deferred start meets it in the first step, which fails
        naming the holder; the transaction stays open and rolls back cleanly."""
        b = self.addr["bob"]
        foreign = "foreign-" + xid()
        proxy = "payment.ledger2.WeCrossProxy"
        self.assertEqual(self.send(proxy, "start", foreign, "token")["errorCode"], 0)
        try:
            x = xid()
            self.xa("startXATransaction", x, [T1, T2], expect_status=0)
            self.assertEqual(self.step(x, 1, T1, "transfer", b, "1")["data"]["errorCode"], 0)
            failed = self.step(x, 2, T2, "transfer", b, "1")
            self.assertTrue(failed["errorCode"] != 0 or failed["data"]["errorCode"] != 0, failed)
            self.assertIn(foreign, json.dumps(failed))
            self.xa("rollbackXATransaction", x, [], expect_status=0)
            self.assertEqual(self.on_chain(x), {"payment.ledger1": "rolledback", "payment.ledger2": "rolledback"})
        finally:
            self.assertEqual(self.send(proxy, "rollback", foreign)["errorCode"], 0)

    def test_refusals_and_idempotent_repeats(self):
        r, b = self.router, self.addr["bob"]
        x = xid()
        self.xa("startXATransaction", x, [T1], expect_status=0)
        # A write without the id to a locked resource: refused, naming the holder.
        st, env = r.request("POST", uri(T1, "sendTransaction"), call_data("transfer", b, "1"))
        refused = env["errorCode"] != 0 or env["data"]["errorCode"] != 0
        self.assertTrue(refused, env)
        self.assertIn(x, env["message"] + json.dumps(env.get("data")))
        # Reads pass.
        self.call(T1, "balanceOf", b)
        # Another transaction on the held resource: refused naming it, nothing logged for it.
        y = xid()
        env = self.xa("startXATransaction", y, [T1, T2])
        self.assertEqual(env["data"]["status"], -1, env)
        self.assertIn(x, json.dumps(env["data"]["chainErrorMessages"]))
        self.assertEqual(self.xa("getXATransaction", y)["errorCode"], 60404)
        # The same id again; unknown paths; bad ids.
        self.assertEqual(self.xa("startXATransaction", x, [T2])["errorCode"], 60409)
        self.assertEqual(self.xa("startXATransaction", xid(), ["payment.ledger1.nothing"])["errorCode"], 60203)
        self.assertEqual(self.xa("startXATransaction", xid(), ["not-a-path"])["errorCode"], 60203)
        self.assertEqual(self.xa("startXATransaction", "bad id!", [T2])["errorCode"], 60203)
        self.assertEqual(self.xa("startXATransaction", "x" * 200, [T2])["errorCode"], 60203)
        self.assertEqual(self.xa("startXATransaction", xid(), [])["errorCode"], 60101)
        st, env = r.request("POST", "/xa/startXATransaction", {"paths": [T2]})
        self.assertEqual(env["errorCode"], 60101)
        # Steps: a path outside the transaction, a repeated seq with the same content (the recorded answer), and
        # with other content (refused).
        self.assertEqual(self.step(x, 1, T2, "transfer", b, "1")["errorCode"], 60203)
        first = self.step(x, 5, T1, "transfer", b, "2")
        again = self.step(x, 5, T1, "transfer", b, "2")
        self.assertEqual(first["data"]["hash"], again["data"]["hash"])
        self.assertEqual(self.step(x, 5, T1, "transfer", b, "3")["errorCode"], 60409)
        # Commit with a path outside the log: refused, nothing changes.
        self.assertEqual(self.xa("commitXATransaction", x, ["payment.ledger2"])["errorCode"], 60203)
        self.xa("commitXATransaction", x, ["payment.ledger1"], expect_status=0)
        # At once, whether or not the end (written without waiting) is in the log yet: get and list say committed,
        # and a step or a read inside the transaction is refused as ended.
        self.assertEqual(self.get(x)["xaTransaction"]["status"], "committed")
        listed = self.router.ok("POST", "/xa/listXATransactions", {"size": 50, "offsets": {}})["xaList"]
        self.assertEqual([i["status"] for i in listed if i["xaTransactionID"] == x], ["committed"])
        late = self.step(x, 7, T1, "transfer", b, "1")
        self.assertEqual(late["errorCode"], 60409, late)
        self.assertIn("has ended (committed)", late["message"])
        st, env = r.request("POST", uri(T1, "call"), call_data("balanceOf", b, XA_TRANSACTION_ID=x))
        self.assertEqual(env["errorCode"], 60409, env)
        self.assertIn("has ended (committed)", env["message"])
        self.xa("commitXATransaction", x, ["payment.ledger1"], expect_status=0)  # an idempotent repeat
        self.assertEqual(self.xa("rollbackXATransaction", x, [])["errorCode"], 60409)  # finished the other way
        self.assertEqual(self.step(x, 6, T1, "transfer", b, "1")["errorCode"], 60409)
        self.assertEqual(self.xa("commitXATransaction", xid(), [])["errorCode"], 60404)
        # A rolled-back id is not committed.
        z = xid()
        self.xa("startXATransaction", z, [T2], expect_status=0)
        self.xa("rollbackXATransaction", z, [T2], expect_status=0)
        self.xa("rollbackXATransaction", z, [T2], expect_status=0)
        self.assertEqual(self.xa("commitXATransaction", z, [T2])["errorCode"], 60409)
        # Malformed bodies.
        st, env = r.request("POST", "/xa/commitXATransaction", body="{not json")
        self.assertEqual(st, 200)
        self.assertNotEqual(env["errorCode"], 0)
        st, env = r.request("POST", "/xa/commitXATransaction", {"xaTransactionID": 42})
        self.assertEqual(env["errorCode"], 60203)
        # /xa is POST only and case-sensitive, as WeCross routes it.
        self.assertEqual(r.request("GET", "/xa/getXATransaction", {"xaTransactionID": x})[0], 404)
        self.assertEqual(r.request("POST", "/xa/getxatransaction", {"xaTransactionID": x})[0], 404)

    def test_another_user_may_not_act_on_a_transaction(self):
        r = self.router
        r.account_add("carol", "carol-pw-123")
        token = r.login("carol", "carol-pw-123")
        r.ok("POST", "/auth/admin/accessControlList", {"username": "carol", "allowChainPaths": ["payment"]})
        x = xid()
        self.xa("startXATransaction", x, [T2], expect_status=0)
        self.assertEqual(self.xa("commitXATransaction", x, [T2], token=token)["errorCode"], 60506)
        self.assertEqual(self.xa("rollbackXATransaction", x, [T2], token=token)["errorCode"], 60506)
        self.assertEqual(self.xa("getXATransaction", x, token=token)["errorCode"], 60506)
        self.assertEqual(self.step(x, 1, T2, "transfer", self.addr["bob"], "1", token=token)["errorCode"], 60506)
        listed = r.ok("POST", "/xa/listXATransactions", {"size": 100, "offsets": {}}, token=token)
        self.assertNotIn(x, [i["xaTransactionID"] for i in listed["xaList"]])
        self.xa("rollbackXATransaction", x, [T2], expect_status=0)

    def test_wecross_sdk_request_sequence(self):
        """What WeCross's Java SDK 1.4 sends for an XA transaction (sheet §5-§8): its id is a UUID without dashes,
        each step's seq is System.currentTimeMillis(), a read carries only the id, list sends chainPath."""
        r, b = self.router, self.addr["bob"]
        x = xid()
        env = self.xa("startXATransaction", x, [T1, T2])
        self.assertEqual(env, {"version": "1", "errorCode": 0, "message": "Success",
                               "data": {"status": 0, "chainErrorMessages": []}})
        seq = int(time.time() * 1000)
        for i, p in enumerate([T1, T2]):
            st, env = r.request("POST", uri(p, "sendTransaction"),
                                {"method": "transfer", "args": [b, "1"],
                                 "options": {"XA_TRANSACTION_ID": x, "XA_TRANSACTION_SEQ": seq + i}})
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(sorted(env["data"]), ["blockNumber", "errorCode", "extraHashes", "hash", "message",
                                                   "result", "timestamp"])
        st, env = r.request("POST", uri(T1, "call"),
                            {"method": "balanceOf", "args": [b], "options": {"XA_TRANSACTION_ID": x}})
        self.assertEqual(env["errorCode"], 0, env)
        env = self.xa("commitXATransaction", x, ["payment.ledger1", "payment.ledger2"], expect_status=0)
        got = self.get(x)
        self.assertEqual(got["xaResponse"], {"status": 0, "chainErrorMessages": []})
        tx = got["xaTransaction"]
        for field in ("xaTransactionID", "username", "status", "startTimestamp", "commitTimestamp", "paths",
                      "xaTransactionSteps"):
            self.assertIn(field, tx)
        for s in tx["xaTransactionSteps"]:
            for field in ("xaTransactionSeq", "username", "path", "timestamp", "method", "args"):
                self.assertIn(field, s)
            self.assertIsInstance(s["args"], str)
        listed = r.ok("POST", "/xa/listXATransactions", {"size": 2, "offsets": {}, "chainPath": "payment.ledger1"})
        self.assertEqual(len(listed["xaList"]), 2)
        for item in listed["xaList"]:
            self.assertEqual(sorted(item), ["paths", "status", "timestamp", "username", "xaTransactionID"])
        self.assertEqual(sorted(listed["nextOffsets"]), ["payment.ledger1", "payment.ledger2"])
        # Paging by per-chain offsets walks every transaction once.
        seen, offsets = [], {}
        for _ in range(100):
            page = r.ok("POST", "/xa/listXATransactions", {"size": 3, "offsets": offsets})
            seen += [i["xaTransactionID"] for i in page["xaList"]]
            offsets = page["nextOffsets"]
            if page["finished"]:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertIn(x, seen)
        y = xid()
        self.xa("startXATransaction", y, [T1], expect_status=0)
        self.xa("rollbackXATransaction", y, [T1], expect_status=0)

    def test_concurrent_transactions_on_disjoint_resources_and_conflicts(self):
        r, b = self.router, self.addr["bob"]
        results, lock = [], threading.Lock()

        def run(path, i):
            x = xid()
            try:
                env = self.xa("startXATransaction", x, [path])
                if env["data"]["status"] != 0:
                    out = ("start refused", env)
                else:
                    s = self.step(x, 1, path, "set", "c%d" % i, "v%d" % i)
                    assert s["errorCode"] == 0 and s["data"]["errorCode"] == 0, s
                    c = self.xa("commitXATransaction", x, [])
                    out = ("committed" if c["errorCode"] == 0 and c["data"]["status"] == 0 else "commit failed", c)
            except Exception as e:  # noqa: BLE001 - reported below
                out = ("exception", repr(e))
            with lock:
                results.append((path, out))

        # 20 transactions at once on two resources: those that find their resource held are refused cleanly.
        paths = [S1, "payment.ledger2.store"]
        threads = [threading.Thread(target=run, args=(paths[i % 2], i)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(scaled(120))
        kinds = [o[0] for _, o in results]
        self.assertEqual(len(results), 20)
        self.assertNotIn("exception", kinds, results)
        self.assertNotIn("commit failed", kinds, results)
        self.assertGreaterEqual(kinds.count("committed"), 2)
        # Every refusal names the holder, and nothing is left held.
        for _, (kind, env) in results:
            if kind == "start refused":
                self.assertIn("held by XA transaction", json.dumps(env))
        self.assertEqual(self.send(S1, "set", "after", "free")["errorCode"], 0)


class XaMany(XaHarness, unittest.TestCase):
    """200 concurrent transactions, each on its own asset resource, all commit."""

    N = 200

    @classmethod
    def setUpClass(cls):
        tokens = "".join("\n        - { name: t%d, contract: asset }" % i for i in range(cls.N))
        chains = """
  - name: ledger1
    type: RefChain
    default_account: alice
    options:
      chain_id: 1
      block_interval_ms: 20
      resources:%s
""" % tokens
        cls.router = Router(chains=chains, rpc="  max_in_flight: 4096\n").start()

    @classmethod
    def tearDownClass(cls):
        cls.router.cleanup()

    def test_200_concurrent_transactions_commit(self):
        alice, bob = self.addresses()["alice"], self.addresses()["bob"]
        paths = ["payment.ledger1.t%d" % i for i in range(self.N)]
        results, lock = [], threading.Lock()

        def run(path):
            x = xid()
            try:
                self.xa("startXATransaction", x, [path], expect_status=0)
                s = self.step(x, 1, path, "mint", alice, str(MINTED))
                assert s["data"]["errorCode"] == 0, s
                s = self.step(x, 2, path, "transfer", bob, "1")
                assert s["data"]["errorCode"] == 0, s
                self.xa("commitXATransaction", x, [path], expect_status=0)
                out = "ok"
            except Exception as e:  # noqa: BLE001 - reported below
                out = repr(e)
            with lock:
                results.append(out)

        threads = [threading.Thread(target=run, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        for t in threads:
            t.join(scaled(300))
        self.assertEqual(results.count("ok"), self.N, [r for r in results if r != "ok"][:3])
        for p in paths[:: max(1, self.N // 20)]:
            self.assertEqual(self.balance(p, bob), 1)
        self.assert_supply(paths)


# Where the router may die, and what recovery must make of it: no decision logged -> rolled back everywhere;
# a commit decision logged -> committed everywhere.
CRASH_POINTS = [
    ("xa.after_start_log", "start", "rolledback"),
    ("xa.after_start_chain", "read", "rolledback"),  # a read's start of a branch deferred to its first step
    ("xa.after_step_log", "step", "rolledback"),
    ("xa.after_step_chain", "step", "rolledback"),
    ("xa.after_decision", "commit", "committed"),
    ("xa.after_commit_chain", "commit", "committed"),
    ("xa.after_done", "commit", "committed"),
    ("xa.after_decision", "rollback", "rolledback"),
    ("xa.after_rollback_chain", "rollback", "rolledback"),
]


class XaCrashRecovery(XaHarness, unittest.TestCase):
    POINTS = CRASH_POINTS

    @classmethod
    def setUpClass(cls):
        cls.router = Router(chains=TWO_CHAINS % "").start()

    @classmethod
    def tearDownClass(cls):
        cls.router.cleanup()

    def test_crash_at_every_failpoint(self):
        self.mint_all([T1, T2])
        for point, phase, expected in self.POINTS:
            with self.subTest(point=point, phase=phase):
                self.crash_case(point, phase, expected)
        self.assert_supply([T1, T2])

    def crash_case(self, point, phase, expected):
        r = self.router
        addr = self.addresses()
        b = addr["bob"]
        before = {p: self.digest(p) for p in (T1, T2)}
        bob_before = (self.balance(T1, b), self.balance(T2, b))
        r.stop()
        r.start(env={"WEFT_FAILPOINTS": point + "=crash"})
        x = xid()
        try:
            self.xa("startXATransaction", x, [T1, T2], expect_status=0)
            if phase == "read":
                self.router.request("POST", uri(T1, "call"), call_data("balanceOf", b, XA_TRANSACTION_ID=x))
            self.step(x, 1, T1, "transfer", b, "2")
            self.step(x, 2, T2, "transfer", b, "3")
            if phase == "commit":
                self.xa("commitXATransaction", x, [])
            elif phase == "rollback":
                self.xa("rollbackXATransaction", x, [])
            self.fail("the router did not crash at %s" % point)
        except (ConnectionError, http.client.HTTPException, OSError):
            pass
        self.assertEqual(r.wait_exit(20), 137, r.log_text())
        self.assertIn("failpoint %s reached" % point, r.log_text())
        r.start()  # no failpoints, no action: recovery alone ends the transaction
        self.wait_status(x, expected)
        got = self.get(x)
        self.assertEqual(got["differences"], [], got)
        if expected == "committed":
            self.assertEqual((self.balance(T1, b), self.balance(T2, b)), (bob_before[0] + 2, bob_before[1] + 3))
        else:
            for p, d in before.items():
                self.assertEqual(self.digest(p), d, (point, p))
        # Every lock is released: a plain write passes on both resources (a self-transfer changes nothing).
        for p in (T1, T2):
            self.assertEqual(self.send(p, "transfer", addr["alice"], "1")["errorCode"], 0, p)


class XaCrashRecoveryEagerStart(XaCrashRecovery):
    """xa.start_in_step off: every branch starts at startXATransaction, as on chains whose adapter cannot defer it."""
    POINTS = [
        ("xa.after_start_log", "start", "rolledback"),
        ("xa.after_start_chain", "start", "rolledback"),
        ("xa.after_step_chain", "step", "rolledback"),
        ("xa.after_decision", "commit", "committed"),
    ]

    @classmethod
    def setUpClass(cls):
        cls.router = Router(chains=TWO_CHAINS % "" + "xa:\n  start_in_step: false\n").start()

    def test_an_eager_start_locks_at_once(self):
        x = xid()
        self.xa("startXATransaction", x, [T1, T2], expect_status=0)
        got = self.get(x)
        self.assertEqual({c["path"]: c["onChain"] for c in got["chains"]},
                         {"payment.ledger1": "processing", "payment.ledger2": "processing"})
        self.xa("rollbackXATransaction", x, [], expect_status=0)


class XaThreeChains(XaHarness, unittest.TestCase):
    """A weft-node network as a third chain: a transaction across all three, then the network goes down during a
    commit and the coordinator finishes when it returns; then a refused compensation and its resolution."""

    def setUp(self):
        self.net = Network()
        self.net.start_all()
        nodes = ", ".join('"%s"' % self.net.client_address(i) for i in range(4))
        remote = """
  - name: remote
    type: RefChain
    default_account: alice
    options: { chain_id: 5, nodes: [%s], remote_connections: 2 }""" % nodes
        self.router = Router(chains=TWO_CHAINS % remote, rpc="  request_timeout_ms: %d\n" % (scaled(8) * 1000),
                             router="").start()
        self.T3 = "payment.remote.token"
        self.mint_all([T1, T2, self.T3])

    def tearDown(self):
        try:
            self.assert_supply([T1, T2, self.T3])
        finally:
            self.router.cleanup()
            self.net.cleanup()

    def test_three_chains_and_a_network_down_during_commit(self):
        b = self.addresses()["bob"]
        x = xid()
        self.xa("startXATransaction", x, [T1, T2, self.T3], expect_status=0)
        for i, p in enumerate([T1, T2, self.T3]):
            self.assertEqual(self.step(x, i + 1, p, "transfer", b, "1")["data"]["errorCode"], 0)
        self.xa("commitXATransaction", x, [], expect_status=0)
        self.assertEqual([self.balance(p, b) for p in (T1, T2, self.T3)], [1, 1, 1])

        y = xid()
        self.xa("startXATransaction", y, [T1, self.T3], expect_status=0)
        self.assertEqual(self.step(y, 1, T1, "transfer", b, "1")["data"]["errorCode"], 0)
        self.assertEqual(self.step(y, 2, self.T3, "transfer", b, "1")["data"]["errorCode"], 0)
        for i in range(4):
            self.net.stop(i)
        env = self.xa("commitXATransaction", y, [])
        self.assertEqual(env["errorCode"], 0, env)
        self.assertEqual(env["data"]["status"], -1, env)
        self.assertIn("decided: commit", json.dumps(env["data"]["chainErrorMessages"]))
        # The RPC keeps serving, and the decision stands.
        self.router.ok("POST", "/sys/test")
        self.assertEqual(self.get(y)["xaTransaction"]["status"], "committing")
        self.assertEqual(self.xa("rollbackXATransaction", y, [])["errorCode"], 60409)
        self.net.start_all()
        self.wait_status(y, "committed", timeout=60)
        self.assertEqual([self.balance(p, b) for p in (T1, self.T3)], [2, 2])

    def test_refused_compensation_is_heuristic_until_resolved(self):
        b = self.addresses()["bob"]
        x = xid()
        self.xa("startXATransaction", x, [T1, T2], expect_status=0)
        self.assertEqual(self.step(x, 1, T1, "transfer", b, "1")["data"]["errorCode"], 0)
        self.assertEqual(self.step(x, 2, T2, "transfer", b, "1")["data"]["errorCode"], 0)
        # An operator commits ledger2's branch by hand, signing as the coordinator's account on the proxy.
        r = self.send("payment.ledger2.WeCrossProxy", "commit", x)
        self.assertEqual(r["errorCode"], 0, r)
        env = self.xa("rollbackXATransaction", x, [])
        self.assertEqual(env["data"]["status"], -1, env)
        self.assertIn("heuristic", json.dumps(env["data"]))
        got = self.get(x)
        self.assertEqual(got["xaTransaction"]["status"], "heuristic")
        self.assertIn("payment.ledger2 refused", got["xaTransaction"]["note"])
        _, text = self.router.metrics()
        self.assertIn('weft_xa_transactions{status="heuristic"} 1', text)
        # weft xa resolve ID: an admin clears it after looking.
        console = subprocess.run([os.path.join(BIN, "weft"), "--server", self.router.address, "--user", "admin",
                                  "xa", "resolve", x, "ledger2 was committed by hand; bob keeps 1"],
                                 env=dict(os.environ, WEFT_PASSWORD="weft-admin-pw1"), capture_output=True, text=True)
        self.assertEqual(console.returncode, 0, console.stderr)
        self.assertIn("resolved", console.stdout)
        self.assertEqual(self.get(x)["xaTransaction"]["status"], "resolved")
        _, text = self.router.metrics()
        self.assertIn('weft_xa_transactions{status="heuristic"} 0', text)
        # The books: ledger1 rolled back, ledger2 kept its committed step.
        self.assertEqual((self.balance(T1, b), self.balance(T2, b)), (0, 1))


class XaOpenTimeout(XaHarness, unittest.TestCase):
    def test_a_transaction_left_open_is_rolled_back(self):
        self.router = Router(chains=TWO_CHAINS % "", router="").start()
        try:
            self.mint_all([T1])
            b = self.addresses()["bob"]
            d = self.digest(T1)
            # Restart with a 2 s open timeout.
            self.router.stop()
            with open(self.router.config) as f:
                text = f.read()
            with open(self.router.config, "w") as f:
                f.write(text.replace("auth:\n", "xa:\n  timeout_s: 2\nauth:\n"))
            self.router.start()
            x = xid()
            self.xa("startXATransaction", x, [T1], expect_status=0)
            self.assertEqual(self.step(x, 1, T1, "transfer", b, "5")["data"]["errorCode"], 0)
            self.wait_status(x, "rolledback", timeout=20)
            self.assertIn("open longer", self.get(x)["xaTransaction"]["note"])
            self.assertEqual(self.digest(T1), d)
        finally:
            self.router.cleanup()


if __name__ == "__main__":
    unittest.main()
