"""A real Hyperledger Fabric network on loopback for the Fabric tests, built from Fabric's own binaries (the directory
WEFT_FABRIC_DIR names, holding bin/ and config/ as Fabric's release archive does): crypto material from cryptogen, an
etcdraft orderer whose channel is joined through the channel participation API, one peer per org (Org1, Org2), mutual
TLS everywhere, and the test chaincode (tests/fabric/chaincode, fabric-shim from npm) run as chaincode-as-a-service.
Org3's material is made too but is not in the channel: its identities are unknown to the network, and its TLS CA is
one the network does not trust. Every process listens on 127.0.0.1 on free ports and is stopped by its pid."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import hashlib
import io
import tempfile
import time
import urllib.error
import urllib.request

from weftlib import free_port, scaled, wait_for, _STARTED

HERE = os.path.dirname(os.path.abspath(__file__))
CHAINCODE_DIR = os.path.join(HERE, "..", "fabric", "chaincode")
CHANNEL = "weftchannel"
DOMAIN = "example.com"


def fabric_dir():
    """The Fabric release directory (with bin/peer), or None with the reason."""
    d = os.environ.get("WEFT_FABRIC_DIR", "")
    if not d:
        return None, ("WEFT_FABRIC_DIR is not set: point it at an unpacked Fabric 2.5 release archive "
                      "(the directory holding bin/peer and config/core.yaml)")
    for cand in [d] + [os.path.join(d, e) for e in (sorted(os.listdir(d)) if os.path.isdir(d) else [])]:
        if os.path.exists(os.path.join(cand, "bin", "peer")) and os.path.exists(os.path.join(cand, "config", "core.yaml")):
            return os.path.abspath(cand), ""
    return None, ("no Fabric release in WEFT_FABRIC_DIR=%s (no bin/peer and config/core.yaml): set WEFT_FABRIC_ARCHIVE "
                  "to Fabric's release archive (hyperledger-fabric-linux-amd64-2.5.x.tar.gz) before ctest" % d)


def chaincode_modules():
    m = os.environ.get("WEFT_FABRIC_CHAINCODE_MODULES", "")
    if m and os.path.exists(os.path.join(m, "fabric-shim")):
        return m, ""
    return None, "WEFT_FABRIC_CHAINCODE_MODULES does not hold fabric-shim (scripts/npm-deps.sh DIR tests/fabric/chaincode)"


def clean_exit(code, log):
    """Whether a process that loaded the Fabric adapter (the router, the probe) ended cleanly: status 0, or the
    sanitizer's failure status where the only complaint is LeakSanitizer's own tracer failing ("Tracer caught
    signal", "LeakSanitizer has encountered a fatal error"): 1, or SIGABRT under ctest, whose sanitizer options set
    abort_on_error=1. GCC 12's LeakSanitizer crashes now and then while it stops gRPC's threads for the check at
    exit; the check then never ran, which is not a finding about the process. A leak report or any AddressSanitizer
    or UndefinedBehaviorSanitizer error still fails."""
    if code in (None, 0):
        return True
    findings = ("ERROR: LeakSanitizer: detected memory leaks", "ERROR: AddressSanitizer", "runtime error:")
    tool_failed = "LeakSanitizer has encountered a fatal error" in log and "Tracer caught signal" in log
    if code in (1, -6) and tool_failed and not any(f in log for f in findings):
        print("note: LeakSanitizer's tracer failed at the router's exit; its leak check did not run")
        return True
    return False


def private_key_hex(pem_file):
    """The 32-byte P-256 scalar of a PEM private key, as hex, read by OpenSSL's command-line tool."""
    out = subprocess.run(["openssl", "pkey", "-in", pem_file, "-text", "-noout"], capture_output=True, text=True,
                         check=True).stdout
    lines, take = [], False
    for line in out.splitlines():
        if line.startswith("priv:"):
            take = True
            continue
        if take:
            if not line.startswith(" "):
                break
            lines.append(line.strip())
    h = "".join(lines).replace(":", "")
    return h[-64:].rjust(64, "0")


def only_file(d):
    return os.path.join(d, sorted(os.listdir(d))[0])


CRYPTO_CONFIG = """
OrdererOrgs:
  - Name: Orderer
    Domain: example.com
    Specs:
      - Hostname: orderer
        SANS: [127.0.0.1, localhost]
PeerOrgs:
  - Name: Org1
    Domain: org1.example.com
    EnableNodeOUs: true
    Template: {Count: 1, SANS: [127.0.0.1, localhost]}
    Users: {Count: 1}
  - Name: Org2
    Domain: org2.example.com
    EnableNodeOUs: true
    Template: {Count: 1, SANS: [127.0.0.1, localhost]}
    Users: {Count: 1}
  - Name: Org3
    Domain: org3.example.com
    EnableNodeOUs: true
    Template: {Count: 1, SANS: [127.0.0.1, localhost]}
    Users: {Count: 1}
"""

CONFIGTX = """
Organizations:
  - &OrdererOrg
    Name: OrdererOrg
    ID: OrdererMSP
    MSPDir: {crypto}/ordererOrganizations/example.com/msp
    Policies:
      Readers: {{Type: Signature, Rule: "OR('OrdererMSP.member')"}}
      Writers: {{Type: Signature, Rule: "OR('OrdererMSP.member')"}}
      Admins: {{Type: Signature, Rule: "OR('OrdererMSP.admin')"}}
    OrdererEndpoints: [127.0.0.1:{orderer_port}]
{orgs}
Capabilities:
  Channel: &ChannelCapabilities {{V2_0: true}}
  Orderer: &OrdererCapabilities {{V2_0: true}}
  Application: &ApplicationCapabilities {{V2_5: true}}
Application: &ApplicationDefaults
  Organizations:
  Policies:
    Readers: {{Type: ImplicitMeta, Rule: "ANY Readers"}}
    Writers: {{Type: ImplicitMeta, Rule: "ANY Writers"}}
    Admins: {{Type: ImplicitMeta, Rule: "MAJORITY Admins"}}
    LifecycleEndorsement: {{Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}}
    Endorsement: {{Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}}
  Capabilities: *ApplicationCapabilities
Orderer: &OrdererDefaults
  OrdererType: etcdraft
  Addresses: [127.0.0.1:{orderer_port}]
  EtcdRaft:
    Consenters:
      - Host: 127.0.0.1
        Port: {orderer_port}
        ClientTLSCert: {otls}/server.crt
        ServerTLSCert: {otls}/server.crt
  BatchTimeout: 250ms
  BatchSize: {{MaxMessageCount: 100, AbsoluteMaxBytes: 99 MB, PreferredMaxBytes: 512 KB}}
  Organizations:
  Policies:
    Readers: {{Type: ImplicitMeta, Rule: "ANY Readers"}}
    Writers: {{Type: ImplicitMeta, Rule: "ANY Writers"}}
    Admins: {{Type: ImplicitMeta, Rule: "MAJORITY Admins"}}
    BlockValidation: {{Type: ImplicitMeta, Rule: "ANY Writers"}}
Channel: &ChannelDefaults
  Policies:
    Readers: {{Type: ImplicitMeta, Rule: "ANY Readers"}}
    Writers: {{Type: ImplicitMeta, Rule: "ANY Writers"}}
    Admins: {{Type: ImplicitMeta, Rule: "MAJORITY Admins"}}
  Capabilities: *ChannelCapabilities
Profiles:
  WeftChannel:
    <<: *ChannelDefaults
    Orderer:
      <<: *OrdererDefaults
      Organizations: [*OrdererOrg]
      Capabilities: *OrdererCapabilities
    Application:
      <<: *ApplicationDefaults
      Organizations: [{org_refs}]
      Capabilities: *ApplicationCapabilities
"""

ORG = """  - &{name}
    Name: {name}MSP
    ID: {name}MSP
    MSPDir: {crypto}/peerOrganizations/{domain}/msp
    Policies:
      Readers: {{Type: Signature, Rule: "OR('{name}MSP.admin', '{name}MSP.peer', '{name}MSP.client')"}}
      Writers: {{Type: Signature, Rule: "OR('{name}MSP.admin', '{name}MSP.client')"}}
      Admins: {{Type: Signature, Rule: "OR('{name}MSP.admin')"}}
      Endorsement: {{Type: Signature, Rule: "OR('{name}MSP.peer')"}}
"""

BUILDER_DETECT = """#!/bin/sh
# chaincode-as-a-service: a package whose metadata.json says type ccaas
grep -q '"type" *: *"ccaas"' "$2/metadata.json"
"""
BUILDER_BUILD = """#!/bin/sh
set -e
cp "$1/connection.json" "$3/connection.json"
"""
BUILDER_RELEASE = """#!/bin/sh
set -e
mkdir -p "$2/chaincode/server"
cp "$1/connection.json" "$2/chaincode/server/connection.json"
"""


class Proc:
    def __init__(self, name, args, env, log):
        self.name, self.args, self.env, self.log_path = name, args, env, log
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        _STARTED.append(self.proc)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=scaled(20))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.proc = None

    def tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


class Network:
    """The whole network; start() builds and starts it (about 10-20 s), stop() ends every process it started."""

    def __init__(self, fabric, modules):
        self.fabric = fabric
        self.bin = os.path.join(fabric, "bin")
        self.modules = modules
        self.dir = tempfile.mkdtemp(prefix="weft-fabric-")
        self.crypto = os.path.join(self.dir, "crypto")
        self.orderer_port, self.admin_port, self.orderer_ops = free_port(), free_port(), free_port()
        self.peers = {}
        for org in ("Org1", "Org2"):
            self.peers[org] = {"port": free_port(), "cc_port": free_port(), "ops": free_port()}
        self.chaincode_port = free_port()
        self.procs = {}
        self.package_id = None

    # ---- paths ----
    def org_dir(self, org):
        return os.path.join(self.crypto, "peerOrganizations", "%s.%s" % (org.lower(), DOMAIN))

    def peer_tls_ca(self, org):
        return os.path.join(self.org_dir(org), "tlsca", "tlsca.%s.%s-cert.pem" % (org.lower(), DOMAIN))

    def orderer_tls_ca(self):
        return os.path.join(self.crypto, "ordererOrganizations", DOMAIN, "tlsca", "tlsca.%s-cert.pem" % DOMAIN)

    def user(self, org, name="User1"):
        """(certificate PEM file, private key file, TLS client cert, TLS client key) of a user of org."""
        base = os.path.join(self.org_dir(org), "users", "%s@%s.%s" % (name, org.lower(), DOMAIN))
        return (only_file(os.path.join(base, "msp", "signcerts")), only_file(os.path.join(base, "msp", "keystore")),
                os.path.join(base, "tls", "client.crt"), os.path.join(base, "tls", "client.key"))

    def admin_env(self, org):
        base = os.path.join(self.org_dir(org), "users", "Admin@%s.%s" % (org.lower(), DOMAIN))
        env = self.base_env()
        env.update({
            "CORE_PEER_LOCALMSPID": "%sMSP" % org,
            "CORE_PEER_MSPCONFIGPATH": os.path.join(base, "msp"),
            "CORE_PEER_ADDRESS": "127.0.0.1:%d" % self.peers[org]["port"],
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_ROOTCERT_FILE": self.peer_tls_ca(org),
            "CORE_PEER_TLS_CLIENTAUTHREQUIRED": "true",
            "CORE_PEER_TLS_CLIENTCERT_FILE": os.path.join(base, "tls", "client.crt"),
            "CORE_PEER_TLS_CLIENTKEY_FILE": os.path.join(base, "tls", "client.key"),
        })
        return env

    def base_env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir,
               "FABRIC_CFG_PATH": os.path.join(self.dir, "config"), "FABRIC_LOGGING_SPEC": "warn"}
        return env

    # What the orderer answers while its Raft cluster has no leader yet (just started, or electing): try again.
    NOT_READY = ("no Raft leader", "SERVICE_UNAVAILABLE")

    def run(self, args, env=None, what=""):
        deadline = time.monotonic() + scaled(30)
        while True:
            p = subprocess.run([os.path.join(self.bin, args[0])] + args[1:], env=env or self.base_env(),
                               capture_output=True, text=True, cwd=self.dir, timeout=scaled(60))
            if p.returncode == 0:
                return p.stdout + p.stderr
            said = p.stdout + p.stderr
            if any(t in said for t in self.NOT_READY) and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise AssertionError("%s failed (%s): %s%s" % (what or args[0], p.returncode, p.stdout[-2000:],
                                                            p.stderr[-3000:]))

    # ---- set-up ----
    def start(self):
        t0 = time.monotonic()
        os.makedirs(os.path.join(self.dir, "config"))
        with open(os.path.join(self.dir, "crypto-config.yaml"), "w") as f:
            f.write(CRYPTO_CONFIG)
        self.run(["cryptogen", "generate", "--config", os.path.join(self.dir, "crypto-config.yaml"),
                  "--output", self.crypto])
        self.write_config()
        self.start_orderer()
        self.start_peer("Org1")
        self.start_peer("Org2")
        self.join_channel()
        self.deploy_chaincode()
        self.setup_seconds = time.monotonic() - t0
        return self

    def write_config(self):
        cfg = os.path.join(self.dir, "config")
        shutil.copy(os.path.join(self.fabric, "config", "orderer.yaml"), cfg)
        builder = os.path.join(self.dir, "ccaas_builder")
        os.makedirs(os.path.join(builder, "bin"))
        for name, text in (("detect", BUILDER_DETECT), ("build", BUILDER_BUILD), ("release", BUILDER_RELEASE)):
            p = os.path.join(builder, "bin", name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)
        with open(os.path.join(self.fabric, "config", "core.yaml")) as f:
            core = f.read()
        assert "/opt/hyperledger/ccaas_builder" in core, "core.yaml has no ccaas external builder entry to point"
        # No Docker: chaincode runs as a service. With vm.endpoint set, the peer registers a Docker health check,
        # and /healthz answers 503 once it runs (an empty CORE_VM_ENDPOINT does not clear it: the peer's config
        # reader ignores empty environment values), so the file itself must leave the endpoint empty.
        docker = "    endpoint: unix:///var/run/docker.sock\n"
        assert docker in core, "core.yaml has no vm.endpoint line to clear"
        with open(os.path.join(cfg, "core.yaml"), "w") as f:
            f.write(core.replace("/opt/hyperledger/ccaas_builder", builder).replace(docker, '    endpoint: ""\n', 1))
        otls = os.path.join(self.crypto, "ordererOrganizations", DOMAIN, "orderers", "orderer." + DOMAIN, "tls")
        orgs = "".join(ORG.format(name=o, domain="%s.%s" % (o.lower(), DOMAIN), crypto=self.crypto)
                       for o in ("Org1", "Org2"))
        with open(os.path.join(cfg, "configtx.yaml"), "w") as f:
            f.write(CONFIGTX.format(crypto=self.crypto, orderer_port=self.orderer_port, otls=otls, orgs=orgs,
                                    org_refs="*Org1, *Org2"))
        self.genesis = os.path.join(self.dir, "genesis.block")
        self.run(["configtxgen", "-profile", "WeftChannel", "-outputBlock", self.genesis, "-channelID", CHANNEL])

    def orderer_env(self):
        base = os.path.join(self.crypto, "ordererOrganizations", DOMAIN, "orderers", "orderer." + DOMAIN)
        tls = os.path.join(base, "tls")
        data = os.path.join(self.dir, "orderer")
        cas = "[%s]" % ",".join([self.orderer_tls_ca()] + [self.peer_tls_ca(o) for o in ("Org1", "Org2")])
        env = self.base_env()
        env.update({
            "ORDERER_GENERAL_LISTENADDRESS": "127.0.0.1",
            "ORDERER_GENERAL_LISTENPORT": str(self.orderer_port),
            "ORDERER_GENERAL_LOCALMSPID": "OrdererMSP",
            "ORDERER_GENERAL_LOCALMSPDIR": os.path.join(base, "msp"),
            "ORDERER_GENERAL_TLS_ENABLED": "true",
            "ORDERER_GENERAL_TLS_PRIVATEKEY": os.path.join(tls, "server.key"),
            "ORDERER_GENERAL_TLS_CERTIFICATE": os.path.join(tls, "server.crt"),
            "ORDERER_GENERAL_TLS_ROOTCAS": "[%s]" % os.path.join(tls, "ca.crt"),
            "ORDERER_GENERAL_TLS_CLIENTAUTHREQUIRED": "true",
            "ORDERER_GENERAL_TLS_CLIENTROOTCAS": cas,
            "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE": os.path.join(tls, "server.crt"),
            "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY": os.path.join(tls, "server.key"),
            "ORDERER_GENERAL_CLUSTER_ROOTCAS": "[%s]" % os.path.join(tls, "ca.crt"),
            "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
            "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
            "ORDERER_ADMIN_LISTENADDRESS": "127.0.0.1:%d" % self.admin_port,
            "ORDERER_ADMIN_TLS_ENABLED": "true",
            "ORDERER_ADMIN_TLS_PRIVATEKEY": os.path.join(tls, "server.key"),
            "ORDERER_ADMIN_TLS_CERTIFICATE": os.path.join(tls, "server.crt"),
            "ORDERER_ADMIN_TLS_ROOTCAS": "[%s]" % os.path.join(tls, "ca.crt"),
            "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED": "true",
            "ORDERER_ADMIN_TLS_CLIENTROOTCAS": "[%s]" % os.path.join(tls, "ca.crt"),
            "ORDERER_FILELEDGER_LOCATION": os.path.join(data, "ledger"),
            "ORDERER_CONSENSUS_WALDIR": os.path.join(data, "wal"),
            "ORDERER_CONSENSUS_SNAPDIR": os.path.join(data, "snap"),
            "ORDERER_OPERATIONS_LISTENADDRESS": "127.0.0.1:%d" % self.orderer_ops,
            "ORDERER_METRICS_PROVIDER": "disabled",
        })
        return env

    def start_orderer(self):
        self.procs["orderer"] = Proc("orderer", [os.path.join(self.bin, "orderer")], self.orderer_env(),
                                     os.path.join(self.dir, "orderer.log")).start()
        self.wait_healthy(self.orderer_ops, self.procs["orderer"])

    def wait_healthy(self, ops_port, proc):
        last = ["no answer yet"]

        def ok():
            if not proc.running():
                raise AssertionError("%s exited:\n%s" % (proc.name, proc.tail()))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % ops_port, timeout=2) as r:
                    return r.status == 200
            except urllib.error.HTTPError as e:  # 503 names the failing checks
                last[0] = "HTTP %d %s" % (e.code, e.read()[:500].decode(errors="replace"))
            except OSError as e:
                last[0] = str(e)
            return False
        try:
            wait_for(ok, 120, proc.name + " health")
        except AssertionError as e:
            raise AssertionError("%s on 127.0.0.1:%d (last: %s); its log ends:\n%s"
                                 % (e, ops_port, last[0], proc.tail())) from None

    def peer_env(self, org):
        p = self.peers[org]
        base = os.path.join(self.org_dir(org), "peers", "peer0.%s.%s" % (org.lower(), DOMAIN))
        tls = os.path.join(base, "tls")
        cas = " ".join([self.orderer_tls_ca()] + [self.peer_tls_ca(o) for o in ("Org1", "Org2")])
        env = self.base_env()
        env.update({
            "CORE_PEER_ID": "peer0.%s" % org.lower(),
            "CORE_PEER_ADDRESS": "127.0.0.1:%d" % p["port"],
            "CORE_PEER_LISTENADDRESS": "127.0.0.1:%d" % p["port"],
            "CORE_PEER_CHAINCODEADDRESS": "127.0.0.1:%d" % p["cc_port"],
            "CORE_PEER_CHAINCODELISTENADDRESS": "127.0.0.1:%d" % p["cc_port"],
            "CORE_PEER_GOSSIP_BOOTSTRAP": "127.0.0.1:%d" % p["port"],
            "CORE_PEER_GOSSIP_EXTERNALENDPOINT": "127.0.0.1:%d" % p["port"],
            "CORE_PEER_LOCALMSPID": "%sMSP" % org,
            "CORE_PEER_MSPCONFIGPATH": os.path.join(base, "msp"),
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_CERT_FILE": os.path.join(tls, "server.crt"),
            "CORE_PEER_TLS_KEY_FILE": os.path.join(tls, "server.key"),
            "CORE_PEER_TLS_ROOTCERT_FILE": os.path.join(tls, "ca.crt"),
            "CORE_PEER_TLS_CLIENTAUTHREQUIRED": "true",
            "CORE_PEER_TLS_CLIENTROOTCAS_FILES": cas,
            "CORE_PEER_FILESYSTEMPATH": os.path.join(self.dir, "peer-" + org.lower()),
            "CORE_OPERATIONS_LISTENADDRESS": "127.0.0.1:%d" % p["ops"],
            "CORE_METRICS_PROVIDER": "disabled",
            "CORE_VM_ENDPOINT": "",
            "CORE_CHAINCODE_EXECUTETIMEOUT": "30s",
        })
        return env

    def start_peer(self, org):
        name = "peer-" + org.lower()
        self.procs[name] = Proc(name, [os.path.join(self.bin, "peer"), "node", "start"], self.peer_env(org),
                                os.path.join(self.dir, name + ".log")).start()
        self.wait_healthy(self.peers[org]["ops"], self.procs[name])

    def stop_peer(self, org, sig=signal.SIGKILL):
        self.procs["peer-" + org.lower()].stop(sig)

    def stop_orderer(self, sig=signal.SIGTERM):
        self.procs["orderer"].stop(sig)

    def join_channel(self):
        otls = os.path.join(self.crypto, "ordererOrganizations", DOMAIN, "orderers", "orderer." + DOMAIN, "tls")
        self.run(["osnadmin", "channel", "join", "--channelID", CHANNEL, "--config-block", self.genesis,
                  "-o", "127.0.0.1:%d" % self.admin_port, "--ca-file", os.path.join(otls, "ca.crt"),
                  "--client-cert", os.path.join(otls, "server.crt"), "--client-key", os.path.join(otls, "server.key")])
        for org in ("Org1", "Org2"):
            self.run(["peer", "channel", "join", "-b", self.genesis], env=self.admin_env(org), what="peer channel join")
        # The peers pull block 0 from the orderer once joined; lifecycle needs it there.
        time.sleep(0.5)

    def orderer_args(self, org):
        base = os.path.join(self.org_dir(org), "users", "Admin@%s.%s" % (org.lower(), DOMAIN), "tls")
        return ["-o", "127.0.0.1:%d" % self.orderer_port, "--tls", "--cafile", self.orderer_tls_ca(),
                "--clientauth", "--certfile", os.path.join(base, "client.crt"),
                "--keyfile", os.path.join(base, "client.key")]

    def deploy_chaincode(self, name="kv", policy="AND('Org1MSP.peer','Org2MSP.peer')"):
        # The chaincode-as-a-service package: metadata.json and code.tar.gz holding connection.json.
        conn = json.dumps({"address": "127.0.0.1:%d" % self.chaincode_port, "dial_timeout": "10s",
                           "tls_required": False}).encode()
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
            self.package_id = "%s_1:%s" % (name, hashlib.sha256(f.read()).hexdigest())
        for org in ("Org1", "Org2"):
            self.run(["peer", "lifecycle", "chaincode", "install", pkg], env=self.admin_env(org), what="install")
        self.start_chaincode()
        for org in ("Org1", "Org2"):
            self.run(["peer", "lifecycle", "chaincode", "approveformyorg"] + self.orderer_args(org) +
                     ["--channelID", CHANNEL, "--name", name, "--version", "1", "--package-id", self.package_id,
                      "--sequence", "1", "--signature-policy", policy, "--waitForEvent"],
                     env=self.admin_env(org), what="approveformyorg")
        peers = []
        for org in ("Org1", "Org2"):
            peers += ["--peerAddresses", "127.0.0.1:%d" % self.peers[org]["port"],
                      "--tlsRootCertFiles", self.peer_tls_ca(org)]
        self.run(["peer", "lifecycle", "chaincode", "commit"] + self.orderer_args("Org1") +
                 ["--channelID", CHANNEL, "--name", name, "--version", "1", "--sequence", "1",
                  "--signature-policy", policy, "--waitForEvent"] + peers, env=self.admin_env("Org1"), what="commit")

    def start_chaincode(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "NODE_PATH": self.modules,
               "CHAINCODE_ID": self.package_id, "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:%d" % self.chaincode_port}
        self.procs["chaincode"] = Proc("chaincode", ["node", os.path.join(CHAINCODE_DIR, "chaincode.js")], env,
                                       os.path.join(self.dir, "chaincode.log")).start()

        def listening():
            if not self.procs["chaincode"].running():
                raise AssertionError("chaincode exited:\n" + self.procs["chaincode"].tail())
            try:
                socket.create_connection(("127.0.0.1", self.chaincode_port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 30, "chaincode server")

    def chain_options(self, service_account="ua:1:1", client_org="Org1"):
        """The Fabric adapter's options for this network (docs/config.md), as a dict."""
        _, _, tls_cert, tls_key = self.user(client_org)
        return {
            "channel": CHANNEL,
            "service_account": service_account,
            "request_timeout_ms": 5000,
            "peers": [{"name": "peer0.%s" % o.lower(), "address": "127.0.0.1:%d" % self.peers[o]["port"],
                       "tls_ca_file": self.peer_tls_ca(o)} for o in ("Org1", "Org2")],
            "orderers": [{"address": "127.0.0.1:%d" % self.orderer_port, "tls_ca_file": self.orderer_tls_ca()}],
            "tls": {"cert_file": tls_cert, "key_file": tls_key},
            "block_interval_ms": 250,
            "resources": [{"name": "kv", "chaincode": "kv", "peers": ["peer0.org1", "peer0.org2"]},
                          {"name": "kv1", "chaincode": "kv", "peers": ["peer0.org1"]},
                          {"name": "kv2", "chaincode": "kv", "peers": ["peer0.org2"]}],
        }

    def example_yaml(self):
        """conf/chains/fabric.yaml's entry, pointed at this network (so the example stays true)."""
        with open(os.path.join(HERE, "..", "..", "conf", "chains", "fabric.yaml")) as f:
            text = f.read()
        _, _, tls_cert, tls_key = self.user("Org1")
        for old, new in (("mychannel", CHANNEL), ("127.0.0.1:7051", "127.0.0.1:%d" % self.peers["Org1"]["port"]),
                         ("127.0.0.1:9051", "127.0.0.1:%d" % self.peers["Org2"]["port"]),
                         ("127.0.0.1:7050", "127.0.0.1:%d" % self.orderer_port),
                         ("/etc/weft/fabric/org1-tlsca.pem", self.peer_tls_ca("Org1")),
                         ("/etc/weft/fabric/org2-tlsca.pem", self.peer_tls_ca("Org2")),
                         ("/etc/weft/fabric/orderer-tlsca.pem", self.orderer_tls_ca()),
                         ("/etc/weft/fabric/client.crt", tls_cert), ("/etc/weft/fabric/client.key", tls_key),
                         ("chaincode: basic", "chaincode: kv")):
            assert old in text, "conf/chains/fabric.yaml no longer has %r" % old
            text = text.replace(old, new)
        return text.split("\nchains:", 1)[1]

    def chain_yaml(self, name="fab", stub_type="Fabric2.0", options=None, **kw):
        """An entry of router.yaml's chains (YAML takes the options as JSON)."""
        return "\n  - name: %s\n    type: %s\n    default_account: alice\n    options: %s\n" % (
            name, stub_type, json.dumps(options or self.chain_options(**kw)))

    def stop(self):
        for p in reversed(list(self.procs.values())):
            p.stop()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
