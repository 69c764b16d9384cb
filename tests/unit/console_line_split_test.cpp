// Line splitting and path checks of the weft console: what the user types becomes exactly these words.
#include "line_split.h"
#include "resource_path.h"

#include <doctest/doctest.h>

using weft::console::split_line;
using Words = std::vector<std::string>;

TEST_CASE("console splits a line on whitespace") {
  CHECK(split_line("  status  ").words == Words{"status"});
  CHECK(split_line("call a.b.c get\tkey").words == Words{"call", "a.b.c", "get", "key"});
  CHECK(split_line("").words.empty());
  CHECK(split_line("   \t ").words.empty());
  CHECK(split_line("").ok());
}

TEST_CASE("console keeps a double-quoted argument as one word") {
  const auto split = split_line(R"(sendTransaction payment.ledger1.store set greeting "hello weft")");
  REQUIRE(split.ok());
  CHECK(split.words == Words{"sendTransaction", "payment.ledger1.store", "set", "greeting", "hello weft"});
}

TEST_CASE("console single quotes are literal, double quotes allow \\\" and \\\\") {
  CHECK(split_line(R"('a \"b\" c')").words == Words{R"(a \"b\" c)"});
  CHECK(split_line(R"("say \"hi\" \\ \n")").words == Words{R"(say "hi" \ \n)"});
  CHECK(split_line(R"("it's")").words == Words{"it's"});
  CHECK(split_line(R"('say "hi"')").words == Words{R"(say "hi")"});
}

TEST_CASE("console backslash escapes outside quotes") {
  CHECK(split_line(R"(hello\ weft)").words == Words{"hello weft"});
  CHECK(split_line(R"(\"quoted\")").words == Words{R"("quoted")"});
  CHECK(split_line(R"(a\\b)").words == Words{R"(a\b)"});
}

TEST_CASE("console joins adjacent pieces and keeps empty quoted words") {
  CHECK(split_line(R"(a"b c"'d')").words == Words{"ab cd"});
  CHECK(split_line(R"(set "" '')").words == Words{"set", "", ""});
}

TEST_CASE("console reports an unterminated quote or a trailing backslash") {
  const auto dq = split_line(R"(set "hello)");
  CHECK_FALSE(dq.ok());
  CHECK(dq.error == "unterminated double quote");
  CHECK(dq.words.empty());
  CHECK(split_line("set 'hello").error == "unterminated single quote");
  CHECK(split_line(R"(set \)").error == "trailing backslash");
  CHECK(split_line(R"("a\")").error == "unterminated double quote");
}

TEST_CASE("console checks resource and chain paths") {
  using weft::console::is_chain_path;
  using weft::console::is_resource_path;
  CHECK(is_resource_path("payment.ledger1.store"));
  CHECK(is_resource_path("Z_1.c-2.R3"));
  CHECK_FALSE(is_resource_path("payment.ledger1"));
  CHECK_FALSE(is_resource_path("a.b.c.d"));
  CHECK_FALSE(is_resource_path("a..c"));
  CHECK_FALSE(is_resource_path(".b.c"));
  CHECK_FALSE(is_resource_path("a.b."));
  CHECK_FALSE(is_resource_path("a.b/c.d"));
  CHECK_FALSE(is_resource_path("a.b.c d"));
  CHECK_FALSE(is_resource_path(""));
  CHECK(is_chain_path("payment.ledger1"));
  CHECK_FALSE(is_chain_path("payment"));
  CHECK_FALSE(is_chain_path("payment.ledger1.store"));
  CHECK_FALSE(is_chain_path("pay ment.x"));
}

TEST_CASE("console builds resource URIs and encodes query values") {
  CHECK(weft::console::resource_uri("payment.ledger1.store") == "/resource/payment/ledger1/store");
  CHECK(weft::console::url_encode("0xAb-_.~") == "0xAb-_.~");
  CHECK(weft::console::url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
}
