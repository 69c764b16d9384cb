"""A real router with the embedded reference chain: write, read back, move assets, look up receipts and blocks,
verify a proof, and find everything again after the router is killed with SIGKILL and restarted."""
import json
import unittest

from weftlib import Router, call_data


class RefChainFlow(unittest.TestCase):
    def setUp(self):
        self.router = Router().start()

    def tearDown(self):
        self.router.cleanup()

    def send(self, path, method, *args, **options):
        return self.router.ok("POST", "/resource/" + path.replace(".", "/") + "/sendTransaction",
                              call_data(method, *args, **options))

    def call(self, path, method, *args):
        return self.router.ok("POST", "/resource/" + path.replace(".", "/") + "/call", call_data(method, *args))

    def addresses(self):
        accounts = self.router.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]
        return {a["name"]: a["address"] for a in accounts}

    def test_write_read_assets_receipts_and_restart(self):
        r = self.router
        listed = r.ok("GET", "/sys/listResources", {"ignoreRemote": False})
        paths = sorted(d["path"] for d in listed["resourceDetails"])
        self.assertEqual(paths, ["payment.ledger1.store", "payment.ledger1.token"])
        self.assertEqual(listed["total"], 2)
        detail = r.ok("POST", "/resource/payment/ledger1/store/detail")
        self.assertEqual(detail["stubType"], "RefChain")

        tx = self.send("payment.ledger1.store", "set", "greeting", "hello weft")
        self.assertEqual(tx["errorCode"], 0, tx)
        self.assertTrue(tx["hash"].startswith("0x") and len(tx["hash"]) == 66, tx)
        self.assertGreaterEqual(tx["blockNumber"], 1)
        self.assertEqual(self.call("payment.ledger1.store", "get", "greeting")["result"], ["hello weft"])

        # Writes through call are refused; reads answer at once.
        status, env = r.request("POST", "/resource/payment/ledger1/store/call", call_data("set", "k", "v"))
        self.assertEqual(env["errorCode"], 44001, env)

        addr = self.addresses()
        self.assertNotEqual(addr["alice"], addr["bob"])
        mint = self.send("payment.ledger1.token", "mint", addr["alice"], "1000")
        self.assertEqual(mint["errorCode"], 0, mint)
        move = self.send("payment.ledger1.token", "transfer", addr["bob"], "250")
        self.assertEqual(move["errorCode"], 0, move)
        self.assertEqual(self.call("payment.ledger1.token", "balanceOf", addr["alice"])["result"], ["750"])
        self.assertEqual(self.call("payment.ledger1.token", "balanceOf", addr["bob"])["result"], ["250"])

        # A failing transfer reaches the chain: envelope 0, the chain's failure inside, no state change.
        over = self.send("payment.ledger1.token", "transfer", addr["alice"], "1", account="bob")
        self.assertEqual(over["errorCode"], 0, over)
        over = self.send("payment.ledger1.token", "transfer", addr["alice"], "999", account="bob")
        self.assertNotEqual(over["errorCode"], 0, over)
        self.assertEqual(self.call("payment.ledger1.token", "balanceOf", addr["bob"])["result"], ["249"])

        # Signing with an account the router does not have is an account error.
        status, env = r.request("POST", "/resource/payment/ledger1/store/sendTransaction",
                                call_data("set", "a", "b", account="mallory"))
        self.assertEqual(env["errorCode"], 40300, env)

        detail = r.ok("GET", "/trans/getTransaction?path=payment.ledger1&txHash=" + move["hash"])
        self.assertEqual(detail["txHash"], move["hash"])
        self.assertEqual(detail["blockNumber"], move["blockNumber"])
        self.assertEqual(detail["path"], "payment.ledger1.token")
        self.assertEqual(detail["method"], "transfer")
        self.assertIsNone(detail["errorCode"])
        self.assertEqual(detail["native"]["from"], addr["alice"])

        block = json.loads(r.ok("GET", "/trans/getBlock?path=payment.ledger1&blockNumber=%d" % move["blockNumber"]))
        self.assertIn(move["hash"], block["transactionsHashes"])
        self.assertEqual(block["blockHeader"]["number"], move["blockNumber"])

        proof = r.ok("GET", "/weft/proof?path=payment.ledger1&txHash=" + move["hash"])
        self.assertEqual(proof["txHash"], move["hash"])
        self.assertEqual(proof["blockHash"], block["blockHeader"]["hash"])

        height = r.ok("GET", "/sys/status")["chains"][0]["height"]
        self.assertGreaterEqual(height, move["blockNumber"])

        # Killed without warning, restarted: every acknowledged transaction and all state are still there.
        r.kill()
        r.start()
        self.assertEqual(self.call("payment.ledger1.store", "get", "greeting")["result"], ["hello weft"])
        self.assertEqual(self.call("payment.ledger1.token", "balanceOf", addr["alice"])["result"], ["751"])
        again = r.ok("GET", "/trans/getTransaction?path=payment.ledger1&txHash=" + move["hash"])
        self.assertEqual(again, detail)
        block2 = json.loads(r.ok("GET", "/trans/getBlock?path=payment.ledger1&blockNumber=%d" % move["blockNumber"]))
        self.assertEqual(block2["blockHeader"]["hash"], block["blockHeader"]["hash"])
        self.assertGreaterEqual(r.ok("GET", "/sys/status")["chains"][0]["height"], height)
        # And the chain keeps going.
        tx2 = self.send("payment.ledger1.store", "set", "greeting", "hello again")
        self.assertGreater(tx2["blockNumber"], move["blockNumber"])
        self.assertEqual(r.stop(), 0)


if __name__ == "__main__":
    unittest.main()
