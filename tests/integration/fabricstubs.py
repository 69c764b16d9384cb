"""fabriclib's Fabric network with Weft's chaincode stubs installed next to the test chaincode: the XA proxy
(stubs/fabric/weft-xa-proxy.js, chaincode "weftxa"), the HTLC (stubs/fabric/weft-htlc.js, "htlc") and two XA-capable
business chaincodes of the tests (tests/fabric/xa/business.js as "ledger" and "store"), each run as chaincode-as-a-service
by a server of its own, with the endorsement policy AND(Org1.peer, Org2.peer). The XA proxy's coordinator is a user of
one org (Org1's User1 unless told otherwise)."""
import hashlib
import io
import json
import os
import socket
import tarfile

import fabriclib
from fabriclib import CHANNEL, Proc
from weftlib import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(HERE, "..", "..", "stubs", "fabric")
BUSINESS = os.path.join(HERE, "..", "fabric", "xa", "business.js")
POLICY = "AND('Org1MSP.peer','Org2MSP.peer')"


def identity_address(org, cert_file):
    """The adapter's address of an identity: hex SHA-256 of msp.SerializedIdentity{mspid, id_bytes = the PEM}."""
    with open(cert_file, "rb") as f:
        pem = f.read()
    msp = (org + "MSP").encode()

    def field(tag, data):
        n, out = len(data), bytearray([tag])
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                break
        return bytes(out) + data
    return hashlib.sha256(field(0x0A, msp) + field(0x12, pem)).hexdigest()


class StubNetwork(fabriclib.Network):
    # name -> (script, extra environment)
    def chaincodes(self):
        return {
            "weftxa": (os.path.join(STUBS, "weft-xa-proxy.js"),
                       {"WEFT_XA_COORDINATOR": identity_address(self.coordinator_org,
                                                                self.user(self.coordinator_org)[0])}),
            "htlc": (os.path.join(STUBS, "weft-htlc.js"), {}),
            "ledger": (BUSINESS, {"WEFT_TEST_BUSINESS": "ledger", "WEFT_XA_PROXY": "weftxa"}),
            "store": (BUSINESS, {"WEFT_TEST_BUSINESS": "store", "WEFT_XA_PROXY": "weftxa"}),
        }

    def __init__(self, fabric, modules, coordinator_org="Org1"):
        super().__init__(fabric, modules)
        self.coordinator_org = coordinator_org
        self.cc_ports = {}

    def deploy_chaincode(self, name="kv", policy=POLICY):
        super().deploy_chaincode(name, policy)
        for cc, (script, env) in self.chaincodes().items():
            self.deploy_stub(cc, script, env, policy)

    def deploy_stub(self, name, script, extra_env, policy):
        port = fabriclib.free_port()
        self.cc_ports[name] = port
        conn = json.dumps({"address": "127.0.0.1:%d" % port, "dial_timeout": "10s", "tls_required": False}).encode()
        code = io.BytesIO()
        with tarfile.open(fileobj=code, mode="w:gz") as t:
            info = tarfile.TarInfo("connection.json")
            info.size = len(conn)
            t.addfile(info, io.BytesIO(conn))
        meta = json.dumps({"type": "ccaas", "label": name + "_1"}).encode()
        pkg = os.path.join(self.dir, name + ".tar.gz")
        with tarfile.open(pkg, "w:gz") as t:
            for fname, data in (("metadata.json", meta), ("code.tar.gz", code.getvalue())):
                info = tarfile.TarInfo(fname)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        with open(pkg, "rb") as f:
            package_id = "%s_1:%s" % (name, hashlib.sha256(f.read()).hexdigest())
        for org in ("Org1", "Org2"):
            self.run(["peer", "lifecycle", "chaincode", "install", pkg], env=self.admin_env(org), what="install " + name)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "NODE_PATH": self.modules,
               "CHAINCODE_ID": package_id, "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:%d" % port}
        env.update(extra_env)
        proc = self.procs["cc-" + name] = Proc("cc-" + name, ["node", script], env,
                                               os.path.join(self.dir, "cc-%s.log" % name)).start()

        def listening():
            if not proc.running():
                raise AssertionError("chaincode %s exited:\n%s" % (name, proc.tail()))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 30, "chaincode server " + name)
        for org in ("Org1", "Org2"):
            self.run(["peer", "lifecycle", "chaincode", "approveformyorg"] + self.orderer_args(org) +
                     ["--channelID", CHANNEL, "--name", name, "--version", "1", "--package-id", package_id,
                      "--sequence", "1", "--signature-policy", policy, "--waitForEvent"],
                     env=self.admin_env(org), what="approveformyorg " + name)
        peers = []
        for org in ("Org1", "Org2"):
            peers += ["--peerAddresses", "127.0.0.1:%d" % self.peers[org]["port"],
                      "--tlsRootCertFiles", self.peer_tls_ca(org)]
        self.run(["peer", "lifecycle", "chaincode", "commit"] + self.orderer_args("Org1") +
                 ["--channelID", CHANNEL, "--name", name, "--version", "1", "--sequence", "1",
                  "--signature-policy", policy, "--waitForEvent"] + peers, env=self.admin_env("Org1"),
                 what="commit " + name)

    def stub_chain_options(self, service_account="alice"):
        """The adapter's options with the stubs' chaincodes as resources (each endorsed by both peers)."""
        opts = self.chain_options(service_account=service_account)
        both = ["peer0.org1", "peer0.org2"]
        opts["resources"] = [{"name": n, "chaincode": n, "peers": both} for n in ("kv", "weftxa", "htlc", "ledger", "store")]
        return opts
