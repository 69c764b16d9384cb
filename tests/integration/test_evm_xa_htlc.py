"""XA transactions and HTLC swaps across two kinds of chain: a real EVM node (anvil) with Weft's Solidity stubs, and
an embedded reference chain. The stubs are deployed through the router (deployStubs), the business contracts and the
ERC-20 token through deployContract's route. XA: committed, rolled back to the exact prior state (balances and
key-value entries, absent keys included), a failed step, plain writes refused while locked, repeated steps, the
chain's own view in getXATransaction, and the router killed at every XA failpoint. HTLC: a full swap each way, and the
router killed right after the secret is revealed. After every test the supply of every asset is unchanged and every
lock has ended."""
import hashlib
import http.client
import json
import os
import secrets
import shutil
import tempfile
import unittest
import uuid

from test_xa import CRASH_POINTS  # every XA failpoint, with what recovery must make of it
from weftlib import Router, call_data, wait_for
from evmlib import Anvil, DEV_ADDRESSES, DEV_KEYS, compile_contracts, evm_chain, write_key

ALICE, BOB = DEV_ADDRESSES[1], DEV_ADDRESSES[2]
REFCHAIN = """
  - name: ledger1
    type: RefChain
    default_account: alice
    options:
      chain_id: 1
      block_interval_ms: 20
      empty_block_interval_ms: 200
      resources:
        - { name: store, contract: kv }
        - { name: token, contract: asset }
        - { name: htlc, contract: htlc, asset: token }
"""
HTLC_CONF = "htlc:\n  min_window_ms: 3000\n  margin_ms: 500\n  poll_ms: 100\n"
CHAIN = "payment.contracts"  # the chain that runs the Solidity stubs
LEDGER, STORE, TOKEN, EHTLC = (CHAIN + ".ledger", CHAIN + ".kv", CHAIN + ".token", CHAIN + ".htlc")
RTOKEN, RSTORE, RHTLC = "payment.ledger1.token", "payment.ledger1.store", "payment.ledger1.htlc"
EVM_SUPPLY, REF_MINTED = 1000, 100000
CONTRACTS = ("TestToken", "XaLedger", "XaStore")



def xid():
    return uuid.uuid4().hex


def uri(path, verb):
    return "/resource/" + path.replace(".", "/") + "/" + verb


def new_secret():
    s = secrets.token_bytes(32)
    return "0x" + s.hex(), "0x" + hashlib.sha256(s).hexdigest()


def compiled():
    """The test contracts, with the stubs' base contract they import."""
    stubs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "stubs", "evm")
    return compile_contracts(*CONTRACTS, extra=[os.path.join(stubs, "WeftXAResource.sol")])


class Harness:
    router = None
    anvil = None

    @classmethod
    def contract_chain(cls):
        """The chains: entry of the chain that runs the stubs, named as CHAIN's last part: here an EVM chain on anvil
        itself; the FISCO BCOS tests give one whose node runs its contracts on anvil."""
        return evm_chain("contracts", cls.anvil.url, [])

    BLOCK_TIME = None  # anvil's: None mines each transaction at once

    @classmethod
    def setUpClass(cls):
        cls.start_world()

    @classmethod
    def tearDownClass(cls):
        cls.stop_world()

    @classmethod
    def start_world(cls):
        cls.anvil = Anvil(block_time=cls.BLOCK_TIME).start()
        cls.work = tempfile.mkdtemp(prefix="weft-evm-xa-")
        r = Router(chains=cls.contract_chain() + REFCHAIN, accounts=("alice", "bob"))
        for name, key in zip(("alice", "bob"), DEV_KEYS[1:]):
            write_key(r.data_dir, name, key)
        with open(r.config) as f:
            text = f.read()
        with open(r.config, "w") as f:
            f.write(text.replace("auth:\n", HTLC_CONF + "auth:\n"))
        cls.router = r.start()
        c = compiled()
        stubs = cls.router.ok("POST", "/weft/chain/deployStubs", {"path": CHAIN, "stubs": ["xa"]})
        cls.proxy = stubs["resources"][0]["address"]
        cls.deploy(LEDGER, c["XaLedger"], cls.proxy, ALICE, str(EVM_SUPPLY))
        cls.deploy(STORE, c["XaStore"], cls.proxy)
        cls.deploy(TOKEN, c["TestToken"], "test token", str(EVM_SUPPLY))
        h = cls.router.ok("POST", "/weft/chain/deployStubs",
                          {"path": CHAIN, "stubs": ["htlc"], "htlc": {"asset": "token"}})
        cls.escrow = h["resources"][0]["address"]

    @classmethod
    def stop_world(cls):
        if cls.router:
            cls.router.cleanup()
        if cls.anvil:
            cls.anvil.kill()
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def deploy(cls, path, contract, *args):
        cls.router.ok("POST", "/weft/resource/add",
                      {"path": path, "bytecode": contract["bytecode"], "abi": contract["abi"], "args": list(args)})

    def send(self, path, method, *args, **options):
        status, env = self.router.request("POST", uri(path, "sendTransaction"), call_data(method, *args, **options),
                                          timeout=60)
        self.assertEqual(status, 200, env)
        return env

    def call(self, path, method, *args, **options):
        return self.router.ok("POST", uri(path, "call"), call_data(method, *args, **options))["result"]

    def ref_addr(self):
        accounts = self.router.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]
        return {a["name"]: a["address"] for a in accounts}

    def balance(self, path, who):
        return int(self.call(path, "balanceOf", who)[0])

    def mint_ref(self):
        a = self.ref_addr()
        if int(self.call(RTOKEN, "totalSupply")[0]) == 0:
            for who in ("alice", "bob"):
                env = self.send(RTOKEN, "mint", a[who], str(REF_MINTED // 2))
                self.assertEqual(env["errorCode"], 0, env)
                self.assertEqual(env["data"]["errorCode"], 0, env)

    def assert_supply(self):
        """No asset created or destroyed on either chain, and every HTLC lock ended (escrows empty)."""
        a = self.ref_addr()
        self.assertEqual(int(self.call(LEDGER, "totalSupply")[0]), EVM_SUPPLY)
        self.assertEqual(self.balance(LEDGER, ALICE) + self.balance(LEDGER, BOB), EVM_SUPPLY)
        self.assertEqual(int(self.call(TOKEN, "totalSupply")[0]), EVM_SUPPLY)
        wait_for(lambda: self.balance(TOKEN, self.escrow) == 0, 120, "every lock on the EVM chain to end")
        self.assertEqual(self.balance(TOKEN, ALICE) + self.balance(TOKEN, BOB), EVM_SUPPLY)
        self.assertEqual(int(self.call(RTOKEN, "totalSupply")[0]), REF_MINTED)
        escrow = self.router.ok("POST", uri(RHTLC, "detail"))["properties"]["escrow"]
        wait_for(lambda: self.balance(RTOKEN, escrow) == 0, 120, "every lock on the reference chain to end")
        self.assertEqual(self.balance(RTOKEN, a["alice"]) + self.balance(RTOKEN, a["bob"]), REF_MINTED)

    def xa(self, verb, xa_id, paths=None, expect_status=None):
        data = {"xaTransactionID": xa_id}
        if paths is not None:
            data["paths"] = paths
        status, env = self.router.request("POST", "/xa/" + verb, data, timeout=60)
        self.assertEqual(status, 200, env)
        if expect_status is not None:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["status"], expect_status, env)
        return env

    def step(self, xa_id, seq, path, method, *args):
        return self.send(path, method, *args, XA_TRANSACTION_ID=xa_id, XA_TRANSACTION_SEQ=seq)

    def get(self, xa_id):
        env = self.xa("getXATransaction", xa_id)
        self.assertEqual(env["errorCode"], 0, env)
        return env["data"]

    def wait_status(self, xa_id, status, timeout=60):
        def reached():
            st, env = self.router.request("POST", "/xa/getXATransaction", {"xaTransactionID": xa_id}, timeout=20)
            return st == 200 and env["errorCode"] == 0 and env["data"]["xaTransaction"]["status"] == status
        wait_for(reached, timeout, "XA transaction %s to be %s" % (xa_id, status))

    def evm_state(self):
        keys = ("a", "b", "c")
        return ((self.balance(LEDGER, ALICE), self.balance(LEDGER, BOB)),
                tuple((self.call(STORE, "has", k)[0], self.call(STORE, "get", k)[0]) for k in keys))


class EvmXa(Harness, unittest.TestCase):
    DEFERRED_START = True  # the EVM chain's branch starts in its first step (startStep)

    def setUp(self):
        self.mint_ref()

    def tearDown(self):
        self.assert_supply()

    def test_stubs_are_listed_and_the_proxy_is_hidden(self):
        listed = self.router.ok("GET", "/sys/listResources?path=%s&offset=0&size=50" % CHAIN)
        names = [r["path"] for r in listed["resourceDetails"]]
        self.assertIn(LEDGER, names)
        self.assertIn(EHTLC, names)
        self.assertNotIn(CHAIN + ".WeCrossProxy", names)
        detail = self.router.ok("POST", uri(EHTLC, "detail"))["properties"]
        self.assertEqual(detail["contract"], "htlc")
        self.assertEqual(detail["escrow"].lower(), self.escrow.lower())
        self.assertTrue(self.router.ok("POST", uri(LEDGER, "detail"))["properties"]["xa"])
        # A second proxy is refused; the first stays.
        status, env = self.router.request("POST", "/weft/chain/deployStubs", {"path": CHAIN, "stubs": ["xa"]},
                                          timeout=60)
        self.assertNotEqual(env["errorCode"], 0, env)
        self.assertIn("deployed already", env["message"])

    def test_commit_across_evm_and_reference_chain(self):
        a = self.ref_addr()
        before_evm = self.balance(LEDGER, BOB)
        before_ref = self.balance(RTOKEN, a["bob"])
        x = xid()
        self.xa("startXATransaction", x, [LEDGER, RTOKEN, STORE], expect_status=0)
        # A chain that starts its branch in the first step there (WeftXAProxy.startStep, startexec) has none yet.
        got = self.get(x)
        self.assertEqual({c["path"]: c["onChain"] for c in got["chains"]},
                         {CHAIN: "none" if self.DEFERRED_START else "processing", "payment.ledger1": "none"}, got)
        self.assertEqual(got["differences"], [], got)
        r1 = self.step(x, 1, LEDGER, "transfer", BOB, "10")
        self.assertEqual(r1["data"]["errorCode"], 0, r1)
        self.assertEqual(r1["data"]["result"], [str(self.balance(LEDGER, ALICE))], r1)  # the step's own result
        r2 = self.step(x, 2, RTOKEN, "transfer", a["bob"], "7")
        self.assertEqual(r2["data"]["errorCode"], 0, r2)
        r3 = self.step(x, 3, STORE, "set", "a", "hello")
        self.assertEqual(r3["data"]["result"], ["hello"], r3)
        # A read inside the transaction, and one naming a resource the transaction does not hold.
        self.assertEqual(self.call(STORE, "get", "a", XA_TRANSACTION_ID=x), ["hello"])
        status, env = self.router.request("POST", uri(TOKEN, "call"), call_data("balanceOf", BOB, XA_TRANSACTION_ID=x))
        self.assertNotEqual(env["errorCode"], 0, env)
        # The chain's own view agrees with the log.
        got = self.get(x)
        self.assertEqual(got["differences"], [], got)
        mine = [c for c in got["chains"] if c["path"] == CHAIN][0]
        self.assertEqual(mine["onChain"], "processing", mine)
        self.xa("commitXATransaction", x, [LEDGER], expect_status=0)
        self.assertEqual(self.balance(LEDGER, BOB), before_evm + 10)
        self.assertEqual(self.balance(RTOKEN, a["bob"]), before_ref + 7)
        self.assertEqual(self.call(STORE, "get", "a"), ["hello"])
        got = self.get(x)
        self.assertEqual(got["xaTransaction"]["status"], "committed", got)
        self.assertEqual(got["differences"], [], got)
        # Locks are released: plain writes pass again (through the proxy's forward).
        env = self.send(LEDGER, "transfer", ALICE, "0")
        self.assertEqual(env["data"]["errorCode"], 0, env)
        # Put bob's tokens back for the next tests.
        self.assertEqual(self.send(LEDGER, "transfer", ALICE, str(self.balance(LEDGER, BOB)), account="bob")
                         ["data"]["errorCode"], 0)

    def test_rollback_restores_both_chains_exactly(self):
        self.assertEqual(self.send(STORE, "set", "b", "before")["data"]["errorCode"], 0)
        evm_before = self.evm_state()
        a = self.ref_addr()
        ref_before = (self.balance(RTOKEN, a["alice"]), self.balance(RTOKEN, a["bob"]))
        x = xid()
        self.xa("startXATransaction", x, [LEDGER, STORE, RTOKEN], expect_status=0)
        seq = 0
        for method, args in (("set", ("a", "one")), ("set", ("a", "two")), ("set", ("b", "changed")),
                             ("set", ("c", "new"))):
            seq += 1
            self.assertEqual(self.step(x, seq, STORE, method, *args)["data"]["errorCode"], 0)
        for amount in ("3", "4"):
            seq += 1
            self.assertEqual(self.step(x, seq, LEDGER, "transfer", BOB, amount)["data"]["errorCode"], 0)
        seq += 1
        self.assertEqual(self.step(x, seq, RTOKEN, "transfer", a["bob"], "9")["data"]["errorCode"], 0)
        self.assertNotEqual(self.evm_state(), evm_before)
        # A plain write to a locked contract is refused before anything is signed, and names the holder.
        status, env = self.router.request("POST", uri(LEDGER, "sendTransaction"), call_data("transfer", BOB, "1"),
                                          timeout=60)
        self.assertNotEqual(env["errorCode"], 0, env)
        self.assertIn(x, env["message"])
        self.xa("rollbackXATransaction", x, [], expect_status=0)
        self.assertEqual(self.evm_state(), evm_before)
        self.assertEqual((self.balance(RTOKEN, a["alice"]), self.balance(RTOKEN, a["bob"])), ref_before)
        got = self.get(x)
        self.assertEqual(got["xaTransaction"]["status"], "rolledback", got)
        self.assertEqual(got["differences"], [], got)
        # A late step of the finished transaction is refused by the proxy.
        late = self.step(x, 99, STORE, "set", "a", "late")
        self.assertTrue(late["errorCode"] != 0 or late["data"]["errorCode"] != 0, late)
        self.assertEqual(self.evm_state(), evm_before)

    def test_failed_step_repeated_step_and_rollback(self):
        evm_before = self.evm_state()
        x = xid()
        self.xa("startXATransaction", x, [LEDGER, STORE], expect_status=0)
        ok = self.step(x, 1, STORE, "set", "a", "x")
        self.assertEqual(ok["data"]["errorCode"], 0, ok)
        # The same (id, seq) with the same content answers the recorded result without running again.
        again = self.step(x, 1, STORE, "set", "a", "x")
        self.assertEqual(again["data"]["errorCode"], 0, again)
        self.assertEqual(again["data"]["result"], ["x"], again)
        # More than alice holds is refused by the business contract, with its own reason.
        failed = self.step(x, 2, LEDGER, "transfer", BOB, str(EVM_SUPPLY * 10))
        self.assertNotEqual(failed["data"]["errorCode"], 0, failed)
        self.assertIn("BalanceTooSmall", failed["data"]["message"])
        self.xa("rollbackXATransaction", x, [], expect_status=0)
        self.assertEqual(self.evm_state(), evm_before)


    def test_refusals_name_their_reason(self):
        # A contract that declares no compensation cannot be in a transaction; nothing is left locked.
        x = xid()
        env = self.xa("startXATransaction", x, [TOKEN, LEDGER])
        self.assertTrue(env["errorCode"] != 0 or env["data"]["status"] != 0, env)
        self.assertIn("xaCompensation", json.dumps(env))
        self.assertEqual(self.send(LEDGER, "transfer", ALICE, "0")["data"]["errorCode"], 0)
        # A step on a resource the transaction does not hold, and a read naming an unknown transaction.
        x = xid()
        self.xa("startXATransaction", x, [LEDGER], expect_status=0)
        env = self.step(x, 1, STORE, "set", "a", "nope")
        self.assertTrue(env["errorCode"] != 0 or env["data"]["errorCode"] != 0, env)
        status, env = self.router.request("POST", uri(STORE, "call"), call_data("get", "a", XA_TRANSACTION_ID="unknown-id"))
        self.assertNotEqual(env["errorCode"], 0, env)
        self.xa("rollbackXATransaction", x, [], expect_status=0)
        # Hostile HTLC requests: an escrow path that is not an HTLC, a malformed proposal.
        status, env = self.router.request("POST", "/weft/htlc/newProposal", {
            "initiator": {"path": LEDGER, "account": "alice", "amount": "1", "timelock": 1},
            "participant": {"path": RHTLC, "account": "bob", "amount": "1", "timelock": 1}, "hash": "0x12"})
        self.assertNotEqual(env["errorCode"], 0, env)


class EvmXaCrashRecovery(Harness, unittest.TestCase):
    def test_crash_at_every_failpoint(self):
        self.mint_ref()
        for point, phase, expected in CRASH_POINTS:
            with self.subTest(point=point, phase=phase):
                self.crash_case(point, phase, expected)
        self.assert_supply()

    def crash_case(self, point, phase, expected):
        r = self.router
        a = self.ref_addr()
        evm_before = self.evm_state()
        ref_bob = self.balance(RTOKEN, a["bob"])
        r.stop()
        r.start(env={"WEFT_FAILPOINTS": point + "=crash"})
        x = xid()
        try:
            self.xa("startXATransaction", x, [LEDGER, STORE, RTOKEN], expect_status=0)
            if phase == "read":  # both chains start their branches in a step: a read's start is the chain action
                self.router.request("POST", uri(STORE, "call"), call_data("get", "a", XA_TRANSACTION_ID=x))
            self.step(x, 1, LEDGER, "transfer", BOB, "2")
            self.step(x, 2, STORE, "set", "a", point)
            self.step(x, 3, RTOKEN, "transfer", a["bob"], "3")
            if phase in ("commit", "rollback"):
                self.xa(phase + "XATransaction", x, [])
            self.fail("the router did not crash at %s" % point)
        except (ConnectionError, http.client.HTTPException, OSError):
            pass
        self.assertEqual(r.wait_exit(30), 137, r.log_text())
        r.start()  # recovery alone ends the transaction
        self.wait_status(x, expected)
        got = self.get(x)
        self.assertEqual(got["differences"], [], got)
        if expected == "committed":
            self.assertEqual(self.balance(LEDGER, BOB), evm_before[0][1] + 2)
            self.assertEqual(self.call(STORE, "get", "a"), [point])
            self.assertEqual(self.balance(RTOKEN, a["bob"]), ref_bob + 3)
            # Give bob's tokens back outside any transaction, which also shows the locks were released.
            self.assertEqual(self.send(LEDGER, "transfer", ALICE, "2", account="bob")["data"]["errorCode"], 0)
        else:
            self.assertEqual(self.evm_state(), evm_before, point)
            self.assertEqual(self.balance(RTOKEN, a["bob"]), ref_bob, point)
            self.assertEqual(self.send(LEDGER, "transfer", ALICE, "0")["data"]["errorCode"], 0)


class EvmHtlc(Harness, unittest.TestCase):
    # A block a second, as a real chain makes them: chain time moves on between transactions, which HTLC timelocks
    # and the engine's view of the chain's clock need (a node that mines only on demand stands still).
    BLOCK_TIME = 1

    def setUp(self):
        self.mint_ref()
        # bob holds some of the EVM token too, so either side can initiate.
        if self.balance(TOKEN, BOB) == 0:
            self.assertEqual(self.send(TOKEN, "transfer", BOB, str(EVM_SUPPLY // 2))["data"]["errorCode"], 0)

    def tearDown(self):
        self.assert_supply()

    def timelocks(self, initiator, participant):
        s = self.router.ok("GET", "/weft/htlc/safety?initiator=%s&participant=%s" % (initiator, participant))
        tp = s["participantNowMs"] + s["minWindowMs"] + 2000
        return tp + s["deltaMs"] + 1000, tp

    def propose(self, hi, hp, amount_i, amount_p, secret, hash_):
        ti, tp = self.timelocks(hi.rsplit(".", 1)[0], hp.rsplit(".", 1)[0])
        data = {"initiator": {"path": hi, "account": "alice", "amount": amount_i, "timelock": ti},
                "participant": {"path": hp, "account": "bob", "amount": amount_p, "timelock": tp},
                "hash": hash_, "secret": secret}
        return self.router.ok("POST", "/weft/htlc/newProposal", data)

    def wait_state(self, swap_id, states, timeout=90):
        def reached():
            d = self.router.ok("POST", "/weft/htlc/getProposal", {"id": swap_id})
            return d if d["state"] in states else None
        return wait_for(reached, timeout, "swap %s to reach %s" % (swap_id, states))

    def test_swap_evm_token_for_reference_chain_token(self):
        a = self.ref_addr()
        before = (self.balance(TOKEN, BOB), self.balance(RTOKEN, a["alice"]))
        secret, h = new_secret()
        swap = self.propose(EHTLC, RHTLC, "100", "50", secret, h)
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual((self.balance(TOKEN, BOB), self.balance(RTOKEN, a["alice"])), (before[0] + 100, before[1] + 50))
        st = self.router.ok("POST", "/weft/htlc/status", {"id": swap["id"]})
        self.assertEqual((st["initiator"]["state"], st["participant"]["state"]), ("claimed", "claimed"), st)
        # The claim published the secret on the EVM chain: the escrow's own status shows it.
        on_chain = self.call(EHTLC, "status", ALICE, swap["id"])
        self.assertEqual(on_chain[4], "2", on_chain)  # claimed
        self.assertEqual(on_chain[5], secret, on_chain)

    def test_swap_reference_chain_token_for_evm_token(self):
        a = self.ref_addr()
        before = (self.balance(RTOKEN, a["bob"]), self.balance(TOKEN, ALICE))
        secret, h = new_secret()
        swap = self.propose(RHTLC, EHTLC, "30", "20", secret, h)
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual((self.balance(RTOKEN, a["bob"]), self.balance(TOKEN, ALICE)), (before[0] + 30, before[1] + 20))

    def test_killed_after_the_secret_is_revealed(self):
        a = self.ref_addr()
        before = self.balance(TOKEN, BOB)
        self.router.stop()
        self.router.start(env={"WEFT_FAILPOINTS": "htlc.before_counterpart_claim=crash"})
        secret, h = new_secret()
        swap = self.propose(EHTLC, RHTLC, "40", "10", secret, h)
        self.assertEqual(self.router.wait_exit(90), 137, self.router.log_text())
        self.router.start()
        done = self.wait_state(swap["id"], ("completed", "failed", "refunded"))
        self.assertEqual(done["state"], "completed", done)
        self.assertEqual(self.balance(TOKEN, BOB), before + 40)

    def test_the_escrow_refuses_what_it_must(self):
        secret, h = new_secret()
        lock_id = "0x" + secrets.token_hex(32)
        # Direct use of the adapter's verbs through the contract's own methods: a claim of an unknown lock.
        env = self.send(EHTLC, "claim", ALICE, lock_id, secret)
        self.assertNotEqual(env["data"]["errorCode"], 0, env)
        self.assertIn("NotLocked", env["data"]["message"])


if __name__ == "__main__":
    unittest.main()
