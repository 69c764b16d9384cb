// The Fabric benchmark's baseline: the same transactions the router sends, sent by Fabric's official Node client
// (fabric-network 2.2, classic path: endorse on both orgs' peers, order, wait for the commit event of the client's
// org) straight to the network. Reads a JSON job on stdin:
//   {profile, channel, chaincode, mspId, cert, key, tlsCert, tlsKey, count, concurrency, prefix}
// and prints one JSON line: {count, errors, seconds, tps, p50_ms, p99_ms}.
'use strict';
const fs = require('fs');
const { Gateway, Wallets, DefaultEventHandlerStrategies } = require('fabric-network');

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : 0;
}

async function main() {
  const job = JSON.parse(fs.readFileSync(0, 'utf8'));
  const wallet = await Wallets.newInMemoryWallet();
  const read = (f) => fs.readFileSync(f, 'utf8');
  await wallet.put('user', { credentials: { certificate: read(job.cert), privateKey: read(job.key) }, mspId: job.mspId, type: 'X.509' });
  await wallet.put('tls', { credentials: { certificate: read(job.tlsCert), privateKey: read(job.tlsKey) }, mspId: job.mspId, type: 'X.509' });
  const gateway = new Gateway();
  await gateway.connect(job.profile, {
    wallet,
    identity: 'user',
    clientTlsIdentity: 'tls',
    discovery: { enabled: false, asLocalhost: false },
    eventHandlerOptions: { strategy: DefaultEventHandlerStrategies.MSPID_SCOPE_ANYFORTX, commitTimeout: 60 },
  });
  const contract = (await gateway.getNetwork(job.channel)).getContract(job.chaincode);
  // One warm-up transaction: connections and the event service up before the clock starts, as on the router's side.
  await contract.submitTransaction('set', `${job.prefix}-warm`, 'w');
  const latencies = [];
  let next = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= job.count) return;
      const t0 = process.hrtime.bigint();
      try {
        await contract.submitTransaction('set', `${job.prefix}-${i}`, String(i));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (e) {
        errors++;
        if (errors <= 3) console.error(`direct send ${i} failed: ${e.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  gateway.disconnect();
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    count: latencies.length, errors, seconds, tps: latencies.length / seconds,
    p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99),
  }));
}

main().then(() => process.exit(0), (e) => {
  console.error(`fabric direct benchmark failed: ${e.stack || e}`);
  process.exit(1);
});
