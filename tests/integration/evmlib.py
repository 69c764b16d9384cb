"""Helpers for the EVM tests: a real anvil node on a free loopback port, JSON-RPC to it, contracts compiled with the
pinned solc and deployed from anvil's first (unlocked) development account. anvil, solc and ethers come from the npm
packages that scripts/npm-deps.sh installs into WEFT_NODE_MODULES."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

from weftlib import free_port, scaled, wait_for, _STARTED

NODE_MODULES = os.environ.get("WEFT_NODE_MODULES", "build/asan/npm/node_modules")
ANVIL = os.path.join(NODE_MODULES, "@foundry-rs", "anvil-linux-amd64", "bin", "anvil")
HERE = os.path.dirname(os.path.abspath(__file__))
EVM_DIR = os.path.join(HERE, "..", "evm")

# anvil's well-known development keys (mnemonic "test test ... junk"); key 0 deploys, the router signs with others.
DEV_KEYS = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]
DEV_ADDRESSES = [
    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
    "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
]
CHAIN_ID = 31337


class RpcError(Exception):
    def __init__(self, error):
        super().__init__(error.get("message"))
        self.error = error


class Anvil:
    """One anvil process on 127.0.0.1. block_time None mines each transaction at once."""

    def __init__(self, block_time=None, port=None):
        self.port = port or free_port()
        self.block_time = block_time
        self.proc = None
        self.url = "http://127.0.0.1:%d" % self.port
        self._id = 0

    def start(self):
        assert os.path.exists(ANVIL), "anvil is not installed at %s: run scripts/npm-deps.sh" % ANVIL
        args = [ANVIL, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(CHAIN_ID), "--silent"]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _STARTED.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("anvil exited with %s" % self.proc.returncode)
            try:
                return self.rpc("eth_chainId") is not None
            except OSError:
                return False
        wait_for(up, 30, "anvil on port %d" % self.port)
        return self

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def rpc(self, method, *params):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=scaled(20)) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise RpcError(answer["error"])
        return answer["result"]

    def receipt(self, tx_hash):
        return wait_for(lambda: self.rpc("eth_getTransactionReceipt", tx_hash), 30, "receipt of " + tx_hash)

    def deploy(self, bytecode, sender=DEV_ADDRESSES[0]):
        tx_hash = self.rpc("eth_sendTransaction", {"from": sender, "data": bytecode, "gas": hex(5_000_000)})
        if self.block_time is None and not self.automine():
            self.rpc("evm_mine")
        r = self.receipt(tx_hash)
        assert r["status"] == "0x1", r
        return r["contractAddress"]

    def automine(self):
        return self.rpc("anvil_getAutomine")

    def nonce(self, address, tag="latest"):
        return int(self.rpc("eth_getTransactionCount", address, tag), 16)

    def height(self):
        return int(self.rpc("eth_blockNumber"), 16)


_COMPILED = {}


def compile_contracts(*names, extra=()):
    """Compiles tests/evm/contracts/NAME.sol (and the files in extra, e.g. what they import) with the pinned solc
    (paris EVM); returns {contract: {abi, bytecode}}."""
    key = tuple(names) + tuple(extra)
    if key not in _COMPILED:
        out = tempfile.mktemp(suffix=".json", prefix="weft-solc-")
        files = [os.path.join(EVM_DIR, "contracts", n + ".sol") for n in names] + list(extra)
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        p = subprocess.run(["node", os.path.join(EVM_DIR, "compile.js"), out] + files, env=env, capture_output=True,
                           text=True, timeout=scaled(180))
        assert p.returncode == 0, p.stderr
        with open(out) as f:
            _COMPILED[key] = json.load(f)
        os.unlink(out)
    return _COMPILED[key]


def write_key(data_dir, account, key_hex):
    """Gives a router account a known key before the router's first start (it seals key files into its store)."""
    keys = os.path.join(data_dir, "keys")
    os.makedirs(keys, mode=0o700, exist_ok=True)
    path = os.path.join(keys, account + ".key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key_hex + "\n")


def evm_chain(name, url, resources, **options):
    """A chains: entry of type EVM, for weftlib.Router(chains=...)."""
    opts = {"url": url, "chain_id": CHAIN_ID, "poll_ms": 100}
    opts.update(options)
    opts["resources"] = resources
    return "\n  - name: %s\n    type: EVM\n    default_account: alice\n    options: %s\n" % (name, json.dumps(opts))
