// The FISCO BCOS adapter's options, checked in full: the stub type picks the version and the crypto, every key is
// validated with a message naming it, SM TLS is refused with its reason, and GM chains make selectors with SM3.
#include <doctest/doctest.h>

#include "bcos_config.h"

#include <weft/adapter.hpp>

#include <fstream>
#include <string>

using namespace weft;
using namespace weft::bcos;

namespace {

const std::string kAbi =
    R"([{"inputs":[{"name":"v","type":"string"}],"name":"set","outputs":[],"stateMutability":"nonpayable","type":"function"}])";

std::string error_of(const std::string &stub, const std::string &json, int32_t *status = nullptr) {
  try {
    parse_bcos_config(stub, json);
  } catch (const plugin::Failure &f) {
    if (status) *status = f.status;
    return f.message;
  }
  FAIL("no error for " << json);
  return "";
}

} // namespace

TEST_CASE("the stub type sets version and crypto; defaults are FISCO BCOS's") {
  auto c2 = parse_bcos_config("BCOS2.0", R"({"url":"http://127.0.0.1:8545"})");
  CHECK(c2.version == Version::V2);
  CHECK(c2.crypto == Crypto::Ecdsa);
  CHECK(c2.group2 == 1);
  CHECK(c2.chain_id2 == 1);
  auto g3 = parse_bcos_config("GM_BCOS3", R"({"url":"http://127.0.0.1:20200","group":"group1","chain_id":"c1"})");
  CHECK(g3.version == Version::V3);
  CHECK(g3.crypto == Crypto::Sm);
  CHECK(g3.group3 == "group1");
  CHECK(g3.chain_id3 == "c1");
  int32_t status = 0;
  CHECK(error_of("EVM", "{}", &status).find("BCOS2.0, GM_BCOS2.0, BCOS3 and GM_BCOS3") != std::string::npos);
  CHECK(status == WEFT_E_UNSUPPORTED);
}

TEST_CASE("GM chains make selectors with SM3, others with Keccak") {
  auto gm = parse_bcos_config("GM_BCOS2.0", R"({"url":"http://h:1","resources":[{"name":"s","address":"0x)" +
                                                std::string(40, '1') + R"(","abi":)" + kAbi + "}]}");
  auto ec = parse_bcos_config("BCOS3", R"({"url":"http://h:1","resources":[{"name":"s","address":"0x)" +
                                           std::string(40, '1') + R"(","abi":)" + kAbi + "}]}");
  CHECK(evm::to_hex(gm.resources[0].abi->functions[0].selector) == "0x3590b49f");
  CHECK(evm::to_hex(ec.resources[0].abi->functions[0].selector) == "0x4ed3885e");
}

TEST_CASE("every bad option is refused by name") {
  CHECK(error_of("BCOS2.0", "{}").find("options.url is required") != std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"ftp://x:1"})").find("options.url") != std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","grup":1})").find("unknown key 'grup'") != std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","group":"group0"})").find("options.group") != std::string::npos);
  CHECK(error_of("BCOS3", R"({"url":"http://x:1","group":1})").find("options.group must be a string") !=
        std::string::npos);
  CHECK(error_of("BCOS3", R"({"url":"http://x:1","chain_id":1})").find("options.chain_id must be a string") !=
        std::string::npos);
  CHECK(error_of("BCOS3", R"({"url":"http://x:1","block_limit_margin":601})").find("between 1 and 600") !=
        std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","block_limit_margin":1001})").find("between 1 and 1000") !=
        std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","poll_ms":"fast"})").find("options.poll_ms") != std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","rpc_io":"fast"})").find("options.rpc_io must be host or thread") !=
        std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","tls":{"verify":false}})").find("not https://") !=
        std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","resources":[{"name":"s","address":"0x)" + std::string(40, '1') +
                                R"(","abi_file":"/nonexistent/s.abi"}]})")
            .find("/nonexistent/s.abi") != std::string::npos);
  CHECK(error_of("BCOS2.0", R"({"url":"http://x:1","resources":[{"name":"s","address":"0x12","abi":[]}]})")
            .find("resources[0].address") != std::string::npos);
}

TEST_CASE("SM TLS (TLCP) is refused with the reason: OpenSSL 3.0 cannot do it") {
  int32_t status = 0;
  const auto msg = error_of("GM_BCOS3", R"({"url":"https://x:1","tls":{"sm":true}})", &status);
  CHECK(msg.find("TLCP") != std::string::npos);
  CHECK(msg.find("OpenSSL 3.0") != std::string::npos);
  CHECK(status == WEFT_E_UNSUPPORTED);
  // sm: false is standard TLS and fine.
  auto c = parse_bcos_config("GM_BCOS3", R"({"url":"https://x:1","tls":{"sm":false,"verify":false}})");
  CHECK_FALSE(c.rpc.verify);
}
