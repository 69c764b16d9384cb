"""The FISCO BCOS adapter against fixture nodes (tests/integration/bcoslib.py) that execute real contracts on a real
EVM node: a 2.x and a 3.x FiscoNode backed onto one anvil. The nodes still check every raw transaction (chain id,
group, block limit, hash, signature) and recover its sender, then run it on anvil as that sender. Through a router
with chains of type BCOS2.0 and BCOS3: Shop (tests/evm/contracts) deployed with /weft/resource/add, sends and calls
with their results, msg.sender, reverts with their reasons (require, custom error, panic), events in the receipt,
the state changed on anvil itself, and anvil with automine off."""
import json
import unittest

from weftlib import Router, call_data
from bcoslib import FiscoNode, bcos_chain, keccak256
from evmlib import Anvil, DEV_ADDRESSES, DEV_KEYS, compile_contracts, write_key

# alice signs with anvil's development key 1: the address a FISCO BCOS ECDSA node recovers is Ethereum's.
ALICE = DEV_ADDRESSES[1]
CHAINS = {"b2": ("BCOS2.0", 2), "b3": ("BCOS3", 3)}


def revert_status(version):
    return 22 if version == 2 else 16


class BcosBackedByAnvil(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.anvil = Anvil().start()
        cls.shop = compile_contracts("Shop")["Shop"]
        cls.nodes = {name: FiscoNode(version=v, evm=cls.anvil) for name, (_, v) in CHAINS.items()}
        chains = "".join(bcos_chain(name, stub, cls.nodes[name].url, []) for name, (stub, _) in CHAINS.items())
        cls.router = Router(chains=chains, accounts=("alice",))
        write_key(cls.router.data_dir, "alice", DEV_KEYS[1])
        cls.router.start()
        cls.address = {}
        for name in CHAINS:
            dep = cls.router.ok("POST", "/weft/resource/add", {"path": "payment.%s.shop" % name,
                                                               "bytecode": cls.shop["bytecode"],
                                                               "abi": cls.shop["abi"]})
            cls.address[name] = dep["address"]

    @classmethod
    def tearDownClass(cls):
        cls.router.stop()
        cls.router.cleanup()
        for n in cls.nodes.values():
            n.stop()
        cls.anvil.kill()

    def send(self, chain, method, *args):
        status, env = self.router.request("POST", "/resource/payment/%s/shop/sendTransaction" % chain,
                                          call_data(method, *args), timeout=60)
        self.assertEqual(status, 200, env)
        self.assertEqual(env["errorCode"], 0, env)
        return env["data"]

    def call(self, chain, method, *args):
        status, env = self.router.request("POST", "/resource/payment/%s/shop/call" % chain, call_data(method, *args))
        self.assertEqual(status, 200, env)
        self.assertEqual(env["errorCode"], 0, env)
        return env["data"]

    def anvil_uint(self, chain, signature):
        """A uint256 getter without arguments read from anvil directly, not through the FISCO node."""
        out = self.anvil.rpc("eth_call", {"to": self.address[chain], "data": "0x" + keccak256(signature.encode())[:4].hex()},
                             "latest")
        return int(out, 16)

    def test_deployed_through_the_router_and_running_on_anvil(self):
        for chain, (stub, version) in CHAINS.items():
            with self.subTest(chain=chain):
                node = self.nodes[chain]
                self.assertRegex(self.address[chain], r"^0x[0-9a-f]{40}$")
                self.assertGreater(len(self.anvil.rpc("eth_getCode", self.address[chain], "latest")), 100)
                # The constructor ran as the sender the node recovered from the signature.
                self.assertEqual(self.call(chain, "owner")["result"], [ALICE])
                self.assertEqual(set(node.senders), {ALICE})
                self.assertEqual(node.refusals, [])
                # 2.x calls name their sender; 3.x calls have none.
                self.assertEqual(self.call(chain, "whoami")["result"],
                                 [ALICE if version == 2 else "0x" + "00" * 20])

    def test_sends_return_results_change_anvil_and_carry_events(self):
        for chain, (stub, version) in CHAINS.items():
            with self.subTest(chain=chain):
                node = self.nodes[chain]
                before = self.anvil_uint(chain, "total()")
                data = self.send(chain, "add", "apple", "5")
                self.assertEqual(data["errorCode"], 0, data)
                self.assertEqual(data["blockNumber"], node.height)  # the node's own heights
                first = int(data["result"][0])
                data = self.send(chain, "add", "apple", "2")
                self.assertEqual(data["result"], [str(first + 2)])  # the return data, from anvil
                self.assertEqual(self.call(chain, "stock", "apple")["result"], [str(first + 2)])
                # The state changed on anvil itself, by a transaction from the recovered sender.
                self.assertEqual(self.anvil_uint(chain, "total()"), before + 7)
                receipt = self.anvil.rpc("eth_getTransactionReceipt", node.evm_hashes[data["hash"]])
                self.assertEqual(receipt["status"], "0x1")
                self.assertEqual(receipt["from"], ALICE)
                self.assertEqual(receipt["to"], self.address[chain])
                # The receipt through the router: method, arguments and the event, decoded from anvil's log.
                tx = self.router.ok("POST", "/trans/getTransaction", {"path": "payment." + chain, "txHash": data["hash"]})
                flat = json.dumps(tx)
                self.assertIn('"add"', flat)
                self.assertIn("Stocked", flat)
                self.assertIn("apple", flat)
                self.assertIn(str(before + 7), flat)  # the event's total
                block = self.router.ok("POST", "/trans/getBlock", {"path": "payment." + chain,
                                                                    "blockNumber": data["blockNumber"]})
                self.assertIn(data["hash"], json.dumps(block))
                self.assertEqual(node.refusals, [])

    def test_reverts_carry_their_reason_in_receipts_and_calls(self):
        for chain, (stub, version) in CHAINS.items():
            with self.subTest(chain=chain):
                node = self.nodes[chain]
                total = self.anvil_uint(chain, "total()")
                data = self.send(chain, "add", "pear", "0")
                self.assertEqual(data["errorCode"], revert_status(version), data)
                self.assertIn("RevertInstruction", data["message"])
                self.assertIn("count must be positive", data["message"])
                self.assertEqual(self.anvil.rpc("eth_getTransactionReceipt", node.evm_hashes[data["hash"]])["status"],
                                 "0x0")
                data = self.send(chain, "take", "nothing", "3")
                self.assertEqual(data["errorCode"], revert_status(version), data)
                self.assertIn("SoldOut(3,nothing)", data["message"])
                self.assertEqual(self.anvil_uint(chain, "total()"), total)
                data = self.call(chain, "take", "nothing", "3")
                self.assertEqual(data["errorCode"], revert_status(version), data)
                self.assertIn("SoldOut(3,nothing)", data["message"])
                data = self.call(chain, "overflow", "200", "100")
                self.assertEqual(data["errorCode"], revert_status(version), data)
                self.assertIn("panic 0x11", data["message"])
                self.assertEqual(self.call(chain, "overflow", "200", "55")["result"], ["255"])

    def test_anvil_without_automine(self):
        self.anvil.rpc("evm_setAutomine", False)
        try:
            for chain in CHAINS:
                with self.subTest(chain=chain):
                    height = self.anvil.height()
                    data = self.send(chain, "add", "plum", "1")
                    self.assertEqual(data["errorCode"], 0, data)
                    self.assertEqual(self.anvil.height(), height + 1)
                    self.assertEqual(self.call(chain, "stock", "plum")["result"], data["result"])
        finally:
            self.anvil.rpc("evm_setAutomine", True)

    def test_a_guomi_node_cannot_be_backed_onto_anvil(self):
        with self.assertRaisesRegex(ValueError, "SM3 selectors"):
            FiscoNode(version=3, sm=True, evm=self.anvil)


if __name__ == "__main__":
    unittest.main()
