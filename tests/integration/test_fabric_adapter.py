"""The Fabric adapter against a real Fabric 2.5 network (fabriclib.py): two orgs, one peer each, an etcdraft orderer,
mutual TLS on, the test chaincode as a service. Calls, sends and their commit status, receipts through qscc, a
chaincode that refuses, an endorsement policy that one peer cannot satisfy, an MVCC read conflict, an identity the
network does not know, a client TLS certificate from an unknown CA, a bad config, an orderer that is down and a peer
that restarts. Skipped, with the reason, where Fabric's binaries are absent (WEFT_FABRIC_DIR)."""
import concurrent.futures
import os
import signal
import time
import unittest

import fabriclib
from weftlib import Router, call_data, scaled, wait_for

NET = None
ROUTER = None


def setUpModule():
    global NET, ROUTER
    fabric, why = fabriclib.fabric_dir()
    if fabric is None:
        raise unittest.SkipTest(why)
    modules, why = fabriclib.chaincode_modules()
    if modules is None:
        raise unittest.SkipTest(why)
    NET = fabriclib.Network(fabric, modules)
    try:
        NET.start()
        chains = (NET.chain_yaml("fab") + NET.chain_yaml("fab14", stub_type="Fabric1.4") +
                  NET.chain_yaml("fabbadtls", client_org="Org3"))
        # A chain whose config names a TLS root that does not exist: it stays down, and says why.
        chains += NET.chain_yaml("fabbroken").replace(NET.orderer_tls_ca(), "/nonexistent/orderer-ca.pem")
        ROUTER = Router(chains=chains)
        ROUTER.start()
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
    code = None
    if ROUTER is not None:
        # A clean stop: the adapter closes its streams and calls, and the sanitizers find nothing at exit.
        code = ROUTER.stop()
        ROUTER.cleanup()
    if NET is not None:
        NET.cleanup()
    assert code in (None, 0), "the router exited with %s" % code


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
        # The chain's height counts the block the transaction went into.
        wait_for(lambda: chain_status("fab").get("height", 0) >= tx["blockNumber"], 20, "height to reach the block")

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
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: send("add", "counter", "1"), range(2)))
        codes = sorted(a["data"]["errorCode"] for a in answers)
        self.assertEqual(codes, [0, 11], answers)
        loser = [a for a in answers if a["data"]["errorCode"] == 11][0]
        self.assertIn("MVCC_READ_CONFLICT", loser["data"]["message"])
        self.assertEqual(call("get", "counter")["data"]["result"], ["1"])

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
        try:
            wait_for(lambda: chain_status("fab")["status"] == "down", 30, "the chain down")
            env = call("get", "restart")
            self.assertEqual(env["errorCode"], 40100, env)
        finally:
            NET.start_peer("Org1")
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
