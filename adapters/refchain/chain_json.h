// The JSON views of blocks, receipts and proofs that every client API of the chain answers with (the adapter
// verbs now, weft-node's API later). Hashes and addresses are "0x"-prefixed lowercase hex.
#pragma once

#include "block.h"
#include "proof.h"
#include "receipt.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <vector>

namespace weft::refchain {

// {"version","chainId","number","hash","parentHash","timestamp","proposer","transactionsRoot","receiptsRoot",
//  "stateHash"}
boost::json::object header_json(const BlockHeader &h);
// header_json plus "transactions":["0x.."]
boost::json::object block_json(const BlockHeader &h, const std::vector<Hash> &tx_hashes);
// {"txHash","blockNumber","index","errorCode","message","result","from","resource","method","args","timestamp"}
// With "events" only when the receipt has events.
boost::json::object receipt_json(const Receipt &r, uint64_t block_timestamp_ms);
// [{"resource","name","data":{...}}]
boost::json::array events_json(const std::vector<Event> &events);
// {"blockNumber","index","txCount","txHash","receiptHash","txProof","receiptProof","header","blockHash"}
boost::json::object proof_json(const InclusionProof &p);
// The inverse of proof_json; throws DecodeError on a missing or malformed field.
InclusionProof proof_from_json(const boost::json::value &v);

} // namespace weft::refchain
