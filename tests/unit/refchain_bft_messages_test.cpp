// The BFT wire encoding and commit certificates: round trips, strict decoding, and every way a certificate is refused.
#include "bft/engine.h"
#include "bft/messages.h"
#include "bft/vote_state.h"
#include "error.h"
#include "refchain_bft_sim.h"

#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::bft;

namespace {
struct Set {
  std::vector<std::unique_ptr<sim::KeySigner>> keys;
  std::vector<Address> members;
  explicit Set(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(std::make_unique<sim::KeySigner>(static_cast<uint8_t>(i + 21)));
      members.push_back(keys.back()->address());
    }
  }
  CommitCert cert(uint64_t h, uint32_t r, const Hash &hash, std::vector<uint32_t> who) {
    CommitCert c{r, {}};
    for (uint32_t v : who)
      c.seals.push_back(Seal{v, keys[v]->sign(commit_digest(5, h, r, hash))});
    return c;
  }
};
} // namespace

TEST_CASE("quorum is n minus the faults tolerated") {
  CHECK(quorum(1) == 1);
  CHECK(quorum(2) == 2);
  CHECK(quorum(3) == 3);
  CHECK(quorum(4) == 3);
  CHECK(quorum(7) == 5);
  CHECK(quorum(10) == 7);
}

TEST_CASE("messages round-trip and decode strictly") {
  Set s(4);
  Message rc;
  rc.type = MessageType::RoundChange;
  rc.chain_id = 5;
  rc.height = 9;
  rc.round = 2;
  rc.prepared = PreparedCert{1, Hash{1}, {Signature{}, Signature{}}};
  rc.payload = {1, 2, 3};
  sign_message(rc, *s.keys[0]);
  Bytes wire = rc.encode();
  Message back = Message::decode(wire, 1 << 20);
  CHECK(back.encode() == wire);
  CHECK(back.payload == rc.payload);
  CHECK(back.digest() == rc.digest());
  // The attachment is outside the signature: stripping it keeps the signature valid.
  CHECK(Message::decode(rc.encode(false), 1 << 20).digest() == rc.digest());
  CHECK(address_of(recover_signer(back.digest(), back.signature)) == s.members[0]);
  Bytes trailing = wire;
  trailing.push_back(0);
  CHECK_THROWS_AS(Message::decode(trailing, 1 << 20), DecodeError);
  CHECK_THROWS_AS(Message::decode(wire, wire.size() - 1), DecodeError);
  Bytes unknown = wire;
  unknown[0] = 9;
  CHECK_THROWS_AS(Message::decode(unknown, 1 << 20), DecodeError);
  for (size_t len = 0; len < wire.size(); ++len)
    CHECK_THROWS_AS(Message::decode(ByteView(wire.data(), len), 1 << 20), DecodeError);
}

TEST_CASE("a commit seal is the signature of the COMMIT vote") {
  Message c;
  c.type = MessageType::Commit;
  c.chain_id = 5;
  c.height = 3;
  c.round = 1;
  c.hash = Hash{7};
  CHECK(c.digest() == commit_digest(5, 3, 1, Hash{7}));
  CHECK(commit_digest(5, 3, 1, Hash{7}) != commit_digest(6, 3, 1, Hash{7}));
  CHECK(commit_digest(5, 3, 1, Hash{7}) != prepare_digest(5, 3, 1, Hash{7}));
}

TEST_CASE("commit certificates: encoding and every refusal") {
  Set s(4);
  Hash h{9};
  CommitCert good = s.cert(3, 1, h, {0, 2, 3});
  std::string why;
  CHECK(verify_commit_cert(5, s.members, 3, h, good, &why));
  CHECK(decode_cert(encode_cert(good)).seals.size() == 3);
  Bytes enc = encode_cert(good);
  CHECK_THROWS_AS(decode_cert(ByteView(enc.data(), enc.size() - 1)), DecodeError);
  enc.push_back(0);
  CHECK_THROWS_AS(decode_cert(enc), DecodeError);

  CHECK_FALSE(verify_commit_cert(5, s.members, 3, h, s.cert(3, 1, h, {0, 2}), &why)); // below quorum
  CHECK_FALSE(verify_commit_cert(5, s.members, 4, h, good, &why));                    // another height
  CHECK_FALSE(verify_commit_cert(6, s.members, 3, h, good, &why));                    // another chain
  CHECK_FALSE(verify_commit_cert(5, s.members, 3, Hash{8}, good, &why));              // another block
  CommitCert wrong_round = good;
  wrong_round.round = 2;
  CHECK_FALSE(verify_commit_cert(5, s.members, 3, h, wrong_round, &why));
  CommitCert twice = s.cert(3, 1, h, {0, 2, 2});
  CHECK_FALSE(verify_commit_cert(5, s.members, 3, h, twice, &why));
  CommitCert outside = good;
  outside.seals[0].validator = 7;
  CHECK_FALSE(verify_commit_cert(5, s.members, 3, h, outside, &why));
  CommitCert swapped = good;
  swapped.seals[0].validator = 1; // validator 0's signature claimed as validator 1's
  CHECK_FALSE(verify_commit_cert(5, s.members, 3, h, swapped, &why));
  CommitCert high_s = good;
  high_s.seals[1].signature = high_s_twin(high_s.seals[1].signature);
  CHECK_FALSE(verify_commit_cert(5, s.members, 3, h, high_s, &why));
  CHECK(why.find("validator 2") != std::string::npos);
}

TEST_CASE("vote state round-trips and refuses damage") {
  VoteState v{12, 3, Hash{1}, Hash{1}, PreparedCert{2, Hash{1}, {Signature{}}}, Bytes{4, 5}};
  Bytes enc = v.encode();
  VoteState back = VoteState::decode(enc);
  CHECK(back.encode() == enc);
  CHECK(back.prepared->round == 2);
  CHECK_THROWS_AS(VoteState::decode(ByteView(enc.data(), enc.size() - 1)), DecodeError);
}
