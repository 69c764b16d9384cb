"""XA transactions spanning three kinds of chain at once: a real Fabric 2.5 network with Weft's chaincode stubs
(test_fabric_xa_htlc.py's world), a real EVM node (anvil) with Weft's Solidity stubs, and an embedded reference chain.
Committed, rolled back with every chain's business state compared, and the router killed at every XA failpoint; the
supply of every asset unchanged at the end. Skipped, with the reason, where Fabric's binaries are absent."""
import http.client
import json
import unittest
import uuid

import test_fabric_xa_htlc as fx
from evmlib import Anvil, DEV_ADDRESSES, DEV_KEYS, evm_chain, write_key
from test_evm_xa_htlc import compiled
from weftlib import call_data, wait_for

EVM_ALICE, EVM_BOB = DEV_ADDRESSES[1], DEV_ADDRESSES[2]
ELEDGER = "payment.contracts.ledger"
FLEDGER = "payment.%s.ledger" % fx.XCHAIN
EVM_SUPPLY = 1000
ANVIL = None


def setUpModule():
    global ANVIL
    fabric, why = fx.fabriclib.fabric_dir()
    if fabric is None:
        raise unittest.SkipTest(why)
    ANVIL = Anvil().start()

    def keys(router):
        for name, key in zip(("alice", "bob"), DEV_KEYS[1:]):
            write_key(router.data_dir, name, key)
    try:
        fx.start_world(fx.REFCHAIN + evm_chain("contracts", ANVIL.url, []), before_start=keys)
        r = fx.ROUTER
        stubs = r.ok("POST", "/weft/chain/deployStubs", {"path": "payment.contracts", "stubs": ["xa"]})
        proxy = stubs["resources"][0]["address"]
        c = compiled()["XaLedger"]
        r.ok("POST", "/weft/resource/add", {"path": ELEDGER, "bytecode": c["bytecode"], "abi": c["abi"],
                                            "args": [proxy, EVM_ALICE, str(EVM_SUPPLY)]})
        ok = fx.send("ledger", "initSupply", str(fx.SUPPLY), chain=fx.XCHAIN)  # through the proxy's forward
        assert ok["errorCode"] == 0, ok
        ref = fx.ref_addr()
        for who in fx.USERS:
            env = r.request("POST", "/resource/payment/ledger1/token/sendTransaction",
                            call_data("mint", ref[who], str(fx.REF_MINTED // 2)), timeout=60)[1]
            assert env["errorCode"] == 0 and env["data"]["errorCode"] == 0, env
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    try:
        fx.stop_world()
    finally:
        if ANVIL:
            ANVIL.kill()


def evm_balance(who):
    return int(fx.ROUTER.ok("POST", "/resource/payment/contracts/ledger/call", call_data("balanceOf", who))["result"][0])


class XaAcrossAnvilFabricAndReferenceChain(unittest.TestCase):
    def xa(self, verb, x, paths=None, expect_status=None):
        data = {"xaTransactionID": x}
        if paths is not None:
            data["paths"] = paths
        status, env = fx.ROUTER.request("POST", "/xa/" + verb, data, timeout=120)
        self.assertEqual(status, 200, env)
        if expect_status is not None:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["status"], expect_status, env)
        return env

    def step(self, x, seq, path, method, *args):
        status, env = fx.ROUTER.request("POST", "/resource/" + path.replace(".", "/") + "/sendTransaction",
                                        call_data(method, *args, XA_TRANSACTION_ID=x, XA_TRANSACTION_SEQ=seq),
                                        timeout=60)
        self.assertEqual(status, 200, env)
        return env

    def state(self):
        ref = fx.ref_addr()
        return (tuple(int(fx.call("ledger", "balanceOf", fx.ADDR[w], chain=fx.XCHAIN)) for w in fx.USERS),
                (evm_balance(EVM_ALICE), evm_balance(EVM_BOB)),
                tuple(fx.ref_balance(ref[w]) for w in fx.USERS))

    def steps(self, x):
        ref = fx.ref_addr()
        for seq, (path, args) in enumerate(((FLEDGER, (fx.ADDR["bob"], "2")), (ELEDGER, (EVM_BOB, "3")),
                                            (fx.RTOKEN, (ref["bob"], "4"))), start=1):
            env = self.step(x, seq, path, "transfer", *args)
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["errorCode"], 0, env)

    def expect_moved(self, before, after):
        self.assertEqual(after, ((before[0][0] - 2, before[0][1] + 2), (before[1][0] - 3, before[1][1] + 3),
                                 (before[2][0] - 4, before[2][1] + 4)))

    def give_back(self):
        """bob returns what the steps moved, outside any transaction (so the locks are released on every chain)."""
        ref = fx.ref_addr()
        self.assertEqual(fx.send("ledger", "transfer", fx.ADDR["alice"], "2", account="bob", chain=fx.XCHAIN)
                         ["errorCode"], 0)
        for path, to, amount in (("contracts/ledger", EVM_ALICE, "3"), ("ledger1/token", ref["alice"], "4")):
            env = fx.ROUTER.request("POST", "/resource/payment/%s/sendTransaction" % path,
                                    call_data("transfer", to, amount, account="bob"), timeout=60)[1]
            self.assertEqual(env["data"]["errorCode"], 0, env)

    def tearDown(self):
        state = self.state()
        self.assertEqual((sum(state[0]), sum(state[1]), sum(state[2])), (fx.SUPPLY, EVM_SUPPLY, fx.REF_MINTED))

    def test_commit_and_rollback_across_three_chains(self):
        before = self.state()
        x = "f3-" + uuid.uuid4().hex
        self.xa("startXATransaction", x, [FLEDGER, ELEDGER, fx.RTOKEN], expect_status=0)
        self.steps(x)
        self.xa("commitXATransaction", x, [], expect_status=0)
        self.expect_moved(before, self.state())
        got = self.xa("getXATransaction", x)["data"]
        self.assertEqual(got["differences"], [], got)
        self.give_back()
        self.assertEqual(self.state(), before)
        y = "f3-" + uuid.uuid4().hex
        self.xa("startXATransaction", y, [FLEDGER, ELEDGER, fx.RTOKEN], expect_status=0)
        self.steps(y)
        self.assertNotEqual(self.state(), before)
        self.xa("rollbackXATransaction", y, [], expect_status=0)
        self.assertEqual(self.state(), before)
        got = self.xa("getXATransaction", y)["data"]
        self.assertEqual((got["xaTransaction"]["status"], got["differences"]), ("rolledback", []), got)

    def test_router_killed_at_every_xa_failpoint(self):
        for point, phase, expected in fx.CRASH_POINTS:
            with self.subTest(point=point, phase=phase):
                self.crash_case(point, phase, expected)

    def crash_case(self, point, phase, expected):
        r = fx.ROUTER
        before = self.state()
        r.stop()
        r.start(env=dict(fx.SANITIZER_ENV, WEFT_FAILPOINTS=point + "=crash"))
        x = "f3-" + uuid.uuid4().hex
        try:
            self.xa("startXATransaction", x, [FLEDGER, ELEDGER, fx.RTOKEN], expect_status=0)
            self.steps(x)
            if phase in ("commit", "rollback"):
                self.xa(phase + "XATransaction", x, [])
            self.fail("the router did not crash at %s" % point)
        except (ConnectionError, http.client.HTTPException, OSError):
            pass
        self.assertEqual(r.wait_exit(60), 137, r.log_text()[-3000:])
        r.start(env=fx.SANITIZER_ENV)  # recovery alone ends the transaction

        def reached():
            st, env = r.request("POST", "/xa/getXATransaction", {"xaTransactionID": x}, timeout=30)
            return st == 200 and env["errorCode"] == 0 and env["data"]["xaTransaction"]["status"] == expected
        wait_for(reached, 120, "XA transaction %s to be %s" % (x, expected))
        got = self.xa("getXATransaction", x)["data"]
        self.assertEqual(got["differences"], [], got)
        if expected == "committed":
            self.expect_moved(before, self.state())
            self.give_back()
        self.assertEqual(self.state(), before, point)


if __name__ == "__main__":
    unittest.main()
