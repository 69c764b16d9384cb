// Adapters' answers parsed once into typed values: good answers in every accepted form, and garbage refused with
// 41001 naming the field.
#include <doctest/doctest.h>

#include "chains/chain_answers.h"

using namespace weft;

TEST_CASE("a transaction response is read with WeCross's defaults") {
  auto t = parse_tx_outcome(R"({"result":["a"],"hash":"0x01","blockNumber":5,"timestamp":9})", "z.c");
  REQUIRE(t.ok());
  CHECK(t->error_code == 0);
  CHECK(t->message == "Success");
  CHECK(t->result == std::vector<std::string>{"a"});
  CHECK(t->block_number == 5);
  CHECK(t->extra_hashes.is_null());
  auto bad = parse_tx_outcome(R"({"result":[1]})", "z.c");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == code::kChainInternal);
  CHECK(bad.error().message == "adapter of z.c answered a transaction response whose 'result' is not an array of strings");
  CHECK(parse_tx_outcome("not json", "z.c").error().code == code::kChainInternal);
  CHECK(parse_tx_outcome("[1]", "z.c").error().code == code::kChainInternal);
  CHECK_FALSE(parse_tx_outcome(R"({"blockNumber":"5"})", "z.c").ok());
}

TEST_CASE("a block's header is read under either spelling of its roots") {
  auto b = parse_block(R"({"number":3,"hash":"0xb3","parentHash":"0xb2","transactionsRoot":"0xt","receiptsRoot":"0xr",)"
                       R"("stateHash":"0xs","timestamp":1700000000000,"transactions":["0x1","0x2"],"proposer":"p"})",
                       "z.c");
  REQUIRE(b.ok());
  CHECK(b->header.number == 3);
  CHECK(b->header.prev_hash == "0xb2");
  CHECK(b->header.transaction_root == "0xt");
  CHECK(b->header.receipt_root == "0xr");
  CHECK(b->header.state_root == "0xs");
  CHECK(b->tx_hashes.size() == 2);
  CHECK(b->native.at("proposer") == "p"); // the adapter's own fields stay
  auto wecross = parse_block(R"({"number":1,"hash":"h","prevHash":"p","transactionRoot":"t","receiptRoot":"r",)"
                             R"("stateRoot":"s"})",
                             "z.c");
  REQUIRE(wecross.ok());
  CHECK(wecross->header.prev_hash == "p");
  CHECK(wecross->header.state_root == "s");
  CHECK_FALSE(parse_block(R"({"hash":"h"})", "z.c").ok()); // no number
  CHECK_FALSE(parse_block(R"({"number":-1,"hash":"h"})", "z.c").ok());
  CHECK_FALSE(parse_block(R"({"number":1,"hash":7})", "z.c").ok());
}

TEST_CASE("a receipt, chain_info, a height, resources and an address") {
  auto r = parse_receipt(R"({"txHash":"0xaa","blockNumber":4,"errorCode":2,"message":"no","resource":"store",)"
                         R"("method":"set","args":["k"],"from":"0xf","xaTransactionID":"x","xaTransactionSeq":7})",
                         "z.c");
  REQUIRE(r.ok());
  CHECK(r->error_code == 2);
  CHECK(r->resource == "store");
  CHECK(r->xa_transaction_seq == 7);
  CHECK_FALSE(r->tx_bytes.has_value());
  CHECK_FALSE(parse_receipt(R"({"txHash":"0xaa"})", "z.c").ok());

  auto info = parse_chain_info(R"({"height":9,"blockTime":1700000000000,"finalityBlocks":0,"blockIntervalMs":100})",
                               "z.c");
  REQUIRE(info.ok());
  CHECK(info->block_time_ms == 1700000000000);
  CHECK_FALSE(info->xa_start_in_step); // absent: the chain's branches start at startXATransaction
  auto in_step = parse_chain_info(
      R"({"height":9,"blockTime":1,"finalityBlocks":0,"blockIntervalMs":100,"xaStartInStep":true})", "z.c");
  REQUIRE(in_step.ok());
  CHECK(in_step->xa_start_in_step);
  auto bad = parse_chain_info(
      R"({"height":9,"blockTime":1,"finalityBlocks":0,"blockIntervalMs":100,"xaStartInStep":"yes"})", "z.c");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("xaStartInStep") != std::string::npos);
  CHECK_FALSE(parse_chain_info(R"({"height":9})", "z.c").ok());

  CHECK(*parse_height(R"({"height":12})", "z.c") == 12);
  CHECK_FALSE(parse_height(R"({"height":"12"})", "z.c").ok());

  auto res = parse_resources(R"({"resources":[{"name":"a","properties":{"x":"1"}},{"name":"b"}]})", "z.c");
  REQUIRE(res.ok());
  CHECK(res->size() == 2);
  CHECK((*res)[0].properties.at("x") == "1");
  CHECK_FALSE(parse_resources(R"({"resources":[{"properties":{}}]})", "z.c").ok());
  CHECK_FALSE(parse_resources(R"({})", "z.c").ok());

  CHECK(*parse_address(R"({"address":"0xab"})", "z.c") == "0xab");
  CHECK_FALSE(parse_address(R"({})", "z.c").ok());
}
