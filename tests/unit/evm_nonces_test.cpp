// The EVM adapter's nonce book: concurrent sends never share a nonce, refused sends give theirs back, and the lowest
// one given back is reused first or reported as a gap to fill.
#include "nonces.h"

#include <doctest/doctest.h>

#include <set>

using weft::evm::NonceBook;

TEST_CASE("nonces are handed out in order from the node's count") {
  NonceBook b;
  CHECK_FALSE(b.known());
  b.start_at(7);
  CHECK(b.known());
  CHECK(b.take() == 7);
  CHECK(b.take() == 8);
  CHECK(b.next() == 9);
  CHECK_FALSE(b.gap().has_value());
}

TEST_CASE("the highest nonce given back steps the counter back, over returned ones below it") {
  NonceBook b;
  b.start_at(0);
  for (int i = 0; i < 5; ++i) b.take(); // 0..4 out
  b.give_back(2);
  CHECK(b.gap() == 2u);
  b.give_back(3);
  b.give_back(4); // the top: 4, then 3 and 2 below it collapse
  CHECK(b.next() == 2);
  CHECK_FALSE(b.gap().has_value());
  CHECK(b.take() == 2);
}

TEST_CASE("a nonce given back in the middle is reused before a new one") {
  NonceBook b;
  b.start_at(10);
  for (int i = 0; i < 4; ++i) b.take(); // 10..13
  b.give_back(11);
  CHECK(b.gap() == 11u);
  CHECK(b.returned() == 1);
  CHECK(b.take() == 11);
  CHECK(b.take() == 14);
  CHECK_FALSE(b.gap().has_value());
}

TEST_CASE("giving back a nonce never handed out, or twice, changes nothing") {
  NonceBook b;
  b.start_at(3);
  b.give_back(9);
  b.give_back(1);
  CHECK(b.next() == 3);
  b.take();
  b.take(); // 3, 4
  b.give_back(3);
  b.give_back(3);
  CHECK(b.returned() == 1);
  CHECK(b.take() == 3);
  CHECK(b.take() == 5);
}

TEST_CASE("a resync from the node forgets what lies below its count") {
  NonceBook b;
  b.start_at(0);
  for (int i = 0; i < 6; ++i) b.take(); // 0..5
  b.give_back(1);
  b.give_back(4);
  b.resync(3); // the node has mined 0..2 from elsewhere: 1 is gone, 4 is still ours to reuse
  CHECK(b.gap() == 4u);
  CHECK(b.next() == 6);
  b.resync(9); // ahead of us
  CHECK(b.next() == 9);
  CHECK_FALSE(b.gap().has_value());
}

TEST_CASE("many sends with random refusals use every nonce exactly once") {
  NonceBook b;
  b.start_at(100);
  std::set<uint64_t> in_use;
  uint64_t seed = 12345;
  auto rnd = [&] { return (seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (int round = 0; round < 2000; ++round) {
    uint64_t n = b.take();
    CHECK(in_use.insert(n).second);
    if (rnd() % 5 == 0) { // refused before the node took it
      in_use.erase(n);
      b.give_back(n);
    }
  }
  // What is in use plus what was given back is exactly [100, next): no nonce lost, none doubled.
  uint64_t count = in_use.size() + b.returned();
  CHECK(count == b.next() - 100);
  for (uint64_t n = 100; n < b.next(); ++n) {
    const bool used = in_use.count(n) == 1;
    CHECK((used || b.gap().has_value()));
  }
}
