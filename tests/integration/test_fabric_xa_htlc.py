"""XA transactions and HTLC locks on a real Fabric 2.5 network (fabricstubs.py: fabriclib's network with Weft's chaincode
stubs, stubs/fabric/, and two XA-capable business chaincodes). The stubs' own semantics, driven through the Fabric
adapter's plain sends and calls: the XA proxy's locks, steps, repeats, refusals, commit, rollback to the exact prior
state and tombstones; the HTLC's lock, claim and refund with every refusal in docs/htlc.md's order, a claim after the
timelock refused, and the supply unchanged. Skipped, with the reason, where Fabric's binaries are absent."""
import hashlib
import json
import os
import secrets
import time
import unittest
import uuid

import fabriclib
import fabricstubs
from weftlib import Router, call_data, wait_for

NET = None
ROUTER = None
ADDR = {}
CHAIN = "fab"
SUPPLY = 1000
SANITIZER_ENV = {
    "ASAN_OPTIONS": ":".join(o for o in (os.environ.get("ASAN_OPTIONS", ""), "fast_unwind_on_malloc=0") if o),
    "LSAN_OPTIONS": ":".join(o for o in (os.environ.get("LSAN_OPTIONS", ""), "suppressions=" + os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fabric", "lsan.supp"), "print_suppressions=0") if o),
}
USERS = {"alice": "Org1", "bob": "Org2"}
KEY = {"alice": 1, "bob": 2}


def add_accounts():
    """alice is Org1's User1 and bob Org2's, as the admin's Fabric chain accounts 1 and 2 (alice the default): a send
    names which with options.account."""
    for i, (name, org) in enumerate(USERS.items()):
        cert, key, _, _ = NET.user(org)
        with open(cert) as f:
            pem = f.read()
        added = ROUTER.ok("POST", "/auth/addChainAccount",
                          {"type": "Fabric2.0", "secKey": "0x" + fabriclib.private_key_hex(key), "pubKey": pem,
                           "ext": org + "MSP", "isDefault": i == 0})
        assert added["chainAccount"]["keyID"] == KEY[name], added


def start_world(extra_chains=""):
    global NET, ROUTER
    fabric, why = fabriclib.fabric_dir()
    if fabric is None:
        raise unittest.SkipTest(why)
    modules, why = fabriclib.chaincode_modules()
    if modules is None:
        raise unittest.SkipTest(why)
    try:
        NET = fabricstubs.StubNetwork(fabric, modules)
        NET.start()
        for name, org in USERS.items():
            ADDR[name] = fabricstubs.identity_address(org, NET.user(org)[0])
        ROUTER = Router(chains=NET.chain_yaml(CHAIN, options=NET.stub_chain_options(service_account="ua:1:1")) + extra_chains)
        ROUTER.start(env=SANITIZER_ENV)
        add_accounts()
        try:
            wait_for(lambda: chain_status()["status"] == "up", 60, "the Fabric chain up")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, chain_status())) from None
    except Exception:
        stop_world()
        raise


def stop_world():
    global NET, ROUTER
    code, log = None, ""
    if ROUTER is not None:
        code = ROUTER.stop()
        log = ROUTER.log_text()
        ROUTER.cleanup()
        ROUTER = None
    if NET is not None:
        NET.cleanup()
        NET = None
    assert code in (None, 0), "the router exited with %s:\n%s" % (code, log)


def chain_status():
    return {c["path"]: c for c in ROUTER.ok("GET", "/sys/status")["chains"]}["payment." + CHAIN]


def send(resource, method, *args, account="alice"):
    status, env = ROUTER.request("POST", "/resource/payment/%s/%s/sendTransaction" % (CHAIN, resource),
                                 call_data(method, *args, account=str(KEY[account])), timeout=60)
    assert status == 200 and env["errorCode"] == 0, (status, env)
    return env["data"]


def call(resource, method, *args):
    status, env = ROUTER.request("POST", "/resource/payment/%s/%s/call" % (CHAIN, resource), call_data(method, *args))
    assert status == 200 and env["errorCode"] == 0 and env["data"]["errorCode"] == 0, (status, env)
    return env["data"]["result"][0]


def new_secret():
    s = secrets.token_bytes(32)
    return "0x" + s.hex(), "0x" + hashlib.sha256(s).hexdigest()


def xid():
    return "fx-" + uuid.uuid4().hex


class StubsOnFabric(unittest.TestCase):
    """The chaincode stubs themselves, through plain sends and calls."""

    @classmethod
    def setUpClass(cls):
        start_world()
        ok = send("ledger", "initSupply", str(SUPPLY))  # directly: refused, writes go through the proxy
        assert ok["errorCode"] != 0 and "OnlyThroughXAProxy" in ok["message"], ok
        assert send("weftxa", "forward", "ledger", "initSupply", json.dumps([str(SUPPLY)]))["errorCode"] == 0
        assert send("htlc", "initSupply", str(SUPPLY))["errorCode"] == 0
        assert send("htlc", "transfer", ADDR["bob"], str(SUPPLY // 2))["errorCode"] == 0

    @classmethod
    def tearDownClass(cls):
        stop_world()

    def tearDown(self):
        # Nothing created or destroyed: the ledger's supply is alice's and bob's; the HTLC's theirs plus its locks.
        self.assertEqual(int(call("ledger", "totalSupply")), SUPPLY)
        self.assertEqual(sum(int(call("ledger", "balanceOf", ADDR[w])) for w in USERS), SUPPLY)
        self.assertEqual(int(call("htlc", "totalSupply")), SUPPLY)
        self.assertEqual(sum(int(call("htlc", "balanceOf", ADDR[w])) for w in USERS) + int(call("htlc", "escrow")),
                         SUPPLY)

    def refused(self, tx, name):
        self.assertNotEqual(tx["errorCode"], 0, tx)
        self.assertTrue(tx["message"].startswith(name + ":"), tx)

    def ledger(self):
        return tuple(int(call("ledger", "balanceOf", ADDR[w])) for w in ("alice", "bob"))

    def step(self, x, seq, target, fn, *args, account="alice"):
        return send("weftxa", "step", x, str(seq), target, fn, json.dumps(list(args)), account=account)

    def test_xa_rollback_restores_everything_and_leaves_a_tombstone(self):
        send("weftxa", "forward", "store", "set", json.dumps(["a", "before"]))
        before = (self.ledger(), call("store", "get", "a"), call("store", "has", "b"))
        x = xid()
        self.refused(send("weftxa", "start", x, json.dumps(["store", "ledger"])), "BadTargets")  # not ascending
        self.refused(send("weftxa", "start", x, json.dumps(["ledger"]), account="bob"), "NotCoordinator")
        self.refused(send("weftxa", "start", x, json.dumps(["ledger", "nosuch"])), "NoContract")
        self.refused(send("weftxa", "start", x, json.dumps(["kv"])), "NotXACapable")
        self.assertEqual(send("weftxa", "start", x, json.dumps(["ledger", "store"]))["errorCode"], 0)
        self.assertEqual(send("weftxa", "start", x, json.dumps(["ledger", "store"]))["errorCode"], 0)  # repeat
        self.refused(send("weftxa", "start", x, json.dumps(["ledger"])), "OtherTargets")
        self.refused(send("weftxa", "start", xid(), json.dumps(["store"])), "Locked")
        r = self.step(x, 1, "ledger", "transfer", ADDR["bob"], "10")
        self.assertEqual(r["errorCode"], 0, r)
        self.assertEqual(r["result"], [str(before[0][0] - 10)])
        r = self.step(x, 2, "store", "set", "a", "during")
        self.assertEqual(r["result"], ["during"])
        r = self.step(x, 3, "store", "set", "b", "new")
        r = self.step(x, 4, "ledger", "transfer", ADDR["alice"], "3", account="bob")  # bob's own step
        self.assertEqual(r["errorCode"], 0, r)
        # A repeat answers the first run's result and runs nothing; the same seq with other content is refused.
        self.assertEqual(self.step(x, 1, "ledger", "transfer", ADDR["bob"], "10")["result"], [str(before[0][0] - 10)])
        self.refused(self.step(x, 1, "ledger", "transfer", ADDR["bob"], "11"), "SeqReused")
        self.refused(self.step(x, 5, "kv", "set", "k", "v"), "NotInTransaction")
        self.refused(self.step(x, 5, "ledger", "fail", "no"), "NoCompensation")
        self.refused(self.step(x, 5, "store", "undoSet", "a"), "NoCompensation")
        r = self.step(x, 5, "ledger", "transfer", ADDR["bob"], "100000")  # the business chaincode refuses
        self.assertNotEqual(r["errorCode"], 0, r)
        self.assertIn("InsufficientBalance", r["message"])
        self.assertEqual(self.ledger(), (before[0][0] - 7, before[0][1] + 7))
        # Locked: plain writes through the proxy are refused; direct writes and forged contexts too.
        self.refused(send("weftxa", "forward", "ledger", "transfer", json.dumps([ADDR["bob"], "1"])), "Locked")
        self.refused(send("ledger", "transfer", ADDR["bob"], "1"), "OnlyThroughXAProxy")
        self.refused(send("ledger", "weftXA", json.dumps({"xa": x, "seq": 9, "phase": "rollback", "signer": ADDR["bob"]}),
                          "undoTransfer", ADDR["alice"], "50"), "OnlyThroughXAProxy")
        self.refused(send("ledger", "undoTransfer", ADDR["alice"], "50"), "OnlyInXARollback")
        self.assertEqual(call("weftxa", "holderOf", "ledger"), x)
        branch = json.loads(call("weftxa", "branch", x))
        self.assertEqual((branch["status"], branch["targets"], branch["seqs"]), ("processing", ["ledger", "store"], [1, 2, 3, 4]))
        st = json.loads(call("weftxa", "stepOf", x, "4"))
        self.assertEqual((st["target"], st["fn"], st["args"], st["signer"], st["undo"]),
                         ("ledger", "transfer", [ADDR["alice"], "3"], ADDR["bob"], "undoTransfer"))
        # Only the coordinator decides.
        self.refused(send("weftxa", "rollback", x, account="bob"), "NotCoordinator")
        # One compensation per transaction (Fabric has no read-your-writes), newest first; then the locks go.
        for remaining in (3, 2, 1):
            r = send("weftxa", "rollback", x)
            self.assertEqual(json.loads(r["result"][0]), {"status": "processing", "rollingBack": True,
                                                          "remaining": remaining}, r)
            self.refused(self.step(x, 9, "store", "set", "z", "late"), "NotProcessing")
            self.refused(send("weftxa", "commit", x), "Finished")
        self.assertEqual(json.loads(call("weftxa", "branch", x))["undone"], [4, 3, 2])
        r = send("weftxa", "rollback", x)
        self.assertEqual(json.loads(r["result"][0]), {"status": "rolledback"}, r)
        self.assertEqual((self.ledger(), call("store", "get", "a"), call("store", "has", "b")), before)
        self.assertEqual(send("weftxa", "rollback", x)["errorCode"], 0)  # repeat: a no-op
        self.assertEqual((self.ledger(), call("store", "get", "a"), call("store", "has", "b")), before)
        self.refused(send("weftxa", "commit", x), "Finished")
        self.refused(send("weftxa", "start", x, json.dumps(["ledger", "store"])), "Finished")
        self.assertEqual(call("weftxa", "holderOf", "ledger"), "")
        # A rollback of an id never started is a tombstone: its late start is refused.
        y = xid()
        self.refused(send("weftxa", "commit", y), "UnknownTransaction")
        self.assertEqual(send("weftxa", "rollback", y)["errorCode"], 0)
        self.refused(send("weftxa", "start", y, json.dumps(["ledger"])), "Finished")
        self.assertEqual(json.loads(call("weftxa", "branch", y))["status"], "rolledback")

    def test_xa_commit_keeps_the_effects_and_releases_the_locks(self):
        before = self.ledger()
        x = xid()
        self.assertEqual(send("weftxa", "start", x, json.dumps(["ledger", "store"]))["errorCode"], 0)
        self.assertEqual(self.step(x, 0, "ledger", "transfer", ADDR["bob"], "25")["errorCode"], 0)
        self.assertEqual(self.step(x, 1, "store", "set", "c", "kept")["errorCode"], 0)
        self.refused(send("weftxa", "commit", x, account="bob"), "NotCoordinator")
        self.assertEqual(send("weftxa", "commit", x)["errorCode"], 0)
        self.assertEqual(send("weftxa", "commit", x)["errorCode"], 0)  # repeat
        self.refused(send("weftxa", "rollback", x), "Finished")
        self.refused(self.step(x, 2, "store", "set", "c", "late"), "NotProcessing")
        self.assertEqual(self.ledger(), (before[0] - 25, before[1] + 25))
        self.assertEqual(call("store", "get", "c"), "kept")
        # Unlocked: a plain write through the proxy passes again (bob gives the tokens back).
        r = send("weftxa", "forward", "ledger", "transfer", json.dumps([ADDR["alice"], "25"]), account="bob")
        self.assertEqual(r["errorCode"], 0, r)
        self.assertEqual(self.ledger(), before)

    def test_htlc_claim_refund_and_refusals_in_order(self):
        a0, b0 = (int(call("htlc", "balanceOf", ADDR[w])) for w in ("alice", "bob"))
        secret, h = new_secret()
        lock_id = "0x" + secrets.token_hex(32)
        now = int(time.time() * 1000)
        self.refused(send("htlc", "lock", lock_id, ADDR["bob"], "0", h, str(now + 60000)), "BadArguments")
        self.refused(send("htlc", "lock", lock_id, "0x12", "5", h, str(now + 60000)), "BadArguments")
        self.refused(send("htlc", "lock", lock_id, ADDR["bob"], "5", h, str(now - 1)), "Expired")
        self.refused(send("htlc", "lock", lock_id, ADDR["bob"], str(a0 + 1), h, str(now + 60000)), "InsufficientBalance")
        r = send("htlc", "lock", lock_id, ADDR["bob"], "5", h, str(now + 60000))
        self.assertEqual(r["errorCode"], 0, r)
        self.assertEqual(json.loads(r["result"][0])["state"], "locked")
        self.refused(send("htlc", "lock", lock_id, ADDR["bob"], "5", h, str(now + 60000)), "Duplicate")
        # The same id is another key for another sender.
        other = send("htlc", "lock", lock_id, ADDR["alice"], "1", h, str(now + 60000), account="bob")
        self.assertEqual(other["errorCode"], 0, other)
        self.refused(send("htlc", "refund", ADDR["alice"], lock_id), "NotExpired")
        self.refused(send("htlc", "claim", ADDR["alice"], lock_id, "0x" + "00" * 32, account="bob"), "WrongSecret")
        self.refused(send("htlc", "claim", ADDR["alice"], "0x" + "11" * 32, secret, account="bob"), "NotLocked")
        self.assertEqual(int(call("htlc", "escrow")), 6)
        r = send("htlc", "claim", ADDR["alice"], lock_id, secret.upper().replace("0X", "0x"), account="bob")
        self.assertEqual(r["errorCode"], 0, r)
        st = json.loads(call("htlc", "status", ADDR["alice"], lock_id))
        self.assertEqual((st["state"], st["secret"], st["amount"], st["receiver"]), ("claimed", secret, "5", ADDR["bob"]))
        self.refused(send("htlc", "refund", ADDR["alice"], lock_id), "NotLocked")
        self.refused(send("htlc", "claim", ADDR["alice"], lock_id, secret), "NotLocked")
        r = send("htlc", "claim", ADDR["bob"], lock_id, secret)  # bob's lock, to alice
        self.assertEqual(r["errorCode"], 0, r)
        self.assertEqual((int(call("htlc", "balanceOf", ADDR["alice"])), int(call("htlc", "balanceOf", ADDR["bob"]))),
                         (a0 - 4, b0 + 4))
        send("htlc", "transfer", ADDR["alice"], "4", account="bob")
        none = json.loads(call("htlc", "status", ADDR["bob"], "0x" + "22" * 32))
        self.assertEqual((none["state"], none["amount"], none["receiver"], none["timelock"]), ("none", "0", "", 0))

    def test_htlc_claim_after_the_timelock_is_refused_and_the_refund_passes(self):
        a0 = int(call("htlc", "balanceOf", ADDR["alice"]))
        secret, h = new_secret()
        lock_id = "0x" + secrets.token_hex(32)
        timelock = int(time.time() * 1000) + 3000
        self.assertEqual(send("htlc", "lock", lock_id, ADDR["bob"], "7", h, str(timelock))["errorCode"], 0)
        self.assertEqual(int(call("htlc", "balanceOf", ADDR["alice"])), a0 - 7)
        time.sleep(max(0, timelock / 1000 - time.time()) + 0.2)
        # The claim held back past the timelock: its transaction's time is after it.
        r = send("htlc", "claim", ADDR["alice"], lock_id, secret, account="bob")
        self.refused(r, "Expired")
        self.assertIn("can only be refunded", r["message"])
        r = send("htlc", "refund", ADDR["alice"], lock_id, account="bob")  # anyone may refund; alice is paid
        self.assertEqual(r["errorCode"], 0, r)
        self.assertEqual(json.loads(call("htlc", "status", ADDR["alice"], lock_id))["state"], "refunded")
        self.assertEqual(int(call("htlc", "balanceOf", ADDR["alice"])), a0)


if __name__ == "__main__":
    unittest.main()
