// Fabric's client-side messages as ../protocols' fact sheet pins them: serialized identities, transaction ids,
// signed proposals, transaction envelopes, Deliver seek requests, and the decoding of what peers answer (proposal
// responses, blocks, processed transactions). Pure functions over the generated protobuf types; no I/O.
#pragma once

#include "common/common.pb.h"
#include "peer/proposal.pb.h"
#include "peer/proposal_response.pb.h"
#include "peer/transaction.pb.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace weft::fabric {

// Signs bytes: SHA-256 of them, ECDSA P-256, answered as DER with low S. Throws plugin::Failure when it cannot.
using Signer = std::function<std::string(const std::string &bytes)>;

// msp.SerializedIdentity{mspid, id_bytes = the certificate's PEM}: the creator of proposals and envelopes.
std::string serialized_identity(const std::string &msp_id, const std::string &cert_pem);
std::string random_nonce(); // 24 bytes from the system's generator
// hex(SHA-256(nonce || creator)), the transaction id.
std::string transaction_id(const std::string &nonce, const std::string &creator);
// r||s (64 bytes, as the host signs) to DER, with s moved to the low half of the order if it is not there already.
std::string der_signature(const std::vector<std::uint8_t> &rs);
std::string to_hex(const std::string &bytes);
std::string sha256(const std::string &bytes); // the 32-byte digest
// Chaincode bytes as a WeCross string: the bytes themselves when they are UTF-8 text, else "0x" and their hex (JSON
// carries no raw bytes).
std::string as_text(const std::string &bytes);

// A proposal for one chaincode invocation (ENDORSER_TRANSACTION), signed.
struct Proposal {
  std::string tx_id;
  std::string header;           // common.Header bytes, reused in the transaction's payload
  std::string signature_header; // common.SignatureHeader bytes
  std::string payload;          // ChaincodeProposalPayload bytes (no transient data)
  protos::SignedProposal signed_proposal;
};
// args: the function name, then its arguments, as the chaincode's byte arguments.
Proposal make_proposal(const std::string &channel, const std::string &chaincode, const std::vector<std::string> &args,
                       const std::string &creator, const std::string &nonce, const Signer &sign);

// What the endorsing peers answered, checked: every response status below 400 and one proposal response payload.
struct Endorsed {
  int32_t status = 200; // the chaincode's status (of the first failing peer when one failed)
  std::string message;  // its message when it failed
  std::string result;   // the chaincode's answer (response.payload)
  bool differ = false;  // two peers endorsed different results
};
Endorsed check_endorsements(const std::vector<protos::ProposalResponse> &responses);

// The signed transaction envelope that carries the endorsements to the orderer.
common::Envelope make_transaction(const Proposal &proposal, const std::vector<protos::ProposalResponse> &responses,
                                  const Signer &sign);

// A Deliver request: filtered blocks from `start` (or from the newest block when absent) on, without end.
common::Envelope make_seek(const std::string &channel, const std::string &creator, const std::string &tls_cert_hash,
                           std::optional<std::uint64_t> start, const Signer &sign);

// A validation code's name, e.g. 11 -> "MVCC_READ_CONFLICT".
std::string validation_code_name(int code);

// A block's header hash as Fabric computes it: SHA-256 over the ASN.1 DER of (number, previous_hash, data_hash).
std::string block_hash(const common::BlockHeader &header);

// A block as the router reads it: number, hash, parentHash, timestamp (ms, of its first transaction), transactions
// (ids), and per transaction its validation code. Throws plugin::Failure on bytes that are not a block.
boost::json::object block_json(const common::Block &block);

// What a processed transaction says: its id, timestamp, chaincode, function, arguments and the chaincode's answer.
struct TxSummary {
  std::string tx_id;
  std::uint64_t timestamp_ms = 0;
  std::string chaincode;
  std::string method;
  std::vector<std::string> args;
  std::string result;
  int32_t status = 0; // the chaincode's response status
};
// Throws plugin::Failure on an envelope that is not an endorser transaction.
TxSummary summarize(const common::Envelope &envelope);

} // namespace weft::fabric
