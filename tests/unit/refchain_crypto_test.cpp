// Signatures and addresses: recoverable secp256k1, low-S only, chain id inside the signed bytes.
#include "crypto.h"
#include "error.h"
#include "refchain_test_support.h"
#include "transaction.h"

#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::test;

TEST_CASE("the key with secret 1 is the generator, and its address is the tail of SHA-256(pub)") {
  SecretKey one{};
  one[31] = 1;
  PublicKey g = public_key_of(one);
  CHECK(to_hex(g) == "0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                     "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
  Hash h = sha256(g);
  Address a = address_of(g);
  CHECK(std::equal(a.begin(), a.end(), h.begin() + 12));
  CHECK(address_text(a).size() == 42);
  CHECK(parse_address(address_text(a)) == a);
  CHECK_THROWS_AS(parse_address("0x1234"), DecodeError);
  CHECK_THROWS_AS(parse_address(address_text(a).substr(2) + "00"), DecodeError);
}

TEST_CASE("a signed transaction verifies and names its sender") {
  TestAccount alice(3);
  Transaction tx = make_tx(alice, 7, 10, "store", "set", {"k", "v"});
  VerifiedTx v = verify_transaction(tx, 7);
  CHECK(v.sender == alice.address);
  CHECK(v.hash == tx.hash());
}

TEST_CASE("a high-S signature is rejected even though it is mathematically valid") {
  TestAccount alice(3);
  Transaction tx = make_tx(alice, 7, 10, "store", "set", {"k", "v"});
  tx.signature = high_s_twin(tx.signature);
  try {
    verify_transaction(tx, 7);
    FAIL("high-S accepted");
  } catch (const Error &e) {
    CHECK(e.status == WEFT_E_REJECTED);
    CHECK(std::string(e.what()).find("high S") != std::string::npos);
  }
}

TEST_CASE("a transaction for another chain id is rejected, and changing the id breaks the signature") {
  TestAccount alice(3);
  Transaction tx = make_tx(alice, 7, 10, "store", "set", {"k", "v"});
  CHECK_THROWS_WITH_AS(verify_transaction(tx, 8), doctest::Contains("chain id"), Error);
  // Re-labelling the transaction for chain 8 changes the signed bytes: the recovered sender is no longer alice.
  tx.chain_id = 8;
  try {
    CHECK(verify_transaction(tx, 8).sender != alice.address);
  } catch (const Error &e) {
    CHECK(e.status == WEFT_E_REJECTED);
  }
}

TEST_CASE("malformed signatures are rejected") {
  TestAccount alice(3);
  Transaction tx = make_tx(alice, 7, 10, "store", "set", {"k", "v"});
  Transaction bad_recid = tx;
  bad_recid.signature[64] = 7;
  CHECK_THROWS_AS(verify_transaction(bad_recid, 7), Error);
  Transaction zero = tx;
  zero.signature.fill(0);
  CHECK_THROWS_AS(verify_transaction(zero, 7), Error);
}

TEST_CASE("a remembered recovery answers as the first did, keyed by digest and signature; failures are not kept") {
  TestAccount alice(3), bob(4);
  Hash digest = sha256(Bytes{1, 2, 3});
  Hash other = sha256(Bytes{4, 5, 6});
  Signature by_alice = sign_digest(alice.secret, digest);
  CHECK(address_of(recover_signer(digest, by_alice)) == alice.address);
  CHECK(address_of(recover_signer(digest, by_alice)) == alice.address);
  // The same signature over another digest is not alice's, whatever was remembered for the first.
  try {
    CHECK(address_of(recover_signer(other, by_alice)) != alice.address);
  } catch (const Error &e) {
    CHECK(e.status == WEFT_E_REJECTED);
  }
  CHECK(address_of(recover_signer(digest, sign_digest(bob.secret, digest))) == bob.address);
  // A high-S twin of a remembered signature is refused, every time.
  for (int i = 0; i < 2; ++i)
    CHECK_THROWS_WITH_AS(recover_signer(digest, high_s_twin(by_alice)), doctest::Contains("high S"), Error);
  Signature bad = by_alice;
  bad[64] = 9;
  for (int i = 0; i < 2; ++i) CHECK_THROWS_AS(recover_signer(digest, bad), Error);
  // More recoveries than both generations hold: the first is forgotten and recovered again, still right.
  for (size_t i = 0; i < 2 * kRecoveryCacheGeneration + 1; ++i) {
    Hash d = sha256(Bytes{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8), 7});
    REQUIRE(address_of(recover_signer(d, sign_digest(bob.secret, d))) == bob.address);
  }
  CHECK(address_of(recover_signer(digest, by_alice)) == alice.address);
}
