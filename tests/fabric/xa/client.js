// A minimal Fabric client for the tests, for what the router never does: endorse a transaction with a timestamp the
// test chooses, and order it later (or never). Usage:
//   node client.js endorse REQUEST.json   -> {"txId","status","message","envelope": base64 of the signed envelope}
//   node client.js submit REQUEST.json    -> {"status"}: the orderer's Broadcast answer for REQUEST.envelope
// REQUEST: {channel, chaincode, args, mspId, certFile, keyFile, tlsCertFile, tlsKeyFile, timestampMs,
//           peers: [{address, caFile}], orderer: {address, caFile}, envelope}
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const { common, peer, msp, orderer } = require('@hyperledger/fabric-protos');
const { EndorserClient } = require('@hyperledger/fabric-protos/lib/peer/peer_grpc_pb');
const { AtomicBroadcastClient } = require('@hyperledger/fabric-protos/lib/orderer/ab_grpc_pb');
const { Timestamp } = require('google-protobuf/google/protobuf/timestamp_pb');

const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function der(r, s) {
  const int = (v) => {
    let h = v.toString(16);
    if (h.length % 2) h = '0' + h;
    let b = Buffer.from(h, 'hex');
    if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([2, b.length]), b]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

// ECDSA P-256 over SHA-256, DER, low S (Fabric refuses a high S).
function sign(keyPem, bytes) {
  const raw = crypto.sign('sha256', Buffer.from(bytes), { key: keyPem, dsaEncoding: 'ieee-p1363' });
  const r = BigInt('0x' + raw.subarray(0, 32).toString('hex'));
  let s = BigInt('0x' + raw.subarray(32).toString('hex'));
  if (s > N / 2n) s = N - s;
  return der(r, s);
}

function creds(req, caFile) {
  return grpc.credentials.createSsl(fs.readFileSync(caFile), fs.readFileSync(req.tlsKeyFile), fs.readFileSync(req.tlsCertFile));
}

async function endorse(req) {
  const key = fs.readFileSync(req.keyFile);
  const id = new msp.SerializedIdentity();
  id.setMspid(req.mspId);
  id.setIdBytes(fs.readFileSync(req.certFile));
  const creator = id.serializeBinary();
  const nonce = crypto.randomBytes(24);
  const txId = crypto.createHash('sha256').update(Buffer.concat([nonce, Buffer.from(creator)])).digest('hex');
  const ccid = new peer.ChaincodeID();
  ccid.setName(req.chaincode);
  const ext = new peer.ChaincodeHeaderExtension();
  ext.setChaincodeId(ccid);
  const ts = new Timestamp();
  ts.setSeconds(Math.floor(req.timestampMs / 1000));
  ts.setNanos((req.timestampMs % 1000) * 1e6);
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
  ch.setChannelId(req.channel);
  ch.setTxId(txId);
  ch.setTimestamp(ts);
  ch.setExtension$(ext.serializeBinary());
  const sh = new common.SignatureHeader();
  sh.setCreator(creator);
  sh.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(sh.serializeBinary());
  const input = new peer.ChaincodeInput();
  input.setArgsList(req.args.map((a) => Buffer.from(a)));
  const spec = new peer.ChaincodeSpec();
  spec.setType(peer.ChaincodeSpec.Type.NODE);
  spec.setChaincodeId(ccid);
  spec.setInput(input);
  const cis = new peer.ChaincodeInvocationSpec();
  cis.setChaincodeSpec(spec);
  const ccpp = new peer.ChaincodeProposalPayload();
  ccpp.setInput(cis.serializeBinary());
  const proposal = new peer.Proposal();
  proposal.setHeader(header.serializeBinary());
  proposal.setPayload(ccpp.serializeBinary());
  const pbytes = proposal.serializeBinary();
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(pbytes);
  signed.setSignature(sign(key, pbytes));
  const answers = await Promise.all(req.peers.map((p) => new Promise((resolve, reject) => {
    const c = new EndorserClient(p.address, creds(req, p.caFile));
    c.processProposal(signed, (err, r) => {
      c.close();
      if (err) reject(err);
      else resolve(r);
    });
  })));
  const bad = answers.find((a) => a.getResponse().getStatus() >= 400);
  if (bad) return { txId, status: bad.getResponse().getStatus(), message: bad.getResponse().getMessage(), envelope: '' };
  const endorsed = new peer.ChaincodeEndorsedAction();
  endorsed.setProposalResponsePayload(answers[0].getPayload());
  endorsed.setEndorsementsList(answers.map((a) => a.getEndorsement()));
  const cap = new peer.ChaincodeActionPayload();
  cap.setChaincodeProposalPayload(ccpp.serializeBinary());
  cap.setAction(endorsed);
  const action = new peer.TransactionAction();
  action.setHeader(sh.serializeBinary());
  action.setPayload(cap.serializeBinary());
  const tx = new peer.Transaction();
  tx.setActionsList([action]);
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(tx.serializeBinary());
  const bytes = payload.serializeBinary();
  const env = new common.Envelope();
  env.setPayload(bytes);
  env.setSignature(sign(key, bytes));
  return { txId, status: 200, message: '', result: Buffer.from(answers[0].getResponse().getPayload()).toString(),
    envelope: Buffer.from(env.serializeBinary()).toString('base64') };
}

async function submit(req) {
  const env = common.Envelope.deserializeBinary(Buffer.from(req.envelope, 'base64'));
  const c = new AtomicBroadcastClient(req.orderer.address, creds(req, req.orderer.caFile));
  return new Promise((resolve, reject) => {
    const call = c.broadcast();
    call.on('data', (r) => {
      resolve({ status: r.getStatus(), info: r.getInfo() });
      call.end();
      c.close();
    });
    call.on('error', reject);
    call.write(env);
  });
}

const [mode, file] = process.argv.slice(2);
const req = JSON.parse(fs.readFileSync(file));
(mode === 'endorse' ? endorse(req) : submit(req)).then(
  (out) => process.stdout.write(JSON.stringify(out)),
  (err) => {
    console.error(String(err && err.stack ? err.stack : err));
    process.exit(1);
  },
);
