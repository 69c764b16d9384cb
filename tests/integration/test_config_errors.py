"""A broken config stops the router before it serves, naming the file, line and column of the fault."""
import os
import subprocess
import tempfile
import unittest

from weftlib import BIN, scaled


def run_router(yaml_text):
    with tempfile.TemporaryDirectory(prefix="weft-conf-") as d:
        path = os.path.join(d, "router.yaml")
        with open(path, "w") as f:
            f.write(yaml_text)
        p = subprocess.run([os.path.join(BIN, "weft-router"), "-c", path], capture_output=True, text=True,
                           timeout=scaled(30))
        return p.returncode, p.stderr


class ConfigErrors(unittest.TestCase):
    def test_unknown_key_names_its_line(self):
        code, err = run_router("router:\n  zone: payment\nrpc:\n  listn: 127.0.0.1:1\n")
        self.assertEqual(code, 2)
        self.assertIn("router.yaml:4:3", err)
        self.assertIn("listen", err)

    def test_bad_value_and_syntax(self):
        code, err = run_router("router:\n  zone: payment\nrpc:\n  threads: two\n")
        self.assertEqual(code, 2)
        self.assertIn("router.yaml:4:", err)
        code, err = run_router("router:\n  zone: [payment\n")
        self.assertEqual(code, 2)
        self.assertIn("router.yaml:", err)

    def test_missing_file(self):
        p = subprocess.run([os.path.join(BIN, "weft-router"), "-c", "/nonexistent/router.yaml"], capture_output=True,
                           text=True, timeout=scaled(30))
        self.assertEqual(p.returncode, 2)
        self.assertIn("router.yaml", p.stderr)


if __name__ == "__main__":
    unittest.main()
