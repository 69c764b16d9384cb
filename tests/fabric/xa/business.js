// The Fabric XA tests' business chaincodes, built on stubs/fabric/weft-xa-resource.js and run as chaincode-as-a-service:
// WEFT_TEST_BUSINESS=ledger is a fungible ledger (balances by identity address), =store a key-value store. Both declare
// a compensation for each write and keep what a compensation needs under (transaction id, seq).
'use strict';
const path = require('path');
const shim = require('fabric-shim');
const stubs = path.join(__dirname, '..', '..', '..', 'stubs', 'fabric');
const { xaResource } = require(path.join(stubs, 'weft-xa-resource'));
const { refuse, address, getJSON, putJSON, dispatcher, serve } = require(path.join(stubs, 'weft-common'));

async function bal(stub, a) {
  const b = await stub.getState('balance/' + a);
  return b && b.length ? BigInt(b.toString()) : 0n;
}

async function move(stub, from, to, amount) {
  const have = await bal(stub, from);
  if (have < amount) refuse('InsufficientBalance', `${from} holds ${have}, less than ${amount}`);
  await stub.putState('balance/' + from, Buffer.from((have - amount).toString()));
  await stub.putState('balance/' + to, Buffer.from(((await bal(stub, to)) + amount).toString()));
  return (have - amount).toString();
}

function amountOf(s) {
  if (!/^(0|[1-9][0-9]{0,18})$/.test(String(s))) refuse('BadArguments', 'amount must be a decimal');
  return BigInt(s);
}

const ledger = xaResource({
  compensations: { transfer: 'undoTransfer' },
  reads: ['balanceOf', 'totalSupply'],
  functions: {
    // transfer(to, amount): from the signer; answers the signer's new balance.
    async transfer(stub, [to, amount], ctx) {
      return move(stub, ctx.signer, address(to, 'to'), amountOf(amount));
    },
    // The step's own arguments and signer: the amount goes back from `to` to the step's signer.
    async undoTransfer(stub, [to, amount], ctx) {
      return move(stub, address(to, 'to'), ctx.signer, amountOf(amount));
    },
    async fail(stub, [message]) {
      refuse('Refused', message || 'refused');
    },
    async balanceOf(stub, [who]) {
      return (await bal(stub, address(who, 'address'))).toString();
    },
    async totalSupply(stub) {
      const b = await stub.getState('supply');
      return b && b.length ? b.toString() : '0';
    },
    // Once: the signer gets the whole supply.
    async initSupply(stub, [amount], ctx) {
      const b = await stub.getState('supply');
      if (b && b.length) refuse('BadArguments', 'the supply is set already');
      await stub.putState('supply', Buffer.from(amountOf(amount).toString()));
      await stub.putState('balance/' + ctx.signer, Buffer.from(amountOf(amount).toString()));
      return amount;
    },
  },
});
const ledgerFns = ledger;

const store = xaResource({
  compensations: { set: 'undoSet' },
  reads: ['get', 'has'],
  functions: {
    // set(key, value): answers the value; a step keeps the previous entry (absent included) for its compensation.
    async set(stub, [key, value], ctx) {
      if (ctx.xa) {
        const old = await stub.getState('kv/' + key);
        await putJSON(stub, `undo/${ctx.xa}/${ctx.seq}`, old && old.length ? { had: true, value: old.toString() } : { had: false });
      }
      await stub.putState('kv/' + key, Buffer.from(value));
      return value;
    },
    async undoSet(stub, [key], ctx) {
      const u = await getJSON(stub, `undo/${ctx.xa}/${ctx.seq}`);
      if (!u) refuse('NoUndoRecord', `no undo record of step ${ctx.seq} of ${ctx.xa}`);
      if (u.had) await stub.putState('kv/' + key, Buffer.from(u.value));
      else await stub.deleteState('kv/' + key);
      await stub.deleteState(`undo/${ctx.xa}/${ctx.seq}`);
      return '';
    },
    async get(stub, [key]) {
      const b = await stub.getState('kv/' + key);
      return b && b.length ? b.toString() : '';
    },
    async has(stub, [key]) {
      const b = await stub.getState('kv/' + key);
      return b && b.length ? 'true' : 'false';
    },
  },
});

class Business {
  constructor(table) {
    this.Invoke = dispatcher(shim, table);
  }

  async Init() {
    return shim.success();
  }
}

serve(shim, new Business(process.env.WEFT_TEST_BUSINESS === 'store' ? store : ledgerFns));
