// Adapters' answers as the router reads them: JSON text from a plugin that speaks for a chain the router does not
// control. Every parser answers a value or an error naming the field; a transaction outcome that parses is written
// back by tx_outcome_json exactly as boost::json would write the same object, which checks the hand-written JSON
// string escaping against the library's on every string the fuzzer finds.
#include "fuzz_check.h"

#include "chains/chain_answers.h"
#include "rpc/envelope.h"

#include <boost/json/serialize.hpp>

#include <string_view>

using namespace weft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  const std::string chain = "payment.fuzz";
  (void)parse_block(text, chain);
  (void)parse_receipt(text, chain);
  (void)parse_height(text, chain);
  (void)parse_chain_info(text, chain);
  (void)parse_resources(text, chain);
  (void)parse_address(text, chain);

  std::string direct;
  append_json_string(direct, text);
  FUZZ_CHECK(direct == boost::json::serialize(boost::json::string(text)),
             "append_json_string differs from boost::json::serialize");

  auto t = parse_tx_outcome(text, chain);
  if (!t.ok()) return 0;
  boost::json::array result;
  for (const auto &r : t->result)
    result.emplace_back(r);
  boost::json::object o{{"errorCode", t->error_code}, {"message", t->message},
                        {"hash", t->hash},            {"extraHashes", t->extra_hashes},
                        {"blockNumber", t->block_number}, {"result", std::move(result)},
                        {"timestamp", t->timestamp}};
  FUZZ_CHECK(tx_outcome_json(*t) == boost::json::serialize(o), "tx_outcome_json differs from boost::json::serialize");
  return 0;
}
