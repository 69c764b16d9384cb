// Writes ethers' answers for the EVM codec's comparison test: ABI encodings and decodings, selectors and topics,
// event logs, revert data, EIP-55 checksums, CREATE addresses, and signed EIP-155 / EIP-1559 transactions.
// Usage: node ethers_vectors.js CASES.json OUT.json (ethers found through NODE_PATH; see tests/unit/evm.cmake).
// Arguments in the cases are WeCross's strings; toEthers() turns them into ethers' values and fromEthers() turns
// ethers' results back into the strings the C++ decoder must give, so both sides meet in one convention.
'use strict';
const fs = require('fs');
const ethers = require('ethers');
const { AbiCoder, Interface, ParamType, Transaction, Wallet, Indexed } = ethers;

const [casesPath, outPath] = process.argv.slice(2);
if (!casesPath || !outPath) {
  console.error('usage: node ethers_vectors.js CASES.json OUT.json');
  process.exit(2);
}
if (ethers.version !== '6.13.4') {
  console.error(`ethers ${ethers.version} found; the pinned version is 6.13.4`);
  process.exit(1);
}
const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const coder = AbiCoder.defaultAbiCoder();

// A WeCross string argument (or a value inside its JSON text) as the value ethers encodes.
function toEthers(type, value) {
  if (type.baseType === 'array' || type.baseType === 'tuple') {
    const items = typeof value === 'string' ? JSON.parse(value) : value;
    if (type.baseType === 'array') return items.map((v) => toEthers(type.arrayChildren, v));
    return items.map((v, i) => toEthers(type.components[i], v));
  }
  if (type.baseType.startsWith('uint') || type.baseType.startsWith('int')) {
    const text = String(value);
    return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text); // BigInt() alone refuses "-0x10"
  }
  if (type.baseType === 'bool') return value === true || value === 'true';
  return value; // address, bytes, bytesN, string
}

// An ethers value as the C++ decoder's string (top level) or JSON value (inside arrays and tuples).
function fromEthers(type, value, top) {
  if (type.baseType === 'array' || type.baseType === 'tuple') {
    const items = Array.from(value).map((v, i) =>
      fromEthers(type.baseType === 'array' ? type.arrayChildren : type.components[i], v, false));
    return top ? JSON.stringify(items) : items;
  }
  if (typeof value === 'bigint') return value.toString();
  if (type.baseType === 'bool') return top ? String(value) : value;
  if (type.baseType === 'address') return value.toLowerCase();
  return value; // bytes as lowercase hex, strings verbatim
}

const out = {};

out.abi_cases = cases.abi_cases.map((c) => {
  const types = c.types.map((t) => ParamType.from(t));
  const encoded = coder.encode(types, c.args.map((a, i) => toEthers(types[i], a)));
  const decoded = coder.decode(types, encoded);
  return { types: c.types, args: c.args, encoded, decoded: types.map((t, i) => fromEthers(t, decoded[i], true)) };
});

const iface = new Interface(cases.contract_abi);
out.functions = [];
iface.forEachFunction((f) => out.functions.push({ signature: f.format('sighash'), selector: f.selector }));
out.events = [];
iface.forEachEvent((e) => out.events.push({ signature: e.format('sighash'), topic: e.topicHash }));
out.errors = [];
iface.forEachError((e) => out.errors.push({ signature: e.format('sighash'), selector: e.selector }));

out.calls = cases.calls.map((c) => {
  const f = iface.getFunction(c.method);
  return { method: c.method, args: c.args, data: iface.encodeFunctionData(f, c.args.map((a, i) => toEthers(f.inputs[i], a))) };
});

out.logs = cases.logs.map((c) => {
  const e = iface.getEvent(c.event);
  let data, topics;
  if (c.hashed_topics) {
    // ethers cannot encode indexed arrays or tuples (their topic is a hash of an in-place encoding), but it decodes
    // them: the case gives those topics, and the non-indexed values are encoded as the log's data.
    const plain = e.inputs.map((p, i) => [p, i]).filter(([p]) => !p.indexed);
    data = coder.encode(plain.map(([p]) => p), plain.map(([p, i]) => toEthers(p, c.args[i])));
    topics = [e.topicHash, ...c.hashed_topics];
  } else {
    ({ data, topics } = iface.encodeEventLog(e, c.args.map((a, i) => toEthers(e.inputs[i], a))));
  }
  const decoded = iface.decodeEventLog(e, data, topics);
  const fields = e.inputs.map((p, i) => [p.name, decoded[i] instanceof Indexed ? decoded[i].hash : fromEthers(p, decoded[i], true)]);
  return { event: e.name, topics, data, fields };
});

out.reverts = cases.reverts.map((c) => {
  if (c.message !== undefined) {
    const data = ethers.concat([ethers.id('Error(string)').slice(0, 10), coder.encode(['string'], [c.message])]);
    return { data, message: c.message };
  }
  const e = iface.getError(c.error);
  const values = c.args.map((a, i) => toEthers(e.inputs[i], a));
  const data = iface.encodeErrorResult(e, values);
  const back = iface.decodeErrorResult(e, data);
  return { data, message: `${e.name}(${e.inputs.map((p, i) => fromEthers(p, back[i], true)).join(',')})` };
});

out.checksums = cases.addresses.map((a) => ({ input: a, checksummed: ethers.getAddress(a) }));
out.creates = cases.creates.map((c) => ({ ...c, address: ethers.getCreateAddress({ from: c.sender, nonce: c.nonce }) }));

const wallets = cases.private_keys.map((k) => new Wallet(k));
out.keys = wallets.map((w) => ({
  private_key: w.privateKey,
  public_key: w.signingKey.publicKey, // 0x04 || x || y
  address: w.address.toLowerCase(),
}));

function signed(fields, c) {
  const tx = Transaction.from(fields);
  const wallet = wallets[c.key || 0];
  const signingHash = tx.unsignedHash;
  tx.signature = wallet.signingKey.sign(signingHash);
  return { ...c, signing_hash: signingHash, raw: tx.serialized, hash: tx.hash };
}

out.legacy = cases.legacy.map((c) => signed({
  type: 0, chainId: BigInt(c.chain_id), nonce: c.nonce, gasPrice: BigInt(c.gas_price), gasLimit: BigInt(c.gas),
  to: c.to, value: BigInt(c.value), data: c.data,
}, c));

out.eip1559 = cases.eip1559.map((c) => signed({
  type: 2, chainId: BigInt(c.chain_id), nonce: c.nonce, maxPriorityFeePerGas: BigInt(c.max_priority_fee),
  maxFeePerGas: BigInt(c.max_fee), gasLimit: BigInt(c.gas), to: c.to, value: BigInt(c.value), data: c.data, accessList: [],
}, c));

fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
