// FISCO BCOS's JSON answers, as its documentation prints them, read into the router's shapes: numbers as 2.x hex
// strings, 3.x integers and 3.x decimal strings, 2.x and 3.x blocks, and revert reasons found in a receipt's output.
#include <doctest/doctest.h>

#include "bcos_answers.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace weft;
using namespace weft::bcos;
namespace json = boost::json;

namespace {
json::object obj(const char *text) {
  return json::parse(text).as_object();
}
} // namespace

TEST_CASE("numbers in every form the two versions write") {
  const json::value hex = "0x1a", dec = "26", integer = 26, bad = "0xzz", neg = -1;
  CHECK(number_of(&hex) == 26u);
  CHECK(number_of(&dec) == 26u);
  CHECK(number_of(&integer) == 26u);
  CHECK_FALSE(number_of(&bad));
  CHECK_FALSE(number_of(&neg));
  CHECK_FALSE(number_of(nullptr));
  CHECK(status_name(Version::V2, 0x16) == "RevertInstruction");
  CHECK(status_name(Version::V3, 16) == "RevertInstruction");
  CHECK(status_name(Version::V2, 0) == "Success");
}

TEST_CASE("2.x: the receipt of the getTransactionReceipt example") {
  // FISCO-BCOS/FISCO-BCOS-DOC (commit 7de7543b), 2.x/en/docs/api.md, getTransactionReceipt (logsBloom and the long
  // input left out).
  auto r = receipt_answer(obj(R"({
        "blockHash": "0x977efec48c248ea4be87016446b40d7785d7b71b7d4e3aa0b103b9cf0f5fe19e",
        "blockNumber": "0xa",
        "contractAddress": "0x0000000000000000000000000000000000000000",
        "from": "0xcdcce60801c0a2e6bb534322c32ae528b9dec8d2",
        "gasUsed": "0x1fb8d",
        "logs": [ ],
        "output": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "root":"0x38723a2e5e8a17aa7950dc008209944e898f69a7bd10a23c839d341e935fd5ca",
        "status": "0x0",
        "to": "0x15538acd403ac1b2ff09083c70d04856b8c0bdfd",
        "transactionHash": "0x708b5781b62166bd86e543217be6cd954fd815fd192b9a124ee9327580df8f3f",
        "transactionIndex": "0x0"})"),
                          Version::V2, {});
  CHECK(r["txHash"] == "0x708b5781b62166bd86e543217be6cd954fd815fd192b9a124ee9327580df8f3f");
  CHECK(r["blockNumber"] == 10);
  CHECK(r["gasUsed"] == 0x1fb8d);
  CHECK(r["errorCode"] == 0);
  CHECK(r["message"] == "Success");
  CHECK(r["index"] == 0);
  CHECK(r["to"] == "0x15538acd403ac1b2ff09083c70d04856b8c0bdfd");
}

TEST_CASE("3.x: the receipt of the getTransactionReceipt example, and a revert reason in the output") {
  // FISCO-BCOS-DOC (commit 7de7543b), 3.x/zh_CN/docs/develop/api.md, getTransactionReceipt (input left out): a
  // deployment, so `to` is "".
  auto r = receipt_answer(obj(R"({
        "blockNumber": 2,
        "checksumContractAddress": "0x82A3c3289a9F234A38AcEED3016D1fF0E0F922B3",
        "contractAddress": "0x82a3c3289a9f234a38aceed3016d1ff0e0f922b3",
        "extraData": "", "from": "0xf3293c3452b3b0479e64a4c612e8c1b0da5fe1af", "gasUsed": "24363",
        "hash": "0xf18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14",
        "logEntries": [], "message": "", "output": "0x", "status": 0, "to": "",
        "transactionHash": "0xdce357d4a81bfe2c9b9cc83fde7576a8ae8dede910b70cdf9abed71a32ed10bf", "version": 0})"),
                          Version::V3, {});
  CHECK(r["blockNumber"] == 2);
  CHECK(r["gasUsed"] == 24363);
  CHECK(r["errorCode"] == 0);
  CHECK(r["contractAddress"] == "0x82a3c3289a9f234a38aceed3016d1ff0e0f922b3");
  CHECK(r["to"] == "");
  // FISCO-BCOS/java-sdk (commit cd6fe37a), src/test/java/.../transaction/codec/TransactionDecodeTest.java: a receipt
  // with status "12" and Error("test string") in its output; the reason is decoded.
  auto e =
      receipt_answer(obj(R"({"blockNumber": "11", "status": "12", "from": "0xcdcce60801c0a2e6bb534322c32ae528b9dec8d2",
        "to": "15538acd403ac1b2ff09083c70d04856b8c0bdfd", "gasUsed": "0x1fb8d",
        "output": "0x08c379a00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000b7465737420737472696e67000000000000000000000000000000000000000000",
        "transactionHash": "0x708b5781b62166bd86e543217be6cd954fd815fd192b9a124ee9327580df8f3f", "logEntries": []})"),
                     Version::V3, {});
  CHECK(e["errorCode"] == 12);
  CHECK(e["message"] == "status 12: test string");
  CHECK(e["blockNumber"] == 11);
  CHECK(e["to"] == "0x15538acd403ac1b2ff09083c70d04856b8c0bdfd");
}

TEST_CASE("blocks of both versions") {
  // FISCO-BCOS-DOC (commit 7de7543b), 2.x/en/docs/api.md, getBlockByHash with full transactions (trimmed).
  auto b2 = block_answer(obj(R"({"hash": "0xfa639d1454362a8cdfcab1ca1948a5defaf7048b28f67e80780ab1e24e8f8c59",
        "number": "0x1", "parentHash": "0x249f59e00beac8424a7821c4750fdd70c128f4ce795afbab53f345e9fce95d1a",
        "receiptsRoot": "0x69a04fa6073e4fc0947bac7ee6990e788d1e2c5ec0fe6c2436d0892e7f3c09d2", "sealer": "0x0",
        "sealerList": ["4ca3a91a4937355dba6a2e5fe76141479a1fc44e9caa86750092dab64e0b8382f6b8476749c2d2de414350a54491620d38813d2a1442f524e36e3d9946109c4d"],
        "signatureList": [{"index": "0x0", "signature": "0x4602"}],
        "stateRoot": "0x0000000000000000000000000000000000000000000000000000000000000000", "timestamp": "0x175ac38cf10",
        "transactions": [{"hash": "0x3961fac263d8e640b148ddcfafd71d2069e93a006abc937c32fb16cfa96e661d"}],
        "transactionsRoot": "0xb880b08df3b43a9ffc334d7a526522b33e004ef95403d61d76454b6085b9b2f1"})"),
                         1);
  CHECK(b2["number"] == 1);
  CHECK(b2["timestamp"] == 1604912205584);
  CHECK(b2["parentHash"] == "0x249f59e00beac8424a7821c4750fdd70c128f4ce795afbab53f345e9fce95d1a");
  CHECK(b2["txCount"] == 1);
  CHECK(json::serialize(b2["transactions"]) ==
        R"(["0x3961fac263d8e640b148ddcfafd71d2069e93a006abc937c32fb16cfa96e661d"])");
  CHECK(b2["transactionsRoot"] == "0xb880b08df3b43a9ffc334d7a526522b33e004ef95403d61d76454b6085b9b2f1");
  CHECK(b2["sealerList"].as_array().size() == 1);
  // 3.x/zh_CN/docs/develop/api.md, getBlockByNumber (the genesis block; extraData left out), and a later block's
  // parentInfo.
  auto b3 = block_answer(obj(R"({"consensusWeights": [], "gasUsed": "0",
        "hash": "0x47c6d9493171f62bf7201faa2e4766bbf058d95c0d76d605f965ff4b212e01f5", "number": 0, "parentInfo": [],
        "receiptsRoot": "0x0000000000000000000000000000000000000000000000000000000000000000", "sealer": 0,
        "sealerList": [], "signatureList": [], "stateRoot": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "timestamp": 0, "transactions": [], "txsRoot": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "version": 50528256})"),
                         0);
  CHECK(b3["number"] == 0);
  CHECK(b3["hash"] == "0x47c6d9493171f62bf7201faa2e4766bbf058d95c0d76d605f965ff4b212e01f5");
  CHECK(b3["parentHash"] == "");
  CHECK(b3["txCount"] == 0);
  auto b3b = block_answer(
      obj(R"({"number": 5, "timestamp": 1700000005000, "parentInfo": [{"blockHash": "0xab", "blockNumber": 4}],
        "transactions": ["0x01"], "txsRoot": "0xcd"})"),
      5);
  CHECK(b3b["parentHash"] == "0xab");
  CHECK(b3b["transactionsRoot"] == "0xcd");
  CHECK(b3b["timestamp"] == 1700000005000);
}
