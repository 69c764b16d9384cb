#include "tx.h"

#include "rlp.h"

namespace weft::evm {

namespace {

Bytes encode_to(const std::optional<Address> &to) {
  if (!to) return rlp::encode_bytes({});
  return rlp::encode_bytes(*to);
}

// r and s are integers in the transaction: leading zero bytes go.
Bytes encode_word(std::span<const std::uint8_t> word) {
  std::size_t i = 0;
  while (i < word.size() && word[i] == 0)
    ++i;
  return rlp::encode_bytes(word.subspan(i));
}

std::vector<Bytes> legacy_fields(const LegacyTx &tx) {
  return {rlp::encode_uint(tx.nonce), rlp::encode_uint(tx.gas_price), rlp::encode_uint(tx.gas),
          encode_to(tx.to),           rlp::encode_uint(tx.value),     rlp::encode_bytes(tx.data)};
}

std::vector<Bytes> eip1559_fields(const Eip1559Tx &tx) {
  return {rlp::encode_uint(tx.chain_id), rlp::encode_uint(tx.nonce), rlp::encode_uint(tx.max_priority_fee),
          rlp::encode_uint(tx.max_fee),  rlp::encode_uint(tx.gas),   encode_to(tx.to),
          rlp::encode_uint(tx.value),    rlp::encode_bytes(tx.data), rlp::encode_list({})};
}

Bytes typed(std::uint8_t type, const Bytes &payload) {
  Bytes out{type};
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

} // namespace

Hash256 signing_hash(const LegacyTx &tx) {
  auto fields = legacy_fields(tx);
  if (tx.chain_id != 0) {
    fields.push_back(rlp::encode_uint(tx.chain_id));
    fields.push_back(rlp::encode_uint(0));
    fields.push_back(rlp::encode_uint(0));
  }
  return keccak256(rlp::encode_list(fields));
}

Hash256 signing_hash(const Eip1559Tx &tx) {
  return keccak256(typed(0x02, rlp::encode_list(eip1559_fields(tx))));
}

Bytes encode_signed(const LegacyTx &tx, std::span<const std::uint8_t, 65> sig) {
  auto fields = legacy_fields(tx);
  // v = recid + chainId*2 + 35 can exceed 64 bits for absurd chain ids; U256 keeps it exact.
  U256 v = tx.chain_id == 0 ? U256::from_u64(27u + (sig[64] & 1u))
                            : wrapping_add(wrapping_add(U256::from_u64(tx.chain_id), U256::from_u64(tx.chain_id)),
                                           U256::from_u64(35u + (sig[64] & 1u)));
  fields.push_back(rlp::encode_uint(v));
  fields.push_back(encode_word(sig.subspan<0, 32>()));
  fields.push_back(encode_word(sig.subspan<32, 32>()));
  return rlp::encode_list(fields);
}

Bytes encode_signed(const Eip1559Tx &tx, std::span<const std::uint8_t, 65> sig) {
  auto fields = eip1559_fields(tx);
  fields.push_back(rlp::encode_uint(static_cast<std::uint64_t>(sig[64] & 1u)));
  fields.push_back(encode_word(sig.subspan<0, 32>()));
  fields.push_back(encode_word(sig.subspan<32, 32>()));
  return typed(0x02, rlp::encode_list(fields));
}

Hash256 tx_hash(std::span<const std::uint8_t> raw) {
  return keccak256(raw);
}

Address address_of(std::span<const std::uint8_t, 64> pubkey) {
  Hash256 h = keccak256(std::span<const std::uint8_t>(pubkey));
  Address a;
  std::copy(h.begin() + 12, h.end(), a.begin());
  return a;
}

Address contract_address(const Address &sender, std::uint64_t nonce) {
  Hash256 h = keccak256(rlp::encode_list({rlp::encode_bytes(sender), rlp::encode_uint(nonce)}));
  Address a;
  std::copy(h.begin() + 12, h.end(), a.begin());
  return a;
}

} // namespace weft::evm
