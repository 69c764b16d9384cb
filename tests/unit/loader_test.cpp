// The loader accepts a valid adapter and refuses, with a reason, every library that is wrong in one way.
#include <doctest/doctest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <unistd.h>

#include "chain_handle.h"
#include "loader.h"

namespace fs = std::filesystem;
using namespace weft;

namespace {
std::string plugin(const std::string &name) { return std::string(WEFT_TEST_PLUGIN_DIR) + "/lib" + name + ".so"; }

bool contains(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

// Runs one verb and waits for its single completion.
Result<std::string> run(ChainHandle &chain, Verb verb, const std::string &req, uint32_t deadline = 1000) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<std::string>> out;
  chain.invoke(verb, req, deadline, [&](Result<std::string> r) {
    std::lock_guard lock(mu);
    out.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
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
  REQUIRE(report->loaded.size() == 1);
  CHECK(report->loaded[0].name == "weft-testchain");
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

TEST_CASE("chain handle maps adapter answers and errors") {
  auto lib = load_adapter(plugin("test_chain"));
  REQUIRE(lib.ok());
  ChainHandle::OpenArgs args{"TestChain", "z.test", "{}", ".", nullptr};
  auto chain = ChainHandle::open(*lib, args);
  REQUIRE(chain.ok());
  auto &c = **chain;

  auto echo = run(c, Verb::Call, R"({"method":"echo","args":["a","b"]})");
  REQUIRE(echo.ok());
  CHECK(contains(*echo, R"(["a","b"])"));

  auto fail = run(c, Verb::Call, R"({"method":"fail","args":[]})");
  REQUIRE_FALSE(fail.ok());
  CHECK(fail.error().code == code::kChainInvalidArgument);

  auto silent = run(c, Verb::Call, R"({"method":"silent","args":[]})", 50);
  REQUIRE_FALSE(silent.ok());
  CHECK(silent.error().code == code::kChainTimeout);

  auto proof = run(c, Verb::GetProof, "{}");
  REQUIRE_FALSE(proof.ok());
  CHECK(proof.error().code == code::kChainUnsupported);

  c.close();
  auto closed = run(c, Verb::Call, R"({"method":"echo","args":[]})");
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.error().code == code::kChainCancelled);

  ChainHandle::OpenArgs bad{"TestChain", "z.bad", R"({"fail_open":true})", ".", nullptr};
  auto refused = ChainHandle::open(*lib, bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == code::kChainUnreachable);
  CHECK(contains(refused.error().message, "configured to fail"));
}
