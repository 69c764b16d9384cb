// Pins what router.yaml means and how its mistakes are reported (file:line:col, what to do).
#include "config.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace weft;
namespace fs = std::filesystem;

namespace {

// Overrides from the environment would make every path assertion depend on who runs the tests.
struct NoEnvOverrides {
  NoEnvOverrides() {
    ::unsetenv("WEFT_DATA_DIR");
    ::unsetenv("WEFT_PLUGIN_DIR");
  }
  ~NoEnvOverrides() {
    ::unsetenv("WEFT_DATA_DIR");
    ::unsetenv("WEFT_PLUGIN_DIR");
  }
};

const fs::path kBase = "/srv/weft/conf";

RouterConfig parse(const std::string &text) {
  NoEnvOverrides env;
  auto r = parse_config(text, "test.yaml", kBase);
  INFO(text);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}

std::string error_of(const std::string &text) {
  NoEnvOverrides env;
  auto r = parse_config(text, "test.yaml", kBase);
  INFO(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == code::kInternal);
  return r.error().message;
}

const std::string kZone = "router:\n  zone: payment\n";

} // namespace

TEST_CASE("the default conf/router.yaml loads as the demo expects") {
  NoEnvOverrides env;
  fs::path src = WEFT_SOURCE_DIR;
  auto r = load_config(src / "conf" / "router.yaml");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  const RouterConfig &c = *r;
  CHECK(c.zone == "payment");
  CHECK(c.config_path == (src / "conf" / "router.yaml").lexically_normal());
  CHECK(c.data_dir == (src / "data").lexically_normal());
  CHECK(c.plugin_dir == (src / "build" / "release" / "plugins").lexically_normal());
  CHECK(c.rpc.listen() == "127.0.0.1:8250");
  REQUIRE(c.accounts.size() == 2);
  CHECK(c.accounts[0].name == "alice");
  CHECK(c.accounts[1].name == "bob");
  CHECK(c.accounts[0].algorithm == "secp256k1");
  CHECK(c.accounts[0].key_file == c.data_dir / "keys" / "alice.key");
  REQUIRE(c.chains.size() == 2);
  CHECK(c.chains[1].name == "ledger2");
  CHECK(c.chains[1].options.at("chain_id").to_number<int>() == 2);
  CHECK(c.xa.timeout_s == 600);
  CHECK(c.chains[0].name == "ledger1");
  CHECK(c.chains[0].type == "RefChain");
  CHECK(c.chains[0].default_account == "alice");
  const auto &res = c.chains[0].options.at("resources").as_array();
  REQUIRE(res.size() == 3);
  CHECK(res[2].at("contract").as_string() == "htlc");
  CHECK(c.htlc.min_window_ms == 200000);
  CHECK(res[0].at("name").as_string() == "store");
  CHECK(res[0].at("contract").as_string() == "kv");
  CHECK(res[1].at("name").as_string() == "token");
  CHECK(res[1].at("contract").as_string() == "asset");
}

TEST_CASE("only router.zone is required; everything else has its documented default") {
  RouterConfig c = parse(kZone);
  CHECK(c.zone == "payment");
  CHECK(c.data_dir == kBase / "data");
  CHECK(c.plugin_dir == kBase / "plugins");
  CHECK(c.rpc.host == "127.0.0.1");
  CHECK(c.rpc.port == 8250);
  CHECK(c.rpc.threads == 2);
  CHECK(c.rpc.handoff == "auto");
  CHECK(c.rpc.max_body_bytes == 1048576);
  CHECK(c.rpc.header_timeout_ms == 10000);
  CHECK(c.rpc.idle_timeout_ms == 60000);
  CHECK(c.rpc.request_timeout_ms == 30000);
  CHECK(c.rpc.max_in_flight == 1024);
  CHECK(c.rpc.ready_file.empty());
  CHECK(c.log_level == "info");
  CHECK(c.log_file.empty());
  CHECK(c.accounts.empty());
  CHECK(c.chains.empty());
  CHECK(c.config_path.empty());
  // Empty sections mean defaults too.
  CHECK(parse(kZone + "rpc:\nlog:\naccounts:\nchains:\n").rpc.threads == 2);
}

TEST_CASE("relative paths resolve against the config's directory, key files against data_dir") {
  RouterConfig c = parse("router:\n  zone: z\n  data_dir: ../var/data\n  plugin_dir: /opt/weft/plugins\n"
                         "rpc:\n  ready_file: run/ready\nlog:\n  file: ../log/router.log\n"
                         "accounts:\n  - name: alice\n  - name: bob\n    key_file: bob/k.key\n"
                         "  - name: carol\n    key_file: /keys/carol.key\n");
  CHECK(c.data_dir == "/srv/weft/var/data");
  CHECK(c.plugin_dir == "/opt/weft/plugins");
  CHECK(c.rpc.ready_file == "/srv/weft/conf/run/ready");
  CHECK(c.log_file == "/srv/weft/log/router.log");
  CHECK(c.accounts[0].key_file == "/srv/weft/var/data/keys/alice.key");
  CHECK(c.accounts[1].key_file == "/srv/weft/var/data/bob/k.key");
  CHECK(c.accounts[2].key_file == "/keys/carol.key");
}

TEST_CASE("WEFT_DATA_DIR and WEFT_PLUGIN_DIR override the file, and default key files follow the data dir") {
  NoEnvOverrides env;
  ::setenv("WEFT_DATA_DIR", "/run/weft-data", 1);
  ::setenv("WEFT_PLUGIN_DIR", "/run/weft-plugins", 1);
  auto r = parse_config("router:\n  zone: z\n  data_dir: d\naccounts:\n  - name: alice\n", "t.yaml", kBase);
  REQUIRE(r.ok());
  CHECK(r->data_dir == "/run/weft-data");
  CHECK(r->plugin_dir == "/run/weft-plugins");
  CHECK(r->accounts[0].key_file == "/run/weft-data/keys/alice.key");
}

TEST_CASE("listen accepts host:port, [v6]:port and port 0") {
  CHECK(parse(kZone + "rpc:\n  listen: 0.0.0.0:0\n").rpc.port == 0);
  RouterConfig v6 = parse(kZone + "rpc:\n  listen: '[::1]:8251'\n");
  CHECK(v6.rpc.host == "::1");
  CHECK(v6.rpc.port == 8251);
  CHECK(v6.rpc.listen() == "[::1]:8251");
  CHECK(parse(kZone + "rpc:\n  listen: localhost:65535\n").rpc.listen() == "localhost:65535");
}

TEST_CASE("a YAML syntax error is reported at its position") {
  CHECK(error_of("router:\n  zone: p\n bad: 1\n") == "test.yaml:3:2: YAML syntax error: end of map not found");
}

TEST_CASE("a missing zone says where and what to add") {
  CHECK(error_of("rpc:\n  threads: 2\n").starts_with("test.yaml:1:1: router.zone is required"));
  CHECK(error_of("rpc:\n  threads: 2\nrouter:\n  data_dir: x\n").starts_with("test.yaml:3:1: router.zone is required"));
  CHECK(error_of("").starts_with("test.yaml:1:1: router.zone is required"));
  CHECK(error_of("router:\n  zone: 'pay ment'\n") ==
        "test.yaml:2:9: router.zone must be 1..32 characters of A-Z a-z 0-9 _ -, got 'pay ment'");
}

TEST_CASE("an unknown key names the closest known one") {
  CHECK(error_of(kZone + "rpc:\n  listn: 127.0.0.1:1\n") ==
        "test.yaml:4:3: unknown key 'listn' in rpc; did you mean 'listen'?");
  CHECK(error_of(kZone + "chains:\n  - name: c\n    type: RefChain\n    optoins: {}\n") ==
        "test.yaml:6:5: unknown key 'optoins' in chains[0]; did you mean 'options'?");
  CHECK(error_of(kZone + "peers: {}\n") ==
        "test.yaml:3:1: unknown key 'peers' in the top level; known keys: router, rpc, metrics, auth, xa, htlc, log, accounts, chains");
  CHECK(error_of(kZone + "rpc:\n  threads: 2\n  threads: 3\n") ==
        "test.yaml:5:3: duplicate key 'threads' in rpc (first at line 4); keep one");
}

TEST_CASE("rpc.handoff: auto keeps an event's work on its thread on two cores or fewer; share and keep say so") {
  RouterConfig c = parse(kZone);
  CHECK(c.rpc.handoff_keeps(1));
  CHECK(c.rpc.handoff_keeps(2));
  CHECK_FALSE(c.rpc.handoff_keeps(4));
  CHECK_FALSE(parse(kZone + "rpc:\n  handoff: share\n").rpc.handoff_keeps(2));
  CHECK(parse(kZone + "rpc:\n  handoff: keep\n").rpc.handoff_keeps(64));
  CHECK(error_of(kZone + "rpc:\n  handoff: never\n") ==
        "test.yaml:4:12: rpc.handoff must be auto, share or keep, got 'never'");
  CHECK(error_of(kZone + "rpc:\n  tls:\n    mode: sometimes\n") ==
        "test.yaml:5:11: rpc.tls.mode must be plain, tls or mutual, got 'sometimes'");
}

TEST_CASE("wrong types and out-of-range values say what is allowed") {
  CHECK(error_of(kZone + "rpc:\n  threads: two\n") ==
        "test.yaml:4:12: rpc.threads must be an integer 1..64, got 'two'");
  CHECK(error_of(kZone + "rpc:\n  threads: 65\n") == "test.yaml:4:12: rpc.threads must be an integer 1..64, got '65'");
  CHECK(error_of(kZone + "rpc:\n  threads:\n") == "test.yaml:4:3: rpc.threads must be an integer 1..64, got nothing");
  CHECK(error_of(kZone + "rpc:\n  max_body_bytes: 100\n") ==
        "test.yaml:4:19: rpc.max_body_bytes must be an integer 1024..67108864, got '100'");
  CHECK(error_of(kZone + "rpc:\n  max_in_flight: [1]\n") ==
        "test.yaml:4:18: rpc.max_in_flight must be an integer 1..1000000, got a list");
  CHECK(error_of(kZone + "rpc: 5\n") == "test.yaml:3:6: rpc must be a mapping, got '5'");
  CHECK(error_of(kZone + "log:\n  level: verbose\n") ==
        "test.yaml:4:10: log.level must be one of trace|debug|info|warn|error|off, got 'verbose'");
  CHECK(error_of("- a\n").starts_with("test.yaml:1:1: the config must be a mapping"));
}

TEST_CASE("a bad listen address is refused with the expected shape") {
  for (const char *bad : {"localhost", "1.2.3.4:70000", "::1:8250", ":8250", "host:", "host:80x", "[::1]8250"}) {
    CAPTURE(bad);
    std::string msg = error_of(kZone + "rpc:\n  listen: '" + bad + "'\n");
    CHECK(msg == "test.yaml:4:11: rpc.listen must be host:port with port 0..65535 (IPv6 as [::1]:8250), got '" +
                     std::string(bad) + "'");
  }
}

TEST_CASE("accounts: names unique, secp256k1 or sm2") {
  CHECK(error_of(kZone + "accounts:\n  - name: alice\n  - name: alice\n") ==
        "test.yaml:5:11: duplicate account name 'alice' (first defined at line 4); account names must be unique");
  CHECK(error_of(kZone + "accounts:\n  - name: alice\n    algorithm: p256\n") ==
        "test.yaml:5:16: accounts[0].algorithm 'p256' is not supported yet for router accounts; use secp256k1 or sm2");
  CHECK(error_of(kZone + "accounts:\n  - name: alice\n    algorithm: rsa\n") ==
        "test.yaml:5:16: accounts[0].algorithm must be secp256k1 or sm2, got 'rsa'");
  CHECK(error_of(kZone + "accounts:\n  - algorithm: secp256k1\n") ==
        "test.yaml:4:5: accounts[0].name is required, e.g. 'name: alice'");
  CHECK(error_of(kZone + "accounts:\n  - alice\n") ==
        "test.yaml:4:5: accounts[0] must be a mapping ('- name: alice'), got 'alice'");
  CHECK(error_of(kZone + "accounts:\n  name: alice\n") ==
        "test.yaml:4:3: accounts must be a list ('- name: alice'), got a mapping");
}

TEST_CASE("chains: names unique, type required, default_account must be an account") {
  std::string accounts = "accounts:\n  - name: alice\n  - name: bob\n";
  CHECK(error_of(kZone + accounts + "chains:\n  - name: c\n    type: RefChain\n  - name: c\n    type: RefChain\n") ==
        "test.yaml:9:11: duplicate chain name 'c' (first defined at line 7); chain names must be unique");
  CHECK(error_of(kZone + "chains:\n  - name: c\n") ==
        "test.yaml:4:5: chains[0].type is required: the stub type its adapter serves, e.g. 'type: RefChain'");
  CHECK(error_of(kZone + accounts + "chains:\n  - name: c\n    type: RefChain\n    default_account: carol\n") ==
        "test.yaml:9:22: chain 'c': default_account 'carol' is not defined; add it under accounts or use one of: "
        "alice, bob");
  CHECK(error_of(kZone + "chains:\n  - name: c\n    type: RefChain\n    options: [1]\n") ==
        "test.yaml:6:14: chains[0].options must be a mapping, got a list");

  RouterConfig c = parse(kZone + accounts +
                         "chains:\n  - name: c\n    type: BCOS2.0\n  - name: d\n    type: RefChain\n"
                         "    default_account: bob\n");
  CHECK(c.chains[0].type == "BCOS2.0");
  CHECK(c.chains[0].default_account == "alice"); // omitted: the first account
  CHECK(c.chains[0].line == 7);
  CHECK(c.chains[1].default_account == "bob");
}

TEST_CASE("every problem is reported at once, in file order") {
  std::string msg = error_of("rpc:\n  threads: 0\n  listn: x\nrouter:\n  zone: z\n");
  CHECK(msg == "test.yaml:2:12: rpc.threads must be an integer 1..64, got '0'\n"
               "test.yaml:3:3: unknown key 'listn' in rpc; did you mean 'listen'?");
}

TEST_CASE("options become JSON: plain scalars are typed, quoted ones stay strings") {
  RouterConfig c = parse(kZone + R"(chains:
  - name: c
    type: RefChain
    options:
      int: 1
      quoted_int: "1"
      single_quoted: '2'
      negative: -7
      hex: 0x10
      big: 18446744073709551615
      float: 1.5
      exp: 2e3
      plus: +5
      neg_float: -.5
      infinity: .inf
      dotted: 1.
      bad_exp: 1e
      yes: true
      quoted_bool: "true"
      nothing: ~
      empty:
      word: hello
      tagged: !!str 5
      version: 1.2.3
      list: [1, "a", false]
      nested: { a: { b: [] } }
)");
  const boost::json::object &o = c.chains[0].options;
  CHECK(o.at("int").as_int64() == 1);
  CHECK(o.at("quoted_int").as_string() == "1");
  CHECK(o.at("single_quoted").as_string() == "2");
  CHECK(o.at("negative").as_int64() == -7);
  CHECK(o.at("hex").as_int64() == 16);
  CHECK(o.at("big").as_uint64() == 18446744073709551615ull);
  CHECK(o.at("float").as_double() == 1.5);
  CHECK(o.at("exp").as_double() == 2000.0);
  CHECK(o.at("plus").as_int64() == 5);
  CHECK(o.at("neg_float").as_double() == -0.5);
  CHECK(o.at("infinity").as_string() == ".inf");
  CHECK(o.at("dotted").as_double() == 1.0);
  CHECK(o.at("bad_exp").as_string() == "1e");
  CHECK(o.at("yes").as_bool() == true);
  CHECK(o.at("quoted_bool").as_string() == "true");
  CHECK(o.at("nothing").is_null());
  CHECK(o.at("empty").is_null());
  CHECK(o.at("word").as_string() == "hello");
  CHECK(o.at("tagged").as_string() == "5");
  CHECK(o.at("version").as_string() == "1.2.3");
  const auto &list = o.at("list").as_array();
  REQUIRE(list.size() == 3);
  CHECK(list[0].as_int64() == 1);
  CHECK(list[1].as_string() == "a");
  CHECK(list[2].as_bool() == false);
  CHECK(o.at("nested").at("a").at("b").as_array().empty());
  CHECK(parse(kZone + "chains:\n  - name: c\n    type: RefChain\n").chains[0].options.empty());
}

TEST_CASE("a missing config file is reported with its path") {
  auto r = load_config("/nonexistent-weft-dir/router.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == code::kInternal);
  CHECK(r.error().message.starts_with("/nonexistent-weft-dir/router.yaml: cannot read the config file: "));
}

TEST_CASE("the url prefix, the metrics listener, chain retries and a Fabric identity are read and checked") {
  auto c = parse(kZone);
  CHECK(c.rpc.url_prefix.empty());
  CHECK(c.metrics.enabled);
  CHECK(c.metrics.port == 9250);
  CHECK(c.chain_retry_initial_ms == 500);

  auto d = parse("router:\n  zone: payment\n  chain_retry_initial_ms: 20\n  chain_retry_max_ms: 200\n"
                 "rpc:\n  url_prefix: /weft-1\nmetrics:\n  listen: 127.0.0.1:0\n  ready_file: m.ready\n"
                 "accounts:\n  - name: org1admin\n    certificate: certs/admin.pem\n    msp_id: Org1MSP\n");
  CHECK(d.rpc.url_prefix == "/weft-1");
  CHECK(d.metrics.port == 0);
  CHECK(d.metrics.ready_file == kBase / "m.ready");
  CHECK(d.chain_retry_initial_ms == 20);
  CHECK(d.chain_retry_max_ms == 200);
  REQUIRE(d.accounts.size() == 1);
  CHECK(d.accounts[0].certificate == kBase / "certs/admin.pem");
  CHECK(d.accounts[0].msp_id == "Org1MSP");

  CHECK(parse(kZone + "metrics:\n  listen: \"\"\n").metrics.enabled == false);
  CHECK(error_of(kZone + "rpc:\n  url_prefix: weft\n").find("rpc.url_prefix must be '/'") != std::string::npos);
  CHECK(error_of(kZone + "rpc:\n  url_prefix: /-weft\n").find("rpc.url_prefix") != std::string::npos);
  CHECK(error_of(kZone + "rpc:\n  url_prefix: /abcdefghijklmnopqrs\n").find("rpc.url_prefix") != std::string::npos);
  CHECK(error_of(kZone + "metrics:\n  listen: nowhere\n").find("metrics.listen must be host:port") !=
        std::string::npos);
  CHECK(error_of(kZone + "accounts:\n  - name: a\n    msp_id: Org1MSP\n").find("go together") != std::string::npos);
}
