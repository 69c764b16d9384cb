// The Solidity contract ABI (https://docs.soliditylang.org/en/latest/abi-spec.html): types, solc's ABI JSON, and the
// encoding of WeCross's string arguments into calldata and of return data, logs and revert data back into strings.
// Decoding reads bytes from chains the router does not control: every offset and length is checked before use.
#pragma once

#include "hex.h"
#include "keccak.h"
#include "u256.h"

#include <weft/error.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::evm::abi {

// The hash that makes selectors and event topics: Keccak-256 on Ethereum and FISCO BCOS, SM3 on guomi (GM) chains.
using Hasher = Hash256 (*)(std::span<const std::uint8_t>);
inline Hash256 keccak(std::span<const std::uint8_t> data) {
  return keccak256(data);
}

struct Type {
  enum class Kind { Uint, Int, Address, Bool, Bytes, FixedBytes, String, Array, FixedArray, Tuple };
  Kind kind = Kind::Uint;
  unsigned size = 256;            // bits for Uint/Int (8..256, step 8); bytes for FixedBytes (1..32); k for FixedArray
  std::vector<Type> components;   // Array/FixedArray: exactly one, the element type; Tuple: the members
  std::vector<std::string> names; // Tuple: member names from the ABI JSON (empty strings when unnamed, or no JSON)

  // The canonical name used in signatures: "uint256", "bytes32", "(uint8,string)[2][]".
  std::string canonical() const;
  // Dynamic in the spec's sense: bytes, string, T[], and T[k] or tuples holding a dynamic type.
  bool is_dynamic() const;
  // Bytes taken in the head of an enclosing tuple: 32 for dynamic types, else the whole static encoding.
  std::size_t head_size() const;
};

// Canonical names, the aliases "uint" and "int" (256 bits), and tuples written "(T1,T2)" or "tuple(T1,T2)", with array
// suffixes "[k]" and "[]" in any nesting. Spaces are not allowed.
Result<Type> parse_type(std::string_view text);

struct Param {
  std::string name;
  Type type;
  bool indexed = false; // event inputs only
};

struct Function {
  std::string name;
  std::vector<Param> inputs, outputs;
  std::string state_mutability; // "pure", "view", "nonpayable" or "payable"
  std::array<std::uint8_t, 4> selector{};

  // "name(type1,type2)" with canonical types: what the selector hashes.
  std::string signature() const;
  bool is_read() const; // view or pure: served by a call, not a transaction
};

struct Event {
  std::string name;
  std::vector<Param> inputs;
  bool anonymous = false;
  Hash256 topic0{}; // the hash of signature(); not emitted as a topic when anonymous

  std::string signature() const;
};

// A custom error (`error Name(args)` in Solidity >= 0.8.4), reverted with its selector and ABI-encoded arguments.
struct CustomError {
  std::string name;
  std::vector<Param> inputs;
  std::array<std::uint8_t, 4> selector{};

  std::string signature() const;
};

struct Constructor {
  std::vector<Param> inputs;
  std::string state_mutability;
};

struct ContractAbi {
  std::vector<Function> functions;
  std::vector<Event> events;
  std::vector<CustomError> errors;
  std::optional<Constructor> constructor;
  Hasher hasher = keccak; // the hasher the selectors and topics were made with

  // `method` is a name or a full signature such as "transfer(address,uint256)". A name that is unique is found whatever
  // argc is; an overloaded name is narrowed by argc; if more than one still fits, the error lists the signatures to
  // use.
  Result<const Function *> find(std::string_view method, std::size_t argc) const;
  const Event *event_by_topic(const Hash256 &topic0) const;
  const CustomError *error_by_selector(std::span<const std::uint8_t, 4> selector) const;
};

// solc's ABI JSON: an array of entries of type function, event, error, constructor, fallback or receive (the last two
// carry no inputs and are skipped). Tuple types take their members from "components"; "internalType" is ignored.
Result<ContractAbi> parse_abi_json(std::string_view json, Hasher h = keccak);
// A function from its signature alone, "transfer(address,uint256)", with no outputs and nonpayable mutability; for
// stubs whose methods the adapter knows without an ABI file.
Result<Function> parse_function_signature(std::string_view signature, Hasher h = keccak);

// WeCross's string arguments into the ABI encoding of the params' types (no selector):
// - uintN/intN: decimal or "0x" hex (intN also "-" decimal), range-checked for N bits;
// - address: 40 hex digits, "0x" optional, EIP-55 checked if mixed case; bool: "true" or "false";
// - bytes, bytesN: "0x" hex (bytesN of exactly N bytes); string: the text verbatim;
// - arrays and tuples: JSON text, e.g. `[1,2,3]` or `["0xab..",true,[["x",1]]]`, integers as JSON numbers or strings;
//   a tuple whose members are named in the ABI JSON may also be a JSON object keyed by those names.
// Errors name the argument's index, the type wanted and the value given: "argument 2 (uint8): 300 does not fit".
Result<Bytes> encode_args(const std::vector<Param> &params, const std::vector<std::string> &args);
// The function's selector followed by encode_args(f.inputs, args).
Result<Bytes> encode_call(const Function &f, const std::vector<std::string> &args);

// The inverse of encode_args for return data: one string per param. Integers in decimal ("-5" for negative intN),
// address lowercase "0x", bool "true"/"false", bytes and bytesN "0x" hex, string verbatim; arrays and tuples as compact
// JSON text, integers, addresses and bytes as JSON strings and bools as JSON true/false, e.g. `[["1","0xab"],true]`.
// Data that the spec does not allow (offsets or lengths out of range, dirty padding or high bits) is an error.
Result<std::vector<std::string>> decode_values(const std::vector<Param> &params, std::span<const std::uint8_t> data);

// A human message for revert data: Error(string) gives its text, Panic(uint256) e.g. "panic 0x11: arithmetic overflow
// or underflow", a custom error found in `abi` gives "Name(arg1,arg2)" with decoded values; anything else nullopt.
// Error(string) and Panic(uint256) are matched under abi->hasher when an ABI is given, else under Keccak-256.
std::optional<std::string> decode_revert(std::span<const std::uint8_t> data);
std::optional<std::string> decode_revert(std::span<const std::uint8_t> data, const ContractAbi *abi);

struct DecodedLog {
  std::string event;
  std::vector<std::pair<std::string, std::string>> fields; // (param name, value) in declaration order
};

// Finds the event by topics[0] (an anonymous event cannot be found and is an error), then reads indexed params from the
// following topics and the rest from data. Indexed dynamic types (bytes, string, arrays, tuples) are stored as their
// hash, given as "0x" hex. Values as decode_values gives them.
Result<DecodedLog> decode_log(const ContractAbi &abi, const std::vector<Hash256> &topics,
                              std::span<const std::uint8_t> data);

} // namespace weft::evm::abi
