"""Bad input never breaks the router: each malformed request gets a clear error and other clients are served."""
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import unittest

from weftlib import REFCHAIN, TESTCHAIN, TEST_PLUGINS, PLUGINS, Router, call_data, scaled, wait_for

BROKEN_CHAIN = """
  - name: broken
    type: TestChain
    default_account: alice
    options: { fail_open: true }
  - name: orphan
    type: NoSuchType
    default_account: alice
"""


class BadInput(unittest.TestCase):
    """Run with rpc.handoff keep (an event's work stays on the thread that took it); BadInputShared runs it all again
    with share, so both modes of the I/O threads meet every kind of bad input, with two threads each."""
    handoff = "keep"

    @classmethod
    def setUpClass(cls):
        # One plugin directory with the real adapters, the C test adapter and every broken library.
        cls.plugins = tempfile.mkdtemp(prefix="weft-plugins-")
        for d in (PLUGINS, TEST_PLUGINS):
            for f in os.listdir(d):
                if f.endswith(".so"):
                    shutil.copy(os.path.join(d, f), cls.plugins)
        rpc = ("  max_body_bytes: 4096\n  header_timeout_ms: %d\n  request_timeout_ms: %d\n  threads: 2\n"
               "  handoff: %s\n" % (scaled(1.0) * 1000, scaled(0.5) * 1000, cls.handoff))
        cls.router = Router(chains=REFCHAIN + TESTCHAIN + BROKEN_CHAIN, plugin_dir=cls.plugins, rpc=rpc).start()
        said = {"keep": "stays on the thread that took it", "share": "is shared with an idle thread"}[cls.handoff]
        line = "2 I/O threads; an event's work %s (rpc.handoff %s" % (said, cls.handoff)
        wait_for(lambda: line in cls.router.log_text(), scaled(10), "the log to say how the I/O threads work")

    @classmethod
    def tearDownClass(cls):
        code = cls.router.stop()
        log = cls.router.log_text()
        cls.router.cleanup()
        shutil.rmtree(cls.plugins, ignore_errors=True)
        assert code == 0, "router did not shut down cleanly: %s" % code
        # The test chain unwatched its pipe when it closed.
        assert "still registered" not in log, "an adapter left a descriptor in the router's loop"

    def assert_error(self, reply, code, text=None):
        status, env = reply
        self.assertEqual(status, 200, env)
        self.assertEqual(env["errorCode"], code, env)
        self.assertIsNone(env["data"])
        if text:
            self.assertIn(text, env["message"])

    def assert_alive(self):
        self.assertEqual(self.router.ok("GET", "/sys/test"), "OK!")

    def read_answers(self, s, n):
        """Reads exactly n HTTP answers from the socket: [(head, envelope)], in the order they came."""
        answers = []
        data = b""
        while len(answers) < n:
            chunk = s.recv(65536)
            self.assertTrue(chunk, "connection closed after %d answers" % len(answers))
            data += chunk
            while b"\r\n\r\n" in data:
                head, rest = data.split(b"\r\n\r\n", 1)
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                if len(rest) < length:
                    break
                answers.append((head, json.loads(rest[:length])))
                data = rest[length:]
        self.assertEqual(data, b"")
        return answers

    def test_pipelined_reads_run_alongside_each_other_and_writes_keep_their_place(self):
        # The test chain's "gate N" answers only once N gate calls are inside it at once. Pipelined calls on one
        # connection run alongside each other, so four gates of 4 all pass; one at a time, the first would wait alone
        # until its deadline. A write is a barrier: the calls before it finish first and those after it start after
        # it, so two gates of 2 on either side of a write never meet.
        def post(verb, method, arg):
            body = json.dumps({"version": "1", "data": {"method": method, "args": [arg]}}).encode()
            return (b"POST /resource/payment/test/echo/%s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                    b"Content-Length: %d\r\n\r\n" % (verb.encode(), self.router.token.encode(), len(body))) + body

        s = self.router.connect()
        s.settimeout(scaled(20))
        s.sendall(b"".join([post("call", "gate", "4")] * 4 + [post("call", "echo", "last")]))
        answers = self.read_answers(s, 5)
        for head, env in answers[:4]:
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["result"], ["4"], env)
        self.assertEqual(answers[4][1]["data"]["result"], ["last"], answers[4][1])

        s.sendall(post("call", "gate", "2") + post("sendTransaction", "echo", "w") + post("call", "gate", "2"))
        first, write, second = [env for _, env in self.read_answers(s, 3)]
        self.assertNotEqual(first["errorCode"], 0, first)  # no second gate ran alongside it
        self.assertEqual(write["data"]["result"], ["w"], write)
        self.assertNotEqual(second["errorCode"], 0, second)
        s.close()
        self.assert_alive()

    def test_malformed_json_is_refused(self):
        r = self.router.request("POST", "/resource/payment/test/echo/call", body='{"version":"1","data":{')
        self.assert_error(r, 20203, "not valid JSON")
        r = self.router.request("POST", "/resource/payment/test/echo/call", body="[1,2]")
        self.assert_error(r, 20203, "JSON object")
        self.assert_alive()

    def test_wrong_types_are_refused(self):
        for data, text in [
            ({"method": "echo", "args": [1, 2]}, "array of strings"),
            ({"method": "echo", "args": "a"}, "array of strings"),
            ({"args": []}, "data.method"),
            ({"method": 5}, "data.method"),
            ("call me", "data must be an object"),
            ({"method": "echo", "args": [], "options": []}, "options must be an object"),
            ({"method": "echo", "args": [], "options": {"account": 3}}, "account"),
        ]:
            with self.subTest(data=data):
                r = self.router.request("POST", "/resource/payment/test/echo/call", data)
                self.assert_error(r, 20203, text)
        self.assert_alive()

    def test_version_is_checked_as_wecross_does(self):
        r = self.router.request("POST", "/resource/payment/test/echo/call", call_data("echo"), version=None)
        self.assert_error(r, 20101)
        r = self.router.request("POST", "/resource/payment/test/echo/call", call_data("echo"), version="9")
        self.assert_error(r, 20201)
        for v in ("1", "0.1", "0.2"):
            self.assertEqual(self.router.request("POST", "/resource/payment/test/echo/call", call_data("echo", "x"),
                                                 version=v)[1]["errorCode"], 0)

    def test_unknown_paths(self):
        status, body = self.router.request("GET", "/no/such/route")
        self.assertEqual(status, 404)
        self.assert_error(self.router.request("POST", "/resource/payment/test/nothing/call", call_data("x")), 10001,
                          "Resource not found")
        self.assert_error(self.router.request("POST", "/resource/payment/test/echo/explode", call_data("x")), 10001,
                          "Unsupported method")
        self.assert_error(self.router.request("POST", "/resource/pay%24/test/echo/call", call_data("x")), 20204)
        # The verb is matched case-insensitively, on any HTTP method, as WeCross does.
        self.assertEqual(self.router.request("GET", "/resource/payment/test/echo/CALL", call_data("echo", "a"))[1]
                         ["data"]["result"], ["a"])

    def test_oversized_body_gets_413_and_the_connection_closes(self):
        big = json.dumps({"version": "1", "data": {"method": "echo", "args": ["x" * 10000]}})
        status, env = self.router.request("POST", "/resource/payment/test/echo/call", body=big)
        self.assertEqual(status, 413, env)
        self.assertEqual(env["errorCode"], 20801, env)
        self.assertIn("max_body_bytes", env["message"])
        self.assert_alive()

    def test_not_http_at_all(self):
        s = self.router.connect()
        s.sendall(b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n")
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data)
        s.close()
        self.assert_alive()

    def test_requests_in_one_write_and_in_pieces_are_each_answered_once_in_order(self):
        # The door parses what it has buffered before it reads again, and holds a pipelined request's answer back
        # until no whole request is left: two requests in one write, then a request split inside its header and
        # inside its body, on one keep-alive connection.
        s = self.router.connect()
        s.settimeout(scaled(10))
        body = json.dumps({"version": "1", "data": {"method": "echo", "args": ["piece"]}}).encode()
        post = (b"POST /resource/payment/test/echo/call HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                b"Content-Length: %d\r\n\r\n" % (self.router.token.encode(), len(body))) + body
        s.sendall(b"GET /sys/test HTTP/1.1\r\nHost: x\r\n\r\n" + post)
        for cut in (10, len(post) - 5):
            s.sendall(post[:cut])
            time.sleep(0.05)
            s.sendall(post[cut:])
        answers = self.read_answers(s, 4)
        self.assertTrue(answers[0][0].startswith(b"HTTP/1.1 200 OK\r\n"), answers[0][0])
        self.assertEqual(answers[0][1]["data"], "OK!")
        for head, env in answers[1:]:
            self.assertNotIn(b"Connection: close", head)
            self.assertEqual(env["data"]["result"], ["piece"], env)
        # HTTP/1.0 without keep-alive: answered as 1.0, then closed.
        s.sendall(b"GET /sys/test HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.0 200 OK\r\n"), data)
        self.assertIn(b"Connection: close\r\n", data)
        self.assertTrue(data.endswith(b'"data":"OK!"}'), data)
        s.close()
        # An answer held back for a pipelined request leaves before the refusal of the next one.
        s = self.router.connect()
        s.settimeout(scaled(10))
        s.sendall(b"GET /sys/test HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"POST /sys/test HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        first, _, rest = data.partition(b'"data":"OK!"}')
        self.assertTrue(first.startswith(b"HTTP/1.1 200 OK\r\n"), data)
        self.assertTrue(rest.startswith(b"HTTP/1.1 413 "), data)

    def test_slow_client_times_out_while_others_are_served(self):
        slow = self.router.connect()
        slow.sendall(b"POST /sys/test HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        idle = self.router.connect()  # half-open: connects and never sends
        t0 = time.monotonic()
        self.assert_alive()  # served at once while the slow ones hold their connections
        self.assertLess(time.monotonic() - t0, scaled(0.9))
        slow.settimeout(scaled(10))
        reply = slow.recv(4096)
        self.assertIn(b'"errorCode":20802', reply)
        idle.settimeout(scaled(10))
        self.assertEqual(idle.recv(4096), b"")  # closed by the router
        slow.close()
        idle.close()
        self.assert_alive()

    def test_plugin_errors_become_clear_errors(self):
        r = self.router.request("POST", "/resource/payment/test/echo/call", call_data("fail"))
        self.assert_error(r, 44001, "test chain refused")
        r = self.router.request("POST", "/resource/payment/test/echo/call", call_data("garbage"))
        self.assert_error(r, 41001, "malformed JSON")
        r = self.router.request("POST", "/resource/payment/test/echo/call", call_data("silent"))
        self.assert_error(r, 40200)
        r = self.router.request("POST", "/resource/payment/test/echo/call", call_data("nosuch"))
        self.assert_error(r, 44002)
        # A transaction that reached the chain and failed is envelope 0 with the chain's outcome inside.
        status, env = self.router.request("POST", "/resource/payment/test/echo/sendTransaction", call_data("revert"))
        self.assertEqual(env["errorCode"], 0)
        self.assertEqual(env["data"]["errorCode"], 1)
        self.assertEqual(env["data"]["message"], "reverted by test chain")
        self.assert_alive()

    def test_a_plain_c_adapter_answers_from_the_routers_event_loop(self):
        # "loop X" is answered only from the test chain's io_watch callback on the router's I/O threads: each call
        # queues itself and wakes the loop through a pipe. Many at once, from many clients, each answered once.
        results = {}

        def one(i):
            results[i] = self.router.request("POST", "/resource/payment/test/echo/call", call_data("loop", "x%d" % i))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(24):
            status, env = results[i]
            self.assertEqual(status, 200, env)
            self.assertEqual(env["errorCode"], 0, env)
            self.assertEqual(env["data"]["result"], ["x%d" % i, "loop"], env)
        self.assert_alive()

    def test_unavailable_chains_and_refused_plugins_are_reported(self):
        status = self.router.ok("GET", "/sys/status")
        chains = {c["path"]: c for c in status["chains"]}
        self.assertEqual(chains["payment.ledger1"]["status"], "up")
        self.assertEqual(chains["payment.broken"]["status"], "down")
        self.assertIn("configured to fail", chains["payment.broken"]["reason"])
        self.assertEqual(chains["payment.orphan"]["status"], "down")
        self.assertIn("no loaded adapter serves stub type NoSuchType", chains["payment.orphan"]["reason"])
        refused = {os.path.basename(r["file"]): r["reason"] for r in status["refusedAdapters"]}
        self.assertIn("libbroken_wrong_version.so", refused)
        self.assertIn("libz_broken_duplicate_type.so", refused)
        # The test adapters' types and the real adapters' (whatever else is built), each once; none of the refused.
        stubs = self.router.ok("GET", "/sys/supportedStubs")["stubTypes"]
        self.assertEqual(len(stubs), len(set(stubs)))
        self.assertLessEqual({"LegacyTestChain", "RefChain", "TestChain", "EVM"}, set(stubs))
        self.assertNotIn("NoSuchType", stubs)
        r = self.router.request("GET", "/trans/getBlock?path=payment.broken&blockNumber=0")
        self.assert_error(r, 40100)

    def test_trans_parameters_are_checked(self):
        self.assert_error(self.router.request("GET", "/trans/getTransaction?path=payment.ledger1"), 10002)
        self.assert_error(self.router.request("GET", "/trans/getTransaction?path=payment.ledger1&txHash=zz"), 10002)
        self.assert_error(self.router.request("GET", "/trans/getTransaction?path=payment&txHash=0x00"), 10002)
        self.assert_error(self.router.request("GET", "/trans/getTransaction?path=payment.none&txHash=0x00"), 10001)
        self.assert_error(self.router.request("GET", "/trans/getBlock?path=payment.ledger1&blockNumber=-1"), 50302)
        self.assert_error(self.router.request("GET", "/trans/getBlock?path=payment.ledger1&blockNumber=99999"), 50304)
        self.assert_error(self.router.request("GET", "/trans/getTransaction?path=payment.ledger1&txHash=0x" + "ab" * 32),
                          50304)

    def test_many_clients_at_once(self):
        errors = []

        def worker(i):
            try:
                for _ in range(5):
                    d = self.router.ok("POST", "/resource/payment/test/echo/call", call_data("echo", str(i)))
                    if d["result"] != [str(i)]:
                        errors.append(d)
            except Exception as e:  # collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class BadInputShared(BadInput):
    handoff = "share"


if __name__ == "__main__":
    unittest.main()
