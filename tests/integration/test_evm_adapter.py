"""The EVM adapter against a real EVM node: anvil from npm, started on a free loopback port, with contracts compiled
by the pinned solc. A router with chains of type EVM calls, sends, reads receipts and events, decodes every way a
transaction fails, keeps 500 concurrent sends from one account on distinct nonces (with refused sends giving theirs
back), replaces a transaction the node dropped, survives a reorg and a node that dies and comes back."""
import json
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from weftlib import BIN, Router, call_data, scaled, wait_for
import evmlib
from evmlib import Anvil, DEV_ADDRESSES, DEV_KEYS, compile_contracts, evm_chain, write_key

ALICE, BOB, CAROL = DEV_ADDRESSES[1], DEV_ADDRESSES[2], DEV_ADDRESSES[3]


def router_with_keys(chains, accounts=("alice", "bob", "carol")):
    r = Router(chains=chains, accounts=accounts)
    for name, key in zip(accounts, DEV_KEYS[1:]):
        write_key(r.data_dir, name, key)
    return r


class EvmAdapter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.anvil = Anvil().start()
        cls.compiled = compile_contracts("Shop")["Shop"]
        cls.shop = cls.anvil.deploy(cls.compiled["bytecode"])
        cls.abi_dir = tempfile.mkdtemp(prefix="weft-evm-abi-")
        cls.abi_file = os.path.join(cls.abi_dir, "Shop.abi.json")
        with open(cls.abi_file, "w") as f:
            json.dump(cls.compiled["abi"], f)
        resources = [{"name": "shop", "address": cls.shop, "abi_file": cls.abi_file}]
        chains = (evm_chain("eth", cls.anvil.url, resources)
                  + evm_chain("slow", cls.anvil.url, resources, replace_after_blocks=2, tx_type="legacy")
                  + evm_chain("final", cls.anvil.url, resources, confirmations=2))
        cls.router = router_with_keys(chains).start()

    @classmethod
    def tearDownClass(cls):
        cls.router.stop()
        cls.router.cleanup()
        cls.anvil.kill()
        shutil.rmtree(cls.abi_dir, ignore_errors=True)

    def send(self, method, *args, chain="eth", account=None, **options):
        if account:
            options["account"] = account
        status, env = self.router.request("POST", "/resource/payment/%s/shop/sendTransaction" % chain,
                                          call_data(method, *args, **options), timeout=60)
        self.assertEqual(status, 200, env)
        return env

    def call(self, method, *args, chain="eth", **options):
        status, env = self.router.request("POST", "/resource/payment/%s/shop/call" % chain,
                                          call_data(method, *args, **options))
        self.assertEqual(status, 200, env)
        return env

    def stock(self, item):
        return int(self.call("stock", item)["data"]["result"][0])

    def test_send_call_receipt_and_events(self):
        before = self.stock("apple")
        env = self.send("add", "apple", "5")
        self.assertEqual(env["errorCode"], 0, env)
        data = env["data"]
        self.assertEqual(data["errorCode"], 0, data)
        self.assertRegex(data["hash"], r"^0x[0-9a-f]{64}$")
        receipt = self.anvil.rpc("eth_getTransactionReceipt", data["hash"])
        self.assertEqual(int(receipt["blockNumber"], 16), data["blockNumber"])
        self.assertEqual(receipt["from"], ALICE)
        self.assertEqual(self.stock("apple"), before + 5)
        # The receipt through the router names the resource and decodes the method, its arguments and the event.
        tx = self.router.ok("POST", "/trans/getTransaction", {"path": "payment.eth", "txHash": data["hash"]})
        flat = json.dumps(tx)
        self.assertIn('"add"', flat)
        self.assertIn("apple", flat)
        self.assertIn("Stocked", flat)
        # msg.sender of a call is the account it names.
        self.assertEqual(self.call("whoami", account="bob")["data"]["result"], [BOB])
        self.assertEqual(self.call("owner")["data"]["result"], [DEV_ADDRESSES[0]])

    def test_every_way_to_fail_is_reported_with_its_reason(self):
        # require(...) found while estimating: nothing is sent.
        env = self.send("add", "pear", "0")
        self.assertEqual(env["errorCode"], 0, env)
        self.assertNotEqual(env["data"]["errorCode"], 0)
        self.assertIn("count must be positive", env["data"]["message"])
        # A custom error, decoded with its arguments.
        env = self.send("take", "nothing", "3")
        self.assertIn("SoldOut(3,nothing)", env["data"]["message"])
        # A panic in a call.
        env = self.call("overflow", "200", "100")
        self.assertEqual(env["errorCode"], 0, env)
        self.assertIn("panic 0x11", env["data"]["message"])
        # A fixed gas limit skips the estimate: the transaction is mined, fails there, and the reason is found by
        # running it again.
        env = self.send("add", "pear", "0", gasLimit="100000")
        self.assertEqual(env["errorCode"], 0, env)
        data = env["data"]
        self.assertEqual(data["errorCode"], 1, data)
        self.assertRegex(data["hash"], r"^0x[0-9a-f]{64}$")
        self.assertIn("count must be positive", data["message"])
        self.assertEqual(self.anvil.rpc("eth_getTransactionReceipt", data["hash"])["status"], "0x0")

    def test_bad_arguments_name_the_argument_and_the_type(self):
        env = self.call("overflow", "300", "1")
        self.assertEqual(env["errorCode"], 44001, env)
        self.assertIn("argument 0", env["message"])
        self.assertIn("uint8", env["message"])
        env = self.call("overflow", "1")
        self.assertEqual(env["errorCode"], 44001, env)
        self.assertIn("expected 2 arguments, got 1", env["message"])
        env = self.call("nosuch")
        self.assertEqual(env["errorCode"], 44002, env)
        self.assertIn("nosuch", env["message"])
        env = self.call("whoami", account="nobody-here")
        self.assertEqual(env["errorCode"], 0, env)

    def test_common_abi_types_survive_the_round_trip(self):
        scalars = ["255", "-57896044618658097711785492504343953926634992332820282019728792003956564819968", CAROL,
                   "true", "0x" + "ab" * 32, "16777215", "-128"]
        self.assertEqual(self.call("echoScalars", *scalars)["data"]["result"], scalars)
        dynamic = ["0x" + "01" * 33, "héllo, wörld", '["1","2","3"]', '["a",""]']
        got = self.call("echoDynamic", *dynamic)["data"]["result"]
        self.assertEqual(got[0], dynamic[0])
        self.assertEqual(got[1], dynamic[1])
        self.assertEqual(json.loads(got[2]), ["1", "2", "3"])
        self.assertEqual(json.loads(got[3]), ["a", ""])
        items = '[["7","seven"],["8","eight"]]'
        got = self.call("echoItems", items)["data"]["result"]
        self.assertEqual(json.loads(got[0]), [["7", "seven"], ["8", "eight"]])
        self.assertEqual(got[1], "2")

    def test_500_concurrent_sends_use_every_nonce_once_and_refused_sends_give_theirs_back(self):
        start_nonce = self.anvil.nonce(CAROL)
        start_height = self.anvil.height()
        before = self.stock("bulk")
        results, lock = [], threading.Lock()
        jobs = list(range(525))

        def worker():
            while True:
                with lock:
                    if not jobs:
                        return
                    i = jobs.pop()
                # Every 21st send carries more value than the account has: the node refuses it before taking it, so
                # its nonce must go back to the book.
                refused = i % 21 == 0
                opts = {"value": str(10 ** 30), "gasLimit": "200000"} if refused else {}
                env = self.send("add", "bulk", "1", account="carol", **opts)
                with lock:
                    results.append((refused, env))
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [env for refused, env in results if not refused]
        refused = [env for refused, env in results if refused]
        self.assertEqual(len(ok), 500)
        self.assertEqual(len(refused), 25)
        for env in ok:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["errorCode"], 0, env)
        for env in refused:
            self.assertEqual(env["errorCode"], 44006, env)
            self.assertIn("the EVM node refused the transaction", env["message"])
        self.assertEqual(self.stock("bulk"), before + 500)
        # Every nonce from the start on was mined exactly once, with no gap: the count grew by what was mined.
        wait_for(lambda: self.anvil.nonce(CAROL, "pending") == self.anvil.nonce(CAROL), 30, "carol's pool to drain")
        end_nonce = self.anvil.nonce(CAROL)
        nonces = []
        for n in range(start_height + 1, self.anvil.height() + 1):
            block = self.anvil.rpc("eth_getBlockByNumber", hex(n), True)
            nonces += [int(tx["nonce"], 16) for tx in block["transactions"] if tx["from"] == CAROL]
        self.assertEqual(sorted(nonces), list(range(start_nonce, end_nonce)))
        self.assertGreaterEqual(end_nonce - start_nonce, 500)
        # Fillers (zero transfers to itself) may use a refused nonce that no later send took; nothing else may.
        self.assertLessEqual(end_nonce - start_nonce, 525)

    def pending(self):
        content = self.anvil.rpc("txpool_content")["pending"]
        return [tx for txs in content.values() for tx in txs.values()]

    def test_a_dropped_transaction_is_sent_again(self):
        self.anvil.rpc("evm_setAutomine", False)
        try:
            before = self.stock("dropped")
            out = {}
            t = threading.Thread(target=lambda: out.update(env=self.send("add", "dropped", "1", chain="slow",
                                                                          account="bob")))
            t.start()
            first = wait_for(self.pending, 20, "the send to reach the pool")[0]
            # The node forgets it; at its next poll the adapter sees that and sends the same bytes again.
            self.anvil.rpc("anvil_dropAllTransactions")
            again = wait_for(self.pending, 20, "the transaction back in the pool")[0]
            self.assertEqual(again["hash"], first["hash"])
            self.anvil.rpc("evm_mine")
            t.join(scaled(30))
            env = out["env"]
            self.assertEqual(env["data"]["errorCode"], 0, env)
            self.assertEqual(env["data"]["hash"], first["hash"])
            self.assertEqual(self.stock("dropped"), before + 1)
        finally:
            self.anvil.rpc("evm_setAutomine", True)

    def test_a_transaction_priced_out_by_the_base_fee_is_signed_again_at_the_same_nonce(self):
        self.anvil.rpc("evm_setAutomine", False)
        try:
            before = self.stock("stuck")
            out = {}
            t = threading.Thread(target=lambda: out.update(env=self.send("add", "stuck", "1", chain="slow",
                                                                          account="bob")))
            t.start()
            first = wait_for(self.pending, 20, "the send to reach the pool")[0]
            # The base fee jumps above its gas price: the node evicts it and refuses the same bytes again, so the
            # adapter signs it again at the same nonce with a price the node takes.
            base = int(self.anvil.rpc("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)
            self.anvil.rpc("anvil_setNextBlockBaseFeePerGas", hex(max(base, 10**9) * 20))
            # Blocks go by until the adapter's replacement is mined in one of them.
            deadline = time.monotonic() + scaled(30)
            while t.is_alive() and time.monotonic() < deadline:
                self.anvil.rpc("evm_mine")
                time.sleep(0.1)
            t.join(scaled(5))
            env = out["env"]
            self.assertEqual(env["data"]["errorCode"], 0, env)
            self.assertNotEqual(env["data"]["hash"], first["hash"])
            again = self.anvil.rpc("eth_getTransactionByHash", env["data"]["hash"])
            self.assertEqual(again["nonce"], first["nonce"])
            self.assertGreater(int(again["gasPrice"], 16), int(first["gasPrice"], 16))
            self.assertIsNone(self.anvil.rpc("eth_getTransactionReceipt", first["hash"]))
            self.assertEqual(self.stock("stuck"), before + 1)
        finally:
            self.anvil.rpc("evm_setAutomine", True)

    def test_a_reorg_under_the_confirmation_depth_does_not_lose_the_transaction(self):
        self.anvil.rpc("evm_setAutomine", False)
        try:
            before = self.stock("reorg")
            snapshot = self.anvil.rpc("evm_snapshot")
            out = {}
            t = threading.Thread(target=lambda: out.update(env=self.send("add", "reorg", "1", chain="final")))
            t.start()
            wait_for(lambda: self.anvil.rpc("txpool_content")["pending"], 20, "the send to reach the pool")
            self.anvil.rpc("evm_mine")
            tx_hash = wait_for(lambda: self.anvil.rpc("eth_getBlockByNumber", "latest", False)["transactions"], 10,
                               "the block")[0]
            # Give the adapter time to see the receipt, then take the block away: the chain forks below the
            # confirmation depth of 2.
            wait_for(lambda: self.anvil.rpc("eth_getTransactionReceipt", tx_hash), 10, "receipt")
            import time
            time.sleep(scaled(0.5))
            self.anvil.rpc("evm_revert", snapshot)
            self.anvil.rpc("anvil_dropAllTransactions")
            self.assertIsNone(self.anvil.rpc("eth_getTransactionReceipt", tx_hash))

            def mined_again():
                self.anvil.rpc("evm_mine")
                return self.anvil.rpc("eth_getTransactionReceipt", tx_hash)
            wait_for(mined_again, 20, "the transaction to be sent again and mined")
            for _ in range(3):
                self.anvil.rpc("evm_mine")
            t.join(scaled(30))
            env = out["env"]
            self.assertEqual(env["data"]["errorCode"], 0, env)
            self.assertEqual(env["data"]["hash"], tx_hash)
            self.assertEqual(self.stock("reorg"), before + 1)
        finally:
            self.anvil.rpc("evm_setAutomine", True)


class EvmRegisterAndDeploy(unittest.TestCase):
    """Resources added at run time, from the console: a contract registered by address, one deployed by the router,
    both kept across a restart of the router."""

    def test_register_deploy_and_restart(self):
        anvil = Anvil().start()
        work = tempfile.mkdtemp(prefix="weft-evm-reg-")
        r = router_with_keys(evm_chain("eth", anvil.url, []))
        try:
            compiled = compile_contracts("Shop")["Shop"]
            abi_file, bin_file = os.path.join(work, "Shop.abi"), os.path.join(work, "Shop.bin")
            with open(abi_file, "w") as f:
                json.dump(compiled["abi"], f)
            with open(bin_file, "w") as f:
                f.write(compiled["bytecode"][2:] + "\n")  # as solc --bin writes it
            existing = anvil.deploy(compiled["bytecode"])
            r.start()
            env = dict(os.environ, WEFT_USER="admin", WEFT_PASSWORD="weft-admin-pw1")

            def weft(*args):
                p = subprocess.run([os.path.join(BIN, "weft"), "--server", r.address] + list(args),
                                   capture_output=True, text=True, timeout=scaled(60), env=env)
                return p.returncode, p.stdout, p.stderr
            code, out, err = weft("registerResource", "payment.eth.old", existing, abi_file)
            self.assertEqual(code, 0, err)
            self.assertIn("payment.eth.old registered at", out)
            code, out, err = weft("deployContract", "payment.eth.fresh", bin_file, abi_file)
            self.assertEqual(code, 0, err)
            self.assertIn("deployed in transaction 0x", out)
            fresh = out.split(" registered at ")[1].split()[0]
            self.assertEqual(anvil.rpc("eth_getCode", fresh, "latest") != "0x", True)
            # Both serve at once: a send to the deployed one, a call to each; the router signed the deployment.
            self.assertEqual(r.ok("POST", "/resource/payment/eth/fresh/call", call_data("owner"))["result"], [ALICE])
            sent = r.ok("POST", "/resource/payment/eth/fresh/sendTransaction", call_data("add", "x", "4"))
            self.assertEqual(sent["errorCode"], 0, sent)
            paths = [x["path"] for x in r.ok("GET", "/sys/listResources")["resourceDetails"]]
            self.assertIn("payment.eth.old", paths)
            self.assertIn("payment.eth.fresh", paths)
            # Mistakes are named: a bad address, an unreadable ABI file, a name the config owns elsewhere.
            code, out, err = weft("registerResource", "payment.eth.bad", "0x1234", abi_file)
            self.assertEqual(code, 1, out)
            self.assertIn("address", err)
            code, out, err = weft("registerResource", "payment.eth.bad", existing, "/nonexistent.abi")
            self.assertEqual(code, 2)
            self.assertIn("/nonexistent.abi", err)
            # After a restart both are still there.
            r.stop()
            r.start()
            wait_for(lambda: "payment.eth.fresh" in [x["path"] for x in
                                                     r.ok("GET", "/sys/listResources")["resourceDetails"]],
                     20, "the registered resources after a restart")
            self.assertEqual(r.ok("POST", "/resource/payment/eth/fresh/call", call_data("stock", "x"))["result"], ["4"])
            self.assertEqual(r.ok("POST", "/resource/payment/eth/old/call", call_data("owner"))["result"],
                             [DEV_ADDRESSES[0]])
        finally:
            r.stop()
            r.cleanup()
            anvil.kill()
            shutil.rmtree(work, ignore_errors=True)


PROBE = os.path.join(os.path.dirname(BIN.rstrip("/")), "tests", "adapter-probe")
EVM_LIB = os.path.join(os.environ.get("WEFT_PLUGINS", ""), "libweft_evm.so")


class EvmSubscriptions(unittest.TestCase):
    """subscribe_v2 on an EVM chain: decoded events and blocks as numbered records, resumed from a cursor, a gap when
    a subscriber starts further back than its buffer, and an end record when the chain closes."""

    @classmethod
    def setUpClass(cls):
        cls.anvil = Anvil().start()
        compiled = compile_contracts("Shop")["Shop"]
        cls.shop = cls.anvil.deploy(compiled["bytecode"])
        cls.config = json.dumps({"url": cls.anvil.url, "chain_id": 31337, "poll_ms": 100,
                                 "resources": [{"name": "shop", "address": cls.shop, "abi": compiled["abi"]}]})
        cls.abi = compiled["abi"]

    @classmethod
    def tearDownClass(cls):
        cls.anvil.kill()

    def probe(self, request, count, seconds=20, close_first=False):
        args = [PROBE, EVM_LIB, "EVM", self.config, json.dumps(request), str(count), str(int(scaled(seconds)))]
        if close_first:
            args.append("close-first")
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def records(self, p):
        out, err = p.communicate(timeout=scaled(60))
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return p.returncode, lines, out + err[-2000:]

    def add(self, item, count):
        # Sent straight to anvil from its first development account: the subscription sees what anyone does.
        from evmlib import DEV_ADDRESSES
        sel = subprocess.run(["node", "-e", "const {Interface}=require('ethers');process.stdout.write(new Interface(%s)"
                              ".encodeFunctionData('add',[%s,%d]))" % (json.dumps(json.dumps(self.abi)),
                                                                      json.dumps(item), count)],
                             env=dict(os.environ, NODE_PATH=evmlib.NODE_MODULES), capture_output=True, text=True,
                             check=True, timeout=scaled(60)).stdout
        h = self.anvil.rpc("eth_sendTransaction", {"from": DEV_ADDRESSES[0], "to": self.shop, "data": sel})
        return self.anvil.receipt(h)

    def test_events_are_decoded_numbered_and_resumable(self):
        p = self.probe({"kind": "events", "resource": "shop"}, 3)
        import time as _t
        _t.sleep(scaled(1))  # the probe subscribes from the next block on
        for i in range(3):
            self.add("sub", i + 1)
        code, recs, out = self.records(p)
        self.assertEqual(code, 0, out)
        self.assertEqual([r["seq"] for r in recs], [1, 2, 3])
        self.assertEqual({r["kind"] for r in recs}, {"event"})
        self.assertEqual([r["name"] for r in recs], ["Stocked"] * 3)
        self.assertEqual([r["data"]["count"] for r in recs], ["1", "2", "3"])
        self.assertEqual(recs[0]["data"]["item"], "sub")
        self.assertEqual(recs[0]["resource"], "shop")
        # From the first event's cursor: the other two again, numbered from 1.
        code, again, out = self.records(self.probe({"kind": "events", "resource": "shop", "from": recs[0]["cursor"]}, 2))
        self.assertEqual(code, 0, out)
        self.assertEqual([r["seq"] for r in again], [1, 2])
        self.assertEqual([r["txHash"] for r in again], [r["txHash"] for r in recs[1:]])

    def test_blocks_with_a_gap_beyond_the_buffer_and_an_end_at_close(self):
        for _ in range(6):
            self.anvil.rpc("evm_mine")
        height = self.anvil.height()
        code, recs, out = self.records(self.probe({"kind": "blocks", "from": "0", "buffer": 2}, 3))
        self.assertEqual(code, 0, out)
        self.assertEqual(recs[0]["kind"], "gap")
        self.assertEqual(recs[0]["from"], 1)
        gap_to = recs[0]["to"]
        self.assertGreaterEqual(gap_to, height - 2)
        self.assertEqual([r["number"] for r in recs[1:3]], [gap_to + 1, gap_to + 2])
        self.assertEqual([r["seq"] for r in recs], [1, 2, 3])
        # Closing the chain while subscribed ends the stream with a last record.
        code, recs, out = self.records(self.probe({"kind": "blocks"}, 1, seconds=2, close_first=True))
        self.assertEqual(recs[-1]["kind"], "end", out)
        self.assertIn("closed", recs[-1]["reason"])

    def test_bad_requests_are_refused(self):
        for request, text in (({"kind": "events", "resource": "nope"}, "no resource"),
                              ({"kind": "weird"}, "kind"),
                              ({"kind": "blocks", "from": "99999999"}, "ahead"),
                              ({"kind": "blocks", "from": "1:2"}, "cursor")):
            code, recs, out = self.records(self.probe(request, 1, seconds=5))
            self.assertEqual(code, 3, (request, out))
            self.assertIn(text, out)


class EvmBlockTime(unittest.TestCase):
    """anvil mining a block a second, and a chain that answers a send only once a block is on top of it."""

    def test_send_waits_for_its_confirmation_on_a_timed_chain(self):
        anvil = Anvil(block_time=1).start()
        abi_dir = tempfile.mkdtemp(prefix="weft-evm-abi-")
        try:
            compiled = compile_contracts("Shop")["Shop"]
            shop = anvil.deploy(compiled["bytecode"])
            abi_file = os.path.join(abi_dir, "Shop.json")
            with open(abi_file, "w") as f:
                json.dump({"abi": compiled["abi"]}, f)  # the artifact form: {"abi": [...]}
            r = router_with_keys(evm_chain("eth", anvil.url, [{"name": "shop", "address": shop, "abi_file": abi_file}],
                                           confirmations=1, poll_ms=200)).start()
            try:
                status, env = r.request("POST", "/resource/payment/eth/shop/sendTransaction",
                                        call_data("add", "tick", "2"), timeout=60)
                self.assertEqual(env["errorCode"], 0, env)
                data = env["data"]
                self.assertEqual(data["errorCode"], 0, data)
                # Answered only once one more block was mined on top of the transaction's.
                self.assertGreaterEqual(anvil.height(), data["blockNumber"] + 1)
                self.assertGreater(data["timestamp"], 0)
                got = r.ok("POST", "/resource/payment/eth/shop/call", call_data("stock", "tick"))["result"]
                self.assertEqual(got, ["2"])
            finally:
                r.stop()
                r.cleanup()
        finally:
            anvil.kill()
            shutil.rmtree(abi_dir, ignore_errors=True)


class JsonNode(http.server.BaseHTTPRequestHandler):
    """A quiet test node that answers each request with a JSON body."""

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        raw = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        try:
            self.wfile.write(raw)
        except OSError:
            pass  # the router gave up first (GarbageNode's hang mode)


class GarbageNode(JsonNode):
    """A node that answers the chain's own questions well and eth_call with whatever the test asks for."""
    mode = "good"

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if isinstance(req, list):
            return self.answer(200, json.dumps([{"jsonrpc": "2.0", "id": r["id"], "result": None} for r in req]))
        ok = lambda result: self.answer(200, json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}))
        method = req["method"]
        if method == "eth_chainId":
            return ok(hex(31337))
        if method == "eth_blockNumber":
            return ok("0x10")
        if method == "eth_getBlockByNumber":
            return ok({"number": "0x10", "hash": "0x" + "ab" * 32, "parentHash": "0x" + "cd" * 32,
                       "timestamp": "0x6553f100", "baseFeePerGas": "0x1", "transactions": []})
        mode = GarbageNode.mode
        if mode == "malformed":
            return self.answer(200, '{"jsonrpc":"2.0","id":')
        if mode == "wrong_id":
            return self.answer(200, json.dumps({"jsonrpc": "2.0", "id": req["id"] + 1000, "result": "0x"}))
        if mode == "http500":
            return self.answer(500, "internal trouble")
        if mode == "not_object":
            return self.answer(200, "[1, 2, 3]")
        if mode == "short_result":
            return ok("0x1234")
        if mode == "error_object":
            return self.answer(200, json.dumps({"jsonrpc": "2.0", "id": req["id"],
                                                "error": {"code": -32601, "message": "the method does not exist"}}))
        if mode == "hang":
            time.sleep(3)
            return ok("0x")
        if mode == "close":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        return ok("0x" + "00" * 31 + "07")


class MiningNode(JsonNode):
    """A node that takes every transaction and makes its receipt appear only after it was asked for `withhold` times,
    as a node that mines on demand has the receipt a moment after it answers the send. Counts the asks per hash."""
    withhold = 0
    asks = {}
    log = []  # what the node was asked, in order: "send", "head" (a lone read of the latest block), "receipt"
    lock = threading.Lock()

    def one(self, req, batch=1):
        method, params = req["method"], req.get("params", [])
        result = None
        if method == "eth_chainId":
            result = hex(31337)
        elif method == "eth_blockNumber":
            result = "0x10"
        elif method == "eth_getBlockByNumber" and params[0] == "0x11":
            # The receipts' block: the head the node reports stays at 0x10, as a node's head can lag its receipts.
            result = {"number": "0x11", "hash": "0x" + "ef" * 32, "parentHash": "0x" + "ab" * 32,
                      "timestamp": "0x6553f10c", "baseFeePerGas": "0x1", "transactions": []}
        elif method == "eth_getBlockByNumber":
            if batch == 1:
                with MiningNode.lock:
                    MiningNode.log.append("head")
            result = {"number": "0x10", "hash": "0x" + "ab" * 32, "parentHash": "0x" + "cd" * 32,
                      "timestamp": "0x6553f100", "baseFeePerGas": "0x1", "transactions": []}
        elif method == "eth_getTransactionCount":
            result = "0x0"
        elif method == "eth_maxPriorityFeePerGas":
            result = "0x1"
        elif method == "eth_sendRawTransaction":
            with MiningNode.lock:
                MiningNode.log.append("send")
            result = "0x" + "00" * 32  # the router hashes the bytes itself
        elif method == "eth_getTransactionByHash":
            result = {"hash": params[0], "blockNumber": None}
        elif method == "eth_getTransactionReceipt":
            with MiningNode.lock:
                n = MiningNode.asks[params[0]] = MiningNode.asks.get(params[0], 0) + 1
                MiningNode.log.append("receipt")
            if n > MiningNode.withhold:
                result = {"transactionHash": params[0], "blockNumber": "0x11", "blockHash": "0x" + "ef" * 32,
                          "transactionIndex": "0x0", "status": "0x1", "gasUsed": "0x5208",
                          "cumulativeGasUsed": "0x5208", "logs": [], "contractAddress": None}
        return {"jsonrpc": "2.0", "id": req["id"], "result": result}

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = [self.one(r, len(req)) for r in req] if isinstance(req, list) else self.one(req)
        self.answer(200, json.dumps(out))


class EvmReceiptFollowUps(unittest.TestCase):
    """A send the node just accepted has its receipt asked for at once, again, then 1, 2, 4 and 8 ms later: six asks
    before the head polls take over. The chain here polls the head once a minute, so any answer the test sees came
    from those asks, whatever the machine's load."""

    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MiningNode)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        MiningNode.asks, MiningNode.log, MiningNode.withhold = {}, [], 0
        abi = compile_contracts("Shop")["Shop"]["abi"]
        url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.router = router_with_keys(evm_chain("mine", url, [{"name": "shop", "address": "0x" + "11" * 20,
                                                                "abi": abi}], poll_ms=60000),
                                       accounts=("alice",)).start()
        # The chain's first head poll, whose receipt checks would add to the counts, is over once it logs the head.
        wait_for(lambda: "answers; head" in self.router.log_text(), scaled(20), "the chain's first head poll")

    def tearDown(self):
        self.router.stop()
        self.router.cleanup()
        self.server.shutdown()
        self.server.server_close()

    def send(self):
        return self.router.request("POST", "/resource/payment/mine/shop/sendTransaction",
                                   call_data("add", "x", "1", gasLimit="100000"), timeout=30)[1]

    def test_a_receipt_that_comes_late_is_found_without_waiting_for_a_poll(self):
        MiningNode.withhold = 3
        envs = []
        threads = [threading.Thread(target=lambda: envs.append(self.send())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(envs), 8)
        for env in envs:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["errorCode"], 0, env)
            # The time of the receipt's block (0x11), not of the head the node last reported (0x10).
            self.assertEqual(env["data"]["timestamp"], 0x6553f10c * 1000, env)
        hashes = {env["data"]["hash"] for env in envs}
        self.assertEqual(len(hashes), 8)
        self.assertEqual({MiningNode.asks[h] for h in hashes}, {4})  # three misses (whoever asked), then found

    def test_a_receipt_that_never_comes_is_asked_for_six_times_then_left_to_the_polls(self):
        MiningNode.withhold = 10 ** 9
        threading.Thread(target=self.send, daemon=True).start()
        wait_for(lambda: sum(MiningNode.asks.values()) >= 6, scaled(20), "six asks for the receipt")
        time.sleep(scaled(1))
        # Every read of the head makes the chain check its unfinished sends once more (the router reads it for its
        # own reasons too, such as the HTLC engine's clock samples): those asks are the polls', not the follow-ups'.
        with MiningNode.lock:
            log = MiningNode.log[MiningNode.log.index("send"):]
        follow_ups = log.count("receipt") - log.count("head")
        self.assertEqual(len(MiningNode.asks), 1, log)
        # Six; seven when a head read that left before the send came back after it; five when two head reads came so
        # close that the second one's check was skipped while the first one's was in flight. One ask at once (no
        # follow-ups) gives 1; follow-ups without end keep growing.
        self.assertIn(follow_ups, (5, 6, 7), log)


class SlowTipNode(MiningNode):
    """MiningNode whose every eth_maxPriorityFeePerGas after the first waits until the test opens `gate`."""
    gate = threading.Event()
    tip_reads = 0

    def one(self, req, batch=1):
        if req["method"] == "eth_maxPriorityFeePerGas":
            with MiningNode.lock:
                SlowTipNode.tip_reads += 1
                first = SlowTipNode.tip_reads == 1
            if not first:
                SlowTipNode.gate.wait(scaled(60))
        return super().one(req, batch)


class EvmFeeReadings(unittest.TestCase):
    def test_a_send_past_the_fee_interval_uses_the_last_reading_while_a_new_one_is_read(self):
        SlowTipNode.gate.clear()
        SlowTipNode.tip_reads = 0
        MiningNode.asks, MiningNode.log, MiningNode.withhold = {}, [], 0
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowTipNode)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        abi = compile_contracts("Shop")["Shop"]["abi"]
        url = "http://127.0.0.1:%d" % server.server_address[1]
        # Fee readings last a poll interval (100 ms here).
        r = router_with_keys(evm_chain("tips", url, [{"name": "shop", "address": "0x" + "11" * 20, "abi": abi}]),
                             accounts=("alice",)).start()
        try:
            def send():
                return r.request("POST", "/resource/payment/tips/shop/sendTransaction",
                                 call_data("add", "x", "1", gasLimit="100000"), timeout=scaled(30))[1]

            env = send()
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(SlowTipNode.tip_reads, 1)
            time.sleep(scaled(0.3))  # past the interval: the reading is stale
            # The second reading hangs in the node until the gate opens, yet both sends answer.
            for _ in range(2):
                env = send()
                self.assertEqual(env["errorCode"], 0, env)
                self.assertEqual(env["data"]["errorCode"], 0, env)
            self.assertEqual(SlowTipNode.tip_reads, 2)  # one reading at a time, however many sends pass
        finally:
            SlowTipNode.gate.set()
            r.stop()
            r.cleanup()
            server.shutdown()
            server.server_close()


class EvmNodeFaults(unittest.TestCase):
    def test_garbage_from_the_node_is_a_clear_error_and_never_a_crash(self):
        # Calls wait for the node on the router's I/O threads by default (rpc_io host), or on the chain's thread.
        for rpc_io, said in (("host", "on the router's I/O threads"), ("thread", "options.rpc_io is thread")):
            with self.subTest(rpc_io=rpc_io):
                self.garbage_is_a_clear_error(rpc_io, said)

    def garbage_is_a_clear_error(self, rpc_io, said):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GarbageNode)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d" % server.server_address[1]
        abi = compile_contracts("Shop")["Shop"]["abi"]
        r = router_with_keys(evm_chain("junk", url, [{"name": "shop", "address": "0x" + "11" * 20, "abi": abi}],
                                       request_timeout_ms=1000, rpc_io=rpc_io), accounts=("alice",)).start()
        try:
            with open(r.log_path) as f:
                self.assertIn(said, f.read())
            def call():
                return r.request("POST", "/resource/payment/junk/shop/call", call_data("stock", "x"))[1]
            GarbageNode.mode = "good"
            self.assertEqual(r.ok("POST", "/resource/payment/junk/shop/call", call_data("stock", "x"))["result"], ["7"])
            expected = {
                "malformed": (40100, "malformed JSON"),
                "wrong_id": (40100, "wrong id"),
                "http500": (40100, "HTTP 500"),
                "not_object": (40100, "not a JSON object"),
                "short_result": (41001, "cannot decode"),
                "error_object": (41001, "the method does not exist"),
                "hang": (40200, "did not answer in time"),
                "close": (40100, url.replace("http://", "")),
            }
            for mode, (code, text) in expected.items():
                GarbageNode.mode = mode
                env = call()
                self.assertEqual(env["errorCode"], code, (mode, env))
                self.assertIn(text, env["message"], (mode, env))
            GarbageNode.mode = "good"
            self.assertEqual(r.ok("POST", "/resource/payment/junk/shop/call", call_data("stock", "x"))["result"], ["7"])
            self.assertEqual(r.request("GET", "/sys/test")[0], 200)
        finally:
            r.stop()
            r.cleanup()
            server.shutdown()
            server.server_close()

    def test_https_node_with_its_ca_and_without(self):
        work = tempfile.mkdtemp(prefix="weft-evm-tls-")
        cert, key = os.path.join(work, "node.crt"), os.path.join(work, "node.key")
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GarbageNode)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = "https://127.0.0.1:%d" % server.server_address[1]
        abi = compile_contracts("Shop")["Shop"]["abi"]
        res = [{"name": "shop", "address": "0x" + "11" * 20, "abi": abi}]
        r = router_with_keys(evm_chain("trusted", url, res, tls={"ca_file": cert}, request_timeout_ms=2000)
                             + evm_chain("untrusted", url, res, request_timeout_ms=2000), accounts=("alice",)).start()
        try:
            GarbageNode.mode = "good"
            self.assertEqual(r.ok("POST", "/resource/payment/trusted/shop/call", call_data("stock", "x"))["result"],
                             ["7"])
            # Without the node's CA the handshake fails, and the error says so.
            env = r.request("POST", "/resource/payment/untrusted/shop/call", call_data("stock", "x"))[1]
            self.assertEqual(env["errorCode"], 40100, env)
            self.assertIn("certificate verify failed", env["message"])
        finally:
            r.stop()
            r.cleanup()
            server.shutdown()
            server.server_close()
            shutil.rmtree(work, ignore_errors=True)

    def test_a_node_that_dies_shows_down_and_comes_back(self):
        anvil = Anvil(block_time=1).start()
        r = router_with_keys(evm_chain("eth", anvil.url, []), accounts=("alice",)).start()
        try:
            def state():
                return {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}["payment.eth"]
            wait_for(lambda: state()["status"] == "up", 20, "the chain up")
            anvil.kill()
            wait_for(lambda: state()["status"] == "down", 30, "the chain down")
            self.assertIn("127.0.0.1:%d" % anvil.port, state()["reason"])
            anvil.start()
            wait_for(lambda: state()["status"] == "up", 30, "the chain up again")
            self.assertIsNone(r.log_text().find("AddressSanitizer") >= 0 or None)
        finally:
            r.stop()
            r.cleanup()
            anvil.kill()

    def test_the_example_in_conf_opens(self):
        anvil = Anvil().start()
        conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "chains", "evm.yaml")
        with open(conf) as f:
            text = f.read()
        chains = text.split("\nchains:", 1)[1].replace("http://127.0.0.1:8545", anvil.url)
        r = router_with_keys(chains, accounts=("alice",)).start()
        try:
            status = {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}
            self.assertEqual(status["payment.eth1"]["status"], "up", status)
        finally:
            r.stop()
            r.cleanup()
            anvil.kill()

    def test_config_errors_name_what_is_wrong(self):
        chains = (evm_chain("noabi", "http://127.0.0.1:9", [{"name": "x", "address": "0x" + "11" * 20,
                                                               "abi_file": "/nonexistent/shop.abi"}])
                  + evm_chain("badurl", "ftp://127.0.0.1:9", [])
                  + evm_chain("badio", "http://127.0.0.1:9", [], rpc_io="fast"))
        r = router_with_keys(chains, accounts=("alice",)).start()
        try:
            status = {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}
            self.assertEqual(status["payment.noabi"]["status"], "down")
            self.assertIn("/nonexistent/shop.abi", status["payment.noabi"]["reason"])
            self.assertIn("http://", status["payment.badurl"]["reason"])
            self.assertIn("options.rpc_io must be host or thread", status["payment.badio"]["reason"])
        finally:
            r.stop()
            r.cleanup()


if __name__ == "__main__":
    unittest.main()
