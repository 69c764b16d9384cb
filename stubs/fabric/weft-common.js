// Helpers shared by Weft's chaincode stubs (weft-xa-proxy.js, weft-htlc.js) and by business chaincodes that take part in
// Weft's XA transactions (weft-xa-resource.js). Fabric identities have no addresses: Weft names one by the lowercase
// hex SHA-256 of its serialized identity (msp.SerializedIdentity{mspid, id_bytes}, the proposal's creator bytes
// exactly as the client signed them), which is what the Fabric adapter's account_info answers as `address`.
'use strict';
const crypto = require('crypto');
const { peer } = require('@hyperledger/fabric-protos');

// A refusal: the chaincode answers shim.error("Name: text"); the adapter reads the name before the first colon and maps
// it to a status and the reference chain's receipt code (docs/adapters.md), as for the EVM stubs' custom errors.
class Refusal extends Error {
  constructor(name, text) {
    super(`${name}: ${text}`);
    this.refusal = name;
  }
}

function refuse(name, text) {
  throw new Refusal(name, text);
}

// Another chaincode's refusal, answered with its own message unchanged.
function passthrough(message) {
  const e = new Error(message);
  e.passthrough = true;
  return e;
}

function sha256hex(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

// The signer's address: SHA-256 of the creator bytes of the proposal. Chaincode invoked by another chaincode on the
// same channel sees the same proposal, so this is always the transaction's signer.
function signerOf(stub) {
  const sp = stub.getSignedProposal();
  return sha256hex(Buffer.from(sp.proposal.header.signatureHeader.creator_u8));
}

// The chaincode the client's proposal invoked (the top of a chain of chaincode-to-chaincode calls).
function topChaincode(stub) {
  const sp = stub.getSignedProposal();
  const spec = peer.ChaincodeInvocationSpec.deserializeBinary(sp.proposal.payload.getInput_asU8());
  return spec.getChaincodeSpec().getChaincodeId().getName();
}

// The transaction's timestamp in Unix ms: the time the client wrote into the proposal's channel header. Every endorser
// sees the same value, which keeps the chaincode deterministic.
function txTimeMs(stub) {
  const ts = stub.getTxTimestamp();
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

// An address as input: 64 hex digits, with or without 0x, any case; answered lowercase without 0x.
function address(s, what) {
  const v = String(s || '').toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{64}$/.test(v)) refuse('BadArguments', `${what} must be an identity address (64 hex digits)`);
  return v;
}

async function getJSON(stub, key) {
  const b = await stub.getState(key);
  return b && b.length ? JSON.parse(b.toString()) : null;
}

async function putJSON(stub, key, value) {
  await stub.putState(key, Buffer.from(JSON.stringify(value)));
}

// Runs another chaincode on the same channel, within this transaction. A chaincode that does not exist throws (the
// peer answers an error); one that refuses answers status >= 400.
async function invoke(stub, chaincode, args) {
  let r;
  try {
    r = await stub.invokeChaincode(chaincode, args.map(String), '');
  } catch (e) {
    return { ok: false, absent: true, message: String(e.message || e) };
  }
  if (r.status >= 400) return { ok: false, absent: false, message: r.message || `status ${r.status}` };
  return { ok: true, payload: r.payload ? Buffer.from(r.payload).toString() : '' };
}

// Invoke(stub) for a table of functions: each answers a string (or a value turned into JSON); a Refusal or any other
// error becomes shim.error with its message.
function dispatcher(shim, table) {
  return async (stub) => {
    const { fcn, params } = stub.getFunctionAndParameters();
    const fn = Object.prototype.hasOwnProperty.call(table, fcn) ? table[fcn] : null;
    if (!fn) return shim.error(`UnknownFunction: no function ${fcn}`);
    try {
      const out = await fn(stub, params);
      return shim.success(Buffer.from(typeof out === 'string' ? out : JSON.stringify(out === undefined ? '' : out)));
    } catch (e) {
      return shim.error(e instanceof Refusal || e.passthrough ? e.message : `Failed: ${e && e.message ? e.message : e}`);
    }
  };
}

// Starts a chaincode-as-a-service server for chaincode (an object with Init and Invoke): the peer dials
// CHAINCODE_SERVER_ADDRESS and the package id is CHAINCODE_ID, as Fabric's ccaas builder expects.
function serve(shim, chaincode) {
  const server = shim.server(chaincode, {
    ccid: process.env.CHAINCODE_ID,
    address: process.env.CHAINCODE_SERVER_ADDRESS,
  });
  server.start().then(
    () => {},
    (err) => {
      console.error(`chaincode server failed: ${err}`);
      process.exit(1);
    },
  );
}

module.exports = { Refusal, refuse, passthrough, sha256hex, signerOf, topChaincode, txTimeMs, address, getJSON, putJSON, invoke,
  dispatcher, serve };
