// The RPC's one envelope and the answers written into it directly, the access log's summary, and the one table
// from adapter statuses to envelope codes.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "rpc/access_log.h"
#include "rpc/adapter_status.h"
#include "rpc/envelope.h"

using namespace weft;
namespace json = boost::json;

TEST_CASE("a success envelope carries version, code 0, \"Success\" and the data") {
  json::value v = json::parse(envelope_ok(json::object{{"stubTypes", json::array{"RefChain"}}}));
  const auto &o = v.as_object();
  CHECK(o.at("version") == "1");
  CHECK(o.at("errorCode") == 0);
  CHECK(o.at("message") == "Success");
  CHECK(o.at("data").at("stubTypes").as_array().size() == 1);
  CHECK(o.size() == 4);
}

TEST_CASE("an error envelope carries the code and message and a null data, written out") {
  std::string text = envelope_error({code::kPostData, "data.args must be an array of strings"});
  CHECK(text.find("\"data\":null") != std::string::npos);
  const auto o = json::parse(text).as_object();
  CHECK(o.at("errorCode") == 20203);
  CHECK(o.at("message") == "data.args must be an array of strings");
}

TEST_CASE("the envelope and a transaction's outcome written directly are the text boost::json writes") {
  // Control characters, quotes, backslashes, a slash, non-ASCII UTF-8 and DEL: escaped exactly as boost::json does.
  const std::vector<std::string> strings{"", "plain", "a\"b\\c/d", std::string("nul\0and\x01\x1f\x7f", 10),
                                         "\b\f\n\r\t", "caf\xc3\xa9 \xe2\x82\xac"};
  for (const auto &s : strings) {
    std::string out;
    append_json_string(out, s);
    CHECK(out == json::serialize(json::string(s)));
  }
  json::value data = json::object{{"a", json::array{1, "x\n"}}, {"b", nullptr}};
  CHECK(envelope_ok(data) == json::serialize(json::object{
                                 {"version", "1"}, {"errorCode", 0}, {"message", "Success"}, {"data", data}}));
  CHECK(envelope_ok_text("\"OK!\"") == R"({"version":"1","errorCode":0,"message":"Success","data":"OK!"})");

  TxOutcome t;
  t.error_code = 7;
  t.message = "resource \"store\" is locked";
  t.hash = "0xab";
  t.block_number = 42;
  t.result = {"v1", "line\nbreak", ""};
  t.timestamp = 1700000000123;
  for (json::value extra : {json::value(nullptr), json::value(json::array{"0x01", "0x02"})}) {
    t.extra_hashes = extra;
    json::array result(t.result.begin(), t.result.end());
    CHECK(tx_outcome_json(t) == json::serialize(json::object{{"errorCode", t.error_code},
                                                              {"message", t.message},
                                                              {"hash", t.hash},
                                                              {"extraHashes", t.extra_hashes},
                                                              {"blockNumber", t.block_number},
                                                              {"result", result},
                                                              {"timestamp", t.timestamp}}));
  }
}

TEST_CASE("the access log sums successes up at most once per interval, and the first one at once") {
  AccessLog log(std::chrono::milliseconds(1000));
  auto t0 = AccessLog::Clock::now();
  CHECK(log.count_success(t0) == 1); // the first success is told at once
  for (int i = 0; i < 99; ++i)
    CHECK(log.count_success(t0 + std::chrono::milliseconds(i)) == 0);
  CHECK(log.count_success(t0 + std::chrono::milliseconds(1000)) == 100); // 99 counted and this one
  CHECK(log.count_success(t0 + std::chrono::milliseconds(1500)) == 0);
  CHECK(log.count_success(t0 + std::chrono::milliseconds(2000)) == 2);
}

TEST_CASE("request versions accepted are WeCross's") {
  CHECK(supported_request_version("1"));
  CHECK(supported_request_version("0.1"));
  CHECK(supported_request_version("0.2"));
  CHECK_FALSE(supported_request_version("2"));
  CHECK_FALSE(supported_request_version(""));
}

TEST_CASE("every adapter status maps to one documented envelope code") {
  struct Case {
    int32_t status;
    int code;
  } cases[] = {
      {WEFT_E_INVALID_ARGUMENT, 44001}, {WEFT_E_NOT_FOUND, 44002}, {WEFT_E_UNSUPPORTED, 44003},
      {WEFT_E_TIMEOUT, 40200},          {WEFT_E_UNAVAILABLE, 40100}, {WEFT_E_REJECTED, 44006},
      {WEFT_E_ACCOUNT, 40300},          {WEFT_E_CANCELLED, 44010},  {WEFT_E_BUSY, 44009},
      {WEFT_E_INTERNAL, 41001},         {12345, 41001},
  };
  for (const auto &c : cases) {
    CAPTURE(c.status);
    Error e = error_from_status(c.status, "why");
    CHECK(e.code == c.code);
    CHECK(e.message == "why");
  }
  CHECK(error_from_status(WEFT_E_INTERNAL, "").message.find("status 10") != std::string::npos);
}
