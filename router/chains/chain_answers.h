// The adapters' answers as typed structs: every verb's JSON is parsed and type-checked here, once, so the
// routes work with values and an adapter that answers garbage is a clear 41001 naming the field.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <weft/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// WeCross's TransactionResponse: the outcome of a call or a committed transaction.
struct TxOutcome {
  int64_t error_code = 0;
  std::string message = "Success";
  std::string hash;
  boost::json::value extra_hashes; // array or null
  int64_t block_number = 0;
  std::vector<std::string> result;
  int64_t timestamp = 0;
};

struct BlockHeader {
  uint64_t number = 0;
  std::string hash;
  std::string prev_hash;
  std::string transaction_root;
  std::string receipt_root;
  std::string state_root;
  int64_t timestamp = 0; // ms
};

struct Block {
  BlockHeader header;
  std::vector<std::string> tx_hashes;
  boost::json::object native; // the adapter's whole answer
};

struct Receipt {
  std::string tx_hash;
  uint64_t block_number = 0;
  int64_t error_code = 0;
  std::string message;
  std::string resource; // resource name on its chain, "" if the chain does not say
  std::string method;
  std::vector<std::string> args;
  std::vector<std::string> result;
  std::string from;
  int64_t timestamp = 0;
  std::string xa_transaction_id; // "" when not part of an XA transaction
  int64_t xa_transaction_seq = 0;
  std::optional<std::string> tx_bytes;      // hex, when the adapter gives the raw bytes
  std::optional<std::string> receipt_bytes; // hex
  boost::json::object native;
};

struct ChainInfo {
  uint64_t height = 0;
  int64_t block_time_ms = 0;
  uint64_t finality_blocks = 0;
  uint64_t block_interval_ms = 0;
  bool xa_start_in_step = false; // a step's options.XA_START starts the XA branch in the step's own transaction
};

struct ListedResource {
  std::string name;
  boost::json::object properties;
};

// Each takes the adapter's answer text and the chain's path (for messages).
Result<boost::json::object> parse_object(std::string_view json, const std::string &chain);
Result<TxOutcome> parse_tx_outcome(std::string_view json, const std::string &chain);
Result<Block> parse_block(std::string_view json, const std::string &chain);
Result<Receipt> parse_receipt(std::string_view json, const std::string &chain);
Result<uint64_t> parse_height(std::string_view json, const std::string &chain);
Result<ChainInfo> parse_chain_info(std::string_view json, const std::string &chain);
Result<std::vector<ListedResource>> parse_resources(std::string_view json, const std::string &chain);
Result<std::string> parse_address(std::string_view json, const std::string &chain);

} // namespace weft
