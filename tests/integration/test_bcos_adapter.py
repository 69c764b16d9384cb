"""The FISCO BCOS adapter through a real router, against a fixture node (tests/integration/bcoslib.py) that answers
as FISCO BCOS's JSON-RPC documentation says, for 2.x and 3.x, ECDSA and guomi (SM): the node decodes every raw
transaction it gets (RLP or TARS), checks its hash and its signature (ECDSA by recovery, SM2 with `openssl`), and
keeps a store contract's state, so call and send round-trip. Garbage from the node is a clear error, never a crash.

With WEFT_BCOS2_RPC or WEFT_BCOS3_RPC set to a real node's JSON-RPC address (e.g. http://127.0.0.1:8545 for 2.x,
http://127.0.0.1:20200 for 3.x with disable_ssl=true), the last tests also run against that node; see
docs/adapters.md, "The FISCO BCOS adapter"."""
import json
import os
import re
import shutil
import tempfile
import unittest

from weftlib import Router, call_data, scaled, wait_for
import bcoslib
from bcoslib import STORE_ABI, FiscoNode, bcos_chain
from evmlib import write_key

# Known keys, so the test knows the addresses the node must see. secp256k1 for alice, SM2 for gm.
ALICE_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
GM_KEY = "f82aeb0b2ae031bf35f68b5f0407f936a1d8ca26f4dfd8afaeedb47dc3675754"
# FISCO-BCOS/go-sdk, master-FISCO-BCOS-v2, smcrypto/sm_crypto_test.go: the SM3 address of GM_KEY's public key.
GM_ADDRESS = "0x00d6bbe6a5b391f0eb24885c8ee833f0b756f6db"
ACCOUNTS = ("alice", "gm\n    algorithm: sm2")
TYPES = {"b2": ("BCOS2.0", 2, False), "g2": ("GM_BCOS2.0", 2, True), "b3": ("BCOS3", 3, False),
         "g3": ("GM_BCOS3", 3, True)}


def alice_address():
    pub = bcoslib._mul(int(ALICE_KEY, 16), bcoslib._G)
    return "0x" + bcoslib.keccak256(pub[0].to_bytes(32, "big") + pub[1].to_bytes(32, "big"))[12:].hex()


def router_for(chains):
    r = Router(chains=chains, accounts=ACCOUNTS)
    write_key(r.data_dir, "alice", ALICE_KEY)
    write_key(r.data_dir, "gm", GM_KEY)
    return r


def store(node):
    return [{"name": "store", "address": FiscoNode.STORE, "abi": STORE_ABI}]


class BcosAdapter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nodes = {name: FiscoNode(version=v, sm=sm) for name, (_, v, sm) in TYPES.items()}
        chains = "".join(bcos_chain(name, TYPES[name][0], node.url, store(node), account="gm" if TYPES[name][2] else "alice")
                         for name, node in cls.nodes.items())
        cls.router = router_for(chains).start()

    @classmethod
    def tearDownClass(cls):
        cls.router.stop()
        cls.router.cleanup()
        for n in cls.nodes.values():
            n.stop()

    def req(self, verb, chain, method, *args, **options):
        status, env = self.router.request("POST", "/resource/payment/%s/store/%s" % (chain, verb),
                                          call_data(method, *args, **options), timeout=60)
        self.assertEqual(status, 200, env)
        return env

    def test_call_and_send_round_trip_on_every_version_and_crypto(self):
        for chain, (stub, version, sm) in TYPES.items():
            with self.subTest(chain=chain, stub=stub):
                node = self.nodes[chain]
                value = "hello from %s" % stub
                env = self.req("sendTransaction", chain, "set", value)
                self.assertEqual(env["errorCode"], 0, env)
                data = env["data"]
                self.assertEqual(data["errorCode"], 0, (data, node.refusals))
                self.assertEqual(node.refusals, [])
                # The hash is the one the node computed from the bytes it decoded.
                self.assertIn(data["hash"], node.receipts)
                self.assertEqual(data["blockNumber"], node.height)
                self.assertEqual(data["timestamp"], 1700000000000 + node.height * 1000)
                # Signed by the chain's account: the node recovered (ECDSA) or verified (SM2) that signer.
                self.assertEqual(node.senders[-1], GM_ADDRESS if sm else alice_address())
                env = self.req("call", chain, "get")
                self.assertEqual(env["data"]["errorCode"], 0, env)
                self.assertEqual(env["data"]["result"], [value])
                # The wire shapes the documentation gives: the group first, numbers as each version writes them.
                sends = [p for m, p in node.requests if m in ("sendRawTransaction", "sendTransaction")]
                if version == 2:
                    self.assertEqual(sends[-1][0], 1)
                    self.assertIn(("getTransactionReceipt", [1, data["hash"]]), node.requests)
                else:
                    self.assertEqual(sends[-1][:2], ["group0", ""])
                    self.assertEqual(sends[-1][3], False)
                    self.assertTrue(sends[-1][2].startswith("0x1a"))  # a TARS Transaction: field 1, a struct

    def test_reverts_carry_their_reason_in_calls_and_receipts(self):
        for chain, (stub, version, sm) in TYPES.items():
            with self.subTest(chain=chain):
                env = self.req("sendTransaction", chain, "fail")
                data = env["data"]
                self.assertEqual(env["errorCode"], 0, env)
                self.assertEqual(data["errorCode"], 22 if version == 2 else 16, data)
                self.assertIn("the store refuses", data["message"])
                self.assertIn("RevertInstruction", data["message"])
                env = self.req("call", chain, "fail")
                self.assertEqual(env["data"]["errorCode"], 22 if version == 2 else 16, env)
                self.assertIn("the store refuses", env["data"]["message"])

    def test_receipts_blocks_and_heights_through_the_router(self):
        for chain, (stub, version, sm) in TYPES.items():
            with self.subTest(chain=chain):
                data = self.req("sendTransaction", chain, "set", "receipt " + chain)["data"]
                tx = self.router.ok("POST", "/trans/getTransaction", {"path": "payment." + chain, "txHash": data["hash"]})
                flat = json.dumps(tx)
                self.assertIn('"set"', flat)
                self.assertIn("receipt " + chain, flat)
                # The event, found by its topic (SM3 of its signature on guomi chains) and decoded.
                self.assertIn("Stored", flat)
                # From the transaction itself: its block limit, inside the node's window.
                self.assertIn('"blockLimit": %d' % (data["blockNumber"] - 1 + 500), flat)
                self.assertEqual(tx["timestamp"], data["timestamp"])
                self.assertEqual(tx["native"]["events"][0]["data"], {"v": "receipt " + chain})
                block = self.router.ok("POST", "/trans/getBlock", {"path": "payment." + chain,
                                                                    "blockNumber": data["blockNumber"]})
                self.assertIn(data["hash"], json.dumps(block))
                status = {c["path"]: c for c in self.router.ok("GET", "/sys/status")["chains"]}["payment." + chain]
                self.assertEqual(status["status"], "up", status)

    def test_concurrent_sends_from_one_account_all_commit(self):
        # FISCO BCOS's replay protection is a random nonce and a block limit, not an account nonce: sends at once
        # from one account neither collide nor wait for each other.
        import concurrent.futures
        for chain in ("b2", "g3"):
            with self.subTest(chain=chain):
                node = self.nodes[chain]
                before = len(node.senders)
                with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                    envs = list(pool.map(lambda i: self.req("sendTransaction", chain, "set", "n%d" % i), range(40)))
                self.assertTrue(all(e["errorCode"] == 0 and e["data"]["errorCode"] == 0 for e in envs), envs)
                self.assertEqual(len({e["data"]["hash"] for e in envs}), 40)
                self.assertEqual(len(node.senders) - before, 40)
                self.assertEqual(node.refusals, [])

    def test_resources_registered_or_deployed_at_run_time_are_kept(self):
        # POST /weft/resource/add: a deployed contract under a new name, and a deployment (no `to`; the
        # receipt's contractAddress names the new contract), on 2.x and 3.x, ECDSA and SM.
        for chain in ("b2", "g2", "b3", "g3"):
            with self.subTest(chain=chain):
                node = self.nodes[chain]
                reg = self.router.ok("POST", "/weft/resource/add", {"path": "payment.%s.again" % chain,
                                                                         "address": FiscoNode.STORE, "abi": STORE_ABI})
                self.assertEqual(reg["address"], FiscoNode.STORE)
                self.assertEqual(self.req("call", chain, "get")["data"]["result"],
                                 self.router.ok("POST", "/resource/payment/%s/again/call" % chain,
                                                call_data("get"))["result"])
                dep = self.router.ok("POST", "/weft/resource/add",
                                     {"path": "payment.%s.fresh" % chain, "bytecode": "0x6080604052", "abi": STORE_ABI})
                self.assertIn(dep["address"], node.values)
                self.assertIn(dep["hash"], node.receipts)
                sent = self.router.ok("POST", "/resource/payment/%s/fresh/sendTransaction" % chain,
                                      call_data("set", "fresh " + chain))
                self.assertEqual(sent["errorCode"], 0, sent)
                self.assertEqual(node.values[dep["address"]], "fresh " + chain)
                self.assertEqual(self.router.ok("POST", "/resource/payment/%s/fresh/call" % chain,
                                                call_data("get"))["result"], ["fresh " + chain])
                # A name registered again follows its latest registration, and is listed once.
                self.router.ok("POST", "/weft/resource/add", {"path": "payment.%s.again" % chain,
                                                                   "address": dep["address"], "abi": STORE_ABI})
                self.assertEqual(self.router.ok("POST", "/resource/payment/%s/again/call" % chain,
                                                call_data("get"))["result"], ["fresh " + chain])
                # A configured name cannot be registered over.
                status, env = self.router.request("POST", "/weft/resource/add",
                                                  {"path": "payment.%s.store" % chain, "address": FiscoNode.STORE,
                                                   "abi": STORE_ABI})
                self.assertNotEqual(env["errorCode"], 0, env)
                self.assertIn("configured", env["message"])
        # Kept across a restart of the router.
        self.router.stop()
        self.router.start()
        self.assertEqual(self.router.ok("POST", "/resource/payment/b3/fresh/call", call_data("get"))["result"],
                         ["fresh b3"])
        self.assertEqual(self.router.ok("POST", "/resource/payment/g2/again/call", call_data("get"))["result"],
                         ["fresh g2"])
        paths = [r["path"] for r in self.router.ok("GET", "/sys/listResources")["resourceDetails"]]
        self.assertEqual(len(paths), len(set(paths)), paths)
        self.assertIn("payment.b2.again", paths)

    def test_wrong_arguments_and_unknown_methods_are_named(self):
        env = self.req("sendTransaction", "b2", "set")
        self.assertNotEqual(env["errorCode"], 0)
        env = self.req("call", "g3", "nosuch")
        self.assertNotEqual(env["errorCode"], 0)
        self.assertIn("nosuch", env["message"])


class BcosNodeFaults(unittest.TestCase):
    def test_garbage_from_the_node_is_a_clear_error_and_never_a_crash(self):
        # Calls wait for the node on the router's I/O threads (rpc_io host, the default) or on the chain's thread.
        for version, rpc_io in ((2, "host"), (3, "host"), (2, "thread"), (3, "thread")):
            with self.subTest(version=version, rpc_io=rpc_io):
                node = FiscoNode(version=version)
                stub = "BCOS2.0" if version == 2 else "BCOS3"
                r = router_for(bcos_chain("junk", stub, node.url, store(node), request_timeout_ms=1000,
                                          rpc_io=rpc_io)).start()
                try:
                    said = "on the router's I/O threads" if rpc_io == "host" else "options.rpc_io is thread"
                    self.assertIn(said, r.log_text())
                    def call():
                        return r.request("POST", "/resource/payment/junk/store/call", call_data("get"))[1]
                    self.assertEqual(call()["data"]["errorCode"], 0)
                    expected = {"malformed": (40100, "JSON"), "wrong_id": (40100, "id"), "http500": (40100, "500"),
                                "hang": (40200, "")}
                    for mode, (code, text) in expected.items():
                        node.fault = mode
                        env = call()
                        self.assertEqual(env["errorCode"], code, (mode, env))
                        self.assertIn(text, env["message"], (mode, env))
                        node.fault = None
                        env = r.request("POST", "/resource/payment/junk/store/sendTransaction", call_data("set", "x"))[1]
                        self.assertEqual(env["errorCode"], 0, (mode, env))
                    # A node of another group: its documented error, named.
                    node.group = 7 if version == 2 else "group7"
                    env = call()
                    self.assertNotEqual(env["errorCode"], 0)
                    self.assertIn("-40001" if version == 2 else "-32005", env["message"])
                    self.assertEqual(r.request("GET", "/sys/test")[0], 200)
                    self.assertNotIn("AddressSanitizer", r.log_text())
                finally:
                    r.stop()
                    r.cleanup()
                    node.stop()

    def test_a_refused_or_expired_transaction_is_a_refusal(self):
        node = FiscoNode(version=2)
        r = router_for(bcos_chain("b2", "BCOS2.0", node.url, store(node), chain_id=5)).start()
        try:
            env = r.request("POST", "/resource/payment/b2/store/sendTransaction", call_data("set", "x"))[1]
            self.assertEqual(env["errorCode"], 44006, env)  # WEFT_E_REJECTED
            self.assertIn("InvalidChainId", env["message"])
        finally:
            r.stop()
            r.cleanup()
            node.stop()

    def test_the_examples_in_conf_open(self):
        conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "chains", "bcos.yaml")
        with open(conf) as f:
            chains = f.read().split("\nchains:", 1)[1]
        nodes = {"http://127.0.0.1:8545": FiscoNode(version=2), "http://127.0.0.1:8546": FiscoNode(version=2, sm=True),
                 "http://127.0.0.1:20200": FiscoNode(version=3), "http://127.0.0.1:20201": FiscoNode(version=3, sm=True)}
        for url, node in nodes.items():
            chains = chains.replace(url, node.url)
        r = router_for(chains).start()
        try:
            def states():
                return {c["path"]: c["status"] for c in r.ok("GET", "/sys/status")["chains"]}
            wait_for(lambda: set(states().values()) == {"up"}, 20, "every example chain up")
            self.assertEqual(sorted(states()), ["payment.bcos2", "payment.bcos3", "payment.gm2", "payment.gm3"])
        finally:
            r.stop()
            r.cleanup()
            for node in nodes.values():
                node.stop()

    def test_config_errors_name_what_is_wrong(self):
        url = "http://127.0.0.1:9"
        chains = (bcos_chain("nofile", "BCOS2.0", url, [{"name": "x", "address": "0x" + "11" * 20,
                                                          "abi_file": "/nonexistent/store.abi"}])
                  + bcos_chain("tlcp", "GM_BCOS3", "https://127.0.0.1:9", [], account="gm", tls={"sm": True})
                  + bcos_chain("group", "BCOS3", url, [], group=1)
                  + bcos_chain("typo", "BCOS2.0", url, [], pol_ms=5)
                  + bcos_chain("margin", "BCOS3", url, [], block_limit_margin=601))
        r = router_for(chains).start()
        try:
            status = {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}
            reasons = {
                "nofile": "/nonexistent/store.abi",
                "tlcp": "OpenSSL 3.0",
                "group": "options.group must be a string",
                "typo": "unknown key 'pol_ms'",
                "margin": "block_limit_margin",
            }
            for name, text in reasons.items():
                self.assertEqual(status["payment." + name]["status"], "down", status["payment." + name])
                self.assertIn(text, status["payment." + name]["reason"])
            self.assertIn("TLCP", status["payment.tlcp"]["reason"])
        finally:
            r.stop()
            r.cleanup()


def hello_world(sm):
    """FISCO BCOS's HelloWorld (set(string), get()): creation code and ABI from published deployment transactions
    (tests/unit/bcos_vectors.h: go-sdk's for ECDSA chains, the 3.x documentation's sendTransaction for SM ones)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "bcos_vectors.h")) as f:
        text = f.read()
    name = "kDocSendTransactionGm" if sm else "kDeployHelloworldTx"
    m = re.search(name + r" =\n((?:\s+\"[0-9a-f]+\"\n?)+);", text)
    raw = bytes.fromhex("".join(re.findall(r'"([0-9a-f]+)"', m.group(1))))
    data = bcoslib.tars_read(bcoslib.tars_read(raw)[1][1])
    return "0x" + data[7].hex(), json.loads(data[8])


@unittest.skipUnless(os.environ.get("WEFT_BCOS2_RPC") or os.environ.get("WEFT_BCOS3_RPC"),
                     "no real FISCO BCOS node: set WEFT_BCOS2_RPC or WEFT_BCOS3_RPC to its JSON-RPC address")
class RealBcosNode(unittest.TestCase):
    """Against a real node: the chain comes up, block 0 reads, then HelloWorld is deployed through the router (or the
    contract at WEFT_BCOS_STORE, with set(string) and get(), is registered), and a send and a call go through it."""

    def test_a_real_node(self):
        for var, stub in (("WEFT_BCOS2_RPC", "BCOS2.0"), ("WEFT_BCOS3_RPC", "BCOS3")):
            url = os.environ.get(var)
            if not url:
                continue
            sm = os.environ.get("WEFT_BCOS_SM") == "1"
            if sm:
                stub = "GM_" + stub
            options = {}
            if os.environ.get("WEFT_BCOS_GROUP"):
                group = os.environ["WEFT_BCOS_GROUP"]
                options["group"] = int(group) if stub.endswith("2.0") else group
            if os.environ.get("WEFT_BCOS_CHAIN_ID"):
                chain_id = os.environ["WEFT_BCOS_CHAIN_ID"]
                options["chain_id"] = int(chain_id) if stub.endswith("2.0") else chain_id
            with self.subTest(stub=stub, url=url):
                r = router_for(bcos_chain("real", stub, url, [], account="gm" if sm else "alice", **options)).start()
                try:
                    wait_for(lambda: {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}["payment.real"]
                             ["status"] == "up", 30, "the real chain up")
                    block = r.ok("POST", "/trans/getBlock", {"path": "payment.real", "blockNumber": 0})
                    self.assertIn("hash", json.dumps(block))
                    address = os.environ.get("WEFT_BCOS_STORE")
                    if address:
                        r.ok("POST", "/weft/resource/add",
                             {"path": "payment.real.hello", "address": address, "abi": STORE_ABI})
                    else:
                        code, abi = hello_world(sm)
                        dep = r.ok("POST", "/weft/resource/add",
                                   {"path": "payment.real.hello", "bytecode": code, "abi": abi})
                        self.assertRegex(dep["address"], r"^0x[0-9a-f]{40}$")
                    data = r.ok("POST", "/resource/payment/real/hello/sendTransaction", call_data("set", "weft"))
                    self.assertEqual(data["errorCode"], 0, data)
                    data = r.ok("POST", "/resource/payment/real/hello/call", call_data("get"))
                    self.assertEqual(data["result"], ["weft"])
                finally:
                    r.stop()
                    r.cleanup()


if __name__ == "__main__":
    unittest.main()
