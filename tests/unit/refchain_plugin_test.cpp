// The plugin through its real C entry point: dlopen the built library, open chains with a fake host that signs with
// test keys, and drive every verb, cancellation, deadlines and close with pending operations.
#include "refchain_plugin_fixture.h"

TEST_CASE("the library declares the RefChain stub type and the ABI version it was built for") {
  const weft_adapter_v1 *t = adapter();
  CHECK(t->abi_version == WEFT_ADAPTER_ABI_VERSION);
  CHECK(t->struct_size == sizeof(weft_adapter_v1));
  CHECK(std::string(t->stub_types[0]) == "RefChain");
  CHECK(t->stub_types[1] == nullptr);
  CHECK(reinterpret_cast<void *>(t->xa_start) != nullptr);
  CHECK(reinterpret_cast<void *>(t->xa_status) != nullptr);
  CHECK(reinterpret_cast<void *>(t->deploy_stubs) == nullptr); // the XA proxy is native: nothing to deploy
  CHECK(reinterpret_cast<void *>(t->subscribe) == nullptr); // subscribe_v2 replaces it
  CHECK(reinterpret_cast<void *>(t->subscribe_v2) != nullptr);
  CHECK(reinterpret_cast<void *>(t->unsubscribe) != nullptr);
  CHECK(reinterpret_cast<void *>(t->htlc_lock) != nullptr);
  CHECK(reinterpret_cast<void *>(t->htlc_status) != nullptr);
}

TEST_CASE("send_transaction answers once committed, and every read verb sees the result") {
  OpenChain c(kFast);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  const weft_adapter_v1 *t = adapter();

  json::object sent = c.ok(t->send_transaction,
                           R"({"resource":"store","method":"set","args":["k","v"],"account":"alice","options":{}})");
  CHECK(sent.at("errorCode").to_number<int>() == 0);
  CHECK(sent.at("message").as_string() == "Success");
  std::string hash(sent.at("hash").as_string());
  CHECK(hash.size() == 66);
  uint64_t number = sent.at("blockNumber").to_number<uint64_t>();
  CHECK(number >= 1);
  CHECK(sent.at("timestamp").to_number<uint64_t>() > 0);

  json::object called = c.ok(t->call, R"({"resource":"store","method":"get","args":["k"],"account":"alice"})");
  CHECK(called.at("result").as_array().at(0).as_string() == "v");
  CHECK(called.at("blockNumber").to_number<uint64_t>() >= number);

  json::object block = c.ok(t->get_block, "{\"number\":" + std::to_string(number) + "}");
  CHECK(block.at("transactions").as_array().at(0).as_string() == hash);
  CHECK(block.at("proposer").as_string().size() == 42);

  json::object receipt = c.ok(t->get_receipt, "{\"hash\":\"" + hash + "\"}");
  CHECK(receipt.at("from").as_string() == c.host.alice.addr());
  CHECK(receipt.at("method").as_string() == "set");
  CHECK(receipt.at("timestamp") == block.at("timestamp"));

  json::object proof = c.ok(t->get_proof, "{\"hash\":\"" + hash + "\"}");
  CHECK(proof.at("blockHash") == block.at("hash"));
  CHECK(verify_proof(proof_from_json(proof)));

  json::object height = c.ok(t->block_height, "{}");
  CHECK(height.at("height").to_number<uint64_t>() >= number);
  json::object chain_info = c.ok(t->chain_info, "{}");
  CHECK(chain_info.at("height").to_number<uint64_t>() >= number);
  CHECK(chain_info.at("blockTime").to_number<int64_t>() >= block.at("timestamp").to_number<int64_t>());
  CHECK(chain_info.at("finalityBlocks").to_number<int>() == 0);
  CHECK(chain_info.at("blockIntervalMs").to_number<uint64_t>() > 0);
  json::object health = c.ok(t->health, "{}");
  CHECK(health.at("status").as_string() == "ok");
  CHECK(health.at("validators").to_number<int>() == 4);
  // Four embedded validators by default; the proof's commit seals check against their addresses alone.
  std::vector<Address> set;
  for (const auto &v : health.at("consensus").as_array())
    set.push_back(parse_address(v.at("address").as_string()));
  REQUIRE(set.size() == 4);
  std::string why;
  CHECK_MESSAGE(verify_proof(proof_from_json(proof), set, &why), why);
  std::vector<Address> strangers(set.rbegin(), set.rend());
  strangers[0][0] ^= 1;
  strangers[1][0] ^= 1;
  CHECK_FALSE(verify_proof(proof_from_json(proof), strangers, &why));
  json::object info = c.ok(t->account_info, R"({"account":"bob"})");
  CHECK(info.at("address").as_string() == c.host.bob.addr());
  json::object resources = c.ok(t->list_resources, "{}");
  REQUIRE(resources.at("resources").as_array().size() == 3); // store, token and the XA proxy
  const json::object &proxy = resources.at("resources").as_array().at(2).as_object();
  CHECK(proxy.at("name").as_string() == "WeCrossProxy");
  CHECK(proxy.at("properties").at("contract").as_string() == "xa-proxy");

  // A transaction that fails on chain is still an answer: status 0 for the verb, the contract's code inside.
  json::object poor = c.ok(t->send_transaction, R"({"resource":"token","method":"transfer","args":[")" +
                                                    c.host.alice.addr() + R"(","5"],"account":"bob"})");
  CHECK(poor.at("errorCode").to_number<int>() == 4);
  CHECK(std::string(poor.at("message").as_string()).find("insufficient balance") != std::string::npos);
}

TEST_CASE("verbs refuse bad requests with the documented codes") {
  OpenChain c(kFast);
  REQUIRE(c.open_status == WEFT_OK);
  const weft_adapter_v1 *t = adapter();
  std::string m;
  CHECK(c.status(t->call, R"({"resource":"store","method":"set","args":["k","v"]})", &m) == WEFT_E_INVALID_ARGUMENT);
  CHECK(m.find("use sendTransaction") != std::string::npos);
  CHECK(c.status(t->call, R"({"resource":"nope","method":"get","args":["k"]})") == WEFT_E_NOT_FOUND);
  CHECK(c.status(t->call, R"({"resource":"store","method":"nope","args":[]})") == WEFT_E_NOT_FOUND);
  CHECK(c.status(t->call, R"({"resource":"store","method":"get","args":[]})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->call, R"({"resource":"store","method":"get","args":[1]})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->call, "not json") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->get_block, R"({"number":999999})") == WEFT_E_NOT_FOUND);
  CHECK(c.status(t->get_receipt, R"({"hash":"0x00"})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->get_receipt, "{\"hash\":\"0x" + std::string(64, '0') + "\"}") == WEFT_E_NOT_FOUND);
  CHECK(c.status(t->send_transaction, R"({"resource":"store","method":"set","args":["k","v"],"account":"mallory"})") ==
        WEFT_E_ACCOUNT);
  CHECK(c.status(t->account_info, R"({"account":"mallory"})") == WEFT_E_ACCOUNT);
}

TEST_CASE("open refuses bad config, and keeps every validator's key file private") {
  OpenChain bad(R"({"chain_id": 3, "colour": "blue"})");
  CHECK(bad.open_status == WEFT_E_INVALID_ARGUMENT);
  CHECK(bad.open_error.find("unknown key \"colour\"") != std::string::npos);
  OpenChain none(R"({"validators": 0})");
  CHECK(none.open_status == WEFT_E_INVALID_ARGUMENT);

  OpenChain c(kFast);
  REQUIRE(c.open_status == WEFT_OK);
  for (int i = 0; i < 4; ++i) {
    struct stat st {};
    REQUIRE(::stat(c.dir.file("validator" + std::to_string(i) + ".key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
}

TEST_CASE("an idle chain makes empty blocks, and a reopened chain keeps its blocks and state") {
  TempDir shared;
  uint64_t height = 0;
  std::string block1;
  {
    OpenChain c(R"({"chain_id": 3, "block_interval_ms": 5, "empty_block_interval_ms": 10})", &shared);
    REQUIRE(c.open_status == WEFT_OK);
    c.ok(adapter()->send_transaction, R"({"resource":"store","method":"set","args":["k","kept"],"account":"alice"})");
    auto until = std::chrono::steady_clock::now() + scaled(5000);
    while (c.ok(adapter()->block_height, "{}").at("height").to_number<uint64_t>() < 3 &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    height = c.ok(adapter()->block_height, "{}").at("height").to_number<uint64_t>();
    CHECK(height >= 3);
    block1 = std::string(c.ok(adapter()->get_block, R"({"number":1})").at("hash").as_string());
  }
  OpenChain again(kStalled, &shared);
  REQUIRE_MESSAGE(again.open_status == WEFT_OK, again.open_error);
  CHECK(again.ok(adapter()->block_height, "{}").at("height").to_number<uint64_t>() >= height);
  CHECK(again.ok(adapter()->get_block, R"({"number":1})").at("hash").as_string() == block1);
  CHECK(again.ok(adapter()->call, R"({"resource":"store","method":"get","args":["k"]})")
            .at("result")
            .as_array()
            .at(0)
            .as_string() == "kept");
}

TEST_CASE("cancel ends a waiting send_transaction, a deadline times it out naming the hash, close cancels the rest") {
  OpenChain c(kStalled); // blocks only every minute: every send waits
  REQUIRE(c.open_status == WEFT_OK);
  const weft_adapter_v1 *t = adapter();
  const std::string req = R"({"resource":"store","method":"set","args":["k","v"],"account":"alice"})";

  Answer cancelled;
  uint64_t op = 0;
  c.run(t->send_transaction, req, cancelled, 0, &op);
  CHECK(op != 0);
  // Wait until the transaction is in the pool, then cancel the wait.
  auto until = std::chrono::steady_clock::now() + scaled(5000);
  while (c.ok(t->health, "{}").at("poolSize").to_number<uint64_t>() < 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  t->cancel(c.chain, op);
  REQUIRE(cancelled.wait());
  CHECK(cancelled.status == WEFT_E_CANCELLED);
  // It was signed and sent: the cancel names its hash, since it may still commit.
  REQUIRE_FALSE(cancelled.data.empty());
  CHECK(cancelled.object().at("hash").as_string().starts_with("0x"));
  t->cancel(c.chain, op);     // twice: ignored
  t->cancel(c.chain, 987654); // unknown: ignored

  Answer timed_out;
  c.run(t->send_transaction, req, timed_out, 30);
  REQUIRE(timed_out.wait());
  CHECK(timed_out.status == WEFT_E_TIMEOUT);
  CHECK(timed_out.message.find("0x") != std::string::npos);
  CHECK(timed_out.message.find("get_receipt") != std::string::npos);
  CHECK(timed_out.message.find(std::string(timed_out.object().at("hash").as_string())) != std::string::npos);

  Answer pending1, pending2;
  c.run(t->send_transaction, req, pending1);
  c.run(t->send_transaction, req, pending2);
  c.close();
  // Every callback has run by the time close returns, exactly once.
  CHECK(pending1.calls == 1);
  CHECK(pending2.calls == 1);
  CHECK(pending1.status == WEFT_E_CANCELLED);
  CHECK(pending2.status == WEFT_E_CANCELLED);
  CHECK(cancelled.calls == 1);
  CHECK(timed_out.calls == 1);
}

TEST_CASE("many concurrent sends all commit, and a full pool refuses with WEFT_E_REJECTED") {
  {
    OpenChain c(kFast);
    REQUIRE(c.open_status == WEFT_OK);
    std::vector<std::unique_ptr<Answer>> answers;
    for (int i = 0; i < 20; ++i) {
      answers.push_back(std::make_unique<Answer>());
      c.run(adapter()->send_transaction,
            R"({"resource":"store","method":"set","args":["k)" + std::to_string(i) + R"(","v"],"account":"alice"})",
            *answers.back());
    }
    std::set<std::string> hashes;
    for (auto &a : answers) {
      REQUIRE(a->wait());
      REQUIRE_MESSAGE(a->status == WEFT_OK, a->message);
      hashes.insert(std::string(a->object().at("hash").as_string()));
    }
    CHECK(hashes.size() == 20);
    CHECK(
        c.ok(adapter()->call, R"({"resource":"store","method":"get","args":["k19"]})").at("result").as_array().at(0) ==
        "v");
  }
  OpenChain stalled(
      R"({"chain_id": 3, "block_interval_ms": 60000, "empty_block_interval_ms": 60000, "pool_limit": 1})");
  REQUIRE(stalled.open_status == WEFT_OK);
  Answer waiting;
  stalled.run(adapter()->send_transaction, R"({"resource":"store","method":"set","args":["a","1"],"account":"alice"})",
              waiting);
  std::string message;
  CHECK(stalled.status(adapter()->send_transaction,
                       R"({"resource":"store","method":"set","args":["b","2"],"account":"alice"})",
                       &message) == WEFT_E_REJECTED);
  CHECK(message.find("pool is full") != std::string::npos);
  stalled.close();
  CHECK(waiting.status == WEFT_E_CANCELLED);
}

TEST_CASE("xa verbs: start, a step by the user, reads in and out of the transaction, commit; repeats are idempotent") {
  OpenChain c(kFast);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  const weft_adapter_v1 *t = adapter();
  // alice is the coordinator (the first to start); bob is the user whose account signs the step.
  CHECK(c.ok(t->xa_start, R"({"xaTransactionID":"p1","resources":["store"],"account":"alice"})") ==
        json::object{{"xaTransactionID", "p1"}, {"status", "processing"}});
  CHECK(c.ok(t->xa_start, R"({"xaTransactionID":"p1","resources":["store"],"account":"alice"})") ==
        json::object{{"xaTransactionID", "p1"}, {"status", "processing"}});

  // A plain write to the locked resource is refused before it is signed, naming the holder.
  Answer busy;
  c.run(t->send_transaction, R"({"resource":"store","method":"set","args":["k","plain"],"account":"bob"})", busy);
  REQUIRE(busy.wait());
  CHECK(busy.status == WEFT_E_BUSY);
  CHECK(busy.message == "resource store is locked by XA transaction p1");
  CHECK(busy.object() == json::object{{"holder", "p1"}});

  const std::string step = R"({"resource":"store","method":"set","args":["k","v"],"account":"bob",
                               "options":{"XA_TRANSACTION_ID":"p1","XA_TRANSACTION_SEQ":1}})";
  json::object sent = c.ok(t->send_transaction, step);
  CHECK(sent.at("errorCode").to_number<int>() == 0);
  CHECK(sent.at("hash").as_string().size() == 66);
  json::object again = c.ok(t->send_transaction, step); // the same seq: the recorded result, nothing run twice
  CHECK(again.at("errorCode").to_number<int>() == 0);
  json::object other = c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","w"],
      "account":"bob","options":{"XA_TRANSACTION_ID":"p1","XA_TRANSACTION_SEQ":"1"}})");
  CHECK(other.at("errorCode").to_number<int>() == kStatusXaConflict);

  json::object read = c.ok(t->call, R"({"resource":"store","method":"get","args":["k"],
      "options":{"XA_TRANSACTION_ID":"p1"}})");
  CHECK(read.at("result").as_array().at(0).as_string() == "v");
  std::string why;
  CHECK(c.status(t->call, R"({"resource":"token","method":"totalSupply","options":{"XA_TRANSACTION_ID":"p1"}})",
                 &why) == WEFT_E_INVALID_ARGUMENT);
  CHECK(why.find("does not hold resource token") != std::string::npos);
  CHECK(c.ok(t->call, R"({"resource":"store","method":"get","args":["k"]})").at("result").as_array().at(0) == "v");

  json::object st = c.ok(t->xa_status, R"({"xaTransactionID":"p1"})");
  CHECK(st.at("status").as_string() == "processing");
  CHECK(st.at("resources") == json::array{"store"});
  REQUIRE(st.at("steps").as_array().size() == 1);
  CHECK(st.at("steps").as_array().at(0).at("hash") == sent.at("hash"));

  Answer stranger;
  c.run(t->xa_commit, R"({"xaTransactionID":"p1","account":"bob"})", stranger);
  REQUIRE(stranger.wait());
  CHECK(stranger.status == WEFT_E_ACCOUNT);
  CHECK(stranger.object().at("hash").as_string().size() == 66);

  CHECK(c.ok(t->xa_commit, R"({"xaTransactionID":"p1","account":"alice"})") ==
        json::object{{"xaTransactionID", "p1"}, {"status", "committed"}});
  CHECK(c.ok(t->xa_commit, R"({"xaTransactionID":"p1","account":"alice"})").at("status") == "committed");
  CHECK(c.ok(t->xa_status, R"({"xaTransactionID":"p1"})").at("status") == "committed");
  CHECK(c.status(t->xa_rollback, R"({"xaTransactionID":"p1","account":"alice"})", &why) == WEFT_E_REJECTED);
  CHECK(why.find("refused: committed") != std::string::npos);
  CHECK(c.status(t->xa_start, R"({"xaTransactionID":"p1","resources":["store"],"account":"alice"})") ==
        WEFT_E_REJECTED);
  CHECK(c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","free"],"account":"bob"})")
            .at("errorCode")
            .to_number<int>() == 0);
}

TEST_CASE("xa verbs: rollback restores, a held resource is busy for another start, unknown ids, bad requests") {
  OpenChain c(kFast);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  const weft_adapter_v1 *t = adapter();
  c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","before"],"account":"bob"})");
  c.ok(t->xa_start, R"({"xaTransactionID":"r1","resources":["store","token"],"account":"alice"})");
  c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","during"],"account":"bob",
      "options":{"XA_TRANSACTION_ID":"r1","XA_TRANSACTION_SEQ":"18446744073709551615"}})");

  Answer held;
  c.run(t->xa_start, R"({"xaTransactionID":"r2","resources":["token"],"account":"alice"})", held);
  REQUIRE(held.wait());
  CHECK(held.status == WEFT_E_BUSY);
  CHECK(held.object().at("holder") == "r1");

  CHECK(c.ok(t->xa_rollback, R"({"xaTransactionID":"r1","account":"alice"})") ==
        json::object{{"xaTransactionID", "r1"}, {"status", "rolledback"}});
  CHECK(c.ok(t->xa_rollback, R"({"xaTransactionID":"r1","account":"alice"})").at("status") == "rolledback");
  CHECK(c.ok(t->call, R"({"resource":"store","method":"get","args":["k"]})").at("result").as_array().at(0) == "before");
  std::string why;
  CHECK(c.status(t->xa_commit, R"({"xaTransactionID":"r1","account":"alice"})", &why) == WEFT_E_REJECTED);
  CHECK(c.status(t->xa_commit, R"({"xaTransactionID":"nobody","account":"alice"})") == WEFT_E_NOT_FOUND);
  CHECK(c.ok(t->xa_status, R"({"xaTransactionID":"nobody"})").at("status") == "none");
  CHECK(c.ok(t->xa_rollback, R"({"xaTransactionID":"nobody","account":"alice"})").at("status") == "rolledback");
  CHECK(c.status(t->xa_start, R"({"xaTransactionID":"nobody","resources":["store"],"account":"alice"})") ==
        WEFT_E_REJECTED);

  CHECK(c.status(t->xa_start, R"({"xaTransactionID":"bad id","resources":["store"],"account":"alice"})") ==
        WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->xa_start, R"({"xaTransactionID":"x","resources":[],"account":"alice"})") ==
        WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->xa_start, R"({"xaTransactionID":"x","resources":["WeCrossProxy"],"account":"alice"})") ==
        WEFT_E_NOT_FOUND);
  CHECK(c.status(t->xa_status, R"({})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->send_transaction, R"({"resource":"store","method":"get","args":["k"],"account":"bob",
      "options":{"XA_TRANSACTION_ID":"x","XA_TRANSACTION_SEQ":1}})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->send_transaction, R"({"resource":"store","method":"set","args":["k","v"],"account":"bob",
      "options":{"XA_TRANSACTION_ID":"x","XA_TRANSACTION_SEQ":-1}})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->send_transaction, R"({"resource":"store","method":"set","args":["k"],"account":"bob",
      "options":{"XA_TRANSACTION_ID":"x","XA_TRANSACTION_SEQ":1}})") == WEFT_E_INVALID_ARGUMENT);
  CHECK(c.status(t->xa_commit, R"({"xaTransactionID":"x","account":"nobody"})") == WEFT_E_ACCOUNT);
}

TEST_CASE("xa verbs: a deadline passing after the start was signed names its hash") {
  OpenChain c(kStalled);
  REQUIRE(c.open_status == WEFT_OK);
  Answer a;
  c.run(adapter()->xa_start, R"({"xaTransactionID":"slow","resources":["store"],"account":"alice"})", a, 300);
  REQUIRE(a.wait());
  CHECK(a.status == WEFT_E_TIMEOUT);
  CHECK(a.object().at("hash").as_string().size() == 66);
}
