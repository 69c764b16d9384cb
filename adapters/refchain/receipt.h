// The receipt of an executed transaction and its canonical encoding (the leaves of the receipt root are the
// SHA-256 hashes of these encodings).
//   tx_hash 32 | block_number u64 | index u32 | status u32 | message str | result (u32 count, strs) | from 20
//   | resource str | method str | args (u32 count, strs)          (str = u32 length + bytes)
//   [ "EVT1" | u32 count | per event: resource str | name str | data str ]   only when there are events
// The event section is appended only when non-empty, so a receipt without events encodes (and hashes) exactly as
// before events existed: the receipt roots of existing chains do not change.
#pragma once

#include "bytes.h"
#include "crypto.h"

#include <array>
#include <string>
#include <vector>

namespace weft::refchain {

// An event a contract emitted while its transaction ran; data is a JSON object's text, as the contract wrote it.
struct Event {
  std::string resource;
  std::string name;
  std::string data;
  bool operator==(const Event &) const = default;
};

// Marks the event section of a receipt's encoding.
inline constexpr std::array<uint8_t, 4> kReceiptEventsMarker = {'E', 'V', 'T', '1'};

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
  std::vector<Event> events; // empty when the transaction failed: its events die with its writes

  Bytes encode() const;
  Hash hash() const { return sha256(encode()); }
  static Receipt decode(ByteView bytes);
};

} // namespace weft::refchain
