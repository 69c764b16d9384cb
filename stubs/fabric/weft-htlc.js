// Weft's hash-time-locked escrow on a Fabric channel, with exactly the semantics of docs/htlc.md ("On Fabric chains"):
// locks keyed by (sender, id), SHA-256 hashes of 32-byte secrets, timelocks in Unix ms of chain time.
//
// The asset is a balance map kept by this chaincode itself (balanceOf, transfer, totalSupply), and the escrow is the sum
// of the locked amounts in the same namespace: a lock, claim or refund moves balance and lock state in one write set.
// (A separate token chaincode cannot tell which chaincode invoked it, only which one the proposal named, so an escrow
// account there would have to trust that name; the built-in map needs no such trust.)
//
// Chain time is the transaction's timestamp (the proposal's channel header), which the client chooses and every
// endorser sees alike. An endorser refuses a timestamp more than WEFT_HTLC_MAX_SKEW_MS (30000) from its own clock, so a
// client can move chain time by at most that much either way; Fabric's MVCC lets only one of a claim and a refund of
// the same lock commit, whichever is ordered first.
//
// Functions: lock(id, receiver, amount, hash, timelock), claim(sender, id, secret), refund(sender, id),
// status(sender, id), balanceOf(address), transfer(to, amount), totalSupply(), escrow(), chainTime(),
// initSupply(amount) (once: the signer gets the whole supply). Refusals answer "Name: text" with the EVM stub's names.
'use strict';
const crypto = require('crypto');
const shim = require('fabric-shim');
const { refuse, signerOf, txTimeMs, address, getJSON, putJSON, dispatcher, serve } = require('./weft-common');

const U64_MAX = (1n << 64n) - 1n;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const STATES = ['none', 'locked', 'claimed', 'refunded'];

function maxSkew() {
  const v = Number(process.env.WEFT_HTLC_MAX_SKEW_MS || 30000);
  return Number.isFinite(v) && v >= 0 ? v : 30000;
}

function hex32(s, what) {
  if (!HEX32.test(String(s || ''))) refuse('BadArguments', `${what} must be 0x and 64 hex digits`);
  return String(s).toLowerCase();
}

function u64(s, what, positive) {
  const t = String(s || '');
  if (!/^(0|[1-9][0-9]*)$/.test(t) || BigInt(t) > U64_MAX) refuse('BadArguments', `${what} must be an unsigned 64-bit decimal`);
  if (positive && BigInt(t) === 0n) refuse('BadArguments', `${what} must be greater than zero`);
  return BigInt(t);
}

// Chain time, checked against this endorser's clock.
function chainTime(stub) {
  const t = txTimeMs(stub);
  const now = Date.now();
  if (Math.abs(t - now) > maxSkew()) {
    refuse('BadTimestamp', `the transaction's timestamp ${t} is ${t - now} ms from this endorser's clock (at most ` +
      `${maxSkew()} ms either way)`);
  }
  return t;
}

const kBal = (a) => `balance/${a}`;
const kLock = (sender, id) => `lock/${sender}/${id}`;

async function balance(stub, a) {
  const b = await stub.getState(kBal(a));
  return b && b.length ? BigInt(b.toString()) : 0n;
}

async function setBalance(stub, a, v) {
  await stub.putState(kBal(a), Buffer.from(v.toString()));
}

async function lockOf(stub, sender, id) {
  return getJSON(stub, kLock(sender, id));
}

const Htlc = {
  async lock(stub, [idIn, receiverIn, amountIn, hashIn, timelockIn]) {
    const id = hex32(idIn, 'id');
    const receiver = address(receiverIn, 'receiver');
    const amount = u64(amountIn, 'amount', true);
    const hash = hex32(hashIn, 'hash');
    const timelock = u64(timelockIn, 'timelock', false);
    const sender = signerOf(stub);
    if (await lockOf(stub, sender, id)) refuse('Duplicate', `HTLC lock ${id} of ${sender} exists already`);
    const t = chainTime(stub);
    if (timelock <= BigInt(t)) refuse('Expired', `cannot lock ${id}: its timelock ${timelock} is not after the chain time ${t}`);
    const have = await balance(stub, sender);
    if (have < amount) refuse('InsufficientBalance', `${sender} holds ${have}, less than ${amount}`);
    await setBalance(stub, sender, have - amount);
    await putJSON(stub, kLock(sender, id), { receiver, amount: amount.toString(), hash, timelock: Number(timelock),
      state: 1, secret: '', lockTx: stub.getTxID(), lockTime: t, endTx: '', endTime: 0 });
    stub.setEvent('locked', Buffer.from(JSON.stringify({ sender, id, receiver, amount: amount.toString(), hash,
      timelock: Number(timelock) })));
    return { sender, id, state: 'locked', blockTime: t };
  },

  async claim(stub, [senderIn, idIn, secretIn]) {
    const sender = address(senderIn, 'sender');
    const id = hex32(idIn, 'id');
    const secret = hex32(secretIn, 'secret');
    const l = await lockOf(stub, sender, id);
    if (!l || l.state !== 1) refuse('NotLocked', `HTLC lock ${id} of ${sender} is ${STATES[l ? l.state : 0]}`);
    const t = chainTime(stub);
    if (t >= l.timelock) {
      refuse('Expired', `cannot claim HTLC lock ${id} of ${sender}: its timelock ${l.timelock} has passed (chain time ` +
        `${t}); it can only be refunded`);
    }
    const h = '0x' + crypto.createHash('sha256').update(Buffer.from(secret.slice(2), 'hex')).digest('hex');
    if (h !== l.hash) refuse('WrongSecret', `the secret does not hash to HTLC lock ${id} of ${sender}'s hash`);
    Object.assign(l, { state: 2, secret, endTx: stub.getTxID(), endTime: t });
    await putJSON(stub, kLock(sender, id), l);
    await setBalance(stub, l.receiver, (await balance(stub, l.receiver)) + BigInt(l.amount));
    stub.setEvent('claimed', Buffer.from(JSON.stringify({ sender, id, receiver: l.receiver, amount: l.amount, secret })));
    return { sender, id, state: 'claimed', blockTime: t };
  },

  async refund(stub, [senderIn, idIn]) {
    const sender = address(senderIn, 'sender');
    const id = hex32(idIn, 'id');
    const l = await lockOf(stub, sender, id);
    if (!l || l.state !== 1) refuse('NotLocked', `HTLC lock ${id} of ${sender} is ${STATES[l ? l.state : 0]}`);
    const t = chainTime(stub);
    if (t < l.timelock) refuse('NotExpired', `cannot refund HTLC lock ${id} of ${sender} before its timelock ${l.timelock} (chain time ${t})`);
    Object.assign(l, { state: 3, endTx: stub.getTxID(), endTime: t });
    await putJSON(stub, kLock(sender, id), l);
    await setBalance(stub, sender, (await balance(stub, sender)) + BigInt(l.amount));
    stub.setEvent('refunded', Buffer.from(JSON.stringify({ sender, id, amount: l.amount })));
    return { sender, id, state: 'refunded', blockTime: t };
  },

  // docs/htlc.md's status object; lockBlock/endBlock are Fabric transaction ids here (lockTx, endTx), with the chain
  // times of the lock and of its end.
  async status(stub, [senderIn, idIn]) {
    const sender = address(senderIn, 'sender');
    const id = hex32(idIn, 'id');
    const l = await lockOf(stub, sender, id);
    if (!l) {
      return { sender, id, receiver: '', amount: '0', hash: '', timelock: 0, state: 'none', lockTx: '', endTx: '',
        lockTime: 0, endTime: 0 };
    }
    const out = { sender, id, receiver: l.receiver, amount: l.amount, hash: l.hash, timelock: l.timelock,
      state: STATES[l.state], lockTx: l.lockTx, endTx: l.endTx, lockTime: l.lockTime, endTime: l.endTime };
    if (l.state === 2) out.secret = l.secret;
    return out;
  },

  async balanceOf(stub, [who]) {
    return (await balance(stub, address(who, 'address'))).toString();
  },

  async transfer(stub, [toIn, amountIn]) {
    const to = address(toIn, 'to');
    const amount = u64(amountIn, 'amount', false);
    const from = signerOf(stub);
    const have = await balance(stub, from);
    if (have < amount) refuse('InsufficientBalance', `${from} holds ${have}, less than ${amount}`);
    await setBalance(stub, from, have - amount);
    await setBalance(stub, to, (await balance(stub, to)) + amount);
    return (have - amount).toString();
  },

  async totalSupply(stub) {
    const b = await stub.getState('supply');
    return b && b.length ? b.toString() : '0';
  },

  // The sum of the amounts still locked (a scan of every lock: for checks, not for hot paths). No running total is
  // kept: one key that every lock, claim and refund wrote would make any two of them in one block conflict (MVCC).
  async escrow(stub) {
    let sum = 0n;
    const it = await stub.getStateByRange('lock/', 'lock0');
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const l = JSON.parse(Buffer.from(r.value.value).toString());
      if (l.state === 1) sum += BigInt(l.amount);
    }
    await it.close();
    return sum.toString();
  },

  async chainTime(stub) {
    return String(chainTime(stub));
  },

  async initSupply(stub, [amountIn]) {
    const amount = u64(amountIn, 'amount', true);
    const b = await stub.getState('supply');
    if (b && b.length) refuse('BadArguments', 'the supply is set already');
    await stub.putState('supply', Buffer.from(amount.toString()));
    await setBalance(stub, signerOf(stub), amount);
    return amount.toString();
  },
};

class WeftHTLC {
  constructor() {
    this.Invoke = dispatcher(shim, Htlc);
  }

  async Init() {
    return shim.success();
  }
}

module.exports = { WeftHTLC, Htlc };
if (require.main === module) serve(shim, new WeftHTLC());
