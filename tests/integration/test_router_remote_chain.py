"""The router's reference-chain adapter in remote mode: the same RPC against a four-node weft-node network, with
failover when the node it talks to dies, clear errors while the whole network is down, recovery after, and many
sends waiting for their commits at once over few connections."""
import collections
import json
import signal
import threading
import time
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
        self.assertEqual(status["chains"][0]["status"], "up")
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
        self.assertIn(tx["hash"], block["transactionsHashes"])
        # Every node holds the block the router reported.
        for i in range(4):
            self.assertEqual(self.net.ask(i, "get_block", number=tx["blockNumber"])["hash"], block["blockHeader"]["hash"])

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

    def test_many_concurrent_sends_are_not_capped_by_connections(self):
        # Each send waits for its block; a connection carries many such waits at once, so 50 clients keep ~50 sends
        # in flight over the router's 3 connections instead of 3.
        latencies = []
        for i in range(5):
            start = time.monotonic()
            self.assertEqual(self.send("set", "warm%d" % i, "v")["errorCode"], 0)
            latencies.append(time.monotonic() - start)
        latency = sorted(latencies)[2]

        count, clients = 200, 50
        results, failures = {}, []
        lock = threading.Lock()
        todo = iter(range(count))

        def client():
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                try:
                    tx = self.send("set", "key%d" % i, "value%d" % i)
                    with lock:
                        results[i] = tx
                except Exception as e:  # noqa: BLE001 - reported below
                    with lock:
                        failures.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(clients)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        self.assertEqual(failures, [])
        self.assertEqual(len(results), count)
        self.assertTrue(all(tx["errorCode"] == 0 for tx in results.values()))
        self.assertEqual(len({tx["hash"] for tx in results.values()}), count)
        # Every one committed: the network holds its receipt.
        for i in (0, count // 2, count - 1):
            self.assertEqual(self.net.ask(i % 4, "get_receipt", hash=results[i]["hash"])["errorCode"], 0)
        self.assertEqual(self.get("key%d" % (count - 1)), ["value%d" % (count - 1)])
        # One send per connection at a time would put at most 3 of them in any block (each waits for its commit);
        # pipelined, the blocks carry many. (Not timed: a send on an idle chain is proposed at once, so its latency
        # is one block's consensus and the CPU of 200 sends on shared cores, not the cap, sets the elapsed time.)
        per_block = collections.Counter(tx["blockNumber"] for tx in results.values())
        self.assertGreater(max(per_block.values()), 3, "200 sends took %.2f s in %d blocks; one takes %.0f ms"
                           % (elapsed, len(per_block), latency * 1000))

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
            self.assertEqual(chain["status"], "down")
            self.assertIn("chain id 5", chain["reason"])
        finally:
            other.cleanup()


if __name__ == "__main__":
    unittest.main()
