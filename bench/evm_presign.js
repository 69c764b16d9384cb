// Signs the direct baseline's transactions for bench/evm_bench.py with ethers: node evm_presign.js KEY CHAIN_ID TO
// NONCE COUNT GAS MAX_FEE TIP DATA OUT.json. EIP-1559, as the router's EVM adapter sends them.
const fs = require("fs");
const { Wallet, Transaction } = require("ethers");

const [key, chainId, to, nonce, count, gas, maxFee, tip, data, out] = process.argv.slice(2);
const wallet = new Wallet(key);
const raws = [];
for (let i = 0; i < Number(count); i++) {
  const tx = Transaction.from({
    type: 2, chainId: BigInt(chainId), to, nonce: Number(nonce) + i, gasLimit: BigInt(gas),
    maxFeePerGas: BigInt(maxFee), maxPriorityFeePerGas: BigInt(tip), value: 0n, data,
  });
  tx.signature = wallet.signingKey.sign(tx.unsignedHash);
  raws.push(tx.serialized);
}
fs.writeFileSync(out, JSON.stringify(raws));
