// Merkle roots and inclusion proofs: hand-computed roots, the RFC 6962 reference vectors, every audit path, and
// proofs that fail once anything in them is tampered with.
#include "chain_json.h"
#include "crypto.h"
#include "error.h"
#include "merkle.h"
#include "proof.h"
#include "refchain_test_support.h"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::test;

namespace {
Hash H(ByteView a) { return sha256(a); }
Hash leaf(const Hash &d) {
  Bytes b{0x00};
  b.insert(b.end(), d.begin(), d.end());
  return H(b);
}
Hash node(const Hash &l, const Hash &r) {
  Bytes b{0x01};
  b.insert(b.end(), l.begin(), l.end());
  b.insert(b.end(), r.begin(), r.end());
  return H(b);
}
std::vector<Hash> items(size_t n) {
  std::vector<Hash> v;
  for (size_t i = 0; i < n; ++i)
    v.push_back(H(Bytes{static_cast<uint8_t>(i)}));
  return v;
}
} // namespace

TEST_CASE("roots for n = 0, 1, 2, 3, 5 match the hand computation") {
  auto d = items(5);
  CHECK(to_hex(merkle_root(std::vector<Hash>{})) ==
        "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(merkle_root(items(1)) == leaf(d[0]));
  CHECK(merkle_root(items(2)) == node(leaf(d[0]), leaf(d[1])));
  CHECK(merkle_root(items(3)) == node(node(leaf(d[0]), leaf(d[1])), leaf(d[2])));
  CHECK(merkle_root(items(5)) == node(node(node(leaf(d[0]), leaf(d[1])), node(leaf(d[2]), leaf(d[3]))), leaf(d[4])));
}

TEST_CASE("roots match the RFC 6962 reference vectors") {
  std::vector<Bytes> leaves = {from_hex(""),
                               from_hex("00"),
                               from_hex("10"),
                               from_hex("2021"),
                               from_hex("3031"),
                               from_hex("40414243"),
                               from_hex("5051525354555657"),
                               from_hex("606162636465666768696a6b6c6d6e6f")};
  auto root = [&](size_t n) { return to_hex(merkle_root(std::vector<Bytes>(leaves.begin(), leaves.begin() + n))); };
  CHECK(root(1) == "0x6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  CHECK(root(2) == "0xfac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
  CHECK(root(3) == "0xaeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
  CHECK(root(4) == "0xd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  CHECK(root(5) == "0x4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4");
  CHECK(root(8) == "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

TEST_CASE("every audit path of trees up to 17 leaves verifies, and only for its own leaf and index") {
  for (size_t n = 1; n <= 17; ++n) {
    auto leaves = items(n);
    Hash root = merkle_root(leaves);
    for (size_t i = 0; i < n; ++i) {
      auto path = merkle_path(leaves, i);
      CHECK_MESSAGE(merkle_verify(leaves[i], i, n, path, root), "n=" << n << " i=" << i);
      if (n > 1) {
        CHECK_FALSE(merkle_verify(leaves[(i + 1) % n], i, n, path, root));
        CHECK_FALSE(merkle_verify(leaves[i], (i + 1) % n, n, path, root));
      }
      if (!path.empty()) {
        auto bad = path;
        bad[0][0] ^= 1;
        CHECK_FALSE(merkle_verify(leaves[i], i, n, bad, root));
        auto shorter = path;
        shorter.pop_back();
        CHECK_FALSE(merkle_verify(leaves[i], i, n, shorter, root));
      }
      auto longer = path;
      longer.push_back(root);
      CHECK_FALSE(merkle_verify(leaves[i], i, n, longer, root));
    }
    CHECK_FALSE(merkle_verify(leaves[0], n, n, merkle_path(leaves, 0), root));
  }
}

TEST_CASE("an inner node cannot pass for a leaf") {
  auto leaves = items(4);
  Hash root = merkle_root(leaves);
  // The left child of the root, offered as a leaf of a two-leaf tree, fails because leaves carry the 0x00 prefix.
  Hash left = node(leaf(leaves[0]), leaf(leaves[1]));
  Hash right = node(leaf(leaves[2]), leaf(leaves[3]));
  CHECK_FALSE(merkle_verify(left, 0, 2, {right}, root));
}

TEST_CASE("an inclusion proof verifies and fails on any tampering") {
  auto txs = items(5), receipts = items(5);
  for (auto &r : receipts)
    r[31] ^= 0x55;
  BlockHeader h = genesis_header(7);
  h.number = 9;
  h.timestamp_ms = 99;
  h.tx_count = 5;
  h.tx_root = merkle_root(txs);
  h.receipt_root = merkle_root(receipts);
  InclusionProof p;
  p.block_number = 9;
  p.index = 3;
  p.tx_count = 5;
  p.tx_hash = txs[3];
  p.receipt_hash = receipts[3];
  p.tx_path = merkle_path(txs, 3);
  p.receipt_path = merkle_path(receipts, 3);
  p.header = h;
  p.block_hash = h.hash();
  std::string why;
  REQUIRE(verify_proof(p, &why));

  // The JSON form round-trips and still verifies.
  InclusionProof again = proof_from_json(boost::json::value(proof_json(p)));
  CHECK(verify_proof(again));

  auto tampered = [&](auto change) {
    InclusionProof q = p;
    change(q);
    return !verify_proof(q, &why);
  };
  CHECK(tampered([](InclusionProof &q) { q.tx_hash[0] ^= 1; }));
  CHECK(tampered([](InclusionProof &q) { q.receipt_hash[0] ^= 1; }));
  CHECK(tampered([](InclusionProof &q) { q.index = 2; }));
  CHECK(tampered([](InclusionProof &q) { q.tx_count = 4; })); // the path no longer fits the tree's shape
  CHECK(tampered([](InclusionProof &q) { q.tx_count = 3; }));
  CHECK(why.find("txCount") != std::string::npos);
  // The count is in the hashed header: changing both still breaks the block hash, so a leaf's position is proven.
  CHECK(tampered([](InclusionProof &q) { q.tx_count = q.header.tx_count = 8; }));
  CHECK(tampered([](InclusionProof &q) { q.tx_path[1][5] ^= 1; }));
  CHECK(tampered([](InclusionProof &q) { q.receipt_path.pop_back(); }));
  CHECK(tampered([](InclusionProof &q) { q.header.timestamp_ms += 1; }));
  CHECK(why.find("block hash") != std::string::npos);
  CHECK(tampered([](InclusionProof &q) { q.header.state_hash[0] ^= 1; }));
  CHECK(tampered([](InclusionProof &q) { q.block_hash[0] ^= 1; }));
  CHECK(tampered([](InclusionProof &q) { q.block_number = 8; }));
  // Swapping the receipt tree for the transaction tree is caught too.
  CHECK(tampered([](InclusionProof &q) { std::swap(q.header.tx_root, q.header.receipt_root); }));

  boost::json::object j = proof_json(p);
  j.erase("txProof");
  CHECK_THROWS_AS(proof_from_json(j), DecodeError);
}
