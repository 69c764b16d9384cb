// Weft's XA proxy on a Fabric channel: one branch of a two-phase transaction per transaction id, with the semantics of
// stubs/evm/WeftXAProxy.sol (docs/xa.md, "On Fabric chains"). The router's coordinator identity starts a branch over
// some business chaincodes (locking each for the id), users send steps through it, and the coordinator then commits
// (the steps' effects stay) or rolls back (each step's compensation runs, newest first). A finished id stays as a
// tombstone. Writes to an XA-capable chaincode outside any transaction go through forward(), refused while it is locked.
//
// A business chaincode is called with stub.invokeChaincode, which runs it within this same transaction: getCreator()
// there is still the proposal's signer, so the real signer reaches the business logic unchanged. Steps and
// compensations reach it as weftXA(context, function, ...args) (see weft-xa-resource.js); the context names the
// transaction id, the step's seq and the phase. Fabric's MVCC makes a lock check and the write it guards atomic: a step
// or forward reads the target's lock key, so a start, commit or rollback committed in between invalidates it.
//
// Functions (arguments are strings; answers are strings or JSON):
//   start(id, targetsJSON)              coordinator only; targets: chaincode names, strictly ascending
//   step(id, seq, target, fn, argsJSON) any signer; answers the business function's answer
//   forward(target, fn, argsJSON)       any signer; a write outside any transaction
//   commit(id), rollback(id)            coordinator only; rollback runs one compensation per transaction
//   branch(id), stepOf(id, seq), holderOf(target), coordinators()   reads
//
// The coordinator: the identity addresses (hex SHA-256 of the serialized identity) in the environment variable
// WEFT_XA_COORDINATOR, comma-separated, set by whoever runs this chaincode's server. Every endorsing org must run it
// with the same value, or their endorsements differ and Fabric refuses the transaction.
'use strict';
const shim = require('fabric-shim');
const { refuse, passthrough, signerOf, txTimeMs, getJSON, putJSON, invoke, dispatcher, serve } = require('./weft-common');

const MAX_STEPS = 64;
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const NAME = /^[A-Za-z0-9_.+-]{1,128}$/; // Fabric's chaincode names, generously

function coordinators() {
  return String(process.env.WEFT_XA_COORDINATOR || '')
    .split(',')
    .map((s) => s.trim().toLowerCase().replace(/^0x/, ''))
    .filter((s) => s);
}

function onlyCoordinator(stub) {
  const who = signerOf(stub);
  const allowed = coordinators();
  if (!allowed.includes(who)) {
    refuse('NotCoordinator', allowed.length
      ? `identity ${who} is not this proxy's coordinator (${allowed.join(', ')})`
      : `this proxy has no coordinator: its server runs without WEFT_XA_COORDINATOR`);
  }
}

function checkId(id) {
  if (!ID.test(id || '')) refuse('BadTransactionId', `transaction id '${id}' must be 1-128 characters of [A-Za-z0-9_.:-]`);
  return id;
}

function seqOf(s) {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(String(s))) refuse('BadArguments', `seq '${s}' must be a non-negative integer`);
  return Number(s);
}

function argsOf(json) {
  let a;
  try {
    a = JSON.parse(json || '[]');
  } catch (e) {
    refuse('BadArguments', 'args must be a JSON array of strings');
  }
  if (!Array.isArray(a) || a.some((x) => typeof x !== 'string')) refuse('BadArguments', 'args must be a JSON array of strings');
  return a;
}

const kBranch = (id) => `branch/${id}`;
const kStep = (id, seq) => `step/${id}/${seq}`;
const kLock = (target) => `lock/${target}`;

async function holder(stub, target) {
  const b = await stub.getState(kLock(target));
  return b && b.length ? b.toString() : '';
}

// The compensation the business chaincode declares for fn: "" when fn cannot be a step.
async function compensationOf(stub, target, fn) {
  const r = await invoke(stub, target, ['weftCompensation', fn]);
  if (!r.ok && r.absent) refuse('NoContract', `no chaincode ${target} on this channel: ${r.message}`);
  if (!r.ok) refuse('NotXACapable', `chaincode ${target} does not answer weftCompensation: ${r.message}`);
  return r.payload;
}

async function runBusiness(stub, target, context, fn, args) {
  const r = await invoke(stub, target, ['weftXA', JSON.stringify(context), fn, ...args]);
  if (!r.ok && r.absent) refuse('NoContract', `no chaincode ${target} on this channel: ${r.message}`);
  if (!r.ok) throw passthrough(r.message); // the business chaincode's own refusal, unchanged
  return r.payload;
}

const Proxy = {
  async start(stub, [id, targetsJSON]) {
    onlyCoordinator(stub);
    checkId(id);
    const targets = argsOf(targetsJSON);
    const b = await getJSON(stub, kBranch(id));
    if (b && b.status === 'processing') {
      if (JSON.stringify(b.targets) !== JSON.stringify(targets)) refuse('OtherTargets', `transaction ${id} is processing with other chaincodes (${b.targets.join(', ')})`);
      return { status: 'processing', repeated: true };
    }
    if (b) refuse('Finished', `transaction ${id} is ${b.status}`);
    if (targets.length === 0) refuse('BadTargets', 'no targets');
    for (let i = 0; i < targets.length; i++) {
      if (!NAME.test(targets[i])) refuse('BadTargets', `'${targets[i]}' is not a chaincode name`);
      if (i > 0 && !(targets[i] > targets[i - 1])) refuse('BadTargets', 'targets must be strictly ascending');
    }
    for (const t of targets) {
      const held = await holder(stub, t);
      if (held && held !== id) refuse('Locked', `chaincode ${t} is locked by XA transaction '${held}'`);
      await compensationOf(stub, t, ''); // exists and is XA-capable
    }
    for (const t of targets) await stub.putState(kLock(t), Buffer.from(id));
    await putJSON(stub, kBranch(id), { status: 'processing', targets, seqs: [], startTx: stub.getTxID(),
      startTime: txTimeMs(stub), endTx: '', endTime: 0 });
    stub.setEvent('XAStarted', Buffer.from(JSON.stringify({ id, targets })));
    return { status: 'processing' };
  },

  async step(stub, [id, seqText, target, fn, argsJSON]) {
    checkId(id);
    const seq = seqOf(seqText);
    const args = argsOf(argsJSON);
    const signer = signerOf(stub);
    const done = await getJSON(stub, kStep(id, seq));
    if (done) {
      if (done.target !== target || done.fn !== fn || JSON.stringify(done.args) !== JSON.stringify(args)) {
        refuse('SeqReused', `transaction ${id} already ran another step ${seq}`);
      }
      return done.result;
    }
    const b = await getJSON(stub, kBranch(id));
    if (!b || b.status !== 'processing' || b.rollingBack) {
      refuse('NotProcessing', `transaction ${id} is ${b ? (b.rollingBack ? 'rolling back' : b.status) : 'none'}`);
    }
    if ((await holder(stub, target)) !== id) refuse('NotInTransaction', `chaincode ${target} is not in transaction ${id}`);
    if (b.seqs.length >= MAX_STEPS) refuse('TooManySteps', `transaction ${id} has ${MAX_STEPS} steps already`);
    const undo = await compensationOf(stub, target, fn);
    if (!undo) refuse('NoCompensation', `chaincode ${target} declares no compensation for ${fn}`);
    const result = await runBusiness(stub, target, { xa: id, seq, phase: 'step', signer }, fn, args);
    await putJSON(stub, kStep(id, seq), { target, fn, args, undo, signer, result, txId: stub.getTxID() });
    b.seqs.push(seq);
    await putJSON(stub, kBranch(id), b);
    stub.setEvent('XAStep', Buffer.from(JSON.stringify({ id, seq, target, fn, signer })));
    return result;
  },

  async forward(stub, [target, fn, argsJSON]) {
    if (!NAME.test(target || '')) refuse('BadTargets', `'${target}' is not a chaincode name`);
    const args = argsOf(argsJSON);
    const held = await holder(stub, target);
    if (held) refuse('Locked', `chaincode ${target} is locked by XA transaction '${held}'`);
    const r = await invoke(stub, target, [fn, ...args]);
    if (!r.ok && r.absent) refuse('NoContract', `no chaincode ${target} on this channel: ${r.message}`);
    if (!r.ok) throw passthrough(r.message);
    return r.payload;
  },

  async commit(stub, [id]) {
    onlyCoordinator(stub);
    checkId(id);
    const b = await getJSON(stub, kBranch(id));
    if (!b) refuse('UnknownTransaction', `no transaction ${id}`);
    if (b.status === 'committed') return { status: 'committed', repeated: true };
    if (b.status !== 'processing' || b.rollingBack) refuse('Finished', `transaction ${id} is ${b.rollingBack ? 'rolling back' : b.status}`);
    await unlock(stub, id, b);
    Object.assign(b, { status: 'committed', endTx: stub.getTxID(), endTime: txTimeMs(stub) });
    await putJSON(stub, kBranch(id), b);
    stub.setEvent('XACommitted', Buffer.from(JSON.stringify({ id })));
    return { status: 'committed' };
  },

  // Fabric has no read-your-writes within a transaction (a read sees the last committed value, never this
  // transaction's own writes), so two compensations that touch the same key cannot run in one transaction. A rollback
  // therefore runs one compensation, the newest step not undone yet, per transaction, answering
  // {status:"processing", rollingBack:true, remaining:n} until the last one, whose transaction also releases the locks
  // and answers {status:"rolledback"}. From the first rollback on, steps and a commit are refused.
  async rollback(stub, [id]) {
    onlyCoordinator(stub);
    checkId(id);
    let b = await getJSON(stub, kBranch(id));
    if (b && b.status === 'rolledback') return { status: 'rolledback', repeated: true };
    if (b && b.status === 'committed') refuse('Finished', `transaction ${id} is committed`);
    if (b) {
      b.rollingBack = true;
      b.undone = b.undone || [];
      const left = b.seqs.filter((q) => !b.undone.includes(q));
      if (left.length > 0) {
        const seq = left[left.length - 1];
        const s = await getJSON(stub, kStep(id, seq));
        const r = await invoke(stub, s.target, ['weftXA', JSON.stringify({ xa: id, seq, phase: 'rollback', signer: s.signer }), s.undo, ...s.args]);
        if (!r.ok) refuse('CompensationFailed', `compensation ${s.undo} of step ${seq} on ${s.target} failed: ${r.message}`);
        b.undone.push(seq);
        if (left.length > 1) {
          await putJSON(stub, kBranch(id), b);
          return { status: 'processing', rollingBack: true, remaining: left.length - 1 };
        }
      }
      await unlock(stub, id, b);
    } else {
      // A tombstone: a start of this id that arrives late is refused instead of locking chaincodes for nobody.
      b = { status: 'none', targets: [], seqs: [], startTx: '', startTime: 0 };
    }
    Object.assign(b, { status: 'rolledback', endTx: stub.getTxID(), endTime: txTimeMs(stub) });
    await putJSON(stub, kBranch(id), b);
    stub.setEvent('XARolledBack', Buffer.from(JSON.stringify({ id })));
    return { status: 'rolledback' };
  },

  // {status: none|processing|committed|rolledback, targets, seqs, startTx, startTime, endTx, endTime}
  async branch(stub, [id]) {
    checkId(id);
    return (await getJSON(stub, kBranch(id))) || { status: 'none', targets: [], seqs: [], startTx: '', startTime: 0, endTx: '', endTime: 0 };
  },

  // {done, target, fn, args, undo, signer, result, txId}
  async stepOf(stub, [id, seqText]) {
    checkId(id);
    const s = await getJSON(stub, kStep(id, seqOf(seqText)));
    return s ? { done: true, ...s } : { done: false };
  },

  async holderOf(stub, [target]) {
    return holder(stub, target || '');
  },

  async coordinators() {
    return coordinators();
  },
};

async function unlock(stub, id, b) {
  for (const t of b.targets) if ((await holder(stub, t)) === id) await stub.deleteState(kLock(t));
}

class WeftXAProxy {
  constructor() {
    this.Invoke = dispatcher(shim, Proxy);
  }

  async Init() {
    return shim.success();
  }
}

module.exports = { WeftXAProxy, Proxy };
if (require.main === module) serve(shim, new WeftXAProxy());
