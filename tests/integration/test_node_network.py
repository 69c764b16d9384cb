"""Four weft-node validators on loopback: blocks commit with identical hashes everywhere, a SIGKILLed leader is
replaced by a new view, a stopped node catches up, two nodes down stop commits until one returns, garbage on either
port drops only that connection, and a bad node.yaml is refused with the position of each problem."""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from nodelib import NODE, Client, Network
from weftlib import scaled, wait_for


class NodeNetwork(unittest.TestCase):
    def setUp(self):
        self.net = Network()
        self.net.start_all()

    def tearDown(self):
        self.net.cleanup()

    def test_transfers_commit_with_identical_hashes_on_every_node(self):
        net = self.net
        info = net.ask(2, "chain_info")
        self.assertEqual(info["chainId"], 5)
        self.assertEqual(len(info["validators"]), 4)
        self.assertEqual(info["self"], 2)
        bob = info["validators"][1]
        minted = net.send([0], "--resource", "token", "--method", "mint", bob, "1000")
        self.assertEqual(minted["errorCode"], 0, minted)
        stored = net.send([3], "--resource", "store", "--method", "set", "greeting", "hello")
        self.assertEqual(stored["errorCode"], 0, stored)
        top = max(net.height(i) for i in range(4))
        net.wait_height(range(4), top)
        net.assert_same_chain(range(4), top)
        for i in range(4):
            self.assertEqual(net.ask(i, "call", resource="token", method="balanceOf", args=[bob])["result"], ["1000"])
            self.assertEqual(net.ask(i, "get_receipt", hash=stored["hash"])["blockNumber"], stored["blockNumber"])
        proof = net.ask(1, "get_proof", hash=minted["hash"])
        self.assertEqual(proof["blockNumber"], minted["blockNumber"])
        for code in [net.stop(i) for i in range(4)]:
            self.assertEqual(code, 0)

    def test_sigkilled_leader_is_replaced_and_blocks_keep_committing(self):
        net = self.net
        net.wait_height(range(4), 2)
        leader = net.ask(0, "health")["proposer"]
        net.stop(leader, signal.SIGKILL)
        alive = [i for i in range(4) if i != leader]
        before = max(net.height(i) for i in alive)
        sent = net.send(alive, "--resource", "store", "--method", "set", "after", "leader died")
        self.assertGreater(sent["blockNumber"], before)
        net.wait_height(alive, before + 3)
        net.assert_same_chain(alive, before + 3)
        self.assertGreater(sum(net.ask(i, "health")["roundChanges"] for i in alive), 0)

    def test_stopped_node_restarts_and_catches_up_with_identical_hashes(self):
        net = self.net
        net.wait_height(range(4), 1)
        self.assertEqual(net.stop(3), 0)
        for k in range(3):
            net.send([0, 1, 2], "--resource", "store", "--method", "set", "k%d" % k, "v")
        top = max(net.height(i) for i in range(3))
        net.start(3)
        net.wait_height([3], top)
        net.assert_same_chain(range(4), top)
        self.assertEqual(net.ask(3, "call", resource="store", method="get", args=["k2"])["result"], ["v"])

    def test_two_nodes_down_stop_commits_and_one_back_resumes_them(self):
        net = self.net
        net.wait_height(range(4), 1)
        net.stop(2, signal.SIGKILL)
        net.stop(3)
        time.sleep(scaled(1))  # let a block in flight finish
        stalled = max(net.height(i) for i in (0, 1))
        c = Client(net.client_address(0))
        # Admitted, but no quorum can commit it.
        admitted = subprocess.run([NODE, "send", "--client", net.client_address(0), "--key", net.key, "--wait-ms",
                                   "0", "--resource", "store", "--method", "set", "during", "outage"],
                                  capture_output=True, text=True, timeout=scaled(30))
        self.assertEqual(admitted.returncode, 0, admitted.stderr)
        tx_hash = json.loads(admitted.stdout)["hash"]
        time.sleep(scaled(2))
        self.assertEqual(max(net.height(i) for i in (0, 1)), stalled)
        self.assertNotEqual(c.request("get_receipt", hash=tx_hash)["status"], 0)
        c.close()
        net.start(2)
        net.wait_height([0, 1, 2], stalled + 1)
        wait_for(lambda: net.receipt_status(1, tx_hash) == 0, 30, "the outage's transaction to commit")
        top = min(net.height(i) for i in (0, 1, 2))
        net.assert_same_chain([0, 1, 2], top)

    def test_sigkill_at_random_moments_under_load_loses_and_changes_nothing(self):
        net = self.net
        net.wait_height(range(4), 1)
        rng = random.Random(int(os.environ.get("WEFT_TEST_SEED", "7")))
        stop = threading.Event()
        committed, errors = [], []

        def load():
            # Sends through every node in turn, so a killed node's clients fail over.
            k = 0
            while not stop.is_set():
                k += 1
                try:
                    committed.append(net.send(range(4), "--resource", "store", "--method", "set", "load%d" % k, "v"))
                except AssertionError as e:  # a send cut by a kill is retried by the next one
                    errors.append(e)

        worker = threading.Thread(target=load)
        worker.start()
        try:
            for _ in range(4):
                victim = rng.randrange(4)
                time.sleep(rng.uniform(0.05, 0.6) * scaled(1))
                seen = net.height(victim)
                before = {n: net.ask(victim, "get_block", number=n)["hash"] for n in range(1, seen + 1)}
                net.stop(victim, signal.SIGKILL)
                time.sleep(rng.uniform(0.0, 0.4) * scaled(1))
                net.start(victim)
                # Nothing it had committed is lost or changed, and it rejoins the others.
                for n, h in before.items():
                    self.assertEqual(net.ask(victim, "get_block", number=n)["hash"], h, "block %d changed" % n)
                net.wait_height([victim], max(net.height(i) for i in range(4) if i != victim))
        finally:
            stop.set()
            worker.join()
        self.assertGreater(len(committed), 0)
        last = max(tx["blockNumber"] for tx in committed)
        net.wait_height(range(4), last)
        net.assert_same_chain(range(4), last)
        # Every acknowledged transaction is on every node.
        for tx in committed:
            for i in range(4):
                self.assertEqual(net.receipt_status(i, tx["hash"]), 0, "tx %s missing on node %d" % (tx["hash"], i))

    def test_garbage_on_both_ports_drops_only_that_connection(self):
        net = self.net
        net.wait_height(range(4), 1)
        for port in (net.peer_port(0), net.base + 100):
            for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\xff\xff\xff\xff" + b"x" * 64,
                            os.urandom(4096)):
                s = socket.create_connection(("127.0.0.1", port), timeout=scaled(10))
                try:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(4096):  # the node answers or not, then closes
                        pass
                except OSError:  # reset, broken pipe, or already closed by the node: all fine
                    pass
                finally:
                    s.close()
        # An oversized client request: an error answer, then the connection is closed.
        c = Client(net.client_address(0))
        c.sock.sendall(struct.pack(">I", 0x7FFFFFFF))
        (n,) = struct.unpack(">I", c._read(4))
        self.assertNotEqual(json.loads(c._read(n))["status"], 0)
        c.close()
        self.assertIsNone(net.procs[0].poll())
        before = net.height(0)
        sent = net.send([0], "--resource", "store", "--method", "set", "still", "alive")
        self.assertGreater(sent["blockNumber"], before)
        self.assertEqual(net.stop(0), 0)


class NodeConfigErrors(unittest.TestCase):
    def test_unknown_keys_and_bad_values_are_refused_with_their_position(self):
        d = tempfile.mkdtemp(prefix="weft-node-cfg-")
        try:
            path = os.path.join(d, "node.yaml")
            with open(path, "w") as f:
                f.write("index: 0\nkey_file: k\ndata_dir: data\nlisten: \"127.0.0.1:1\"\nclient_listen: nowhere\n"
                        "validators:\n  - { address: \"0x12\", peer: \"127.0.0.1:2\" }\nblock_interval_ms: fast\n"
                        "colour: blue\n")
            out = subprocess.run([NODE, "run", "-c", path], capture_output=True, text=True, timeout=scaled(30))
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn(path + ":5:16: client_listen", out.stderr)
            self.assertIn(path + ":7:16: address must be", out.stderr)
            self.assertIn(path + ":8:20: block_interval_ms", out.stderr)
            self.assertIn(path + ":9:1: unknown key 'colour'", out.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
