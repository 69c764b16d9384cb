// FISCO BCOS's JSON answers read into the shapes the router takes (docs/adapters.md): receipts and blocks of either
// version, whose numbers come as 2.x hex strings, 3.x JSON integers or 3.x decimal strings. Pure functions, so the
// documentation's own examples can pin them (tests/unit/bcos_answers_test.cpp).
#pragma once

#include "bcos_config.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::bcos {

// "0x1a", 26 or "26" as 26; nullopt for anything else or above 2^64-1.
std::optional<std::uint64_t> number_of(const boost::json::value *v);
// A receipt status by name: 2.x's status list (0x16 RevertInstruction), 3.x's TransactionStatus (16).
std::string status_name(Version v, std::uint64_t status);
// The resource at an address; the latest registered when a later registration shadows an earlier one.
const BcosResource *resource_at(const Resources &resources, const std::string &address_hex);

// {number, hash, parentHash (3.x: parentInfo[0].blockHash), timestamp (ms), transactionsRoot, receiptsRoot,
// stateRoot, sealer, sealerList, signatureList, txCount, transactions (hashes)}.
boost::json::object block_answer(const boost::json::object &block, std::uint64_t number);
// {txHash, blockNumber, errorCode (the status), message (its name, with the revert reason or 3.x's message), from,
// to, gasUsed, output, result (the output decoded when the method is known), resource, method, args, events, ...}.
boost::json::object receipt_answer(const boost::json::object &receipt, Version version, const Resources &resources);

} // namespace weft::bcos
