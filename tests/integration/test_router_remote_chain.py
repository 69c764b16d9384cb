"""The router's reference-chain adapter in remote mode: the same RPC against a four-node weft-node network, with
failover when the node it talks to dies, clear errors while the whole network is down, and recovery after."""
import json
import signal
import unittest

from nodelib import Network
from weftlib import Router, call_data, scaled, wait_for


class RouterOnNodeNetwork(unittest.TestCase):
    def setUp(self):
        self.net = Network()
        self.net.start_all()
        nodes = ", ".join('"%s"' % self.net.client_address(i) for i in range(4))
        chains = """
  - name: remote
    type: RefChain
    default_account: alice
    options: { chain_id: 5, nodes: [%s], remote_connections: 3 }
""" % nodes
        self.router = Router(chains=chains, rpc="  request_timeout_ms: %d\n" % (scaled(8) * 1000)).start()

    def tearDown(self):
        self.router.cleanup()
        self.net.cleanup()

    def send(self, method, *args, **options):
        return self.router.ok("POST", "/resource/payment/remote/store/sendTransaction", call_data(method, *args, **options))

    def get(self, key):
        return self.router.ok("POST", "/resource/payment/remote/store/call", call_data("get", key))["result"]

    def test_router_drives_a_node_network_and_fails_over(self):
        r = self.router
        status = r.ok("GET", "/sys/status")
        self.assertEqual(status["chains"][0]["status"], "ok")
        listed = sorted(d["path"] for d in r.ok("GET", "/sys/listResources")["resourceDetails"])
        self.assertEqual(listed, ["payment.remote.store", "payment.remote.token"])

        tx = self.send("set", "where", "on the network")
        self.assertEqual(tx["errorCode"], 0, tx)
        self.assertEqual(self.get("where"), ["on the network"])
        receipt = r.ok("GET", "/trans/getTransaction?path=payment.remote&txHash=" + tx["hash"])
        self.assertEqual(receipt["blockNumber"], tx["blockNumber"])
        proof = r.ok("GET", "/weft/proof?path=payment.remote&txHash=" + tx["hash"])
        self.assertGreaterEqual(len(proof["commitCert"]["seals"]), 3)
        block = json.loads(r.ok("GET", "/trans/getBlock?path=payment.remote&blockNumber=%d" % tx["blockNumber"]))
        self.assertIn(tx["hash"], block["transactions"])
        # Every node holds the block the router reported.
        for i in range(4):
            self.assertEqual(self.net.ask(i, "get_block", number=tx["blockNumber"])["hash"], block["hash"])

        # The router's connections start at nodes 0, 1 and 2; kill node 0 without warning: calls fail over.
        self.net.stop(0, signal.SIGKILL)
        for i in range(5):
            self.assertEqual(self.send("set", "k%d" % i, "v%d" % i)["errorCode"], 0)
        self.assertEqual(self.get("k4"), ["v4"])

        # The whole network down: clear errors, the router keeps serving.
        for i in (1, 2, 3):
            self.net.stop(i)
        status, env = r.request("POST", "/resource/payment/remote/store/call", call_data("get", "k4"))
        self.assertEqual(env["errorCode"], 40100, env)
        self.assertEqual(r.ok("GET", "/sys/test"), "OK!")

        # Back up: the same router works again without a restart.
        for i in range(4):
            self.net.start(i)

        def answers():
            status, env = r.request("POST", "/resource/payment/remote/store/call", call_data("get", "k4"))
            return env["errorCode"] == 0 and env["data"]["result"] == ["v4"]

        wait_for(answers, 30, "the router to reach the restarted network")
        self.assertEqual(self.send("set", "after", "restart")["errorCode"], 0)
        self.assertEqual(r.stop(), 0)

    def test_a_network_of_another_chain_is_refused_at_open(self):
        nodes = ", ".join('"%s"' % self.net.client_address(i) for i in range(4))
        other = Router(chains="""
  - name: wrong
    type: RefChain
    default_account: alice
    options: { chain_id: 6, nodes: [%s] }
""" % nodes).start()
        try:
            chain = other.ok("GET", "/sys/status")["chains"][0]
            self.assertIn("chain id 5", chain["status"])
        finally:
            other.cleanup()


if __name__ == "__main__":
    unittest.main()
