"""A FISCO BCOS node for tests, in the standard library: a JSON-RPC server whose requests and answers follow FISCO
BCOS's documentation, for 2.x and 3.x, ECDSA and guomi (SM). It decodes each raw transaction it is sent (2.x RLP, 3.x
TARS), checks its hash and its signature (ECDSA by public key recovery, SM2 with the `openssl` command), and keeps the
state of one test contract, a store: set(string), get() and fail() (which reverts with Error("...")).

Backed onto a real EVM node (FiscoNode(..., evm=Anvil)), it executes real contracts instead: every deployment,
transaction and call runs on that anvil, as the sender the node recovered; see FiscoNode's docstring.

Documentation followed (FISCO-BCOS/FISCO-BCOS-DOC, commit 7de7543b):
- 2.x: 2.x/en/docs/api.md, https://fisco-bcos-documentation.readthedocs.io/en/latest/docs/api.html — getBlockNumber,
  call, sendRawTransaction, getTransactionReceipt, getBlockByNumber, getClientVersion; hex-string numbers; the group
  id first; error -40001 for an unknown group; receipt status list (0x0 success, 0x16 RevertInstruction).
- 3.x: 3.x/zh_CN/docs/develop/api.md, https://fisco-bcos-doc.readthedocs.io/zh_CN/latest/docs/develop/api.html —
  getBlockNumber, call, sendTransaction (answers the receipt), getTransactionReceipt, getBlockByNumber; JSON integers,
  gasUsed a decimal string; ["group0", node, ...] params; status 16 for a revert.
Transaction formats: ../shared/protocols/fisco-bcos.md items 1-9, pinned by tests/unit/bcos_codec_test.cpp.
"""
import hashlib
import http.server
import json
import os
import subprocess
import tempfile
import threading
import time

from evmlib import RpcError as EvmRpcError

# ---- Keccak-256 (the original padding; hashlib's sha3_256 is SHA3's) ----

_RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B,
       0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088,
       0x0000000080008009, 0x000000008000000A, 0x000000008000808B, 0x800000000000008B, 0x8000000000008089,
       0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
       0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
_M = (1 << 64) - 1


def _keccak_f(a):
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _M) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                r = _ROT[x][y]
                b[y][(2 * x + 3 * y) % 5] = ((a[x][y] << r) | (a[x][y] >> (64 - r))) & _M if r else a[x][y]
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data):
    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\x00" * ((-len(msg)) % rate)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        a = _keccak_f(a)
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


def sm3(data):
    return hashlib.new("sm3", bytes(data)).digest()


# ---- RLP ----

def rlp_encode(item):
    if isinstance(item, list):
        body = b"".join(rlp_encode(i) for i in item)
        return _rlp_len(len(body), 0xc0) + body
    if len(item) == 1 and item[0] < 0x80:
        return bytes(item)
    return _rlp_len(len(item), 0x80) + bytes(item)


def _rlp_len(n, base):
    if n < 56:
        return bytes([base + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([base + 55 + len(b)]) + b


def rlp_decode(data):
    item, rest = _rlp_item(data)
    if rest:
        raise ValueError("bytes after the RLP item")
    return item


def _rlp_item(d):
    if not d:
        raise ValueError("empty RLP")
    p = d[0]
    if p < 0x80:
        return d[:1], d[1:]
    if p < 0xc0:
        if p <= 0xb7:
            n, off = p - 0x80, 1
        else:
            ln = p - 0xb7
            n, off = int.from_bytes(d[1:1 + ln], "big"), 1 + ln
        if len(d) < off + n:
            raise ValueError("RLP string past the end")
        return d[off:off + n], d[off + n:]
    if p <= 0xf7:
        n, off = p - 0xc0, 1
    else:
        ln = p - 0xf7
        n, off = int.from_bytes(d[1:1 + ln], "big"), 1 + ln
    body, rest = d[off:off + n], d[off + n:]
    if len(body) != n:
        raise ValueError("RLP list past the end")
    items = []
    while body:
        it, body = _rlp_item(body)
        items.append(it)
    return items, rest


# ---- TARS (the subset FISCO BCOS 3.x transactions use) ----

def tars_read(d):
    """Fields of one struct body: {tag: int | bytes | (struct body bytes)}."""
    fields, pos = {}, 0
    while pos < len(d):
        b = d[pos]
        pos += 1
        tag, typ = b >> 4, b & 15
        if tag == 15:
            tag, pos = d[pos], pos + 1
        if typ == 11:
            break
        value, pos = _tars_value(d, pos, typ)
        fields[tag] = value
    return fields


def _tars_value(d, pos, typ):
    widths = {0: 1, 1: 2, 2: 4, 3: 8}
    if typ in widths:
        n = widths[typ]
        return int.from_bytes(d[pos:pos + n], "big", signed=True), pos + n
    if typ == 12:
        return 0, pos
    if typ in (6, 7):
        n = 1 if typ == 6 else 4
        ln = int.from_bytes(d[pos:pos + n], "big")
        return bytes(d[pos + n:pos + n + ln]), pos + n + ln
    if typ == 13:
        pos += 1  # element head: bytes
        lh = d[pos]
        ln, pos = _tars_value(d, pos + 1, lh & 15)
        return bytes(d[pos:pos + ln]), pos + ln
    if typ == 10:
        start = pos
        depth = 0
        # Find the matching end by reading fields.
        while True:
            b = d[pos]
            pos += 1
            t = b & 15
            if (b >> 4) == 15:
                pos += 1
            if t == 11:
                if depth == 0:
                    return ("struct", bytes(d[start:pos - 1])), pos
                depth -= 1
                continue
            if t == 10:
                depth += 1
                continue
            _, pos = _tars_value(d, pos, t)
    raise ValueError("TARS type %d not expected in a transaction" % typ)


# ---- secp256k1 public key recovery ----

_P = 2 ** 256 - 2 ** 32 - 977
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
      0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % _P == 0:
        return None
    if p == q:
        lam = 3 * p[0] * p[0] * pow(2 * p[1], -1, _P) % _P
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P) % _P
    x = (lam * lam - p[0] - q[0]) % _P
    return x, (lam * (p[0] - x) - p[1]) % _P


def _mul(k, p):
    r = None
    while k:
        if k & 1:
            r = _add(r, p)
        p = _add(p, p)
        k >>= 1
    return r


def ecdsa_recover(digest, r, s, recid):
    """The 64-byte public key that signed digest, or None."""
    if not (0 < r < _N and 0 < s < _N) or recid not in (0, 1):
        return None
    y2 = (pow(r, 3, _P) + 7) % _P
    y = pow(y2, (_P + 1) // 4, _P)
    if y * y % _P != y2:
        return None
    if y % 2 != recid:
        y = _P - y
    e = int.from_bytes(digest, "big")
    rinv = pow(r, -1, _N)
    q = _add(_mul(s * rinv % _N, (r, y)), _mul((-e * rinv) % _N, _G))
    if q is None:
        return None
    return q[0].to_bytes(32, "big") + q[1].to_bytes(32, "big")


# ---- SM2 verification with the openssl command ----

_SM2_SPKI = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")


def _der_int(v):
    b = v.to_bytes(33, "big").lstrip(b"\x00")
    if not b or b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b


def sm2_verify(pub64, message, r, s):
    """True when (r, s) is an SM2 signature of e = SM3(Z_A || message) by pub64 with the default ID."""
    with tempfile.TemporaryDirectory(prefix="weft-sm2-") as d:
        key, sig, msg = (os.path.join(d, n) for n in ("pub.der", "sig.der", "msg.bin"))
        with open(key, "wb") as f:
            f.write(_SM2_SPKI + pub64)
        body = _der_int(r) + _der_int(s)
        with open(sig, "wb") as f:
            f.write(b"\x30" + bytes([len(body)]) + body)
        with open(msg, "wb") as f:
            f.write(message)
        p = subprocess.run(["openssl", "dgst", "-sm3", "-verify", key, "-keyform", "DER", "-sigopt",
                            "distid:1234567812345678", "-signature", sig, msg], capture_output=True, text=True)
        return p.returncode == 0 and "Verified OK" in p.stdout


# ---- The store contract's ABI ----

STORE_ABI = [
    {"inputs": [{"name": "v", "type": "string"}], "name": "set", "outputs": [], "stateMutability": "nonpayable",
     "type": "function"},
    {"inputs": [], "name": "get", "outputs": [{"name": "", "type": "string"}], "stateMutability": "view",
     "type": "function"},
    {"inputs": [], "name": "fail", "outputs": [], "stateMutability": "nonpayable", "type": "function"},
    {"anonymous": False, "inputs": [{"indexed": False, "name": "v", "type": "string"}], "name": "Stored",
     "type": "event"},
]


def abi_string(s):
    b = s.encode()
    return (32).to_bytes(32, "big") + len(b).to_bytes(32, "big") + b + b"\x00" * ((-len(b)) % 32)


def abi_read_string(data):
    off = int.from_bytes(data[0:32], "big")
    ln = int.from_bytes(data[off:off + 32], "big")
    return data[off + 32:off + 32 + ln].decode()


class FiscoNode:
    """One FISCO BCOS node of version 2 or 3, ECDSA or SM, holding one store contract at STORE.

    FiscoNode(version=2|3, sm=False, group=None, chain_id=None, evm=None). With evm an evmlib.Anvil the caller has
    started (and stops), the node executes real contracts on it instead of the store: it still checks each raw
    transaction's chain id, group, block limit, hash and signature and recovers its sender, then runs it on anvil as
    that sender (anvil_setBalance once per sender, anvil_impersonateAccount, eth_sendTransaction {from, to, data,
    gas: the transaction's own, at most EVM_GAS}; evm_mine when anvil's automine is off, as with a block_time; the
    output from debug_traceTransaction's callTracer, or for a revert an eth_call at the parent block), and answers the same 2.x/3.x shapes with anvil's results: status 0,
    or 22 (2.x RevertInstruction) / 16 (3.x) on a revert with the revert data in `output`; the return data in
    `output`; contractAddress for a deployment; anvil's logs as `logs` (2.x) / `logEntries` (3.x); anvil's gasUsed.
    Calls are eth_call on anvil (2.x with the request's `from`). Block numbers stay the node's own (one transaction
    per node block, as without evm), so block-limit checks and getBlockByNumber agree with each other; anvil's
    heights are not shown. Transaction hashes are the node's (FISCO BCOS's); evm_hashes maps each one to the
    hash of the anvil transaction that executed it.
    evm= is for ECDSA nodes only: on a guomi chain the adapter encodes SM3 selectors and topics, which contracts
    compiled for Ethereum do not have, so sm=True with evm set is refused.
    """

    STORE = "0x" + "5a" * 20
    EVM_GAS = 15_000_000  # the most gas a transaction gets on anvil (whose default block gas limit is 30M)

    def __init__(self, version=2, sm=False, group=None, chain_id=None, evm=None):
        if evm is not None and sm:
            raise ValueError("FiscoNode(evm=...) needs an ECDSA node (sm=False): on a guomi chain the adapter encodes "
                             "SM3 selectors and event topics, which contracts compiled by solc for Ethereum do not have")
        self.version, self.sm = version, sm
        self.evm = evm
        self.evm_senders = set()  # senders given ether on anvil
        self.evm_hashes = {}      # node transaction hash -> the anvil transaction hash that executed it
        self.group = group if group is not None else (1 if version == 2 else "group0")
        self.chain_id = chain_id if chain_id is not None else (1 if version == 2 else "chain0")
        self.hash = sm3 if sm else keccak256
        self.selector = lambda sig: self.hash(sig.encode())[:4]
        self.lock = threading.Lock()
        self.height = 1
        self.values = {self.STORE: ""}  # every store contract's value, by address; deployments add one
        self.deployed = 0
        self.receipts = {}   # hash -> receipt (JSON), once mined
        self.txs = {}        # hash -> transaction (JSON), as getTransactionByHash / getTransaction give it
        self.pending = {}    # 2.x: hash -> receipt, mined at the next getTransactionReceipt that asks for it
        self.block_times = {}  # backed onto an EVM node: each block's EVM time (ms) when it was made
        self.blocks = {0: [], 1: []}
        self.senders = []    # addresses of every valid transaction's signer
        self.requests = []   # (method, params) of every request
        self.refusals = []   # why a transaction was refused
        self.fault = None    # "malformed", "wrong_id", "http500", "hang", or None
        node = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = json.loads(body)
                fault = node.fault
                if fault == "hang":
                    time.sleep(3)
                    return
                if fault == "http500":
                    self.send_response(500)
                    self.send_header("Content-Length", "5")
                    self.end_headers()
                    self.wfile.write(b"oops\n")
                    return
                if fault == "malformed":
                    out = b'{"jsonrpc":"2.0","id":'
                else:
                    answer = node.answer(req["method"], req.get("params", []))
                    answer["jsonrpc"] = "2.0"
                    answer["id"] = req.get("id") if fault != "wrong_id" else 987654
                    out = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- numbers as each version writes them
    def n(self, v):
        return hex(v) if self.version == 2 else v

    def answer(self, method, params):
        with self.lock:
            self.requests.append((method, params))
            try:
                rest = self.check_group(params)
                return {"result": getattr(self, "rpc_" + method)(rest)}
            except KeyError as e:
                return {"error": {"code": -32601, "message": "Method not found: %s" % e}}
            except RpcError as e:
                return {"error": {"code": e.code, "message": e.message}}

    def check_group(self, params):
        if self.version == 2:
            if not params or params[0] != self.group or not isinstance(params[0], int):
                raise RpcError(-40001, "GroupID does not exist")
            return params[1:]
        if len(params) < 2 or params[0] != self.group or not isinstance(params[1], str):
            raise RpcError(-32005, "group does not exist")
        return params[2:]

    def evm_time(self):
        """The EVM node's latest block time in ms: the chain time its contracts see."""
        return int(self.evm.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16) * 1000

    def block_time(self, number):
        """A block's timestamp (ms). Backed onto an EVM node, a block has the EVM's time when it was made, and the
        head moves on with the EVM's blocks, so the chain's time is the one its contracts compare timelocks with."""
        if self.evm is None:
            return 1700000000000 + number * 1000
        if number == self.height:
            return max(self.block_times.get(number, 0), self.evm_time())
        return self.block_times.get(number, 0)

    def rpc_getBlockNumber(self, rest):
        return self.n(self.height)

    def rpc_getClientVersion(self, rest):
        return {"FISCO-BCOS Version": "2.9.0", "Chain Id": str(self.chain_id)}

    def rpc_getBlockByNumber(self, rest):
        number = int(rest[0], 16) if self.version == 2 else rest[0]
        if number not in self.blocks:
            if self.version == 2:
                raise RpcError(-40004, "BlockNumber does not exist")
            raise RpcError(-32004, "block not found")
        block = {"number": self.n(number), "hash": "0x%064x" % (number + 1),
                 "timestamp": self.n(self.block_time(number)), "sealer": self.n(0),
                 "sealerList": ["11" * 64], "receiptsRoot": "0x" + "00" * 32, "stateRoot": "0x" + "00" * 32,
                 "transactions": list(self.blocks[number])}
        if self.version == 2:
            block.update({"parentHash": "0x%064x" % number, "transactionsRoot": "0x" + "00" * 32,
                          "signatureList": [{"index": "0x0", "signature": "0x" + "22" * 65}]})
        else:
            block.update({"parentInfo": [{"blockHash": "0x%064x" % number, "blockNumber": number - 1}],
                          "txsRoot": "0x" + "00" * 32, "signatureList": [{"sealerIndex": 0, "signature": "0x" + "22" * 65}]})
        return block

    def execute(self, to, data, commit):
        """Runs the store at address `to`: (status, output bytes)."""
        sel, args = data[:4], data[4:]
        if sel == self.selector("get()"):
            return 0, abi_string(self.values[to])
        if sel == self.selector("set(string)"):
            if commit:
                self.values[to] = abi_read_string(args)
            return 0, b""
        if sel == self.selector("fail()"):
            reason = self.selector("Error(string)") + abi_string("the store refuses")
            return (22 if self.version == 2 else 16), reason
        return (22 if self.version == 2 else 16), b""

    def rpc_call(self, rest):
        if self.version == 2:
            obj = rest[0]
            if "from" not in obj:
                raise RpcError(-40006, "Call needs a 'from' field")
            to, data = obj["to"], obj["data"]
        else:
            to, data = rest[0], rest[1]
        if self.evm is not None:
            status, out = self.evm_call(obj["from"] if self.version == 2 else None, to, data)
            return {("currentBlockNumber" if self.version == 2 else "blockNumber"): self.n(self.height),
                    "output": "0x" + out.hex(), "status": self.n(status)}
        if to.lower() not in self.values:
            return {("currentBlockNumber" if self.version == 2 else "blockNumber"): self.n(self.height),
                    "output": "0x", "status": self.n(26 if self.version == 2 else 16)}
        status, out = self.execute(to.lower(), bytes.fromhex(data[2:]), False)
        return {("currentBlockNumber" if self.version == 2 else "blockNumber"): self.n(self.height),
                "output": "0x" + out.hex(), "status": self.n(status)}

    def refuse(self, why):
        self.refusals.append(why)
        raise RpcError(-32602 if self.version == 2 else 10005, why)

    def address_of(self, pub):
        return "0x" + self.hash(pub)[12:].hex()

    def rpc_sendRawTransaction(self, rest):
        raw = bytes.fromhex(rest[0][2:] if rest[0].startswith("0x") else rest[0])
        items = rlp_decode(raw)
        if not isinstance(items, list) or len(items) != 13:
            self.refuse("not a 13-item RLP list")
        num = lambda b: int.from_bytes(b, "big")
        if num(items[7]) != self.chain_id:
            self.refuse("InvalidChainId")
        if num(items[8]) != self.group:
            self.refuse("InvalidGroupId")
        limit = num(items[3])
        if not (self.height < limit <= self.height + 1000):
            self.refuse("BlockLimitCheckFail: %d at height %d" % (limit, self.height))
        digest = self.hash(rlp_encode(items[:10]))
        r, s = num(items[11]), num(items[12])
        if self.sm:
            pub = items[10]
            if len(pub) != 64 or not sm2_verify(pub, digest, r, s):
                self.refuse("InvalidSignature (SM2)")
        else:
            if len(items[10]) != 1 or items[10][0] not in (27, 28):
                self.refuse("v must be 27 or 28")
            pub = ecdsa_recover(digest, r, s, items[10][0] - 27)
            if pub is None:
                self.refuse("InvalidSignature")
        tx_hash = "0x" + self.hash(raw).hex()
        self.include(tx_hash, pub, items[4], items[6], pending=True, nonce=num(items[0]), block_limit=limit,
                     gas=num(items[2]))
        return tx_hash

    def rpc_sendTransaction(self, rest):
        raw = bytes.fromhex(rest[0][2:])
        tx = tars_read(raw)
        kind, body = tx[1]
        d = tars_read(body)
        s = lambda tag: d.get(tag, b"") if isinstance(d.get(tag, b""), bytes) else b""
        version, block_limit = d.get(1, 0), d.get(4, 0)
        if s(2).decode() != self.chain_id or s(3).decode() != self.group:
            self.refuse("chain or group mismatch")
        if not (self.height < block_limit <= self.height + 600):
            self.refuse("BlockLimitCheckFail")
        fields = version.to_bytes(4, "big") + s(2) + s(3) + block_limit.to_bytes(8, "big") + s(5) + s(6) + s(7) + s(8)
        if version >= 1:  # bcos-tars-protocol/impl/TarsHashable.h
            fields += s(9) + s(10) + d.get(11, 0).to_bytes(8, "big") + s(12) + s(13)
        if version >= 2:
            fields += s(14)
        digest = self.hash(fields)
        if tx.get(2) != digest:
            self.refuse("the dataHash is not the hash of the transaction's fields")
        sig = tx.get(3, b"")
        r, ss = int.from_bytes(sig[0:32], "big"), int.from_bytes(sig[32:64], "big")
        if self.sm:
            pub = sig[64:]
            if len(sig) != 128 or not sm2_verify(pub, digest, r, ss):
                self.refuse("InvalidSignature (SM2)")
        else:
            pub = ecdsa_recover(digest, r, ss, sig[64]) if len(sig) == 65 else None
            if pub is None:
                self.refuse("InvalidSignature")
        to = s(6).decode()
        return self.include("0x" + digest.hex(), pub, bytes.fromhex(to) if to else b"", s(7), pending=False,
                            nonce=int(s(5) or b"0"), block_limit=block_limit, gas=d.get(11, 0))

    def include(self, tx_hash, pub, to, data, pending, nonce=0, block_limit=0, gas=0):
        sender = self.address_of(pub)
        self.senders.append(sender)
        to_hex = "0x" + bytes(to).hex() if to else ""
        created = ""
        logs = []
        gas_used = 21000
        if self.evm is not None:
            status, out, created, logs, gas_used = self.evm_send(tx_hash, sender, to_hex, bytes(data), gas)
        elif not to:
            # A deployment: whatever the creation code, a new store (this node runs no EVM).
            self.deployed += 1
            created = "0x" + self.hash(bytes.fromhex(sender[2:]) + self.deployed.to_bytes(8, "big"))[12:].hex()
            self.values[created] = ""
            status, out = 0, b""
        elif to_hex not in self.values:
            status, out = (26 if self.version == 2 else 16), b""
        else:
            status, out = self.execute(to_hex, bytes(data), True)
        self.height += 1
        self.blocks[self.height] = [tx_hash]
        if self.evm is not None:
            self.block_times[self.height] = self.evm_time()
        if self.evm is None and to_hex in self.values and status == 0 and bytes(data[:4]) == self.selector("set(string)"):
            # event Stored(string v): topic 0 is the hash of its signature (SM3 on a guomi chain).
            logs.append({"address": to_hex, "topics": ["0x" + self.hash(b"Stored(string)").hex()],
                         "data": "0x" + abi_string(self.values[to_hex]).hex()})
        self.txs[tx_hash] = {"hash": tx_hash, "from": sender, "to": to_hex, "input": "0x" + bytes(data).hex(),
                             "nonce": hex(nonce) if self.version == 2 else str(nonce),
                             "blockLimit": self.n(block_limit)}
        receipt = {"transactionHash": tx_hash, "blockNumber": self.n(self.height), "from": sender, "to": to_hex,
                   "input": "0x" + bytes(data).hex(), "output": "0x" + out.hex(), "status": self.n(status),
                   "gasUsed": hex(gas_used) if self.version == 2 else str(gas_used)}
        if self.version == 2:
            # 2.x: a deployment's receipt has `to` the zero address and the new contract in contractAddress.
            receipt.update({"blockHash": "0x%064x" % (self.height + 1), "transactionIndex": "0x0", "logs": logs,
                            "contractAddress": created or "0x" + "00" * 20})
            if created:
                receipt["to"] = "0x" + "00" * 20
            self.pending[tx_hash] = receipt
        else:
            receipt.update({"logEntries": logs, "message": "" if status == 0 else "revert", "contractAddress": created,
                            "version": 0})
            self.receipts[tx_hash] = receipt
        return receipt

    # -- execution on the backing EVM node

    def revert_status(self):
        return 22 if self.version == 2 else 16

    def evm_call(self, sender, to, data, block="latest"):
        """eth_call on anvil: (status, output bytes), a revert's status with its revert data."""
        call = {"to": to, "data": data}
        if sender:
            call["from"] = sender
        try:
            return 0, bytes.fromhex(self.evm.rpc("eth_call", call, block)[2:])
        except EvmRpcError as e:
            return self.revert_status(), _revert_data(e.error)

    def evm_send(self, tx_hash, sender, to, data, gas):
        """Runs one verified transaction on anvil as its sender: (status, output, created address, logs, gasUsed)."""
        evm = self.evm
        if sender not in self.evm_senders:
            evm.rpc("anvil_setBalance", sender, hex(10 ** 24))
            self.evm_senders.add(sender)
        evm.rpc("anvil_impersonateAccount", sender)
        tx = {"from": sender, "data": "0x" + data.hex(),
              "gas": hex(min(gas, self.EVM_GAS) if gas else self.EVM_GAS)}
        if to:
            tx["to"] = to
        evm_hash = evm.rpc("eth_sendTransaction", tx)
        if not evm.automine():
            evm.rpc("evm_mine")
        r = evm.receipt(evm_hash)
        self.evm_hashes[tx_hash] = evm_hash
        ok = r["status"] == "0x1"
        out = b""
        try:
            trace = evm.rpc("debug_traceTransaction", evm_hash, {"tracer": "callTracer"})
            out = bytes.fromhex((trace.get("output") or "0x")[2:])
        except EvmRpcError:
            if not ok:  # no tracer: run it again at the parent block for its revert data
                out = self.evm_call(sender, to, tx["data"], hex(int(r["blockNumber"], 16) - 1))[1]
        created = r.get("contractAddress") or "" if ok and not to else ""
        if created:
            out = b""  # FISCO BCOS answers no output for a deployment (the trace's is the runtime code)
        logs = [{"address": l["address"].lower(), "topics": list(l["topics"]), "data": l["data"]} for l in r["logs"]]
        return (0 if ok else self.revert_status()), out, created.lower(), logs, int(r["gasUsed"], 16)

    def rpc_getTransactionByHash(self, rest):  # 2.x
        return self.txs.get(rest[0]) if rest[0] not in self.pending else None

    def rpc_getTransaction(self, rest):  # 3.x
        if rest[0] not in self.txs:
            raise RpcError(-32004, "transaction not found")
        return self.txs[rest[0]]

    def rpc_getTransactionReceipt(self, rest):
        h = rest[0]
        if h in self.pending:
            # 2.x: null until mined; the first poll sees nothing, the next one the receipt.
            self.receipts[h] = self.pending.pop(h)
            return None
        if h in self.receipts:
            return self.receipts[h]
        if self.version == 3:
            raise RpcError(-32004, "transaction receipt not found")
        return None


def _revert_data(error):
    """The revert data in an eth_call error of anvil (`data`, a hex string, or inside an object)."""
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data") or data.get("output")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            pass
    return b""


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def bcos_chain(name, stub_type, url, resources, account="alice", **options):
    """A chains: entry of a FISCO BCOS stub type, for weftlib.Router(chains=...)."""
    opts = {"url": url, "poll_ms": 50}
    opts.update(options)
    opts["resources"] = resources
    return "\n  - name: %s\n    type: %s\n    default_account: %s\n    options: %s\n" % (
        name, stub_type, account, json.dumps(opts))
