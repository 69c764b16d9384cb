// The loader accepts a valid adapter and refuses, with a reason, every library that is wrong in one way.
#include <doctest/doctest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <functional>
#include <optional>
#include <set>
#include <unistd.h>

#include "chain_handle.h"
#include "loader.h"

namespace fs = std::filesystem;
using namespace weft;

namespace {
std::string plugin(const std::string &name) { return std::string(WEFT_TEST_PLUGIN_DIR) + "/lib" + name + ".so"; }

bool contains(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

// Runs one verb and waits for its single completion.
AdapterAnswer run(ChainHandle &chain, Verb verb, const std::string &req, uint32_t deadline = 1000) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<AdapterAnswer> out;
  chain.invoke(verb, req, deadline, [&](AdapterAnswer r) {
    std::lock_guard lock(mu);
    out.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

std::shared_ptr<ChainHandle> open_test_chain(const AdapterLibrary &lib, const std::string &config = "{}",
                                             const std::string &type = "TestChain") {
  ChainHandle::OpenArgs args{type, "z.test", config, ".", nullptr};
  auto opened = ChainHandle::open(lib, args);
  REQUIRE(opened.handle != nullptr);
  return opened.handle;
}
} // namespace

TEST_CASE("a valid C adapter loads and reports its stub types") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  CHECK(lib->name == "weft-testchain");
  CHECK(lib->stub_types == std::vector<std::string>{"TestChain"});
}

TEST_CASE("each broken library is refused with a reason that names the fault") {
  struct Case {
    const char *name;
    const char *reason;
  } cases[] = {
      {"broken_no_entry", "no exported symbol weft_adapter_entry_v1"},
      {"broken_wrong_version", "built for adapter ABI version 99"},
      {"broken_null_table", "returned no table"},
      {"broken_no_types", "declares no stub types"},
      {"broken_small_table", "at least"},
      {"broken_missing_open", "lacks open or close"},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    auto lib = load_adapter(plugin(c.name));
    REQUIRE_FALSE(lib.ok());
    CHECK(contains(lib.error().message, c.reason));
  }
  auto missing = load_adapter(plugin("does_not_exist"));
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message, "cannot load"));
}

TEST_CASE("scanning a directory keeps the good adapter and refuses the rest, duplicates and non-libraries included") {
  fs::path dir = fs::temp_directory_path() / ("weft-loader-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto &e : fs::directory_iterator(WEFT_TEST_PLUGIN_DIR))
    fs::copy_file(e.path(), dir / e.path().filename());
  std::ofstream(dir / "libgarbage.so") << "this is not an ELF file\n";
  std::ofstream(dir / "README.txt") << "ignored: not a .so\n";

  auto report = load_adapters(dir.string());
  REQUIRE(report.ok());
  REQUIRE(report->loaded.size() == 2); // today's test chain and its ABI 1.0 build
  CHECK(report->loaded[0].name == "weft-testchain");
  CHECK(report->loaded[1].name == "weft-testchain");
  CHECK(report->refused.size() == 8);
  bool saw_duplicate = false, saw_garbage = false;
  for (const auto &r : report->refused) {
    if (contains(r.file, "duplicate"))
      saw_duplicate = contains(r.reason, "already served by");
    if (contains(r.file, "garbage"))
      saw_garbage = contains(r.reason, "cannot load");
  }
  CHECK(saw_duplicate);
  CHECK(saw_garbage);
  CHECK(report->find("TestChain") != nullptr);
  CHECK(report->find("Nope") == nullptr);
  fs::remove_all(dir);

  CHECK_FALSE(load_adapters((dir / "missing").string()).ok());
}

TEST_CASE("chain handle reports adapter answers and statuses") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  auto chain = open_test_chain(*lib);
  auto &c = *chain;

  auto echo = run(c, Verb::Call, R"({"method":"echo","args":["a","b"]})");
  REQUIRE(echo.ok());
  CHECK(contains(echo.data, R"(["a","b"])"));

  auto fail = run(c, Verb::Call, R"({"method":"fail","args":[]})");
  CHECK(fail.status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail.message == "test chain refused the arguments");

  auto silent = run(c, Verb::Call, R"({"method":"silent","args":[]})", 50);
  CHECK(silent.status == WEFT_E_TIMEOUT);

  auto proof = run(c, Verb::GetProof, "{}");
  CHECK(proof.status == WEFT_E_UNSUPPORTED);

  c.close();
  auto closed = run(c, Verb::Call, R"({"method":"echo","args":[]})");
  CHECK(closed.status == WEFT_E_CANCELLED);

  ChainHandle::OpenArgs bad{"TestChain", "z.bad", R"({"fail_open":true})", ".", nullptr};
  auto refused = ChainHandle::open(*lib, bad);
  CHECK(refused.handle == nullptr);
  CHECK(refused.status == WEFT_E_UNAVAILABLE);
  CHECK(contains(refused.message, "configured to fail"));
}

TEST_CASE("every verb the ABI declares is reachable through the host's table") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  auto chain = open_test_chain(*lib);
  CHECK(kAllVerbs.size() == 20);
  std::set<std::string> names;
  for (Verb v : kAllVerbs) {
    names.insert(verb_name(v));
    // Each verb reaches the adapter, or is answered unsupported because the adapter left it NULL.
    auto a = run(*chain, v, "{}");
    CHECK_MESSAGE((chain->supports(v) ? a.status != WEFT_E_UNSUPPORTED || contains(a.message, "no such")
                                      : a.status == WEFT_E_UNSUPPORTED),
                  verb_name(v));
  }
  CHECK(names.size() == kAllVerbs.size()); // no two verbs share a name
  CHECK(chain->supports(Verb::XaStatus));
  CHECK(chain->supports(Verb::ChainInfo));
  auto info = run(*chain, Verb::ChainInfo, "{}");
  REQUIRE(info.ok());
  CHECK(contains(info.data, R"("finalityBlocks":0)"));
  auto xa = run(*chain, Verb::XaStatus, R"({"xaTransactionID":"x1"})");
  REQUIRE(xa.ok());
  CHECK(contains(xa.data, R"("status":"none")"));

  // subscribe_v2: records in seq order, ending with an end record.
  REQUIRE(chain->supports_subscribe());
  std::vector<std::string> records;
  uint64_t sub = 0;
  auto s = chain->subscribe(R"({"kind":"blocks","from":null})", [&](std::string_view r) { records.emplace_back(r); },
                            sub);
  REQUIRE(s.ok());
  REQUIRE(records.size() == 3);
  CHECK(contains(records[0], R"("seq":1)"));
  CHECK(contains(records[2], R"("kind":"end")"));
  chain->unsubscribe(sub);
}

TEST_CASE("an adapter built against the ABI 1.0 header loads and works; the verbs it predates are unsupported") {
  auto lib = load_adapter(plugin("legacy_chain"));
  REQUIRE(lib.ok());
  CHECK(lib->table->struct_size < sizeof(weft_adapter_v1));
  auto chain = open_test_chain(*lib, "{}", "LegacyTestChain");
  auto echo = run(*chain, Verb::Call, R"({"method":"echo","args":["old"]})");
  REQUIRE(echo.ok());
  CHECK(contains(echo.data, R"(["old"])"));
  // Fields past its table are never read, whatever bytes lie beyond it.
  CHECK_FALSE(chain->supports(Verb::ChainInfo));
  CHECK_FALSE(chain->supports(Verb::XaStatus));
  CHECK_FALSE(chain->supports_subscribe());
  CHECK(run(*chain, Verb::ChainInfo, "{}").status == WEFT_E_UNSUPPORTED);
  uint64_t sub = 0;
  CHECK(chain->subscribe("{}", [](std::string_view) {}, sub).status == WEFT_E_UNSUPPORTED);
}

TEST_CASE("an inline completion whose callback starts another call does not deadlock") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  auto chain = open_test_chain(*lib);
  std::vector<std::string> seen;
  std::function<void(int)> again = [&](int depth) {
    chain->invoke(Verb::Call, R"({"method":"echo","args":["x"]})", 1000, [&, depth](AdapterAnswer a) {
      seen.push_back(a.data);
      if (depth < 5) again(depth + 1); // re-enters the handle from inside the adapter's call
    });
  };
  again(0);
  CHECK(seen.size() == 6); // all inline, on this thread
  chain->close();
}

TEST_CASE("cancel reaches the adapter; a cancelled send names its transaction hash") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  auto chain = open_test_chain(*lib, R"({"complete":"thread"})");
  std::mutex mu;
  std::condition_variable cv;
  std::optional<AdapterAnswer> out;
  uint64_t op = chain->invoke(Verb::SendTransaction, R"({"method":"hang","args":[]})", 1000, [&](AdapterAnswer a) {
    std::lock_guard lock(mu);
    out = std::move(a);
    cv.notify_one();
  });
  REQUIRE(op != 0);
  CHECK(chain->in_flight() == 1);
  chain->cancel(op);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return out.has_value(); });
  }
  CHECK(out->status == WEFT_E_CANCELLED);
  CHECK(contains(out->data, "0x7777"));
  CHECK(chain->in_flight() == 0);
  auto cancels = run(*chain, Verb::Call, R"({"method":"cancels","args":[]})");
  CHECK(contains(cancels.data, R"(["1"])"));

  // An operation still hanging at close completes, cancelled, before close returns.
  std::optional<AdapterAnswer> at_close;
  chain->invoke(Verb::Call, R"({"method":"hang","args":[]})", 1000, [&](AdapterAnswer a) { at_close = std::move(a); });
  chain->close();
  REQUIRE(at_close.has_value());
  CHECK(at_close->status == WEFT_E_CANCELLED);
}

TEST_CASE("a chain configured to fail its first opens opens on a later attempt") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  ChainHandle::OpenArgs args{"TestChain", "z.flaky", R"({"fail_open_times":2})", ".", nullptr};
  auto first = ChainHandle::open(*lib, args);
  auto second = ChainHandle::open(*lib, args);
  auto third = ChainHandle::open(*lib, args);
  CHECK(first.handle == nullptr);
  CHECK(contains(first.message, "attempt 1 of 2"));
  CHECK(second.handle == nullptr);
  CHECK(third.handle != nullptr);
}
