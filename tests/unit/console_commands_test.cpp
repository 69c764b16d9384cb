// The weft console's commands without a router: which request each command sends, and how answers, error
// envelopes and failed transactions become text and exit codes.
#include "commands.h"
#include "completion.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <doctest/doctest.h>

namespace json = boost::json;
using namespace weft::console;
using Words = std::vector<std::string>;

namespace {

// Records the request it is given and answers with a canned result.
struct FakeRouter {
  HttpResult answer = HttpResponse{200, R"({"version":"1","errorCode":0,"message":"Success","data":null})"};
  std::vector<HttpRequest> seen;

  Transport transport() {
    return [this](const HttpRequest &request) {
      seen.push_back(request);
      return answer;
    };
  }

  void answer_data(const std::string &data) {
    answer = HttpResponse{200, R"({"version":"1","errorCode":0,"message":"Success","data":)" + data + "}"};
  }
};

Outcome run(FakeRouter &router, const Words &words, bool as_json = false) {
  return run_command(words, router.transport(), Options{as_json});
}

// The one request a command sent, with its body parsed.
struct Sent {
  std::string method;
  std::string target;
  json::value body;
};

Sent only_request(const FakeRouter &router) {
  REQUIRE(router.seen.size() == 1);
  const auto &request = router.seen.front();
  return Sent{request.method, request.target, json::parse(request.body)};
}

json::value envelope_of(const json::value &data) { return json::object{{"version", "1"}, {"data", data}}; }

} // namespace

TEST_CASE("console sends each command to its route with the version envelope") {
  struct Case {
    Words words;
    std::string method;
    std::string target;
    std::string data;
  };
  const Case cases[] = {
      {{"status"}, "GET", "/sys/status", "null"},
      {{"supportedStubs"}, "GET", "/sys/supportedStubs", "null"},
      {{"listResources"}, "GET", "/sys/listResources", R"({"ignoreRemote":false})"},
      {{"detail", "payment.ledger1.store"}, "POST", "/resource/payment/ledger1/store/detail", "null"},
      {{"call", "payment.ledger1.store", "get", "greeting"},
       "POST",
       "/resource/payment/ledger1/store/call",
       R"({"method":"get","args":["greeting"],"options":{}})"},
      {{"sendTransaction", "payment.ledger1.store", "set", "greeting", "hello weft", "42"},
       "POST",
       "/resource/payment/ledger1/store/sendTransaction",
       R"({"method":"set","args":["greeting","hello weft","42"],"options":{}})"},
      {{"getReceipt", "payment.ledger1", "0xabc"},
       "GET",
       "/trans/getTransaction?path=payment.ledger1&txHash=0xabc",
       "null"},
      {{"getBlock", "payment.ledger1", "17"}, "GET", "/trans/getBlock?path=payment.ledger1&blockNumber=17", "null"},
      {{"accounts"}, "GET", "/weft/accounts", "null"},
      {{"accounts", "payment.ledger1"}, "GET", "/weft/accounts?path=payment.ledger1", "null"},
      {{"newHTLCProposal", "a.b.htlc", "alice", "100", "2000", "a.c.htlc", "bob", "50", "1000", "0xh"},
       "POST",
       "/weft/htlc/newProposal",
       R"({"initiator":{"path":"a.b.htlc","amount":"100","timelock":2000,"account":"alice"},
           "participant":{"path":"a.c.htlc","amount":"50","timelock":1000,"account":"bob"},"hash":"0xh"})"},
      // ACCOUNT/RECEIVE: a party whose account on the other side's chain differs (a Fabric identity, say).
      {{"newHTLCProposal", "a.fab.htlc", "1/alice", "100", "2000", "a.ref.htlc", "bob/2", "50", "1000", "0xh", "0xs"},
       "POST",
       "/weft/htlc/newProposal",
       R"({"initiator":{"path":"a.fab.htlc","amount":"100","timelock":2000,"account":"1","receiveAccount":"alice"},
           "participant":{"path":"a.ref.htlc","amount":"50","timelock":1000,"account":"bob","receiveAccount":"2"},
           "hash":"0xh","secret":"0xs"})"},
  };
  for (const Case &c : cases) {
    CAPTURE(c.words[0]);
    FakeRouter router;
    run(router, c.words);
    const Sent sent = only_request(router);
    CHECK(sent.method == c.method);
    CHECK(sent.target == c.target);
    CHECK(sent.body == envelope_of(json::parse(c.data)));
  }
}

TEST_CASE("console command names are case-insensitive") {
  FakeRouter router;
  run(router, {"SENDTRANSACTION", "a.b.c", "set"});
  run(router, {"listresources"});
  REQUIRE(router.seen.size() == 2);
  CHECK(router.seen[0].target == "/resource/a/b/c/sendTransaction");
  CHECK(router.seen[1].target == "/sys/listResources");
}

TEST_CASE("console call sends no args as an empty array and --account as options.account") {
  FakeRouter router;
  run(router, {"call", "a.b.c", "get"});
  CHECK(only_request(router).body.at("data") == json::parse(R"({"method":"get","args":[],"options":{}})"));

  router.seen.clear();
  run(router, {"sendTransaction", "--account", "alice", "a.b.c", "set", "--account", "-5"});
  CHECK(only_request(router).body.at("data") ==
        json::parse(R"({"method":"set","args":["--account","-5"],"options":{"account":"alice"}})"));

  router.seen.clear();
  run(router, {"call", "--account=bob", "a.b.c", "get"});
  CHECK(only_request(router).body.at("data").at("options") == json::parse(R"({"account":"bob"})"));
}

TEST_CASE("console usage errors exit 2 and send nothing") {
  const Words bad[] = {
      {"status", "extra"},
      {"detail"},
      {"detail", "a.b"},
      {"detail", "a.b.c", "more"},
      {"call", "a.b.c"},
      {"call", "a.b", "get"},
      {"call", "--account"},
      {"call", "--account", "alice", "a.b.c"},
      {"sendTransaction", "--account=", "a.b.c", "set"},
      {"call", "a.b.c", ""},
      {"getReceipt", "a.b.c", "0x1"},
      {"getReceipt", "a.b"},
      {"getBlock", "a.b", "-1"},
      {"getBlock", "a.b", "12x"},
      {"getBlock", "a.b", "99999999999999999999999"},
      {"accounts", "a"},
      {"accounts", "a.b", "c.d"},
      {"nosuch"},
      {"help", "nosuch"},
      {"quit", "now"},
  };
  for (const Words &words : bad) {
    CAPTURE(words[0]);
    CAPTURE(words.size());
    FakeRouter router;
    const Outcome outcome = run(router, words);
    CHECK(outcome.exit_code == kExitUsage);
    CHECK(router.seen.empty());
    CHECK(outcome.err.starts_with("error: "));
    CHECK(std::count(outcome.err.begin(), outcome.err.end(), '\n') == 1);
  }
}

TEST_CASE("console names the expected form of a bad path") {
  FakeRouter router;
  const Outcome outcome = run(router, {"detail", "payment.ledger1"});
  CHECK(outcome.err.find("'payment.ledger1' is not a resource path zone.chain.resource") != std::string::npos);
  CHECK(outcome.err.find("usage: detail PATH") != std::string::npos);
}

TEST_CASE("console prints an error envelope as one line and exits 1") {
  FakeRouter router;
  router.answer = HttpResponse{200, R"({"version":"1","errorCode":10001,"message":"Resource not found","data":null})"};
  const Outcome outcome = run(router, {"detail", "a.b.c"});
  CHECK(outcome.exit_code == kExitFailure);
  CHECK(outcome.err == "error 10001: Resource not found\n");
  CHECK(outcome.out.empty());

  router.answer =
      HttpResponse{200, R"({"version":"1","errorCode":40200,"message":"chain timed out\nretry","data":null})"};
  CHECK(run(router, {"status"}).err == "error 40200: chain timed out retry\n");
}

TEST_CASE("console prints a non-200 status plainly and exits 1") {
  for (int status : {401, 404, 500, 503}) {
    FakeRouter router;
    router.answer = HttpResponse{status, "Login check failed"};
    const Outcome outcome = run(router, {"status"});
    CHECK(outcome.exit_code == kExitFailure);
    CHECK(outcome.err == "error: HTTP " + std::to_string(status) + "\n");
  }
}

TEST_CASE("console rejects a malformed answer without crashing") {
  for (const char *body : {"not json", "[1,2]", R"({"message":"x"})", R"({"errorCode":"0"})", ""}) {
    CAPTURE(body);
    FakeRouter router;
    router.answer = HttpResponse{200, body};
    const Outcome outcome = run(router, {"status"});
    CHECK(outcome.exit_code == kExitFailure);
    CHECK(outcome.err.starts_with("error: malformed answer from the router"));
  }
}

TEST_CASE("console HTLC commands reject data of the wrong shape without crashing") {
  const Words commands[] = {
      {"newHTLCProposal", "a.b.htlc", "alice", "100", "2000", "a.c.htlc", "bob", "50", "1000", "0xh"},
      {"checkTransferStatus", "0xid"},
      {"genTimelock", "a.b", "a.c"},
  };
  for (const char *data : {"null", "[1]", R"("text")", R"({"deltaMs":"x","participantNowMs":1,"minWindowMs":2})"}) {
    for (const Words &words : commands) {
      CAPTURE(words[0]);
      CAPTURE(data);
      FakeRouter router;
      router.answer_data(data);
      const Outcome outcome = run(router, words);
      if (words[0] != "genTimelock" && data[0] == '{') continue; // an object is a (thin) swap
      CHECK(outcome.exit_code == kExitFailure);
      CHECK(outcome.err.starts_with("error: malformed answer from the router"));
    }
  }
}

TEST_CASE("console exits 3 when no HTTP answer came back") {
  FakeRouter router;
  router.answer = TransportFailure{TransportFailure::Kind::kConnect, "cannot reach the router at 127.0.0.1:1: refused"};
  const Outcome outcome = run(router, {"status"});
  CHECK(outcome.exit_code == kExitUnreachable);
  CHECK(outcome.err == "error: cannot reach the router at 127.0.0.1:1: refused\n");
}

TEST_CASE("console prints a call's result") {
  FakeRouter router;
  router.answer_data(R"({"errorCode":0,"message":"Success","hash":"","blockNumber":0,"result":["hello weft"]})");
  const Outcome outcome = run(router, {"call", "a.b.c", "get", "greeting"});
  CHECK(outcome.exit_code == kExitOk);
  CHECK(outcome.out == "result: [\"hello weft\"]\n");
  CHECK(outcome.err.empty());
}

TEST_CASE("console prints a sent transaction's hash, block and result") {
  FakeRouter router;
  router.answer_data(R"({"errorCode":0,"message":"Success","hash":"0xfeed","extraHashes":null,"blockNumber":12,)"
                     R"("result":["ok"],"timestamp":1700000000000})");
  const Outcome outcome = run(router, {"sendTransaction", "a.b.c", "set", "k", "v"});
  CHECK(outcome.exit_code == kExitOk);
  CHECK(outcome.out == "txHash: 0xfeed\nblockNumber: 12\nresult: [\"ok\"]\n");
}

TEST_CASE("console treats a transaction that failed on the chain as a failure") {
  FakeRouter router;
  router.answer_data(
      R"({"errorCode":2031,"message":"revert: not owner","hash":"0xdead","blockNumber":13,"result":[]})");
  const Outcome sent = run(router, {"sendTransaction", "a.b.c", "set", "k", "v"});
  CHECK(sent.exit_code == kExitFailure);
  CHECK(sent.err == "error 2031: revert: not owner\n");
  CHECK(sent.out == "txHash: 0xdead\nblockNumber: 13\n");

  router.answer_data(R"({"errorCode":2030,"message":"call reverted","result":[]})");
  const Outcome called = run(router, {"call", "a.b.c", "get"});
  CHECK(called.exit_code == kExitFailure);
  CHECK(called.err == "error 2030: call reverted\n");

  // --json still prints the data for scripts, and the exit code still says it failed.
  const Outcome as_json = run(router, {"call", "a.b.c", "get"}, true);
  CHECK(as_json.exit_code == kExitFailure);
  CHECK(json::parse(as_json.out).at("errorCode") == 2030);

  router.answer_data(R"({"txHash":"0xdead","blockNumber":13,"errorCode":2031,"message":"reverted","result":[]})");
  const Outcome receipt = run(router, {"getReceipt", "a.b", "0xdead"});
  CHECK(receipt.exit_code == kExitFailure);
  CHECK(receipt.out.find("\"txHash\": \"0xdead\"") != std::string::npos);
  CHECK(receipt.err == "error 2031: reverted\n");
}

TEST_CASE("console --json prints the raw data") {
  FakeRouter router;
  const std::string data = R"({"stubTypes":["RefChain","EVM"]})";
  router.answer_data(data);
  const Outcome outcome = run(router, {"supportedStubs"}, true);
  CHECK(outcome.exit_code == kExitOk);
  CHECK(json::parse(outcome.out) == json::parse(data));
  CHECK(run(router, {"supportedStubs"}).out == "RefChain\nEVM\n");
}

TEST_CASE("console renders status as tables") {
  FakeRouter router;
  router.answer_data(
      R"({"version":"0.1.0","uptimeSeconds":3723,"zone":"payment",)"
      R"("chains":[{"path":"payment.ledger1","stubType":"RefChain","height":42,"status":"up","reason":""},)"
      R"({"path":"payment.fabric","stubType":"Fabric2.0","height":null,"status":"down","reason":"peer refused"}],)"
      R"("adapters":[{"name":"refchain","version":"1","file":"librefchain.so","stubTypes":["RefChain"]}]})");
  const Outcome outcome = run(router, {"status"});
  CHECK(outcome.exit_code == kExitOk);
  CHECK(outcome.out == "version  0.1.0\n"
                       "zone     payment\n"
                       "uptime   1h 2m 3s\n"
                       "\nchains (2):\n"
                       "  PATH             STUB TYPE  HEIGHT  STATUS\n"
                       "  payment.ledger1  RefChain   42      up\n"
                       "  payment.fabric   Fabric2.0  -       down: peer refused\n"
                       "\nadapters (1):\n"
                       "  NAME      VERSION  STUB TYPES  FILE\n"
                       "  refchain  1        RefChain    librefchain.so\n");
}

TEST_CASE("console lists resources and hands their paths to completion") {
  FakeRouter router;
  router.answer_data(
      R"({"total":2,"resourceDetails":[)"
      R"({"path":"payment.ledger1.store","distance":0,"stubType":"RefChain","properties":{},"checksum":null},)"
      R"({"path":"trade.evm.token","distance":1,"stubType":"EVM","properties":{},"checksum":"x"}]})");
  const Outcome outcome = run(router, {"listResources"});
  CHECK(outcome.exit_code == kExitOk);
  CHECK(outcome.out == "PATH                   STUB TYPE  WHERE\n"
                       "payment.ledger1.store  RefChain   local\n"
                       "trade.evm.token        EVM        remote\n"
                       "2 resources\n");
  REQUIRE(outcome.resources);
  CHECK(*outcome.resources == Words{"payment.ledger1.store", "trade.evm.token"});
  CHECK(run(router, {"listResources"}, true).resources->size() == 2);
}

TEST_CASE("console pretty-prints detail and accounts as a table") {
  FakeRouter router;
  router.answer_data(R"({"path":"a.b.c","distance":0,"properties":{},"tags":[]})");
  CHECK(run(router, {"detail", "a.b.c"}).out ==
        "{\n  \"path\": \"a.b.c\",\n  \"distance\": 0,\n  \"properties\": {},\n  \"tags\": []\n}\n");

  router.answer_data(R"({"accounts":[{"name":"admin","algorithm":"secp256k1","address":"0x01"}]})");
  CHECK(run(router, {"accounts"}).out == "NAME   ALGORITHM  ADDRESS\nadmin  secp256k1  0x01\n");
  router.answer_data(R"({"accounts":[]})");
  CHECK(run(router, {"accounts"}).out == "no accounts\n");
}

TEST_CASE("console parses getBlock's block held in a JSON string") {
  FakeRouter router;
  router.answer_data(R"("{\"blockHeader\":{\"number\":17},\"transactionsHashes\":[\"0x1\"]}")");
  const Outcome human = run(router, {"getBlock", "a.b", "17"});
  CHECK(human.exit_code == kExitOk);
  CHECK(human.out.find("\"number\": 17") != std::string::npos);
  const Outcome raw = run(router, {"getBlock", "a.b", "17"}, true);
  CHECK(json::parse(raw.out).at("blockHeader").at("number") == 17);

  router.answer_data(R"({"blockHeader":{"number":18}})"); // an object is accepted as well
  CHECK(run(router, {"getBlock", "a.b", "18"}).out.find("\"number\": 18") != std::string::npos);

  router.answer_data(R"("not a block")");
  const Outcome broken = run(router, {"getBlock", "a.b", "19"});
  CHECK(broken.exit_code == kExitFailure);
  CHECK(broken.err.starts_with("error: the router sent a block that is not JSON"));
}

TEST_CASE("console help and quit run locally") {
  FakeRouter router;
  const Outcome help = run(router, {"help"});
  CHECK(help.exit_code == kExitOk);
  for (const Command &command : command_table())
    CHECK(help.out.find(std::string(command.usage)) != std::string::npos);
  CHECK(run(router, {"help", "GETBLOCK"}).out ==
        "usage: getBlock CHAIN_PATH NUMBER\nBlock NUMBER of the chain zone.chain.\n");
  CHECK(run(router, {"quit"}).quit);
  CHECK(run(router, {"Exit"}).quit);
  CHECK(router.seen.empty());
  CHECK(run(router, {}).exit_code == kExitOk);
}

TEST_CASE("console completes command names, then paths") {
  const Words resources{"payment.ledger1.store", "payment.ledger1.token", "trade.evm.token"};
  CHECK(complete({}, "se", resources) == Words{"sendTransaction", "setDefaultAccount"});
  CHECK(complete({}, "sen", resources) == Words{"sendTransaction"});
  CHECK(complete({}, "GET", resources) ==
        Words{"getBlock", "getCurrentTransactionID", "getReceipt", "getXATransaction"});
  CHECK(complete(Words{"help"}, "q", resources) == Words{"quit"});
  CHECK(complete(Words{"call"}, "pay", resources) == Words{"payment.ledger1.store", "payment.ledger1.token"});
  CHECK(complete(Words{"call"}, "-", resources) == Words{"--account"});
  CHECK(complete(Words{"call", "--account"}, "", resources).empty());
  CHECK(complete(Words{"call", "--account", "alice"}, "tr", resources) == Words{"trade.evm.token"});
  CHECK(complete(Words{"call", "trade.evm.token"}, "", resources).empty());
  CHECK(complete(Words{"getBlock"}, "", resources) == Words{"payment.ledger1", "trade.evm"});
  CHECK(complete(Words{"status"}, "", resources).empty());
  CHECK(complete(Words{"nosuch"}, "", resources).empty());
}

TEST_CASE("console says who is logged in and what it may use") {
  FakeRouter router;
  router.answer_data(R"({"username":"root","uaID":"1","pubKey":"","isAdmin":true,"allowChainPaths":[]})");
  CHECK(run(router, {"whoami"}).out == "root (admin), may use: every resource\n");
  router.answer_data(R"({"username":"bob","uaID":"2","pubKey":"","isAdmin":false,"allowChainPaths":["payment.a","payment.b"]})");
  CHECK(run(router, {"whoami"}).out == "bob (user), may use: payment.a,payment.b\n");
  router.answer_data(R"({"username":"new","uaID":"3","pubKey":"","isAdmin":false,"allowChainPaths":[]})");
  CHECK(run(router, {"whoami"}).out == "new (user), may use: nothing yet (an admin sets the access list)\n");
}

TEST_CASE("console XA: start keeps the current transaction, steps carry its id and rising seqs, commit forgets it") {
  FakeRouter router;
  auto session = std::make_shared<ConsoleSession>();
  Options options{false, false, session};
  router.answer_data(R"({"status":0,"chainErrorMessages":[]})");
  Outcome started = run_command(Words{"startTransaction", "z.a.r", "z.b.r"}, router.transport(), options);
  CHECK(started.exit_code == kExitOk);
  REQUIRE(session->xa_id.size() == 32);
  CHECK(started.out.find("Transaction ID is: " + session->xa_id) != std::string::npos);
  auto start = json::parse(router.seen.back().body).at("data").as_object();
  CHECK(router.seen.back().target == "/xa/startXATransaction");
  CHECK(start.at("xaTransactionID").as_string() == session->xa_id);
  CHECK(json::serialize(start.at("paths")) == R"(["z.a.r","z.b.r"])");
  // A second start while one is current: refused locally.
  CHECK(run_command(Words{"startTransaction", "z.a.r"}, router.transport(), options).exit_code == kExitUsage);

  router.answer_data(R"({"errorCode":0,"message":"Success","hash":"0x1","blockNumber":3,"result":["9"]})");
  REQUIRE(run_command(Words{"execTransaction", "z.a.r", "transfer", "0xb", "1"}, router.transport(), options)
              .exit_code == kExitOk);
  auto step1 = json::parse(router.seen.back().body).at("data").as_object();
  CHECK(router.seen.back().target == "/resource/z/a/r/sendTransaction");
  CHECK(step1.at("options").at("XA_TRANSACTION_ID").as_string() == session->xa_id);
  auto seq1 = step1.at("options").at("XA_TRANSACTION_SEQ").as_int64();
  REQUIRE(run_command(Words{"execTransaction", "z.b.r", "transfer", "0xb", "1"}, router.transport(), options)
              .exit_code == kExitOk);
  auto seq2 = json::parse(router.seen.back().body).at("data").at("options").at("XA_TRANSACTION_SEQ").as_int64();
  CHECK(seq2 > seq1);
  REQUIRE(run_command(Words{"callTransaction", "z.a.r", "balanceOf", "0xb"}, router.transport(), options).exit_code ==
          kExitOk);
  auto read = json::parse(router.seen.back().body).at("data").at("options").as_object();
  CHECK(read.contains("XA_TRANSACTION_ID"));
  CHECK_FALSE(read.contains("XA_TRANSACTION_SEQ"));

  std::string id = session->xa_id;
  router.answer_data(R"({"status":-1,"chainErrorMessages":[{"path":"z.b","message":"unreachable"}]})");
  Outcome committed = run_command(Words{"commitTransaction"}, router.transport(), options);
  CHECK(committed.exit_code == kExitFailure);
  CHECK(committed.out.find("z.b: unreachable") != std::string::npos);
  auto commit = json::parse(router.seen.back().body).at("data").as_object();
  CHECK(commit.at("xaTransactionID").as_string() == id);
  CHECK(json::serialize(commit.at("paths")) == R"(["z.a.r","z.b.r"])");
  CHECK(session->xa_id.empty()); // WeCross's rule: a commit forgets the transaction whatever its outcome
  CHECK(run_command(Words{"execTransaction", "z.a.r", "m"}, router.transport(), options).exit_code == kExitUsage);
}

TEST_CASE("console XA: a failed rollback keeps the transaction current; loadTransaction makes one current") {
  FakeRouter router;
  auto session = std::make_shared<ConsoleSession>();
  Options options{false, false, session};
  CHECK(run_command(Words{"loadTransaction", "abc", "z.a.r"}, router.transport(), options).exit_code == kExitOk);
  CHECK(session->xa_id == "abc");
  router.answer_data(R"({"status":-1,"chainErrorMessages":[{"path":"z.a","message":"down"}]})");
  CHECK(run_command(Words{"rollbackTransaction"}, router.transport(), options).exit_code == kExitFailure);
  CHECK(session->xa_id == "abc");
  router.answer_data(R"({"status":0,"chainErrorMessages":[]})");
  CHECK(run_command(Words{"rollbackTransaction"}, router.transport(), options).exit_code == kExitOk);
  CHECK(session->xa_id.empty());
  Outcome current = run_command(Words{"getCurrentTransactionID"}, router.transport(), options);
  CHECK(current.out.find("no current") != std::string::npos);
  CHECK(run_command(Words{"loadTransaction", "abc"}, router.transport(), options).exit_code == kExitUsage);
  router.answer_data(R"({"xaTransactionID":"abc","status":"resolved","note":"checked"})");
  Outcome resolved = run_command(Words{"xa", "resolve", "abc", "checked"}, router.transport(), options);
  CHECK(resolved.exit_code == kExitOk);
  CHECK(router.seen.back().target == "/weft/xa/resolve");
  CHECK(run_command(Words{"xa", "forget", "abc"}, router.transport(), options).exit_code == kExitUsage);
}

TEST_CASE("console XA: get and list render the transaction and the list") {
  FakeRouter router;
  auto session = std::make_shared<ConsoleSession>();
  Options options{false, false, session};
  router.answer_data(R"({"xaResponse":{"status":0,"chainErrorMessages":[]},"xaTransaction":{"xaTransactionID":"abc",
    "username":"alice","status":"committed","startTimestamp":1,"paths":["z.a.r"],"xaTransactionSteps":[
    {"xaTransactionSeq":1,"username":"alice","path":"z.a.r","timestamp":2,"method":"set","args":"[\"k\",\"v\"]",
    "outcome":"ok"}]},"chains":[{"path":"z.a","logged":"done","onChain":"committed"}],"differences":["x"]})");
  Outcome got = run_command(Words{"getXATransaction", "abc"}, router.transport(), options);
  CHECK(got.exit_code == kExitOk);
  CHECK(got.out.find("committed") != std::string::npos);
  CHECK(got.out.find("difference: x") != std::string::npos);
  router.answer_data(R"({"xaList":[{"xaTransactionID":"abc","username":"alice","status":"committed","timestamp":1,
    "paths":["z.a.r"]}],"nextOffsets":{"z.a":1},"finished":true})");
  Outcome listed = run_command(Words{"listXATransactions", "5"}, router.transport(), options);
  CHECK(listed.exit_code == kExitOk);
  CHECK(listed.out.find("abc") != std::string::npos);
  auto list = json::parse(router.seen.back().body).at("data").as_object();
  CHECK(list.at("size").as_int64() == 5);
  CHECK(run_command(Words{"listXATransactions", "0"}, router.transport(), options).exit_code == kExitUsage);
}
