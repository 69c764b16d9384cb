#include "fabric_messages.h"

#include "msp/identities.pb.h"
#include "orderer/ab.pb.h"
#include "peer/chaincode.pb.h"
#include "peer/chaincode_event.pb.h"

#include <weft/adapter.hpp>

#include <boost/json/array.hpp>

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>
#include <memory>

namespace weft::fabric {

namespace json = boost::json;
using plugin::Failure;

std::string sha256(const std::string &bytes) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), d);
  return std::string(reinterpret_cast<char *>(d), sizeof d);
}

namespace {

void set_now(google::protobuf::Timestamp *ts) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

std::uint64_t millis(const google::protobuf::Timestamp &ts) {
  return static_cast<std::uint64_t>(ts.seconds()) * 1000 + static_cast<std::uint64_t>(ts.nanos()) / 1000000;
}

// One DER INTEGER from big-endian unsigned bytes.
std::string der_integer(const unsigned char *p, size_t n) {
  while (n > 1 && p[0] == 0)
    ++p, --n;
  std::string v;
  if (p[0] & 0x80) v.push_back('\0');
  v.append(reinterpret_cast<const char *>(p), n);
  return std::string{'\x02', static_cast<char>(v.size())} + v;
}

std::string der_length(size_t n) {
  if (n < 128) return std::string(1, static_cast<char>(n));
  std::string out;
  while (n > 0) {
    out.insert(out.begin(), static_cast<char>(n & 0xff));
    n >>= 8;
  }
  return std::string(1, static_cast<char>(0x80 | out.size())) + out;
}

std::string der_unsigned(std::uint64_t v) {
  unsigned char b[8];
  for (int i = 7; i >= 0; --i, v >>= 8)
    b[i] = static_cast<unsigned char>(v & 0xff);
  return der_integer(b, sizeof b);
}

std::string der_octets(const std::string &s) {
  return "\x04" + der_length(s.size()) + s;
}

common::ChannelHeader parse_channel_header(const common::Payload &payload) {
  common::ChannelHeader ch;
  if (!ch.ParseFromString(payload.header().channel_header()))
    throw Failure(WEFT_E_UNAVAILABLE, "a channel header does not decode");
  return ch;
}

} // namespace

std::string to_hex(const std::string &bytes) {
  static const char *digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string as_text(const std::string &bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  auto cont = [&](size_t k) { return k < n && (static_cast<unsigned char>(bytes[k]) & 0xc0) == 0x80; };
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      if (c == 0) break; // NUL: not text a client can take
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07;
    } else {
      break;
    }
    size_t k = 1;
    for (; k < len && cont(i + k); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(bytes[i + k]) & 0x3f);
    // Truncated, overlong, a surrogate or beyond U+10FFFF: not UTF-8.
    if (k != len || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      break;
    i += len;
  }
  return i == n ? bytes : "0x" + to_hex(bytes);
}

std::string serialized_identity(const std::string &msp_id, const std::string &cert_pem) {
  msp::SerializedIdentity id;
  id.set_mspid(msp_id);
  id.set_id_bytes(cert_pem);
  return id.SerializeAsString();
}

std::string random_nonce() {
  std::string nonce(24, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char *>(nonce.data()), static_cast<int>(nonce.size())) != 1)
    throw Failure(WEFT_E_INTERNAL, "the system random number generator failed");
  return nonce;
}

std::string transaction_id(const std::string &nonce, const std::string &creator) {
  return to_hex(sha256(nonce + creator));
}

std::string der_signature(const std::vector<std::uint8_t> &rs) {
  if (rs.size() != 64) throw Failure(WEFT_E_ACCOUNT, "the host's P-256 signature is not 64 bytes r||s");
  // Fabric refuses a high S (malleability); the host promises low S, and this keeps it so whatever signed.
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> order(nullptr, BN_free), half(BN_new(), BN_free),
      s(BN_bin2bn(rs.data() + 32, 32, nullptr), BN_free);
  BIGNUM *n = nullptr;
  BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  order.reset(n);
  if (!ctx || !order || !half || !s || !BN_rshift1(half.get(), order.get()))
    throw Failure(WEFT_E_INTERNAL, "out of memory");
  unsigned char sb[32];
  std::copy(rs.begin() + 32, rs.end(), sb);
  if (BN_cmp(s.get(), half.get()) > 0) {
    if (!BN_sub(s.get(), order.get(), s.get()) || BN_bn2binpad(s.get(), sb, 32) != 32)
      throw Failure(WEFT_E_INTERNAL, "cannot normalize a signature");
  }
  std::string body = der_integer(rs.data(), 32) + der_integer(sb, 32);
  return "\x30" + der_length(body.size()) + body;
}

Proposal make_proposal(const std::string &channel, const std::string &chaincode, const std::vector<std::string> &args,
                       const std::string &creator, const std::string &nonce, const Signer &sign) {
  Proposal p;
  p.tx_id = transaction_id(nonce, creator);

  protos::ChaincodeHeaderExtension ext;
  ext.mutable_chaincode_id()->set_name(chaincode);
  common::ChannelHeader ch;
  ch.set_type(common::ENDORSER_TRANSACTION);
  ch.set_version(0);
  set_now(ch.mutable_timestamp());
  ch.set_channel_id(channel);
  ch.set_tx_id(p.tx_id);
  ch.set_epoch(0);
  ch.set_extension(ext.SerializeAsString());

  common::SignatureHeader sh;
  sh.set_creator(creator);
  sh.set_nonce(nonce);
  p.signature_header = sh.SerializeAsString();

  common::Header header;
  header.set_channel_header(ch.SerializeAsString());
  header.set_signature_header(p.signature_header);
  p.header = header.SerializeAsString();

  protos::ChaincodeInvocationSpec spec;
  auto *cs = spec.mutable_chaincode_spec();
  cs->set_type(protos::ChaincodeSpec::NODE);
  cs->mutable_chaincode_id()->set_name(chaincode);
  for (const auto &a : args)
    cs->mutable_input()->add_args(a);
  protos::ChaincodeProposalPayload cpp;
  cpp.set_input(spec.SerializeAsString());
  p.payload = cpp.SerializeAsString();

  protos::Proposal proposal;
  proposal.set_header(p.header);
  proposal.set_payload(p.payload);
  std::string bytes = proposal.SerializeAsString();
  p.signed_proposal.set_signature(sign(bytes));
  p.signed_proposal.set_proposal_bytes(std::move(bytes));
  return p;
}

Endorsed check_endorsements(const std::vector<protos::ProposalResponse> &responses) {
  Endorsed e;
  for (size_t i = 0; i < responses.size(); ++i) {
    const auto &r = responses[i];
    if (r.response().status() >= 400 || !r.has_endorsement()) {
      e.status = r.response().status() >= 400 ? r.response().status() : 500;
      e.message = r.response().message().empty() ? "the peer gave no endorsement" : r.response().message();
      return e;
    }
    if (i == 0) {
      e.status = r.response().status();
      e.result = r.response().payload();
    } else if (r.payload() != responses[0].payload()) {
      e.differ = true;
    }
  }
  return e;
}

common::Envelope make_transaction(const Proposal &proposal, const std::vector<protos::ProposalResponse> &responses,
                                  const Signer &sign) {
  protos::ChaincodeActionPayload cap;
  cap.set_chaincode_proposal_payload(proposal.payload);
  auto *action = cap.mutable_action();
  action->set_proposal_response_payload(responses.front().payload());
  for (const auto &r : responses)
    *action->add_endorsements() = r.endorsement();

  protos::Transaction tx;
  auto *ta = tx.add_actions();
  ta->set_header(proposal.signature_header);
  ta->set_payload(cap.SerializeAsString());

  common::Header header;
  header.ParseFromString(proposal.header);
  common::Payload payload;
  *payload.mutable_header() = header;
  payload.set_data(tx.SerializeAsString());

  common::Envelope env;
  env.set_payload(payload.SerializeAsString());
  env.set_signature(sign(env.payload()));
  return env;
}

common::Envelope make_seek(const std::string &channel, const std::string &creator, const std::string &tls_cert_hash,
                           std::optional<std::uint64_t> start, const Signer &sign) {
  const std::string nonce = random_nonce();
  common::ChannelHeader ch;
  ch.set_type(common::DELIVER_SEEK_INFO);
  set_now(ch.mutable_timestamp());
  ch.set_channel_id(channel);
  ch.set_tx_id(transaction_id(nonce, creator));
  if (!tls_cert_hash.empty()) ch.set_tls_cert_hash(tls_cert_hash);
  common::SignatureHeader sh;
  sh.set_creator(creator);
  sh.set_nonce(nonce);

  orderer::SeekInfo seek;
  if (start)
    seek.mutable_start()->mutable_specified()->set_number(*start);
  else
    seek.mutable_start()->mutable_newest();
  seek.mutable_stop()->mutable_specified()->set_number(UINT64_MAX);
  seek.set_behavior(orderer::SeekInfo::BLOCK_UNTIL_READY);

  common::Payload payload;
  payload.mutable_header()->set_channel_header(ch.SerializeAsString());
  payload.mutable_header()->set_signature_header(sh.SerializeAsString());
  payload.set_data(seek.SerializeAsString());
  common::Envelope env;
  env.set_payload(payload.SerializeAsString());
  env.set_signature(sign(env.payload()));
  return env;
}

std::string validation_code_name(int code) {
  if (protos::TxValidationCode_IsValid(code))
    return protos::TxValidationCode_Name(static_cast<protos::TxValidationCode>(code));
  return "VALIDATION_CODE_" + std::to_string(code);
}

std::string block_hash(const common::BlockHeader &h) {
  std::string body = der_unsigned(h.number()) + der_octets(h.previous_hash()) + der_octets(h.data_hash());
  return to_hex(sha256("\x30" + der_length(body.size()) + body));
}

json::object block_json(const common::Block &block) {
  json::object b;
  b["number"] = block.header().number();
  b["hash"] = block_hash(block.header());
  b["parentHash"] = to_hex(block.header().previous_hash());
  b["dataHash"] = to_hex(block.header().data_hash());
  std::string filter;
  if (block.metadata().metadata_size() > common::TRANSACTIONS_FILTER)
    filter = block.metadata().metadata(common::TRANSACTIONS_FILTER);
  json::array txs, codes;
  std::uint64_t timestamp = 0;
  for (int i = 0; i < block.data().data_size(); ++i) {
    common::Envelope env;
    common::Payload payload;
    if (!env.ParseFromString(block.data().data(i)) || !payload.ParseFromString(env.payload()))
      throw Failure(WEFT_E_UNAVAILABLE, "block " + std::to_string(block.header().number()) + ": transaction " +
                                            std::to_string(i) + " does not decode");
    auto ch = parse_channel_header(payload);
    if (i == 0) timestamp = millis(ch.timestamp());
    txs.emplace_back(ch.tx_id());
    codes.emplace_back(i < static_cast<int>(filter.size()) ? static_cast<unsigned char>(filter[i]) : 255);
  }
  b["timestamp"] = timestamp;
  b["transactions"] = std::move(txs);
  b["validationCodes"] = std::move(codes);
  b["txCount"] = block.data().data_size();
  return b;
}

TxSummary summarize(const common::Envelope &envelope) {
  TxSummary s;
  common::Payload payload;
  if (!payload.ParseFromString(envelope.payload()))
    throw Failure(WEFT_E_UNAVAILABLE, "the transaction's payload does not decode");
  auto ch = parse_channel_header(payload);
  s.tx_id = ch.tx_id();
  s.timestamp_ms = millis(ch.timestamp());
  if (ch.type() != common::ENDORSER_TRANSACTION) return s;
  protos::Transaction tx;
  protos::ChaincodeActionPayload cap;
  protos::ChaincodeProposalPayload cpp;
  protos::ChaincodeInvocationSpec spec;
  protos::ProposalResponsePayload prp;
  protos::ChaincodeAction action;
  if (!tx.ParseFromString(payload.data()) || tx.actions_size() == 0 || !cap.ParseFromString(tx.actions(0).payload()) ||
      !cpp.ParseFromString(cap.chaincode_proposal_payload()) || !spec.ParseFromString(cpp.input()) ||
      !prp.ParseFromString(cap.action().proposal_response_payload()) || !action.ParseFromString(prp.extension()))
    throw Failure(WEFT_E_UNAVAILABLE, "transaction " + s.tx_id + " does not decode as a chaincode invocation");
  s.chaincode = spec.chaincode_spec().chaincode_id().name();
  const auto &in = spec.chaincode_spec().input();
  for (int i = 0; i < in.args_size(); ++i)
    (i == 0 ? s.method : s.args.emplace_back()) = in.args(i);
  s.result = action.response().payload();
  s.status = action.response().status();
  return s;
}

} // namespace weft::fabric
