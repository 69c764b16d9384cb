// FISCO BCOS transactions as the node takes them (../shared/protocols/fisco-bcos.md, items 1-9):
// - 2.x: an RLP list [randomid, gasPrice, gasLimit, blockLimit, to, value, data, chainId, groupId, extraData, v, r, s];
//   the signing hash is H(RLP of the first ten), the transaction hash H(RLP of all thirteen). ECDSA: v = 27 + recid.
//   SM (guomi): v is the signer's 64-byte public key and r, s the SM2 signature.
// - 3.x: TARS Transaction {1 data: TransactionData, 2 dataHash, 3 signature, 4 importTime, 5 attribute, 7 sender,
//   8 extraData}; the hash is over the data's fields one after the other, not over the TARS bytes. ECDSA signature
//   r || s || recid; SM2 r || s || public key.
// H is Keccak-256, or SM3 on guomi chains. Signing itself stays with the host.
#pragma once

#include "abi.h"
#include "hex.h"
#include "keccak.h"
#include "tars.h"
#include "u256.h"

#include <weft/error.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace weft::bcos {

using evm::Address;
using evm::Bytes;
using evm::Hash256;
using evm::U256;

enum class Crypto { Ecdsa, Sm };

// Keccak-256 or SM3, as the ABI's Hasher.
evm::abi::Hasher hasher_of(Crypto c);
Hash256 hash_of(Crypto c, std::span<const std::uint8_t> data);
// The account of a 64-byte public key (x || y): the last 20 bytes of H(key).
Address address_of(Crypto c, std::span<const std::uint8_t, 64> pub);

// ---- FISCO BCOS 2.x ----

struct Tx2 {
  U256 random_id;
  U256 gas_price;
  U256 gas_limit;
  U256 block_limit;
  std::optional<Address> to; // nullopt: deployment
  U256 value;
  Bytes data;
  U256 chain_id;
  U256 group_id;
  Bytes extra_data;
};

Hash256 signing_hash(const Tx2 &tx, Crypto c);
// sig: 65 bytes r || s || recid (ECDSA), or 64 bytes r || s (SM2) with pub the signer's 64-byte key.
Bytes encode_signed(const Tx2 &tx, std::span<const std::uint8_t> sig, std::span<const std::uint8_t, 64> pub, Crypto c);

// A signed 2.x transaction read back: its fields, and v, r, s as the RLP carries them (r and s as 32 bytes).
struct Signed2 {
  Tx2 tx;
  Bytes v;
  std::array<std::uint8_t, 32> r{}, s{};
};
Result<Signed2> decode_signed(std::span<const std::uint8_t> raw);

// ---- FISCO BCOS 3.x ----

struct TxData3 {
  std::int32_t version = 0;
  std::string chain_id;
  std::string group_id;
  std::int64_t block_limit = 0;
  std::string nonce;
  std::string to; // as written: "" to deploy; the hash covers the exact text
  Bytes input;
  std::string abi;
  // Version 1 and later: value and fees as hex text ("0x1"; the node refuses other text), and the gas limit;
  // version 2: extension. This adapter writes version 0 and leaves them empty.
  std::string value;
  std::string gas_price;
  std::int64_t gas_limit = 0;
  std::string max_fee_per_gas;
  std::string max_priority_fee_per_gas;
  Bytes extension;
};

struct Tx3 {
  TxData3 data;
  Hash256 data_hash{};
  Bytes signature;
  std::int64_t import_time = 0;
  std::int32_t attribute = 0;
  std::string sender;
  std::string extra_data;
};

// H(int32 BE version || chainID || groupID || int64 BE blockLimit || nonce || to || input || abi), then for version >=
// 1
// || value || gasPrice || int64 BE gasLimit || maxFeePerGas || maxPriorityFeePerGas, and for version >= 2 || extension.
Hash256 data_hash(const TxData3 &d, Crypto c);
Bytes encode(const TxData3 &d);
Bytes encode(const Tx3 &tx);
Result<TxData3> decode_data(std::span<const std::uint8_t> tars);
Result<Tx3> decode_tx(std::span<const std::uint8_t> tars);
// The 3.x signature from what the host gives: ECDSA 65 bytes r || s || recid as it is; SM2 r || s || public key.
Bytes signature3(std::span<const std::uint8_t> sig, std::span<const std::uint8_t, 64> pub, Crypto c);

} // namespace weft::bcos
