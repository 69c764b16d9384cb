// The RPC's one envelope, and the one table from adapter statuses to envelope codes.
#include <doctest/doctest.h>

#include <boost/json.hpp>

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
