#include "bcos_tx.h"

#include "rlp.h"
#include "sm3.h"

#include <algorithm>

namespace weft::bcos {

namespace rlp = evm::rlp;

namespace {

Hash256 sm3_hasher(std::span<const std::uint8_t> d) {
  return sm3(d);
}

std::vector<Bytes> fields_of(const Tx2 &tx) {
  return {rlp::encode_uint(tx.random_id),
          rlp::encode_uint(tx.gas_price),
          rlp::encode_uint(tx.gas_limit),
          rlp::encode_uint(tx.block_limit),
          tx.to ? rlp::encode_bytes(*tx.to) : rlp::encode_bytes({}),
          rlp::encode_uint(tx.value),
          rlp::encode_bytes(tx.data),
          rlp::encode_uint(tx.chain_id),
          rlp::encode_uint(tx.group_id),
          rlp::encode_bytes(tx.extra_data)};
}

void put_be(Bytes &out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void append(Bytes &out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

} // namespace

evm::abi::Hasher hasher_of(Crypto c) {
  return c == Crypto::Sm ? &sm3_hasher : &evm::abi::keccak;
}

Hash256 hash_of(Crypto c, std::span<const std::uint8_t> data) {
  return c == Crypto::Sm ? sm3(data) : evm::keccak256(data);
}

Address address_of(Crypto c, std::span<const std::uint8_t, 64> pub) {
  const Hash256 h = hash_of(c, pub);
  Address a{};
  std::copy(h.begin() + 12, h.end(), a.begin());
  return a;
}

Hash256 signing_hash(const Tx2 &tx, Crypto c) {
  return hash_of(c, rlp::encode_list(fields_of(tx)));
}

Bytes encode_signed(const Tx2 &tx, std::span<const std::uint8_t> sig, std::span<const std::uint8_t, 64> pub, Crypto c) {
  auto items = fields_of(tx);
  if (c == Crypto::Ecdsa) {
    items.push_back(rlp::encode_uint(27u + sig[64]));
  } else {
    // The public key as a 64-byte string, whatever its first byte: the node reads v as an h512.
    items.push_back(rlp::encode_bytes(pub));
  }
  // r and s as RLP integers (leading zeros dropped), as the node's u256 encoding writes them.
  items.push_back(rlp::encode_uint(*U256::from_be_bytes(sig.subspan(0, 32))));
  items.push_back(rlp::encode_uint(*U256::from_be_bytes(sig.subspan(32, 32))));
  return rlp::encode_list(items);
}

Result<Signed2> decode_signed(std::span<const std::uint8_t> raw) {
  auto item = rlp::decode(raw);
  if (!item) return item.error();
  if (!item->is_list || item->items.size() != 13)
    return Error{0, "a FISCO BCOS 2.x transaction is an RLP list of 13 items"};
  for (const auto &i : item->items)
    if (i.is_list) return Error{0, "a FISCO BCOS 2.x transaction's items are byte strings"};
  auto num = [&](int i) { return U256::from_be_bytes(item->items[i].bytes); };
  Signed2 out;
  for (int i : {0, 1, 2, 3, 5, 7, 8, 11, 12})
    if (!num(i)) return Error{0, "item " + std::to_string(i) + " is longer than 32 bytes"};
  out.tx.random_id = *num(0);
  out.tx.gas_price = *num(1);
  out.tx.gas_limit = *num(2);
  out.tx.block_limit = *num(3);
  const auto &to = item->items[4].bytes;
  if (!to.empty()) {
    if (to.size() != 20) return Error{0, "'to' must be 20 bytes or empty"};
    Address a{};
    std::copy(to.begin(), to.end(), a.begin());
    out.tx.to = a;
  }
  out.tx.value = *num(5);
  out.tx.data = item->items[6].bytes;
  out.tx.chain_id = *num(7);
  out.tx.group_id = *num(8);
  out.tx.extra_data = item->items[9].bytes;
  out.v = item->items[10].bytes;
  out.r = num(11)->be;
  out.s = num(12)->be;
  return out;
}

Hash256 data_hash(const TxData3 &d, Crypto c) {
  Bytes buf;
  put_be(buf, static_cast<std::uint32_t>(d.version), 4);
  append(buf, d.chain_id);
  append(buf, d.group_id);
  put_be(buf, static_cast<std::uint64_t>(d.block_limit), 8);
  append(buf, d.nonce);
  append(buf, d.to);
  buf.insert(buf.end(), d.input.begin(), d.input.end());
  append(buf, d.abi);
  if (static_cast<std::uint32_t>(d.version) >= 1) {
    append(buf, d.value);
    append(buf, d.gas_price);
    put_be(buf, static_cast<std::uint64_t>(d.gas_limit), 8);
    append(buf, d.max_fee_per_gas);
    append(buf, d.max_priority_fee_per_gas);
  }
  if (static_cast<std::uint32_t>(d.version) >= 2) buf.insert(buf.end(), d.extension.begin(), d.extension.end());
  return hash_of(c, buf);
}

namespace {
void write_data(tars::Writer &w, const TxData3 &d) {
  w.int_field(1, d.version);
  if (!d.chain_id.empty()) w.string_field(2, d.chain_id);
  if (!d.group_id.empty()) w.string_field(3, d.group_id);
  w.int_field(4, d.block_limit);
  if (!d.nonce.empty()) w.string_field(5, d.nonce);
  if (!d.to.empty()) w.string_field(6, d.to);
  if (!d.input.empty()) w.bytes_field(7, d.input);
  if (!d.abi.empty()) w.string_field(8, d.abi);
  if (!d.value.empty()) w.string_field(9, d.value);
  if (!d.gas_price.empty()) w.string_field(10, d.gas_price);
  if (d.gas_limit != 0) w.int_field(11, d.gas_limit);
  if (!d.max_fee_per_gas.empty()) w.string_field(12, d.max_fee_per_gas);
  if (!d.max_priority_fee_per_gas.empty()) w.string_field(13, d.max_priority_fee_per_gas);
  if (!d.extension.empty()) w.bytes_field(14, d.extension);
}
std::string text(const Bytes &b) {
  return std::string(b.begin(), b.end());
}
} // namespace

Bytes encode(const TxData3 &d) {
  tars::Writer w;
  write_data(w, d);
  return w.bytes();
}

Bytes encode(const Tx3 &tx) {
  tars::Writer w;
  w.struct_begin(1);
  write_data(w, tx.data);
  w.struct_end();
  w.bytes_field(2, tx.data_hash);
  if (!tx.signature.empty()) w.bytes_field(3, tx.signature);
  if (tx.import_time != 0) w.int_field(4, tx.import_time);
  if (tx.attribute != 0) w.int_field(5, tx.attribute);
  if (!tx.sender.empty()) w.string_field(7, tx.sender);
  if (!tx.extra_data.empty()) w.string_field(8, tx.extra_data);
  return w.bytes();
}

Result<TxData3> decode_data(std::span<const std::uint8_t> bytes) {
  auto fields = tars::read_struct(bytes);
  if (!fields) return fields.error();
  TxData3 d;
  for (const auto &f : *fields) {
    switch (f.tag) {
    case 1:
      d.version = static_cast<std::int32_t>(f.integer);
      break;
    case 2:
      d.chain_id = text(f.bytes);
      break;
    case 3:
      d.group_id = text(f.bytes);
      break;
    case 4:
      d.block_limit = f.integer;
      break;
    case 5:
      d.nonce = text(f.bytes);
      break;
    case 6:
      d.to = text(f.bytes);
      break;
    case 7:
      d.input = f.bytes;
      break;
    case 8:
      d.abi = text(f.bytes);
      break;
    case 9:
      d.value = text(f.bytes);
      break;
    case 10:
      d.gas_price = text(f.bytes);
      break;
    case 11:
      d.gas_limit = f.integer;
      break;
    case 12:
      d.max_fee_per_gas = text(f.bytes);
      break;
    case 13:
      d.max_priority_fee_per_gas = text(f.bytes);
      break;
    case 14:
      d.extension = f.bytes;
      break;
    default:
      break; // fields of later versions
    }
  }
  return d;
}

Result<Tx3> decode_tx(std::span<const std::uint8_t> bytes) {
  auto fields = tars::read_struct(bytes);
  if (!fields) return fields.error();
  Tx3 tx;
  bool have_data = false;
  for (const auto &f : *fields) {
    switch (f.tag) {
    case 1: {
      if (f.type != tars::kStructBegin) return Error{0, "Transaction.data is not a struct"};
      auto d = decode_data(f.bytes);
      if (!d) return d.error();
      tx.data = std::move(*d);
      have_data = true;
      break;
    }
    case 2:
      if (f.bytes.size() != 32) return Error{0, "Transaction.dataHash must be 32 bytes"};
      std::copy(f.bytes.begin(), f.bytes.end(), tx.data_hash.begin());
      break;
    case 3:
      tx.signature = f.bytes;
      break;
    case 4:
      tx.import_time = f.integer;
      break;
    case 5:
      tx.attribute = static_cast<std::int32_t>(f.integer);
      break;
    case 7:
      tx.sender = text(f.bytes);
      break;
    case 8:
      tx.extra_data = text(f.bytes);
      break;
    default:
      break;
    }
  }
  if (!have_data) return Error{0, "the transaction has no data"};
  return tx;
}

Bytes signature3(std::span<const std::uint8_t> sig, std::span<const std::uint8_t, 64> pub, Crypto c) {
  if (c == Crypto::Ecdsa) return Bytes(sig.begin(), sig.begin() + 65);
  Bytes out(sig.begin(), sig.begin() + 64);
  out.insert(out.end(), pub.begin(), pub.end());
  return out;
}

} // namespace weft::bcos
