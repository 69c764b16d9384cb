// The receipt of an executed transaction and its canonical encoding (the leaves of the receipt root are the
// SHA-256 hashes of these encodings).
//   tx_hash 32 | block_number u64 | index u32 | status u32 | message str | result (u32 count, strs) | from 20
//   | resource str | method str | args (u32 count, strs)          (str = u32 length + bytes)
#pragma once

#include "bytes.h"
#include "crypto.h"

#include <string>
#include <vector>

namespace weft::refchain {

struct Receipt {
  Hash tx_hash{};
  uint64_t block_number = 0;
  uint32_t index = 0;
  uint32_t status = 0; // 0 = ok; otherwise an ExecStatus (contract.h)
  std::string message;
  std::vector<std::string> result;
  Address from{};
  std::string resource;
  std::string method;
  std::vector<std::string> args;

  Bytes encode() const;
  Hash hash() const { return sha256(encode()); }
  static Receipt decode(ByteView bytes);
};

} // namespace weft::refchain
