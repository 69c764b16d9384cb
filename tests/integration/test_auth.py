"""Login as WeCross's SDK does it, with a client built from the wire-format sheet: wrong credentials, spent and
expired auth codes, tokens revoked or kept across a restart, access lists, admin routes, slowed brute force, the
audit log, and one answer for every kind of bad login."""
import base64
import json
import os
import sqlite3
import subprocess
import time
import unittest

from weftlib import ADMIN, ADMIN_PASSWORD, BIN, REFCHAIN, Router, call_data, client_hash, rsa_encrypt, scaled

WRONG = {"errorCode": 40007, "message": "account or password incorrect"}


class Login(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = Router(chains=REFCHAIN)
        cls.router.account_add("carol", "carol-pw-1")
        cls.router.account_add("ivy", "ivy-pw-1")
        cls.router.start()

    @classmethod
    def tearDownClass(cls):
        code = cls.router.stop()
        cls.router.cleanup()
        assert code == 0, code

    def send_login(self, plaintext_or_cipher, raw=False, source=None):
        r = self.router
        pub = r.ok("GET", "/auth/pub", token=None)["pub"]
        cipher = plaintext_or_cipher if raw else rsa_encrypt(pub, plaintext_or_cipher)
        t0 = time.monotonic()
        status, env = r.request("POST", "/auth/login", cipher, token=None, source=source)
        self.assertEqual((status, env["errorCode"]), (200, 0), env)
        return env["data"], time.monotonic() - t0

    def creds(self, user, password, token=None):
        if token is None:
            token = self.router.ok("GET", "/auth/authCode", token=None)["authCode"]["randomToken"]
        return json.dumps({"username": user, "password": client_hash(password), "randomToken": token})

    def test_login_answers_wecross_shapes_and_the_token_works(self):
        data = self.router.login_answer("carol", "carol-pw-1")
        self.assertEqual(data["errorCode"], 0)
        self.assertTrue(data["credential"].startswith("Bearer "))
        ua = data["universalAccount"]
        self.assertEqual((ua["username"], ua["isAdmin"]), ("carol", False))
        self.assertEqual(sorted(ua.keys()), ["isAdmin", "pubKey", "uaID", "username"])
        me = self.router.ok("POST", "/auth/listAccount", token=data["credential"])
        self.assertEqual(me["username"], "carol")

    def test_every_bad_login_gets_the_same_answer_in_about_the_same_time(self):
        pub = self.router.ok("GET", "/auth/pub", token=None)["pub"]
        key_len = len(base64.b64decode(pub)) > 300 and 384
        def cases():  # made afresh for each try: an auth code inside a payload is single-use
            return {
                "wrong password": (self.creds("ivy", "nope"), False),
                "unknown user": (self.creds("nobody", "carol-pw-1"), False),
                "not JSON": ("this is not json", False),
                "bad ciphertext": (base64.b64encode(os.urandom(key_len)).decode(), True),
                "not base64": ("%%%not base64%%%", True),
                "short block": (base64.b64encode(b"\x00\x02" + os.urandom(40)).decode(), True),
            }
        times = {}
        # Each try from its own loopback address, so each is a first failure with the same brute-force delay. Each
        # case is tried three times and keeps its fastest: a loaded machine can only make a try slower, never faster.
        for attempt in range(3):
            for i, (name, (payload, raw)) in enumerate(cases().items()):
                data, took = self.send_login(payload, raw, source="127.0.%d.%d" % (7 + attempt, 10 + i))
                self.assertEqual(data, WRONG, name)
                times[name] = min(took, times.get(name, took))
        print("bad-login times (s):", {k: round(v, 3) for k, v in times.items()})
        # The same KDF work whatever failed: no case answers in much less time than another.
        self.assertLess(max(times.values()) / min(times.values()), 2.5, times)

    def test_an_auth_code_is_single_use_and_expires(self):
        token = self.router.ok("GET", "/auth/authCode", token=None)["authCode"]["randomToken"]
        first, _ = self.send_login(self.creds("carol", "carol-pw-1", token))
        self.assertEqual(first["errorCode"], 0)
        again, _ = self.send_login(self.creds("carol", "carol-pw-1", token))
        self.assertEqual(again["errorCode"], 40009, again)
        made_up, _ = self.send_login(self.creds("carol", "carol-pw-1", "00" * 32))
        self.assertEqual(made_up["errorCode"], 40009, made_up)

    def test_logout_and_password_change_revoke_tokens(self):
        r = self.router
        r.account_add("dave", "dave-pw-1")
        t1 = r.login("dave", "dave-pw-1")
        t2 = r.login("dave", "dave-pw-1")
        self.assertEqual(r.request("POST", "/auth/logout", token=t1)[1]["data"]["errorCode"], 0)
        self.assertEqual(r.request("POST", "/auth/listAccount", token=t1)[0], 401)
        self.assertEqual(r.request("POST", "/auth/listAccount", token=t2)[0], 200)
        pub = r.ok("GET", "/auth/pub", token=None)["pub"]
        change = json.dumps({"oldPassword": client_hash("dave-pw-1"), "newPassword": client_hash("dave-pw-2")})
        self.assertEqual(r.ok("POST", "/auth/changePassword", rsa_encrypt(pub, change), token=t2)["errorCode"], 0)
        self.assertEqual(r.request("POST", "/auth/listAccount", token=t2)[0], 401)
        self.assertEqual(r.login_answer("dave", "dave-pw-1"), WRONG)
        self.assertEqual(r.login_answer("dave", "dave-pw-2")["errorCode"], 0)

    def test_access_lists_and_admin_routes(self):
        r = self.router
        r.account_add("erin", "erin-pw-1")
        erin = r.login("erin", "erin-pw-1")
        # Nothing is allowed until an admin says so; the resource list shows nothing either.
        env = r.request("POST", "/resource/payment/ledger1/store/call", call_data("get", "k"), token=erin)[1]
        self.assertEqual(env["errorCode"], 30506, env)
        self.assertEqual(r.ok("GET", "/sys/listResources", token=erin)["total"], 0)
        # A user may not use an admin route.
        env = r.request("POST", "/auth/admin/accessControlList",
                        {"username": "erin", "allowChainPaths": ["payment.ledger1.store"]}, token=erin)[1]
        self.assertEqual(env["errorCode"], 30506, env)
        # The admin grants one resource.
        self.assertEqual(r.ok("POST", "/auth/admin/accessControlList",
                              {"username": "erin", "allowChainPaths": ["payment.ledger1.store"]})["errorCode"], 0)
        self.assertEqual(r.ok("POST", "/resource/payment/ledger1/store/call", call_data("get", "k"),
                              token=erin)["errorCode"], 0)
        env = r.request("POST", "/resource/payment/ledger1/token/call", call_data("balanceOf", "0x00"), token=erin)[1]
        self.assertEqual(env["errorCode"], 30506, env)
        self.assertEqual([d["path"] for d in r.ok("GET", "/sys/listResources", token=erin)["resourceDetails"]],
                         ["payment.ledger1.store"])

    def test_requests_without_a_valid_token_get_wecross_401(self):
        for token in (None, "Bearer made-up", "garbage"):
            status, body = self.router.request("GET", "/sys/listResources", token=token)
            self.assertEqual(status, 401, token)
            self.assertTrue(body.startswith("Login check failed, uri: /sys/listResources"), body)
        # The open routes stay open.
        self.assertEqual(self.router.request("GET", "/sys/test", token=None)[0], 200)
        self.assertEqual(self.router.request("GET", "/sys/supportedStubs", token=None)[0], 200)

    def test_brute_force_is_slowed_not_locked_and_audited(self):
        r = self.router
        r.account_add("frank", "frank-pw-1")
        took = []
        for _ in range(4):
            t0 = time.monotonic()
            self.assertEqual(r.login_answer("frank", "guess"), WRONG)
            took.append(time.monotonic() - t0)
        # 100 ms, 200 ms, 400 ms, 800 ms of delay on top of the same work: lower bounds, which a loaded machine can
        # only lengthen.
        for i, delay in enumerate((0.1, 0.2, 0.4, 0.8)):
            self.assertGreaterEqual(took[i], delay, took)
        # Slowed, never locked out: the right password still works.
        self.assertEqual(r.login_answer("frank", "frank-pw-1")["errorCode"], 0)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(r.data_dir, "router.db"), uri=True)
        events = [e for (e,) in db.execute("SELECT event FROM audit WHERE user = 'frank' ORDER BY id")]
        db.close()
        self.assertEqual(events[:5], ["user_created", "login_failed", "login_failed", "login_failed", "login_failed"])
        self.assertEqual(events[-1], "login")


class Register(unittest.TestCase):
    def register(self, r, user, password):
        pub = r.ok("GET", "/auth/pub", token=None)["pub"]
        code = r.ok("GET", "/auth/authCode", token=None)["authCode"]["randomToken"]
        creds = json.dumps({"username": user, "password": client_hash(password), "randomToken": code})
        return r.ok("POST", "/auth/register", rsa_encrypt(pub, creds), token=None)

    def test_registration_is_off_unless_configured(self):
        off = Router(chains=REFCHAIN)
        on = Router(chains=REFCHAIN, auth="  login: true\n  register: true\n")
        try:
            off.start()
            self.assertEqual(self.register(off, "mona", "mona-pw-1")["errorCode"], 40011)
            self.assertEqual(off.login_answer("mona", "mona-pw-1"), WRONG)
            on.start()
            answer = self.register(on, "mona", "mona-pw-1")
            self.assertEqual(answer["errorCode"], 0, answer)
            self.assertEqual(answer["universalAccount"]["isAdmin"], False)
            self.assertEqual(self.register(on, "mona", "other-pw-1")["errorCode"], 40002)
            self.assertEqual(on.login_answer("mona", "mona-pw-1")["errorCode"], 0)
        finally:
            for r in (off, on):
                r.stop()
                r.cleanup()


class Restart(unittest.TestCase):
    def test_a_token_survives_a_restart_and_expires(self):
        r = Router(chains=REFCHAIN, auth="  login: true\n  token_life_s: 60\n")
        try:
            r.start()
            token = r.token
            r.stop()
            r.start()
            self.assertEqual(r.request("GET", "/sys/listResources", token=token)[0], 200)
            # A role change revokes the user's tokens.
            r.account_add("nora", "nora-pw-1")
            nora = r.login("nora", "nora-pw-1")
            r.stop()
            p = subprocess.run([os.path.join(BIN, "weft-router"), "-c", r.config, "account", "role", "nora", "admin"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            r.start()
            self.assertEqual(r.request("GET", "/sys/listResources", token=nora)[0], 401)
            self.assertTrue(r.login_answer("nora", "nora-pw-1")["universalAccount"]["isAdmin"])
            # Expiry: make the token old in the store (as 60 s later), and the next check after the cache refuses it.
            r.stop()
            db = sqlite3.connect(os.path.join(r.data_dir, "router.db"))
            db.execute("UPDATE tokens SET expires_ms = 1")
            db.commit()
            db.close()
            r.start()
            self.assertEqual(r.request("GET", "/sys/listResources", token=token)[0], 401)
        finally:
            r.stop()
            r.cleanup()


def address_of(pub_hex):
    """The reference chain's address of a public key: the last 20 bytes of its SHA-256."""
    return "0x" + __import__("hashlib").sha256(bytes.fromhex(pub_hex)).hexdigest()[24:]


class ChainAccounts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = Router(chains=REFCHAIN)
        for u in ("gina", "hank"):
            cls.router.account_add(u, u + "-pw-1")
        cls.router.start()
        for u in ("gina", "hank"):
            cls.router.ok("POST", "/auth/admin/accessControlList",
                          {"username": u, "allowChainPaths": ["payment.ledger1"]})

    @classmethod
    def tearDownClass(cls):
        code = cls.router.stop()
        cls.router.cleanup()
        assert code == 0, code

    def test_a_user_signs_with_its_own_key_and_no_other(self):
        r = self.router
        gina = r.login("gina", "gina-pw-1")
        # No chain account yet: a user may not fall back to the router's accounts.
        env = r.request("POST", "/resource/payment/ledger1/store/sendTransaction", call_data("set", "g", "1"),
                        token=gina)[1]
        self.assertEqual(env["errorCode"], 40300, env)
        added = r.ok("POST", "/auth/addChainAccount", {"type": "RefChain"}, token=gina)
        self.assertEqual(added["errorCode"], 0, added)
        acct = added["chainAccount"]
        self.assertEqual((acct["keyID"], acct["type"], acct["algorithm"], acct["isDefault"]),
                         (1, "RefChain", "secp256k1", True))
        tx = r.ok("POST", "/resource/payment/ledger1/store/sendTransaction", call_data("set", "g", "1"), token=gina)
        self.assertEqual(tx["errorCode"], 0, tx)
        detail = r.ok("GET", "/trans/getTransaction?path=payment.ledger1&txHash=" + tx["hash"], token=gina)
        self.assertEqual(detail["native"]["from"], address_of(acct["pubKey"]))
        # Naming a router account, or another user's key, is refused.
        for named in ("alice", "7"):
            env = r.request("POST", "/resource/payment/ledger1/store/sendTransaction",
                            call_data("set", "g", "2", account=named), token=gina)[1]
            self.assertEqual(env["errorCode"], 40300, (named, env))
        listed = r.ok("POST", "/auth/listAccount", token=gina)
        self.assertEqual([a["keyID"] for a in listed["chainAccounts"]], [1])
        self.assertNotIn("secKey", json.dumps(listed))

    def test_an_imported_key_signs_and_never_appears_in_plain_text(self):
        r = self.router
        hank = r.login("hank", "hank-pw-1")
        secret = "5a" * 32
        added = r.ok("POST", "/auth/addChainAccount", {"type": "RefChain", "secKey": "0x" + secret}, token=hank)
        self.assertEqual(added["errorCode"], 0, added)
        key2 = r.ok("POST", "/auth/addChainAccount", {"type": "RefChain"}, token=hank)["chainAccount"]
        self.assertFalse(key2["isDefault"])
        # The first stays the default; keyID 2 is chosen by name.
        tx = r.ok("POST", "/resource/payment/ledger1/store/sendTransaction", call_data("set", "h", "1", account="2"),
                  token=hank)
        detail = r.ok("GET", "/trans/getTransaction?path=payment.ledger1&txHash=" + tx["hash"], token=hank)
        self.assertEqual(detail["native"]["from"], address_of(key2["pubKey"]))
        self.assertEqual(r.ok("POST", "/auth/setDefaultAccount", {"keyID": 2}, token=hank)["errorCode"], 0)
        self.assertEqual(r.ok("POST", "/auth/removeChainAccount", {"keyID": 1}, token=hank)["errorCode"], 0)
        self.assertEqual([a["keyID"] for a in r.ok("POST", "/auth/listAccount", token=hank)["chainAccounts"]], [2])
        # Grep everything the router wrote: the store and its log, for the hex and for the raw bytes.
        blobs = b""
        for f in os.listdir(r.data_dir):
            if f.startswith("router.db"):
                with open(os.path.join(r.data_dir, f), "rb") as fh:
                    blobs += fh.read()
        with open(r.log_path, "rb") as fh:
            blobs += fh.read()
        self.assertNotIn(secret.encode(), blobs)
        self.assertNotIn(bytes.fromhex(secret), blobs)

    def test_router_keys_move_into_the_store_and_rotation_keeps_every_key(self):
        r = Router(chains=REFCHAIN)
        # A key file from before the master key: its key must survive the move.
        os.makedirs(os.path.join(r.data_dir, "keys"), mode=0o700)
        plain = os.path.join(r.data_dir, "keys", "bob.key")
        with open(os.open(plain, os.O_CREAT | os.O_WRONLY, 0o600), "w") as f:
            f.write("2b" * 32 + "\n")
        try:
            r.account_add("lee", "lee-pw-1")
            # A key made offline, inside the router's tools: it never leaves them.
            p = subprocess.run([os.path.join(BIN, "weft-router"), "-c", r.config, "account", "genkey", "lee",
                                "GM_BCOS2.0"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("chain account 1 of lee: GM_BCOS2.0 sm2 (default)", p.stdout)
            r.start()
            self.assertFalse(os.path.exists(plain))
            self.assertFalse(os.path.exists(os.path.join(r.data_dir, "keys", "alice.key")))
            addr = {a["name"]: a["address"] for a in r.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]}
            r.ok("POST", "/auth/admin/accessControlList", {"username": "lee", "allowChainPaths": ["payment"]})
            lee = r.login("lee", "lee-pw-1")
            acct = r.ok("POST", "/auth/addChainAccount", {"type": "RefChain"}, token=lee)["chainAccount"]
            r.stop()
            p = subprocess.run([os.path.join(BIN, "weft-router"), "-c", r.config, "key", "rotate"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            r.start()
            # The same router keys (addresses) and the user's key still signs, all under the new master key.
            again = {a["name"]: a["address"] for a in r.ok("GET", "/weft/accounts?path=payment.ledger1")["accounts"]}
            self.assertEqual(again, addr)
            lee = r.login("lee", "lee-pw-1")
            tx = r.ok("POST", "/resource/payment/ledger1/store/sendTransaction", call_data("set", "l", "1"), token=lee)
            detail = r.ok("GET", "/trans/getTransaction?path=payment.ledger1&txHash=" + tx["hash"], token=lee)
            self.assertEqual(detail["native"]["from"], address_of(acct["pubKey"]))
            blobs = b""
            for f in os.listdir(r.data_dir):
                if f.startswith("router.db"):
                    with open(os.path.join(r.data_dir, f), "rb") as fh:
                        blobs += fh.read()
            self.assertNotIn(bytes.fromhex("2b" * 32), blobs)
            self.assertNotIn(b"2b" * 32, blobs)
        finally:
            r.stop()
            r.cleanup()

    def test_a_key_file_with_loose_permissions_is_refused(self):
        r = Router(chains=REFCHAIN)
        try:
            r.start()
            r.stop()
            os.chmod(r.master_key, 0o644)
            with self.assertRaises(AssertionError) as e:
                r.start()
            self.assertIn("chmod 600", str(e.exception))
        finally:
            r.cleanup()


if __name__ == "__main__":
    unittest.main()
