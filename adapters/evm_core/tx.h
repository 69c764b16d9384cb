// Ethereum transactions as eth_sendRawTransaction takes them: EIP-155 legacy and EIP-1559 (type 2, empty access list);
// their signing hashes, signed serializations and hashes, and the addresses derived from keys and deployments.
// Signing itself stays outside: the host signs the signing hash and hands back r, s and the recovery id.
#pragma once

#include "hex.h"
#include "keccak.h"
#include "u256.h"

#include <cstdint>
#include <optional>
#include <span>

namespace weft::evm {

struct LegacyTx {
  std::uint64_t nonce = 0;
  U256 gas_price;
  std::uint64_t gas = 0;
  std::optional<Address> to; // nullopt: contract creation
  U256 value;
  Bytes data;
  std::uint64_t chain_id = 0;
};

struct Eip1559Tx {
  std::uint64_t chain_id = 0;
  std::uint64_t nonce = 0;
  U256 max_priority_fee;
  U256 max_fee;
  std::uint64_t gas = 0;
  std::optional<Address> to; // nullopt: contract creation
  U256 value;
  Bytes data;
};

// EIP-155: keccak256(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])). Chain id 0 means no replay
// protection (before EIP-155): keccak256(rlp([nonce, gasPrice, gas, to, value, data])).
Hash256 signing_hash(const LegacyTx &tx);
// EIP-1559: keccak256(0x02 || rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data, []])).
Hash256 signing_hash(const Eip1559Tx &tx);

// sig is r (32 bytes), s (32 bytes), recovery id (0 or 1) — libsecp256k1's compact recoverable form.
// Legacy: rlp([..., v = recid + chainId*2 + 35, r, s]) (v = recid + 27 for chain id 0); EIP-1559:
// 0x02 || rlp([..., [], yParity, r, s]).
// r and s are written as RLP integers (leading zeros dropped).
Bytes encode_signed(const LegacyTx &tx, std::span<const std::uint8_t, 65> sig);
Bytes encode_signed(const Eip1559Tx &tx, std::span<const std::uint8_t, 65> sig);

// The transaction hash of a signed serialization: keccak256 of the raw bytes.
Hash256 tx_hash(std::span<const std::uint8_t> raw);

// The account of a secp256k1 public key given as its 64 bytes x || y (uncompressed, without the 0x04 prefix).
Address address_of(std::span<const std::uint8_t, 64> pubkey);
// CREATE's address: the last 20 bytes of keccak256(rlp([sender, nonce])).
Address contract_address(const Address &sender, std::uint64_t nonce);

} // namespace weft::evm
