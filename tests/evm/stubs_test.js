// The Solidity stubs' own tests on a real EVM node: stubs/evm/WeftXAProxy.sol with the XA test contracts
// (tests/evm/contracts/XaLedger.sol, XaStore.sol) and stubs/evm/WeftHTLC.sol with TestToken.sol, compiled with the
// pinned solc (tests/evm/compile.js) and run on anvil from the pinned npm packages (found through NODE_PATH).
// Every refusal is a mined transaction whose revert data is read back from the node and decoded by error name.
// Node, solc, ethers or anvil missing is a failure, never a skip. Usage: node stubs_test.js
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const crypto = require("node:crypto");
const ethers = require("ethers");

const ROOT = path.resolve(__dirname, "..", "..");
const SOURCES = [
  "stubs/evm/WeftXAProxy.sol",
  "stubs/evm/WeftXAResource.sol",
  "stubs/evm/WeftHTLC.sol",
  "tests/evm/contracts/TestToken.sol",
  "tests/evm/contracts/XaLedger.sol",
  "tests/evm/contracts/XaStore.sol",
].map((f) => path.join(ROOT, f));
const GAS = 8_000_000;

// ---------------------------------------------------------------------------------------------------------------
// The node: anvil on a free loopback port, stopped by its pid whatever happens.

let anvil = null;
let url = null;
let rpcId = 0;
let artifacts = null;
let accounts = []; // anvil's unlocked development accounts, checksummed

function stopAnvil() {
  if (anvil && anvil.exitCode === null && anvil.signalCode === null) {
    try {
      process.kill(anvil.pid, "SIGKILL");
    } catch (_) {}
  }
  anvil = null;
}
process.on("exit", stopAnvil);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
  process.on(sig, () => {
    stopAnvil();
    process.exit(1);
  });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function rpc(method, ...params) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const answer = await res.json();
  if (answer.error) throw new Error(method + ": " + JSON.stringify(answer.error));
  return answer.result;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startAnvil() {
  const modules = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
  const bin = modules
    .map((m) => path.join(m, "@foundry-rs", "anvil-linux-amd64", "bin", "anvil"))
    .find((f) => fs.existsSync(f));
  assert.ok(bin, "anvil is not installed under NODE_PATH (" + modules.join(", ") + "): run scripts/npm-deps.sh");
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    url = "http://127.0.0.1:" + port;
    const child = spawn(bin, ["--host", "127.0.0.1", "--port", String(port), "--chain-id", "31337", "--silent"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    anvil = child;
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        await rpc("eth_chainId");
        return;
      } catch (_) {
        await sleep(50);
      }
    }
    stopAnvil();
    if (Date.now() >= deadline) throw new Error("anvil did not answer on port " + port + ": " + stderr);
    // It exited: most likely another process took the port in between; try another one.
  }
  throw new Error("anvil could not be started");
}

// ---------------------------------------------------------------------------------------------------------------
// Contracts: deploy, read, send; a refusal is a mined transaction with status 0 whose revert data the node's call
// tracer gives back.

async function receipt(hash) {
  for (let i = 0; i < 200; i++) {
    const r = await rpc("eth_getTransactionReceipt", hash);
    if (r) return r;
    await sleep(10);
  }
  throw new Error("no receipt for " + hash);
}

async function revertData(hash) {
  const trace = await rpc("debug_traceTransaction", hash, { tracer: "callTracer" });
  return trace.output || "0x";
}

class Deployed {
  constructor(name, address) {
    this.name = name;
    this.address = ethers.getAddress(address);
    this.iface = new ethers.Interface(artifacts[name].abi);
  }
  encode(method, args) {
    return this.iface.encodeFunctionData(method, args);
  }
  async call(method, ...args) {
    const data = await rpc("eth_call", { to: this.address, data: this.encode(method, args) }, "latest");
    const r = this.iface.decodeFunctionResult(method, data).toArray(true);
    return r.length === 1 ? r[0] : r;
  }
  async sendRaw(from, data, gas = GAS) {
    return receipt(await rpc("eth_sendTransaction", { from, to: this.address, data, gas: ethers.toQuantity(gas) }));
  }
  // Sends and expects success; answers the receipt with its logs parsed by this contract's (or iface's) events.
  async send(from, method, args = [], { gas = GAS } = {}) {
    const r = await this.sendRaw(from, this.encode(method, args), gas);
    if (r.status !== "0x1") {
      const data = await revertData(r.transactionHash);
      throw new Error(`${this.name}.${method} reverted: ${describeError(data)}`);
    }
    return r;
  }
  // Sends and expects the named custom error with exactly these arguments; answers the receipt.
  async refused(from, method, args, error, errorArgs, { iface = this.iface, gas = GAS } = {}) {
    const r = await this.sendRaw(from, this.encode(method, args), gas);
    assert.equal(r.status, "0x0", `${this.name}.${method} was expected to fail with ${error}`);
    assert.deepEqual(r.logs, [], "a refused call emits nothing");
    assertError(await revertData(r.transactionHash), iface, error, errorArgs);
    return r;
  }
}

function describeError(data) {
  for (const a of Object.values(artifacts)) {
    try {
      const e = new ethers.Interface(a.abi).parseError(data);
      if (e) return e.name + JSON.stringify(e.args.toArray(true), (_, v) => (typeof v === "bigint" ? v.toString() : v));
    } catch (_) {}
  }
  return data;
}

function assertError(data, iface, name, args) {
  const e = iface.parseError(data);
  assert.ok(e, `revert data ${data} is not an error of the contract (expected ${name})`);
  assert.equal(e.name, name, `expected ${name}, got ${describeError(data)}`);
  assert.deepEqual(e.args.toArray(true), args, `${name}'s arguments`);
}

async function deploy(name, args = [], from = accounts[0]) {
  const a = artifacts[name];
  const data = ethers.concat([a.bytecode, new ethers.Interface(a.abi).encodeDeploy(args)]);
  const r = await receipt(await rpc("eth_sendTransaction", { from, data, gas: ethers.toQuantity(GAS) }));
  if (r.status !== "0x1") throw new Error(`deploying ${name} failed: ${describeError(await revertData(r.transactionHash))}`);
  return new Deployed(name, r.contractAddress);
}

// The events a receipt holds from one contract, parsed: [{name, args}].
function events(r, contract) {
  return r.logs
    .filter((l) => ethers.getAddress(l.address) === contract.address)
    .map((l) => {
      const e = contract.iface.parseLog(l);
      return { name: e.name, args: e.args.toArray(true) };
    });
}

const blockOf = (r) => BigInt(r.blockNumber);
async function latestBlock() {
  return rpc("eth_getBlockByNumber", "latest", false);
}
async function now() {
  return Number(BigInt((await latestBlock()).timestamp));
}
const ascending = (...cs) => cs.map((c) => c.address).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
const keyOf = (id) => ethers.keccak256(ethers.toUtf8Bytes(id));

before(async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "weft-stubs-")), "contracts.json");
  execFileSync(process.execPath, [path.join(__dirname, "compile.js"), out, ...SOURCES], { stdio: ["ignore", "ignore", "inherit"] });
  artifacts = JSON.parse(fs.readFileSync(out, "utf8"));
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  await startAnvil();
  accounts = (await rpc("eth_accounts")).map((a) => ethers.getAddress(a));
  assert.ok(accounts.length >= 6, "anvil's development accounts");
});

after(stopAnvil);

// ---------------------------------------------------------------------------------------------------------------
// XA proxy

test("XA proxy", async (t) => {
  const [deployer, coord, alice, bob, carol, dave] = accounts;
  const proxy = await deploy("WeftXAProxy", [coord]);
  const ledger = await deploy("XaLedger", [proxy.address, alice, 1000]);
  const store = await deploy("XaStore", [proxy.address]);
  const token = await deploy("TestToken", ["not XA-capable", 10]); // a contract without xaCompensation
  const L = ledger.iface;
  const both = ascending(ledger, store);

  const ledgerState = async () => {
    const s = { totalSupply: await ledger.call("totalSupply") };
    for (const a of [alice, bob, carol, dave, deployer, coord]) s[a] = await ledger.call("balanceOf", a);
    return s;
  };
  const storeState = async (keys) => {
    const s = {};
    for (const k of keys) s[k] = [await store.call("has", k), await store.call("get", k)];
    return s;
  };
  const transfer = (to, amount) => ledger.encode("transfer", [to, amount]);
  const set = (k, v) => store.encode("set", [k, v]);

  await t.test("the coordinator is the constructor's account, or the deployer when it is zero", async () => {
    assert.equal(await proxy.call("coordinator"), coord);
    const other = await deploy("WeftXAProxy", [ethers.ZeroAddress], dave);
    assert.equal(await other.call("coordinator"), dave);
    assert.equal(await proxy.call("MAX_STEPS"), 64n);
    assert.equal(await proxy.call("keyOf", "tx-1"), keyOf("tx-1"));
  });

  await t.test("only the coordinator starts, commits and rolls back", async () => {
    for (const who of [deployer, alice]) {
      await proxy.refused(who, "start", ["c1", both], "NotCoordinator", [who, coord]);
      await proxy.refused(who, "commit", ["c1"], "NotCoordinator", [who, coord]);
      await proxy.refused(who, "rollback", ["c1"], "NotCoordinator", [who, coord]);
    }
    assert.equal((await proxy.call("branch", "c1"))[0], 0n, "nothing was started");
    assert.equal(await proxy.call("holderOf", ledger.address), "");
  });

  await t.test("forward writes outside transactions; direct writes to the business contract are refused", async () => {
    const r = await proxy.send(alice, "forward", [ledger.address, transfer(bob, 100)]);
    assert.deepEqual(events(r, ledger), [{ name: "Moved", args: [alice, bob, 100n] }], "the signer is the sender of forward");
    assert.equal(await ledger.call("balanceOf", alice), 900n);
    assert.equal(await ledger.call("balanceOf", bob), 100n);
    await proxy.send(alice, "forward", [store.address, set("a", "1")]);
    assert.equal(await store.call("get", "a"), "1");
    await ledger.refused(alice, "transfer", [bob, 1], "OnlyThroughXAProxy", [alice, proxy.address]);
    await ledger.refused(alice, "undoTransfer", [bob, 1], "OnlyThroughXAProxy", [alice, proxy.address]);
    await store.refused(alice, "set", ["a", "2"], "OnlyThroughXAProxy", [alice, proxy.address]);
    await proxy.refused(alice, "forward", [dave, transfer(bob, 1)], "NoContract", [dave]);
    // The business contract's own refusal comes back unchanged.
    await proxy.refused(carol, "forward", [ledger.address, transfer(bob, 5)], "BalanceTooSmall", [carol, 0n, 5n], { iface: L });
  });

  await t.test("start checks its id and targets", async () => {
    await proxy.refused(coord, "start", ["", both], "BadTransactionId", [""]);
    await proxy.refused(coord, "start", ["x".repeat(129), both], "BadTransactionId", ["x".repeat(129)]);
    await proxy.refused(coord, "start", ["t1", []], "BadTargets", ["no targets"]);
    const down = [...both].reverse();
    await proxy.refused(coord, "start", ["t1", down], "BadTargets", ["targets must be strictly ascending"]);
    await proxy.refused(coord, "start", ["t1", [ledger.address, ledger.address]], "BadTargets", [
      "targets must be strictly ascending",
    ]);
    const eoa = [alice, bob, carol, dave].find((a) => BigInt(a) > BigInt(both[1]));
    if (eoa) await proxy.refused(coord, "start", ["t1", [...both, eoa]], "NoContract", [eoa]);
    const low = [alice, bob, carol, dave].find((a) => BigInt(a) < BigInt(both[0]));
    if (low) await proxy.refused(coord, "start", ["t1", [low, ...both]], "NoContract", [low]);
    assert.ok(eoa || low);
    assert.equal((await proxy.call("branch", "t1"))[0], 0n);
    assert.equal(await proxy.call("lockOf", ledger.address), ethers.ZeroHash);
    // A 128-character id is fine.
    const long = "y".repeat(128);
    await proxy.send(coord, "start", [long, [store.address]]);
    assert.equal(await proxy.call("holderOf", store.address), long);
    await proxy.send(coord, "commit", [long]);
  });

  await t.test("start locks; other ids, forward and outside steps are refused; commit keeps effects", async () => {
    const before = await ledgerState();
    const r = await proxy.send(coord, "start", ["tx-1", [ledger.address]]);
    assert.deepEqual(events(r, proxy), [{ name: "XAStarted", args: [keyOf("tx-1"), "tx-1", [ledger.address]] }]);
    assert.equal(await proxy.call("lockOf", ledger.address), keyOf("tx-1"));
    assert.equal(await proxy.call("holderOf", ledger.address), "tx-1");
    assert.equal(await proxy.call("holderOf", store.address), "");
    assert.deepEqual(await proxy.call("branch", "tx-1"), [1n, [ledger.address], [], blockOf(r), 0n]);

    // The same start again is a no-op; other targets are refused.
    const again = await proxy.send(coord, "start", ["tx-1", [ledger.address]]);
    assert.deepEqual(again.logs, []);
    assert.deepEqual(await proxy.call("branch", "tx-1"), [1n, [ledger.address], [], blockOf(r), 0n]);
    await proxy.refused(coord, "start", ["tx-1", both], "OtherTargets", ["tx-1"]);
    await proxy.refused(coord, "start", ["tx-1", [store.address]], "OtherTargets", ["tx-1"]);

    // Another id on a locked target: refused with the holder, and nothing of it is locked (not even the free store).
    await proxy.refused(coord, "start", ["tx-2", both], "Locked", [ledger.address, "tx-1"]);
    assert.equal(await proxy.call("holderOf", store.address), "");
    assert.equal((await proxy.call("branch", "tx-2"))[0], 0n);

    // Writes outside the transaction are refused while it holds the lock; the unlocked store still takes them.
    await proxy.refused(alice, "forward", [ledger.address, transfer(bob, 1)], "Locked", [ledger.address, "tx-1"]);
    await proxy.send(alice, "forward", [store.address, set("a", "1")]);
    await proxy.refused(alice, "step", ["tx-1", 1, store.address, set("a", "2")], "NotInTransaction", ["tx-1", store.address]);
    await proxy.refused(alice, "step", ["nope", 1, ledger.address, transfer(bob, 1)], "NotProcessing", ["nope", "none"]);

    // A step runs with its sender as the business contract's signer.
    const s = await proxy.send(bob, "step", ["tx-1", 7, ledger.address, transfer(carol, 30)]);
    const result = ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [before[bob] - 30n]);
    assert.deepEqual(events(s, ledger), [{ name: "Moved", args: [bob, carol, 30n] }]);
    assert.deepEqual(events(s, proxy), [
      { name: "XAStep", args: [keyOf("tx-1"), 7n, ledger.address, bob, transfer(carol, 30), result] },
    ]);
    assert.deepEqual(await proxy.call("stepOf", "tx-1", 7), [true, ledger.address, bob, transfer(carol, 30), result]);
    assert.deepEqual(await proxy.call("stepOf", "tx-1", 8), [false, ethers.ZeroAddress, ethers.ZeroAddress, "0x", "0x"]);

    // The same (id, seq) with the same target and data runs nothing and returns the first run's result; with other
    // content it is refused.
    assert.equal(await proxy.call("step", "tx-1", 7, ledger.address, transfer(carol, 30)), result);
    const dup = await proxy.send(bob, "step", ["tx-1", 7, ledger.address, transfer(carol, 30)]);
    assert.deepEqual(dup.logs, [], "no second XAStep, no second move");
    assert.equal(await ledger.call("balanceOf", bob), before[bob] - 30n);
    await proxy.refused(bob, "step", ["tx-1", 7, ledger.address, transfer(carol, 31)], "SeqReused", ["tx-1", 7n]);
    await proxy.refused(bob, "step", ["tx-1", 7, ledger.address, transfer(dave, 30)], "SeqReused", ["tx-1", 7n]);
    await proxy.refused(bob, "step", ["tx-1", 7, store.address, transfer(carol, 30)], "SeqReused", ["tx-1", 7n]);

    // A step the business contract refuses leaves its seq free.
    await proxy.refused(dave, "step", ["tx-1", 8, ledger.address, transfer(bob, 1)], "BalanceTooSmall", [dave, 0n, 1n], {
      iface: L,
    });
    assert.equal((await proxy.call("stepOf", "tx-1", 8))[0], false);
    // Only methods with a declared compensation may be steps.
    const undoSel = L.getFunction("undoTransfer").selector;
    await proxy.refused(alice, "step", ["tx-1", 8, ledger.address, ledger.encode("undoTransfer", [bob, 1])], "NoCompensation", [
      ledger.address,
      undoSel,
    ]);
    await proxy.refused(alice, "step", ["tx-1", 8, ledger.address, "0x"], "NoCompensation", [ledger.address, "0x00000000"]);
    await proxy.refused(alice, "step", ["tx-1", 8, ledger.address, "0xa9059c"], "NoCompensation", [ledger.address, "0x00000000"]);
    await proxy.send(alice, "step", ["tx-1", 8, ledger.address, transfer(dave, 50)]);
    assert.deepEqual((await proxy.call("branch", "tx-1"))[2], [7n, 8n]);

    // Commit: effects stay, locks go, repeating it is a no-op; the id is finished for starts, rollbacks and steps.
    const c = await proxy.send(coord, "commit", ["tx-1"]);
    assert.deepEqual(events(c, proxy), [{ name: "XACommitted", args: [keyOf("tx-1"), "tx-1"] }]);
    assert.deepEqual(await proxy.call("branch", "tx-1"), [2n, [ledger.address], [7n, 8n], blockOf(r), blockOf(c)]);
    assert.equal(await proxy.call("lockOf", ledger.address), ethers.ZeroHash);
    assert.equal(await proxy.call("holderOf", ledger.address), "");
    const c2 = await proxy.send(coord, "commit", ["tx-1"]);
    assert.deepEqual(c2.logs, []);
    assert.deepEqual(await proxy.call("branch", "tx-1"), [2n, [ledger.address], [7n, 8n], blockOf(r), blockOf(c)]);
    const after = await ledgerState();
    assert.deepEqual(after, {
      ...before,
      [alice]: before[alice] - 50n,
      [bob]: before[bob] - 30n,
      [carol]: before[carol] + 30n,
      [dave]: before[dave] + 50n,
    });
    await proxy.refused(coord, "start", ["tx-1", [ledger.address]], "Finished", ["tx-1", "committed"]);
    await proxy.refused(coord, "rollback", ["tx-1"], "Finished", ["tx-1", "committed"]);
    await proxy.refused(alice, "step", ["tx-1", 9, ledger.address, transfer(bob, 1)], "NotProcessing", ["tx-1", "committed"]);
    // A late repeat of a recorded step is still answered as done, and other content under its seq is still refused.
    const late = await proxy.send(bob, "step", ["tx-1", 7, ledger.address, transfer(carol, 30)]);
    assert.deepEqual(late.logs, []);
    await proxy.refused(bob, "step", ["tx-1", 7, ledger.address, transfer(carol, 1)], "SeqReused", ["tx-1", 7n]);
    assert.deepEqual(await ledgerState(), after);
    await proxy.refused(coord, "commit", ["never-started"], "UnknownTransaction", ["never-started"]);
    assert.equal((await proxy.call("branch", "never-started"))[0], 0n, "a refused commit leaves no tombstone");

    // The ledger is free again: forward works and another id can start.
    await proxy.send(alice, "forward", [ledger.address, transfer(bob, 1)]);
    await proxy.send(coord, "start", ["tx-2", both]);
    assert.equal(await proxy.call("holderOf", ledger.address), "tx-2");
    assert.equal(await proxy.call("holderOf", store.address), "tx-2");
    await proxy.send(coord, "commit", ["tx-2"]);
  });

  await t.test("rollback restores the business state exactly, newest step first", async () => {
    await proxy.send(alice, "forward", [store.address, set("a", "1")]);
    await proxy.send(alice, "forward", [store.address, set("k", "kept")]);
    const keys = ["a", "b", "c", "k"];
    const storeBefore = await storeState(keys);
    assert.deepEqual(storeBefore, { a: [true, "1"], b: [false, ""], c: [false, ""], k: [true, "kept"] });
    const ledgerBefore = await ledgerState();
    assert.ok(ledgerBefore[alice] >= 300n);

    const r = await proxy.send(coord, "start", ["rb-1", both]);
    // Several sets of the same key, a key that did not exist (set twice), several transfers, a chain of them
    // (bob passes on what alice gave him), signed by different accounts, with seqs not in their order.
    const plan = [
      [alice, 30, ledger, transfer(bob, 200)],
      [bob, 10, store, set("a", "2")],
      [bob, 20, ledger, transfer(carol, 250)],
      [carol, 5, store, set("b", "new")],
      [alice, 6, store, set("a", "3")],
      [carol, 40, ledger, transfer(dave, 100)],
      [dave, 41, store, set("b", "newer")],
      [alice, 42, ledger, transfer(dave, 7)],
      [dave, 43, ledger, transfer(alice, 3)],
      [dave, 44, store, set("a", "4")],
      [alice, 45, store, set("c", "")],
    ];
    for (const [who, seq, target, data] of plan) await proxy.send(who, "step", ["rb-1", seq, target.address, data]);
    assert.deepEqual(await storeState(keys), { a: [true, "4"], b: [true, "newer"], c: [true, ""], k: [true, "kept"] });
    assert.notDeepEqual(await ledgerState(), ledgerBefore);
    assert.deepEqual(await proxy.call("branch", "rb-1"), [1n, both, plan.map((p) => BigInt(p[1])), blockOf(r), 0n]);
    // Reads are never blocked.
    assert.equal(await store.call("get", "a"), "4");

    const rb = await proxy.send(coord, "rollback", ["rb-1"]);
    assert.deepEqual(await storeState(keys), storeBefore);
    assert.deepEqual(await ledgerState(), ledgerBefore);
    // The compensations ran newest first, each with its step's signer, and XARolledBack came last.
    const moves = events(rb, ledger).map((e) => e.args);
    const undone = plan
      .filter((p) => p[2] === ledger)
      .reverse()
      .map(([who, , , data]) => {
        const [to, amount] = L.decodeFunctionData("transfer", data);
        return [to, who, amount];
      });
    assert.deepEqual(moves, undone);
    assert.deepEqual(events(rb, proxy), [{ name: "XARolledBack", args: [keyOf("rb-1"), "rb-1"] }]);
    assert.deepEqual(await proxy.call("branch", "rb-1"), [3n, both, plan.map((p) => BigInt(p[1])), blockOf(r), blockOf(rb)]);
    assert.equal(await proxy.call("holderOf", ledger.address), "");
    assert.equal(await proxy.call("holderOf", store.address), "");

    // Repeating it is a no-op; the id is finished for everything else.
    const rb2 = await proxy.send(coord, "rollback", ["rb-1"]);
    assert.deepEqual(rb2.logs, []);
    assert.deepEqual(await storeState(keys), storeBefore);
    assert.deepEqual(await ledgerState(), ledgerBefore);
    await proxy.refused(coord, "commit", ["rb-1"], "Finished", ["rb-1", "rolledback"]);
    await proxy.refused(coord, "start", ["rb-1", both], "Finished", ["rb-1", "rolledback"]);
    await proxy.refused(alice, "step", ["rb-1", 99, ledger.address, transfer(bob, 1)], "NotProcessing", ["rb-1", "rolledback"]);
    const late = await proxy.send(alice, "step", ["rb-1", 30, ledger.address, transfer(bob, 200)]);
    assert.deepEqual(late.logs, [], "a late repeat of a rolled-back step does not run again");
    assert.deepEqual(await ledgerState(), ledgerBefore);
    // Free again.
    await proxy.send(alice, "forward", [store.address, set("a", "after")]);
    assert.equal(await store.call("get", "a"), "after");
  });

  await t.test("startStep: the coordinator's start ticket starts the branch in the step's own transaction", async () => {
    const chainId = BigInt(await rpc("eth_chainId"));
    // anvil's development accounts come from this well-known mnemonic, in order.
    const wallet = (i) =>
      ethers.HDNodeWallet.fromPhrase("test test test test test test test test test test test junk", undefined,
                                     `m/44'/60'/0'/0/${i}`);
    assert.equal(wallet(1).address, coord);
    const digest = (id, targets, chain = chainId) =>
      ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(
        ["string", "uint256", "address", "string", "address[]"], ["weft-xa-start", chain, proxy.address, id, targets]));
    const ticket = (signer, id, targets, chain = chainId) =>
      ethers.Signature.from(signer.signingKey.sign(digest(id, targets, chain))).serialized;
    const one = [store.address];
    // Another key's ticket, another chain's, a malformed one: refused, naming the signer recovered; nothing starts.
    await proxy.refused(alice, "startStep", ["s1", one, ticket(wallet(2), "s1", one), 1, store.address, set("k", "v")],
                        "NotCoordinator", [wallet(2).address, coord]);
    const elsewhere = ticket(wallet(1), "s1", one, chainId + 1n);
    await proxy.refused(alice, "startStep", ["s1", one, elsewhere, 1, store.address, set("k", "v")], "NotCoordinator",
                        [ethers.recoverAddress(digest("s1", one), elsewhere), coord]);
    await proxy.refused(alice, "startStep", ["s1", one, "0x" + "11".repeat(64), 1, store.address, set("k", "v")],
                        "NotCoordinator", [ethers.ZeroAddress, coord]);
    // A step outside the ticket's targets fails, and its start with it.
    await proxy.refused(alice, "startStep", ["s1", one, ticket(wallet(1), "s1", one), 1, ledger.address, transfer(bob, 1)],
                        "NotInTransaction", ["s1", ledger.address]);
    assert.equal((await proxy.call("branch", "s1"))[0], 0n, "nothing was started");
    assert.equal(await proxy.call("holderOf", store.address), "");
    // The coordinator's ticket: locked, and the step ran as its sender.
    const ok = ticket(wallet(1), "s1", one);
    const r = await proxy.send(alice, "startStep", ["s1", one, ok, 1, store.address, set("k", "v")]);
    assert.deepEqual(events(r, proxy).map((e) => e.name), ["XAStarted", "XAStep"]);
    assert.equal(await proxy.call("holderOf", store.address), "s1");
    assert.equal(await store.call("get", "k"), "v");
    assert.equal((await proxy.call("stepOf", "s1", 1))[2], alice);
    // The ticket again with the next step: the start is a repeat.
    await proxy.send(bob, "startStep", ["s1", one, ok, 2, store.address, set("k", "w")]);
    assert.equal(await store.call("get", "k"), "w");
    await proxy.send(coord, "commit", ["s1"]);
    assert.equal(await proxy.call("holderOf", store.address), "");
    // A finished id never starts again.
    await proxy.refused(alice, "startStep", ["s1", one, ok, 3, store.address, set("k", "x")], "Finished", ["s1", "committed"]);
  });

  await t.test("rollback of an unknown id leaves a tombstone", async () => {
    const rb = await proxy.send(coord, "rollback", ["ghost"]);
    assert.deepEqual(events(rb, proxy), [{ name: "XARolledBack", args: [keyOf("ghost"), "ghost"] }]);
    assert.deepEqual(await proxy.call("branch", "ghost"), [3n, [], [], 0n, blockOf(rb)]);
    const rb2 = await proxy.send(coord, "rollback", ["ghost"]);
    assert.deepEqual(rb2.logs, []);
    await proxy.refused(coord, "start", ["ghost", both], "Finished", ["ghost", "rolledback"]);
    await proxy.refused(coord, "commit", ["ghost"], "Finished", ["ghost", "rolledback"]);
    await proxy.refused(alice, "step", ["ghost", 1, ledger.address, transfer(bob, 1)], "NotProcessing", ["ghost", "rolledback"]);
    assert.equal(await proxy.call("holderOf", ledger.address), "");
    assert.equal(await proxy.call("holderOf", store.address), "");
  });

  await t.test("a target without xaCompensation is not XA-capable", async () => {
    const targets = ascending(token, store);
    await proxy.send(coord, "start", ["nx", targets]);
    const data = token.encode("transfer", [bob, 1]);
    await proxy.refused(deployer, "step", ["nx", 1, token.address, data], "NotXACapable", [token.address]);
    await proxy.refused(deployer, "forward", [token.address, data], "Locked", [token.address, "nx"]);
    await proxy.send(coord, "rollback", ["nx"]);
    assert.equal(await token.call("balanceOf", deployer), 10n);
  });

  await t.test("a branch takes at most MAX_STEPS steps, and rolls them all back", async () => {
    const before = await ledgerState();
    await proxy.send(coord, "start", ["many", [ledger.address]]);
    for (let seq = 0; seq < 64; seq++) await proxy.send(alice, "step", ["many", seq, ledger.address, transfer(bob, 1)]);
    await proxy.refused(alice, "step", ["many", 64, ledger.address, transfer(bob, 1)], "TooManySteps", ["many"]);
    // A repeat of a recorded step is still answered.
    const dup = await proxy.send(alice, "step", ["many", 63, ledger.address, transfer(bob, 1)]);
    assert.deepEqual(dup.logs, []);
    assert.equal(await ledger.call("balanceOf", bob), before[bob] + 64n);
    const rb = await proxy.send(coord, "rollback", ["many"], { gas: 25_000_000 });
    assert.equal(events(rb, ledger).length, 64);
    assert.deepEqual(await ledgerState(), before);
  });

  await t.test("compensations cannot be forwarded outside a rollback", async () => {
    const before = await ledgerState();
    assert.ok(before[bob] > 0n);
    // Were undoTransfer forwardable, carol could pull bob's balance to herself.
    await proxy.refused(carol, "forward", [ledger.address, ledger.encode("undoTransfer", [bob, before[bob]])], "OnlyInXARollback", [carol], {
      iface: L,
    });
    await proxy.send(alice, "forward", [store.address, set("z", "stays")]);
    await proxy.refused(carol, "forward", [store.address, store.encode("undoSet", ["z", ""])], "OnlyInXARollback", [carol], {
      iface: store.iface,
    });
    assert.deepEqual(await ledgerState(), before);
    assert.deepEqual(await storeState(["z"]), { z: [true, "stays"] });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// HTLC

test("HTLC", async (t) => {
  const [deployer, alice, bob, carol, relayer] = accounts;
  const SUPPLY = 1_000_000n;
  const token = await deploy("TestToken", ["Weft test token", SUPPLY]);
  const htlc = await deploy("WeftHTLC", [token.address]);
  const H = htlc.iface;
  for (const who of [alice, bob]) await token.send(deployer, "transfer", [who, 10_000n]);
  const holders = [deployer, alice, bob, carol, relayer, htlc.address];
  const balances = async () => {
    const b = {};
    for (const h of holders) b[h] = await token.call("balanceOf", h);
    return b;
  };
  const made = []; // every (sender, id) locked here
  const newId = () => ethers.hexlify(crypto.randomBytes(32));
  const newSecret = () => {
    const secret = ethers.hexlify(crypto.randomBytes(32));
    return { secret, hash: ethers.sha256(secret) };
  };
  const approveAndLock = async (sender, id, receiver, amount, hash, timelock) => {
    await token.send(sender, "approve", [htlc.address, amount]);
    const r = await htlc.send(sender, "lock", [id, receiver, amount, hash, timelock]);
    made.push([sender, id]);
    return r;
  };
  const setNextTime = (seconds) => rpc("evm_setNextBlockTimestamp", seconds);

  await t.test("the asset must be a contract", async () => {
    const data = ethers.concat([artifacts.WeftHTLC.bytecode, H.encodeDeploy([alice])]);
    const r = await receipt(await rpc("eth_sendTransaction", { from: deployer, data, gas: ethers.toQuantity(GAS) }));
    assert.equal(r.status, "0x0");
    assertError(await revertData(r.transactionHash), H, "BadArguments", ["the asset is not a contract"]);
    assert.equal(await htlc.call("asset"), token.address);
  });

  await t.test("lock escrows, claim pays the receiver and publishes the secret", async () => {
    const id = newId();
    const { secret, hash } = newSecret();
    const t0 = await now();
    const timelock = BigInt(t0 + 3600) * 1000n;
    const before = await balances();
    assert.deepEqual(await htlc.call("status", alice, id), [ethers.ZeroAddress, 0n, ethers.ZeroHash, 0n, 0n, ethers.ZeroHash, 0n, 0n]);

    const r = await approveAndLock(alice, id, bob, 250n, hash, timelock);
    assert.deepEqual(events(r, htlc), [{ name: "Locked", args: [alice, id, bob, 250n, hash, timelock] }]);
    assert.deepEqual(events(r, token), [{ name: "Transfer", args: [alice, htlc.address, 250n] }]);
    const locked = await balances();
    assert.deepEqual(locked, { ...before, [alice]: before[alice] - 250n, [htlc.address]: before[htlc.address] + 250n });
    assert.equal(await token.call("allowance", alice, htlc.address), 0n);
    assert.deepEqual(await htlc.call("status", alice, id), [bob, 250n, hash, timelock, 1n, ethers.ZeroHash, blockOf(r), 0n]);

    // Wrong secret: refused, nothing moves. Anyone may claim; the receiver is paid.
    await htlc.refused(relayer, "claim", [alice, id, newSecret().secret], "WrongSecret", [alice, id]);
    await htlc.refused(relayer, "claim", [alice, id, hash], "WrongSecret", [alice, id]);
    assert.deepEqual(await balances(), locked);
    const c = await htlc.send(relayer, "claim", [alice, id, secret]);
    assert.deepEqual(events(c, htlc), [{ name: "Claimed", args: [alice, id, bob, 250n, secret] }]);
    assert.deepEqual(events(c, token), [{ name: "Transfer", args: [htlc.address, bob, 250n] }]);
    assert.deepEqual(await balances(), { ...locked, [bob]: locked[bob] + 250n, [htlc.address]: locked[htlc.address] - 250n });
    assert.deepEqual(await htlc.call("status", alice, id), [bob, 250n, hash, timelock, 2n, secret, blockOf(r), blockOf(c)]);

    // Finished: claim and refund are NotLocked (state 2), a new lock of the key is a Duplicate.
    const done = await balances();
    await htlc.refused(relayer, "claim", [alice, id, secret], "NotLocked", [alice, id, 2n]);
    await htlc.refused(alice, "refund", [alice, id], "NotLocked", [alice, id, 2n]);
    await token.send(alice, "approve", [htlc.address, 10n]);
    await htlc.refused(alice, "lock", [id, bob, 10n, hash, timelock], "Duplicate", [alice, id]);
    assert.deepEqual(await balances(), done);
  });

  await t.test("two senders may use the same id", async () => {
    const id = newId();
    const a = newSecret();
    const b = newSecret();
    const timelock = BigInt((await now()) + 3600) * 1000n;
    await approveAndLock(alice, id, carol, 11n, a.hash, timelock);
    const rb = await approveAndLock(bob, id, carol, 22n, b.hash, timelock + 1n);
    assert.deepEqual(await htlc.call("status", bob, id), [carol, 22n, b.hash, timelock + 1n, 1n, ethers.ZeroHash, blockOf(rb), 0n]);
    // bob's secret does not open alice's lock; each claim pays its own amount.
    await htlc.refused(relayer, "claim", [alice, id, b.secret], "WrongSecret", [alice, id]);
    const before = await balances();
    await htlc.send(relayer, "claim", [bob, id, b.secret]);
    assert.equal((await htlc.call("status", alice, id))[4], 1n, "alice's lock is untouched");
    assert.equal(await token.call("balanceOf", carol), before[carol] + 22n);
    await htlc.send(relayer, "claim", [alice, id, a.secret]);
    assert.equal(await token.call("balanceOf", carol), before[carol] + 33n);
    // Nobody can occupy another sender's key: carol's lock with the same id is her own.
    await approveAndLock(carol, id, alice, 33n, a.hash, timelock);
    assert.equal((await htlc.call("status", carol, id))[1], 33n);
    await htlc.send(relayer, "claim", [carol, id, a.secret]);
  });

  await t.test("lock's arguments, duplicate, time and balance, in that order", async () => {
    const id = newId();
    const { hash } = newSecret();
    const t0 = (await now()) + 10;
    const later = BigInt(t0 + 3600) * 1000n;
    const before = await balances();
    await token.send(alice, "approve", [htlc.address, 1_000_000n]);
    await htlc.refused(alice, "lock", [id, bob, 0n, hash, later], "BadArguments", ["amount must be 1 to 2^64-1"]);
    await htlc.refused(alice, "lock", [id, bob, 1n << 64n, hash, later], "BadArguments", ["amount must be 1 to 2^64-1"]);
    await htlc.refused(alice, "lock", [id, ethers.ZeroAddress, 5n, hash, later], "BadArguments", ["no receiver"]);
    // Time: the timelock must be after the including block's time, in ms (so exactly that ms is too late).
    await setNextTime(t0);
    await htlc.refused(alice, "lock", [id, bob, 5n, hash, BigInt(t0) * 1000n], "Expired", [alice, id, BigInt(t0) * 1000n, BigInt(t0) * 1000n]);
    await setNextTime(t0 + 1);
    await htlc.refused(alice, "lock", [id, bob, 5n, hash, 1n], "Expired", [alice, id, 1n, BigInt(t0 + 1) * 1000n]);
    // Balance and allowance.
    const bal = before[alice];
    await htlc.refused(alice, "lock", [id, bob, bal + 1n, hash, later], "InsufficientBalance", [bal, 1_000_000n, bal + 1n]);
    await token.send(alice, "approve", [htlc.address, 4n]);
    await htlc.refused(alice, "lock", [id, bob, 5n, hash, later], "InsufficientBalance", [bal, 4n, 5n]);
    // Order: time before balance, arguments before duplicate, duplicate before time.
    await setNextTime(t0 + 2);
    await htlc.refused(alice, "lock", [id, bob, 5n, hash, BigInt(t0 + 2) * 1000n], "Expired", [
      alice,
      id,
      BigInt(t0 + 2) * 1000n,
      BigInt(t0 + 2) * 1000n,
    ]);
    assert.equal((await htlc.call("status", alice, id))[4], 0n, "nothing was locked");
    assert.deepEqual(await balances(), before);
    // A timelock one ms after the block's time is fine.
    await token.send(alice, "approve", [htlc.address, 5n]);
    await setNextTime(t0 + 3);
    await htlc.send(alice, "lock", [id, bob, 5n, hash, BigInt(t0 + 3) * 1000n + 1n]);
    made.push([alice, id]);
    await htlc.refused(alice, "lock", [id, bob, 0n, hash, later], "BadArguments", ["amount must be 1 to 2^64-1"]);
    await htlc.refused(alice, "lock", [id, bob, 5n, hash, 1n], "Duplicate", [alice, id]);
    await htlc.refused(alice, "lock", [id, bob, bal * 2n, hash, later], "Duplicate", [alice, id]);
  });

  await t.test("claim before the timelock, refund from it on: at every block time exactly one of them", async () => {
    const t0 = (await now()) + 10;
    // Lock A expires at exactly t0+20 s, lock B one ms after it.
    const a = { id: newId(), ...newSecret(), timelock: BigInt(t0 + 20) * 1000n };
    const b = { id: newId(), ...newSecret(), timelock: BigInt(t0 + 20) * 1000n + 1n };
    const c = { id: newId(), ...newSecret(), timelock: BigInt(t0 + 20) * 1000n };
    await setNextTime(t0);
    for (const l of [a, b, c]) l.lockBlock = blockOf(await approveAndLock(alice, l.id, bob, 100n, l.hash, l.timelock));
    const T = (s) => BigInt(s) * 1000n;

    // Before: refund is NotExpired (checked after the state, before nothing else).
    await setNextTime(t0 + 19);
    await htlc.refused(carol, "refund", [alice, a.id], "NotExpired", [alice, a.id, a.timelock, T(t0 + 19)]);

    // In one block at t0+20 s: A's claim is Expired (a claim at the very ms of the timelock is too late), even with
    // a wrong secret (time before secret), and its refund succeeds; B's refund is NotExpired and its claim succeeds.
    await rpc("evm_setAutomine", false);
    let hashes;
    try {
      const nonce = Number(BigInt(await rpc("eth_getTransactionCount", relayer, "pending")));
      const txs = [
        htlc.encode("claim", [alice, a.id, a.secret]),
        htlc.encode("claim", [alice, a.id, b.secret]),
        htlc.encode("refund", [alice, a.id]),
        htlc.encode("refund", [alice, b.id]),
        htlc.encode("claim", [alice, b.id, b.secret]),
      ];
      hashes = [];
      for (const [i, data] of txs.entries())
        hashes.push(
          await rpc("eth_sendTransaction", {
            from: relayer,
            to: htlc.address,
            data,
            gas: ethers.toQuantity(300_000),
            nonce: ethers.toQuantity(nonce + i),
          }),
        );
      await rpc("evm_mine", t0 + 20);
    } finally {
      await rpc("evm_setAutomine", true);
    }
    const rs = [];
    for (const h of hashes) rs.push(await receipt(h));
    assert.equal(new Set(rs.map((r) => r.blockNumber)).size, 1, "one block");
    assert.equal(Number(BigInt((await latestBlock()).timestamp)), t0 + 20);
    assert.deepEqual(rs.map((r) => r.status), ["0x0", "0x0", "0x1", "0x0", "0x1"]);
    assertError(await revertData(rs[0].transactionHash), H, "Expired", [alice, a.id, a.timelock, T(t0 + 20)]);
    assertError(await revertData(rs[1].transactionHash), H, "Expired", [alice, a.id, a.timelock, T(t0 + 20)]);
    assert.deepEqual(events(rs[2], htlc), [{ name: "Refunded", args: [alice, a.id, 100n] }]);
    assert.deepEqual(events(rs[2], token), [{ name: "Transfer", args: [htlc.address, alice, 100n] }]);
    assertError(await revertData(rs[3].transactionHash), H, "NotExpired", [alice, b.id, b.timelock, T(t0 + 20)]);
    assert.deepEqual(events(rs[4], htlc), [{ name: "Claimed", args: [alice, b.id, bob, 100n, b.secret] }]);
    const blk = blockOf(rs[2]);
    assert.deepEqual(await htlc.call("status", alice, a.id), [bob, 100n, a.hash, a.timelock, 3n, ethers.ZeroHash, a.lockBlock, blk]);
    assert.deepEqual(await htlc.call("status", alice, b.id), [bob, 100n, b.hash, b.timelock, 2n, b.secret, b.lockBlock, blk]);

    // Afterwards: refunded and claimed locks are NotLocked, in that state; lock C is refunded after its timelock
    // by anyone, to its sender, and then is a Duplicate for a new lock.
    await htlc.refused(carol, "refund", [alice, a.id], "NotLocked", [alice, a.id, 3n]);
    await htlc.refused(carol, "claim", [alice, a.id, a.secret], "NotLocked", [alice, a.id, 3n]);
    await htlc.refused(carol, "refund", [alice, b.id], "NotLocked", [alice, b.id, 2n]);
    await setNextTime(t0 + 21);
    await htlc.refused(carol, "claim", [alice, c.id, newSecret().secret], "Expired", [alice, c.id, c.timelock, T(t0 + 21)]);
    const before = await balances();
    const r = await htlc.send(carol, "refund", [alice, c.id]);
    assert.deepEqual(events(r, htlc), [{ name: "Refunded", args: [alice, c.id, 100n] }]);
    assert.deepEqual(await balances(), { ...before, [alice]: before[alice] + 100n, [htlc.address]: before[htlc.address] - 100n });
    await token.send(alice, "approve", [htlc.address, 1n]);
    await htlc.refused(alice, "lock", [c.id, bob, 1n, c.hash, T(t0 + 9999)], "Duplicate", [alice, c.id]);
  });

  await t.test("claim and refund of an unknown lock are NotLocked", async () => {
    const id = newId();
    await htlc.refused(relayer, "claim", [alice, id, newSecret().secret], "NotLocked", [alice, id, 0n]);
    await htlc.refused(relayer, "refund", [alice, id], "NotLocked", [alice, id, 0n]);
    // A lock is keyed by its sender: another sender's id is unknown.
    const [sender, lockId] = made[0];
    const other = sender === bob ? alice : bob;
    await htlc.refused(relayer, "refund", [other, lockId], "NotLocked", [other, lockId, 0n]);
  });

  await t.test("a lock left locked stays in escrow; the escrow holds exactly the locked amounts", async () => {
    const { hash } = newSecret();
    await approveAndLock(bob, newId(), alice, 77n, hash, BigInt((await now()) + 3600) * 1000n);
    let locked = 0n;
    for (const [sender, id] of made) {
      const s = await htlc.call("status", sender, id);
      assert.ok([1n, 2n, 3n].includes(s[4]), "every lock made is locked, claimed or refunded");
      if (s[4] === 1n) locked += s[1];
    }
    assert.ok(locked >= 82n); // the 77 above and the 5 of the order test, still locked
    assert.equal(await token.call("balanceOf", htlc.address), locked);
    assert.equal(await token.call("totalSupply"), SUPPLY);
    const b = await balances();
    assert.equal(Object.values(b).reduce((x, y) => x + y, 0n), SUPPLY, "nothing minted or burnt");
  });
});
