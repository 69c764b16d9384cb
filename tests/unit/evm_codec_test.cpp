// The EVM core's codec pinned by published vectors (the Solidity ABI spec's examples, EIP-55, EIP-155), and the ABI
// decoder fed hostile bytes: every one must be a clear error, never a crash or a huge allocation.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "abi.h"
#include "hex.h"
#include "rlp.h"
#include "tx.h"
#include "u256.h"

using namespace weft::evm;
using namespace weft::evm::abi;

namespace {

Bytes unhex(std::string_view h) {
  return from_hex(h).value();
}

// A 32-byte word: a number given in hex, left-padded.
std::string num(std::string_view hex) {
  return std::string(64 - hex.size(), '0') + std::string(hex);
}
// A 32-byte word: bytes given in hex, right-padded.
std::string right(std::string_view hex) {
  return std::string(hex) + std::string(64 - hex.size(), '0');
}

std::vector<Param> params(std::initializer_list<std::string_view> types) {
  std::vector<Param> out;
  for (auto t : types)
    out.push_back(Param{"", parse_type(t).value(), false});
  return out;
}

std::string call_hex(std::string_view signature, const std::vector<std::string> &args) {
  auto f = parse_function_signature(signature);
  REQUIRE(f.ok());
  auto data = encode_call(*f, args);
  if (!data.ok()) FAIL(data.error().message);
  return to_hex(*data);
}

std::string decode_error(std::initializer_list<std::string_view> types, const std::string &hex_words) {
  auto r = decode_values(params(types), unhex(hex_words));
  if (r.ok()) return "decoded";
  return r.error().message;
}

} // namespace

TEST_CASE("U256 parses, prints and compares decimal and hex, and refuses what does not fit") {
  const std::string max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  CHECK(U256::from_decimal(max)->to_decimal() == max);
  CHECK(U256::from_decimal(max)->to_hex() == "0x" + std::string(64, 'f'));
  CHECK_FALSE(
      U256::from_decimal("115792089237316195423570985008687907853269984665640564039457584007913129639936").ok());
  CHECK_FALSE(U256::from_hex("0x1" + std::string(64, '0')).ok());
  CHECK(U256::from_hex("0x" + std::string(70, '0') + "1")->low_u64() == 1); // leading zeros are not width
  CHECK(U256::from_u64(0).to_hex() == "0x0");
  CHECK(U256::from_u64(0).to_decimal() == "0");
  CHECK(U256::parse("0x1F")->to_decimal() == "31");
  CHECK(U256::parse("31")->to_hex() == "0x1f");
  for (auto bad : {"", "0x", "-1", "1 ", "+1", "1e3", "0xg"})
    CHECK_FALSE(U256::parse(bad).ok());
  CHECK(U256::from_u64(5) < U256::from_u64(256));
  CHECK(U256::from_u64(~0ull).fits_u64());
  CHECK_FALSE(wrapping_add(U256::from_u64(~0ull), U256::from_u64(1)).fits_u64());
  CHECK(U256::from_u64(256).bit_length() == 9);
  CHECK(U256::from_u64(0x0102).to_be_minimal() == Bytes{1, 2});
  CHECK(checked_mul(U256::from_u64(1ull << 32), U256::from_u64(1ull << 32))->to_hex() == "0x10000000000000000");
  CHECK_FALSE(checked_mul(*U256::parse("0x1" + std::string(32, '0')), *U256::parse("0x1" + std::string(32, '0'))));
  CHECK(
      checked_mul(*U256::parse("0x1" + std::string(31, '0')), *U256::parse("0x1" + std::string(32, '0'))).has_value());
  CHECK_FALSE(checked_sub(U256::from_u64(1), U256::from_u64(2)));
  CHECK_FALSE(checked_add(*U256::from_decimal(max), U256::from_u64(1)));
  CHECK(wrapping_neg(U256::from_u64(1)).to_decimal() == max);
}

TEST_CASE("hex and addresses: EIP-55 checksums from the EIP's own examples, wrong checksums refused") {
  CHECK(to_hex(Bytes{}) == "0x");
  CHECK(to_hex(Bytes{0x00, 0xab}) == "0x00ab");
  CHECK(*from_hex("0xABcd") == Bytes{0xab, 0xcd});
  CHECK(*from_hex("") == Bytes{});
  CHECK(from_hex("0xabc").error().message.find("odd number") != std::string::npos);
  CHECK(from_hex("0xzz").error().message.find("position 2") != std::string::npos);
  // EIP-55, "Test Cases".
  for (std::string s : {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    auto a = parse_address(s);
    REQUIRE(a.ok());
    CHECK(checksum_address(*a) == s);
    std::string lower = s, upper = s;
    for (auto &c : lower)
      c = static_cast<char>(std::tolower(c));
    for (std::size_t i = 2; i < upper.size(); ++i)
      upper[i] = static_cast<char>(std::toupper(upper[i]));
    CHECK(lower_address(*a) == lower);
    CHECK(parse_address(lower).ok());
    CHECK(parse_address(upper).ok());
    CHECK(parse_address(lower.substr(2)).ok());
  }
  auto wrong = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("checksum") != std::string::npos);
  CHECK_FALSE(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae").ok());
}

TEST_CASE("ABI types: canonical names, aliases and tuple forms") {
  CHECK(parse_type("uint")->canonical() == "uint256");
  CHECK(parse_type("int")->canonical() == "int256");
  CHECK(parse_type("tuple(uint,string[])[2][]")->canonical() == "(uint256,string[])[2][]");
  CHECK(parse_type("(address,(bool,bytes32))")->canonical() == "(address,(bool,bytes32))");
  CHECK(parse_type("()")->canonical() == "()");
  CHECK(parse_type("bytes3[2]")->head_size() == 64);
  CHECK(parse_type("(uint8,string)")->is_dynamic());
  CHECK_FALSE(parse_type("(uint8,bytes32)[3]")->is_dynamic());
  for (auto bad : {"uint7", "uint0", "uint264", "uint08", "bytes0", "bytes33", "int 8", "uint256[0]", "uint256[",
                   "(uint8", "(uint8,)", "fixed128x18", "foo", "uint8[]x", "uint256[65537]", "uint256[65536][65536]"})
    CHECK_MESSAGE(!parse_type(bad).ok(), bad);
  CHECK_FALSE(parse_type("uint8" +
                         [] {
                           std::string s;
                           for (int i = 0; i < 100000; ++i)
                             s += "[]";
                           return s;
                         }())
                  .ok());
  std::string deep = "uint8";
  for (int i = 0; i < 100; ++i)
    deep = "(" + deep + ")";
  CHECK_FALSE(parse_type(deep).ok());
}

// Solidity ABI spec, "Examples": contract Foo { bar(bytes3[2]); baz(uint32,bool); sam(bytes,bool,uint[]) }.
TEST_CASE("ABI encoding matches the spec's Examples section") {
  CHECK(call_hex("baz(uint32,bool)", {"69", "true"}) == "0xcdcd77c0" + num("45") + num("1"));
  CHECK(call_hex("bar(bytes3[2])", {R"(["0x616263","0x646566"])"}) == "0xfce353f6" + right("616263") + right("646566"));
  CHECK(call_hex("sam(bytes,bool,uint[])", {"0x64617665", "true", "[1,2,3]"}) ==
        "0xa5643bf2" + num("60") + num("1") + num("a0") + num("4") + right("64617665") + num("3") + num("1") +
            num("2") + num("3"));
}

// Solidity ABI spec, "Use of Dynamic Types": f(uint256,uint32[],bytes10,bytes) and g(uint256[][],string[]).
TEST_CASE("ABI encoding matches the spec's Use of Dynamic Types section, and decodes back") {
  std::string f = num("123") + num("80") + right("31323334353637383930") + num("e0") + num("2") + num("456") +
                  num("789") + num("d") + right("48656c6c6f2c20776f726c6421");
  CHECK(call_hex("f(uint256,uint32[],bytes10,bytes)", {"0x123", "[\"0x456\",\"0x789\"]", "0x31323334353637383930",
                                                       "0x48656c6c6f2c20776f726c6421"}) == "0x8be65246" + f);
  auto back = decode_values(params({"uint256", "uint32[]", "bytes10", "bytes"}), unhex(f));
  REQUIRE(back.ok());
  CHECK(*back == std::vector<std::string>{"291", R"(["1110","1929"])", "0x31323334353637383930",
                                          "0x48656c6c6f2c20776f726c6421"});

  std::string g = num("40") + num("140") + num("2") + num("40") + num("a0") + num("2") + num("1") + num("2") +
                  num("1") + num("3") + num("3") + num("60") + num("a0") + num("e0") + num("3") + right("6f6e65") +
                  num("3") + right("74776f") + num("5") + right("7468726565");
  CHECK(call_hex("g(uint256[][],string[])", {"[[1,2],[3]]", R"(["one","two","three"])"}) == "0x2289b18c" + g);
  auto back_g = decode_values(params({"uint256[][]", "string[]"}), unhex(g));
  REQUIRE(back_g.ok());
  CHECK(*back_g == std::vector<std::string>{R"([["1","2"],["3"]])", R"(["one","two","three"])"});
}

TEST_CASE("ABI arguments: range checks and errors that name the index, the type and the value") {
  auto err = [](std::initializer_list<std::string_view> types, const std::vector<std::string> &args) {
    auto r = encode_args(params(types), args);
    return r.ok() ? std::string("encoded") : r.error().message;
  };
  CHECK(err({"uint256", "uint256", "uint8"}, {"1", "2", "300"}) == "argument 2 (uint8): 300 does not fit");
  CHECK(err({"uint8"}, {"255"}) == "encoded");
  CHECK(err({"uint8"}, {"-1"}) == "argument 0 (uint8): -1 is negative");
  CHECK(err({"int8"}, {"-128"}) == "encoded");
  CHECK(err({"int8"}, {"127"}) == "encoded");
  CHECK(err({"int8"}, {"128"}) == "argument 0 (int8): 128 does not fit");
  CHECK(err({"int8"}, {"-129"}) == "argument 0 (int8): -129 does not fit");
  CHECK(err({"int256"}, {"-0"}) == "encoded");
  CHECK(err({"uint24"}, {"0x1000000"}) == "argument 0 (uint24): 0x1000000 does not fit");
  CHECK(err({"uint256"}, {"1.5"}).starts_with("argument 0 (uint256): 1.5 is not an integer"));
  CHECK(err({"bool"}, {"yes"}) == "argument 0 (bool): yes is not true or false");
  CHECK(err({"bytes4"}, {"0x0102"}) == "argument 0 (bytes4): 0x0102 has 2 bytes; bytes4 needs 4");
  CHECK(err({"address"}, {"0x1234"}).starts_with("argument 0 (address): address \"0x1234\" has 4 hex digits"));
  CHECK(err({"uint8[]"}, {"[1,300]"}) == "argument 0 (uint8[]): at [1] (uint8): 300 does not fit");
  CHECK(err({"uint8[2]"}, {"[1]"}) == "argument 0 (uint8[2]): has 1 elements; uint8[2] needs 2");
  CHECK(err({"(uint8,bool)"}, {"[1]"}) == "argument 0 ((uint8,bool)): has 1 members; (uint8,bool) needs 2");
  CHECK(err({"uint256[]"}, {"[1e30]"}).find("write large integers as strings") != std::string::npos);
  CHECK(err({"uint256[]"}, {"[1,"}).starts_with("argument 0 (uint256[]): [1, is not JSON text"));
  CHECK(err({"string[]"}, {"[1]"}) == "argument 0 (string[]): at [0] (string): 1 is not a JSON string");
  CHECK(err({"uint8", "uint8"}, {"1"}) == "expected 2 arguments, got 1");
  // Negative intN are two's complement, sign-extended to 256 bits.
  CHECK(to_hex(*encode_args(params({"int24"}), {"-1"})) == "0x" + std::string(64, 'f'));
  CHECK(*decode_values(params({"int24"}), *encode_args(params({"int24"}), {"-8388608"})) ==
        std::vector<std::string>{"-8388608"});
}

TEST_CASE("ABI JSON: overloads found by argument count or full signature; events and errors hashed") {
  auto abi = parse_abi_json(R"([
    {"type":"function","name":"transfer","stateMutability":"nonpayable",
     "inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[{"name":"","type":"bool"}]},
    {"type":"function","name":"set","stateMutability":"nonpayable","inputs":[{"name":"v","type":"uint256"}],"outputs":[]},
    {"type":"function","name":"set","stateMutability":"nonpayable","inputs":[{"name":"v","type":"string"}],"outputs":[]},
    {"type":"function","name":"set","stateMutability":"nonpayable",
     "inputs":[{"name":"a","type":"uint256"},{"name":"b","type":"uint256"}],"outputs":[]},
    {"type":"function","name":"get","constant":true,"inputs":[],
     "outputs":[{"name":"p","type":"tuple[]","components":[{"name":"who","type":"address"},{"name":"tags","type":"string[]"}]}]},
    {"type":"event","name":"Transfer","anonymous":false,"inputs":[{"name":"from","type":"address","indexed":true},
     {"name":"to","type":"address","indexed":true},{"name":"value","type":"uint256","indexed":false}]},
    {"type":"error","name":"InsufficientBalance","inputs":[{"name":"have","type":"uint256"},{"name":"want","type":"uint256"}]},
    {"type":"constructor","inputs":[{"name":"supply","type":"uint256"}],"stateMutability":"nonpayable"},
    {"type":"fallback"}
  ])");
  REQUIRE(abi.ok());
  auto transfer = abi->find("transfer", 2);
  REQUIRE(transfer.ok());
  CHECK(to_hex((*transfer)->selector) == "0xa9059cbb");
  CHECK(abi->find("transfer", 5).ok()); // unique by name: the argument count is checked when encoding
  CHECK((*abi->find("set", 2))->signature() == "set(uint256,uint256)");
  auto ambiguous = abi->find("set", 1);
  REQUIRE_FALSE(ambiguous.ok());
  CHECK(ambiguous.error().message.find("set(uint256), set(string)") != std::string::npos);
  CHECK((*abi->find("set(string)", 1))->inputs[0].type.canonical() == "string");
  CHECK((*abi->find("set(uint)", 1))->inputs[0].type.canonical() == "uint256");
  CHECK(abi->find("nope", 0).error().message.find("transfer(address,uint256)") != std::string::npos);
  CHECK(abi->find("set(bool)", 1).error().message.find("set(uint256)") != std::string::npos);
  CHECK((*abi->find("get", 0))->is_read());
  CHECK((*abi->find("get", 0))->outputs[0].type.canonical() == "(address,string[])[]");
  CHECK((*abi->find("get", 0))->outputs[0].type.components[0].names == std::vector<std::string>{"who", "tags"});
  // Structs may be written as JSON objects keyed by the member names the ABI JSON gives.
  const auto &out = (*abi->find("get", 0))->outputs;
  std::string who = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
  auto as_array = encode_args(out, {R"([[")" + who + R"(",["a","b"]]])"});
  auto as_object = encode_args(out, {R"([{"tags":["a","b"],"who":")" + who + R"("}])"});
  REQUIRE(as_array.ok());
  REQUIRE(as_object.ok());
  CHECK(*as_array == *as_object);
  CHECK(encode_args(out, {R"([{"who":")" + who + R"("}])"}).error().message ==
        R"(argument 0 ((address,string[])[]): at [0] ((address,string[])): member "tags" is missing)");
  CHECK(encode_args(out, {R"([{"who":")" + who + R"(","tags":[],"x":1}])"})
            .error()
            .message.ends_with(R"("x" is not a member (members: who, tags))"));
  CHECK(encode_args(params({"(uint8,bool)"}), {R"({"a":1})"}).error().message.find("no names") != std::string::npos);
  REQUIRE(abi->events.size() == 1);
  CHECK(to_hex(abi->events[0].topic0) == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  REQUIRE(abi->constructor.has_value());
  CHECK(abi->constructor->inputs.size() == 1);

  // A Transfer log: two indexed addresses, the amount in data.
  std::vector<Hash256> topics(3);
  topics[0] = abi->events[0].topic0;
  topics[1][31] = 0x11;
  topics[2][31] = 0x22;
  auto log = decode_log(*abi, topics, unhex(num("64")));
  REQUIRE(log.ok());
  CHECK(log->event == "Transfer");
  CHECK(log->fields[0] == std::pair<std::string, std::string>{"from", "0x0000000000000000000000000000000000000011"});
  CHECK(log->fields[2] == std::pair<std::string, std::string>{"value", "100"});
  CHECK_FALSE(decode_log(*abi, {topics[0], topics[1]}, unhex(num("64"))).ok());
  topics[1][0] = 1; // dirty high bits in an indexed address
  CHECK_FALSE(decode_log(*abi, topics, unhex(num("64"))).ok());

  auto custom = encode_args(abi->errors[0].inputs, {"5", "7"});
  Bytes revert(abi->errors[0].selector.begin(), abi->errors[0].selector.end());
  revert.insert(revert.end(), custom->begin(), custom->end());
  CHECK(decode_revert(revert, &*abi) == "InsufficientBalance(5,7)");
  CHECK(decode_revert(revert) == std::nullopt);

  CHECK_FALSE(parse_abi_json("{").ok());
  CHECK_FALSE(parse_abi_json(R"([{"type":"function","name":"f","inputs":[{"name":"x","type":"uint7"}]}])").ok());
  CHECK_FALSE(parse_abi_json(R"([{"type":"function","name":"f","inputs":[{"name":"x","type":"tuple"}]}])").ok());
}

// Solidity docs, "Control Structures" / "Panic via assert and Error via require": revert data layouts.
TEST_CASE("Revert data: Error(string), Panic(uint256) with the standard codes, anything else unknown") {
  Bytes error =
      unhex("0x08c379a0" + num("20") + num("1a") + right("4e6f7420656e6f7567682045746865722070726f76696465642e"));
  CHECK(decode_revert(error) == "Not enough Ether provided.");
  CHECK(decode_revert(unhex("0x4e487b71" + num("11"))) == "panic 0x11: arithmetic overflow or underflow");
  CHECK(decode_revert(unhex("0x4e487b71" + num("1"))) == "panic 0x01: assertion failed");
  CHECK(decode_revert(unhex("0x4e487b71" + num("32"))) == "panic 0x32: array index out of bounds");
  CHECK(decode_revert(unhex("0x4e487b71" + num("99"))) == "panic 0x99");
  CHECK(decode_revert(Bytes{}) == std::nullopt);
  CHECK(decode_revert(unhex("0x08c379a0" + num("20"))) == std::nullopt); // truncated
  CHECK(decode_revert(unhex("0xdeadbeef")) == std::nullopt);
}

TEST_CASE("ABI decoding refuses hostile data with an error, never a crash or a huge allocation") {
  // Offsets and lengths out of range.
  CHECK(decode_error({"uint256[]"}, num("1000")).find("offset of 4096 points past") != std::string::npos);
  CHECK(decode_error({"bytes"}, num("20") + num("ffffffffffffffffffffffffffffffffffffffff")).find("far beyond") !=
        std::string::npos);
  CHECK(decode_error({"bytes"}, num("20") + num("ffffffffff")).find("runs past the end") != std::string::npos);
  CHECK(decode_error({"bytes"}, num("20") + num("21") + right("aa")).find("runs past the end") != std::string::npos);
  CHECK(decode_error({"uint256[]"}, num("20") + num("3b9aca00") + num("1")).find("runs past the end") !=
        std::string::npos);
  CHECK(decode_error({"string[]"}, num("20") + num("ffffffff")).find("runs past the end") != std::string::npos);
  CHECK(decode_error({"uint256"}, "0x1234").find("runs past the end") != std::string::npos);
  CHECK(decode_error({"uint256", "uint256"}, num("1")).find("runs past the end") != std::string::npos);
  CHECK(decode_error({"(uint256,uint256)[2]"}, num("1") + num("2") + num("3")).find("runs past") != std::string::npos);
  CHECK(decode_error({"bytes"}, num("20")).find("runs past the end") != std::string::npos);
  // Padding the spec requires to be zero.
  CHECK(decode_error({"bytes"}, num("20") + num("1") + right("aa01")).find("non-zero padding") != std::string::npos);
  CHECK(decode_error({"bytes"}, num("20") + num("1") + "aa").find("padding") != std::string::npos); // padding missing
  CHECK(decode_error({"bytes2"}, right("aabbcc")).find("non-zero padding") != std::string::npos);
  // High bits of narrow types.
  CHECK(decode_error({"address"}, "0x01" + std::string(62, '0')).find("above its 20 bytes") != std::string::npos);
  CHECK(decode_error({"bool"}, num("2")).find("neither 0 nor 1") != std::string::npos);
  CHECK(decode_error({"uint8"}, num("100")).find("bits set above") != std::string::npos);
  CHECK(decode_error({"int8"}, num("80")).find("sign-extended") != std::string::npos);
  CHECK(decode_error({"int8"}, std::string(62, 'f') + "7f").find("sign-extended") != std::string::npos);
  CHECK(*decode_values(params({"int8"}), unhex(std::string(62, 'f') + "80")) == std::vector<std::string>{"-128"});
  // Nested: a dirty bool inside a tuple inside an array.
  CHECK(decode_error({"(uint8,bool)[]"}, num("20") + num("1") + num("1") + num("2")).find("neither 0 nor 1") !=
        std::string::npos);
  // Overlapping offsets: 1000 strings all pointing at one 10 KB string would decode into 10 MB from 43 KB.
  {
    std::string data = num("20") + num("3e8");
    for (int i = 0; i < 1000; ++i)
      data += num("7d00");
    data += num("2800") + std::string(2 * 10240, 'a');
    CHECK(decode_error({"string[]"}, data).find("offsets overlap") != std::string::npos);
  }
  // Arrays of empty tuples take no bytes per element; their count is still bounded by the data.
  CHECK(decode_error({"()[]"}, num("20") + num("ffffffff")).find("offsets overlap") != std::string::npos);
  CHECK(*decode_values(params({"()[]"}), unhex(num("20") + num("2"))) == std::vector<std::string>{"[[],[]]"});
  // Empty data for a function that returns something (e.g. a call to an address with no code).
  CHECK(decode_error({"uint256"}, "").find("runs past the end") != std::string::npos);
  CHECK(decode_values({}, Bytes{})->empty());
}

// EIP-155, "Example": nonce 9, 20 gwei, 21000 gas, to 0x3535...35, 1 ether, chain 1, key 0x4646...46.
TEST_CASE("Legacy transactions: EIP-155's example signing hash and signed bytes") {
  LegacyTx tx{9,
              *U256::from_decimal("20000000000"),
              21000,
              *parse_address("0x3535353535353535353535353535353535353535"),
              *U256::from_decimal("1000000000000000000"),
              {},
              1};
  CHECK(to_hex(signing_hash(tx)) == "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  Bytes sig = unhex("28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
                    "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
                    "00");
  Bytes raw = encode_signed(tx, std::span<const std::uint8_t, 65>(sig.data(), 65));
  CHECK(to_hex(raw) == "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
                       "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b38"
                       "00ccf555c9f3dc64214b297fb1966a3b6d83");
  CHECK(to_hex(rlp::encode_uint(U256{})) == "0x80");
  CHECK(to_hex(rlp::encode_uint(*U256::from_decimal("1024"))) == "0x820400");
}

TEST_CASE("ABI decoding of randomly mutated encodings returns a value or an error, never a crash") {
  // Valid encodings of nested dynamic types, then bytes overwritten, words replaced by offset-like numbers, or the
  // data cut short. Under ASan/UBSan any out-of-bounds read or overflow here fails the test run.
  struct Sample {
    std::vector<Param> params;
    Bytes data;
  };
  std::vector<Sample> samples;
  auto add = [&](std::initializer_list<std::string_view> types, const std::vector<std::string> &args) {
    auto p = params(types);
    auto data = encode_args(p, args);
    REQUIRE(data.ok());
    samples.push_back({p, *data});
  };
  add({"uint256[][]", "string[]"}, {"[[1,2],[3]]", R"(["one","two","three"])"});
  add({"(uint8,(string,bytes)[],int16[2])"}, {R"([7,[["inner","0x00ff"],["",""]],[-1,1]])"});
  add({"(string,uint64[])[2]", "bytes", "bool", "address"},
      {R"([["p",[1,2]],["q",[]]])", "0x0102", "true", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"});
  add({"string[][]", "bytes32", "int8"}, {R"([["x"],[],["y","z"]])", "0x" + std::string(64, 'a'), "-5"});
  std::mt19937 rng(20261206);
  int decoded = 0, refused = 0;
  for (const auto &s : samples) {
    for (int round = 0; round < 2000; ++round) {
      Bytes d = s.data;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !d.empty(); ++e) {
        std::size_t at = rng() % d.size();
        switch (rng() % 4) {
        case 0:
          d[at] = static_cast<std::uint8_t>(rng());
          break;
        case 1: { // a word becomes a small number, like an offset or a length
          std::size_t w = at / 32 * 32;
          if (w + 32 > d.size()) break;
          std::fill(d.begin() + static_cast<std::ptrdiff_t>(w), d.begin() + static_cast<std::ptrdiff_t>(w + 31), 0);
          d[w + 31] = static_cast<std::uint8_t>(rng() % (d.size() + 64));
          break;
        }
        case 2:
          d[at / 32 * 32] = 0xff;
          break; // a huge offset or length
        default:
          d.resize(at);
          break;
        }
      }
      auto r = decode_values(s.params, d);
      (r.ok() ? decoded : refused)++;
    }
  }
  CHECK(refused > 0);
  CHECK(decoded > 0);
}

// GM chains hash selectors and topics with SM3: whatever hasher the ABI is parsed with makes its selectors, its topics
// and the Error(string) selector decode_revert looks for.
TEST_CASE("ABI selectors, topics and revert selectors come from the hasher the ABI was parsed with") {
  Hasher reversed = [](std::span<const std::uint8_t> data) {
    Hash256 h = keccak256(data);
    std::reverse(h.begin(), h.end());
    return h;
  };
  auto abi = parse_abi_json(R"([{"type":"function","name":"transfer","stateMutability":"nonpayable",
    "inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[]},
    {"type":"event","name":"E","inputs":[]}])",
                            reversed);
  REQUIRE(abi.ok());
  Hash256 k = keccak256("transfer(address,uint256)");
  CHECK((*abi->find("transfer", 2))->selector == std::array<std::uint8_t, 4>{k[31], k[30], k[29], k[28]});
  CHECK(abi->events[0].topic0 == reversed(std::span(reinterpret_cast<const std::uint8_t *>("E()"), 3)));
  CHECK(to_hex(parse_function_signature("transfer(address,uint256)", reversed)->selector) ==
        to_hex((*abi->find("transfer", 2))->selector));
  Hash256 e = reversed(std::span(reinterpret_cast<const std::uint8_t *>("Error(string)"), 13));
  Bytes revert{e[0], e[1], e[2], e[3]};
  auto body = encode_args(params({"string"}), {"gm"});
  revert.insert(revert.end(), body->begin(), body->end());
  CHECK(decode_revert(revert, &*abi) == "gm");
  CHECK(decode_revert(revert) == std::nullopt);
}
