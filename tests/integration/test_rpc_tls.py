"""The RPC door in WeCross's three TLS modes: plain, TLS, and mutual TLS with the client certificate checked,
including the set JDK 17 clients of WeCross need (RSA certificates, TLS 1.2 with AES128-GCM-SHA256)."""
import http.client
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

from weftlib import TEST_PLUGINS, Router, call_data, scaled

TEST_CHAIN = """
  - name: test
    type: TestChain
    default_account: alice
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """An RSA CA, a server certificate for 127.0.0.1, a client certificate it signed, and a client certificate of
    another CA; the commands docs/accounts.md shows."""
    for ca in ("ca", "rogue-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".crt",
                "-days", "2", "-subj", "/CN=" + ca, cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, ca, ext in (("server", "ca", ["-extfile", "server.ext"]), ("client", "ca", []),
                          ("rogue", "rogue-ca", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "2", *ext, cwd=d)


class TlsModes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="weft-pki-")
        make_pki(cls.pki)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.pki, name)

    def router(self, mode, ciphers=None):
        tls = ("  tls:\n    mode: %s\n    certificate: %s\n    private_key: %s\n    ca_certificate: %s\n"
               % (mode, self.path("server.crt"), self.path("server.key"), self.path("ca.crt")))
        if ciphers:
            tls += "    ciphers: %s\n" % ciphers
        # Login is another test's business; over TLS the plain-HTTP helper could not log in anyway.
        return Router(chains=TEST_CHAIN, plugin_dir=TEST_PLUGINS, rpc=tls, auth="  login: false\n").start(login=False)

    def client_context(self, cert=None, tls12_cipher=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(cert + ".crt"), self.path(cert + ".key"))
        if tls12_cipher:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(tls12_cipher)
        return ctx

    def get(self, r, ctx):
        conn = http.client.HTTPSConnection(r.host, r.port, context=ctx, timeout=scaled(10))
        try:
            conn.request("POST", "/resource/payment/test/echo/call",
                         body='{"version":"1","data":{"method":"echo","args":["tls"]}}')
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def test_tls_serves_a_client_without_a_certificate_and_refuses_plain_http(self):
        r = self.router("tls")
        try:
            status, body = self.get(r, self.client_context())
            self.assertEqual(status, 200)
            self.assertIn(b'"result":["tls"]', body)
            # Plain HTTP to a TLS door gets no HTTP answer.
            with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
                r.request("GET", "/sys/test", timeout=5)
            # And the door still serves afterwards.
            self.assertEqual(self.get(r, self.client_context())[0], 200)
        finally:
            self.assertEqual(r.stop(), 0)
            r.cleanup()

    def test_mutual_tls_accepts_the_cas_client_and_refuses_others(self):
        r = self.router("mutual")
        try:
            self.assertEqual(self.get(r, self.client_context("client"))[0], 200)
            for ctx in (self.client_context(), self.client_context("rogue")):
                with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                    self.get(r, ctx)
            self.assertEqual(self.get(r, self.client_context("client"))[0], 200)
        finally:
            self.assertEqual(r.stop(), 0)
            r.cleanup()

    def test_the_set_jdk17_wecross_clients_need(self):
        # RSA certificates, static-RSA key exchange over TLS 1.2, as the sheet measured for WeCross's SDK.
        r = self.router("mutual", ciphers="AES128-GCM-SHA256")
        try:
            ctx = self.client_context("client", tls12_cipher="AES128-GCM-SHA256")
            conn = http.client.HTTPSConnection(r.host, r.port, context=ctx, timeout=scaled(10))
            conn.request("GET", "/sys/test")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(conn.sock.version(), "TLSv1.2")
            self.assertEqual(conn.sock.cipher()[0], "AES128-GCM-SHA256")
            resp.read()
            conn.close()
        finally:
            self.assertEqual(r.stop(), 0)
            r.cleanup()

    def test_listening_beyond_loopback_needs_login_and_tls_or_the_operator_saying_so(self):
        def on_every_address(router):
            # Bound on every address, but only ever reached through loopback.
            with open(router.config) as f:
                text = f.read()
            with open(router.config, "w") as f:
                f.write(text.replace("listen: 127.0.0.1:0\n  ready_file", "listen: 0.0.0.0:0\n  ready_file", 1))
            return router

        plain = on_every_address(Router(chains=TEST_CHAIN, plugin_dir=TEST_PLUGINS))
        try:
            with self.assertRaises(AssertionError) as e:
                plain.start()
            self.assertIn("needs login (auth.login: true) and TLS", str(e.exception))
        finally:
            plain.cleanup()
        trusted = on_every_address(Router(chains=TEST_CHAIN, plugin_dir=TEST_PLUGINS, rpc="  allow_insecure: true\n"))
        try:
            trusted.start(login=False)
            conn = http.client.HTTPConnection("127.0.0.1", trusted.port, timeout=scaled(10))
            conn.request("GET", "/sys/test")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        finally:
            trusted.stop()
            trusted.cleanup()

    def test_a_missing_certificate_file_stops_the_start_with_a_clear_error(self):
        r = Router(chains=TEST_CHAIN, plugin_dir=TEST_PLUGINS, auth="  login: false\n",
                   rpc="  tls:\n    mode: tls\n    certificate: /nonexistent.crt\n    private_key: %s\n"
                   % self.path("server.key"))
        try:
            with self.assertRaises(AssertionError) as e:
                r.start()
            self.assertIn("rpc.tls.certificate /nonexistent.crt does not exist", str(e.exception))
        finally:
            r.cleanup()


if __name__ == "__main__":
    unittest.main()
