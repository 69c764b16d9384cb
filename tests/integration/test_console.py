"""The `weft` console against a real router: one-shot commands, exit codes, and a scripted session on stdin."""
import os
import pty
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from weftlib import ADMIN, ADMIN_PASSWORD, BIN, Router, scaled

# The console logs in as the test router's admin: --user from WEFT_USER, the password from WEFT_PASSWORD.
LOGIN_ENV = dict(os.environ, WEFT_USER=ADMIN, WEFT_PASSWORD=ADMIN_PASSWORD)


class Console(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = Router().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.router.stop()
        cls.router.cleanup()
        assert code == 0, code

    def weft(self, *args, stdin=None, server=None, env=LOGIN_ENV):
        p = subprocess.run([os.path.join(BIN, "weft"), "--server", server or self.router.address] + list(args),
                           input=stdin, capture_output=True, text=True, timeout=scaled(60), env=env)
        return p.returncode, p.stdout, p.stderr

    def test_login_is_needed_and_checked(self):
        plain = {k: v for k, v in os.environ.items() if k not in ("WEFT_USER", "WEFT_PASSWORD")}
        code, out, err = self.weft("listResources", env=plain)
        self.assertEqual(code, 1)
        self.assertIn("HTTP 401", err)
        # status needs no login, as WeCross's shouldLogin rule says.
        self.assertEqual(self.weft("status", env=plain)[0], 0)
        code, out, err = self.weft("listResources", env=dict(plain, WEFT_USER=ADMIN, WEFT_PASSWORD="wrong-pw"))
        self.assertEqual(code, 1)
        self.assertIn("account or password incorrect", err)
        code, out, err = self.weft("whoami")
        self.assertEqual(code, 0, err)
        self.assertIn("admin (admin)", out)
        # A scripted session logs in with the login command, the password read from WEFT_PASSWORD.
        code, out, err = self.weft(stdin="login %s\nlistResources\nlogout\nlistResources\n" % ADMIN,
                                   env=dict(plain, WEFT_PASSWORD=ADMIN_PASSWORD))
        self.assertIn("logged in as admin", out)
        self.assertIn("payment.ledger1.store", out)
        self.assertIn("logged out admin", out)
        self.assertIn("HTTP 401", err)

    def test_one_shot_commands(self):
        code, out, err = self.weft("listResources")
        self.assertEqual(code, 0, err)
        self.assertIn("payment.ledger1.store", out)
        self.assertIn("payment.ledger1.token", out)
        code, out, err = self.weft("status")
        self.assertEqual(code, 0, err)
        self.assertIn("payment.ledger1", out)
        code, out, err = self.weft("sendTransaction", "payment.ledger1.store", "set", "motto", "all or nothing")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"txHash: 0x[0-9a-f]{64}")
        code, out, err = self.weft("call", "payment.ledger1.store", "get", "motto")
        self.assertEqual(code, 0, err)
        self.assertIn('"all or nothing"', out)
        code, out, err = self.weft("--json", "call", "payment.ledger1.store", "get", "motto")
        self.assertIn('"result":["all or nothing"]', out)

    def test_exit_codes(self):
        code, out, err = self.weft("call", "payment.ledger1.nothing", "get", "x")
        self.assertEqual(code, 1)
        self.assertIn("error 10001", err)
        code, out, err = self.weft("call", "not-a-path", "get")
        self.assertEqual(code, 2)
        code, out, err = self.weft("frobnicate")
        self.assertEqual(code, 2)
        # A chain-level failure exits 1 even though the envelope is 0.
        code, out, err = self.weft("sendTransaction", "--account", "bob", "payment.ledger1.token", "transfer",
                                   "0x" + "00" * 20, "5")
        self.assertEqual(code, 1, out + err)
        self.assertIn("insufficient balance", out + err)
        # Nobody listens on this port: the router is unreachable.
        with socket_on_free_port() as port:
            pass
        code, out, err = self.weft("status", server="127.0.0.1:%d" % port)
        self.assertEqual(code, 3, err)

    def test_scripted_session_on_stdin(self):
        script = "listResources\nsendTransaction payment.ledger1.store set k 'v w'\ncall payment.ledger1.store get k\n" \
                 "call payment.ledger1.none get k\nhelp\nquit\n"
        code, out, err = self.weft(stdin=script)
        self.assertEqual(code, 0, err)
        self.assertIn("payment.ledger1.token", out)
        self.assertIn('"v w"', out)
        self.assertIn("error 10001", err)  # an error does not end the session
        self.assertIn("sendTransaction", out)  # help lists the commands


class InteractiveConsole(unittest.TestCase):
    """The prompt on a real terminal (a pseudo-terminal): tab completion of commands and paths, and history."""

    @classmethod
    def setUpClass(cls):
        cls.router = Router().start()

    @classmethod
    def tearDownClass(cls):
        cls.router.stop()
        cls.router.cleanup()

    def read_until(self, fd, text, timeout=10):
        out = b""
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline and text.encode() not in out:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        self.assertIn(text, out.decode(errors="replace"))
        return out.decode(errors="replace")

    def test_tab_completes_commands_and_paths_and_history_is_kept(self):
        home = tempfile.mkdtemp(prefix="weft-home-")
        master, slave = pty.openpty()
        env = dict(LOGIN_ENV, HOME=home, TERM="xterm")
        p = subprocess.Popen([os.path.join(BIN, "weft"), "--server", self.router.address], stdin=slave, stdout=slave,
                             stderr=slave, env=env, close_fds=True)
        os.close(slave)
        try:
            self.read_until(master, "weft> ")
            os.write(master, b"listRes\t\r")  # completes to listResources, then runs it
            self.read_until(master, "payment.ledger1.token")
            os.write(master, b"sendTransaction payment.ledger1.st\t set tab completed\r")
            self.read_until(master, "txHash:")
            os.write(master, b"call payment.ledger1.st\t get tab\r")
            self.read_until(master, '"completed"')
            os.write(master, b"quit\r")
            self.assertEqual(p.wait(timeout=scaled(10)), 0)
            with open(os.path.join(home, ".weft_history")) as f:
                history = f.read()
            self.assertIn("listResources", history)
            self.assertIn("payment.ledger1.store", history)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
            shutil.rmtree(home, ignore_errors=True)


class ConsoleAccounts(unittest.TestCase):
    """The account commands: a user's chain accounts and its password, from the console."""

    def test_chain_accounts_and_password_from_the_console(self):
        r = Router()
        r.account_add("jill", "jill-pw-1")
        r.start()
        try:
            r.ok("POST", "/auth/admin/accessControlList", {"username": "jill", "allowChainPaths": ["payment"]})
            env = dict(os.environ, WEFT_USER="jill", WEFT_PASSWORD="jill-pw-1")

            def weft(*args, env=env):
                p = subprocess.run([os.path.join(BIN, "weft"), "--server", r.address] + list(args),
                                   capture_output=True, text=True, timeout=scaled(60), env=env)
                return p.returncode, p.stdout, p.stderr

            code, out, err = weft("addChainAccount", "RefChain")
            self.assertEqual(code, 0, err)
            self.assertIn("chain account 1: RefChain secp256k1 (default)", out)
            self.assertEqual(weft("addChainAccount", "RefChain")[0], 0)
            code, out, err = weft("setDefaultAccount", "2")
            self.assertEqual((code, out), (0, "done\n"), err)
            code, out, err = weft("listAccount")
            self.assertEqual(code, 0, err)
            self.assertIn("jill (user), may use: payment", out)
            self.assertRegex(out, r"2\s+RefChain\s+secp256k1\s+true")
            code, out, err = weft("sendTransaction", "payment.ledger1.store", "set", "who", "jill")
            self.assertEqual(code, 0, err)
            code, out, err = weft("removeChainAccount", "9")
            self.assertEqual(code, 1)
            code, out, err = weft("changePassword", env=dict(env, WEFT_NEW_PASSWORD="jill-pw-2"))
            self.assertEqual(code, 0, err)
            self.assertIn("password changed", out)
            self.assertEqual(weft("whoami")[0], 1)  # the old password no longer logs in
            self.assertEqual(weft("whoami", env=dict(env, WEFT_PASSWORD="jill-pw-2"))[0], 0)
        finally:
            r.stop()
            r.cleanup()


class socket_on_free_port:
    """Finds a loopback port with no listener: binds port 0, then releases it."""

    def __enter__(self):
        import socket
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc):
        self.s.close()


if __name__ == "__main__":
    unittest.main()
