#include "transaction.h"

#include "error.h"

#include <openssl/rand.h>

namespace weft::refchain {

namespace {
void write_unsigned(Writer &w, const Transaction &tx) {
  w.u8(tx.version);
  w.u64(tx.chain_id);
  w.raw(tx.nonce);
  w.u64(tx.block_limit);
  w.str(tx.resource);
  w.str(tx.method);
  if (tx.args.size() > kMaxArgs) throw Error(WEFT_E_INVALID_ARGUMENT, "too many arguments (limit 256)");
  w.u32(static_cast<uint32_t>(tx.args.size()));
  for (const auto &a : tx.args)
    w.str(a);
}
} // namespace

Bytes Transaction::encode_unsigned() const {
  Writer w;
  write_unsigned(w, *this);
  return w.take();
}

Bytes Transaction::encode() const {
  Writer w;
  write_unsigned(w, *this);
  w.raw(signature);
  return w.take();
}

Transaction Transaction::decode(ByteView bytes) {
  if (bytes.size() > kMaxTxBytes)
    throw DecodeError("oversized transaction: " + std::to_string(bytes.size()) + " bytes, limit " +
                      std::to_string(kMaxTxBytes));
  Reader r(bytes);
  Transaction tx;
  tx.version = r.u8("version");
  if (tx.version != kTxVersion)
    throw DecodeError("unknown transaction version " + std::to_string(tx.version) + " (this chain speaks 1)");
  tx.chain_id = r.u64("chain_id");
  tx.nonce = r.fixed<16>("nonce");
  tx.block_limit = r.u64("block_limit");
  tx.resource = r.str(kMaxNameBytes, "resource");
  tx.method = r.str(kMaxNameBytes, "method");
  uint32_t n = r.u32("argument count");
  if (n > kMaxArgs)
    throw DecodeError("too many arguments: " + std::to_string(n) + ", limit " + std::to_string(kMaxArgs));
  tx.args.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    tx.args.push_back(r.str(kMaxTxBytes, "argument"));
  tx.signature = r.fixed<65>("signature");
  r.expect_end("transaction");
  return tx;
}

VerifiedTx verify_transaction(Transaction tx, uint64_t chain_id) {
  if (tx.chain_id != chain_id)
    throw Error(WEFT_E_REJECTED, "transaction is for chain id " + std::to_string(tx.chain_id) + ", this chain is " +
                                     std::to_string(chain_id));
  VerifiedTx v;
  v.sender = address_of(recover_signer(tx.signing_digest(), tx.signature));
  v.hash = tx.hash();
  v.tx = std::move(tx);
  return v;
}

Nonce random_nonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) throw Error(WEFT_E_INTERNAL, "RAND_bytes failed");
  return n;
}

} // namespace weft::refchain
