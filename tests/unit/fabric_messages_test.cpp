// The Fabric adapter's config checks and protocol messages, without a network: transaction ids, DER low-S signatures
// (verified by OpenSSL), proposals and envelopes decoded back, block hashes, and what endorsements say.
#include "fabric_config.h"
#include "fabric_messages.h"

#include "msp/identities.pb.h"
#include "orderer/ab.pb.h"
#include "peer/chaincode.pb.h"

#include <weft/adapter.hpp>

#include <doctest/doctest.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

using namespace weft::fabric;
namespace fs = std::filesystem;

namespace {

// P-256's group order.
constexpr const char *kOrder = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

// A P-256 key held by the test, signing as the host does (64 bytes r||s) and checking DER signatures.
struct TestKey {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          EVP_PKEY_free};
  TestKey() { REQUIRE(key != nullptr); }
  // r||s; with high_s, s is replaced by n - s when it is low (the other valid signature), so the adapter must fix it.
  std::vector<uint8_t> sign_rs(const std::string &digest, bool high_s) {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                    EVP_PKEY_CTX_free);
    unsigned char der[80];
    size_t der_len = sizeof der;
    REQUIRE(EVP_PKEY_sign_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_sign(ctx.get(), der, &der_len, reinterpret_cast<const unsigned char *>(digest.data()), 32) == 1);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
    const BIGNUM *r = nullptr, *s = nullptr;
    ECDSA_SIG_get0(sig, &r, &s);
    BIGNUM *order = nullptr, *half = BN_new(), *s2 = BN_dup(s);
    BN_hex2bn(&order, kOrder);
    BN_rshift1(half, order);
    const bool is_high = BN_cmp(s2, half) > 0;
    if (high_s != is_high) BN_sub(s2, order, s2);
    std::vector<uint8_t> out(64);
    BN_bn2binpad(r, out.data(), 32);
    BN_bn2binpad(s2, out.data() + 32, 32);
    BN_free(order);
    BN_free(half);
    BN_free(s2);
    ECDSA_SIG_free(sig);
    return out;
  }
  bool verify(const std::string &digest, const std::string &der) {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                    EVP_PKEY_CTX_free);
    return EVP_PKEY_verify_init(ctx.get()) == 1 &&
           EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char *>(der.data()), der.size(),
                           reinterpret_cast<const unsigned char *>(digest.data()), 32) == 1;
  }
  Signer signer() {
    return [this](const std::string &bytes) { return der_signature(sign_rs(sha256(bytes), true)); };
  }
};

// The S of a DER ECDSA signature is in the low half of P-256's order.
bool low_s(const std::string &der) {
  const unsigned char *p = reinterpret_cast<const unsigned char *>(der.data());
  ECDSA_SIG *sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  REQUIRE(sig != nullptr);
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  BIGNUM *half = nullptr;
  BN_hex2bn(&half, kOrder);
  BN_rshift1(half, half);
  const bool low = BN_cmp(s, half) <= 0;
  BN_free(half);
  ECDSA_SIG_free(sig);
  return low;
}

const std::string kCert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

} // namespace

TEST_CASE("the transaction id is hex(sha256(nonce || serialized creator))") {
  const std::string creator = serialized_identity("Org1MSP", kCert);
  std::string nonce;
  for (int i = 1; i <= 24; ++i)
    nonce.push_back(static_cast<char>(i));
  // Computed apart from this code: msp.SerializedIdentity{mspid=1, id_bytes=2} encoded by hand, hashed by Python.
  CHECK(to_hex(creator) == "0a074f7267314d5350123b2d2d2d2d2d424547494e2043455254494649434154452d2d2d2d2d0a4d4949420a2d"
                           "2d2d2d2d454e442043455254494649434154452d2d2d2d2d0a");
  CHECK(transaction_id(nonce, creator) == "053acd0471374878c9a1a55d278b53903b8b383af53e8fd231e641478a817f43");
  CHECK(random_nonce().size() == 24);
  CHECK(random_nonce() != random_nonce());
}

TEST_CASE("signatures become DER with a low S, and verify") {
  TestKey key;
  const std::string digest = sha256("weft");
  for (bool high : {false, true}) {
    const auto der = der_signature(key.sign_rs(digest, high));
    CHECK(static_cast<unsigned char>(der[0]) == 0x30);
    CHECK(low_s(der));
    CHECK(key.verify(digest, der));
  }
  CHECK_THROWS_AS(der_signature(std::vector<uint8_t>(63)), weft::plugin::Failure);
}

TEST_CASE("a proposal decodes back to what was asked, signed by its creator") {
  TestKey key;
  const std::string creator = serialized_identity("Org1MSP", kCert);
  const std::string nonce = random_nonce();
  auto p = make_proposal("weftchannel", "kv", {"set", "k", "v"}, creator, nonce, key.signer());
  CHECK(p.tx_id == transaction_id(nonce, creator));
  CHECK(key.verify(sha256(p.signed_proposal.proposal_bytes()), p.signed_proposal.signature()));
  protos::Proposal proposal;
  REQUIRE(proposal.ParseFromString(p.signed_proposal.proposal_bytes()));
  common::Header header;
  REQUIRE(header.ParseFromString(proposal.header()));
  common::ChannelHeader ch;
  REQUIRE(ch.ParseFromString(header.channel_header()));
  CHECK(ch.type() == common::ENDORSER_TRANSACTION);
  CHECK(ch.channel_id() == "weftchannel");
  CHECK(ch.tx_id() == p.tx_id);
  protos::ChaincodeHeaderExtension ext;
  REQUIRE(ext.ParseFromString(ch.extension()));
  CHECK(ext.chaincode_id().name() == "kv");
  common::SignatureHeader sh;
  REQUIRE(sh.ParseFromString(header.signature_header()));
  CHECK(sh.creator() == creator);
  CHECK(sh.nonce() == nonce);
  protos::ChaincodeProposalPayload cpp;
  REQUIRE(cpp.ParseFromString(proposal.payload()));
  protos::ChaincodeInvocationSpec spec;
  REQUIRE(spec.ParseFromString(cpp.input()));
  REQUIRE(spec.chaincode_spec().input().args_size() == 3);
  CHECK(spec.chaincode_spec().input().args(0) == "set");
  CHECK(spec.chaincode_spec().input().args(2) == "v");

  SUBCASE("its transaction carries the endorsements and summarizes back") {
    protos::ChaincodeAction action;
    action.mutable_response()->set_status(200);
    action.mutable_response()->set_payload("v");
    protos::ProposalResponsePayload prp;
    prp.set_extension(action.SerializeAsString());
    std::vector<protos::ProposalResponse> answers(2);
    for (auto &a : answers) {
      a.mutable_response()->set_status(200);
      a.mutable_response()->set_payload("v");
      a.set_payload(prp.SerializeAsString());
      a.mutable_endorsement()->set_endorser("peer");
      a.mutable_endorsement()->set_signature("sig");
    }
    auto e = check_endorsements(answers);
    CHECK(e.status == 200);
    CHECK(e.result == "v");
    CHECK_FALSE(e.differ);
    auto env = make_transaction(p, answers, key.signer());
    CHECK(key.verify(sha256(env.payload()), env.signature()));
    auto s = summarize(env);
    CHECK(s.tx_id == p.tx_id);
    CHECK(s.chaincode == "kv");
    CHECK(s.method == "set");
    CHECK(s.args == std::vector<std::string>{"k", "v"});
    CHECK(s.result == "v");

    answers[1].set_payload("other");
    CHECK(check_endorsements(answers).differ);
    answers[1].mutable_response()->set_status(500);
    answers[1].mutable_response()->set_message("chaincode says no");
    e = check_endorsements(answers);
    CHECK(e.status == 500);
    CHECK(e.message == "chaincode says no");
  }
}

TEST_CASE("a Deliver seek carries the TLS certificate hash and the start block") {
  TestKey key;
  const std::string creator = serialized_identity("Org1MSP", kCert);
  auto env = make_seek("weftchannel", creator, std::string(32, '\x07'), 12, key.signer());
  common::Payload payload;
  REQUIRE(payload.ParseFromString(env.payload()));
  common::ChannelHeader ch;
  REQUIRE(ch.ParseFromString(payload.header().channel_header()));
  CHECK(ch.type() == common::DELIVER_SEEK_INFO);
  CHECK(ch.tls_cert_hash() == std::string(32, '\x07'));
  orderer::SeekInfo seek;
  REQUIRE(seek.ParseFromString(payload.data()));
  CHECK(seek.start().specified().number() == 12);
  CHECK(seek.stop().specified().number() == UINT64_MAX);
  CHECK(seek.behavior() == orderer::SeekInfo::BLOCK_UNTIL_READY);
  auto newest = make_seek("weftchannel", creator, "", std::nullopt, key.signer());
  REQUIRE(payload.ParseFromString(newest.payload()));
  REQUIRE(seek.ParseFromString(payload.data()));
  CHECK(seek.start().has_newest());
}

TEST_CASE("block hashes are SHA-256 over the header's ASN.1 DER, and names of validation codes") {
  common::BlockHeader h;
  h.set_number(1);
  h.set_previous_hash("a");
  h.set_data_hash("b");
  // SEQUENCE { INTEGER 1, OCTET STRING "a", OCTET STRING "b" }
  const std::string der("\x30\x09\x02\x01\x01\x04\x01\x61\x04\x01\x62", 11);
  CHECK(block_hash(h) == to_hex(sha256(der)));
  h.set_number(128); // needs a leading zero byte to stay positive
  const std::string der128("\x30\x0a\x02\x02\x00\x80\x04\x01\x61\x04\x01\x62", 12);
  CHECK(block_hash(h) == to_hex(sha256(der128)));
  CHECK(validation_code_name(0) == "VALID");
  CHECK(validation_code_name(10) == "ENDORSEMENT_POLICY_FAILURE");
  CHECK(validation_code_name(11) == "MVCC_READ_CONFLICT");
  CHECK(validation_code_name(77) == "VALIDATION_CODE_77");
}

TEST_CASE("chaincode bytes become text, or hex when they are not UTF-8") {
  CHECK(as_text("blue") == "blue");
  CHECK(as_text("") == "");
  CHECK(as_text("gr\xc3\xbcn \xe2\x82\xac \xf0\x9f\x98\x80") == "gr\xc3\xbcn \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(as_text(std::string("\x00\x01", 2)) == "0x0001");
  CHECK(as_text("\xff") == "0xff");
  CHECK(as_text("\xc3") == "0xc3");             // truncated
  CHECK(as_text("\xc0\xaf") == "0xc0af");       // overlong
  CHECK(as_text("\xed\xa0\x80") == "0xeda080"); // a surrogate
}

TEST_CASE("bytes from a peer that do not decode are an error, not a crash") {
  common::Envelope env;
  env.set_payload("\xff\xff\xff garbage");
  CHECK_THROWS_AS(summarize(env), weft::plugin::Failure);
  common::Payload payload;
  common::ChannelHeader ch;
  ch.set_type(common::ENDORSER_TRANSACTION);
  ch.set_tx_id("abc");
  payload.mutable_header()->set_channel_header(ch.SerializeAsString());
  payload.set_data("not a transaction \x01\x02");
  env.set_payload(payload.SerializeAsString());
  try {
    summarize(env);
    FAIL("a garbage transaction decoded");
  } catch (const weft::plugin::Failure &f) {
    CHECK(f.message.find("abc") != std::string::npos);
  }
  common::Block block;
  block.mutable_header()->set_number(7);
  block.mutable_data()->add_data("\x0a\xff\xff\xff");
  CHECK_THROWS_AS(block_json(block), weft::plugin::Failure);
  // A block with no transactions filter (metadata missing) still reads; its codes are unknown (255).
  common::Envelope ok;
  ch.set_tx_id("t1");
  payload.mutable_header()->set_channel_header(ch.SerializeAsString());
  payload.set_data("");
  ok.set_payload(payload.SerializeAsString());
  block.mutable_data()->set_data(0, ok.SerializeAsString());
  auto b = block_json(block);
  CHECK(b.at("transactions").as_array().at(0).as_string() == "t1");
  CHECK(b.at("validationCodes").as_array().at(0).as_int64() == 255);
}

namespace {
struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("weft-fabric-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() { fs::remove_all(dir); }
  std::string write(const std::string &name, const std::string &text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

std::string message_of(const std::string &json) {
  try {
    parse_fabric_config(json);
  } catch (const weft::plugin::Failure &f) {
    CHECK(f.status == WEFT_E_INVALID_ARGUMENT);
    return f.message;
  }
  return "";
}
} // namespace

TEST_CASE("config errors name the key or the file") {
  TempDir t;
  const std::string not_pem = t.write("garbage.pem", "not a certificate\n");
  const std::string base = R"("channel":"weftchannel","service_account":"ua:1:1","tls":{"enabled":false},)"
                           R"("orderers":[{"address":"127.0.0.1:7050"}])";
  auto cfg = parse_fabric_config("{" + base +
                                 R"(,"peers":[{"name":"p1","address":"127.0.0.1:7051"}],"resources":[{"name":"kv"}]})");
  CHECK(cfg.tls == false);
  CHECK(cfg.resources.at(0).chaincode == "kv");
  CHECK(cfg.resources.at(0).peers == std::vector<std::string>{"p1"});

  CHECK(message_of("not json").find("options must be a mapping") != std::string::npos);
  CHECK(message_of("{" + base + R"(,"peers":[],"colour":1})").find("unknown key 'colour'") != std::string::npos);
  CHECK(message_of("{" + base + R"(,"peers":[]})").find("options.peers must be a non-empty list") != std::string::npos);
  CHECK(message_of("{" + base + R"(,"peers":[{"name":"p1","address":"nowhere"}]})").find("host:port") !=
        std::string::npos);
  CHECK(message_of("{" + base +
                   R"(,"peers":[{"name":"p1","address":"127.0.0.1:1"}],"resources":[{"name":"kv","peers":["p9"]}]})")
            .find("'p9' is not a name in options.peers") != std::string::npos);
  CHECK(message_of(R"({"channel":"Bad_Channel"})").find("not a Fabric channel name") != std::string::npos);
  // Weft's chaincode stubs: the XA proxy's chaincode name, XA-capable and HTLC resources.
  const std::string p1 = R"(,"peers":[{"name":"p1","address":"127.0.0.1:7051"}])";
  auto stubs = parse_fabric_config("{" + base + p1 +
                                   R"(,"xa_proxy":"weftxa","resources":[{"name":"ledger","xa":true},)"
                                   R"({"name":"swap","chaincode":"htlc","htlc":true}]})");
  CHECK(stubs.xa_proxy == "weftxa");
  CHECK((stubs.resources.at(0).xa && !stubs.resources.at(0).htlc));
  CHECK((stubs.resources.at(1).htlc && !stubs.resources.at(1).xa));
  CHECK(message_of("{" + base + p1 + R"(,"resources":[{"name":"ledger","xa":true}]})")
            .find("options.xa_proxy names no XA proxy") != std::string::npos);
  CHECK(message_of("{" + base + p1 + R"(,"resources":[{"name":"ledger","xa":"yes"}]})")
            .find("xa must be true or false") != std::string::npos);
  CHECK(message_of("{" + base + p1 + R"(,"xa_proxy":"p","resources":[{"name":"l","xa":true,"htlc":true}]})")
            .find("cannot be both xa and htlc") != std::string::npos);

  const std::string tls_base = R"({"channel":"c","service_account":"ua:1:1","orderers":[{"address":"127.0.0.1:7050",)"
                               R"("tls_ca_file":"/nonexistent/ca.pem"}],"peers":[{"name":"p","address":"127.0.0.1:1",)";
  CHECK(message_of(tls_base + R"("tls_ca_file":"/nonexistent/peer-ca.pem"}]})").find("/nonexistent/peer-ca.pem") !=
        std::string::npos);
  CHECK(message_of(tls_base + R"("tls_ca_file":")" + not_pem + R"("}]})").find(not_pem) != std::string::npos);
  CHECK(message_of(R"({"channel":"c","service_account":"ua:1:1","tls":{"cert_file":"/x.pem"}})")
            .find("cert_file and key_file go together") != std::string::npos);
}
