"""XA transactions and HTLC locks on a real Fabric 2.5 network (fabricstubs.py: fabriclib's network with Weft's chaincode
stubs, stubs/fabric/, and two XA-capable business chaincodes) next to an embedded reference chain, one network and one
router for the module. The stubs' own semantics, driven through the Fabric adapter's plain sends and calls (chain
`fab`, whose resources are plain chaincode): the XA proxy's locks, steps, repeats, refusals, commit, rollback to the
exact prior state and tombstones; the HTLC's lock, claim and refund with every refusal in docs/htlc.md's order, a claim
after the timelock refused, a claim endorsed in time but held back and ordered after the refund (invalidated), a
timestamp far from the endorsers' clocks refused, and the supply unchanged. Then the adapter's XA and HTLC verbs (chain `fabx`, the same
chaincodes configured as the XA proxy, XA-capable resources and an HTLC): XA transactions spanning Fabric and the
reference chain, committed, rolled back with the business state compared, and the router killed at every XA
failpoint; HTLC swaps through the engine between Fabric and the reference chain in both directions and between two
chain entries of the network, including the router killed after the reveal, and a proposal whose party has no account
on the other chain refused. Skipped, with the reason, where Fabric's binaries are absent."""
import hashlib
import http.client
import json
import os
import secrets
import subprocess
import time
import unittest
import uuid

import fabriclib
import fabricstubs
from test_xa import CRASH_POINTS  # every XA failpoint, with what recovery must make of it
from weftlib import Router, call_data, wait_for

NET = None
ROUTER = None
ADDR = {}
CHAIN = "fab"
XCHAIN = "fabx"  # the same network, its chaincodes configured as Weft's stubs
XCHAIN2 = "fabx2"  # the same again: the other side of a swap whose parties both have Fabric identities
REFCHAIN = """
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
"""
RTOKEN = "payment.ledger1.token"
RHTLC = "payment.ledger1.htlc"
HTLC_CONF = "htlc:\n  min_window_ms: 3000\n  margin_ms: 500\n  poll_ms: 100\n"
REF_MINTED = 100000
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


def start_world(extra_chains="", before_start=None):
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
        plain = NET.stub_chain_options(service_account="ua:1:1")
        stubs = NET.stub_chain_options(service_account="ua:1:1")
        stubs["xa_proxy"] = "weftxa"
        stubs["resources"] = [dict(r, **({"xa": True} if r["name"] in ("ledger", "store") else
                                         {"htlc": True} if r["name"] == "htlc" else {}))
                              for r in stubs["resources"] if r["name"] != "weftxa"]
        ROUTER = Router(chains=NET.chain_yaml(CHAIN, options=plain) + NET.chain_yaml(XCHAIN, options=stubs) +
                        NET.chain_yaml(XCHAIN2, options=stubs) + extra_chains)
        with open(ROUTER.config) as f:  # the HTLC engine's short windows, as in the other HTLC tests
            text = f.read()
        text = text.replace("auth:\n", HTLC_CONF + "auth:\n", 1)
        with open(ROUTER.config, "w") as f:
            f.write(text)
        if before_start:
            before_start(ROUTER)
        ROUTER.start(env=SANITIZER_ENV)
        add_accounts()
        try:
            for c in (CHAIN, XCHAIN):
                wait_for(lambda: chain_status(c)["status"] == "up", 60, "the Fabric chain %s up" % c)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, chain_status(c))) from None
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
    assert fabriclib.clean_exit(code, log), "the router exited with %s:\n%s" % (code, log)


def chain_status(chain=CHAIN):
    return {c["path"]: c for c in ROUTER.ok("GET", "/sys/status")["chains"]}["payment." + chain]


def send(resource, method, *args, account="alice", chain=CHAIN, **options):
    status, env = ROUTER.request("POST", "/resource/payment/%s/%s/sendTransaction" % (chain, resource),
                                 call_data(method, *args, account=str(KEY[account]), **options), timeout=60)
    assert status == 200 and env["errorCode"] == 0, (status, env)
    return env["data"]


def call(resource, method, *args, chain=CHAIN):
    status, env = ROUTER.request("POST", "/resource/payment/%s/%s/call" % (chain, resource), call_data(method, *args))
    assert status == 200 and env["errorCode"] == 0 and env["data"]["errorCode"] == 0, (status, env)
    return env["data"]["result"][0]


CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fabric", "xa", "client.js")


def raw_client(mode, org, args=None, timestamp_ms=None, envelope=""):
    """tests/fabric/xa/client.js: endorse a transaction of the HTLC chaincode as org's User1 with a chosen timestamp,
    or order an envelope endorsed earlier."""
    cert, key, tls_cert, tls_key = NET.user(org)
    req = {"channel": fabriclib.CHANNEL, "chaincode": "htlc", "args": args or [], "mspId": org + "MSP",
           "certFile": cert, "keyFile": key, "tlsCertFile": tls_cert, "tlsKeyFile": tls_key,
           "timestampMs": int(timestamp_ms or time.time() * 1000), "envelope": envelope,
           "peers": [{"address": "127.0.0.1:%d" % NET.peers[o]["port"], "caFile": NET.peer_tls_ca(o)}
                     for o in ("Org1", "Org2")],
           "orderer": {"address": "127.0.0.1:%d" % NET.orderer_port, "caFile": NET.orderer_tls_ca()}}
    path = os.path.join(NET.dir, "client-%s.json" % uuid.uuid4().hex)
    with open(path, "w") as f:
        json.dump(req, f)
    p = subprocess.run(["node", CLIENT, mode, path], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, NODE_PATH=NET.modules))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def new_secret():
    s = secrets.token_bytes(32)
    return "0x" + s.hex(), "0x" + hashlib.sha256(s).hexdigest()


def xid():
    return "fx-" + uuid.uuid4().hex


def setUpModule():
    start_world(REFCHAIN)
    try:
        ok = send("ledger", "initSupply", str(SUPPLY))  # directly: refused, writes go through the proxy
        assert ok["errorCode"] != 0 and "OnlyThroughXAProxy" in ok["message"], ok
        assert send("weftxa", "forward", "ledger", "initSupply", json.dumps([str(SUPPLY)]))["errorCode"] == 0
        assert send("htlc", "initSupply", str(SUPPLY))["errorCode"] == 0
        assert send("htlc", "transfer", ADDR["bob"], str(SUPPLY // 2))["errorCode"] == 0
        ref = ref_addr()
        for who in USERS:
            env = ROUTER.request("POST", "/resource/payment/ledger1/token/sendTransaction",
                                 call_data("mint", ref[who], str(REF_MINTED // 2)), timeout=60)[1]
            assert env["errorCode"] == 0 and env["data"]["errorCode"] == 0, env
    except Exception:
        stop_world()
        raise


def ref_addr():
    accounts = ROUTER.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]
    return {a["name"]: a["address"] for a in accounts}


def ref_balance(who):
    return int(ROUTER.ok("POST", "/resource/payment/ledger1/token/call", call_data("balanceOf", who))["result"][0])


def tearDownModule():
    stop_world()


def assert_supply(test):
    """Nothing created or destroyed: the ledger's supply is alice's and bob's; the HTLC's theirs plus its locks."""
    test.assertEqual(int(call("ledger", "totalSupply")), SUPPLY)
    test.assertEqual(sum(int(call("ledger", "balanceOf", ADDR[w])) for w in USERS), SUPPLY)
    test.assertEqual(int(call("htlc", "totalSupply")), SUPPLY)
    test.assertEqual(sum(int(call("htlc", "balanceOf", ADDR[w])) for w in USERS) + int(call("htlc", "escrow")), SUPPLY)


class StubsOnFabric(unittest.TestCase):
    """The chaincode stubs themselves, through plain sends and calls."""

    def tearDown(self):
        assert_supply(self)

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

    def test_htlc_claim_endorsed_in_time_but_ordered_after_the_refund_is_invalidated(self):
        b0 = int(call("htlc", "balanceOf", ADDR["bob"]))
        secret, h = new_secret()
        lock_id = "0x" + secrets.token_hex(32)
        timelock = int(time.time() * 1000) + 4000
        self.assertEqual(send("htlc", "lock", lock_id, ADDR["bob"], "9", h, str(timelock))["errorCode"], 0)
        # bob's claim, endorsed before the timelock and held back.
        held = raw_client("endorse", "Org2", ["claim", ADDR["alice"], lock_id, secret])
        self.assertEqual(held["status"], 200, held)
        time.sleep(max(0, timelock / 1000 - time.time()) + 0.2)
        r = send("htlc", "refund", ADDR["alice"], lock_id)  # at expiry, as the engine does
        self.assertEqual(r["errorCode"], 0, r)
        # Ordered now, the claim read the lock before the refund wrote it: Fabric invalidates it (MVCC).
        self.assertEqual(raw_client("submit", "Org2", envelope=held["envelope"])["status"], 200)

        def validated():
            st, env = ROUTER.request("GET", "/trans/getTransaction?path=payment.%s&txHash=%s" % (CHAIN, held["txId"]))
            return env["data"] if env["errorCode"] == 0 else None
        detail = wait_for(validated, 30, "the held claim's block")
        native = detail.get("native", detail)
        self.assertEqual(native.get("validationCode"), "MVCC_READ_CONFLICT", detail)
        self.assertEqual(json.loads(call("htlc", "status", ADDR["alice"], lock_id))["state"], "refunded")
        self.assertEqual(int(call("htlc", "balanceOf", ADDR["bob"])), b0)

    def test_htlc_refuses_a_timestamp_far_from_the_endorsers_clock(self):
        secret, h = new_secret()
        now = int(time.time() * 1000)
        # A lock backdated by a minute, and one post-dated: chain time is the client's, within 30 s of the endorsers'.
        for skew in (-60000, 60000):
            got = raw_client("endorse", "Org1", ["lock", "0x" + secrets.token_hex(32), ADDR["bob"], "1", h,
                                                 str(now + 120000)], timestamp_ms=now + skew)
            self.assertEqual(got["status"], 500, got)
            self.assertTrue(got["message"].startswith("BadTimestamp:"), got)
        # Within the bound the same client is served.
        got = raw_client("endorse", "Org1", ["chainTime"], timestamp_ms=now - 5000)
        self.assertEqual((got["status"], got["result"]), (200, str(now - 5000)), got)


LEDGER, STORE = "payment.%s.ledger" % XCHAIN, "payment.%s.store" % XCHAIN


class XaAcrossFabricAndReferenceChain(unittest.TestCase):
    """The adapter's XA verbs (chain fabx) under the router's coordinator, with the reference chain's token."""

    def tearDown(self):
        assert_supply(self)
        ref = ref_addr()
        self.assertEqual(sum(ref_balance(ref[w]) for w in USERS), REF_MINTED)

    def xa(self, verb, x, paths=None, expect_status=None):
        data = {"xaTransactionID": x}
        if paths is not None:
            data["paths"] = paths
        status, env = ROUTER.request("POST", "/xa/" + verb, data, timeout=120)
        self.assertEqual(status, 200, env)
        if expect_status is not None:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["status"], expect_status, env)
        return env

    def step(self, x, seq, path, method, *args):
        status, env = ROUTER.request("POST", "/resource/" + path.replace(".", "/") + "/sendTransaction",
                                     call_data(method, *args, XA_TRANSACTION_ID=x, XA_TRANSACTION_SEQ=seq), timeout=60)
        self.assertEqual(status, 200, env)
        return env

    def get(self, x):
        env = self.xa("getXATransaction", x)
        self.assertEqual(env["errorCode"], 0, env)
        return env["data"]

    def state(self):
        ref = ref_addr()
        return (tuple(int(call("ledger", "balanceOf", ADDR[w])) for w in USERS),
                tuple((call("store", "has", k), call("store", "get", k)) for k in ("a", "b")),
                tuple(ref_balance(ref[w]) for w in USERS))

    def test_resources_are_marked(self):
        listed = ROUTER.ok("GET", "/sys/listResources?path=payment.%s&offset=0&size=50" % XCHAIN)
        names = [r["path"] for r in listed["resourceDetails"]]
        self.assertIn(LEDGER, names)
        self.assertNotIn("payment.%s.WeCrossProxy" % XCHAIN, names)
        self.assertTrue(ROUTER.ok("POST", "/resource/payment/%s/ledger/detail" % XCHAIN)["properties"]["xa"])
        self.assertEqual(ROUTER.ok("POST", "/resource/payment/%s/htlc/detail" % XCHAIN)["properties"]["contract"], "htlc")

    def test_commit_across_fabric_and_the_reference_chain(self):
        ref = ref_addr()
        before = self.state()
        x = xid()
        self.xa("startXATransaction", x, [LEDGER, STORE, RTOKEN], expect_status=0)
        r1 = self.step(x, 1, LEDGER, "transfer", ADDR["bob"], "10")
        self.assertEqual(r1["data"]["errorCode"], 0, r1)
        self.assertEqual(r1["data"]["result"], [str(before[0][0] - 10)], r1)
        r2 = self.step(x, 2, RTOKEN, "transfer", ref["bob"], "7")
        self.assertEqual(r2["data"]["errorCode"], 0, r2)
        r3 = self.step(x, 3, STORE, "set", "a", "hello")
        self.assertEqual(r3["data"]["result"], ["hello"], r3)
        # A plain write to a locked chaincode is refused and names the holder.
        status, plain = ROUTER.request("POST", "/resource/payment/%s/ledger/sendTransaction" % XCHAIN,
                                       call_data("transfer", ADDR["bob"], "1"), timeout=60)
        self.assertTrue(plain["errorCode"] != 0 or plain["data"]["errorCode"] != 0, plain)
        self.assertIn(x, json.dumps(plain))
        # A read inside the transaction, and one naming a transaction that does not hold the resource.
        st, env = ROUTER.request("POST", "/resource/payment/%s/store/call" % XCHAIN,
                                 call_data("get", "a", XA_TRANSACTION_ID=x))
        self.assertEqual(env["data"]["result"], ["hello"], env)
        st, env = ROUTER.request("POST", "/resource/payment/%s/store/call" % XCHAIN,
                                 call_data("get", "a", XA_TRANSACTION_ID="unknown-id"))
        self.assertNotEqual(env["errorCode"], 0, env)
        got = self.get(x)
        self.assertEqual(got["differences"], [], got)
        self.xa("commitXATransaction", x, [LEDGER], expect_status=0)
        after = self.state()
        self.assertEqual(after[0], (before[0][0] - 10, before[0][1] + 10))
        self.assertEqual(after[1][0], ("true", "hello"))
        self.assertEqual(after[2], (before[2][0] - 7, before[2][1] + 7))
        got = self.get(x)
        self.assertEqual(got["xaTransaction"]["status"], "committed", got)
        self.assertEqual(got["differences"], [], got)
        # Unlocked: bob gives both back outside any transaction.
        self.assertEqual(send("ledger", "transfer", ADDR["alice"], "10", account="bob", chain=XCHAIN)["errorCode"], 0)
        env = ROUTER.request("POST", "/resource/payment/ledger1/token/sendTransaction",
                             call_data("transfer", ref["alice"], "7", account="bob"), timeout=60)[1]
        self.assertEqual(env["data"]["errorCode"], 0, env)

    def test_rollback_restores_the_exact_state_on_both_chains(self):
        ref = ref_addr()
        before = self.state()
        x = xid()
        self.xa("startXATransaction", x, [LEDGER, STORE, RTOKEN], expect_status=0)
        seq = 0
        for key, value in (("a", "one"), ("a", "two"), ("b", "new")):
            seq += 1
            self.assertEqual(self.step(x, seq, STORE, "set", key, value)["data"]["errorCode"], 0)
        for amount in ("3", "4"):
            seq += 1
            self.assertEqual(self.step(x, seq, LEDGER, "transfer", ADDR["bob"], amount)["data"]["errorCode"], 0)
        seq += 1
        self.assertEqual(self.step(x, seq, RTOKEN, "transfer", ref["bob"], "9")["data"]["errorCode"], 0)
        failed = self.step(x, seq + 1, LEDGER, "transfer", ADDR["bob"], str(SUPPLY * 10))
        self.assertNotEqual(failed["data"]["errorCode"], 0, failed)
        self.assertIn("InsufficientBalance", failed["data"]["message"])
        again = self.step(x, 1, STORE, "set", "a", "one")  # a repeat answers the recorded result
        self.assertEqual(again["data"]["result"], ["one"], again)
        self.assertNotEqual(self.state(), before)
        self.xa("rollbackXATransaction", x, [], expect_status=0)
        self.assertEqual(self.state(), before)
        got = self.get(x)
        self.assertEqual(got["xaTransaction"]["status"], "rolledback", got)
        self.assertEqual(got["differences"], [], got)

    def test_router_killed_at_every_xa_failpoint(self):
        for point, phase, expected in CRASH_POINTS:
            with self.subTest(point=point, phase=phase):
                self.crash_case(point, phase, expected)

    def crash_case(self, point, phase, expected):
        ref = ref_addr()
        before = self.state()
        ROUTER.stop()
        ROUTER.start(env=dict(SANITIZER_ENV, WEFT_FAILPOINTS=point + "=crash"))
        x = xid()
        try:
            self.xa("startXATransaction", x, [LEDGER, STORE, RTOKEN], expect_status=0)
            self.step(x, 1, LEDGER, "transfer", ADDR["bob"], "2")
            self.step(x, 2, STORE, "set", "a", point)
            self.step(x, 3, RTOKEN, "transfer", ref["bob"], "3")
            if phase in ("commit", "rollback"):
                self.xa(phase + "XATransaction", x, [])
            self.fail("the router did not crash at %s" % point)
        except (ConnectionError, http.client.HTTPException, OSError):
            pass
        self.assertEqual(ROUTER.wait_exit(60), 137, ROUTER.log_text()[-3000:])
        ROUTER.start(env=SANITIZER_ENV)  # recovery alone ends the transaction

        def reached():
            st, env = ROUTER.request("POST", "/xa/getXATransaction", {"xaTransactionID": x}, timeout=30)
            return st == 200 and env["errorCode"] == 0 and env["data"]["xaTransaction"]["status"] == expected
        wait_for(reached, 120, "XA transaction %s to be %s" % (x, expected))
        got = self.get(x)
        self.assertEqual(got["differences"], [], got)
        if expected == "committed":
            after = self.state()
            self.assertEqual(after[0], (before[0][0] - 2, before[0][1] + 2))
            self.assertEqual(after[1][0], ("true", point))
            self.assertEqual(after[2], (before[2][0] - 3, before[2][1] + 3))
            self.assertEqual(send("ledger", "transfer", ADDR["alice"], "2", account="bob", chain=XCHAIN)["errorCode"], 0)
            env = ROUTER.request("POST", "/resource/payment/ledger1/token/sendTransaction",
                                 call_data("transfer", ref["alice"], "3", account="bob"), timeout=60)[1]
            self.assertEqual(env["data"]["errorCode"], 0, env)
        else:
            self.assertEqual(self.state(), before, point)


FHTLC = "payment.%s.htlc" % XCHAIN


class HtlcSwapsOnFabric(unittest.TestCase):
    """Swaps through the router's HTLC engine and the adapter's HTLC verbs: between Fabric and the reference chain, in
    both directions, and between two chain entries of the same network (fabx and fabx2: the same HTLC chaincode, locks
    keyed by sender). alice and bob are the admin's Fabric chain accounts 1 and 2 (Org1's and Org2's User1) and the
    router accounts alice and bob on the reference chain: a party names its account on its own chain (`account`) and the
    one it receives with on the other side's chain (`receiveAccount`), since a P-256 Fabric identity has no address on a
    secp256k1 chain."""

    def tearDown(self):
        assert_supply(self)

    def timelocks(self, initiator, participant):
        s = ROUTER.ok("GET", "/weft/htlc/safety?initiator=%s&participant=%s" % (initiator, participant))
        tp = s["participantNowMs"] + s["minWindowMs"] + 2000
        return tp + s["deltaMs"] + 1000, tp

    @staticmethod
    def party(chain, who, amount, timelock):
        """A side of a proposal: who's account on chain and, where the other side's chain takes the other kind of
        key, the one it receives with there."""
        side = {"amount": amount, "timelock": timelock}
        if chain == "ledger1":
            return dict(side, path=RHTLC, account=who, receiveAccount=str(KEY[who]))
        return dict(side, path="payment.%s.htlc" % chain, account=str(KEY[who]), receiveAccount=who)

    def propose(self, amount_i, amount_p, chains=(XCHAIN, XCHAIN2)):
        secret, h = new_secret()
        ti, tp = self.timelocks("payment." + chains[0], "payment." + chains[1])
        initiator = self.party(chains[0], "alice", amount_i, ti)
        participant = self.party(chains[1], "bob", amount_p, tp)
        if "ledger1" not in chains:  # Fabric on both sides: the one account serves both
            del initiator["receiveAccount"], participant["receiveAccount"]
        data = {"initiator": initiator, "participant": participant, "hash": h, "secret": secret}
        return ROUTER.ok("POST", "/weft/htlc/newProposal", data), secret

    def wait_state(self, swap_id, states, timeout=120):
        def reached():
            d = ROUTER.ok("POST", "/weft/htlc/getProposal", {"id": swap_id})
            return d if d["state"] in states else None
        return wait_for(reached, timeout, "swap %s to reach %s" % (swap_id, states))

    def balances(self):
        """alice's and bob's HTLC balances on Fabric, then their token balances on the reference chain."""
        ref = ref_addr()
        return tuple(int(call("htlc", "balanceOf", ADDR[w])) for w in USERS) + tuple(ref_balance(ref[w]) for w in USERS)

    def give_back(self, fabric_to_alice, ref_to_bob):
        if fabric_to_alice:
            send("htlc", "transfer", ADDR["alice"], str(fabric_to_alice), account="bob")
        if ref_to_bob:
            env = ROUTER.request("POST", "/resource/payment/ledger1/token/sendTransaction",
                                 call_data("transfer", ref_addr()["bob"], str(ref_to_bob), account="alice"),
                                 timeout=60)[1]
            self.assertEqual(env["data"]["errorCode"], 0, env)

    def test_swap(self):
        before = self.balances()
        swap, secret = self.propose("100", "30")
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual(self.balances(), (before[0] - 70, before[1] + 70) + before[2:])
        st = ROUTER.ok("POST", "/weft/htlc/status", {"id": swap["id"]})
        self.assertEqual((st["initiator"]["state"], st["participant"]["state"]), ("claimed", "claimed"), st)
        # The initiator's claim published the secret on chain: the chaincode's own status of bob's lock shows it.
        on_chain = json.loads(call("htlc", "status", ADDR["bob"], swap["id"]))
        self.assertEqual((on_chain["state"], on_chain["secret"]), ("claimed", secret), on_chain)
        self.give_back(70, 0)

    def test_swap_fabric_for_the_reference_chain(self):
        """alice gives 100 on Fabric for bob's 30 tokens on the reference chain."""
        before = self.balances()
        swap, secret = self.propose("100", "30", chains=(XCHAIN, "ledger1"))
        ref = ref_addr()
        self.assertEqual((swap["initiator"]["receiver"], swap["participant"]["receiver"]),
                         (ADDR["bob"], ref["alice"].lower()), swap)
        self.assertEqual((swap["initiator"]["receiveAccount"], swap["participant"]["receiveAccount"]), ("alice", "2"))
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual(self.balances(), (before[0] - 100, before[1] + 100, before[2] + 30, before[3] - 30))
        on_chain = json.loads(call("htlc", "status", ADDR["alice"], swap["id"]))
        self.assertEqual((on_chain["state"], on_chain["secret"]), ("claimed", secret), on_chain)
        self.give_back(100, 30)

    def test_swap_the_reference_chain_for_fabric(self):
        """alice gives 40 tokens on the reference chain for bob's 15 on Fabric: the Fabric lock is the participant's,
        whose timelock comes first."""
        before = self.balances()
        swap, _ = self.propose("40", "15", chains=("ledger1", XCHAIN))
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual(self.balances(), (before[0] + 15, before[1] - 15, before[2] - 40, before[3] + 40))
        send("htlc", "transfer", ADDR["bob"], "15", account="alice")
        env = ROUTER.request("POST", "/resource/payment/ledger1/token/sendTransaction",
                             call_data("transfer", ref_addr()["alice"], "40", account="bob"), timeout=60)[1]
        self.assertEqual(env["data"]["errorCode"], 0, env)

    def test_a_party_without_an_account_on_the_other_chain_is_refused(self):
        secret, h = new_secret()
        ti, tp = self.timelocks("payment." + XCHAIN, "payment.ledger1")
        data = {"initiator": {"path": FHTLC, "account": "1", "amount": "5", "timelock": ti},
                "participant": {"path": RHTLC, "account": "bob", "receiveAccount": "2", "amount": "5", "timelock": tp},
                "hash": h, "secret": secret}
        status, env = ROUTER.request("POST", "/weft/htlc/newProposal", data)
        self.assertNotEqual(env["errorCode"], 0, env)
        self.assertIn("initiator", env["message"])
        self.assertIn("payment.ledger1", env["message"])
        self.assertIn("receiveAccount", env["message"])
        listed = ROUTER.ok("POST", "/weft/htlc/listProposals", {"offset": 0, "size": 100})["proposals"]
        self.assertNotIn(h, [p["hash"] for p in listed])  # nothing was stored

    def killed_after_the_reveal(self, chains, amount_i, amount_p):
        before = self.balances()
        ROUTER.stop()
        ROUTER.start(env=dict(SANITIZER_ENV, WEFT_FAILPOINTS="htlc.before_counterpart_claim=crash"))
        swap, _ = self.propose(str(amount_i), str(amount_p), chains=chains)
        self.assertEqual(ROUTER.wait_exit(120), 137, ROUTER.log_text()[-3000:])
        ROUTER.start(env=SANITIZER_ENV)
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        return before

    def test_killed_after_the_secret_is_revealed(self):
        before = self.killed_after_the_reveal((XCHAIN, XCHAIN2), 40, 10)
        self.assertEqual(self.balances(), (before[0] - 30, before[1] + 30) + before[2:])
        self.give_back(30, 0)

    def test_killed_after_the_secret_is_revealed_with_the_reference_chain(self):
        before = self.killed_after_the_reveal((XCHAIN, "ledger1"), 20, 8)
        self.assertEqual(self.balances(), (before[0] - 20, before[1] + 20, before[2] + 8, before[3] - 8))
        self.give_back(20, 8)


if __name__ == "__main__":
    unittest.main()
