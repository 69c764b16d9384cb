"""The router core as clients, proxies and operators see it: HTTP-level refusals with their statuses, WeCross's
route shapes, 404/405 and the url prefix, chains that come back by themselves, cancelled adapter operations,
Prometheus metrics and health, and the chain history in the router store."""
import datetime
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import threading
import time
import unittest

from weftlib import REFCHAIN, TEST_PLUGINS, PLUGINS, Router, call_data, scaled, wait_for

TEST_CHAINS = """
  - name: test
    type: TestChain
    default_account: alice
  - name: threaded
    type: TestChain
    default_account: alice
    options: { complete: thread }
"""


def raw_exchange(router, data, read_timeout=10, send_more=None):
    """Sends raw bytes, optionally keeps sending more in the background, and reads until the server closes.
    Returns everything read."""
    s = socket.create_connection((router.host, router.port), timeout=scaled(read_timeout))
    s.sendall(data)
    stop = threading.Event()

    def pump():
        try:
            while not stop.is_set():
                s.sendall(send_more)
        except OSError:
            pass

    t = None
    if send_more:
        t = threading.Thread(target=pump, daemon=True)
        t.start()
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout) as e:
        if not out:
            raise AssertionError("no answer before %r" % e)
    finally:
        stop.set()
        s.close()
    return out


def status_of(raw):
    return int(raw.split(b" ", 2)[1])


def headers_of(raw):
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    return {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in head.split("\r\n")[1:])}


def body_of(raw):
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


class Refusals(unittest.TestCase):
    """Every refusal at the HTTP level has its status, the client reads it, and the connection closes after."""

    @classmethod
    def setUpClass(cls):
        rpc = ("  max_body_bytes: 4096\n  header_timeout_ms: %d\n  request_timeout_ms: %d\n  max_in_flight: 2\n"
               % (scaled(1.0) * 1000, scaled(2.0) * 1000))
        cls.router = Router(chains=TEST_CHAINS, plugin_dir=TEST_PLUGINS, rpc=rpc).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.router.stop()
        cls.router.cleanup()
        assert code == 0, code

    def assert_refused(self, raw, status, code):
        self.assertEqual(status_of(raw), status, raw[:300])
        self.assertEqual(headers_of(raw).get("connection"), "close", raw[:300])
        self.assertEqual(body_of(raw)["errorCode"], code, raw[:300])
        # Served again at once: the refusal cost nothing lasting.
        self.assertEqual(self.router.ok("GET", "/sys/test"), "OK!")

    def test_413_from_content_length_before_the_body_is_read(self):
        # The body never comes: the answer must not wait for it.
        raw = raw_exchange(self.router, b"POST /resource/payment/test/echo/call HTTP/1.1\r\nHost: x\r\n"
                                        b"Content-Length: 100000000\r\n\r\n")
        self.assert_refused(raw, 413, 20801)

    def test_413_while_the_client_keeps_sending_is_still_read(self):
        raw = raw_exchange(self.router, b"POST /resource/payment/test/echo/call HTTP/1.1\r\nHost: x\r\n"
                                        b"Content-Length: 100000000\r\n\r\n", send_more=b"x" * 8192)
        self.assert_refused(raw, 413, 20801)

    def test_413_for_a_chunked_body_once_the_limit_is_crossed(self):
        chunk = b"%x\r\n%s\r\n" % (1000, b"y" * 1000)
        raw = raw_exchange(self.router, b"POST /resource/payment/test/echo/call HTTP/1.1\r\nHost: x\r\n"
                                        b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 5)
        self.assert_refused(raw, 413, 20801)

    def test_414_for_a_long_request_line(self):
        raw = raw_exchange(self.router, b"GET /sys/test?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_refused(raw, 414, 20203)
        # Longer than the whole header limit, the request line is still a 414.
        raw = raw_exchange(self.router, b"GET /sys/test?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_refused(raw, 414, 20203)

    def test_431_for_large_or_many_header_fields(self):
        raw = raw_exchange(self.router, b"GET /sys/test HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n")
        self.assert_refused(raw, 431, 20203)
        many = b"".join(b"X-F%d: v\r\n" % i for i in range(150))
        raw = raw_exchange(self.router, b"GET /sys/test HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        self.assert_refused(raw, 431, 20203)

    def test_408_for_a_request_that_arrives_too_slowly(self):
        t0 = time.monotonic()
        raw = raw_exchange(self.router, b"GET /sys/test HTTP/1.1\r\nHost: x\r\n")
        self.assert_refused(raw, 408, 20802)
        self.assertLess(time.monotonic() - t0, scaled(5))

    def test_503_with_retry_after_over_the_in_flight_limit(self):
        # Two requests the test chain holds until their deadline fill the limit of 2.
        results = []

        def slow():
            results.append(self.router.request("POST", "/resource/payment/test/echo/call", call_data("silent")))

        threads = [threading.Thread(target=slow) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(scaled(0.5))
        raw = raw_exchange(self.router, b"GET /sys/test HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_of(raw), 503, raw[:300])
        self.assertEqual(headers_of(raw).get("retry-after"), "1")
        self.assertEqual(body_of(raw)["errorCode"], 20803)
        for t in threads:
            t.join()
        self.assertEqual([r[1]["errorCode"] for r in results], [40200, 40200])
        self.assertEqual(self.router.ok("GET", "/sys/test"), "OK!")

    def test_not_http_is_400(self):
        raw = raw_exchange(self.router, b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n")
        self.assertEqual(status_of(raw), 400)

    def test_refusals_are_counted(self):
        raw_exchange(self.router, b"GET /sys/test?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status, text = self.router.metrics()
        self.assertEqual(status, 200)
        line = [l for l in text.splitlines() if l.startswith('weft_rpc_refusals_total{status="414"}')]
        self.assertTrue(line and float(line[0].split()[-1]) >= 1, line)


def assert_types(test, obj, spec, where):
    """spec: field -> type or tuple of types; every field present with that JSON type, no other fields."""
    test.assertEqual(sorted(obj.keys()), sorted(spec.keys()), where)
    for k, t in spec.items():
        test.assertIsInstance(obj[k], t, "%s.%s = %r" % (where, k, obj[k]))


STR_OR_NONE = (str, type(None))
INT = int


class Routes(unittest.TestCase):
    """WeCross's remaining routes, against the shapes its router answers (sheet §6b)."""

    @classmethod
    def setUpClass(cls):
        cls.router = Router(plugin_dir=PLUGINS).start()
        r = cls.router
        cls.sent = []
        for i in range(3):
            d = r.ok("POST", "/resource/payment/ledger1/store/sendTransaction", call_data("set", "k%d" % i, "v"))
            cls.sent.append(d)

    @classmethod
    def tearDownClass(cls):
        code = cls.router.stop()
        cls.router.cleanup()
        assert code == 0, code

    def test_sys_state_router_status_and_system_status(self):
        r = self.router
        assert_types(self, r.ok("GET", "/sys/state"), {"seq": INT}, "state")
        self.assertGreaterEqual(r.ok("GET", "/sys/state")["seq"], 1)
        rs = r.ok("GET", "/sys/routerStatus")
        assert_types(self, rs, {"version": str, "supportedStubs": str, "rpcNetInfo": str, "p2pNetInfo": STR_OR_NONE,
                                "adminAccount": STR_OR_NONE, "enableAccessControl": bool}, "routerStatus")
        self.assertEqual(rs["rpcNetInfo"], r.address)
        self.assertIn("RefChain", rs["supportedStubs"].split(","))
        names = ["osName", "osArch", "osVersion", "javaVMVersion", "javaVMVendor", "javaVMName", "providerName",
                 "providerVersion", "providerInfo", "namedGroups", "disabledNamedGroups", "totalDiskSpace",
                 "totalDiskFreeSpace", "totalDiskUsable", "totalMemorySize", "freeMemorySize"]
        ss = r.ok("GET", "/sys/systemStatus")
        assert_types(self, ss, {n: STR_OR_NONE for n in names}, "systemStatus")
        self.assertEqual(ss["osName"], "Linux")
        self.assertTrue(ss["totalMemorySize"].endswith("GB"))

    def test_conn_lists(self):
        r = self.router
        chains = r.ok("GET", "/conn/listChains")
        assert_types(self, chains, {"size": INT, "data": list}, "listChains")
        self.assertEqual(chains["size"], 1)
        item = chains["data"][0]
        assert_types(self, item, {"zone": str, "chain": str, "type": str, "local": bool, "blockNumber": INT,
                                  "properties": dict}, "listChains.data[0]")
        self.assertEqual((item["zone"], item["chain"], item["type"], item["local"]),
                         ("payment", "ledger1", "RefChain", True))
        self.assertTrue(all(isinstance(v, str) for v in item["properties"].values()), item)
        self.assertEqual(r.ok("GET", "/conn/listChains?zone=other"), {"size": 0, "data": []})
        # Paging past the end answers at once with an empty page (WeCross never answers some of these).
        self.assertEqual(r.ok("GET", "/conn/listChains?offset=5&size=0"), {"size": 1, "data": []})
        self.assertEqual(r.request("GET", "/conn/listChains?offset=x")[1]["errorCode"], 10002)
        self.assertEqual(r.ok("GET", "/conn/listZones"), {"size": 1, "data": ["payment"]})
        self.assertEqual(r.ok("GET", "/conn/listPeers?offset=0&size=10"), {"size": 0, "data": []})

    def test_get_transaction_is_wecross_transaction_detail(self):
        tx = self.sent[0]
        d = self.router.ok("GET", "/trans/getTransaction?path=payment.ledger1&txHash=%s&blockNumber=%d"
                           % (tx["hash"], tx["blockNumber"]))
        native = d.pop("native")
        self.assertEqual(native["txHash"], tx["hash"])
        assert_types(self, d, {"path": str, "username": type(None), "blockNumber": INT, "txHash": str,
                               "xaTransactionID": str, "xaTransactionSeq": INT, "method": str, "args": list,
                               "result": list, "byProxy": bool, "txBytes": STR_OR_NONE, "receiptBytes": STR_OR_NONE,
                               "errorCode": type(None), "message": type(None), "timestamp": INT}, "getTransaction")
        self.assertEqual(d["path"], "payment.ledger1.store")
        self.assertEqual((d["method"], d["args"], d["xaTransactionID"]), ("set", ["k0", "v"], "0"))
        self.assertEqual(d["blockNumber"], tx["blockNumber"])

    def test_get_block_is_a_json_string_of_wecross_block(self):
        tx = self.sent[1]
        text = self.router.ok("GET", "/trans/getBlock?path=payment.ledger1&blockNumber=%d" % tx["blockNumber"])
        self.assertIsInstance(text, str)
        b = json.loads(text)
        self.assertEqual(sorted(b.keys()), ["blockHeader", "native", "transactionsHashes", "transactionsWithDetail"])
        assert_types(self, b["blockHeader"], {"number": INT, "prevHash": str, "hash": str, "stateRoot": str,
                                              "transactionRoot": str, "receiptRoot": str, "timestamp": INT}, "header")
        self.assertIn(tx["hash"], b["transactionsHashes"])
        self.assertEqual(b["blockHeader"]["number"], tx["blockNumber"])
        self.assertEqual(b["native"]["hash"], b["blockHeader"]["hash"])
        # Also in the body form WeCross's SDK sends, a GET with a JSON body.
        status, env = self.router.request("GET", "/trans/getBlock",
                                          {"path": "payment.ledger1", "blockNumber": tx["blockNumber"]})
        self.assertEqual(json.loads(env["data"]), b)

    def test_list_transactions_pages_down_to_every_sent_transaction(self):
        r = self.router
        seen, block, offset, pages = [], -1, 0, 0
        while block != -1 or pages == 0:
            page = r.ok("GET", "/trans/listTransactions?path=payment.ledger1&blockNumber=%d&offset=%d&size=1"
                        % (block, offset))
            assert_types(self, page, {"nextBlockNumber": INT, "nextOffset": INT, "transactions": list,
                                      "transactionWithDetails": list}, "listTransactions")
            for t, d in zip(page["transactions"], page["transactionWithDetails"]):
                assert_types(self, t, {"txHash": str, "blockNumber": INT}, "transactions[]")
                assert_types(self, d, {"txHash": str, "blockNumber": INT, "accountIdentity": STR_OR_NONE,
                                       "path": STR_OR_NONE, "method": STR_OR_NONE, "xaTransactionID": STR_OR_NONE},
                             "transactionWithDetails[]")
                self.assertEqual(d["path"], "payment.ledger1.store")
                seen.append(t["txHash"])
            self.assertLessEqual(len(page["transactions"]), 1)
            block, offset, pages = page["nextBlockNumber"], page["nextOffset"], pages + 1
            self.assertLess(pages, 100)
        for tx in self.sent:
            self.assertIn(tx["hash"], seen)
        for q in ("blockNumber=-1&offset=0&size=0", "blockNumber=-1&offset=-1&size=5", "blockNumber=x&offset=0&size=1",
                  "blockNumber=99999999999&offset=0&size=1"):
            self.assertEqual(r.request("GET", "/trans/listTransactions?path=payment.ledger1&" + q)[1]["errorCode"],
                             10002, q)

    def test_chain_info(self):
        info = self.router.ok("GET", "/weft/chainInfo?path=payment.ledger1")
        assert_types(self, info, {"path": str, "height": INT, "blockTime": INT, "finalityBlocks": INT,
                                  "blockIntervalMs": INT}, "chainInfo")
        self.assertEqual(info["finalityBlocks"], 0)
        self.assertGreater(info["blockTime"], 1_600_000_000_000)

    def test_unrouted_is_a_bare_404_that_closes_and_weft_routes_answer_405(self):
        conn = http.client.HTTPConnection(self.router.host, self.router.port, timeout=scaled(10))
        conn.request("POST", "/sys/state", body="{}")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.getheader("Content-Type"), "text/plain")
        self.assertEqual(resp.read(), b"")
        self.assertEqual(resp.getheader("Connection"), "close")
        conn.close()
        conn = http.client.HTTPConnection(self.router.host, self.router.port, timeout=scaled(10))
        conn.request("DELETE", "/weft/accounts")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.getheader("Allow"), "GET")
        resp.read()
        conn.close()


class UrlPrefix(unittest.TestCase):
    def test_routes_are_served_only_under_the_prefix(self):
        r = Router(plugin_dir=TEST_PLUGINS, chains=TEST_CHAINS, rpc="  url_prefix: /weft\n", prefix="/weft").start()
        try:
            self.assertEqual(r.ok("GET", "/weft/sys/test"), "OK!")
            self.assertEqual(r.ok("POST", "/weft/resource/payment/test/echo/call", call_data("echo", "p"))["result"],
                             ["p"])
            self.assertEqual(r.request("GET", "/sys/test")[0], 404)
            self.assertEqual(r.request("GET", "/weftx/sys/test")[0], 404)
        finally:
            r.stop()
            r.cleanup()


class Lifecycle(unittest.TestCase):
    """Chains come back by themselves; a guard that fires cancels the adapter's operation."""

    def test_a_chain_that_fails_to_open_comes_up_later_while_the_others_serve(self):
        chains = TEST_CHAINS + """
  - name: flaky
    type: TestChain
    default_account: alice
    options: { fail_open_times: 4 }
"""
        # Four failed attempts 1 + 2 + 2 + 2 s apart: the router's own start on a loaded machine (a few seconds under
        # the sanitizers) must not outlast them, or the first look finds the chain up already.
        r = Router(plugin_dir=TEST_PLUGINS, chains=chains,
                   router="  chain_retry_initial_ms: %d\n  chain_retry_max_ms: %d\n"
                   % (scaled(1.0) * 1000, scaled(2.0) * 1000)).start()
        try:
            status = {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}
            self.assertEqual(status["payment.flaky"]["status"], "down")
            self.assertIn("configured to fail", status["payment.flaky"]["reason"])
            self.assertEqual(status["payment.test"]["status"], "up")
            # Down: its resource is not there yet, and a call says why; the other chain serves meanwhile.
            env = r.request("POST", "/resource/payment/flaky/echo/call", call_data("echo", "x"))[1]
            self.assertEqual(env["errorCode"], 40100, env)
            self.assertEqual(r.ok("POST", "/resource/payment/test/echo/call", call_data("echo", "y"))["result"], ["y"])
            seq_before = r.ok("GET", "/sys/state")["seq"]

            def flaky_up():
                c = {c["path"]: c for c in r.ok("GET", "/sys/status")["chains"]}["payment.flaky"]
                return c if c["status"] == "up" else None

            up = wait_for(flaky_up, 30, "the flaky chain to open")
            self.assertEqual(up["openAttempts"], 5)
            self.assertEqual(r.ok("POST", "/resource/payment/flaky/echo/call", call_data("echo", "z"))["result"], ["z"])
            self.assertGreater(r.ok("GET", "/sys/state")["seq"], seq_before)
            self.assertIn("payment.flaky.echo",
                          [d["path"] for d in r.ok("GET", "/sys/listResources")["resourceDetails"]])
        finally:
            self.assertEqual(r.stop(), 0)
        # The router store kept each change of state, durably.
        db = sqlite3.connect(os.path.join(r.data_dir, "router.db"))
        rows = db.execute("SELECT status, reason FROM chain_status WHERE chain = 'payment.flaky' ORDER BY id").fetchall()
        db.close()
        r.cleanup()
        self.assertEqual(rows[0][0], "down")
        self.assertEqual(rows[-1][0], "up")

    def test_chains_open_in_parallel(self):
        # Four chains whose nodes take 1.5 s each to answer an open: one after another would take 6 s.
        slow = "".join("""
  - name: slow%d
    type: TestChain
    default_account: alice
    options: { open_delay_ms: 1500 }
""" % i for i in range(4))
        r = Router(plugin_dir=TEST_PLUGINS, chains=slow)
        r.account_add("admin", "weft-admin-pw1", admin=True)
        r.admin_made = True
        r.start(login=False)
        try:
            states = {c["path"]: c["status"] for c in r.ok("GET", "/sys/status", token=None)["chains"]}
            self.assertEqual(set(states.values()), {"up"}, states)
            # The order of events, not a duration: opened one after another, the four "open" lines would lie at least
            # 3 × 1.5 s apart from first to last; opened together, they lie within one open's delay of each other,
            # however slow the machine is at starting the router.
            with open(r.log_path, errors="replace") as f:
                opened = [datetime.datetime.fromisoformat(line.split(" ", 1)[0]) for line in f
                          if re.search(r"chain payment\.slow\d open \(", line)]
            self.assertEqual(len(opened), 4, r.log_text())
            spread = (max(opened) - min(opened)).total_seconds()
            self.assertLess(spread, 3.0, "the four opens ended %.1f s apart: one after another" % spread)
        finally:
            r.stop()
            r.cleanup()

    def test_a_fired_guard_cancels_the_operation_and_a_cancelled_send_names_its_hash(self):
        timeout_ms = int(scaled(0.3) * 1000)
        r = Router(plugin_dir=TEST_PLUGINS, chains=TEST_CHAINS, rpc="  request_timeout_ms: %d\n" % timeout_ms).start()
        try:
            for chain in ("test", "threaded"):
                env = r.request("POST", "/resource/payment/%s/echo/call" % chain, call_data("hang"))[1]
                self.assertEqual(env["errorCode"], 40200, env)
                cancels = r.ok("POST", "/resource/payment/%s/echo/call" % chain, call_data("cancels"))["result"]
                self.assertEqual(cancels, ["1"], chain)
                env = r.request("POST", "/resource/payment/%s/echo/sendTransaction" % chain, call_data("hang"))[1]
                self.assertEqual(env["errorCode"], 40200, env)
                self.assertIn("0x" + "77" * 32, env["message"])
                self.assertIn("unknown", env["message"])
            # Metrics count the calls and their errors by chain and verb.
            text = r.metrics()[1]
            errors = [l for l in text.splitlines()
                      if l.startswith('weft_chain_errors_total{chain="payment.test",verb="send_transaction"}')]
            self.assertTrue(errors and float(errors[0].split()[-1]) >= 1, errors)
        finally:
            self.assertEqual(r.stop(), 0)
            r.cleanup()


    def test_stop_signals_repeated_through_the_shutdown_still_end_it_cleanly(self):
        # A supervisor that signals again while the router drains and closes (systemd, a test harness, an impatient
        # admin) must not kill it half-way: the exit status stays 0 and the log ends with "stopped".
        # A call that the chain never answers keeps the drain going for the request timeout, so the signals land in
        # the drain, in the closing and in the teardown after it.
        rpc = "  request_timeout_ms: %d\n" % int(scaled(0.5) * 1000)
        r = Router(plugin_dir=TEST_PLUGINS, chains=TEST_CHAINS, rpc=rpc).start()
        try:
            r.ok("POST", "/resource/payment/test/echo/call", call_data("echo", "m"))
            slow = threading.Thread(target=r.request, args=("POST", "/resource/payment/test/echo/call",
                                                             call_data("silent")))
            slow.start()
            time.sleep(scaled(0.1))
            sent = 0
            while r.proc.poll() is None:
                r.proc.send_signal(signal.SIGTERM if sent % 2 == 0 else signal.SIGINT)
                sent += 1
                time.sleep(0.0005)
            slow.join()
            self.assertEqual(r.stop(), 0, r.log_text()[-2000:])
            self.assertIn("stopped", r.log_text())
            self.assertGreater(sent, 1)
        finally:
            if r.proc is not None:
                r.stop()
            r.cleanup()


class MetricsAndHealth(unittest.TestCase):
    def test_metrics_parse_and_move_and_readiness_drops_on_sigterm(self):
        from prometheus_client.parser import text_string_to_metric_families

        rpc = "  request_timeout_ms: %d\n" % int(scaled(2.0) * 1000)
        r = Router(plugin_dir=TEST_PLUGINS, chains=TEST_CHAINS, rpc=rpc).start()
        try:
            def samples():
                out = {}
                for fam in text_string_to_metric_families(r.metrics()[1]):
                    for s in fam.samples:
                        out[(s.name, tuple(sorted(s.labels.items())))] = s.value
                return out

            before = samples()
            for _ in range(3):
                r.ok("POST", "/resource/payment/test/echo/call", call_data("echo", "m"))
            r.request("GET", "/nowhere")
            after = samples()
            key = ("weft_rpc_requests_total", (("code", "0"), ("family", "resource")))
            self.assertEqual(after[key] - before.get(key, 0), 3)
            self.assertGreaterEqual(after[("weft_rpc_requests_total", (("code", "404"), ("family", "other")))], 1)
            calls = ("weft_chain_calls_total", (("chain", "payment.test"), ("verb", "call")))
            self.assertEqual(after[calls] - before.get(calls, 0), 3)
            self.assertEqual(after[("weft_chain_up", (("chain", "payment.test"),))], 1)
            self.assertEqual(after[("weft_chain_height", (("chain", "payment.test"),))], 7)
            count = ("weft_rpc_request_duration_seconds_count", (("family", "resource"),))
            self.assertGreaterEqual(after[count] - before.get(count, 0), 3)
            # No label carries a resource path or an account.
            for (name, labels) in after:
                for k, v in labels:
                    self.assertNotIn("echo", v, (name, labels))
                    self.assertNotIn("alice", v, (name, labels))

            self.assertEqual(r.metrics("/health/live"), (200, "live\n"))
            self.assertEqual(r.metrics("/health/ready"), (200, "ready\n"))
            # SIGTERM while a request is in flight: readiness drops before the drain ends.
            slow = threading.Thread(target=r.request, args=("POST", "/resource/payment/test/echo/call",
                                                             call_data("silent")))
            slow.start()
            time.sleep(scaled(0.3))
            r.proc.send_signal(signal.SIGTERM)
            wait_for(lambda: r.metrics("/health/ready")[0] == 503, 5, "readiness to drop")
            slow.join()
        finally:
            self.assertEqual(r.stop(), 0)
            r.cleanup()


if __name__ == "__main__":
    unittest.main()
