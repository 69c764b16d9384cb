"""The Fabric adapter against a real Fabric 2.5 network (fabriclib.py): two orgs, one peer each, an etcdraft orderer,
mutual TLS on, the test chaincode as a service. Calls, sends and their commit status, receipts through qscc, a
chaincode that refuses, an endorsement policy that one peer cannot satisfy, an MVCC read conflict, an identity the
network does not know, a client TLS certificate from an unknown CA, a bad config, an orderer that is down and a peer
that restarts. Skipped, with the reason, where Fabric's binaries are absent (WEFT_FABRIC_DIR)."""
import concurrent.futures
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest

import fabriclib
from weftlib import Router, call_data, scaled, wait_for

NET = None
ROUTER = None
GARBAGE = None
# The processes that load libgrpc run with LeakSanitizer's suppressions for gRPC's own threads (tests/fabric/lsan.supp,
# which says why), and with full stacks so that those suppressions can match.
SANITIZER_ENV = {
    "ASAN_OPTIONS": ":".join(o for o in (os.environ.get("ASAN_OPTIONS", ""), "fast_unwind_on_malloc=0") if o),
    "LSAN_OPTIONS": ":".join(o for o in (os.environ.get("LSAN_OPTIONS", ""), "suppressions=" + os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fabric", "lsan.supp"), "print_suppressions=0") if o),
}
PROBE = os.path.join(os.path.dirname(os.environ.get("WEFT_BIN", "build/asan/bin").rstrip("/")), "tests", "fabric-probe")
FABRIC_LIB = os.path.join(os.environ.get("WEFT_PLUGINS", "build/asan/plugins"), "libweft_fabric.so")


class GarbagePeer:
    """A TLS server with a peer's certificate that answers every connection with bytes that are not HTTP/2."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["h2"])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.answered = 0

    def start(self):
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(4096)
                    tls.sendall(b"\x00\x00\x12\x04garbage, not a gRPC peer\xff" * 8)
                    self.answered += 1
            except (OSError, ssl.SSLError):
                pass

    def stop(self):
        self.stopped = True
        self.sock.close()


class SlowRelay:
    """A TCP relay to a local port that holds every connection it accepts until `hold` seconds after it was made, then
    passes the bytes both ways. TLS and HTTP/2 go through it untouched, only late."""

    def __init__(self, port, hold):
        self.target = port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.opens_at = time.monotonic() + hold
        self.conns = []

    def start(self):
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(conn,), daemon=True).start()

    def relay(self, conn):
        time.sleep(max(0.0, self.opens_at - time.monotonic()))
        try:
            up = socket.create_connection(("127.0.0.1", self.target))
        except OSError:
            conn.close()
            return
        self.conns += [conn, up]

        def pipe(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
        pipe(conn, up)

    def stop(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def setUpModule():
    global NET, ROUTER
    fabric, why = fabriclib.fabric_dir()
    if fabric is None:
        raise unittest.SkipTest(why)
    modules, why = fabriclib.chaincode_modules()
    if modules is None:
        raise unittest.SkipTest(why)
    NET = fabriclib.Network(fabric, modules)
    global GARBAGE
    try:
        NET.start()
        base = os.path.join(NET.org_dir("Org1"), "peers", "peer0.org1.example.com", "tls")
        GARBAGE = GarbagePeer(os.path.join(base, "server.crt"), os.path.join(base, "server.key"))
        chains = (NET.chain_yaml("fab") + NET.chain_yaml("fab14", stub_type="Fabric1.4") +
                  NET.chain_yaml("fabbadtls", client_org="Org3"))
        # A chain whose config names a TLS root that does not exist: it stays down, and says why.
        chains += NET.chain_yaml("fabbroken").replace(NET.orderer_tls_ca(), "/nonexistent/orderer-ca.pem")
        # A chain whose first peer answers garbage: it is down with a reason, and the router goes on serving.
        GARBAGE.start()
        options = NET.chain_options()
        options["peers"][0]["address"] = "127.0.0.1:%d" % GARBAGE.port
        chains += NET.chain_yaml("fabgarbage", options=options)
        chains += NET.example_yaml()  # payment.fabric1, from conf/chains/fabric.yaml
        ROUTER = Router(chains=chains)
        ROUTER.start(env=SANITIZER_ENV)
        # Until the service account exists the chain is down, and says what to do.
        wait_for(lambda: "service account" in chain_status("fab").get("reason", ""), 30, "fab down for its account")
        # The admin's first chain account (ua:1:1) is the chains' service account: Org1's User1.
        added = add_account("Org1", "Fabric2.0", default=True)
        assert added["errorCode"] == 0, added
        assert added["chainAccount"]["keyID"] == 1, added
        for chain in ("fab", "fab14"):
            wait_for(lambda: chain_status(chain)["status"] == "up", 60, "chain %s up" % chain)
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    code, log = None, ""
    if ROUTER is not None:
        # A clean stop: the adapter closes its streams and calls, and the sanitizers find nothing at exit.
        code = ROUTER.stop()
        log = ROUTER.log_text()
        ROUTER.cleanup()
    if NET is not None:
        NET.cleanup()
    if GARBAGE is not None:
        GARBAGE.stop()
    assert fabriclib.clean_exit(code, log), "the router exited with %s:\n%s" % (code, log)


def add_account(org, stub_type, default=False):
    """Imports org's User1 (key, certificate, MSP id) as a chain account of the admin's."""
    cert, key, _, _ = NET.user(org)
    with open(cert) as f:
        pem = f.read()
    return ROUTER.ok("POST", "/auth/addChainAccount",
                     {"type": stub_type, "secKey": "0x" + fabriclib.private_key_hex(key), "pubKey": pem,
                      "ext": org + "MSP", "isDefault": default})


def chain_status(chain):
    return {c["path"]: c for c in ROUTER.ok("GET", "/sys/status")["chains"]}["payment." + chain]


def send(method, *args, chain="fab", resource="kv", **options):
    status, env = ROUTER.request("POST", "/resource/payment/%s/%s/sendTransaction" % (chain, resource),
                                 call_data(method, *args, **options), timeout=60)
    assert status == 200, (status, env)
    return env


def call(method, *args, chain="fab", resource="kv"):
    status, env = ROUTER.request("POST", "/resource/payment/%s/%s/call" % (chain, resource), call_data(method, *args))
    assert status == 200, (status, env)
    return env


class FabricAdapterTest(unittest.TestCase):
    def test_send_commits_and_call_reads_it_back(self):
        env = send("set", "colour", "blue")
        self.assertEqual(env["errorCode"], 0, env)
        tx = env["data"]
        self.assertEqual(tx["errorCode"], 0, tx)
        self.assertEqual(tx["result"], ["blue"])
        self.assertRegex(tx["hash"], r"^[0-9a-f]{64}$")
        self.assertGreater(tx["blockNumber"], 0)
        got = call("get", "colour")
        self.assertEqual(got["errorCode"], 0, got)
        self.assertEqual(got["data"]["result"], ["blue"])
        # The receipt, through qscc: same block, the function and arguments, valid.
        detail = ROUTER.ok("GET", "/trans/getTransaction?path=payment.fab&txHash=" + tx["hash"])
        self.assertEqual(detail["blockNumber"], tx["blockNumber"], detail)
        native = detail.get("native", detail)
        self.assertEqual(native.get("method"), "set", detail)
        self.assertEqual(native.get("args"), ["colour", "blue"], detail)
        self.assertEqual(native.get("validationCode"), "VALID", detail)
        # A transaction the chain does not have: not found, not an outage.
        status, env = ROUTER.request("GET", "/trans/getTransaction?path=payment.fab&txHash=" + "ab" * 32)
        self.assertNotIn(env["errorCode"], (0, 40100), env)
        self.assertIn("no such transaction", env["message"])
        # Its block, through qscc: it lists the transaction, and its parent hash is the hash the adapter computes
        # for the block before (Fabric's own chaining, so the ASN.1 header hash is right).
        n = tx["blockNumber"]
        block = json.loads(ROUTER.ok("GET", "/trans/getBlock?path=payment.fab&blockNumber=%d" % n))
        parent = json.loads(ROUTER.ok("GET", "/trans/getBlock?path=payment.fab&blockNumber=%d" % (n - 1)))
        self.assertIn(tx["hash"], block["transactionsHashes"], block)
        self.assertEqual(block["blockHeader"]["number"], n)
        self.assertRegex(block["blockHeader"]["hash"], r"^[0-9a-f]{64}$")
        self.assertEqual(block["blockHeader"]["prevHash"], parent["blockHeader"]["hash"], (block, parent))
        info = ROUTER.ok("GET", "/weft/chainInfo?path=payment.fab")
        self.assertGreaterEqual(info["height"], n)
        self.assertLess(abs(info["blockTime"] - time.time() * 1000), 600000, info)
        self.assertEqual(info["finalityBlocks"], 0)
        # The chain's height counts the block the transaction went into.
        wait_for(lambda: chain_status("fab").get("height", 0) >= tx["blockNumber"], 20, "height to reach the block")

    def test_the_example_config_works(self):
        wait_for(lambda: chain_status("fabric1")["status"] == "up", 60, "conf/chains/fabric.yaml's chain up")
        env = send("set", "example", "ok", chain="fabric1", resource="basic")
        self.assertEqual(env["data"]["errorCode"], 0, env)
        self.assertEqual(call("get", "example", chain="fabric1", resource="basic")["data"]["result"], ["ok"])

    def test_fabric14_type_uses_the_same_path(self):
        # Chain accounts are per stub type, as in WeCross: the same identity, as the admin's Fabric1.4 account.
        added = add_account("Org1", "Fabric1.4", default=True)
        self.assertEqual(added["errorCode"], 0, added)
        env = send("set", "type14", "yes", chain="fab14")
        self.assertEqual(env["errorCode"], 0, env)
        self.assertEqual(env["data"]["errorCode"], 0, env)
        self.assertEqual(call("get", "type14", chain="fab")["data"]["result"], ["yes"])

    def test_chaincode_refusal_is_the_chains_answer_and_nothing_is_ordered(self):
        got = call("fail", "not today")
        self.assertEqual(got["errorCode"], 0, got)
        self.assertEqual(got["data"]["errorCode"], 500, got)
        self.assertIn("not today", got["data"]["message"])
        sent = send("fail", "nor tomorrow")
        self.assertEqual(sent["errorCode"], 0, sent)
        self.assertEqual(sent["data"]["errorCode"], 500, sent)
        self.assertIn("nor tomorrow", sent["data"]["message"])
        self.assertEqual(sent["data"]["blockNumber"], 0, sent)

    def test_one_endorsement_fails_the_policy_of_two(self):
        # kv1 asks only Org1's peer; the chaincode's policy wants both orgs: the block says ENDORSEMENT_POLICY_FAILURE.
        env = send("set", "policy", "one", resource="kv1")
        self.assertEqual(env["errorCode"], 0, env)
        self.assertEqual(env["data"]["errorCode"], 10, env)
        self.assertIn("ENDORSEMENT_POLICY_FAILURE", env["data"]["message"])
        self.assertEqual(call("get", "policy")["data"]["result"], [""])

    def test_concurrent_read_modify_writes_conflict(self):
        send("set", "counter", "0")
        # Four adds endorsed against the same version at once: the first in the block wins, the others read a
        # version that is gone by then (however a loaded machine spreads them, some overlap).
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: send("add", "counter", "1"), range(4)))
        codes = [a["data"]["errorCode"] for a in answers]
        self.assertIn(0, codes, answers)
        self.assertIn(11, codes, answers)
        self.assertTrue(set(codes) <= {0, 11}, answers)
        loser = [a for a in answers if a["data"]["errorCode"] == 11][0]
        self.assertIn("MVCC_READ_CONFLICT", loser["data"]["message"])
        self.assertEqual(call("get", "counter")["data"]["result"], [str(codes.count(0))])

    def test_an_identity_the_network_does_not_know_is_refused(self):
        added = add_account("Org3", "Fabric2.0")
        key_id = added["chainAccount"]["keyID"]
        env = send("set", "intruder", "x", account=str(key_id))
        self.assertEqual(env["errorCode"], 40300, env)
        self.assertIn("creator", env["message"])

    def test_a_client_tls_certificate_from_an_unknown_ca_keeps_the_chain_down(self):
        wait_for(lambda: chain_status("fabbadtls")["status"] == "down" and chain_status("fabbadtls").get("reason"),
                 30, "fabbadtls down with a reason")
        env = call("get", "colour", chain="fabbadtls")
        self.assertEqual(env["errorCode"], 40100, env)

    def test_a_bad_config_names_the_file(self):
        st = wait_for(lambda: chain_status("fabbroken").get("reason") and chain_status("fabbroken"), 30,
                      "fabbroken's reason")
        self.assertEqual(st["status"], "down", st)
        self.assertIn("/nonexistent/orderer-ca.pem", st["reason"])

    def test_a_peer_that_answers_garbage_is_an_error_not_a_crash(self):
        wait_for(lambda: chain_status("fabgarbage")["status"] == "down" and chain_status("fabgarbage").get("reason"),
                 30, "fabgarbage down with a reason")
        self.assertGreater(GARBAGE.answered, 0)
        env = call("get", "colour", chain="fabgarbage")
        self.assertEqual(env["errorCode"], 40100, env)
        self.assertIn("peer0.org1", env["message"])
        self.assertEqual(call("get", "colour")["errorCode"], 0)

    def probe(self, request, count, seconds=30, options=None):
        """fabric-probe: the adapter with a host of the test's (Org1's User1 as account "probe"), one subscription;
        `options`, when given, are the chain's options instead of the network's own."""
        cert, key, _, _ = NET.user("Org1")
        config = json.dumps(options or NET.chain_options(service_account="probe"))
        return subprocess.Popen([PROBE, FABRIC_LIB, "Fabric2.0", config, "probe", key, cert, "Org1MSP",
                                 json.dumps(request), str(count), str(int(scaled(seconds)))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, **SANITIZER_ENV))

    def records(self, proc):
        out, err = proc.communicate(timeout=scaled(60))
        self.assertTrue(fabriclib.clean_exit(proc.returncode, err), (proc.returncode, out, err[-3000:]))
        return [json.loads(l) for l in out.splitlines() if l.startswith("{")]

    def test_events_and_blocks_stream_and_resume_from_a_cursor(self):
        events = self.probe({"kind": "events", "resource": "kv"}, 1)
        self.assertEqual(events.stdout.readline().strip(), "subscribed")
        tx = send("set", "evented", "1")["data"]
        self.assertEqual(tx["errorCode"], 0, tx)
        got = self.records(events)
        self.assertEqual(len(got), 1, got)
        ev = got[0]
        self.assertEqual((ev["kind"], ev["seq"], ev["name"], ev["txHash"], ev["block"], ev["resource"]),
                         ("event", 1, "set", tx["hash"], tx["blockNumber"], "kv"), ev)
        # Resumed from the cursor before that block: the same event again; blocks from the block before it.
        again = self.records(self.probe({"kind": "events", "resource": "kv", "from": str(tx["blockNumber"] - 1)}, 1))
        self.assertEqual((again[0]["txHash"], again[0]["cursor"]), (tx["hash"], ev["cursor"]))
        blocks = self.records(self.probe({"kind": "blocks", "from": str(tx["blockNumber"] - 1)}, 1))
        self.assertEqual((blocks[0]["kind"], blocks[0]["number"], blocks[0]["cursor"]),
                         ("block", tx["blockNumber"], str(tx["blockNumber"])))
        # A transaction that fails validation emits nothing: the next event is the next valid one.
        after = self.probe({"kind": "events", "resource": "kv", "from": ev["cursor"]}, 1)
        bad = send("set", "evented", "2", resource="kv1")["data"]
        self.assertEqual(bad["errorCode"], 10, bad)
        good = send("set", "evented", "3")["data"]
        self.assertEqual(self.records(after)[0]["txHash"], good["hash"])
        refused = self.probe({"kind": "events", "resource": "nothere"}, 1)
        out, _ = refused.communicate(timeout=scaled(30))
        self.assertEqual(refused.returncode, 3, out)
        self.assertIn("nothere", out)

    def test_a_stream_without_a_cursor_keeps_a_block_committed_while_it_connects(self):
        # The probe reaches the first peer through a relay that holds its connections for 3 s, so its freshly opened
        # chain has seen no block and its streams connect late. A stream used to start at the newest block it found
        # on connecting and skip it: the block of the send below, committed meanwhile, was lost.
        relay = SlowRelay(NET.peers["Org1"]["port"], hold=3.0)
        relay.start()
        try:
            options = NET.chain_options(service_account="probe")
            options["peers"][0]["address"] = "127.0.0.1:%d" % relay.port
            options["request_timeout_ms"] = 60000
            events = self.probe({"kind": "events", "resource": "kv"}, 1, options=options)
            self.assertEqual(events.stdout.readline().strip(), "subscribed")
            tx = send("set", "connecting", "1")["data"]
            self.assertEqual(tx["errorCode"], 0, tx)
            got = self.records(events)
            self.assertEqual([(e["kind"], e["txHash"], e["block"]) for e in got],
                             [("event", tx["hash"], tx["blockNumber"])], got)
        finally:
            relay.stop()

    def test_z1_orderer_down_fails_the_send_and_recovers(self):
        NET.stop_orderer()
        try:
            env = send("set", "orderer", "down")
            self.assertEqual(env["errorCode"], 40100, env)
            self.assertIn("no orderer took", env["message"])
        finally:
            NET.start_orderer()
        # The restarted orderer takes sends again once it leads its raft group.
        def sent():
            env = send("set", "orderer", "back")
            return env["errorCode"] == 0 and env["data"]["errorCode"] == 0
        wait_for(sent, 60, "a send after the orderer restarted")
        self.assertEqual(call("get", "orderer")["data"]["result"], ["back"])

    def test_z2_peer_restart_shows_down_then_comes_back(self):
        before = send("set", "restart", "before")
        self.assertEqual(before["data"]["errorCode"], 0, before)
        NET.stop_peer("Org1", signal.SIGKILL)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                wait_for(lambda: chain_status("fab")["status"] == "down", 30, "the chain down")
                env = call("get", "restart")
                self.assertEqual(env["errorCode"], 40100, env)
                # In flight across the restart: Org2's peer endorses alone (too few for the policy), the orderer
                # commits it as invalid while the Deliver stream's peer is down; its status comes once the stream
                # resumes after the last block it saw.
                in_flight = pool.submit(send, "set", "restart", "org2-only", resource="kv2")
                time.sleep(scaled(1))
                self.assertFalse(in_flight.done())
            finally:
                NET.start_peer("Org1")
            late = in_flight.result(timeout=scaled(60))
        self.assertEqual(late["errorCode"], 0, late)
        self.assertEqual(late["data"]["errorCode"], 10, late)
        self.assertGreater(late["data"]["blockNumber"], before["data"]["blockNumber"])
        wait_for(lambda: chain_status("fab")["status"] == "up", 60, "the chain up again")
        # Endorsement works again and the Deliver stream resumed: the commit status arrives.
        def sent():
            env = send("set", "restart", "after")
            return env["errorCode"] == 0 and env["data"]["errorCode"] == 0 and env
        after = wait_for(sent, 60, "a send after the peer restarted")
        self.assertGreater(after["data"]["blockNumber"], before["data"]["blockNumber"])
        self.assertEqual(call("get", "restart")["data"]["result"], ["after"])


if __name__ == "__main__":
    unittest.main()
